import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

/// The assignment board's dense handles: a plan's hints speed up applying it
/// on the board that made it, and are ignored wherever they name other ids
/// (another board, a replay, a forged event), so the outcome is always the
/// outcome of the ids alone.
@Suite("Assignment board handles")
struct BoardHandleTests {
    struct Fixture {
        let team = Team(name: "support")
        let source = Contact(name: "source", teams: [], skills: ["ev"], maxOpenThreads: 1_000, presence: .online)
        var colleagues: [Contact] = []
        var threads: [ThreadHeader] = []

        init() {
            for i in 0..<5 {
                colleagues.append(Contact(name: "c\(i)", teams: [], skills: i % 2 == 0 ? ["ev"] : [],
                                          maxOpenThreads: 30, presence: .online))
            }
            for i in 0..<60 {
                threads.append(ThreadHeader(id: ThreadID(), threadSubject: "t\(i)", priority: .normal, status: .open,
                                            businessEntity: .chargecars, channelType: .sms, createdAt: Date(),
                                            requiredSkills: i % 4 == 0 ? ["ev"] : []))
            }
        }

        /// The same board, its threads and people entered in the given order
        /// (so the handles differ between orders).
        func board(reversed: Bool) -> AssignmentBoard {
            var b = AssignmentBoard()
            b.apply(.teamUpserted(team))
            var people = [source] + colleagues
            if reversed { people.reverse() }
            for var c in people {
                c.teams = [team.id]
                b.apply(.contactUpserted(c))
            }
            let list = reversed ? threads.reversed() : threads
            for h in list { b.apply(.threadOpened(h)) }
            for (i, h) in threads.enumerated() {
                let owner = i < 40 ? source.id : colleagues[i % colleagues.count].id
                b.apply(.threadAssigned(thread: h.id, team: team.id, agent: owner, reason: "test"))
            }
            return b
        }
    }

    static func expectSame(_ a: AssignmentBoard, _ b: AssignmentBoard, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.assignee.dictionary == b.assignee.dictionary, sourceLocation: sourceLocation)
        #expect(a.agents == b.agents, sourceLocation: sourceLocation)
        #expect(a.openThreads == b.openThreads, sourceLocation: sourceLocation)
        #expect(a.teams.mapValues { Array($0.queue) } == b.teams.mapValues { Array($0.queue) }, sourceLocation: sourceLocation)
    }

    @Test("a plan applied where it was made, elsewhere and without hints ends the same")
    func hintsNeverChangeTheOutcome() throws {
        let f = Fixture()
        var here = f.board(reversed: false)
        var other = f.board(reversed: true)
        var plain = f.board(reversed: true)
        let moves = here.planDrain(agent: f.source.id, queueLeftovers: true)
        #expect(moves.count == 40)
        #expect(moves.allSatisfy { $0.boardHint != nil })
        here.apply(.threadsRebalanced(moves: moves, reason: "test"))
        other.apply(.threadsRebalanced(moves: moves, reason: "test"))  // hints name other threads there
        let stripped = moves.map { ThreadMove(thread: $0.thread, from: $0.from, to: $0.to) }
        plain.apply(.threadsRebalanced(moves: stripped, reason: "test"))
        Self.expectSame(here, plain)
        Self.expectSame(other, plain)
        #expect(here.agents[f.source.id]?.load == 0)
        for m in moves where m.to != nil { #expect(here.assignee[m.thread] == m.to) }
    }

    @Test("a forged hint pointing at another thread or person moves only what the ids say")
    func forgedHintsAreIgnored() throws {
        let f = Fixture()
        var board = f.board(reversed: false)
        var plain = f.board(reversed: false)
        let planned = board.planDrain(agent: f.source.id, queueLeftovers: false)
        let target = try #require(planned.first)
        // The hint of the last move (another thread, another person) on the first move.
        let forged = ThreadMove(thread: target.thread, from: target.from, to: target.to, boardHint: planned.last?.boardHint)
        let wild = ThreadMove(thread: target.thread, from: target.from, to: target.to,
                              boardHint: .init(thread: .max, to: .max))
        board.apply(.threadsRebalanced(moves: [forged, wild], reason: "test"))
        plain.apply(.threadsRebalanced(moves: [ThreadMove(thread: target.thread, from: target.from, to: target.to)], reason: "test"))
        Self.expectSame(board, plain)
        if let last = planned.last, last.thread != target.thread {
            #expect(board.assignee[last.thread] == f.source.id, "the thread the forged hint named did not move")
        }
    }

    @Test("a move to nobody queues only open threads: a closed thread never waits in a queue")
    func closedThreadsAreNeverQueued() {
        let f = Fixture()
        var board = f.board(reversed: false)
        let closed = f.threads[0].id, open = f.threads[1].id
        board.apply(.threadChanged(thread: closed, change: ThreadChange(status: .resolved), at: Date()))
        // Such moves come from no plan today (plans move open threads, in the turn that makes
        // them), but apply must keep the invariant for any journal it replays.
        board.apply(.threadsRebalanced(moves: [ThreadMove(thread: closed, from: f.source.id, to: nil),
                                               ThreadMove(thread: open, from: f.source.id, to: nil)], reason: "test"))
        let queue = Array(board.teams[f.team.id]?.queue ?? [])
        #expect(queue == [open])
        #expect(board.assignee[closed] == nil && board.assignee[open] == nil)
        #expect(!board.openThreads.contains(closed))
    }

    @Test("a tally counts what each person's counters count from the moves")
    func tallyMatchesTheMoves() {
        let f = Fixture()
        let board = f.board(reversed: false)
        var moves = board.planDrain(agent: f.source.id, queueLeftovers: true)
        let stranger = ContactID()
        moves.append(ThreadMove(thread: f.threads[50].id, from: f.colleagues[0].id, to: stranger))
        moves.append(ThreadMove(thread: f.threads[51].id, from: stranger, to: f.source.id))
        let tally = board.tally(moves)
        #expect(Set(tally.map(\.person)).count == tally.count, "one entry per person")
        for t in tally {
            #expect(t.assigned == moves.filter { $0.to == t.person }.count)
            #expect(t.movedAway == moves.filter { $0.from == t.person }.count)
        }
        let named = Set(moves.flatMap { [$0.from, $0.to].compactMap { $0 } })
        #expect(Set(tally.map(\.person)) == named)
    }
}
