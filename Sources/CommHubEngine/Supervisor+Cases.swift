import CommHubDomain
import Foundation

// Templates in use, merging and splitting threads, satisfaction surveys:
// the supervisor's side. Pure planning is in `ThreadMerging`, `TemplateFit`,
// `TemplateSuggester`, `CSATScore`; state changes in `EngineState+Cases`.

/// What a merge or split did, for the API's answer and audit.
public struct CaseChange: Sendable {
    public var thread: ThreadID
    public var events: [SequencedEvent]
}

extension Supervisor {
    // MARK: Templates

    /// Adds a message written with `template` (journaled with it, all or
    /// none). The template's `usage_count` counts the message once it
    /// really goes out: when a gateway reports it sent (or the provider
    /// reports it sent, delivered or read), or at once for a message no
    /// gateway delivers (an internal note, a logged call).
    public func addMessage(_ header: MessageHeader, body: MessageBody, statusAfter: ThreadStatus? = nil,
                           template: TemplateID) async throws -> [SequencedEvent] {
        guard let actor = actor(header.threadID) else { throw EngineError.notFound("thread", header.threadID) }
        guard state.templates[template] != nil else { throw EngineError.notFound("template", template) }
        let h = await actor.state.header
        let use = TemplateAttachment(message: header.id, thread: header.threadID, template: template,
                                     similarity: TemplateSimilarity(threadType: h.threadType, brand: h.businessEntity))
        return try await addMessage(header, body: body, statusAfter: statusAfter, also: [.templateAttached(use)])
    }

    /// Counts the template uses whose message went out in `events` (called
    /// for every batch a thread recorded). A count that cannot be journaled
    /// is logged, never fails the operation that sent the message.
    func countTemplateSends(in events: [SequencedEvent]) {
        guard !state.templateUsage.pending.isEmpty else { return }
        var sent: [TemplateAttachment] = []
        for e in events {
            let message: MessageID
            switch e.event {
            case .templateAttached(let a) where state.outbox[a.message] == nil:
                message = a.message  // not for a gateway: out the moment it is stored
            case .outboxReported(let m, _, _, .sent, _):
                message = m
            case .deliveryStatusChanged(let m, _, let s, _) where s == .sent || s == .delivered || s == .read:
                message = m
            default:
                continue
            }
            if let use = state.templateUsage.pending[message], !sent.contains(use) { sent.append(use) }
        }
        guard !sent.isEmpty else { return }
        do {
            try commit(sent.map(EngineEvent.templateUsed))
        } catch {
            logger.error("could not count a template use", metadata: ["error": "\(ErrorText.describe(error))"])
        }
    }

    /// Real sends per template in threads of this type and brand.
    public func similarTemplateUses(_ similarity: TemplateSimilarity) -> [TemplateID: Int] {
        state.templateUsage.similar[similarity] ?? [:]
    }

    /// The variables a template renders with on `thread`, written by `agent` on `channel`.
    public func templateValues(thread: ThreadID, agent: ContactID?, channel: ChannelID?) async -> [String: JSONValue]? {
        guard let v = await self.thread(thread) else { return nil }
        let h = v.header
        return TemplateContext.values(thread: h, customer: h.customerID.flatMap { state.index.customers[$0] },
                                      order: h.orderID.flatMap { state.index.orders[$0] },
                                      agent: agent.flatMap { state.contacts[$0] },
                                      channel: channel.flatMap { state.channels[$0] }, brand: h.businessEntity)
    }

    // MARK: Merge and split

    /// The thread that holds `thread`'s conversation now (itself unless merged).
    public func survivor(of thread: ThreadID) -> ThreadID? {
        state.threadLinks.mergedInto[thread].map { _ in state.threadLinks.survivor(of: thread) }
    }

    /// The thread a split thread came from.
    public func splitSource(of thread: ThreadID) -> ThreadID? { state.threadLinks.splitFrom[thread] }

    /// Merges `merged` into `survivor` (see `ThreadMerging` for what
    /// combines): one journaled event, then a notice in each timeline.
    public func mergeThread(_ merged: ThreadID, into survivor: ThreadID, by person: ContactID?) async throws -> CaseChange {
        // First, so that the checks below and the plan see the same state (nothing runs between them after this).
        try await settleHistory([merged, survivor])
        if let s = state.threadLinks.mergedInto[merged] {
            throw EngineError(.conflict, "thread \(merged) was already merged into \(state.threadLinks.survivor(of: s))")
        }
        if state.threadLinks.mergedInto[survivor] != nil {
            throw EngineError(.conflict, "thread \(survivor) was merged into \(state.threadLinks.survivor(of: survivor)); merge into that thread")
        }
        guard let a = actor(merged) else { throw EngineError.notFound("thread", merged) }
        guard let b = actor(survivor) else { throw EngineError.notFound("thread", survivor) }
        let now = clock.now()
        // Thread actors run on this executor: reading both states, planning,
        // journaling and applying happen with nothing in between.
        let aState = withHistory(await a.state), bState = withHistory(await b.state)
        let plan = try ThreadMerging.merge(aState, into: bState, by: person, at: now)
        var events = try commit([.threadsMerged(plan)])
        for (id, actor) in [(merged, a), (survivor, b)] where !(await actor.applyJournaled(events[0])) {
            logger.error("a thread had moved past its merge event", metadata: ["thread.id": "\(id)"])
        }
        let who = person.flatMap { state.contacts[$0]?.name }.map { " by \($0)" } ?? ""
        let meta: [String: JSONValue] = ["kind": .string("thread_merged"), "merged_thread_id": .string(merged.description),
                                         "survivor_thread_id": .string(survivor.description)]
        events += try await caseNotice(b, now, "Thread \"\(aState.header.threadSubject)\" (\(merged)) was merged into this thread\(who): "
                                       + "its \(plan.messages.count) messages, references and tasks are here now.", meta)
        events += try await caseNotice(a, now, "This thread was merged into \"\(bState.header.threadSubject)\" (\(survivor))\(who); "
                                       + "it continues there.", meta)
        if state.board.assignee[survivor] == nil, let t = state.board.team[survivor] { events += try drainQueue(t) }
        if let t = state.board.team[merged] { events += try drainQueue(t) }
        await notifyAgents(events)
        return CaseChange(thread: survivor, events: events)
    }

    /// Splits `message` and the messages after it off `source` into a new
    /// thread (see `ThreadMerging`), with the source's team and person.
    public func splitThread(_ source: ThreadID, from message: MessageID, by person: ContactID?) async throws -> CaseChange {
        try await settleHistory([source])  // first: see `mergeThread`
        if state.threadLinks.mergedInto[source] != nil {
            throw EngineError(.conflict, "thread \(source) was merged into \(state.threadLinks.survivor(of: source)); split that thread")
        }
        guard let src = actor(source) else { throw EngineError.notFound("thread", source) }
        let now = clock.now()
        let before = withHistory(await src.state)
        let plan = try ThreadMerging.split(before, from: message, newID: ThreadID(), by: person, at: now)
        var events = try commit([.threadSplit(plan)])
        let newActor = adopt(ThreadState(split: plan, seq: events[0].seq))
        if !(await src.applyJournaled(events[0])) {
            logger.error("a thread had moved past its split event", metadata: ["thread.id": "\(source)"])
        }
        let team = state.board.team[source]
        let agent = state.board.assignee[source].flatMap { state.contacts[$0] == nil ? nil : $0 }
        if team != nil || agent != nil {
            events += try commit([.threadAssigned(thread: plan.newThread.id, team: team, agent: agent,
                                                  reason: "split from thread \(source)")])
        }
        let who = person.flatMap { state.contacts[$0]?.name }.map { " by \($0)" } ?? ""
        let meta: [String: JSONValue] = ["kind": .string("thread_split"), "source_thread_id": .string(source.description),
                                         "new_thread_id": .string(plan.newThread.id.description),
                                         "from_message_id": .string(message.description)]
        events += try await caseNotice(src, now, "\(plan.messages.count) messages, from \(message) on, were split off\(who) "
                                       + "into thread \"\(plan.newThread.threadSubject)\" (\(plan.newThread.id)).", meta)
        events += try await caseNotice(newActor, now, "Split off\(who) from thread \"\(before.header.threadSubject)\" (\(source)).", meta)
        await notifyAgents(events)
        return CaseChange(thread: plan.newThread.id, events: events)
    }

    /// A `system_notification` in a thread's timeline.
    func caseNotice(_ actor: ThreadActor, _ now: Date, _ text: String, _ metadata: [String: JSONValue]) async throws -> [SequencedEvent] {
        let header = MessageHeader(threadID: await actor.id, channelID: nil, channelType: .internalComment,
                                   messageType: .systemNotification, deliveryStatus: .delivered, createdAt: now)
        let events = try await actor.add(header, body: MessageBody(messageContent: text, metadata: metadata), statusAfter: nil)
        project(events)
        return events
    }

    // MARK: Satisfaction surveys

    /// The thread's latest satisfaction survey.
    public func satisfaction(_ thread: ThreadID) -> CSATRecord? { state.csat[thread] }

    /// Asks for a score on each thread that `events` resolved, where the
    /// customer's channel has `csat_survey: true`. Never fails the change
    /// that resolved the thread: a question that cannot be journaled is logged.
    func satisfactionSurveys(after events: [SequencedEvent]) async -> [SequencedEvent] {
        var resolved: [ThreadID] = []
        for e in events {
            if case .threadChanged(let t, let c, _) = e.event, c.status == .resolved, !resolved.contains(t) { resolved.append(t) }
        }
        var out: [SequencedEvent] = []
        for t in resolved {
            do {
                out += try await askSatisfaction(t)
            } catch {
                logger.error("could not ask for a satisfaction score", metadata: ["thread.id": "\(t)", "error": "\(ErrorText.describe(error))"])
            }
        }
        return out
    }

    /// One question, on the channel the customer last wrote on, as an
    /// `auto_response` through the outbox. At most one per thread per answer
    /// window. WhatsApp allows free text only within 24 hours of the
    /// customer's last message: outside it the timeline says why none went out.
    private func askSatisfaction(_ thread: ThreadID) async throws -> [SequencedEvent] {
        guard state.threadLinks.mergedInto[thread] == nil, let actor = actor(thread) else { return [] }
        let s = await actor.state
        guard s.header.status == .resolved,
              let last = s.messages.last(where: { $0.messageType == .incoming && $0.channelID != nil }),
              let channel = state.channels[last.channelID!], channel.isActive, channel.channelType.deliveredByGateway,
              let settings = CSATSettings.of(channel) else { return [] }
        let now = clock.now()
        if let r = state.csat[thread], now <= r.request.until { return [] }
        if channel.channelType == .whatsappBusiness, !WhatsAppWindow.isOpen(s.messages, channel: channel.id, at: now) {
            return try await caseNotice(actor, now, "No satisfaction question was sent: WhatsApp's 24-hour window is closed.",
                                        ["kind": .string("csat_skipped")])
        }
        let header = MessageHeader(threadID: thread, channelID: channel.id, channelType: channel.channelType,
                                   messageType: .autoResponse, recipientExternal: last.senderExternal,
                                   subject: channel.channelType == .emailOutlook ? "Uw mening over: \(s.header.threadSubject)" : nil,
                                   deliveryStatus: .pending, createdAt: now)
        let body = MessageBody(messageContent: settings.text(brand: s.header.businessEntity), metadata: ["kind": .string("csat_request")])
        var events = try await actor.add(header, body: body, statusAfter: nil)
        project(events)
        let request = CSATRequest(thread: thread, message: header.id, channel: channel.id, agent: state.board.assignee[thread],
                                  at: now, until: now.addingTimeInterval(settings.window))
        events += try commit([.csatRequested(request)])
        return events
    }

    /// Captures a customer's 1–5 answer to a pending question on a resolved
    /// or closed thread: the message is recorded on that thread, the score
    /// on the survey, and the thread stays as it is (no reopening, no
    /// response clock). nil when the message is not such an answer; it then
    /// goes through matching as any other.
    func captureSatisfaction(_ m: InboundMessage, channel: Channel, match: MatchResult,
                             key: EngineState.ExternalKey) async throws -> IngestResult? {
        guard !state.csat.isEmpty, m.attachments.isEmpty, let score = CSATScore.read(m.messageContent) else { return nil }
        var candidates: [ThreadID] = []
        switch match.decision {
        case .existing(let id), .reopen(let id): candidates.append(id)
        case .new: break
        }
        let refs = ThreadState.references(of: m) + m.inReplyTo.map { ExternalReference(.emailMessageID, $0) }
        candidates += refs.compactMap { state.index.thread(forReference: $0)?.id }
        guard let thread = candidates.map({ state.threadLinks.survivor(of: $0) }).first(where: { t in
            guard let r = state.csat[t], r.awaitsAnswer(at: m.receivedAt), let status = state.index.status(of: t) else { return false }
            return !status.isOpen
        }), let record = state.csat[thread], let actor = actor(thread) else { return nil }

        let messageID = MessageID()
        state.external[key] = EngineState.MessageRef(thread: thread, message: messageID, seq: 0)
        let known = await actor.state.header.externalReferences
        var metadata = m.metadata
        metadata["csat_score"] = .number(Double(score))
        let header = MessageHeader(id: messageID, threadID: thread, channelID: channel.id, channelType: channel.channelType,
                                   messageType: .incoming, senderExternal: m.senderExternal, subject: m.subject,
                                   externalMessageID: m.externalMessageID, deliveryStatus: .delivered, createdAt: m.receivedAt)
        let body = MessageBody(messageContent: m.messageContent, messageHtml: m.messageHtml, attachments: m.attachments, metadata: metadata)
        let answer = CSATAnswer(thread: thread, message: messageID, score: score, at: m.receivedAt, agent: record.request.agent)
        let newRefs = ThreadState.references(of: m).filter { !known.contains($0) }
        let events: [SequencedEvent]
        do {
            events = try await actor.record(newRefs.map { .referenceAdded(thread: thread, reference: $0) }
                                             + [.messageAdded(header: header, body: body, responseDueAt: nil), .csatCaptured(answer)])
        } catch {
            state.external[key] = nil
            throw error
        }
        project(events)
        return IngestResult(threadID: thread, messageID: messageID, seq: events.last!.seq, duplicate: false,
                            rule: match.rule)
    }
}

extension MatchIndex {
    /// A thread's status as the index knows it.
    func status(of t: ThreadID) -> ThreadStatus? { rows[t]?.status }
}

extension Supervisor {
    // MARK: Rules naming teams

    /// Refuses rules whose `default_assignee` or `assign_to` names no team
    /// (by id, name or slug: `TeamReferenceMatch`), naming the field and the
    /// teams there are. `escalation_to` may name a team or a role and is
    /// resolved when a thread escalates.
    public func checkTeamReferences(_ rules: AutoAssignmentRules?, in field: String) throws {
        guard let rules else { return }
        for (path, team) in rules.teamReferences where state.board.teamID(named: team) == nil {
            let known = state.teams.values.map { "\($0.name) (\(TeamReferenceMatch.slug($0.name)))" }.sorted()
            throw EngineError.invalid("\(field)\(path): '\(team)' names no team; use a team's id, name or slug"
                + (known.isEmpty ? " (there are no teams yet)" : " — teams: \(known.joined(separator: ", "))"))
        }
    }
}
