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

    static func decodeAudit(_ raw: some Collection<UInt8>, key: UInt64) throws -> AuditEntry {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .deferredToDate
        do {
            return try d.decode(AuditEntry.self, from: Data(raw))
        } catch {
            throw StoreError(.decodingFailed, operation: "audit", detail: "entry \(key): \(ErrorText.describe(error))")
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
                let entry = try Self.decodeAudit(raw, key: key)
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
        let rows = try snapshotEntries.enumerated().map { (UInt64($0.offset + 1), try Self.encodeAudit($0.element)) }
            + replayed.map { ($0.seq, try Self.encodeAudit($0.entry)) }
        try performBlocking("audit.index") { env in
            try env.write("audit.index") { txn in
                for (key, value) in rows { try txn.put(env.dbs.audit, StoreFormat.seqKey(key), value, "mdb_put(audit index)") }
                try txn.put(env.dbs.meta, Array(StoreFormat.metaAuditIndexedKey.utf8), Array("1".utf8), "mdb_put(meta audit)")
            }
        }
    }
}
