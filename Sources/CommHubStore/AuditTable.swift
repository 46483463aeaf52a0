import CLMDB
import CommHubDomain
import Foundation

/// The audit trail on disk: the `audit` table holds every `audited` event's
/// entry under its journal sequence number, written in the same transaction
/// as the journal record, and never pruned with the journal. Memory holds
/// none of it: a page is read from LMDB when asked for, so the trail can
/// grow for years without growing the engine.
extension JournalWriter {
    /// Entries a page request looks at, at most, before it answers with what
    /// it found and a cursor to go on from (a rare filter over a long trail
    /// costs bounded work per request).
    public static let maxAuditEntriesScannedPerPage = 50_000

    static func encodeAudit(_ entry: AuditEntry) throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        e.dateEncodingStrategy = .deferredToDate
        return Array(try e.encode(entry))
    }

    /// What `before`/`after` are sealed as.
    struct AuditContent: Codable {
        var before: JSONValue?
        var after: JSONValue?
    }

    /// An audit row: the entry's header in the clear (who, what, when, which
    /// id: what the trail is filtered on), `before`/`after` sealed under the
    /// entry's data key (they hold the personal data), or the plain JSON
    /// entry when the store writes in the clear (`key` nil).
    static func encodeAuditRow(_ entry: AuditEntry, seq: UInt64, key: DataKey?) throws -> [UInt8] {
        guard let key else { return try encodeAudit(entry) }
        var header = entry
        header.before = nil
        header.after = nil
        let head = try encodeAudit(header)
        var row: [UInt8] = [StoreFormat.sealedAuditMarker]
        StoreFormat.appendLE(&row, UInt32(head.count))
        row += head
        if entry.before != nil || entry.after != nil {
            let e = JSONEncoder()
            e.outputFormatting = .sortedKeys
            let content = Array(try e.encode(AuditContent(before: entry.before, after: entry.after)))
            row += try KeyRing.seal(content, with: key, aad: StoreFormat.auditAAD(seq))
        }
        return row
    }

    static func decodeAudit(_ raw: some Collection<UInt8>, key: UInt64) throws -> AuditEntry {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .deferredToDate
        do {
            return try d.decode(AuditEntry.self, from: Data(raw))
        } catch {
            throw StoreError(.decodingFailed, operation: "audit", detail: "entry \(key): \(ErrorText.describe(error))")
        }
    }

    /// A row's clear part (who, what, when; no `before`/`after`), without
    /// opening anything (usable inside a write transaction).
    static func decodeAuditHeader(_ raw: [UInt8], key: UInt64) throws -> AuditEntry {
        guard raw.first == StoreFormat.sealedAuditMarker else { return try decodeAudit(raw, key: key) }
        guard raw.count >= 5 else { throw StoreError(.corrupted, operation: "audit", detail: "entry \(key): row too short") }
        let n = Int(UInt32(littleEndian: raw[1..<5].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
        guard raw.count >= 5 + n else { throw StoreError(.corrupted, operation: "audit", detail: "entry \(key): header cut short") }
        return try decodeAudit(raw[5..<(5 + n)], key: key)
    }

    /// Reads a row of either form; content sealed under a destroyed key
    /// comes back without `before`/`after` and `contentErased` set.
    func decodeAuditRow(_ raw: [UInt8], key: UInt64) throws -> AuditEntry {
        guard raw.first == StoreFormat.sealedAuditMarker else { return try Self.decodeAudit(raw, key: key) }
        guard raw.count >= 5 else { throw StoreError(.corrupted, operation: "audit", detail: "entry \(key): row too short") }
        let n = Int(UInt32(littleEndian: raw[1..<5].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
        guard raw.count >= 5 + n else { throw StoreError(.corrupted, operation: "audit", detail: "entry \(key): header cut short") }
        var entry = try Self.decodeAudit(raw[5..<(5 + n)], key: key)
        let envelope = Array(raw[(5 + n)...])
        guard !envelope.isEmpty else { return entry }
        guard let id = KeyRing.keyID(ofEnvelope: envelope) else { throw StoreError(.corrupted, operation: "audit", detail: "entry \(key): sealed part too short") }
        guard let dataKey = try keys.openingKey(id, env) else {
            entry.contentErased = true
            return entry
        }
        do {
            let plain = try KeyRing.open(envelope, with: dataKey, aad: StoreFormat.auditAAD(key))
            let content = try JSONDecoder().decode(AuditContent.self, from: Data(plain))
            entry.before = content.before
            entry.after = content.after
            return entry
        } catch {
            throw StoreError(.corrupted, operation: "audit", detail: "entry \(key): sealed part does not open under key \(id)")
        }
    }

    /// Entries after `after` (a key this method gave out, 0 for the start),
    /// oldest first, that `matches` accepts: at most `limit`, looking at no
    /// more than `maxAuditEntriesScannedPerPage`. `next` is where to go on
    /// from, nil at the end of the trail.
    public func auditPage(after: UInt64, limit: Int, matches: (AuditEntry) -> Bool) throws
        -> (entries: [(key: UInt64, entry: AuditEntry)], next: UInt64?) {
        let table = env.dbs.audit
        let want = max(1, limit)
        // Raw rows copied out of a short read transaction, then decoded outside it.
        var found: [(key: UInt64, entry: AuditEntry)] = []
        var cursor = after
        var scanned = 0
        while found.count < want, scanned < Self.maxAuditEntriesScannedPerPage {
            guard cursor < UInt64.max else { return (found, nil) }
            let rows = try env.read { txn in
                try txn.withCursor(table) { c -> [(UInt64, [UInt8])] in
                    var out: [(UInt64, [UInt8])] = []
                    var e = try c.seek(StoreFormat.seqKey(cursor + 1))
                    while let row = e, out.count < 1024 {
                        guard let key = StoreFormat.seq(fromKey: row.key) else {
                            throw StoreError(.corrupted, operation: "audit", detail: "key of \(row.key.count) bytes")
                        }
                        out.append((key, Array(row.value)))
                        e = try c.get(MDB_NEXT)
                    }
                    return out
                }
            }
            if rows.isEmpty { return (found, nil) }
            for (key, raw) in rows {
                cursor = key
                scanned += 1
                let entry = try decodeAuditRow(raw, key: key)
                if matches(entry) {
                    found.append((key, entry))
                    if found.count == want { break }
                }
                if scanned >= Self.maxAuditEntriesScannedPerPage { break }
            }
        }
        // More may follow: the caller continues after the last key looked at.
        let more = try env.read { txn in
            try txn.withCursor(table) { c in try c.seek(StoreFormat.seqKey(cursor &+ 1)) != nil }
        }
        return (found, more && cursor < UInt64.max ? cursor : nil)
    }

    /// Whether the `audit` table holds the whole trail.
    public func auditIndexed() throws -> Bool {
        try env.read { txn in try txn.get(env.dbs.meta, Array(StoreFormat.metaAuditIndexedKey.utf8)) != nil }
    }

    /// Fills the `audit` table of a store written before it existed, once:
    /// `entries` are the trail a snapshot carried (keyed 1…n: each was one
    /// event at or before the snapshot, so these keys sort before every
    /// later seq) and the `audited` events replayed after it (keyed by
    /// their seq). Marks the table complete in the same transaction.
    public func indexAudit(snapshotEntries: [AuditEntry], replayed: [(seq: UInt64, entry: AuditEntry)]) throws {
        let rows = snapshotEntries.enumerated().map { (UInt64($0.offset + 1), $0.element) } + replayed.map { ($0.seq, $0.entry) }
        let seal = options.sealRecords
        try performBlocking("audit.index") { [self] env in
            let created = try env.write("audit.index") { txn -> KeyRing.Pending in
                var pending = KeyRing.Pending()
                for (key, entry) in rows {
                    let dataKey = seal ? try keys.sealingKey(entry.dataScope, txn, env, &pending) : nil
                    try txn.put(env.dbs.audit, StoreFormat.seqKey(key), try Self.encodeAuditRow(entry, seq: key, key: dataKey),
                                "mdb_put(audit index)")
                }
                try txn.put(env.dbs.meta, Array(StoreFormat.metaAuditIndexedKey.utf8), Array("1".utf8), "mdb_put(meta audit)")
                return pending
            }
            keys.publish(created)
        }
    }

    /// Audit rows deleted per transaction by `pruneAudit`.
    static let auditPruneBatchRows = 4_096

    /// Deletes audit entries older than `cutoff` (the audit trail's own
    /// retention), oldest first, in bounded transactions; stops at the first
    /// entry that is not older (entries are written in time order). Returns
    /// how many were deleted. Nothing else deletes audit rows.
    public func pruneAudit(before cutoff: Date) async throws -> Int {
        let total = ResultBox<Int>()
        total.value = 0
        try await performSteps("audit.prune") { [self] env in
            let (n, more) = try env.write("audit.prune") { txn -> (Int, Bool) in
                var doomed: [[UInt8]] = []
                var more = true
                try txn.withCursor(env.dbs.audit) { c in
                    var e = try c.get(MDB_FIRST)
                    while let entry = e, doomed.count < Self.auditPruneBatchRows {
                        let key = StoreFormat.seq(fromKey: entry.key) ?? 0
                        guard let row = try? Self.decodeAuditHeader(Array(entry.value), key: key), row.at < cutoff else { more = false; break }
                        doomed.append(Array(entry.key))
                        e = try c.get(MDB_NEXT)
                    }
                    if e == nil { more = false }
                }
                for k in doomed { try txn.delete(env.dbs.audit, k, "mdb_del(audit prune)") }
                return (doomed.count, more && !doomed.isEmpty)
            }
            total.value! += n
            return more ? .again : .done
        }
        return total.value!
    }
}
