import CommHubDomain
import CommHubEngine
import Synchronization

/// An EventBus with `n` subscriber tasks, each counting what reaches it.
public struct BusFixture: Sendable {
    public let bus: EventBus
    public let arrivals: Arrivals
    public let who: ContactID
    let tasks: [Task<Void, Never>]

    public static func make(subscribers n: Int) async -> BusFixture {
        let bus = EventBus(recentCapacity: 1024)
        let arrivals = Arrivals(expected: n)
        var tasks: [Task<Void, Never>] = []
        for _ in 0..<n {
            let sub = bus.subscribe(capacity: 4096)
            tasks.append(Task {
                for await delivery in sub {
                    if case .event(let e) = delivery { arrivals.arrived(e.seq) }
                }
            })
        }
        return BusFixture(bus: bus, arrivals: arrivals, who: entityID(2, 1), tasks: tasks)
    }

    public func stop() {
        for t in tasks { t.cancel() }
    }
}

/// Counts deliveries of the current sequence number and wakes the waiter
/// when the last of `expected` subscribers has it.
public final class Arrivals: Sendable {
    private struct State {
        var seq: UInt64 = 0
        var count = 0
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())
    let expected: Int

    public init(expected: Int) { self.expected = expected }

    public func arrived(_ seq: UInt64) {
        let w: CheckedContinuation<Void, Never>? = state.withLock { s in
            if seq != s.seq { s.seq = seq; s.count = 0 }
            s.count += 1
            guard s.count == expected else { return nil }
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume()
    }

    /// Returns once every subscriber has `seq`.
    public func wait(for seq: UInt64) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done: Bool = state.withLock { s in
                if s.seq == seq, s.count == expected { return true }
                s.waiter = c
                return false
            }
            if done { c.resume() }
        }
    }
}
