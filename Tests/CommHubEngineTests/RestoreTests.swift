import CommHubDomain
@testable import CommHubEngine
import Foundation
import Logging
import Testing

/// Live engine state gathered through the supervisor.
struct LiveImage {
    var state: EngineState
    var threads: [ThreadID: ThreadState]
    var agents: [ContactID: AgentState]

    init(_ sup: Supervisor) async {
        let src = await sup.snapshotSources()
        state = src.state
        var threads: [ThreadID: ThreadState] = [:]
        for t in src.threads { let s = await t.state; threads[s.id] = s }
        for s in src.dormant { threads[s.id] = s }
        self.threads = threads
        var agents: [ContactID: AgentState] = [:]
        for a in src.agents { let s = await a.state; agents[s.contact.id] = s }
        self.agents = agents
    }
}

/// Compares what restore rebuilt with the live engine: thread states,
/// assignment board, directory tables and the people's counters.
func expectEquivalent(_ live: LiveImage, _ r: RestoredEngine, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.threads.count == live.threads.count, sourceLocation: sourceLocation)
    for (id, t) in live.threads {
        #expect(r.threads[id] == t, "thread \(t.header.threadSubject)", sourceLocation: sourceLocation)
    }
    let lb = live.state.board, rb = r.state.board
    #expect(rb.assignee == lb.assignee, "assignments", sourceLocation: sourceLocation)
    #expect(rb.team == lb.team, "thread teams", sourceLocation: sourceLocation)
    #expect(rb.openThreads == lb.openThreads, "open threads", sourceLocation: sourceLocation)
    #expect(rb.needs == lb.needs, "thread needs", sourceLocation: sourceLocation)
    #expect(rb.agents == lb.agents, "agent slots (presence, skills, capacity, open sets)", sourceLocation: sourceLocation)
    #expect(Set(rb.teams.keys) == Set(lb.teams.keys), sourceLocation: sourceLocation)
    for (id, slot) in lb.teams {
        #expect(rb.teams[id].map { Array($0.queue) } == Array(slot.queue), "queue of \(slot.team.name)", sourceLocation: sourceLocation)
        #expect(rb.teams[id]?.members == slot.members, "members of \(slot.team.name)", sourceLocation: sourceLocation)
        #expect(rb.teams[id]?.team == slot.team, sourceLocation: sourceLocation)
        #expect(rb.teams[id]?.lastPicked == slot.lastPicked, "round-robin position of \(slot.team.name)", sourceLocation: sourceLocation)
    }
    #expect(r.state.external == live.state.external, "idempotency table", sourceLocation: sourceLocation)
    #expect(r.state.outbox == live.state.outbox, "outbox entries (stage, claim, error)", sourceLocation: sourceLocation)
    #expect(r.state.outboxWaiting == live.state.outboxWaiting, "outbox retries", sourceLocation: sourceLocation)
    #expect(r.state.outboxClaimed == live.state.outboxClaimed, "outbox claims", sourceLocation: sourceLocation)
    func queued(_ s: EngineState) -> [ChannelID: [MessageID]] {
        s.outboxReady.mapValues { $0.filter { s.outbox[$0]?.stage == .queued } }.filter { !$0.value.isEmpty }
    }
    #expect(queued(r.state) == queued(live.state), "outbox queues in order", sourceLocation: sourceLocation)
    #expect(r.state.messageThread == live.state.messageThread, sourceLocation: sourceLocation)
    #expect(r.state.channels == live.state.channels, sourceLocation: sourceLocation)
    #expect(r.state.teams == live.state.teams, sourceLocation: sourceLocation)
    #expect(r.state.contacts == live.state.contacts, sourceLocation: sourceLocation)
    #expect(r.state.rules == live.state.rules, sourceLocation: sourceLocation)
    #expect(r.state.tasks == live.state.tasks, sourceLocation: sourceLocation)
    #expect(r.state.templates == live.state.templates, sourceLocation: sourceLocation)
    #expect(r.state.index.customers == live.state.index.customers, sourceLocation: sourceLocation)
    #expect(r.state.index.orders == live.state.index.orders, sourceLocation: sourceLocation)
    #expect(r.agents.count == live.agents.count, sourceLocation: sourceLocation)
    for (id, a) in live.agents {
        let b = r.agents[id]
        #expect(b?.contact == a.contact, "contact of \(a.contact.name)", sourceLocation: sourceLocation)
        #expect(b?.assignedTotal == a.assignedTotal, "assignedTotal of \(a.contact.name)", sourceLocation: sourceLocation)
        #expect(b?.movedAway == a.movedAway, "movedAway of \(a.contact.name)", sourceLocation: sourceLocation)
        #expect(b?.messagesSent == a.messagesSent, "messagesSent of \(a.contact.name)", sourceLocation: sourceLocation)
    }
}

/// A scenario that produces every kind of event the engine makes:
/// directory, routing, matching by every rule, queueing, presence changes
/// with hand-over, resolve and reopen, answers, delivery updates,
/// escalation, rebalances, tasks and templates.
struct Scenario {
    let w: World
    var support = Team(name: "s"), technical = Team(name: "t")
    var a = Contact(name: "a"), b = Contact(name: "b"), c = Contact(name: "c"), d = Contact(name: "d")
    var mail = Channel(channelType: .emailOutlook, channelName: "m"), whatsapp = Channel(channelType: .whatsappBusiness, channelName: "w")
    var threads: [ThreadID] = []

    init(_ w: World) { self.w = w }

    mutating func firstHalf() async throws {
        support = await w.team("support", handOver: true)
        technical = await w.team("technical", handOver: false)
        a = try await w.agent("A", [support], max: 6)
        b = try await w.agent("B", [support], max: 6)
        c = try await w.agent("C", [technical, support], skills: ["ev"], max: 3)
        d = try await w.agent("D", [technical], skills: ["ev"], max: 3, presence: .offline)
        try await w.rules(AutoAssignmentRules(
            defaultAssignee: "support",
            keywordRules: [KeywordRule(keywords: ["werkt niet", "storing"], threadType: .technicalIssue, priority: .high)],
            byThreadType: ["technical_issue": TypeRoute(defaultAssignee: "technical", requiredSkills: ["ev"])]))
        mail = await w.channel(.emailOutlook)
        whatsapp = await w.channel(.whatsappBusiness)
        let org = Organization(name: "Fleet BV", kind: .customer)
        _ = try await w.sup.upsertOrganization(org)
        let jan = Customer(name: "Jan", emails: [EmailAddress("jan@example.nl")!], phones: [PhoneNumber("0612345678")!], organizationID: org.id)
        _ = try await w.sup.upsertCustomer(jan)
        _ = try await w.sup.upsertOrder(Order(orderNumber: "55555", customerID: jan.id, organizationID: org.id, brand: .chargecars))

        let conv = ExternalReference(.outlookConversation, "conv-A")
        threads.append(try await w.ingest(mail, ref: conv, messageID: "<a1@x>", from: ExternalParty(email: "jan@example.nl"), subject: "Offerte").threadID)
        w.clock.advance(by: 300)
        try await w.ingest(whatsapp, ref: .whatsapp(business: "1099", customer: "31612345678"),
                           from: ExternalParty(waID: "31612345678"), body: "Nog nieuws?")           // customer rule, adds the chat
        try await w.ingest(mail, inReplyTo: ["<a1@x>"], body: "aanvulling")                           // reference rule
        threads.append(try await w.ingest(mail, from: ExternalParty(email: "p@partner.nl"), body: "Bestelling 55555").threadID)
        for i in 0..<5 {
            threads.append(try await w.ingest(mail, from: ExternalParty(email: "tech\(i)@example.nl"), subject: "Storing \(i)",
                                              body: "De paal werkt niet").threadID)
            w.clock.advance(by: 60)
        }
        for i in 0..<6 {
            threads.append(try await w.ingest(whatsapp, ref: .whatsapp(business: "1099", customer: "3161000000\(i)"),
                                              from: ExternalParty(waID: "3161000000\(i)"), body: "Vraag \(i)").threadID)
        }
        _ = try await w.presence(d, .online)                         // technical queue drains to D
        try await w.set(threads[0], .resolved)
        w.clock.advance(by: 3600)
        try await w.ingest(mail, ref: conv, body: "Toch nog een vraag")  // reopens threads[0]
        let out = try await w.sup.addMessage(
            MessageHeader(threadID: threads[1], channelID: mail.id, channelType: .emailOutlook, messageType: .outgoing,
                          senderContactID: a.id, subject: "RE", externalMessageID: "graph-out-1", deliveryStatus: .pending,
                          createdAt: w.clock.now()),
            body: MessageBody(messageContent: "We plannen u in"), statusAfter: .waitingCustomer)
        if case .messageAdded(let h, _, _)? = out.first?.event {
            _ = try await w.sup.setDelivery(message: h.id, status: .delivered, at: w.clock.now())
        }
        _ = try await w.sup.updateDelivery(channel: mail.id, externalMessageID: "graph-out-1", status: .read, at: w.clock.now())
    }

    mutating func secondHalf() async throws {
        w.clock.advance(by: 1800)
        _ = try await w.presence(a, .offline)                         // support hands A's threads over
        for i in 0..<4 {
            threads.append(try await w.ingest(mail, from: ExternalParty(email: "late\(i)@example.nl"), subject: "Later \(i)").threadID)
        }
        _ = try await w.presence(a, .online)
        _ = try await w.sup.rebalance(team: support.id)
        _ = try await w.sup.rebalance(agent: c.id)
        _ = try await w.sup.updateThread(threads[3], change: ThreadChange(priority: .critical, tags: ["vip"]), assignTo: nil, team: nil)
        _ = try await w.sup.updateThread(threads[4], change: ThreadChange(status: .escalated), assignTo: nil, team: nil)
        _ = try await w.sup.updateThread(threads[5], change: ThreadChange(), assignTo: .some(b.id), team: support.id)
        try await w.set(threads[6], .closed)
        _ = try await w.sup.upsertTask(InternalTask(taskTitle: "Terugbellen", taskType: .callback, assignedToContactID: b.id,
                                                    threadID: threads[3], dueDate: "2026-11-26", createdAt: w.clock.now()))
        _ = try await w.sup.upsertTemplate(Template(templateName: "Bevestiging", templateCategory: .followUp, channelType: .any,
                                                messageTemplate: "Beste {{naam}}"))
        var bigger = b
        bigger.maxOpenThreads = 20
        _ = try await w.sup.upsertContact(bigger)
        // The outbox: one sent, one waiting for a retry, one failed, one unknown after its lease, one queued.
        var pending: [MessageID] = []
        for i in 0..<5 {
            let added = try await w.sup.addMessage(
                MessageHeader(threadID: threads[7 + i], channelID: whatsapp.id, channelType: .whatsappBusiness,
                              messageType: .outgoing, senderContactID: b.id, deliveryStatus: .pending, createdAt: w.clock.now()),
                body: MessageBody(messageContent: "Antwoord \(i)"))
            if case .messageAdded(let h, _, _)? = added.first?.event { pending.append(h.id) }
        }
        let claims = try await w.sup.claimOutgoing(channels: [whatsapp.id], gateway: "gw-1", max: 4, lease: .seconds(60))
        #expect(claims.map(\.message.id) == Array(pending.prefix(4)))
        _ = try await w.sup.reportOutgoing(message: pending[0], gateway: "gw-1", attempt: 1, report: .sent(providerMessageID: "wamid.out-0"))
        _ = try await w.sup.reportOutgoing(message: pending[1], gateway: "gw-1", attempt: 1,
                                           report: .retryAfter(until: w.clock.now().addingTimeInterval(30), code: "130429", reason: "rate limit"))
        _ = try await w.sup.reportOutgoing(message: pending[2], gateway: "gw-1", attempt: 1, report: .failed(code: "131047", reason: "re-engagement"))
        w.clock.advance(by: 61)
        #expect(await w.sup.expireLeases() == 1)                      // pending[3]
        let dup = try await w.ingest(mail, from: ExternalParty(email: "late0@example.nl"), externalID: "dup-1")
        let again = try await w.ingest(mail, from: ExternalParty(email: "late0@example.nl"), externalID: "dup-1")
        #expect(again.duplicate && again.messageID == dup.messageID)
    }
}

func logger() -> Logger { Logger(label: "commhub.test") }

@Suite("Restore: replaying the journal rebuilds the same engine")
struct RestoreTests {
    @Test("full replay of every committed event into a fresh RestoredEngine")
    func fullReplay() async throws {
        let w = World()
        var s = Scenario(w)
        try await s.firstHalf()
        try await s.secondHalf()
        let events = await w.events()
        #expect(events.map(\.seq) == Array(1...UInt64(events.count)))
        let kinds = Set(events.map(\.event.name))
        for name in ["thread.opened", "thread.updated", "thread.reference", "message.created", "message.updated",
                     "thread.assigned", "thread.rebalanced", "contact.presence", "task.upserted", "template.upserted"] {
            #expect(kinds.contains(name), "the scenario produces \(name)")
        }
        let live = await LiveImage(w.sup)
        checkAssignmentInvariant(live.state)
        // Queueing happened somewhere in the scenario.
        #expect(events.contains { if case .threadAssigned(_, _, nil, _) = $0.event { true } else { false } })

        var r = RestoredEngine()
        for e in events { r.replay(e) }
        #expect(r.lastSeq == UInt64(events.count))
        expectEquivalent(live, r)
        checkAssignmentInvariant(r.state)

        // Replaying the same events again changes nothing (each entity skips what it has seen).
        let before = r
        for e in events { r.replay(e) }
        #expect(r.threads == before.threads)
        #expect(r.state.board.assignee == before.state.board.assignee)
        #expect(r.agents == before.agents)

        // An Engine built on the restored state seeds its inbox with the same answers.
        let relay = CommitRelay()
        let engine = Engine(restored: r, journal: MemoryJournal(startSeq: r.lastSeq, onCommit: relay.deliver), relay: relay,
                            bodies: MemoryBodies(), clock: w.clock, configuration: w.engine.configuration, logger: logger())
        var filters: [InboxFilter] = [InboxFilter(), InboxFilter(statuses: []), InboxFilter(statuses: [.resolved, .closed])]
        for person in [s.a, s.b, s.c, s.d] {
            var f = InboxFilter()
            f.assignee = person.id
            filters.append(f)
        }
        var f = InboxFilter()
        f.unassignedOnly = true
        filters.append(f)
        f = InboxFilter()
        f.teams = [s.technical.id]
        filters.append(f)
        f = InboxFilter()
        f.overdueAt = w.clock.now().addingTimeInterval(4 * 3600)
        filters.append(f)
        f = InboxFilter()
        f.priorities = [.high, .critical]
        filters.append(f)
        for f in filters {
            let a = w.engine.inbox.page(f, limit: 500, cursor: nil).threadIDs
            let b = engine.inbox.page(f, limit: 500, cursor: nil).threadIDs
            #expect(Set(a) == Set(b), "\(f)")
            #expect(a.count == b.count)
        }
        #expect(engine.inbox.count == w.engine.inbox.count)
        #expect(engine.inbox.countsByStatus() == w.engine.inbox.countsByStatus())

        // The restored engine carries on exactly like the live one.
        let restored = engine.supervisor
        let next = InboundMessage(channelID: s.mail.id, externalMessageID: "after-restore", senderExternal: ExternalParty(email: "n@x.nl"),
                                  subject: "Storing na herstel", messageContent: "werkt niet", receivedAt: w.clock.now())
        let liveResult = try await w.sup.ingest(next)
        let restoredResult = try await restored.ingest(next)
        #expect(liveResult.rule == restoredResult.rule)
        #expect(await w.sup.state.board.assignee[liveResult.threadID] == restored.state.board.assignee[restoredResult.threadID])
        #expect(liveResult.seq == restoredResult.seq)
        // An old provider id is still recognised after restore.
        let old = InboundMessage(channelID: s.mail.id, externalMessageID: "dup-1", senderExternal: ExternalParty(email: "late0@example.nl"),
                                 messageContent: "Hallo", receivedAt: w.clock.now())
        let dup = try await restored.ingest(old)
        let liveDup = try await w.sup.ingest(old)
        #expect(dup.duplicate && dup.messageID == liveDup.messageID && dup.seq == liveDup.seq)
    }

    @Test("snapshot mid-scenario (SupervisorImage + EngineState.rebuilt) plus replay of the rest")
    func snapshotPlusReplay() async throws {
        let w = World()
        var s = Scenario(w)
        try await s.firstHalf()

        // A snapshot as DurableEngine takes it, through the same Codable encoding.
        let startSeq = w.engine.journal.lastAssignedSeq
        let src = await w.sup.snapshotSources()
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        let imageData = try encoder.encode(SupervisorImage(state: src.state, startSeq: startSeq, watermark: src.watermark))
        var threadData: [Data] = []
        for t in src.threads { threadData.append(try encoder.encode(await t.state)) }
        for d in src.dormant { threadData.append(try encoder.encode(d)) }
        var agentData: [Data] = []
        for a in src.agents { agentData.append(try encoder.encode(await a.state)) }

        try await s.secondHalf()
        let events = await w.events()
        let live = await LiveImage(w.sup)

        let image = try decoder.decode(SupervisorImage.self, from: imageData)
        #expect(image.watermark <= startSeq)
        var threads: [ThreadID: ThreadState] = [:]
        for d in threadData { let t = try decoder.decode(ThreadState.self, from: d); threads[t.id] = t }
        var agents: [ContactID: AgentState] = [:]
        for d in agentData { let a = try decoder.decode(AgentState.self, from: d); agents[a.contact.id] = a }
        var r = RestoredEngine()
        r.state = EngineState.rebuilt(from: image, threads: threads)
        r.threads = threads
        r.agents = agents
        r.supervisorWatermark = image.watermark
        r.lastSeq = max(image.watermark, threads.values.map(\.lastSeq).max() ?? 0)
        let rest = events.filter { $0.seq > startSeq }
        #expect(!rest.isEmpty && rest.count < events.count)
        for e in rest { r.replay(e) }
        expectEquivalent(live, r)
        checkAssignmentInvariant(r.state)
    }

    @Test("a snapshot of the final state alone, with nothing to replay, is the same engine")
    func snapshotOnly() async throws {
        let w = World()
        var s = Scenario(w)
        try await s.firstHalf()
        try await s.secondHalf()
        let live = await LiveImage(w.sup)
        let image = SupervisorImage(state: live.state, startSeq: w.engine.journal.lastAssignedSeq, watermark: w.engine.journal.lastAssignedSeq)
        // Through the snapshot's own encodings, so the restored half is a decoded copy, not the live value.
        let encoder = JSONEncoder(), decoder = JSONDecoder()
        encoder.dateEncodingStrategy = .deferredToDate
        decoder.dateDecodingStrategy = .deferredToDate
        let decodedImage = try decoder.decode(SupervisorImage.self, from: try encoder.encode(image))
        var threads: [ThreadID: ThreadState] = [:]
        for t in live.threads.values {
            let record = try t.compactRecord(kind: DurableEngine.RecordKind.compactThread.rawValue)
            let back = try ThreadState.readCompact(Array(record.dropFirst()))
            threads[back.id] = back
        }
        var agents: [ContactID: AgentState] = [:]
        for a in live.agents.values {
            let back = try decoder.decode(AgentState.self, from: try encoder.encode(a))
            agents[back.contact.id] = back
        }
        var r = RestoredEngine()
        r.state = EngineState.rebuilt(from: decodedImage, threads: threads)
        r.threads = threads
        r.agents = agents
        r.supervisorWatermark = image.watermark
        r.lastSeq = image.watermark
        expectEquivalent(live, r)
    }
}

@Suite("Concurrent traffic", .timeLimit(.minutes(1)))
struct ConcurrencyTests {
    @Test("concurrent ingests, presence changes and rebalances: invariant holds and live counters equal a replay",
          arguments: 0..<4)
    func concurrentTraffic(round: Int) async throws {
        let w = World()
        let team = await w.team("support", handOver: true)
        var people: [Contact] = []
        for i in 0..<5 { people.append(try await w.agent("P\(i)", [team], max: 40)) }
        try await w.rules(AutoAssignmentRules(defaultAssignee: "support"))
        let mail = await w.channel()
        let crew = people
        try await withThrowingTaskGroup(of: Void.self) { g in
            for i in 0..<160 {
                g.addTask { try await w.ingest(mail, from: ExternalParty(email: "c\(i)@example.nl"), subject: "q\(i)") }
                if i % 8 == 0 {
                    let p = crew[(i / 8) % crew.count]
                    g.addTask { _ = try await w.sup.rebalance(agent: p.id) }
                    g.addTask { _ = try await w.sup.rebalance(team: team.id) }
                }
                if i % 20 == 5 {
                    let p = crew[(i / 20) % crew.count]
                    g.addTask {
                        _ = try await w.sup.setPresence(p.id, .offline)
                        _ = try await w.sup.setPresence(p.id, .online)
                    }
                }
            }
            try await g.waitForAll()
        }
        let live = await LiveImage(w.sup)
        checkAssignmentInvariant(live.state)
        #expect(live.state.board.openThreads.count == 160)
        var r = RestoredEngine()
        for e in await w.events() { r.replay(e) }
        expectEquivalent(live, r)
        for p in people {
            #expect(live.agents[p.id]?.contact.presence == .online)
        }
    }
}
