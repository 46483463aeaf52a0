import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

/// The workflow beside the ladder on a simulated clock: auto-responses out
/// of hours, tasks that make themselves, task reminders and the daily digest.
@Suite("Workflow", .timeLimit(.minutes(1)))
struct WorkflowTests {
    static let conversation = ExternalReference(.outlookConversation, "conv-wf")

    static func mail(_ w: World, _ channel: Channel, subject: String = "Laadpaal", text: String = "Hallo",
                     automatic: Bool = false) async throws -> IngestResult {
        try await w.sup.ingest(InboundMessage(
            channelID: channel.id, externalMessageID: UUID().uuidString, threadReference: conversation,
            senderExternal: ExternalParty(name: "Jan de Vries", email: "jan@example.nl"), subject: subject,
            messageContent: text, receivedAt: w.clock.now(), autoSubmitted: automatic))
    }

    static func autoResponses(_ w: World, _ t: ThreadID) async -> [MessageHeader] {
        (await w.sup.thread(t))?.messages.filter { $0.messageType == .autoResponse && $0.senderExternal == nil } ?? []
    }

    /// A mail channel that answers out of hours, with the brand's auto_response template.
    static func answeringChannel(_ w: World) async throws -> Channel {
        let channel = Channel(channelType: .emailOutlook, channelName: "info", businessEntity: .chargecars,
                              configuration: ["auto_responses": .bool(true)])
        _ = try await w.sup.upsertChannel(channel)
        _ = try await w.sup.upsertTemplate(Template(
            templateName: "Buiten kantoortijd", templateCategory: .autoResponse, channelType: .any,
            subjectTemplate: "Ontvangen: {{thread_subject}}",
            messageTemplate: "Beste {{customer_name}}, we lezen je bericht vanaf {{next_opening}}.",
            variables: ["customer_name", "next_opening"], businessEntity: .all))
        return channel
    }

    @Test("outside hours the brand's auto_response goes out once per closed period; inside hours never")
    func autoResponseOncePerClosedPeriod() async throws {
        let w = World()
        w.clock.set(amsterdam(2026, 11, 27, 19))  // Friday evening
        let channel = try await Self.answeringChannel(w)
        let thread = try await Self.mail(w, channel).threadID
        var answers = await Self.autoResponses(w, thread)
        #expect(answers.count == 1)
        let answer = try #require(answers.first)
        #expect(answer.recipientExternal?.email == "jan@example.nl")
        #expect(await w.sup.outboxEntry(answer.id) != nil, "sent through the gateway's outbox")
        let body = try #require(try w.engine.bodies.body(for: answer.id))
        #expect(body.messageContent == "Beste Jan de Vries, we lezen je bericht vanaf 2026-11-30 08:30.")
        #expect(body.metadata["auto_submitted"] == .string("auto-replied"))
        #expect(await w.sup.thread(thread)?.header.responseDueAt == amsterdam(2026, 11, 30, 12, 30),
                "an auto-response is no answer: the clock still runs")

        w.clock.set(amsterdam(2026, 11, 28, 11))  // Saturday: the same closed period
        _ = try await Self.mail(w, channel, text: "Nog iets")
        #expect(await Self.autoResponses(w, thread).count == 1)
        w.clock.set(amsterdam(2026, 11, 30, 11))  // Monday, open
        _ = try await Self.mail(w, channel, text: "En nu?")
        #expect(await Self.autoResponses(w, thread).count == 1)
        w.clock.set(amsterdam(2026, 11, 30, 20))  // Monday evening: a new closed period
        _ = try await Self.mail(w, channel, text: "Hallo?")
        answers = await Self.autoResponses(w, thread)
        #expect(answers.count == 2)
    }

    @Test("two auto-responders do not talk: a robot's mail is recorded, never answered, and starts no clock")
    func robotsAreNotAnswered() async throws {
        let w = World()
        w.clock.set(amsterdam(2026, 11, 27, 19))
        let channel = try await Self.answeringChannel(w)
        let thread = try await Self.mail(w, channel).threadID
        #expect(await Self.autoResponses(w, thread).count == 1)
        // The customer's out-of-office answers our auto-response, then their mail server once more with Auto-Submitted.
        w.clock.set(amsterdam(2026, 11, 30, 19))
        _ = try await Self.mail(w, channel, subject: "Automatisch antwoord: Ontvangen: Laadpaal", text: "Ik ben afwezig")
        _ = try await Self.mail(w, channel, subject: "Re: Laadpaal", text: "Afwezig", automatic: true)
        #expect(await Self.autoResponses(w, thread).count == 1, "no answer to a robot, even in a new closed period")
        let messages = try #require(await w.sup.thread(thread)).messages
        #expect(messages.filter { $0.messageType == .autoResponse && $0.senderExternal != nil }.count == 2,
                "the robots' mails are recorded as auto_response")
        // A robot starting a thread gets no deadline and no answer.
        let robot = try await w.sup.ingest(InboundMessage(
            channelID: channel.id, externalMessageID: "ooo-1", senderExternal: ExternalParty(email: "noreply@leverancier.nl"),
            subject: "Out of Office", messageContent: "Away", receivedAt: w.clock.now(), autoSubmitted: true))
        #expect(await w.sup.thread(robot.threadID)?.header.responseDueAt == nil)
        #expect(await Self.autoResponses(w, robot.threadID).isEmpty)
    }

    @Test("a channel without auto_responses, or a brand without the template, sends nothing")
    func noAutoResponseWithoutConfiguration() async throws {
        let w = World()
        w.clock.set(amsterdam(2026, 11, 27, 19))
        let quiet = await w.channel(.emailOutlook)
        let thread = try await Self.mail(w, quiet).threadID
        #expect(await Self.autoResponses(w, thread).isEmpty)
        let w2 = World()
        w2.clock.set(amsterdam(2026, 11, 27, 19))
        let noTemplate = Channel(channelType: .emailOutlook, channelName: "x", businessEntity: .chargecars,
                                 configuration: ["auto_responses": .bool(true)])
        _ = try await w2.sup.upsertChannel(noTemplate)
        #expect(await Self.autoResponses(w2, try await Self.mail(w2, noTemplate).threadID).isEmpty)
    }

    // MARK: Tasks that make themselves

    static func reply(_ w: World, _ thread: ThreadID, _ channel: Channel, agent: Contact?, waiting: Bool) async throws {
        _ = try await w.sup.addMessage(
            MessageHeader(threadID: thread, channelID: channel.id, channelType: channel.channelType, messageType: .outgoing,
                          senderContactID: agent?.id, deliveryStatus: .pending, createdAt: w.clock.now()),
            body: MessageBody(messageContent: "Kunt u een foto sturen?"), statusAfter: waiting ? .waitingCustomer : nil)
    }

    @Test("follow_up: our message waited N business hours in waiting_customer; once; switchable")
    func followUpTask() async throws {
        let w = World()
        var settings = WorkflowSettings()
        settings.taskRules.followUp = .init(enabled: true, afterBusinessHours: 2)
        _ = try await w.sup.setWorkflowSettings(settings)
        w.clock.set(amsterdam(2026, 11, 30, 9))
        let channel = await w.channel(.emailOutlook)
        let thread = try await Self.mail(w, channel).threadID
        w.clock.set(amsterdam(2026, 11, 30, 9, 30))
        try await Self.reply(w, thread, channel, agent: nil, waiting: true)
        w.clock.set(amsterdam(2026, 11, 30, 11, 29))
        _ = await w.sup.runDueTimers()
        #expect(await w.sup.tasks(ofThread: thread).isEmpty)
        w.clock.set(amsterdam(2026, 11, 30, 11, 31))
        #expect(await w.sup.runDueTimers().tasksCreated == 1)
        w.clock.advance(by: 3 * 3600)
        #expect(await w.sup.runDueTimers().tasksCreated == 0, "once per message of ours")
        let tasks = await w.sup.tasks(ofThread: thread)
        #expect(tasks.map(\.taskType) == [.followUp])

        // Our answer first, waiting_customer only later (the timer is set by the status change): the task still comes.
        let late = try await w.sup.ingest(InboundMessage(
            channelID: channel.id, externalMessageID: "x3", threadReference: ExternalReference(.outlookConversation, "conv-3"),
            senderExternal: ExternalParty(email: "kees@example.nl"), subject: "Monteur", messageContent: "Wanneer?",
            receivedAt: w.clock.now())).threadID
        try await Self.reply(w, late, channel, agent: nil, waiting: false)
        w.clock.advance(by: 3 * 3600)
        _ = await w.sup.runDueTimers()  // the answer's timer comes up while the thread is still open: nothing
        #expect(await w.sup.tasks(ofThread: late).isEmpty)
        _ = try await w.sup.updateThread(late, change: ThreadChange(status: .waitingCustomer), assignTo: nil, team: nil)
        #expect(await w.sup.runDueTimers().tasksCreated == 1, "our message has waited long enough already")

        // Not when the customer answered, and not when the rule is off.
        let other = try await w.sup.ingest(InboundMessage(
            channelID: channel.id, externalMessageID: "x2", threadReference: ExternalReference(.outlookConversation, "conv-2"),
            senderExternal: ExternalParty(email: "piet@example.nl"), subject: "Offerte", messageContent: "Vraag",
            receivedAt: w.clock.now())).threadID
        try await Self.reply(w, other, channel, agent: nil, waiting: true)
        settings.taskRules.followUp.enabled = false
        _ = try await w.sup.setWorkflowSettings(settings)
        w.clock.advance(by: 2 * 24 * 3600)
        _ = await w.sup.runDueTimers()
        #expect(await w.sup.tasks(ofThread: other).isEmpty, "the rule is switched off")
    }

    @Test("callback: a logged call that asks for one makes a callback task, due when asked; switchable")
    func callbackTask() async throws {
        let w = World()
        w.clock.set(amsterdam(2026, 11, 30, 9))
        let channel = await w.channel(.emailOutlook)
        let thread = try await Self.mail(w, channel).threadID
        func call(_ metadata: [String: JSONValue]) async throws {
            _ = try await w.sup.addMessage(
                MessageHeader(threadID: thread, channelID: nil, channelType: .phoneCall, messageType: .incoming,
                              deliveryStatus: .delivered, createdAt: w.clock.now()),
                body: MessageBody(messageContent: "Klant wil teruggebeld worden", metadata: metadata))
        }
        try await call(["callback_requested": .bool(true), "callback_at": .string(amsterdam(2026, 12, 1, 14).iso8601)])
        let tasks = await w.sup.tasks(ofThread: thread)
        #expect(tasks.map(\.taskType) == [.callback])
        #expect(tasks.first?.dueDate == "2026-12-01" && tasks.first?.dueTime == "14:00")
        try await call([:])
        #expect(await w.sup.tasks(ofThread: thread).count == 1, "a call without the request makes none")
        var settings = WorkflowSettings()
        settings.taskRules.callback.enabled = false
        _ = try await w.sup.setWorkflowSettings(settings)
        try await call(["callback_requested": .bool(true)])
        #expect(await w.sup.tasks(ofThread: thread).count == 1, "the rule is switched off")
    }

    @Test("a task without a due date gets its priority's response target in business hours")
    func taskResponseTarget() async throws {
        let w = World()
        w.clock.set(amsterdam(2026, 11, 27, 16))  // Friday 16:00
        let task = InternalTask(taskTitle: "Offerte maken", priority: .high, createdAt: w.clock.now())
        _ = try await w.sup.upsertTask(task)
        let stored = try #require(await w.sup.task(task.id))
        // 4 business hours: 1.5 on Friday, 2.5 on Monday from 08:30.
        #expect(stored.dueDate == "2026-11-30" && stored.dueTime == "11:00")
    }

    @Test("reminder_settings: minutes before, then overdue; each once per due moment; a new due moment reminds again")
    func taskReminders() async throws {
        let w = World()
        w.clock.set(amsterdam(2026, 11, 30, 9))
        let agent = try await w.agent("Anna", [])
        let task = InternalTask(taskTitle: "Monteur bellen", assignedToContactID: agent.id, dueDate: "2026-11-30", dueTime: "15:00",
                                reminderSettings: ["minutes_before": .number(30)], createdAt: w.clock.now())
        _ = try await w.sup.upsertTask(task)
        func fired() async -> [String] {
            await w.sup.state.workflow.taskReminders[task.id].map { $0.fired.sorted() } ?? []
        }
        w.clock.set(amsterdam(2026, 11, 30, 14, 29))
        #expect(await w.sup.runDueTimers().taskReminders == 0)
        w.clock.set(amsterdam(2026, 11, 30, 14, 30))
        #expect(await w.sup.runDueTimers().taskReminders == 1)
        #expect(await fired() == ["before:30"])
        w.clock.set(amsterdam(2026, 11, 30, 15))
        #expect(await w.sup.runDueTimers().taskReminders == 1)
        #expect(await fired() == ["before:30", "overdue"])
        w.clock.advance(by: 3600)
        #expect(await w.sup.runDueTimers().taskReminders == 0, "never twice")
        var patch = TaskPatch()
        patch.dueDate = "2026-12-01"
        _ = try await w.sup.updateTask(task.id, patch)
        w.clock.set(amsterdam(2026, 12, 1, 15))
        #expect(await w.sup.runDueTimers().taskReminders == 1, "the new due moment's overdue reminder (its 'before' one is moot)")
        let calendar = await w.sup.workflowCalendar()
        #expect(TaskSchedule.isOverdue(try #require(await w.sup.task(task.id)), at: w.clock.now(), calendar: calendar))
        #expect(TaskSchedule.isDueToday(try #require(await w.sup.task(task.id)), at: w.clock.now(), calendar: calendar))
        var done = TaskPatch()
        done.status = .completed
        _ = try await w.sup.updateTask(task.id, done)
        #expect(!TaskSchedule.isOverdue(try #require(await w.sup.task(task.id)), at: w.clock.now(), calendar: calendar))
    }

    // MARK: Digest

    @Test("the daily digest lists open and overdue threads, tasks due and escalations, at the person's hour, once a day")
    func dailyDigest() async throws {
        let w = World()
        w.clock.set(amsterdam(2026, 11, 30, 7))
        let team = await w.team("support")
        let mail = Channel(channelType: .emailOutlook, channelName: "support", businessEntity: .chargecars,
                           autoAssignmentRules: AutoAssignmentRules(defaultAssignee: "support"))
        _ = try await w.sup.upsertChannel(mail)
        var agent = Contact(name: "Anna", email: "anna@chargecars.nl", teams: [team.id], presence: .online)
        agent.dailyDigestHour = 8
        _ = try await w.sup.upsertContact(agent)
        var settings = WorkflowSettings()
        settings.digest = .init(enabled: true, channelID: mail.id)
        _ = try await w.sup.setWorkflowSettings(settings)

        let overdue = try await Self.mail(w, mail, subject: "Laadpaal stuk").threadID
        #expect(await w.assignee(overdue) == agent.id)
        let task = InternalTask(taskTitle: "Offerte sturen", assignedToContactID: agent.id, dueDate: "2026-11-30",
                                createdAt: w.clock.now())
        _ = try await w.sup.upsertTask(task)
        _ = try await w.sup.upsertTask(InternalTask(taskTitle: "Volgende week", assignedToContactID: agent.id,
                                                    dueDate: "2026-12-07", createdAt: w.clock.now()))
        w.clock.set(amsterdam(2026, 11, 30, 7, 59))
        #expect(await w.sup.runDueTimers().digests == 0)
        w.clock.set(amsterdam(2026, 11, 30, 8))
        #expect(await w.sup.runDueTimers().digests == 1)
        #expect(await w.sup.runDueTimers().digests == 0, "once a day")

        let digestThread = Supervisor.digestThreadID(agent.id)
        let sent = try #require(await w.sup.thread(digestThread)).messages
        #expect(sent.count == 1)
        let message = try #require(sent.first)
        #expect(message.recipientExternal?.email == "anna@chargecars.nl")
        #expect(await w.sup.outboxEntry(message.id) != nil, "sent through the mail channel's outbox")
        let body = try #require(try w.engine.bodies.body(for: message.id))
        #expect(body.metadata["open_threads"] == .number(1))
        #expect(body.metadata["tasks_due"] == .number(1), "today's task, not next week's")
        #expect(body.messageContent.contains("Laadpaal stuk"))
        #expect(body.messageContent.contains("Offerte sturen"))
        #expect(!body.messageContent.contains("Volgende week"))
        #expect(await w.sup.thread(digestThread)?.header.status == .closed, "never in an inbox")

        // The ladder escalates the unanswered thread at its deadline (12:30) with a new 30-minute one, which passes too.
        w.clock.set(amsterdam(2026, 11, 30, 12, 30))
        #expect(await w.sup.runDueTimers().slaSteps == 3)
        w.clock.set(amsterdam(2026, 11, 30, 13, 1))
        _ = await w.sup.runDueTimers()
        #expect(await w.sup.thread(overdue)?.header.status == .escalated)
        // The next day: overdue and escalated, yesterday's task overdue, and the ladder's escalate task.
        w.clock.set(amsterdam(2026, 12, 1, 8))
        #expect(await w.sup.runDueTimers().digests == 1)
        let second = try #require(await w.sup.thread(digestThread)?.messages.last)
        let text = try #require(try w.engine.bodies.body(for: second.id))
        #expect(text.metadata["overdue_threads"] == .number(1))
        #expect(text.metadata["escalated_threads"] == .number(1))
        #expect(text.metadata["tasks_due"] == .number(2), "yesterday's task, now overdue, and the escalate task")
        #expect(text.messageContent.contains("Escalated: Laadpaal stuk"))
        #expect(second.subject == DailyDigest.subject(date: "2026-12-01"))
    }
}
