import CommHubDomain
@testable import CommHubEngine
import CommHubFixtures
import Foundation
import Testing

/// The thread handles shared by the engine's per-thread projections (issue
/// 17): the analytics book keeps its facts at the assignment board's
/// handles, the board and the inbox find handles through `HandleIndex`, and
/// the drain planner picks by scanning keys. Each is checked against the
/// plain version of itself: a book with handles of its own, a dictionary,
/// the greedy rule the planner implements.
@Suite("Shared thread handles")
struct SharedHandleTests {
    static let start = Date(timeIntervalSince1970: 1_795_000_000)

    // MARK: HandleIndex

    @Test("the handle index finds every id it was given and none it was not, across growth")
    func handleIndexAgreesWithADictionary() {
        var ids: [ThreadID] = []
        var index = HandleIndex<ThreadID>()
        var reference: [ThreadID: UInt32] = [:]
        for i in 0..<50_000 {
            let id = ThreadID()
            ids.append(id)
            let snapshot = ids
            index.insert(id, handle: UInt32(i), idAt: { snapshot[Int($0)] })
            reference[id] = UInt32(i)
        }
        #expect(index.count == 50_000)
        for (id, h) in reference { #expect(index.find(id, idAt: { ids[Int($0)] }) == h) }
        for _ in 0..<5_000 { #expect(index.find(ThreadID(), idAt: { ids[Int($0)] }) == nil) }
        // Reserving after the fact keeps every entry.
        index.reserve(400_000, idAt: { ids[Int($0)] })
        for (id, h) in reference.prefix(5_000) { #expect(index.find(id, idAt: { ids[Int($0)] }) == h) }
    }

    // MARK: The analytics book at the board's handles

    /// A random history of threads: openings, messages, assignments,
    /// rebalances planned on the board (with its hints), closings, reopenings.
    static func history(seed: UInt64) -> [EngineEvent] {
        var rng = SplitMix(seed: seed)
        let team = Team(name: "support")
        let people = (0..<6).map { Contact(name: "p\($0)", teams: [team.id], maxOpenThreads: 1_000, presence: .online) }
        var events: [EngineEvent] = [.teamUpserted(team)] + people.map { .contactUpserted($0) }
        var board = AssignmentBoard()
        for e in events { board.apply(e) }
        var threads: [ThreadID] = []
        var t = start
        func emit(_ e: EngineEvent) { events.append(e); board.apply(e) }
        for _ in 0..<600 {
            t = t.addingTimeInterval(Double(rng.next() % 900))
            switch rng.next() % 10 {
            case 0, 1:
                let id = ThreadID()
                threads.append(id)
                emit(.threadOpened(ThreadHeader(id: id, threadSubject: "t", businessEntity: .chargecars, channelType: .sms,
                                                assignedTeamID: team.id, createdAt: t)))
                emit(.threadAssigned(thread: id, team: team.id, agent: people[Int(rng.next() % 6)].id,
                                     reason: rng.next() % 3 == 0 ? "manual" : "rule"))
            case 2, 3, 4:
                guard let id = threads.randomElement(using: &rng) else { continue }
                let type: MessageType = rng.next() % 2 == 0 ? .incoming : .outgoing
                emit(.messageAdded(header: MessageHeader(id: MessageID(), threadID: id, channelID: nil, channelType: .sms,
                                                        messageType: type, senderContactID: type == .outgoing ? people[0].id : nil,
                                                        deliveryStatus: .sent, createdAt: t),
                                   body: MessageBody(messageContent: "x"), responseDueAt: t.addingTimeInterval(3_600)))
            case 5:
                let moves = board.planDrain(agent: people[Int(rng.next() % 6)].id, queueLeftovers: false)
                if !moves.isEmpty { emit(.threadsRebalanced(moves: moves, reason: "rebalance agent")) }
            case 6:
                let moves = board.planEvenOut(team: team.id)
                if !moves.isEmpty { emit(.threadsRebalanced(moves: moves, reason: "rebalance team")) }
            case 7:
                guard let id = threads.randomElement(using: &rng) else { continue }
                emit(.threadChanged(thread: id, change: ThreadChange(status: .resolved), at: t))
            case 8:
                guard let id = threads.randomElement(using: &rng) else { continue }
                emit(.threadChanged(thread: id, change: ThreadChange(status: .open), at: t))
            default:
                // Days pass: closed threads leave the book after the reopen window.
                t = t.addingTimeInterval(Double(rng.next() % 4) * 86_400 * 5)
            }
        }
        return events
    }

    @Test("a book at the board's handles counts what a book of its own counts, hints or not", arguments: [1, 2, 3] as [UInt64])
    func bookAtBoardHandlesEqualsABookOfItsOwn(seed: UInt64) throws {
        let events = Self.history(seed: seed)
        var state = EngineState()
        var own = AnalyticsBook()
        // A state whose board met a thread before any of these: every handle is one
        // further on, so the plans' hints name other threads there and must be ignored.
        var other = EngineState()
        other.board.apply(.threadOpened(ThreadHeader(id: ThreadID(), threadSubject: "x", businessEntity: .chargecars,
                                                     channelType: .sms, createdAt: Self.start)))
        for (i, e) in events.enumerated() {
            state.apply(SequencedEvent(seq: UInt64(i + 1), event: e))
            other.apply(SequencedEvent(seq: UInt64(i + 1), event: e))
            own.apply(e, measure: EngineState.CalendarMeasure(workflow: state.workflow))
        }
        #expect(state.analytics.threadCount > 0)
        #expect(state.analytics == own)
        #expect(state.analytics.figures == own.figures)
        #expect(other.analytics == own)
        // The snapshot coding: decoded on its own, then given the board's handles.
        let data = try JSONEncoder().encode(state.analytics)
        var back = try JSONDecoder().decode(AnalyticsBook.self, from: data)
        #expect(back == own)
        back.adopt(handles: &state.board)
        #expect(back == state.analytics)
    }

    // MARK: The drain planner

    @Test("picking by levels gives the heap's picks, with gaps between loads, full candidates and too few places")
    func levelPicksEqualHeapPicks() {
        var rng = SplitMix(seed: 17)
        for _ in 0..<2_000 {
            let count = 1 + Int(rng.next() % 30)
            let distances = Array(0..<count).shuffled(using: &rng)
            var slots = (0..<count).map { i -> AssignmentBoard.Slot in
                let load = Int(rng.next() % 40)
                return AssignmentBoard.Slot(load: load, distance: distances[i], person: Int32(i), added: Int(rng.next() % 3),
                                            capacity: load + Int(rng.next() % 12))
            }
            var other = slots
            let n = Int(rng.next() % 200)
            #expect(AssignmentBoard.levelPicks(&slots, n) == AssignmentBoard.heapPicks(&other, n))
            #expect(slots.map(\.added) == other.map(\.added))
            #expect(slots.map(\.load) == other.map(\.load))
        }
    }

    @Test("each drained thread goes to a least-loaded colleague with room, for small teams (scan) and large (heap)",
          arguments: [5, 80] as [Int])
    func drainPicksTheLeastLoaded(members: Int) throws {
        var rng = SplitMix(seed: UInt64(members))
        var b = AssignmentBoard()
        let team = Team(name: "support")
        b.apply(.teamUpserted(team))
        let source = Contact(name: "source", teams: [team.id], maxOpenThreads: 10_000, presence: .online)
        b.apply(.contactUpserted(source))
        var colleagues: [Contact] = []
        for i in 0..<members {
            let c = Contact(name: "c\(i)", teams: [team.id], maxOpenThreads: 5 + Int(rng.next() % 20),
                            presence: rng.next() % 5 == 0 ? .away : .online)
            colleagues.append(c)
            b.apply(.contactUpserted(c))
        }
        func open(_ owner: ContactID) {
            let h = ThreadHeader(id: ThreadID(), threadSubject: "t", businessEntity: .chargecars, channelType: .sms, createdAt: Self.start)
            b.apply(.threadOpened(h))
            b.apply(.threadAssigned(thread: h.id, team: team.id, agent: owner, reason: "test"))
        }
        for c in colleagues { for _ in 0..<Int(rng.next() % UInt64(c.maxOpenThreads)) { open(c.id) } }
        for _ in 0..<300 { open(source.id) }

        let moves = b.planDrain(agent: source.id, queueLeftovers: false)
        #expect(moves == b.planDrain(agent: source.id, queueLeftovers: false))
        var load = Dictionary(uniqueKeysWithValues: colleagues.map { ($0.id, b.agents[$0.id]!.load) })
        let eligible = colleagues.filter { $0.presence == .online }
        for m in moves {
            let to = try #require(m.to)
            let room = eligible.filter { load[$0.id]! < $0.maxOpenThreads }
            #expect(room.contains { $0.id == to })
            #expect(load[to]! == room.map { load[$0.id]! }.min())
            load[to]! += 1
        }
        // Threads stay with the source only when nobody had room left.
        if moves.count < 300 { #expect(eligible.allSatisfy { load[$0.id]! >= $0.maxOpenThreads }) }
    }
}
