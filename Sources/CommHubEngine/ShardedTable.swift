import CommHubDomain

/// A key that says which shard of a `ShardedTable` it lives in.
public protocol ShardedKey: Hashable, Sendable {
    /// Any well-mixed bits of the key; the table takes the low ones.
    var shardBits: UInt64 { get }
}

/// A hash table split into 64 dictionaries by key. Swift's `Dictionary`
/// grows by doubling and rehashes every key at once; for the tables that
/// gain an entry per message (the idempotency keys, message → thread) that
/// was a stall of tens of milliseconds on the supervisor every time the
/// table doubled, the p99 of ingest at half load. Split 64 ways, each
/// doubling moves 1/64 of the entries. Look-ups cost one extra shift.
public struct ShardedTable<Key: ShardedKey, Value: Sendable>: Sendable {
    static var shardCount: Int { 64 }
    private var shards: [[Key: Value]]
    public private(set) var count = 0

    public init() {
        shards = Array(repeating: [:], count: Self.shardCount)
    }

    @inline(__always)
    private static func shard(_ key: Key) -> Int { Int(truncatingIfNeeded: key.shardBits & UInt64(shardCount - 1)) }

    public subscript(key: Key) -> Value? {
        get { shards[Self.shard(key)][key] }
        set {
            let s = Self.shard(key)
            if let newValue {
                if shards[s].updateValue(newValue, forKey: key) == nil { count += 1 }
            } else if shards[s].removeValue(forKey: key) != nil {
                count -= 1
            }
        }
    }

    public func forEach(_ body: (Key, Value) throws -> Void) rethrows {
        for shard in shards { for (k, v) in shard { try body(k, v) } }
    }

    /// Room for `n` entries in all, spread evenly.
    public mutating func reserveCapacity(_ n: Int) {
        let each = (max(0, n) + Self.shardCount - 1) / Self.shardCount
        for s in shards.indices { shards[s].reserveCapacity(each + each / 8) }
    }
}

extension ShardedTable: Equatable where Value: Equatable {
    public static func == (a: Self, b: Self) -> Bool { a.count == b.count && a.shards == b.shards }
}

extension EntityID: ShardedKey {
    @inlinable
    public var shardBits: UInt64 {
        let w = words
        return (w.0 ^ w.1) >> 7
    }
}
