import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

/// Restores `w`'s engine two ways — a full replay of its journal, and a
/// snapshot taken at `snapshotAt` (as DurableEngine encodes it) plus the
/// events after it — and expects both to equal the live engine, the
/// records of merges, splits, surveys and template uses included.
func expectRestores(_ w: World, events: [SequencedEvent], snapshot: CaseSnapshot? = nil,
                    sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let live = await LiveImage(w.sup)
    var full = RestoredEngine()
    for e in events { full.replay(e) }
    expectEquivalent(live, full, sourceLocation: sourceLocation)
    expectSameCases(live.state, full.state, sourceLocation: sourceLocation)
    checkAssignmentInvariant(full.state, sourceLocation: sourceLocation)
    if let snapshot {
        var r = try snapshot.restored()
        for e in events where e.seq > snapshot.startSeq { r.replay(e) }
        expectEquivalent(live, r, sourceLocation: sourceLocation)
        expectSameCases(live.state, r.state, sourceLocation: sourceLocation)
        checkAssignmentInvariant(r.state, sourceLocation: sourceLocation)
    }
    // The restored inbox answers like the live one.
    let relay = CommitRelay()
    let engine = Engine(restored: full, journal: MemoryJournal(startSeq: full.lastSeq, onCommit: relay.deliver), relay: relay,
                        bodies: MemoryBodies(), clock: w.clock, configuration: w.engine.configuration, logger: logger())
    for f in [InboxFilter(), InboxFilter(statuses: []), InboxFilter(statuses: [.closed])] {
        #expect(Set(engine.inbox.page(f, limit: 500, cursor: nil).threadIDs) == Set(w.engine.inbox.page(f, limit: 500, cursor: nil).threadIDs),
                sourceLocation: sourceLocation)
    }
}

func expectSameCases(_ live: EngineState, _ r: EngineState, sourceLocation: SourceLocation) {
    #expect(r.threadLinks == live.threadLinks, "merge and split links", sourceLocation: sourceLocation)
    #expect(r.csat == live.csat, "satisfaction surveys", sourceLocation: sourceLocation)
    #expect(r.templateUsage == live.templateUsage, "template uses", sourceLocation: sourceLocation)
    #expect(r.templates == live.templates, "templates (usage_count)", sourceLocation: sourceLocation)
    #expect(r.tasks == live.tasks, "tasks", sourceLocation: sourceLocation)
}

/// A snapshot as DurableEngine takes it (supervisor image as JSON, threads in their compact records).
struct CaseSnapshot {
    var startSeq: UInt64
    var image: Data
    var threads: [[UInt8]]
    var agents: [Data]

    static func take(_ w: World) async throws -> CaseSnapshot {
        let src = await w.sup.snapshotSources()
        let encoder = JSONEncoder()
        var threads: [[UInt8]] = []
        for t in src.threads { threads.append(try await t.state.compactRecord(kind: DurableEngine.RecordKind.compactThread.rawValue)) }
        for d in src.dormant { threads.append(try d.compactRecord(kind: DurableEngine.RecordKind.compactThread.rawValue)) }
        var agents: [Data] = []
        for a in src.agents { agents.append(try encoder.encode(await a.state)) }
        let startSeq = w.engine.journal.lastAssignedSeq
        return CaseSnapshot(startSeq: startSeq,
                            image: try encoder.encode(SupervisorImage(state: src.state, startSeq: startSeq, watermark: src.watermark)),
                            threads: threads, agents: agents)
    }

    func restored() throws -> RestoredEngine {
        let decoder = JSONDecoder()
        let image = try decoder.decode(SupervisorImage.self, from: image)
        var ts: [ThreadID: ThreadState] = [:]
        for record in threads { let t = try ThreadState.readCompact(Array(record.dropFirst())); ts[t.id] = t }
        var r = RestoredEngine()
        r.state = EngineState.rebuilt(from: image, threads: ts)
        r.threads = ts
        for d in agents { let a = try decoder.decode(AgentState.self, from: d); r.agents[a.contact.id] = a }
        r.supervisorWatermark = image.watermark
        r.lastSeq = max(image.watermark, ts.values.map(\.lastSeq).max() ?? 0)
        return r
    }
}

@Suite("Merging and splitting threads")
struct MergeSplitTests {
    @Test("merge: timeline, tasks, references and deadlines combine; the merged thread points to its survivor; later chat messages land in the survivor; restore keeps it")
    func merge() async throws {
        let w = World()
        let support = await w.team("support")
        let anna = try await w.agent("Anna", [support])
        try await w.rules(AutoAssignmentRules(defaultAssignee: "support"))
        let mail = await w.channel(.emailOutlook)
        let wa = await w.channel(.whatsappBusiness)
        let chat = ExternalReference.whatsapp(business: "1099", customer: "31611111111")

        let m = try await w.ingest(mail, ref: ExternalReference(.outlookConversation, "conv-1"), messageID: "<m1@klant.nl>",
                                   from: ExternalParty(email: "jan@example.nl"), subject: "Laadpaal defect", body: "Hij doet het niet")
        w.clock.advance(by: 600)
        let first = try await w.ingest(wa, ref: chat, from: ExternalParty(waID: "31611111111"), body: "Zie mijn mail", externalID: "wamid.1")
        #expect(first.threadID != m.threadID)
        let snapshot = try await CaseSnapshot.take(w)
        _ = try await w.sup.updateThread(first.threadID, change: ThreadChange(priority: .urgent, tags: ["vip"]), assignTo: nil, team: nil)
        _ = try await w.sup.upsertTask(InternalTask(taskTitle: "Terugbellen", taskType: .callback, threadID: first.threadID,
                                                    createdAt: w.clock.now()))
        let answer = try await w.sup.addMessage(
            MessageHeader(threadID: first.threadID, channelID: wa.id, channelType: .whatsappBusiness, messageType: .outgoing,
                          senderContactID: anna.id, deliveryStatus: .pending, createdAt: w.clock.now()),
            body: MessageBody(messageContent: "We kijken ernaar"))
        guard case .messageAdded(let pending, _, _)? = answer.first?.event else { Issue.record("no message"); return }
        w.clock.advance(by: 60)
        try await w.ingest(wa, ref: chat, from: ExternalParty(waID: "31611111111"), body: "Nog iets", externalID: "wamid.2")
        let mailBefore = try await w.header(m.threadID)
        let waBefore = try await w.header(first.threadID)

        w.clock.advance(by: 60)
        let change = try await w.sup.mergeThread(first.threadID, into: m.threadID, by: anna.id)
        #expect(change.thread == m.threadID)
        let survivor = try #require(await w.sup.thread(m.threadID))
        let merged = try #require(await w.sup.thread(first.threadID))

        // The timeline: every message of both, in time order, then the notice.
        let kinds = survivor.messages.map { "\($0.messageType.rawValue):\($0.channelType.rawValue)" }
        #expect(kinds == ["incoming:email_outlook", "incoming:whatsapp_business", "outgoing:whatsapp_business",
                          "incoming:whatsapp_business", "system_notification:internal_comment"])
        #expect(survivor.messages.allSatisfy { $0.threadID == m.threadID })
        #expect(survivor.header.messageCount == 5)
        #expect(merged.messages.map(\.messageType) == [.systemNotification])
        #expect(merged.header.status == .closed && merged.header.externalReferences.isEmpty)
        #expect(await w.sup.survivor(of: first.threadID) == m.threadID)
        #expect(await w.sup.survivor(of: m.threadID) == nil)
        // References, links, priority, tags, deadline.
        #expect(survivor.header.externalReferences.contains(chat))
        #expect(survivor.header.priority == .urgent && survivor.header.tags == ["vip"])
        #expect(survivor.header.responseDueAt == [mailBefore.responseDueAt, waBefore.responseDueAt].compactMap { $0 }.min())
        #expect(survivor.header.awaitingResponseSince == mailBefore.awaitingResponseSince)
        // Tasks and the outbox follow the messages.
        #expect(await w.sup.tasks(ofThread: m.threadID).map(\.taskTitle) == ["Terugbellen"])
        #expect(await w.sup.outboxEntry(pending.id)?.thread == m.threadID)
        #expect(await w.sup.threadOf(message: pending.id) == m.threadID)
        // The merged thread's open-thread load went away; the survivor is still Anna's.
        #expect(await w.assignee(m.threadID) == anna.id)
        #expect(await w.load(anna) == 1)

        // The chat's next message lands in the survivor; a gateway's repeat of an old one is a duplicate there.
        let later = try await w.ingest(wa, ref: chat, from: ExternalParty(waID: "31611111111"), body: "Hallo?", externalID: "wamid.3")
        #expect(later.threadID == m.threadID && later.rule == .externalReference)
        let repeated = try await w.ingest(wa, ref: chat, from: ExternalParty(waID: "31611111111"), body: "Zie mijn mail", externalID: "wamid.1")
        #expect(repeated.duplicate && repeated.threadID == m.threadID)
        // Refusals: twice, into a merged thread, into itself.
        await #expect(throws: EngineError.self) { try await w.sup.mergeThread(first.threadID, into: m.threadID, by: nil) }
        await #expect(throws: EngineError.self) { try await w.sup.mergeThread(m.threadID, into: first.threadID, by: nil) }
        await #expect(throws: EngineError.invalid("a thread cannot be merged into itself")) {
            try await w.sup.mergeThread(m.threadID, into: m.threadID, by: nil)
        }
        checkAssignmentInvariant(await w.sup.state)
        try await expectRestores(w, events: await w.events(), snapshot: snapshot)
    }

    @Test("merge refuses threads of two brands, a closed survivor, and too many messages")
    func mergeRefusals() async throws {
        let w = World()
        let a = try await w.ingest(await w.channel(.emailOutlook, brand: .chargecars), body: "x")
        let b = try await w.ingest(await w.channel(.sms, brand: .laderthuis), ref: .sms(ours: "+3197010000000", theirs: "+31612222222"), body: "y")
        await #expect(throws: EngineError.self) { try await w.sup.mergeThread(a.threadID, into: b.threadID, by: nil) }
        let c = try await w.ingest(await w.channel(.emailOutlook, brand: .chargecars, name: "2"), from: ExternalParty(email: "c@x.nl"), body: "z")
        try await w.set(c.threadID, .closed)
        do {
            _ = try await w.sup.mergeThread(a.threadID, into: c.threadID, by: nil)
            Issue.record("merged into a closed thread")
        } catch let e as EngineError {
            #expect(e.code == .conflict && e.message.contains("is closed"))
        }
        var big = ThreadState(header: ThreadHeader(threadSubject: "groot", channelType: .sms, createdAt: Date()), lastSeq: 1)
        let target = ThreadState(header: ThreadHeader(threadSubject: "doel", channelType: .sms, createdAt: Date()), lastSeq: 1)
        for i in 0...ThreadMerging.maxMessagesMoved {
            big.messages.append(MessageHeader(threadID: big.id, channelID: nil, channelType: .sms, messageType: .incoming,
                                              deliveryStatus: .delivered, createdAt: Date()))
            big.messageSeqs.append(UInt64(i + 2))
        }
        #expect(throws: EngineError.invalid("thread \(big.id) has \(ThreadMerging.maxMessagesMoved + 1) messages; at most \(ThreadMerging.maxMessagesMoved) can be merged in one step")) {
            try ThreadMerging.merge(big, into: target, by: nil, at: Date())
        }
    }

    @Test("split: the message and what follows move to a new thread with the chat; deadlines follow the customer; restore keeps it")
    func split() async throws {
        let w = World()
        let support = await w.team("support")
        let anna = try await w.agent("Anna", [support])
        try await w.rules(AutoAssignmentRules(defaultAssignee: "support"))
        let wa = await w.channel(.whatsappBusiness)
        let chat = ExternalReference.whatsapp(business: "1099", customer: "31622222222")
        let party = ExternalParty(waID: "31622222222")
        let first = try await w.ingest(wa, ref: chat, from: party, body: "Wanneer komt de monteur?")
        let source = first.threadID
        _ = try await w.sup.addMessage(MessageHeader(threadID: source, channelID: wa.id, channelType: .whatsappBusiness,
                                                     messageType: .outgoing, senderContactID: anna.id, deliveryStatus: .pending,
                                                     createdAt: w.clock.now()), body: MessageBody(messageContent: "Dinsdag"))
        _ = try await w.sup.upsertTask(InternalTask(taskTitle: "Monteur bevestigen", threadID: source, createdAt: w.clock.now()))
        w.clock.advance(by: 3600)
        let topic = try await w.ingest(wa, ref: chat, from: party, body: "Andere vraag: mijn factuur klopt niet")
        w.clock.advance(by: 60)
        try await w.ingest(wa, ref: chat, from: party, body: "Bedrag is te hoog")
        #expect(topic.threadID == source)
        let dueBefore = try await w.header(source).responseDueAt
        #expect(dueBefore != nil)
        let snapshot = try await CaseSnapshot.take(w)

        let change = try await w.sup.splitThread(source, from: topic.messageID, by: anna.id)
        let new = try #require(await w.sup.thread(change.thread))
        let old = try #require(await w.sup.thread(source))
        #expect(new.messages.map(\.messageType) == [.incoming, .incoming, .systemNotification])
        #expect(new.messages.first?.id == topic.messageID && new.messages.allSatisfy { $0.threadID == change.thread })
        #expect(old.messages.map(\.messageType) == [.incoming, .outgoing, .systemNotification])
        #expect(old.header.messageCount == 3 && new.header.messageCount == 3)
        // The source's last word is ours now: no deadline; the new thread waits with the source's deadline.
        #expect(old.header.responseDueAt == nil && old.header.awaitingResponseSince == nil)
        #expect(new.header.responseDueAt == dueBefore && new.header.status == .open)
        // The chat moved; tasks stayed; the person came along; links are there.
        #expect(new.header.externalReferences == [chat] && old.header.externalReferences.isEmpty)
        let sourceTasks = await w.sup.tasks(ofThread: source).count
        let newTasks = await w.sup.tasks(ofThread: change.thread)
        #expect(sourceTasks == 1 && newTasks.isEmpty)
        #expect(await w.assignee(change.thread) == anna.id)
        #expect(await w.sup.splitSource(of: change.thread) == source)
        #expect(await w.sup.threadOf(message: topic.messageID) == change.thread)
        let next = try await w.ingest(wa, ref: chat, from: party, body: "En?")
        #expect(next.threadID == change.thread)
        // Refusals: the first message, a message of another thread.
        await #expect(throws: EngineError.self) { try await w.sup.splitThread(source, from: first.messageID, by: nil) }
        await #expect(throws: EngineError.self) { try await w.sup.splitThread(source, from: next.messageID, by: nil) }
        checkAssignmentInvariant(await w.sup.state)
        try await expectRestores(w, events: await w.events(), snapshot: snapshot)
    }
}

@Suite("Satisfaction surveys")
struct SatisfactionSurveyTests {
    static func smsChannel(_ w: World, survey: Bool = true) async -> Channel {
        var c = Channel(channelType: .sms, channelName: "sms \(survey)", businessEntity: .zaptecshop,
                        configuration: survey ? ["csat_survey": .bool(true), "csat_window_days": .number(3)] : [:])
        c.isActive = true
        _ = try! await w.sup.upsertChannel(c)
        return c
    }

    @Test("resolved → a 1–5 question through the outbox; a score within the window is captured without reopening; later answers behave as before")
    func capture() async throws {
        let w = World()
        let support = await w.team("support")
        let anna = try await w.agent("Anna", [support])
        try await w.rules(AutoAssignmentRules(defaultAssignee: "support"))
        let sms = await Self.smsChannel(w)
        let chat = ExternalReference.sms(ours: "+3197010000000", theirs: "+31633333333")
        let party = ExternalParty(phone: "+31633333333")
        let t = try await w.ingest(sms, ref: chat, from: party, body: "Mijn pas werkt niet").threadID
        let snapshot = try await CaseSnapshot.take(w)
        let resolved = try await w.sup.updateThread(t, change: ThreadChange(status: .resolved), assignTo: nil, team: nil)
        #expect(resolved.count(named: "csat.requested") == 1)
        let question = try #require(await w.sup.thread(t)?.messages.last)
        #expect(question.messageType == .autoResponse && question.channelID == sms.id && question.deliveryStatus == .pending)
        #expect(await w.sup.outboxEntry(question.id) != nil, "the question goes through the outbox")
        #expect(await w.sup.satisfaction(t)?.request.agent == anna.id)
        // Resolving again within the window does not ask twice.
        try await w.set(t, .open)
        try await w.set(t, .resolved)
        #expect((await w.sup.thread(t)?.messages.filter { $0.messageType == .autoResponse }.count) == 1)

        w.clock.advance(by: 3600)
        let answer = try await w.ingest(sms, ref: chat, from: party, body: " 4 ")
        #expect(answer.threadID == t)
        let h = try await w.header(t)
        #expect(h.status == .resolved && h.responseDueAt == nil && h.awaitingResponseSince == nil)
        let record = try #require(await w.sup.satisfaction(t))
        #expect(record.score == 4 && record.answeredAt == w.clock.now() && record.answerMessage == answer.messageID)
        #expect(w.engine.inbox.page(InboxFilter(), limit: 10, cursor: nil).threadIDs.isEmpty, "not back in the inbox")
        // A second score is not a survey answer any more: it reopens, as any message would.
        let again = try await w.ingest(sms, ref: chat, from: party, body: "5")
        let againStatus = try await w.header(t).status
        #expect(again.threadID == t && againStatus == .open)
        #expect(await w.sup.satisfaction(t)?.score == 4)
        try await expectRestores(w, events: await w.events(), snapshot: snapshot)
    }

    @Test("no question on channels without csat_survey; text answers and late answers are handled as any message")
    func notCaptured() async throws {
        let w = World()
        let support = await w.team("support")
        _ = try await w.agent("Anna", [support])
        try await w.rules(AutoAssignmentRules(defaultAssignee: "support"))
        let quiet = await Self.smsChannel(w, survey: false)
        let q = try await w.ingest(quiet, ref: .sms(ours: "+3197010000001", theirs: "+31644444444"), body: "Vraag").threadID
        let events = try await w.sup.updateThread(q, change: ThreadChange(status: .resolved), assignTo: nil, team: nil)
        let survey = await w.sup.satisfaction(q)
        #expect(events.count(named: "csat.requested") == 0 && survey == nil)

        let sms = await Self.smsChannel(w)
        let chat = ExternalReference.sms(ours: "+3197010000000", theirs: "+31655555555")
        let t = try await w.ingest(sms, ref: chat, body: "Vraag").threadID
        try await w.set(t, .resolved)
        let text = try await w.ingest(sms, ref: chat, body: "4, maar de monteur was laat")
        let textStatus = try await w.header(t).status
        #expect(text.threadID == t && textStatus == .open, "not a score: reopens as before")
        try await w.set(t, .resolved)  // within the window: not asked again
        w.clock.advance(by: 3 * 86_400 + 1)
        let late = try await w.ingest(sms, ref: chat, body: "5")
        let lateStatus = try await w.header(t).status
        #expect(late.threadID == t && lateStatus == .open, "after the window: reopens as before")
        #expect(await w.sup.satisfaction(t)?.score == nil)
    }

    @Test("WhatsApp: no free-text question outside the 24-hour window; the timeline says so")
    func whatsappWindow() async throws {
        let w = World()
        let support = await w.team("support")
        _ = try await w.agent("Anna", [support])
        try await w.rules(AutoAssignmentRules(defaultAssignee: "support"))
        let wa = Channel(channelType: .whatsappBusiness, channelName: "wa", businessEntity: .chargecars,
                         configuration: ["csat_survey": .bool(true)])
        _ = try await w.sup.upsertChannel(wa)
        let t = try await w.ingest(wa, ref: .whatsapp(business: "1", customer: "31666666666"), body: "Vraag").threadID
        w.clock.advance(by: 25 * 3600)
        try await w.set(t, .resolved)
        let last = try #require(await w.sup.thread(t)?.messages.last)
        #expect(last.messageType == .systemNotification)
        #expect(await w.sup.satisfaction(t) == nil)
    }
}

@Suite("Template uses")
struct TemplateUseTests {
    @Test("usage_count counts real sends: a gateway's sent report, a provider receipt, or at once for a note; never a failed send")
    func realSends() async throws {
        let w = World()
        let support = await w.team("support")
        let anna = try await w.agent("Anna", [support])
        try await w.rules(AutoAssignmentRules(defaultAssignee: "support"))
        let wa = await w.channel(.whatsappBusiness)
        let t = Template(templateName: "Antwoord", templateCategory: .customerService, channelType: .any, messageTemplate: "Hoi")
        _ = try await w.sup.upsertTemplate(t)
        let thread = try await w.ingest(wa, ref: .whatsapp(business: "1", customer: "31677777777"), body: "Vraag").threadID
        func send() async throws -> MessageID {
            let e = try await w.sup.addMessage(MessageHeader(threadID: thread, channelID: wa.id, channelType: .whatsappBusiness,
                                                             messageType: .outgoing, senderContactID: anna.id, deliveryStatus: .pending,
                                                             createdAt: w.clock.now()),
                                               body: MessageBody(messageContent: "Hoi", metadata: ["template_id": .string(t.id.description)]),
                                               template: t.id)
            guard case .messageAdded(let h, _, _)? = e.first?.event else { throw EngineError.invalid("no message") }
            return h.id
        }
        func count() async -> Int { await w.sup.template(t.id)?.usageCount ?? -1 }
        let ok = try await send(), bad = try await send()
        #expect(await count() == 0, "stored, not sent")
        let snapshot = try await CaseSnapshot.take(w)
        _ = try await w.sup.claimOutgoing(channels: [wa.id], gateway: "gw", max: 10, lease: .seconds(60))
        _ = try await w.sup.reportOutgoing(message: ok, gateway: "gw", attempt: 1, report: .sent(providerMessageID: "wamid.ok"))
        _ = try await w.sup.reportOutgoing(message: bad, gateway: "gw", attempt: 1, report: .failed(code: "131047", reason: "window"))
        #expect(await count() == 1)
        _ = try await w.sup.updateDelivery(channel: wa.id, externalMessageID: "wamid.ok", status: .delivered, at: w.clock.now())
        #expect(await count() == 1, "a receipt after the send report does not count again")
        // The failed one is resent; the copy counts once it goes out.
        let resent = try await w.sup.resendOutgoing(bad, by: anna.id, body: MessageBody(messageContent: "Hoi"))
        guard case .messageAdded(let copy, _, _)? = resent.first?.event else { Issue.record("no copy"); return }
        _ = try await w.sup.setDelivery(message: copy.id, status: .sent, at: w.clock.now())
        #expect(await count() == 2)
        // An internal note is out the moment it is stored.
        _ = try await w.sup.addMessage(MessageHeader(threadID: thread, channelID: nil, channelType: .internalComment,
                                                     messageType: .internalNote, senderContactID: anna.id, deliveryStatus: .delivered,
                                                     createdAt: w.clock.now()),
                                       body: MessageBody(messageContent: "notitie"), template: t.id)
        #expect(await count() == 3)
        #expect(await w.sup.similarTemplateUses(TemplateSimilarity(threadType: .customerSupport, brand: .chargecars)) == [t.id: 3])
        #expect(await w.sup.similarTemplateUses(TemplateSimilarity(threadType: .complaint, brand: .chargecars)).isEmpty)
        #expect((await w.sup.state).templateUsage.pending.isEmpty)
        // Edits made meanwhile are kept (the count is applied to the stored template).
        var edit = TemplatePatch()
        edit.subjectTemplate = "Onderwerp"
        _ = try await w.sup.updateTemplate(t.id, edit)
        #expect(await w.sup.template(t.id)?.usageCount == 3)
        try await expectRestores(w, events: await w.events(), snapshot: snapshot)
    }
}
