import CommHubDomain
import Foundation

/// What a workflow timer is for.
public enum TimerKey: Hashable, Sendable {
    /// The next step of a thread's escalation ladder.
    case sla(ThreadID)
    /// A thread waiting for the customer: the follow-up task rule.
    case followUp(ThreadID)
    /// A task's next reminder.
    case task(TaskID)
    /// A person's next daily digest.
    case digest(ContactID)
}

/// The engine's workflow timers: at most one pending moment per key, in a
/// binary min-heap, so that finding what is due costs O(1) when nothing is
/// and O(log n) per due timer — never a scan of the open threads.
///
/// `schedule` replaces a key's moment; the heap keeps the old entry until
/// it surfaces and is recognised as stale (its moment is no longer the
/// key's), which makes rescheduling O(log n) without a position index.
/// When stale entries outnumber live ones the heap is rebuilt from the live
/// moments (O(n), amortised over the reschedules that made them).
public struct TimerQueue: Sendable {
    struct Entry: Sendable {
        /// Milliseconds since 1970: integer compares, and the key map holds the same number.
        var at: Int64
        var key: TimerKey
    }

    private var heap: [Entry] = []
    private var moments: [TimerKey: Int64] = [:]
    /// Below this many entries the heap is never rebuilt (rebuilding a small heap saves nothing).
    static let compactionFloor = 4096

    public init() {}

    /// Keys with a pending moment.
    public var count: Int { moments.count }
    /// Entries in the heap, stale ones included (for tests and benchmarks).
    public var heapCount: Int { heap.count }

    /// A moment in whole milliseconds, rounded up (and `now` rounded down in
    /// `popDue`), so that a popped timer's moment has certainly come.
    static func millis(_ d: Date, rounding: FloatingPointRoundingRule = .up) -> Int64 {
        let ms = (d.timeIntervalSince1970 * 1000).rounded(rounding)
        guard ms.isFinite else { return ms > 0 ? .max : .min }
        return Int64(max(-9.2e18, min(9.2e18, ms)))
    }

    /// When `key` is due next, if it is scheduled.
    public func moment(of key: TimerKey) -> Date? {
        moments[key].map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }

    /// Sets (or moves) the moment of `key`.
    public mutating func schedule(_ key: TimerKey, at date: Date) {
        let at = Self.millis(date)
        if moments[key] == at { return }
        moments[key] = at
        push(Entry(at: at, key: key))
        compactIfNeeded()
    }

    /// Sets the moment of `key` unless it is already due earlier.
    public mutating func scheduleNoLater(_ key: TimerKey, at date: Date) {
        if let current = moments[key], current <= Self.millis(date) { return }
        schedule(key, at: date)
    }

    /// Forgets `key` (its heap entry becomes stale).
    public mutating func cancel(_ key: TimerKey) {
        moments[key] = nil
    }

    /// Removes and returns up to `limit` keys due at `now`, earliest first.
    public mutating func popDue(at now: Date, limit: Int) -> [TimerKey] {
        let cutoff = Self.millis(now, rounding: .down)
        var out: [TimerKey] = []
        while out.count < limit, let top = heap.first, top.at <= cutoff {
            popTop()
            guard moments[top.key] == top.at else { continue }  // stale: moved or cancelled
            moments[top.key] = nil
            out.append(top.key)
        }
        return out
    }

    /// The earliest pending moment (nil when none).
    public mutating func nextMoment() -> Date? {
        while let top = heap.first, moments[top.key] != top.at { popTop() }
        return heap.first.map { Date(timeIntervalSince1970: Double($0.at) / 1000) }
    }

    /// Loads many moments at once (after a restore): O(n) heapify instead of n pushes.
    public mutating func load(_ items: [(TimerKey, Date)]) {
        // Sized once: growing a million-key table by doubling rehashes every key again and again.
        moments.reserveCapacity(moments.count + items.count)
        for (k, d) in items { moments[k] = Self.millis(d) }
        rebuild()
    }

    // MARK: Heap

    private mutating func rebuild() {
        heap = moments.map { Entry(at: $0.value, key: $0.key) }
        var i = heap.count / 2 - 1
        while i >= 0 {
            siftDown(i)
            i -= 1
        }
    }

    private mutating func compactIfNeeded() {
        if heap.count > Self.compactionFloor, heap.count > 2 * moments.count { rebuild() }
    }

    private mutating func push(_ e: Entry) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].at < heap[parent].at else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < n, heap[l].at < heap[smallest].at { smallest = l }
            if r < n, heap[r].at < heap[smallest].at { smallest = r }
            if smallest == i { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
