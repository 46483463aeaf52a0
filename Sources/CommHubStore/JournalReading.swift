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
    /// Sealed records skipped because their data key was destroyed (erased
    /// or expired content; the erasure's own event carries what remains).
    public var erased: Int = 0
}

extension JournalWriter {
    /// The stored body of a message (short read transaction), nil if none.
    /// A body whose key was destroyed (erased content) reads as nil.
    public func body(for id: MessageID) throws -> MessageBody? {
        let key = Self.bodyKey(id)
        let raw = try env.read { txn in try txn.get(env.dbs.bodies, key) }
        guard let raw, let plain = try openBody(raw, key: key) else { return nil }
        do {
            return try EventCodec().decodeBody(plain)
        } catch {
            throw StoreError(.decodingFailed, operation: "body(for:)", detail: "\(id): \(ErrorText.describe(error))")
        }
    }

    /// Calls `apply` for every journalled event with seq > `after`, in order.
    ///
    /// Records are copied out of short read transactions (≤ 1,024 records or
    /// 8 MiB each) and `apply` runs outside any transaction, so a long replay
    /// never pins old pages. Every record is validated (version, length,
    /// CRC-32C, dense seq): an invalid record throws `.corrupted` naming its
    /// seq (see `checkJournal` and `repairJournal`). `.journalGap` means records after `after`
    /// were pruned or are missing. Void records are skipped, and so are
    /// sealed records whose data key was destroyed (counted as `erased`).
    /// `messageAdded` events come back with `body == nil`: use `body(for:)`.
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
            // (seq, version, payload or nil for a void record)
            let batch = try env.read { txn in
                try txn.withCursor(journal) { c -> [(UInt64, UInt8, [UInt8]?)] in
                    var out: [(UInt64, UInt8, [UInt8]?)] = []
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
                            out.append((seq, 0, nil))
                        case .event:
                            out.append((seq, e.value[0], Array(UnsafeRawBufferPointer(rebasing: e.value[StoreFormat.recordHeaderSize...]))))
                        }
                        bytes += e.value.count
                        entry = try c.get(MDB_NEXT)
                    }
                    return out
                }
            }
            if batch.isEmpty { break }
            for (seq, version, stored) in batch {
                guard seq == expected else {
                    throw StoreError(.journalGap, operation: "replay",
                                     detail: "expected seq \(expected), found \(seq)")
                }
                if report.firstSeq == nil { report.firstSeq = seq }
                if let stored {
                    guard let payload = try openRecord(stored, version: version, seq: seq) else {
                        report.erased += 1
                        report.lastSeq = seq
                        expected += 1
                        continue
                    }
                    let event: EngineEvent
                    do {
                        event = try codec.decode(payload, version: StoreFormat.recordVersion)
                    } catch {
                        throw StoreError(.decodingFailed, operation: "replay", detail: "seq \(seq): \(ErrorText.describe(error))")
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

    /// A record's `EventCodec` payload: as stored (version 1), or opened
    /// (version 2); nil when its data key was destroyed. A sealed record that
    /// does not open under an existing key is damage (`.corrupted`).
    func openRecord(_ stored: [UInt8], version: UInt8, seq: UInt64) throws -> [UInt8]? {
        guard version == StoreFormat.sealedRecordVersion else { return stored }
        guard let id = KeyRing.keyID(ofEnvelope: stored) else {
            throw StoreError(.corrupted, operation: "replay", detail: "seq \(seq): sealed record too short")
        }
        guard let key = try keys.openingKey(id, env) else { return nil }
        do {
            return try KeyRing.open(stored, with: key, aad: StoreFormat.journalAAD(seq))
        } catch {
            throw StoreError(.corrupted, operation: "replay", detail: "seq \(seq): the sealed record does not open under its key \(id)")
        }
    }

    /// TEST HOOK: writes `bytes` verbatim as the journal value under `seq`
    /// (overwriting), bypassing framing and `MDB_APPEND`. Used to simulate a
    /// damaged record. Do not use in production.
    public func injectRawJournalRecordForTesting(seq: UInt64, bytes: [UInt8]) async throws {
        let journal = env.dbs.journal
        try await perform("test.injectJournalRecord") { env in
            try env.write("test.injectJournalRecord") { txn in
                try txn.put(journal, StoreFormat.seqKey(seq), bytes, "mdb_put(journal raw)")
            }
        }
    }

    /// TEST HOOK: deletes the journal record under `seq` (simulates records lost to damage).
    public func deleteJournalRecordForTesting(seq: UInt64) async throws {
        let journal = env.dbs.journal
        try await perform("test.deleteJournalRecord") { env in
            try env.write("test.deleteJournalRecord") { txn in
                _ = try txn.delete(journal, StoreFormat.seqKey(seq), "mdb_del(journal test)")
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
    ///
    /// The KEK files are copied beside it: the copy opens with the master
    /// key alone. Erased data is not in it: free pages are not copied, and
    /// what the copy holds of erased records is sealed under destroyed keys.
    public func exportCopy(to directory: String) throws {
        try env.copy(to: directory, compact: true)
        for (_, path) in try KeyRing.kekFiles(keys.directory) {
            let target = (directory as NSString).appendingPathComponent((path as NSString).lastPathComponent)
            try DurableFile.write(Array(FileManager.default.contents(atPath: path) ?? Data()), to: target, replacing: true)
        }
        logger.info("store exported", metadata: ["to": "\(directory)"])
    }
}
