import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

/// The timer heap: each key at most once, earliest first, moved and
/// cancelled without scanning, bounded per pass.
@Suite("Timer queue")
struct TimerQueueTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("due keys come out earliest first, each once; later ones stay")
    func order() {
        var q = TimerQueue()
        let a = ThreadID(), b = ThreadID(), c = ThreadID()
        q.schedule(.sla(a), at: t0.addingTimeInterval(30))
        q.schedule(.sla(b), at: t0.addingTimeInterval(10))
        q.schedule(.followUp(c), at: t0.addingTimeInterval(20))
        q.schedule(.sla(c), at: t0.addingTimeInterval(99))
        #expect(q.popDue(at: t0.addingTimeInterval(30), limit: 10) == [.sla(b), .followUp(c), .sla(a)])
        #expect(q.popDue(at: t0.addingTimeInterval(30), limit: 10) == [], "never twice")
        #expect(q.count == 1)
        #expect(q.nextMoment() == t0.addingTimeInterval(99))
    }

    @Test("rescheduling moves a key, cancelling forgets it, scheduleNoLater keeps the earlier moment")
    func moves() {
        var q = TimerQueue()
        let a = ThreadID()
        q.schedule(.sla(a), at: t0.addingTimeInterval(10))
        q.schedule(.sla(a), at: t0.addingTimeInterval(50))
        #expect(q.popDue(at: t0.addingTimeInterval(20), limit: 10) == [], "the old moment is stale")
        q.scheduleNoLater(.sla(a), at: t0.addingTimeInterval(60))
        #expect(q.moment(of: .sla(a)) == t0.addingTimeInterval(50))
        q.scheduleNoLater(.sla(a), at: t0.addingTimeInterval(40))
        #expect(q.moment(of: .sla(a)) == t0.addingTimeInterval(40))
        q.cancel(.sla(a))
        #expect(q.popDue(at: t0.addingTimeInterval(100), limit: 10) == [])
        #expect(q.count == 0)
    }

    @Test("a pass takes at most `limit` keys; the rest wait for the next")
    func limit() {
        var q = TimerQueue()
        q.load((0..<100).map { (.sla(ThreadID()), t0.addingTimeInterval(Double($0))) })
        #expect(q.popDue(at: t0.addingTimeInterval(1000), limit: 30).count == 30)
        #expect(q.popDue(at: t0.addingTimeInterval(1000), limit: 1000).count == 70)
    }

    @Test("many reschedules compact the heap instead of growing it without bound")
    func compaction() {
        var q = TimerQueue()
        let keys = (0..<1000).map { _ in TimerKey.sla(ThreadID()) }
        for round in 0..<20 {
            for (i, k) in keys.enumerated() { q.schedule(k, at: t0.addingTimeInterval(Double(round * 1000 + i))) }
        }
        #expect(q.count == 1000)
        #expect(q.heapCount <= 2 * 1000 + TimerQueue.compactionFloor)
        let due = q.popDue(at: t0.addingTimeInterval(1e9), limit: 10_000)
        #expect(due.count == 1000 && Set(due).count == 1000)
    }
}
