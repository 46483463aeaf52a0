/// An ordered set of small keys kept as a list of sorted chunks (a one-level
/// B-tree). Insert and remove cost a binary search plus a move of at most
/// `chunkSize` keys, so a million-key index stays cheap to update, and an
/// ordered walk from any key is a binary search then a linear scan.
struct SortedKeys<Key: Comparable & Sendable>: Sendable {
    private var chunks: [[Key]] = []
    private let chunkSize = 512
    private(set) var count = 0

    /// Index of the chunk where `key` belongs.
    private func chunkIndex(for key: Key) -> Int {
        var lo = 0
        var hi = chunks.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if chunks[mid][chunks[mid].count - 1] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private static func position(of key: Key, in chunk: [Key]) -> Int {
        var lo = 0
        var hi = chunk.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if chunk[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    mutating func insert(_ key: Key) {
        guard !chunks.isEmpty else {
            chunks = [[key]]
            count = 1
            return
        }
        let c = chunkIndex(for: key)
        let p = Self.position(of: key, in: chunks[c])
        if p < chunks[c].count, chunks[c][p] == key { return }
        chunks[c].insert(key, at: p)
        count += 1
        if chunks[c].count > chunkSize * 2 {
            let tail = Array(chunks[c][chunkSize...])
            chunks[c].removeSubrange(chunkSize...)
            chunks.insert(tail, at: c + 1)
        }
    }

    @discardableResult
    mutating func remove(_ key: Key) -> Bool {
        guard !chunks.isEmpty else { return false }
        let c = chunkIndex(for: key)
        let p = Self.position(of: key, in: chunks[c])
        guard p < chunks[c].count, chunks[c][p] == key else { return false }
        chunks[c].remove(at: p)
        count -= 1
        if chunks[c].isEmpty { chunks.remove(at: c) }
        return true
    }

    /// Walks keys in order, starting after `after` (or from the first key),
    /// until `body` returns false.
    func forEach(after: Key?, _ body: (Key) -> Bool) {
        guard !chunks.isEmpty else { return }
        var c = 0
        var p = 0
        if let after {
            c = chunkIndex(for: after)
            p = Self.position(of: after, in: chunks[c])
            if p < chunks[c].count, chunks[c][p] == after { p += 1 }
        }
        while c < chunks.count {
            let chunk = chunks[c]
            while p < chunk.count {
                if !body(chunk[p]) { return }
                p += 1
            }
            c += 1
            p = 0
        }
    }
}
