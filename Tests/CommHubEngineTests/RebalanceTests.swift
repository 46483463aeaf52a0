import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

@Suite("Rebalancing keeps every thread with exactly one person")
struct RebalanceTests {
    @Test("draining an agent moves every thread to the least-loaded colleagues in one event")
    func drainAgent() async throws {
        let w = World()
        let team = await w.team("support")
        let a = try await w.agent("A", [team], max: 100), b = try await w.agent("B", [team], max: 100)
        let c = try await w.agent("C", [team], max: 100)
        try await w.rules(AutoAssignmentRules(defaultAssignee: "support"))
        let mail = await w.channel()
        for i in 0..<30 { try await w.ingest(mail, subject: "t\(i)") }
        #expect(await w.loads(a, b, c) == [10, 10, 10])
        let aThreads = await w.sup.state.board.agents[a.id]!.open
        _ = await w.events()

        let report = try await w.sup.rebalance(agent: a.id)
        let events = await w.events()
        #expect(events.count == 1, "one rebalance is one journaled event")
        guard case .threadsRebalanced(let moves, _)? = events.first?.event else {
            Issue.record("expected threadsRebalanced, got \(events.map(\.event.name))"); return
        }
        #expect(report.seq == events[0].seq)
        #expect(report.moves == moves)
        #expect(Set(moves.map(\.thread)) == aThreads)
        #expect(moves.count == 10)
        #expect(moves.allSatisfy { $0.from == a.id && ($0.to == b.id || $0.to == c.id) })
        #expect(await w.loads(a, b, c) == [0, 15, 15])
        checkAssignmentInvariant(await w.sup.state)
        for t in aThreads {
            let h = try await w.header(t)
            #expect(h.assignedToContactID == moves.first { $0.thread == t }?.to)
        }
        // The inbox follows: nothing is A's any more.
        var mine = InboxFilter()
        mine.assignee = a.id
        #expect(w.engine.inbox.page(mine, limit: 100, cursor: nil).threadIDs.isEmpty)
        mine.assignee = b.id
        #expect(w.engine.inbox.page(mine, limit: 100, cursor: nil).threadIDs.count == 15)
        // The people's counters.
        #expect(await w.sup.agentState(a.id)?.movedAway == 10)
        #expect(await w.sup.agentState(b.id)?.assignedTotal == 15)

        // Nothing left to move: no event at all.
        let empty = try await w.sup.rebalance(agent: a.id)
        #expect(empty.moves.isEmpty && empty.seq == nil)
        #expect(await w.events().isEmpty)
        await #expect(throws: EngineError.self) { try await w.sup.rebalance(agent: ContactID()) }
    }

    @Test("threads nobody else can take stay with their person (skills, capacity, presence)")
    func drainWithConstraints() async throws {
        let (w, team, a, ev, plain) = try await skilledTeam(evThreads: 4, plainThreads: 6)
        let b = try await w.agent("B", [team], max: 3)              // no "ev", room for 3
        let c = try await w.agent("C", [team], skills: ["ev"], presence: .away)
        let report = try await w.sup.rebalance(agent: a.id)
        #expect(report.moves.count == 3)
        #expect(report.moves.allSatisfy { plain.contains($0.thread) && $0.to == b.id })
        for t in ev { #expect(await w.assignee(t) == a.id) }
        #expect(await w.loads(a, b, c) == [7, 3, 0])
        checkAssignmentInvariant(await w.sup.state)
        let state = await w.sup.state
        for t in ev + plain { #expect(state.board.assignee[t] != nil, "no thread lost its person") }
    }

    @Test("evening out a team: max − min ≤ 1, one event, only online members")
    func evenOutTeam() async throws {
        let w = World()
        let team = await w.team("support", handOver: false)
        let a = try await w.agent("A", [team], max: 100)
        try await w.rules(AutoAssignmentRules(defaultAssignee: "support"))
        let mail = await w.channel()
        for i in 0..<10 { try await w.ingest(mail, subject: "t\(i)") }
        let b = try await w.agent("B", [team], max: 100), c = try await w.agent("C", [team], max: 100)
        let d = try await w.agent("D", [team], max: 100, presence: .offline)
        #expect(await w.loads(a, b, c) == [10, 0, 0])
        _ = await w.events()

        let report = try await w.sup.rebalance(team: team.id)
        let events = await w.events()
        #expect(events.count == 1)
        #expect(events.first?.event.name == "thread.rebalanced")
        #expect(report.seq == events.first?.seq)
        #expect(report.moves.count == 6)
        let loads = [await w.load(a), await w.load(b), await w.load(c)]
        #expect(loads.reduce(0, +) == 10)
        #expect(loads.max()! - loads.min()! <= 1, "\(loads)")
        #expect(await w.load(d) == 0, "offline members get nothing")
        checkAssignmentInvariant(await w.sup.state)

        // Already even: no event.
        let again = try await w.sup.rebalance(team: team.id)
        #expect(again.moves.isEmpty && again.seq == nil)
        #expect(await w.events().isEmpty)
        await #expect(throws: EngineError.self) { try await w.sup.rebalance(team: TeamID()) }
    }

    @Test("evening out respects skills and capacity")
    func evenOutWithSkills() async throws {
        let (w, team, a, ev, _) = try await skilledTeam(evThreads: 6, plainThreads: 6)
        let b = try await w.agent("B", [team], max: 100)
        let c = try await w.agent("C", [team], max: 2)
        let report = try await w.sup.rebalance(team: team.id)
        // Fair share is 4 each, but C can hold 2 and only A may hold the six "ev" threads.
        for t in ev { #expect(await w.assignee(t) == a.id) }
        #expect(await w.load(c) <= 2)
        #expect(await w.load(a) == 6)
        #expect(await w.load(b) + w.load(c) == 6)
        #expect(report.moves.allSatisfy { !ev.contains($0.thread) })
        checkAssignmentInvariant(await w.sup.state)
    }

    @Test("a larger team with members in several teams evens out and keeps the invariant")
    func largerTeam() async throws {
        let w = World()
        let main = await w.team("main"), side = await w.team("side")
        try await w.rules(AutoAssignmentRules(defaultAssignee: "main"))
        let mainMail = await w.channel(.emailOutlook, brand: .chargecars)
        let sideMail = await w.channel(.emailOutlook, brand: .ratioshop, rules: AutoAssignmentRules(defaultAssignee: "side"))
        var people: [Contact] = []
        people.append(try await w.agent("P0", [main, side], max: 1000))
        for i in 0..<37 { try await w.ingest(mainMail, subject: "m\(i)") }
        for i in 0..<5 { try await w.ingest(sideMail, subject: "s\(i)") }
        for i in 1..<8 { people.append(try await w.agent("P\(i)", [main], max: 1000)) }
        _ = try await w.sup.rebalance(team: main.id)
        var loads: [Int] = []
        for p in people { loads.append(await w.load(p)) }
        // P0 keeps the 5 "side" threads on top of its share of "main".
        let state = await w.sup.state
        let mainLoads = people.map { p in state.board.agents[p.id]!.open.filter { state.board.team[$0] == main.id }.count }
        #expect(mainLoads.reduce(0, +) == 37)
        #expect(loads.reduce(0, +) == 42)
        #expect(loads.max()! - loads.min()! <= 1, "\(loads)")
        #expect(state.board.agents[people[0].id]!.open.filter { state.board.team[$0] == side.id }.count == 5)
        checkAssignmentInvariant(state)
    }

    /// A "technical" team whose only member A has skill "ev"; threads whose
    /// subject says "storing" need that skill. A holds `evThreads` of those
    /// and `plainThreads` others.
    func skilledTeam(evThreads: Int, plainThreads: Int) async throws
        -> (World, Team, Contact, ev: [ThreadID], plain: [ThreadID]) {
        let w = World()
        let team = await w.team("technical")
        let a = try await w.agent("A", [team], skills: ["ev"], max: 100)
        try await w.rules(AutoAssignmentRules(
            defaultAssignee: "technical",
            keywordRules: [KeywordRule(keywords: ["storing"], threadType: .technicalIssue)],
            byThreadType: ["technical_issue": TypeRoute(requiredSkills: ["ev"])]))
        let mail = await w.channel()
        var ev: [ThreadID] = [], plain: [ThreadID] = []
        for i in 0..<evThreads { ev.append(try await w.ingest(mail, subject: "storing \(i)").threadID) }
        for i in 0..<plainThreads { plain.append(try await w.ingest(mail, subject: "vraag \(i)").threadID) }
        return (w, team, a, ev, plain)
    }
}
