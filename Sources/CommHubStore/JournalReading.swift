import CLMDB
import CommHubDomain
import Foundation
import Logging

/// What `replay(after:_:)` did.
public struct ReplayReport: Sendable, Hashable {
    /// The `after` argument.
    public var after: UInt64
    /// First and last sequence number read (nil/`after` when nothing followed `after`).
    public var firstSeq: UInt64?
    public var lastSeq: UInt64
    /// Events passed to `apply`.
    public var applied: Int
    /// Void records skipped (seqs whose event was rejected at commit time).
    public var voided: Int
}

/// What `repairTail()` dropped.
public struct TailRepair: Sendable, Hashable {
    /// The last valid record (or the pruned-through seq if none remain).
    public var lastValidSeq: UInt64
    /// The first invalid record's seq, if any (nil for a non-8-byte key).
    public var firstDroppedSeq: UInt64?
    /// Why the first dropped record was invalid.
    public var reason: String?
    /// How many records were deleted.
    public var droppedCount: Int
    /// The seqs deleted (the first 1,000 at most).
    public var droppedSeqs: [UInt64]

    public var isClean: Bool { droppedCount == 0 }
}

extension JournalWriter {
    /// The stored body of a message (short read transaction), nil if none.
    public func body(for id: MessageID) throws -> MessageBody? {
        let raw = try env.read { txn in try txn.get(env.dbs.bodies, Self.bodyKey(id)) }
        guard let raw else { return nil }
        do {
            return try EventCodec().decodeBody(Array(raw))
        } catch {
            throw StoreError(.decodingFailed, operation: "body(for:)", detail: "\(id): \(error)")
        }
    }

    /// Calls `apply` for every journalled event with seq > `after`, in order.
    ///
    /// Records are copied out of short read transactions (≤ 1,024 records or
    /// 8 MiB each) and `apply` runs outside any transaction, so a long replay
    /// never pins old pages. Every record is validated (version, length,
    /// CRC-32C, dense seq); run `repairTail()` first, so an invalid record
    /// here throws `.corrupted`. `.journalGap` means records after `after`
    /// were pruned or are missing. Void records are skipped. `messageAdded`
    /// events come back with `body == nil`: use `body(for:)`.
    @discardableResult
    public func replay(after: UInt64, _ apply: (SequencedEvent) throws -> Void) throws -> ReplayReport {
        let codec = EventCodec()
        let journal = env.dbs.journal
        let pruned = try env.read { txn in try Self.readPrunedThrough(txn, env) }
        guard after >= pruned else {
            throw StoreError(.journalGap, operation: "replay",
                             detail: "replay after \(after) needs records pruned through \(pruned)")
        }
        var report = ReplayReport(after: after, firstSeq: nil, lastSeq: after, applied: 0, voided: 0)
        var expected = after + 1
        while true {
            // (seq, payload or nil for a void record)
            let batch = try env.read { txn in
                try txn.withCursor(journal) { c -> [(UInt64, [UInt8]?)] in
                    var out: [(UInt64, [UInt8]?)] = []
                    var bytes = 0
                    var entry = try c.seek(StoreFormat.seqKey(expected))
                    while let e = entry, out.count < 1024, bytes < 8 << 20 {
                        guard let seq = StoreFormat.seq(fromKey: e.key) else {
                            throw StoreError(.corrupted, operation: "replay", detail: "journal key of \(e.key.count) bytes")
                        }
                        switch StoreFormat.check(record: e.value) {
                        case .invalid(let why):
                            throw StoreError(.corrupted, operation: "replay", detail: "seq \(seq): \(why)")
                        case .void:
                            out.append((seq, nil))
                        case .event:
                            out.append((seq, Array(UnsafeRawBufferPointer(rebasing: e.value[StoreFormat.recordHeaderSize...]))))
                        }
                        bytes += e.value.count
                        entry = try c.get(MDB_NEXT)
                    }
                    return out
                }
            }
            if batch.isEmpty { break }
            for (seq, payload) in batch {
                guard seq == expected else {
                    throw StoreError(.journalGap, operation: "replay",
                                     detail: "expected seq \(expected), found \(seq)")
                }
                if report.firstSeq == nil { report.firstSeq = seq }
                if let payload {
                    let event: EngineEvent
                    do {
                        event = try codec.decode(payload, version: StoreFormat.recordVersion)
                    } catch {
                        throw StoreError(.decodingFailed, operation: "replay", detail: "seq \(seq): \(error)")
                    }
                    try apply(SequencedEvent(seq: seq, event: event))
                    report.applied += 1
                } else {
                    report.voided += 1
                }
                report.lastSeq = seq
                expected += 1
            }
        }
        return report
    }

    /// Finds the first invalid journal record (unknown version, wrong length,
    /// bad checksum, non-dense seq, malformed key) and deletes it and every
    /// record after it, in bounded transactions on the writer thread.
    /// Afterwards sequence numbers continue after the last valid record.
    /// Logs what it dropped. Blocks the caller.
    ///
    /// Call during recovery, before replaying and before any `append`. It
    /// throws `.invalidState` (deleting nothing) if appends are in flight, or
    /// if the damage lies before a record appended by this process — it never
    /// deletes events this process acknowledged.
    @discardableResult
    public func repairTail() throws -> TailRepair {
        try checkNoPendingAppends()
        let journal = env.dbs.journal
        // 1. Scan (on the calling thread, read transactions of ≤ 100k records).
        var lastValid: UInt64?
        var firstBad: (key: [UInt8], seq: UInt64?, reason: String)?
        var startKey: [UInt8]? = nil  // nil: from the first record
        scan: while true {
            let (done, bad, last, next) = try env.read { txn in
                try txn.withCursor(journal) { c -> (Bool, (key: [UInt8], seq: UInt64?, reason: String)?, UInt64?, [UInt8]?) in
                    var entry = try startKey.map { try c.seek($0) } ?? c.get(MDB_FIRST)
                    var last = lastValid
                    var n = 0
                    while let e = entry {
                        if n == 100_000, let l = last { return (false, nil, last, StoreFormat.seqKey(l + 1)) }
                        n += 1
                        guard let seq = StoreFormat.seq(fromKey: e.key) else {
                            return (true, (Array(e.key), nil, "journal key of \(e.key.count) bytes"), last, nil)
                        }
                        if let l = last, seq != l + 1 {
                            return (true, (Array(e.key), seq, "seq \(seq) does not follow \(l)"), last, nil)
                        }
                        if case .invalid(let why) = StoreFormat.check(record: e.value) {
                            return (true, (Array(e.key), seq, why), last, nil)
                        }
                        last = seq
                        entry = try c.get(MDB_NEXT)
                    }
                    return (true, nil, last, nil)
                }
            }
            lastValid = last
            if let bad { firstBad = bad }
            if done { break scan }
            startKey = next
        }
        let pruned = try env.read { txn in try Self.readPrunedThrough(txn, env) }
        let newLast = max(lastValid ?? 0, pruned)
        guard let firstBad else {
            return TailRepair(lastValidSeq: newLast, firstDroppedSeq: nil, reason: nil, droppedCount: 0, droppedSeqs: [])
        }
        try state.withLock { s in
            let appendedHere = s.nextSeq > s.sessionFirstSeq
            if appendedHere, (firstBad.seq ?? 0) < s.nextSeq {
                throw StoreError(.invalidState, operation: "repairTail", detail:
                    "damage at seq \(firstBad.seq.map(String.init) ?? "?") (\(firstBad.reason)) precedes events appended by this process; call repairTail before appending")
            }
        }
        // 2. Delete from the first bad key to the end, on the writer thread.
        let batchSize = options.deleteBatch
        let (count, seqs) = try performBlocking("journal.repairTail") { env -> (Int, [UInt64]) in
            var count = 0
            var seqs: [UInt64] = []
            while true {
                let deleted = try env.write("journal.repairTail") { txn in
                    try txn.withCursor(journal) { c -> [UInt64?] in
                        var out: [UInt64?] = []
                        while out.count < batchSize, let e = try c.seek(firstBad.key) {
                            out.append(StoreFormat.seq(fromKey: e.key))
                            try c.deleteCurrent("mdb_cursor_del(journal tail)")
                        }
                        return out
                    }
                }
                count += deleted.count
                for s in deleted { if let s, seqs.count < 1000 { seqs.append(s) } }
                if deleted.count < batchSize { break }
            }
            return (count, seqs)
        }
        // 3. Continue numbering after the last valid record.
        let raced = state.withLock { s -> Bool in
            guard s.nextSeq == s.durableSeq + 1, s.pendingHead == s.pending.count else { return true }
            s.nextSeq = newLast + 1
            s.sessionFirstSeq = newLast + 1
            s.firstPendingSeq = newLast + 1
            s.durableSeq = newLast
            return false
        }
        let repair = TailRepair(lastValidSeq: newLast, firstDroppedSeq: firstBad.seq, reason: firstBad.reason,
                                droppedCount: count, droppedSeqs: seqs)
        logger.error("journal: dropped corrupt tail", metadata: [
            "firstDroppedSeq": "\(firstBad.seq.map(String.init) ?? "?")", "reason": "\(firstBad.reason)",
            "droppedCount": "\(count)", "droppedSeqs": "\(seqs.prefix(20).map(String.init).joined(separator: ","))",
            "lastValidSeq": "\(newLast)"])
        if raced {
            let e = StoreError(.invalidState, operation: "repairTail", detail: "events were appended during repairTail")
            state.withLock { $0.poisoned = e }
            throw e
        }
        return repair
    }

    private func checkNoPendingAppends() throws {
        try state.withLock { s in
            if s.closing { throw StoreError(.closed, operation: "repairTail") }
            guard s.nextSeq == s.durableSeq + 1, s.pendingHead == s.pending.count else {
                throw StoreError(.invalidState, operation: "repairTail", detail: "appends are in flight")
            }
        }
    }

    /// TEST HOOK: writes `bytes` verbatim as the journal value under `seq`
    /// (overwriting), bypassing framing and `MDB_APPEND`. Used to simulate a
    /// garbage or truncated record at the tail. Do not use in production.
    /// Appends made afterwards collide with it unless `repairTail()` ran.
    public func injectRawJournalRecordForTesting(seq: UInt64, bytes: [UInt8]) async throws {
        let journal = env.dbs.journal
        try await perform("test.injectJournalRecord") { env in
            try env.write("test.injectJournalRecord") { txn in
                try txn.put(journal, StoreFormat.seqKey(seq), bytes, "mdb_put(journal raw)")
            }
        }
    }

    /// The raw stored journal value under `seq` (tests and diagnostics).
    public func rawJournalRecord(seq: UInt64) throws -> [UInt8]? {
        try env.read { txn in try txn.get(env.dbs.journal, StoreFormat.seqKey(seq)) }
    }

    /// A consistent, compacted copy of the whole store (journal, bodies,
    /// snapshots, meta) into `directory`, taken while serving
    /// (`mdb_env_copy2` with `MDB_CP_COMPACT`). The directory is created if
    /// missing and must not already contain a database. Runs on the calling
    /// thread inside one read transaction; writes continue meanwhile.
    public func exportCopy(to directory: String) throws {
        try env.copy(to: directory, compact: true)
        logger.info("store exported", metadata: ["to": "\(directory)"])
    }
}
