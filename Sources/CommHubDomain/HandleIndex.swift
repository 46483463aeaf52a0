/// An index from ids to the dense handles of a table that already holds the
/// ids (the assignment board's `threadIDs`, the inbox's rows): open
/// addressing with linear probing over 8-byte slots, each a handle and 32
/// bits of the id's hash, so a probe compares the stored id only when the
/// bits match. A `[ID: UInt32]` dictionary keeps the 16-byte key beside the
/// handle in twice as many buckets as entries: 40 bytes per thread at a
/// million threads; this keeps 16 (issue 17, memory per open thread).
///
/// Hashing is Swift's seeded `Hasher`, as a dictionary's, so chosen ids do
/// not pile up in one run of slots. Entries are never removed (handles are
/// never reused). The table doubles at three quarters full, as a dictionary
/// does; `reserve` sizes it once for a restore.
public struct HandleIndex<ID: Hashable>: Sendable where ID: Sendable {
    private var slots: [UInt64] = []
    private var mask = 0
    public private(set) var count = 0
    private static var empty: UInt64 { .max }

    public init() {}

    @inline(__always) private static func hash(_ id: ID) -> Int { id.hashValue }

    @inline(__always) private static func slot(handle: UInt32, hash: Int) -> UInt64 {
        UInt64(UInt32(truncatingIfNeeded: hash >> 32)) << 32 | UInt64(handle)
    }

    /// The handle of `id`; `idAt` reads the id the table holds at a handle.
    @inline(__always)
    public func find(_ id: ID, idAt: (UInt32) -> ID) -> UInt32? {
        guard count > 0 else { return nil }
        let h = Self.hash(id)
        let tag = UInt64(UInt32(truncatingIfNeeded: h >> 32))
        var i = h & mask
        while true {
            let s = slots[i]
            if s == Self.empty { return nil }
            if s >> 32 == tag, idAt(UInt32(truncatingIfNeeded: s)) == id { return UInt32(truncatingIfNeeded: s) }
            i = (i + 1) & mask
        }
    }

    /// Adds `id` at `handle` (the caller checked it is not there yet).
    public mutating func insert(_ id: ID, handle: UInt32, idAt: (UInt32) -> ID) {
        if (count + 1) * 4 > slots.count * 3 { grow(to: max(16, slots.count * 2), idAt: idAt) }
        place(Self.slot(handle: handle, hash: Self.hash(id)), hash: Self.hash(id))
        count += 1
    }

    /// Makes room for `n` entries without growing again.
    public mutating func reserve(_ n: Int, idAt: (UInt32) -> ID) {
        var capacity = max(16, slots.count)
        while n * 4 > capacity * 3 { capacity *= 2 }
        if capacity > slots.count { grow(to: capacity, idAt: idAt) }
    }

    private mutating func place(_ s: UInt64, hash: Int) {
        var i = hash & mask
        while slots[i] != Self.empty { i = (i + 1) & mask }
        slots[i] = s
    }

    private mutating func grow(to capacity: Int, idAt: (UInt32) -> ID) {
        let old = slots
        slots = Array(repeating: Self.empty, count: capacity)
        mask = capacity - 1
        for s in old where s != Self.empty {
            // The tag holds only half the hash: the id is hashed again for its place.
            place(s, hash: Self.hash(idAt(UInt32(truncatingIfNeeded: s))))
        }
    }
}
