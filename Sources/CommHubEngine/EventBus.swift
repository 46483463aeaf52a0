import CommHubDomain
import DequeModule
import Synchronization

/// What a subscriber receives: committed events in sequence order, or — when
/// it fell so far behind that its buffer overflowed — a signal to resync
/// from a sequence number (read the missed events from the journal or
/// reload state). A slow subscriber never stalls the engine.
public enum BusDelivery: Sendable, Equatable {
    case event(SequencedEvent)
    case resync(fromSeq: UInt64)
}

/// Fans committed events out to subscribers (WebSocket clients, SLA timers,
/// analytics). Publishing is synchronous and O(subscribers); each
/// subscriber has a bounded buffer. The bus also keeps the most recent
/// events so that a client reconnecting with `since` gets what it missed.
public final class EventBus: Sendable {
    private struct State {
        var subscribers: [Int: Subscription] = [:]
        var nextID = 0
        var recent: Deque<SequencedEvent> = []
        var lastSeq: UInt64 = 0
    }

    private let state: Mutex<State>
    public let recentCapacity: Int

    /// `lastSeq`: where the journal stands when the bus starts (after a
    /// restore), so that a subscriber asking for older events gets `.resync`
    /// instead of silently nothing.
    public init(recentCapacity: Int = 65_536, lastSeq: UInt64 = 0) {
        self.recentCapacity = recentCapacity
        state = Mutex(State(lastSeq: lastSeq))
    }

    public var lastSeq: UInt64 { state.withLock { $0.lastSeq } }
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Publishes a committed batch (called in sequence order by the journal's commit hook).
    public func publish(_ batch: [SequencedEvent]) {
        let subs: [Subscription] = state.withLock { s in
            for e in batch {
                s.recent.append(e)
                if s.recent.count > recentCapacity { s.recent.removeFirst() }
            }
            if let last = batch.last { s.lastSeq = last.seq }
            return Array(s.subscribers.values)
        }
        for sub in subs { sub.offer(batch) }
    }

    /// Subscribes. With `since`, first replays the retained events after it;
    /// when they are no longer retained, or `since` lies beyond the last
    /// published event, the first delivery is `.resync`.
    public func subscribe(since: UInt64? = nil, capacity: Int = 4096) -> Subscription {
        state.withLock { s in
            let sub = Subscription(id: s.nextID, capacity: capacity, bus: self)
            s.nextID += 1
            if let since {
                if since > s.lastSeq {
                    // A position this bus never reached (a client of another
                    // engine, or a forged number): what it holds cannot be
                    // continued from here, so it must reload. No `since + 1`
                    // on a number from outside: it may be UInt64.max.
                    sub.offerResync(s.lastSeq &+ 1)
                } else if let first = s.recent.first, first.seq > since + 1 {
                    sub.offerResync(since + 1)
                } else if s.recent.isEmpty, s.lastSeq > since {
                    sub.offerResync(since + 1)
                } else {
                    sub.offer(s.recent.filter { $0.seq > since })
                }
            }
            s.subscribers[sub.id] = sub
            return sub
        }
    }

    /// The retained events after `seq` up to `upTo`, or nil when the bus no
    /// longer holds all of them (the caller reads the journal instead).
    public func retained(after seq: UInt64, upTo: UInt64) -> [SequencedEvent]? {
        state.withLock { s in
            guard upTo > seq else { return [] }
            guard let first = s.recent.first, first.seq <= seq &+ 1 else { return nil }
            var out: [SequencedEvent] = []
            // `recent` is in sequence order: skip to the first wanted event from the end it is nearer to.
            var i = s.recent.count
            while i > 0, s.recent[i - 1].seq > seq { i -= 1 }
            while i < s.recent.count, s.recent[i].seq <= upTo {
                out.append(s.recent[i])
                i += 1
            }
            return out
        }
    }

    fileprivate func remove(_ id: Int) {
        _ = state.withLock { $0.subscribers.removeValue(forKey: id) }
    }
}

/// One subscriber's bounded mailbox. Iterate it with `for await`.
public final class Subscription: AsyncSequence, Sendable {
    public typealias Element = BusDelivery

    private struct State {
        var buffer: Deque<BusDelivery> = []
        var waiter: UnsafeContinuation<BusDelivery?, Never>?
        var overflowFrom: UInt64?
        var finished = false
    }

    let id: Int
    private let capacity: Int
    private let state = Mutex(State())
    private weak let bus: EventBus?

    fileprivate init(id: Int, capacity: Int, bus: EventBus) {
        self.id = id
        self.capacity = capacity
        self.bus = bus
    }

    fileprivate func offer(_ batch: [SequencedEvent]) {
        guard !batch.isEmpty else { return }
        let resume: (UnsafeContinuation<BusDelivery?, Never>, BusDelivery)? = state.withLock { s in
            guard !s.finished else { return nil }
            if s.overflowFrom != nil { return nil }  // dropping until the consumer takes the resync
            if s.buffer.count + batch.count > capacity {
                // Overflow: discard what is buffered and tell the consumer where to resume.
                let from = s.buffer.first.flatMap { d -> UInt64? in
                    if case .event(let e) = d { return e.seq }
                    if case .resync(let f) = d { return f }
                    return nil
                } ?? batch[0].seq
                s.buffer.removeAll()
                s.overflowFrom = from
                s.buffer.append(.resync(fromSeq: from))
            } else {
                for e in batch { s.buffer.append(.event(e)) }
            }
            if let w = s.waiter, let first = s.buffer.popFirst() {
                s.waiter = nil
                if case .resync = first { s.overflowFrom = nil }
                return (w, first)
            }
            return nil
        }
        if let (w, item) = resume { w.resume(returning: item) }
    }

    fileprivate func offerResync(_ from: UInt64) {
        state.withLock { s in
            s.buffer.append(.resync(fromSeq: from))
        }
    }

    /// The next delivery, or nil once cancelled.
    public func next() async -> BusDelivery? {
        await withUnsafeContinuation { (c: UnsafeContinuation<BusDelivery?, Never>) in
            let immediate: BusDelivery?? = state.withLock { s in
                if let item = s.buffer.popFirst() {
                    if case .resync = item { s.overflowFrom = nil }
                    return .some(item)
                }
                if s.finished { return .some(nil) }
                s.waiter = c
                return nil
            }
            if let immediate { c.resume(returning: immediate) }
        }
    }

    /// The next delivery and whatever else is already buffered, at most
    /// `limit` in all (one wake-up per burst instead of one per event);
    /// empty once cancelled.
    public func next(upTo limit: Int) async -> [BusDelivery] {
        guard let first = await next() else { return [] }
        var out = [first]
        state.withLock { s in
            while out.count < Swift.max(1, limit), let item = s.buffer.popFirst() {
                if case .resync = item { s.overflowFrom = nil }
                out.append(item)
            }
        }
        return out
    }

    /// Stops the subscription; a pending `next()` returns nil.
    public func cancel() {
        let w = state.withLock { s -> UnsafeContinuation<BusDelivery?, Never>? in
            s.finished = true
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume(returning: nil)
        bus?.remove(id)
    }

    public var buffered: Int { state.withLock { $0.buffer.count } }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let sub: Subscription
        public mutating func next() async -> BusDelivery? { await sub.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(sub: self) }
}
