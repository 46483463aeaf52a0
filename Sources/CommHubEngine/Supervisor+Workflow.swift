import CommHubDomain
import Foundation

// The workflow that runs by itself beside the ladder: auto-responses out
// of hours, tasks that make themselves (follow_up, callback), task
// reminders, response targets of tasks, the daily digest, and the
// engine-wide workflow settings. See the README, "Workflow".
extension Supervisor {
    // MARK: Settings

    /// The workflow settings in force (the defaults until someone sets them).
    public func workflowSettings() -> WorkflowSettings {
        state.workflow.settings ?? WorkflowSettings(sla: .init(
            emailBusinessHours: configuration.sla.emailBusinessHours, chatBusinessHours: configuration.sla.chatBusinessHours,
            escalatedMinutes: configuration.sla.escalatedMinutes, reminderFractions: configuration.sla.reminderFractions,
            executiveAfterOverdueHours: configuration.sla.executiveAfterOverdueHours))
    }

    /// The calendar of task due dates and digests: the engine's default business calendar.
    public func workflowCalendar() -> BusinessCalendar { basePolicy.calendar }

    /// Replaces the workflow settings (validated: nothing changes when one is wrong).
    public func setWorkflowSettings(_ s: WorkflowSettings) throws -> PatchResult<WorkflowSettings> {
        let problems = s.problems()
        guard problems.isEmpty else { throw EngineError.invalid(problems.joined(separator: "; ")) }
        if let id = s.digest.channelID {
            guard let c = state.channels[id] else { throw EngineError.notFound("channel", id) }
            guard c.channelType == .emailOutlook else {
                throw EngineError.invalid("digest.channel_id must be an email_outlook channel (\(c.channelName) is \(c.channelType.rawValue))")
            }
        }
        let before = workflowSettings()
        let seq = try commit([.workflowSettingsChanged(s)]).last!.seq
        // New targets and rules move every timer: each is looked at again when it comes up.
        for c in state.contacts.values where c.dailyDigestHour != nil { timers.schedule(.digest(c.id), at: .distantPast) }
        return PatchResult(before: before, after: s, seq: seq)
    }

    // MARK: Timers of committed supervisor events

    /// Keeps task and digest timers in step with what the supervisor commits.
    func updateTimers(afterCommitting e: EngineEvent) {
        switch e {
        case .taskUpserted(let t): scheduleTaskReminder(t)
        case .contactUpserted(let c):
            if c.dailyDigestHour != nil { timers.schedule(.digest(c.id), at: .distantPast) } else { timers.cancel(.digest(c.id)) }
        default: return
        }
    }

    // MARK: Task response targets

    /// A new task without a due date gets one from its priority's response
    /// target (`task_response_hours`, business hours on the engine's calendar).
    func withResponseTarget(_ t: InternalTask) -> InternalTask {
        guard t.dueDate == nil, state.tasks[t.id] == nil else { return t }
        let hours = (state.workflow.settings?.taskResponseHours ?? WorkflowSettings.defaultTaskResponseHours)[t.priority.rawValue]
        guard let hours else { return t }
        let cal = basePolicy.calendar
        let due = cal.adding(businessSeconds: hours * 3600, to: t.createdAt)
        var out = t
        (out.dueDate, out.dueTime) = TaskSchedule.dueFields(due, calendar: cal)
        return out
    }

    // MARK: Auto-responses

    /// Answers a customer by itself when the channel wants it
    /// (`AutoResponsePolicy`): the brand's `auto_response` template through
    /// the outbox, once per thread per closed period, never to a machine.
    func autoRespond(to m: InboundMessage, channel: Channel, thread: ThreadID, actor: ThreadActor) async -> [SequencedEvent] {
        guard channel.configuration["auto_responses"] == .bool(true), channel.channelType.deliveredByGateway else { return [] }
        let now = clock.now()
        let cal = calendar(channel: channel.id, team: state.board.team[thread])
        let s = await actor.state
        // Our own auto-responses: no external sender (a customer's automatic reply has one).
        let last = s.messages.last { $0.messageType == .autoResponse && $0.senderExternal == nil }
        guard AutoResponsePolicy.shouldRespond(receivedAt: m.receivedAt, automatic: AutoReplyDetection.isAutomatic(m),
                                               calendar: cal, lastAutoResponseAt: last?.createdAt) else { return [] }
        // Processed after opening time (a restart, a late gateway): a person answers now, not a robot.
        if let reopens = cal.closedPeriod(containing: m.receivedAt)?.end, now >= reopens { return [] }
        guard let template = AutoResponsePolicy.template(Array(state.templates.values), brand: channel.businessEntity,
                                                         channelType: channel.channelType) else {
            logger.notice("auto_responses is on but the brand has no active auto_response template",
                          metadata: ["channel.id": "\(channel.id)"])
            return []
        }
        var vars: [String: String] = ["thread_subject": s.header.threadSubject, "channel_name": channel.channelName]
        if let b = channel.businessEntity { vars["brand"] = b.rawValue }
        if let c = s.header.customerID.flatMap({ state.index.customers[$0] }) { vars["customer_name"] = c.name }
        else if let n = m.senderExternal.name, !n.isEmpty { vars["customer_name"] = n }
        if let o = s.header.orderID.flatMap({ state.index.orders[$0] }) { vars["order_number"] = o.orderNumber }
        if let open = cal.nextOpening(after: m.receivedAt) { vars["next_opening"] = Self.localText(open, cal) }
        let text = TemplateRenderer.render(template.messageTemplate, variables: vars)
        let subject = template.subjectTemplate.map { TemplateRenderer.render($0, variables: vars) }
        let missing = text.missing + (subject?.missing ?? [])
        guard missing.isEmpty else {
            logger.notice("auto_response template needs variables the thread does not have; nothing sent",
                          metadata: ["template.id": "\(template.id)", "template.missing": "\(missing.joined(separator: ","))"])
            return []
        }
        var metadata: [String: JSONValue] = ["template_id": .string(template.id.description),
                                             "reply_to_message_id": .string(s.messages.last { $0.externalMessageID == m.externalMessageID }?.id.description ?? ""),
                                             // Mail gateways set `Auto-Submitted: auto-replied` (RFC 3834) from this.
                                             "auto_submitted": .string("auto-replied")]
        if let name = template.whatsappTemplateName, let language = template.whatsappLanguage {
            metadata["whatsapp_template"] = .object(["name": .string(name), "language": .string(language),
                                                     "parameters": .array(template.variables.map { .string(vars[$0] ?? "") })])
        }
        let header = MessageHeader(threadID: thread, channelID: channel.id, channelType: channel.channelType,
                                   messageType: .autoResponse, recipientExternal: m.senderExternal,
                                   subject: subject?.text ?? m.subject.map { $0.lowercased().hasPrefix("re:") ? $0 : "Re: \($0)" },
                                   deliveryStatus: .pending, createdAt: now)
        do {
            var events = try await actor.add(header, body: MessageBody(messageContent: text.text, metadata: metadata), statusAfter: nil)
            project(events)
            if let seq = try countTemplateUse(template.id) { events.append(SequencedEvent(seq: seq, event: .templateUpserted(template))) }
            return events
        } catch {
            logger.error("auto-response not recorded", metadata: ["thread.id": "\(thread)", "error": "\(ErrorText.describe(error))"])
            return []
        }
    }

    // MARK: Tasks that make themselves

    /// A `callback` task for a logged phone call with `callback_requested: true`
    /// (due at `callback_at` when given, else by the thread's priority target).
    func callbackTask(for m: MessageHeader, body: MessageBody) async -> [SequencedEvent] {
        guard m.channelType == .phoneCall, body.metadata["callback_requested"] == .bool(true), taskRules.callback.enabled else { return [] }
        let id = Self.derivedTaskID("callback", m.id.description)
        guard state.tasks[id] == nil, let s = await actor(m.threadID)?.state else { return [] }
        let h = s.header
        var task = InternalTask(
            id: id, taskTitle: "Call back: \(h.threadSubject)",
            taskDescription: "A logged call asked for a callback.\n\n\(String(body.messageContent.prefix(2000)))",
            taskType: .callback, priority: h.priority,
            assignedToContactID: state.board.assignee[h.id] ?? m.senderContactID, createdByContactID: m.senderContactID,
            threadID: h.id, orderID: h.orderID, createdAt: m.createdAt)
        if let at = body.metadata["callback_at"]?.stringValue.flatMap(Date.init(iso8601:)) {
            (task.dueDate, task.dueTime) = TaskSchedule.dueFields(at, calendar: basePolicy.calendar)
        }
        return commitGenerated(withResponseTarget(task))
    }

    /// A `follow_up` task when our message has waited `after_business_hours`
    /// for an answer and the thread is `waiting_customer` (once per message of ours).
    func followUpDue(_ thread: ThreadID, now: Date) async -> Int {
        let rule = taskRules.followUp
        guard rule.enabled, let hours = rule.afterBusinessHours, let s = await actor(thread)?.state,
              s.header.status == .waitingCustomer,
              let ours = s.messages.last(where: { $0.channelType.isExternal && $0.messageType != .systemNotification }),
              ours.messageType == .outgoing else { return 0 }
        let cal = calendar(channel: ours.channelID, team: state.board.team[thread])
        let moment = cal.adding(businessSeconds: hours * 3600, to: ours.createdAt)
        guard moment <= now else {
            timers.schedule(.followUp(thread), at: moment)
            return 0
        }
        let id = Self.derivedTaskID("follow_up", ours.id.description)
        guard state.tasks[id] == nil else { return 0 }
        let h = s.header
        let hoursText = hours == hours.rounded() ? "\(Int(hours))" : "\(hours)"
        let task = InternalTask(
            id: id, taskTitle: "Follow up: \(h.threadSubject)",
            taskDescription: "We wrote on \(Self.localText(ours.createdAt, cal)) and the customer has not answered for "
                + "\(hoursText) business hours. Ask again, call, or resolve the thread.",
            taskType: .followUp, priority: h.priority, assignedToContactID: state.board.assignee[thread] ?? ours.senderContactID,
            threadID: thread, orderID: h.orderID, createdAt: now)
        return commitGenerated(withResponseTarget(task)).isEmpty ? 0 : 1
    }

    private func commitGenerated(_ task: InternalTask) -> [SequencedEvent] {
        do {
            return try commit([.taskUpserted(task)])
        } catch {
            logger.error("generated task not journaled", metadata: ["task.id": "\(task.id)", "error": "\(ErrorText.describe(error))"])
            return []
        }
    }

    // MARK: Task reminders

    /// The reminders of a task not yet sent for its current due moment.
    func pendingReminders(_ t: InternalTask) -> (due: Date, list: [(key: String, at: Date)])? {
        guard TaskSchedule.isPending(t.status), let due = TaskSchedule.dueMoment(t, calendar: basePolicy.calendar) else { return nil }
        let settings = (try? TaskReminderSettings(t.reminderSettings)) ?? TaskReminderSettings()
        let record = state.workflow.taskReminders[t.id]
        let list = settings.reminders(due: due, overdueEnabled: taskRules.overdueReminder.enabled)
            .filter { !(record?.hasFired($0.key, due: due) ?? false) }
        return (due, list)
    }

    func scheduleTaskReminder(_ t: InternalTask) {
        guard let pending = pendingReminders(t), let first = pending.list.first else {
            timers.cancel(.task(t.id))
            return
        }
        timers.schedule(.task(t.id), at: first.at)
    }

    /// Sends the reminders of a task that are due: once the task is overdue
    /// only the `overdue` one (earlier reminders that were missed are moot).
    func taskRemindersDue(_ id: TaskID, now: Date) -> Int {
        guard let t = state.tasks[id], let pending = pendingReminders(t) else { return 0 }
        var due = pending.list.filter { $0.at <= now }
        if pending.due <= now { due = due.filter { $0.key == "overdue" } }
        let recipients = [t.assignedToContactID ?? t.createdByContactID].compactMap { $0 }
        let events = due.map { EngineEvent.taskReminderFired(task: id, key: $0.key, due: pending.due, recipients: recipients, at: now) }
        var sent = 0
        if !events.isEmpty {
            do {
                sent = try commit(events).count
            } catch {
                logger.error("task reminder not journaled", metadata: ["task.id": "\(id)", "error": "\(ErrorText.describe(error))"])
                timers.schedule(.task(id), at: now.addingTimeInterval(60))
                return 0
            }
        }
        if let next = pendingReminders(t)?.list.first(where: { $0.at > now || pending.due > now }) ?? nil {
            timers.schedule(.task(id), at: max(next.at, now))
        }
        return sent
    }

    // MARK: Daily digest

    /// The thread that holds a person's digest mails (one per person, closed, never in an inbox).
    static func digestThreadID(_ person: ContactID) -> ThreadID {
        ThreadID(derivedTaskID("digest", person.description).uuid)
    }

    /// Sends a person's digest when its local hour has come today and it has
    /// not gone yet; schedules the next one.
    func digestDue(_ id: ContactID, now: Date) async -> Int {
        guard let person = state.contacts[id], let hour = person.dailyDigestHour, (0...23).contains(hour) else { return 0 }
        let cal = basePolicy.calendar
        let today = cal.localDate(of: now)
        guard let sendAt = cal.instant(localDate: today, minutes: hour * 60) else { return 0 }
        guard now >= sendAt else {
            timers.schedule(.digest(id), at: sendAt)
            return 0
        }
        let tomorrow = CivilDate(today).map { $0.adding(days: 1).text } ?? today
        if let next = cal.instant(localDate: tomorrow, minutes: hour * 60) { timers.schedule(.digest(id), at: next) }
        let settings = state.workflow.settings?.digest ?? WorkflowSettings.DigestSettings()
        guard settings.enabled, let channelID = settings.channelID, let channel = state.channels[channelID], channel.isActive,
              let email = person.email, !email.isEmpty else { return 0 }
        let threadID = Self.digestThreadID(id)
        let subject = DailyDigest.subject(date: today)
        if let existing = await thread(threadID), existing.messages.contains(where: { $0.subject == subject }) { return 0 }
        let digest = await digestContent(for: person, date: today, now: now)
        do {
            var events: [SequencedEvent] = []
            if !exists(threadID) {
                let header = ThreadHeader(id: threadID, threadSubject: "Dagelijks overzicht voor \(person.name)",
                                          threadType: .internalTask, status: .closed, channelType: .emailOutlook,
                                          createdByContactID: id, createdAt: now, tags: ["digest"])
                events += try commit([.threadOpened(header)])
                threads[threadID] = ThreadActor(state: ThreadState(header: header, lastSeq: events[0].seq), owner: self)
            }
            guard let actor = actor(threadID) else { return 0 }
            let message = MessageHeader(threadID: threadID, channelID: channelID, channelType: channel.channelType,
                                        messageType: .outgoing, recipientContactID: id,
                                        recipientExternal: ExternalParty(name: person.name, email: email), subject: subject,
                                        deliveryStatus: .pending, createdAt: now)
            let body = MessageBody(messageContent: digest.text(calendar: cal), metadata: [
                "kind": .string("digest"), "digest_date": .string(today), "contact_id": .string(id.description),
                "open_threads": .number(Double(digest.openThreads.count)),
                "overdue_threads": .number(Double(digest.overdueThreads.count)),
                "tasks_due": .number(Double(digest.tasksDue.count)),
                "escalated_threads": .number(Double(digest.escalatedThreads.count)),
            ])
            let added = try await actor.add(message, body: body, statusAfter: nil)
            project(added)
            events += added
            return 1
        } catch {
            logger.error("digest not recorded", metadata: ["contact.id": "\(id)", "error": "\(ErrorText.describe(error))"])
            return 0
        }
    }

    /// What a person's digest lists: their open threads (and overdue ones),
    /// their tasks due today or overdue, and escalated threads — their own,
    /// and for team leaders and managers those of their teams (everyone's
    /// for managers, executives and admins).
    func digestContent(for person: Contact, date: String, now: Date) async -> DailyDigest {
        let cal = basePolicy.calendar
        func item(_ h: ThreadHeader) -> DailyDigest.ThreadItem {
            .init(id: h.id, subject: h.threadSubject, priority: h.priority, status: h.status, responseDueAt: h.responseDueAt)
        }
        let mine = await headers(Array(state.board.agents[person.id]?.open ?? []))
            .sorted { ($0.priority.rank, $0.responseDueAt ?? .distantFuture, $0.id) < ($1.priority.rank, $1.responseDueAt ?? .distantFuture, $1.id) }
        var escalatedIDs = Set(mine.filter { $0.status == .escalated }.map(\.id))
        if person.role != .agent {
            let everyone = person.role != .teamLeader
            let teams = Set(person.teams)
            for t in state.workflow.escalated where everyone || state.board.team[t].map(teams.contains) == true {
                escalatedIDs.insert(t)
            }
        }
        let escalated = await headers(Array(escalatedIDs)).filter { $0.status == .escalated }.sorted { ($0.priority.rank, $0.id) < ($1.priority.rank, $1.id) }
        let tasks = state.tasks.values
            .filter { $0.assignedToContactID == person.id && TaskSchedule.isPending($0.status) }
            .filter { TaskSchedule.isOverdue($0, at: now, calendar: cal) || TaskSchedule.isDueToday($0, at: now, calendar: cal) }
            .sorted { ($0.dueDate ?? "", $0.dueTime ?? "", $0.id) < ($1.dueDate ?? "", $1.dueTime ?? "", $1.id) }
        return DailyDigest(
            personName: person.name, date: date, openThreads: mine.map(item),
            overdueThreads: mine.filter { ($0.responseDueAt ?? .distantFuture) < now }.map(item),
            escalatedThreads: escalated.map(item),
            tasksDue: tasks.map { .init(id: $0.id, title: $0.taskTitle, taskType: $0.taskType, priority: $0.priority,
                                        dueDate: $0.dueDate, dueTime: $0.dueTime,
                                        overdue: TaskSchedule.isOverdue($0, at: now, calendar: cal)) })
    }
}
