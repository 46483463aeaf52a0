import CommHubDomain
import CommHubStore

/// A table that keeps only recent entries in memory: two generations of a
/// `ShardedTable`. New entries go to `current`; look-ups try `current`,
/// then `previous`. When `current` is full, `rotate` drops `previous` and
/// makes `current` the previous generation — but only once every entry of
/// the dropped generation is durable, so the store's index (which has every
/// committed entry, `MessageIndex.swift`) answers for it from then on.
///
/// Memory is then bounded by `2 × limit` entries whatever the history; an
/// engine without a store index (in-memory, tests) never rotates and keeps
/// everything, as before.
public struct RecentIndex<Key: ShardedKey, Value: Sendable>: Sendable {
    private var current = ShardedTable<Key, Value>()
    private var previous = ShardedTable<Key, Value>()
    /// Every entry of `previous` was made (applied) at or before this seq was assigned.
    private var previousThrough: UInt64 = 0
    /// Generations dropped so far (for the admin socket and tests).
    public private(set) var rotations = 0

    public init() {}

    public var count: Int { current.count + previous.count }

    public subscript(key: Key) -> Value? {
        get { current[key] ?? previous[key] }
        set {
            if let newValue {
                current[key] = newValue
            } else {
                current[key] = nil
                previous[key] = nil
            }
        }
    }

    public mutating func reserveCapacity(_ n: Int) { current.reserveCapacity(n) }

    /// Every entry, the older generation first (a key in both is visited twice, the newer value last).
    public func forEach(_ body: (Key, Value) throws -> Void) rethrows {
        try previous.forEach(body)
        try current.forEach(body)
    }

    /// Starts a new generation when `current` holds `limit` entries or more
    /// and the previous one is durable through the seq it was closed at.
    /// `assignedThrough`: the journal's last assigned seq now (every entry
    /// made so far was applied at or before it). Says whether it rotated.
    @discardableResult
    public mutating func rotate(limit: Int, assignedThrough: UInt64, durableThrough: UInt64) -> Bool {
        guard current.count >= limit, durableThrough >= previousThrough else { return false }
        previous = current
        current = ShardedTable()
        previousThrough = assignedThrough
        rotations += 1
        return true
    }

    /// Drops everything: the store's index answers for all of it (after a
    /// restore, when every entry is durable).
    public mutating func removeAll() {
        current = ShardedTable()
        previous = ShardedTable()
    }
}

extension RecentIndex: Equatable where Value: Equatable {
    public static func == (a: Self, b: Self) -> Bool { a.current == b.current && a.previous == b.previous }
}

/// The store's index of every message ever committed (`JournalWriter`'s
/// `MessageIndex.swift`), which answers for ids beyond the engine's recent window.
public protocol MessageIndexReader: Sendable {
    func indexedMessage(channel: ChannelID, externalID: String) throws -> IndexedMessage?
    func indexedThread(of message: MessageID) throws -> (thread: ThreadID, seq: UInt64)?
    /// A thread's stored messages (`MessageHistory.swift`) with a seq above `after`, oldest seq first,
    /// without the seqs in `excluding`, at most `limit`.
    func historyMessages(thread: ThreadID, excluding: Set<UInt64>, after: UInt64, limit: Int) throws -> [(header: MessageHeader, seq: UInt64)]
    /// A thread's newest `count` stored messages, oldest seq first, without the seqs in `excluding`.
    func latestHistoryMessages(thread: ThreadID, excluding: Set<UInt64>, count: Int) throws -> [(header: MessageHeader, seq: UInt64)]
    func historyMessage(_ id: MessageID) throws -> (header: MessageHeader, seq: UInt64)?
}

extension JournalWriter: MessageIndexReader {}
