import CLMDB
import CommHubDomain
import Foundation

/// One place where the journal does not hold what it should.
///
/// An LMDB commit is atomic: a committed record cannot be torn by a crash,
/// so a record that fails validation inside the store is *damage* (a bad
/// disk, a stray write, a copied file cut short), never an interrupted
/// write. CommHub therefore never deletes a committed record by itself:
/// start-up refuses to run on damage it needs, `checkJournal` lists it, and
/// only the explicit `repairJournal(apply: true)` changes anything.
public struct JournalDamage: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// The value under a sequence number fails validation (version, length, checksum).
        case badRecord = "bad_record"
        /// Records are missing between two sequence numbers.
        case missingRecords = "missing_records"
        /// A key that is not an 8-byte sequence number.
        case malformedKey = "malformed_key"
    }

    public var kind: Kind
    /// The damaged record's seq, or the first missing seq; nil for a malformed key.
    public var seq: UInt64?
    /// The last missing seq of a gap (equal to `seq` for a bad record).
    public var throughSeq: UInt64?
    /// Hex of the key, for malformed keys.
    public var rawKey: String?
    public var reason: String

    public var description: String {
        switch kind {
        case .badRecord: "journal record seq \(seq ?? 0) is damaged: \(reason)"
        case .missingRecords: "journal records seq \(seq ?? 0)–\(throughSeq ?? 0) are missing"
        case .malformedKey: "journal key \(rawKey ?? "?") is not a sequence number: \(reason)"
        }
    }

    /// How many events this damage loses.
    public var lostEvents: UInt64 {
        switch kind {
        case .badRecord: 1
        case .missingRecords: (throughSeq ?? 0) &- (seq ?? 0) &+ 1
        case .malformedKey: 0
        }
    }
}

/// What `checkJournal` found: the journal's extent and every damaged place.
public struct JournalCheck: Sendable, Hashable {
    /// Where the scan started (records with seq ≤ this were not looked at).
    public var after: UInt64
    public var prunedThrough: UInt64
    public var firstSeq: UInt64?
    public var lastSeq: UInt64
    public var records: Int
    public var voidRecords: Int
    /// The first `maxListedDamage` damaged places, in key order.
    public var damage: [JournalDamage]
    /// How many places are damaged in all (may exceed `damage.count`).
    public var damageCount: Int

    public var isClean: Bool { damageCount == 0 }
    /// Bound on the damage list a check keeps (the count goes on).
    public static let maxListedDamage = 1000
}

/// What `repairJournal` did, or would do on a dry run.
public struct JournalRepair: Sendable, Hashable {
    public enum Action: Sendable, Hashable, CustomStringConvertible {
        /// The record under `seq` becomes a void record: its event is lost,
        /// the sequence number stays used (numbers are never handed out again).
        case voidRecord(seq: UInt64, reason: String)
        /// Void records are written for the missing seqs, so the journal is dense again.
        case fillGap(from: UInt64, through: UInt64)
        /// A key that is not a sequence number is deleted.
        case deleteKey(hex: String, reason: String)

        public var description: String {
            switch self {
            case .voidRecord(let seq, let reason): "void seq \(seq) (\(reason))"
            case .fillGap(let from, let through): "write void records for the missing seqs \(from)–\(through)"
            case .deleteKey(let hex, let reason): "delete key \(hex) (\(reason))"
            }
        }
    }

    public var check: JournalCheck
    public var actions: [Action]
    /// Events the repair gives up (damaged or missing records).
    public var lostEvents: UInt64
    public var applied: Bool
}

extension JournalWriter {
    /// Largest gap `repairJournal` fills with void records; a larger one
    /// (a damaged key that looks like a far-away sequence number) needs a person.
    public static let maxGapFillRecords: UInt64 = 1_000_000
    /// Records validated per read transaction while checking.
    static let checkBatchRecords = 100_000

    /// Validates every journal record after `after` (all of them by default):
    /// key, version, length, checksum, density. Read-only; safe while serving.
    public func checkJournal(after: UInt64 = 0) throws -> JournalCheck {
        let journal = env.dbs.journal
        let pruned = try env.read { txn in try Self.readPrunedThrough(txn, env) }
        var check = JournalCheck(after: after, prunedThrough: pruned, firstSeq: nil, lastSeq: max(after, pruned),
                                 records: 0, voidRecords: 0, damage: [], damageCount: 0)
        func note(_ d: JournalDamage) {
            check.damageCount += 1
            if check.damage.count < JournalCheck.maxListedDamage { check.damage.append(d) }
        }
        // Records through the pruned mark were deleted on purpose: the scan expects the next one.
        let floor = max(after, pruned)
        var last: UInt64? = floor  // 0: the first record is seq 1
        var resume: [UInt8]? = after > 0 ? StoreFormat.seqKey(after &+ 1) : nil
        while true {
            let (next, done) = try env.read { txn in
                try txn.withCursor(journal) { c -> ([UInt8]?, Bool) in
                    var entry = try resume.map { try c.seek($0) } ?? c.get(MDB_FIRST)
                    var n = 0
                    while let e = entry {
                        if n == Self.checkBatchRecords { return (Array(e.key), false) }
                        n += 1
                        if let seq = StoreFormat.seq(fromKey: e.key) {
                            if let l = last, seq != l &+ 1 {
                                note(JournalDamage(kind: .missingRecords, seq: l &+ 1, throughSeq: seq &- 1, rawKey: nil,
                                                   reason: "seq \(seq) follows \(l)"))
                            }
                            switch StoreFormat.check(record: e.value) {
                            case .invalid(let why):
                                note(JournalDamage(kind: .badRecord, seq: seq, throughSeq: seq, rawKey: nil, reason: why))
                            case .void:
                                check.voidRecords += 1
                            case .event:
                                break
                            }
                            if check.firstSeq == nil { check.firstSeq = seq }
                            check.records += 1
                            check.lastSeq = max(check.lastSeq, seq)
                            last = seq
                        } else {
                            note(JournalDamage(kind: .malformedKey, seq: nil, throughSeq: nil, rawKey: Self.hex(e.key),
                                               reason: "a key of \(e.key.count) bytes"))
                        }
                        entry = try c.get(MDB_NEXT)
                    }
                    return (nil, true)
                }
            }
            if done { break }
            resume = next
        }
        return check
    }

    /// Plans, and with `apply` performs, the repair of every damaged place:
    /// a damaged record becomes a void record under the same seq, missing
    /// records become void records, malformed keys are deleted. Sequence
    /// numbers are never freed, so none is ever handed out twice. The repair
    /// is recorded under `journal/repairs/…` in the store's meta table.
    ///
    /// Offline only: it throws `.invalidState` once this process appended.
    public func repairJournal(apply: Bool, now: Date = Date()) throws -> JournalRepair {
        try state.withLock { s in
            guard s.nextSeq == s.sessionFirstSeq, s.pendingHead == s.pending.count else {
                throw StoreError(.invalidState, operation: "repairJournal",
                                 detail: "events were appended in this process; repair runs on a stopped engine")
            }
        }
        let check = try checkJournal()
        guard check.damageCount <= JournalCheck.maxListedDamage else {
            throw StoreError(.corrupted, operation: "repairJournal", detail:
                "\(check.damageCount) damaged places (more than \(JournalCheck.maxListedDamage)): restore the data directory from a backup instead")
        }
        var actions: [JournalRepair.Action] = []
        var lost: UInt64 = 0
        for d in check.damage {
            switch d.kind {
            case .badRecord:
                actions.append(.voidRecord(seq: d.seq!, reason: d.reason))
            case .missingRecords:
                guard d.lostEvents <= Self.maxGapFillRecords else {
                    throw StoreError(.corrupted, operation: "repairJournal", detail:
                        "\(d): more than \(Self.maxGapFillRecords) records; restore the data directory from a backup instead")
                }
                actions.append(.fillGap(from: d.seq!, through: d.throughSeq!))
            case .malformedKey:
                actions.append(.deleteKey(hex: d.rawKey!, reason: d.reason))
            }
            lost += d.lostEvents
        }
        let repair = JournalRepair(check: check, actions: actions, lostEvents: lost, applied: apply && !actions.isEmpty)
        guard repair.applied else { return repair }
        let journal = env.dbs.journal, meta = env.dbs.meta
        let batch = UInt64(options.deleteBatch)
        let planned = actions
        try performBlocking("journal.repair") { env in
            for action in planned {
                switch action {
                case .voidRecord(let seq, _):
                    try env.write("journal.repair") { txn in
                        try txn.put(journal, StoreFormat.seqKey(seq), StoreFormat.voidRecord, "mdb_put(journal repair)")
                    }
                case .fillGap(let from, let through):
                    var next = from
                    while next <= through {
                        let end = min(through, next &+ batch &- 1)
                        try env.write("journal.repair") { txn in
                            for seq in next...end {
                                try txn.put(journal, StoreFormat.seqKey(seq), StoreFormat.voidRecord, "mdb_put(journal gap)")
                            }
                        }
                        next = end &+ 1
                    }
                case .deleteKey(let hex, _):
                    guard let key = Self.bytes(hex: hex) else { continue }
                    try env.write("journal.repair") { txn in _ = try txn.delete(journal, key, "mdb_del(journal key)") }
                }
            }
            var voided: [ClosedRange<UInt64>] = []
            for action in planned {
                switch action {
                case .voidRecord(let seq, _): voided.append(seq...seq)
                case .fillGap(let from, let through): voided.append(from...through)
                case .deleteKey: break
                }
            }
            if !voided.isEmpty { _ = try self.dropIndexRows { seq in voided.contains { $0.contains(seq) } } }
            let record = Self.repairRecord(repair, at: now)
            try env.write("journal.repair.record") { txn in
                try txn.put(meta, Array((StoreFormat.metaRepairPrefix + ISO8601DateFormatter().string(from: now)).utf8),
                            Array(record.utf8), "mdb_put(meta repair)")
            }
        }
        logger.warning("journal repaired", metadata: [
            "journal.actions": "\(actions.count)", "journal.lost_events": "\(lost)",
            "journal.first_damage": "\(check.damage.first.map(\.description) ?? "")"])
        return repair
    }

    /// The repairs done so far (meta `journal/repairs/…`), oldest first: the store's own audit of them.
    public func repairHistory() throws -> [String] {
        try env.read { txn in
            try txn.withCursor(env.dbs.meta) { c in
                var out: [String] = []
                var e = try c.seek(Array(StoreFormat.metaRepairPrefix.utf8))
                while let entry = e, String(decoding: entry.key, as: UTF8.self).hasPrefix(StoreFormat.metaRepairPrefix) {
                    out.append(String(decoding: entry.value, as: UTF8.self))
                    e = try c.get(MDB_NEXT)
                }
                return out
            }
        }
    }

    static func repairRecord(_ r: JournalRepair, at: Date) -> String {
        let actions = r.actions.map { "\"" + $0.description.replacingOccurrences(of: "\"", with: "'") + "\"" }
        return "{\"at\":\"\(ISO8601DateFormatter().string(from: at))\",\"lost_events\":\(r.lostEvents),"
            + "\"actions\":[\(actions.joined(separator: ","))]}"
    }

    static func hex(_ raw: UnsafeRawBufferPointer) -> String {
        raw.map { String(format: "%02x", $0) }.joined()
    }

    static func bytes(hex: String) -> [UInt8]? {
        guard hex.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            guard let b = UInt8(hex[i..<j], radix: 16) else { return nil }
            out.append(b)
            i = j
        }
        return out
    }
}
