import CommHubDomain
import CommHubStore
import Foundation
import Synchronization

/// Reads the audit trail, which lives outside actor memory (the store's
/// `audit` table; see `JournalWriter.auditPage`).
public protocol AuditReader: Sendable {
    /// Entries after `after` (0: the start; else a key it gave out) that
    /// `matches` accepts, oldest first, at most `limit`; `next` continues.
    func auditPage(after: UInt64, limit: Int, matches: (AuditEntry) -> Bool) throws
        -> (entries: [(key: UInt64, entry: AuditEntry)], next: UInt64?)
}

extension JournalWriter: AuditReader {}

/// What `GET /api/audit` filters on.
public struct AuditQuery: Sendable, Hashable {
    public var entity: String?
    public var entityID: String?
    public var actor: ContactID?
    public var since: Date?

    public init(entity: String? = nil, entityID: String? = nil, actor: ContactID? = nil, since: Date? = nil) {
        self.entity = entity; self.entityID = entityID; self.actor = actor; self.since = since
    }

    public func matches(_ e: AuditEntry) -> Bool {
        if let entity, e.entity != entity { return false }
        if let entityID, e.entityID != entityID { return false }
        if let actor, e.actorContactID != actor { return false }
        if let since, e.at < since { return false }
        return true
    }
}

/// The audit trail of an in-memory engine (tests, benchmarks), filed from
/// committed events, keyed by seq like the store's table. Such an engine
/// keeps everything in memory by design; a durable one keeps none of this.
public final class MemoryAudit: AuditReader {
    private let rows = Mutex<[(key: UInt64, entry: AuditEntry)]>([])
    public init() {}

    public func auditPage(after: UInt64, limit: Int, matches: (AuditEntry) -> Bool) throws
        -> (entries: [(key: UInt64, entry: AuditEntry)], next: UInt64?) {
        let all = rows.withLock { $0 }
        var out: [(key: UInt64, entry: AuditEntry)] = []
        var i = all.partitioningIndex { $0.key > after }
        while i < all.count {
            if matches(all[i].entry) {
                out.append(all[i])
                if out.count == max(1, limit) { return (out, i + 1 < all.count ? all[i].key : nil) }
            }
            i += 1
        }
        return (out, nil)
    }

    func file(_ batch: [SequencedEvent]) {
        let new = batch.compactMap { e -> (key: UInt64, entry: AuditEntry)? in
            if case .audited(let entry) = e.event { return (e.seq, entry) }
            return nil
        }
        if !new.isEmpty { rows.withLock { $0 += new } }
    }
}

extension Array {
    /// The first index whose element satisfies `belongs`, for a predicate that is false then true along the array.
    func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if belongs(self[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
