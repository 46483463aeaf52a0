import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

let busContact = ContactID()

func ev(_ seq: UInt64) -> SequencedEvent {
    SequencedEvent(seq: seq, event: .presenceChanged(contact: busContact, presence: seq % 2 == 0 ? .online : .away))
}

extension Subscription {
    /// Takes `n` deliveries.
    func take(_ n: Int) async -> [BusDelivery] {
        var out: [BusDelivery] = []
        for _ in 0..<n {
            guard let d = await next() else { break }
            out.append(d)
        }
        return out
    }
}

func seqs(_ ds: [BusDelivery]) -> [UInt64] {
    ds.compactMap { if case .event(let e) = $0 { e.seq } else { nil } }
}

@Suite("Event bus", .timeLimit(.minutes(1)))
struct EventBusTests {
    @Test("subscribers get every event in order while publishing runs concurrently")
    func orderedDelivery() async {
        let bus = EventBus()
        let subs = (0..<3).map { _ in bus.subscribe(capacity: 100_000) }
        async let received: [[UInt64]] = withTaskGroup(of: (Int, [UInt64]).self) { g in
            for (i, s) in subs.enumerated() { g.addTask { (i, seqs(await s.take(5000))) } }
            var out = Array(repeating: [UInt64](), count: subs.count)
            for await (i, r) in g { out[i] = r }
            return out
        }
        var seq: UInt64 = 0
        var batch: UInt64 = 0
        while seq < 5000 {
            batch += 1
            let n = min(1 + batch % 19, 5000 - seq)
            bus.publish((seq + 1...seq + n).map(ev))
            seq += n
            if batch % 7 == 0 { await Task.yield() }
        }
        for r in await received { #expect(r == Array(1...5000)) }
        #expect(bus.lastSeq == 5000)
    }

    @Test("a slow subscriber gets .resync(fromSeq:) and never blocks publishing or other subscribers")
    func slowSubscriber() async {
        let bus = EventBus()
        let slow = bus.subscribe(capacity: 8)
        let fast = bus.subscribe(capacity: 1_000_000)
        let start = ContinuousClock.now
        for s in 1...200_000 as ClosedRange<UInt64> { bus.publish([ev(s)]) }
        #expect(ContinuousClock.now - start < .seconds(10), "publishing does not wait for anyone")
        #expect(slow.buffered <= 8, "the slow buffer stays bounded")
        // The slow one first hears where to resume: from the first event it lost.
        let first = await slow.next()
        #expect(first == .resync(fromSeq: 1))
        // After taking the resync it receives live events again.
        bus.publish([ev(200_001)])
        #expect(await slow.next() == .event(ev(200_001)))
        // The fast one saw everything, in order.
        let all = seqs(await fast.take(200_001))
        #expect(all.count == 200_001)
        #expect(all == Array(1...200_001))
    }

    @Test("overflow in a batch: resync names the first event the subscriber did not get")
    func overflowMidStream() async {
        let bus = EventBus()
        let s = bus.subscribe(capacity: 4)
        bus.publish([ev(1), ev(2)])
        #expect(seqs(await s.take(2)) == [1, 2])
        bus.publish([ev(3), ev(4), ev(5)])
        bus.publish([ev(6), ev(7)])            // 3 + 2 > 4: overflow, 3…7 dropped
        bus.publish([ev(8)])                    // dropped until the resync is taken
        #expect(s.buffered == 1)
        #expect(await s.next() == .resync(fromSeq: 3))
        bus.publish([ev(9)])
        #expect(await s.next().map(seqsOf) == [9])
    }

    @Test("subscribe(since:) replays retained events, or asks for a resync when they are gone")
    func since() async {
        let bus = EventBus(recentCapacity: 10)
        for s in 1...25 as ClosedRange<UInt64> { bus.publish([ev(s)]) }
        let recent = bus.subscribe(since: 20)
        #expect(seqs(await recent.take(5)) == [21, 22, 23, 24, 25])
        let caughtUp = bus.subscribe(since: 25)
        #expect(caughtUp.buffered == 0)
        let edge = bus.subscribe(since: 15)     // 16…25 are exactly the retained ten
        #expect(seqs(await edge.take(10)) == Array(16...25))
        let old = bus.subscribe(since: 5)       // 6…15 are gone
        #expect(await old.next() == .resync(fromSeq: 6))
        bus.publish([ev(26)])
        #expect(await recent.next().map(seqsOf) == [26])
        #expect(await caughtUp.next().map(seqsOf) == [26])
        #expect(await old.next().map(seqsOf) == [26])
    }

    @Test("cancel ends a waiting next() and removes the subscriber")
    func cancel() async {
        let bus = EventBus()
        let s = bus.subscribe()
        #expect(bus.subscriberCount == 1)
        async let waiting = s.next()
        try? await Task.sleep(for: .milliseconds(20))
        s.cancel()
        #expect(await waiting == nil)
        #expect(bus.subscriberCount == 0)
        bus.publish([ev(1)])
        #expect(s.buffered == 0)
    }

    @Test("the engine publishes every committed event once, with consecutive sequence numbers")
    func engineSequence() async throws {
        let w = World()
        let team = await w.team("support")
        _ = try await w.agent("A", [team])
        try await w.rules(AutoAssignmentRules(defaultAssignee: "support"))
        let mail = await w.channel()
        let late = w.engine.bus.subscribe(since: 0, capacity: 10_000)
        for i in 0..<20 { try await w.ingest(mail, subject: "t\(i)") }
        let events = await w.events()
        #expect(events.map(\.seq) == Array(1...UInt64(events.count)))
        #expect(w.engine.bus.lastSeq == UInt64(events.count))
        #expect(w.engine.inbox.lastSeq == w.engine.bus.lastSeq)
        #expect(w.engine.journal.lastAssignedSeq == w.engine.bus.lastSeq)
        #expect(w.engine.committedEvents == UInt64(events.count))
        // A subscriber that joined late with since: 0 got the same history.
        #expect(seqs(await late.take(events.count)) == events.map(\.seq))
        #expect(events.count(named: "thread.opened") == 20)
        #expect(events.count(named: "message.created") == 20)
        #expect(events.count(named: "thread.assigned") == 20)
    }
}

private func seqsOf(_ d: BusDelivery) -> [UInt64] { seqs([d]) }
