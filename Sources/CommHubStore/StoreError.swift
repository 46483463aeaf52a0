import CLMDB

/// An error from the store. Modelled on Hummingbird's `PersistError`: a
/// struct wrapping a private enum, so new kinds can be added without breaking
/// callers that `switch` over them. Compare with `error.kind == .mapFull`.
public struct StoreError: Error, CustomStringConvertible, Sendable, Hashable {
    /// What went wrong, independent of the exact LMDB code.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case lmdb, mapFull, corrupted, closed, notFound, invalidArgument, invalidState
            case encodingFailed, decodingFailed, journalGap, unsupportedFormat, io, unavailable, notYetDurable
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Any other LMDB failure (see `code`).
        public static let lmdb = Kind(.lmdb)
        /// The memory map reached its configured maximum size (`MDB_MAP_FULL`
        /// after growing as far as allowed). Nothing was written.
        public static let mapFull = Kind(.mapFull)
        /// Stored bytes fail validation (checksum, length, framing, count).
        public static let corrupted = Kind(.corrupted)
        /// The journal or environment was closed.
        public static let closed = Kind(.closed)
        public static let notFound = Kind(.notFound)
        public static let invalidArgument = Kind(.invalidArgument)
        /// The call is not allowed in the current state (e.g. `repairTail` after appends).
        public static let invalidState = Kind(.invalidState)
        public static let encodingFailed = Kind(.encodingFailed)
        public static let decodingFailed = Kind(.decodingFailed)
        /// Replay asked for records that were pruned or are missing.
        public static let journalGap = Kind(.journalGap)
        /// The directory was written by a newer store format.
        public static let unsupportedFormat = Kind(.unsupportedFormat)
        /// A file-system operation outside LMDB failed (`code` is errno).
        public static let io = Kind(.io)
        /// The journal does not take events now (degraded, stopped, or too
        /// far behind); the event was not appended and must not be applied.
        public static let unavailable = Kind(.unavailable)
        /// `waitDurable` gave up waiting; the event is queued and will be
        /// written when the journal recovers.
        public static let notYetDurable = Kind(.notYetDurable)

        public var description: String { base.rawValue }
    }

    public let kind: Kind
    /// The LMDB return code (negative: LMDB's own; positive: errno), 0 if none.
    public let code: Int32
    /// The operation that failed, e.g. `"mdb_put(journal)"` or `"journal.commit"`.
    public let operation: String
    /// Extra human-readable detail.
    public let detail: String?

    init(_ kind: Kind, code: Int32 = 0, operation: String, detail: String? = nil) {
        self.kind = kind; self.code = code; self.operation = operation; self.detail = detail
    }

    /// Maps an LMDB return code to an error (`MDB_MAP_FULL` → `.mapFull`, `MDB_NOTFOUND` → `.notFound`).
    static func lmdb(_ rc: Int32, _ operation: String, detail: String? = nil) -> StoreError {
        let kind: Kind
        switch rc {
        case MDB_MAP_FULL: kind = .mapFull
        case MDB_NOTFOUND: kind = .notFound
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND: kind = .corrupted
        default: kind = .lmdb
        }
        return StoreError(kind, code: rc, operation: operation, detail: detail)
    }

    public var description: String {
        var s = "StoreError.\(kind) in \(operation)"
        if code != 0 { s += " (rc \(code): \(String(cString: mdb_strerror(code))))" }
        if let detail { s += ": \(detail)" }
        return s
    }
}
