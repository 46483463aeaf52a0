import CommHubDomain
@testable import CommHubEngine
import CommHubStore
import Foundation
import Logging
import Testing

/// The escalation ladder on a simulated clock, against real LMDB files:
/// each step at its moment, each exactly once, across restarts in the
/// middle of the ladder (journal-only and from a snapshot).
@Suite("SLA escalation ladder", .timeLimit(.minutes(2)))
struct LadderTests {
    /// Monday 30 November 2026, 09:00 in Amsterdam (08:00Z): an ordinary working day.
    static let monday = amsterdam(2026, 11, 30, 9)

    /// One data directory; `open` starts an engine on it at a given time (a restart is a new `open`).
    struct Site {
        let directory: String
        init() throws {
            directory = NSTemporaryDirectory() + "commhub-ladder-" + UUID().uuidString.lowercased()
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }

        func open(at start: Date) throws -> (DurableEngine, SimulatedClock) {
            let clock = SimulatedClock(start: start)
            var options = JournalOptions(syncMode: .noSync, mapSize: 64 << 20)
            options.maxBatchEvents = 1024
            return (try DurableEngine(directory: directory, clock: clock, options: options, logger: logger()), clock)
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// People and a mail channel routed to the support team (4 business hours).
    struct Company {
        var team = Team(name: "support")
        var agent: Contact
        var leader: Contact
        var manager: Contact
        var executive: Contact
        var channel: Channel

        init(escalationTo: String? = nil, escalationAfterHours: Double? = nil) {
            agent = Contact(name: "Anna", email: "anna@chargecars.nl", role: .agent, teams: [team.id], presence: .online)
            leader = Contact(name: "Lars", email: "lars@chargecars.nl", role: .teamLeader, teams: [team.id], presence: .online)
            manager = Contact(name: "Mia", email: "mia@chargecars.nl", role: .manager, teams: [team.id], presence: .offline)
            executive = Contact(name: "Eva", email: "eva@chargecars.nl", role: .executive, presence: .offline)
            team.leaderID = leader.id
            channel = Channel(channelType: .emailOutlook, channelName: "support mail", businessEntity: .chargecars,
                              autoAssignmentRules: AutoAssignmentRules(defaultAssignee: "support", escalationAfterHours: escalationAfterHours,
                                                                       escalationTo: escalationTo))
        }

        func install(_ s: Supervisor) async throws {
            _ = try await s.upsertTeam(team)
            for c in [agent, leader, manager, executive] { _ = try await s.upsertContact(c) }
            _ = try await s.upsertChannel(channel)
        }

        /// A customer's mail in one Outlook conversation (so later mails join the thread).
        func write(_ s: Supervisor, at: Date, text: String = "Mijn laadpaal doet het niet") async throws -> ThreadID {
            try await s.ingest(InboundMessage(channelID: channel.id, externalMessageID: UUID().uuidString,
                                              threadReference: ExternalReference(.outlookConversation, "conv-1"),
                                              senderExternal: ExternalParty(name: "Klant", email: "klant@example.nl"),
                                              subject: "Laadpaal", messageContent: text, receivedAt: at)).threadID
        }
    }

    /// The ladder notices in the thread's timeline, by step, in order.
    static func notices(_ engine: Engine, _ t: ThreadID) async throws -> [String] {
        // Bodies are readable once the journal wrote them: wait for what was committed so far.
        try await engine.journal.waitDurable(engine.journal.lastAssignedSeq)
        let view = try #require(await engine.supervisor.thread(t))
        return try view.messages.filter { $0.messageType == .systemNotification }.compactMap {
            try engine.bodies.body(for: $0.id)?.metadata["step"]?.stringValue
        }
    }

    @Test("75%, 90%, the deadline and 24 hours overdue fire once each, across two restarts")
    func fullLadderAcrossRestarts() async throws {
        let site = try Site()
        defer { site.remove() }
        let company = Company()
        var (durable, clock) = try site.open(at: Self.monday)
        var s = durable.engine.supervisor
        try await company.install(s)
        let thread = try await company.write(s, at: clock.now())
        let due = try #require(await s.thread(thread)?.header.responseDueAt)
        #expect(due == amsterdam(2026, 11, 30, 13), "4 business hours of mail")
        #expect(await s.thread(thread)?.header.priority == .normal)

        // Nothing before 75% (3 of 4 hours).
        clock.advance(by: 3 * 3600 - 60)
        #expect(await s.runDueTimers().slaSteps == 0)
        clock.advance(by: 60)
        #expect(await s.runDueTimers().slaSteps == 1)
        #expect(try await Self.notices(durable.engine, thread) == ["reminder_75"])
        // 90%: 12:36.
        clock.set(amsterdam(2026, 11, 30, 12, 36))
        #expect(await s.runDueTimers().slaSteps == 1)
        #expect(await s.runDueTimers().slaSteps == 0, "a step never fires twice")

        // Stopped before the deadline, without a snapshot: back at 13:30, after it passed.
        await durable.shutdown(snapshot: false)
        (durable, clock) = try site.open(at: amsterdam(2026, 11, 30, 13, 30))
        s = durable.engine.supervisor
        #expect(try await Self.notices(durable.engine, thread) == ["reminder_75", "team_leader_90"],
                "the journal replays the steps that fired")
        let missed = await s.runDueTimers()
        #expect(missed.slaSteps == 1, "the missed deadline fires once at start: \(missed)")
        #expect(await s.runDueTimers().slaSteps == 0)
        let escalated = try #require(await s.thread(thread)).header
        #expect(escalated.status == .escalated)
        #expect(escalated.priority == .high, "one step up")
        #expect(escalated.responseDueAt == amsterdam(2026, 11, 30, 14), "a new 30-minute deadline from the escalation")
        let tasks = await s.tasks(ofThread: thread)
        #expect(tasks.map(\.taskType) == [.escalate])
        #expect(tasks.first?.priority == .high)
        #expect(try await Self.notices(durable.engine, thread)
                == ["reminder_75", "team_leader_90", "manager_escalation"])

        // Stopped again, this time with a snapshot; back a day later: only the executive alert is left.
        await durable.shutdown(snapshot: true)
        (durable, clock) = try site.open(at: amsterdam(2026, 12, 1, 14))
        s = durable.engine.supervisor
        #expect(await s.runDueTimers().slaSteps == 1)
        #expect(await s.runDueTimers().slaSteps == 0)
        clock.advance(by: 7 * 24 * 3600)
        #expect(await s.runDueTimers().slaSteps == 0, "the ladder has no step after the executives")
        #expect(try await Self.notices(durable.engine, thread)
                == ["reminder_75", "team_leader_90", "manager_escalation", "executive_24h"])
        #expect(await s.tasks(ofThread: thread).count == 1, "one escalate task")
        // Once more from the journal and the snapshot: still each step once, and nothing left to fire.
        await durable.shutdown(snapshot: false)
        (durable, clock) = try site.open(at: amsterdam(2026, 12, 9, 9))
        s = durable.engine.supervisor
        #expect(await s.runDueTimers().slaSteps == 0)
        #expect(try await Self.notices(durable.engine, thread).count == 4)
        await durable.shutdown(snapshot: false)
    }

    @Test("steps go to the assignee, the team leader, the managers and the executives")
    func recipients() async throws {
        let site = try Site()
        defer { site.remove() }
        let company = Company()
        let (durable, clock) = try site.open(at: Self.monday)
        let s = durable.engine.supervisor
        let tap = durable.engine.bus.subscribe(capacity: 1 << 12)
        try await company.install(s)
        let thread = try await company.write(s, at: clock.now())
        let assignee = await s.state.board.assignee[thread]
        #expect(assignee == company.agent.id || assignee == company.leader.id)
        clock.advance(by: 30 * 3600)
        let run = await s.runDueTimers()
        #expect(run.slaSteps == 4, "all four steps were due: \(run)")
        var fired: [SLAStep: [ContactID]] = [:]
        // The bus delivers after the commit: read until the four steps arrived (the suite's time limit bounds it).
        while fired.count < 4 {
            guard case .event(let e)? = await tap.next() else { Issue.record("the tap overflowed"); break }
            if case .slaStepFired(let t, let step, _, let to, _) = e.event, t == thread { fired[step] = to }
        }
        #expect(fired[.reminder75] == [try #require(assignee)])
        #expect(fired[.teamLeader90] == [company.leader.id])
        #expect(fired[.managerEscalation]?.contains(company.manager.id) == true)
        #expect(fired[.executive24h] == [company.executive.id])
        await durable.shutdown(snapshot: false)
    }

    @Test("waiting_customer pauses the clock; the customer's answer resumes it with the time it had left")
    func pauseAndResume() async throws {
        let site = try Site()
        defer { site.remove() }
        let company = Company()
        let (durable, clock) = try site.open(at: Self.monday)
        let s = durable.engine.supervisor
        try await company.install(s)
        let thread = try await company.write(s, at: clock.now())
        clock.advance(by: 3600)  // 10:00: 1 of 4 hours used
        _ = try await s.updateThread(thread, change: ThreadChange(status: .waitingCustomer), assignTo: nil, team: nil)
        #expect(await s.thread(thread)?.header.responseDueAt == nil, "nothing is due while we wait for the customer")
        clock.advance(by: 2 * 24 * 3600)  // Wednesday 10:00
        #expect(await s.runDueTimers().slaSteps == 0, "no ladder while paused")
        _ = try await company.write(s, at: clock.now(), text: "Hier is de foto")
        let header = try #require(await s.thread(thread)).header
        #expect(header.status == .open)
        #expect(header.responseDueAt == amsterdam(2026, 12, 2, 13), "3 hours left, from Wednesday 10:00")
        await durable.shutdown(snapshot: false)
    }

    @Test("an answer stops the clock: no step after it, and the next customer message starts a new wait")
    func answerStopsTheClock() async throws {
        let site = try Site()
        defer { site.remove() }
        let company = Company()
        let (durable, clock) = try site.open(at: Self.monday)
        let s = durable.engine.supervisor
        try await company.install(s)
        let thread = try await company.write(s, at: clock.now())
        clock.advance(by: 3600)
        _ = try await s.addMessage(MessageHeader(threadID: thread, channelID: company.channel.id, channelType: .emailOutlook,
                                                 messageType: .outgoing, senderContactID: company.agent.id,
                                                 deliveryStatus: .pending, createdAt: clock.now()),
                                   body: MessageBody(messageContent: "We kijken ernaar"))
        #expect(await s.thread(thread)?.header.responseDueAt == nil)
        clock.advance(by: 8 * 3600)
        #expect(await s.runDueTimers().slaSteps == 0)
        _ = try await company.write(s, at: clock.now(), text: "En?")  // 18:00 Monday: due Tuesday 12:30
        #expect(await s.thread(thread)?.header.responseDueAt == amsterdam(2026, 12, 1, 12, 30))
        clock.set(amsterdam(2026, 12, 1, 11, 30))
        #expect(await s.runDueTimers().slaSteps == 1, "the new wait's 75% reminder")
        await durable.shutdown(snapshot: false)
    }

    @Test("escalation_after_hours and escalation_to: the rule escalates early and reassigns to the named team")
    func escalationRule() async throws {
        let site = try Site()
        defer { site.remove() }
        var company = Company(escalationTo: "second line", escalationAfterHours: 2)
        let second = Team(name: "second line")
        let expert = Contact(name: "Sven", email: "sven@chargecars.nl", role: .agent, teams: [second.id], presence: .online)
        company.channel.responseSlaHours = 8
        let (durable, clock) = try site.open(at: Self.monday)
        let s = durable.engine.supervisor
        try await company.install(s)
        _ = try await s.upsertTeam(second)
        _ = try await s.upsertContact(expert)
        let thread = try await company.write(s, at: clock.now())
        clock.advance(by: 2 * 3600)
        _ = await s.runDueTimers()
        let h = try #require(await s.thread(thread)).header
        #expect(h.status == .escalated, "escalated after 2 business hours, before the 8-hour deadline")
        #expect(await s.state.board.team[thread] == second.id)
        #expect(await s.state.board.assignee[thread] == expert.id)
        await durable.shutdown(snapshot: false)
    }

    @Test("escalation_to a role (the owner's support_manager): the escalation goes to a person with it")
    func escalationToRole() async throws {
        let site = try Site()
        defer { site.remove() }
        let company = Company(escalationTo: "support_manager")
        let (durable, clock) = try site.open(at: Self.monday)
        let s = durable.engine.supervisor
        try await company.install(s)
        let thread = try await company.write(s, at: clock.now())
        clock.set(amsterdam(2026, 11, 30, 13))
        _ = await s.runDueTimers()
        #expect(await s.thread(thread)?.header.status == .escalated)
        #expect(await s.state.board.assignee[thread] == company.manager.id)
        let task = try #require(await s.tasks(ofThread: thread).first)
        #expect(task.taskType == .escalate && task.assignedToContactID == company.manager.id)
        await durable.shutdown(snapshot: false)
    }
}
