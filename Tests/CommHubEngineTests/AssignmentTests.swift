import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

@Suite("Auto-assignment: skills, capacity, presence, queueing")
struct AssignmentTests {
    /// technical team (needs skill "ev" for technical issues) and a support team.
    struct Setup {
        let w = World()
        var technical = Team(name: "x"), support = Team(name: "y")
        var anna = Contact(name: "a"), bob = Contact(name: "b"), carla = Contact(name: "c"), dave = Contact(name: "d")
        var mail = Channel(channelType: .emailOutlook, channelName: "m")

        init() async throws {
            technical = await w.team("Technical")
            support = await w.team("support")
            anna = try await w.agent("Anna", [technical], skills: ["EV"], max: 2)
            bob = try await w.agent("Bob", [technical], skills: [], max: 10)
            carla = try await w.agent("Carla", [technical], skills: ["ev", "dutch"], max: 2, presence: .offline)
            dave = try await w.agent("Dave", [support])
            try await w.rules(AutoAssignmentRules(
                defaultAssignee: "support",
                keywordRules: [KeywordRule(keywords: ["werkt niet", "storing"], threadType: .technicalIssue)],
                byThreadType: ["technical_issue": TypeRoute(defaultAssignee: "technical", requiredSkills: ["ev"])]))
            mail = await w.channel(.emailOutlook)
        }

        func storing(_ n: Int) async throws -> ThreadID {
            try await w.ingest(mail, from: ExternalParty(email: "klant\(n)@example.nl"), subject: "Storing \(n)",
                               body: "Mijn laadpaal werkt niet").threadID
        }
    }

    @Test("keyword → technical_issue → technical team → the skilled, online person with room")
    func skillsCapacityPresence() async throws {
        let s = try await Setup()
        let w = s.w
        let t1 = try await s.storing(1)
        let h = try await w.header(t1)
        #expect(h.threadType == .technicalIssue)
        #expect(h.requiredSkills == ["ev"])
        #expect(h.assignedTeamID == s.technical.id)
        #expect(h.assignedToContactID == s.anna.id, "Bob lacks the skill, Carla is offline")
        let t2 = try await s.storing(2)
        #expect(await w.assignee(t2) == s.anna.id)
        // Anna is full (2/2), Bob lacks "ev", Carla is offline: the third waits in the technical queue.
        let t3 = try await s.storing(3)
        #expect(await w.assignee(t3) == nil)
        #expect(await w.queue(s.technical) == [t3])
        #expect(try await w.header(t3).assignedTeamID == s.technical.id)
        var unassigned = InboxFilter()
        unassigned.unassignedOnly = true
        #expect(w.engine.inbox.page(unassigned, limit: 10, cursor: nil).threadIDs == [t3])

        // An ordinary question goes to support, not to the technical people.
        let q = try await w.ingest(s.mail, subject: "Wanneer komt de monteur?").threadID
        #expect(await w.assignee(q) == s.dave.id)
        #expect(try await w.header(q).threadType == .customerSupport)
        #expect(await w.load(s.bob) == 0)
        checkAssignmentInvariant(await w.sup.state)

        // Carla comes online: the queued thread is hers at once.
        let events = try await w.presence(s.carla, .online)
        #expect(events.contains { if case .threadAssigned(t3, _, s.carla.id, _) = $0.event { true } else { false } })
        #expect(await w.assignee(t3) == s.carla.id)
        #expect(await w.queue(s.technical).isEmpty)
        #expect(try await w.header(t3).assignedToContactID == s.carla.id)
        #expect(w.engine.inbox.page(unassigned, limit: 10, cursor: nil).threadIDs.isEmpty)

        // Carla 1/2 takes the next; then everyone with the skill is full.
        let t4 = try await s.storing(4)
        #expect(await w.assignee(t4) == s.carla.id)
        let t5 = try await s.storing(5)
        let t6 = try await s.storing(6)
        #expect(await w.assignee(t5) == nil)
        #expect(await w.assignee(t6) == nil)
        #expect(await w.queue(s.technical) == [t5, t6])
        checkAssignmentInvariant(await w.sup.state)

        // Resolving frees Anna's capacity: the oldest queued thread flows to her.
        try await w.set(t1, .resolved)
        #expect(await w.assignee(t5) == s.anna.id)
        #expect(await w.queue(s.technical) == [t6])
        #expect(await w.load(s.anna) == 2)

        // Raising Carla's capacity lets the last one flow to her.
        var carla = s.carla
        carla.maxOpenThreads = 3
        carla.presence = .online
        _ = try await w.sup.upsertContact(carla)
        #expect(await w.assignee(t6) == s.carla.id)
        #expect(await w.queue(s.technical).isEmpty)
        checkAssignmentInvariant(await w.sup.state)

        // The agent actors counted what they were given.
        #expect(await w.sup.agentState(s.anna.id)?.assignedTotal == 3)
        #expect(await w.sup.agentState(s.carla.id)?.assignedTotal == 3)
        #expect(await w.sup.agentState(s.bob.id)?.assignedTotal == 0)
    }

    @Test("away counts as not available; waiting_customer still counts as open load")
    func awayAndLoad() async throws {
        let s = try await Setup()
        let w = s.w
        _ = try await w.presence(s.dave, .away)
        let q1 = try await w.ingest(s.mail, subject: "Vraag 1").threadID
        #expect(await w.assignee(q1) == nil)
        #expect(await w.queue(s.support) == [q1])
        _ = try await w.presence(s.dave, .online)
        #expect(await w.assignee(q1) == s.dave.id)
        try await w.set(q1, .waitingCustomer)
        #expect(await w.load(s.dave) == 1)
        try await w.set(q1, .closed)
        #expect(await w.load(s.dave) == 0)
    }

    @Test("ties between equally loaded people go round-robin")
    func roundRobin() async throws {
        let w = World()
        let team = await w.team("support")
        let a = try await w.agent("A", [team]), b = try await w.agent("B", [team]), c = try await w.agent("C", [team])
        try await w.rules(AutoAssignmentRules(defaultAssignee: team.id.description))  // by id works as well as by name
        let mail = await w.channel()
        var got: [ContactID?] = []
        for i in 0..<6 { got.append(await w.assignee(try await w.ingest(mail, subject: "Vraag \(i)").threadID)) }
        #expect(got == [a.id, b.id, c.id, a.id, b.id, c.id])
        // Least loaded beats the round-robin turn.
        try await w.set(try #require(await w.sup.state.board.agents[c.id]?.open.first), .resolved)
        let next = try await w.ingest(mail, subject: "Vraag 7").threadID
        #expect(await w.assignee(next) == c.id)
    }

    @Test("going offline hands threads to colleagues, or to the queue when nobody is left, per team setting")
    func offlineHandOver() async throws {
        let w = World()
        let handOver = await w.team("handover", handOver: true)
        let keep = await w.team("keep", handOver: false)
        let x = try await w.agent("X", [handOver]), y = try await w.agent("Y", [handOver])
        let p = try await w.agent("P", [keep]), q = try await w.agent("Q", [keep])
        let hoMail = await w.channel(.emailOutlook, brand: .chargecars, rules: AutoAssignmentRules(defaultAssignee: "handover"))
        let keepMail = await w.channel(.emailOutlook, brand: .laderthuis, rules: AutoAssignmentRules(defaultAssignee: "keep"))
        var ho: [ThreadID] = [], kp: [ThreadID] = []
        for i in 0..<4 {
            ho.append(try await w.ingest(hoMail, subject: "h\(i)").threadID)
            kp.append(try await w.ingest(keepMail, subject: "k\(i)").threadID)
        }
        #expect(await w.loads(x, y, p, q) == [2, 2, 2, 2])
        let xThreads = await w.sup.state.board.agents[x.id]!.open

        // X goes offline: both of X's threads go to Y, in one rebalance event.
        let events = try await w.presence(x, .offline)
        let rebalances = events.filter { $0.event.name == "thread.rebalanced" }
        #expect(rebalances.count == 1)
        if case .threadsRebalanced(let moves, let reason)? = rebalances.first?.event {
            #expect(Set(moves.map(\.thread)) == xThreads)
            #expect(moves.allSatisfy { $0.from == x.id && $0.to == y.id })
            #expect(reason.contains("offline"))
        }
        #expect(await w.loads(x, y) == [0, 4])
        for t in xThreads { #expect(try await w.header(t).assignedToContactID == y.id) }
        checkAssignmentInvariant(await w.sup.state)

        // Y goes offline too: nobody is left, so the threads wait in the team queue.
        _ = try await w.presence(y, .offline)
        #expect(await w.load(y) == 0)
        #expect(Set(await w.queue(handOver)) == Set(ho))
        for t in ho { #expect(await w.assignee(t) == nil) }
        checkAssignmentInvariant(await w.sup.state)
        // X returns and takes them all.
        _ = try await w.presence(x, .online)
        #expect(await w.load(x) == 4)
        #expect(await w.queue(handOver).isEmpty)

        // In the "keep" team, P keeps their threads while offline.
        let pThreads = await w.sup.state.board.agents[p.id]!.open
        let keepEvents = try await w.presence(p, .offline)
        #expect(keepEvents.count(named: "thread.rebalanced") == 0)
        #expect(await w.sup.state.board.agents[p.id]!.open == pThreads)
        #expect(await w.load(q) == 2)
        // ... but a new thread goes to Q, who is online.
        let fresh = try await w.ingest(keepMail, subject: "k-new").threadID
        #expect(await w.assignee(fresh) == q.id)
        checkAssignmentInvariant(await w.sup.state)
    }

    @Test("manual assignment, un-assignment and team change through updateThread")
    func manual() async throws {
        let w = World()
        let one = await w.team("one"), two = await w.team("two")
        let a = try await w.agent("A", [one]), b = try await w.agent("B", [two])
        try await w.rules(AutoAssignmentRules(defaultAssignee: "one"))
        let mail = await w.channel()
        let t = try await w.ingest(mail).threadID
        #expect(await w.assignee(t) == a.id)
        _ = try await w.sup.updateThread(t, change: ThreadChange(), assignTo: .some(b.id), team: two.id)
        #expect(await w.assignee(t) == b.id)
        #expect(try await w.header(t).assignedTeamID == two.id)
        #expect(await w.loads(a, b) == [0, 1])
        checkAssignmentInvariant(await w.sup.state)
        await #expect(throws: EngineError.self) {
            try await w.sup.updateThread(t, change: ThreadChange(), assignTo: .some(ContactID()), team: nil)
        }
        // Un-assign: the thread waits in its team's queue, with nobody holding it.
        let events = try await w.sup.updateThread(t, change: ThreadChange(), assignTo: .some(nil), team: nil)
        #expect(events.count(named: "thread.assigned") == 1)
        #expect(await w.assignee(t) == nil)
        #expect(await w.queue(two) == [t])
        #expect(await w.load(b) == 0)
        checkAssignmentInvariant(await w.sup.state)
        // Reassigning by hand takes it out of the queue again.
        _ = try await w.sup.updateThread(t, change: ThreadChange(), assignTo: .some(b.id), team: nil)
        #expect(await w.queue(two).isEmpty)
        #expect(await w.assignee(t) == b.id)
        checkAssignmentInvariant(await w.sup.state)
    }
}
