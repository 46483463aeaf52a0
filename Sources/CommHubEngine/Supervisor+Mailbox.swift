import CommHubDomain
import CommHubWire
import Foundation

/// What a mail gateway brings beside customers' messages: new customers
/// from mail senders, mail the mailbox sent itself (Sent Items), messages
/// gone from a folder at the provider, calendar follow-ups, and the
/// gateway's own state per channel.
extension Supervisor {
    // MARK: Customers from mail

    /// The customer a mail comes from, created when the directory does not
    /// know the address yet: on an `email_outlook` channel connected to a
    /// mailbox (`mailbox`, `tenant_id` and `client_id` set: a channel still being set up creates
    /// nobody) unless its `auto_create_customers` is false.
    /// (An e-mail address is an identity; a phone number on WhatsApp or SMS
    /// is left to the directory.) Nobody is created for an address of one of our own people.
    func mailCustomer(for sender: ExternalParty, channel: Channel) throws -> CustomerID? {
        guard channel.channelType == .emailOutlook,
              ["mailbox", "tenant_id", "client_id"].allSatisfy({ channel.configuration[$0]?.stringValue?.isEmpty == false }),
              channel.configuration["auto_create_customers"] != .bool(false),
              let email = sender.email.flatMap(EmailAddress.init) else { return nil }
        if let known = state.index.customer(email: email) { return known.id }
        guard contact(withEmail: email) == nil else { return nil }
        let name = sender.name.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : String($0.prefix(200)) }
            ?? String(email.normalized.prefix { $0 != "@" })
        let customer = Customer(name: name, emails: [email])
        try commit([.customerUpserted(customer)])
        return customer.id
    }

    /// The internal person with this e-mail address.
    func contact(withEmail email: EmailAddress) -> Contact? {
        state.contacts.values.first { $0.email.flatMap(EmailAddress.init) == email }
    }

    // MARK: Mail the mailbox sent

    /// Logs mail sent from the mailbox itself (a person answering in Outlook)
    /// as `outgoing` in its thread, `sent` and outside the outbox: it is
    /// never sent again. Mail CommHub sent itself (`commhubMessageID`) is not
    /// logged a second time: its message learns the provider's id, and the
    /// mail's conversation and Message-ID become references of the thread.
    /// The thread is found like an inbound message's, with the recipient as
    /// the customer; when none matches a new thread is opened.
    public func recordOutgoingMail(_ o: OutgoingMail) async throws -> IngestItemOutcome {
        let m = o.message
        let key = EngineState.ExternalKey(channel: m.channelID, externalID: m.externalMessageID)
        if let ref = try knownMessage(key) {
            var seq = ref.seq
            if seq == 0 { seq = await actor(ref.thread)?.seq(ofMessage: ref.message) ?? journal.lastAssignedSeq }
            return .duplicate(IngestResult(threadID: ref.thread, messageID: ref.message, seq: seq, duplicate: true, rule: nil))
        }
        guard let channel = state.channels[m.channelID] else { throw EngineError.notFound("channel", m.channelID) }
        guard channel.isActive else { throw EngineError(.conflict, "channel \(channel.channelName) is not active") }
        guard !m.externalMessageID.isEmpty else { throw EngineError.invalid("external_message_id must not be empty") }
        guard m.messageContent.utf8.count + (m.messageHtml?.utf8.count ?? 0) <= configuration.maxMessageBytes else {
            throw EngineError.invalid("message is larger than \(configuration.maxMessageBytes) bytes")
        }
        if let own = o.commhubMessageID, let thread = try knownThread(ofMessage: own),
           let learnt = try await learnProviderCopy(of: own, thread: thread, m, key: key) {
            return learnt
        }
        return try await logSentMail(o, channel: channel, key: key)
    }

    /// CommHub's own message, seen again in Sent Items.
    /// Nil when `own` is not an outgoing message of this channel (then the mail is logged as a person's).
    private func learnProviderCopy(of own: MessageID, thread: ThreadID, _ m: InboundMessage,
                                   key: EngineState.ExternalKey) async throws -> IngestItemOutcome? {
        guard let actor = actor(thread) else { return nil }
        // Reserved before the first await: a repeat arriving meanwhile is a duplicate.
        state.external[key] = EngineState.MessageRef(thread: thread, message: own, seq: 0)
        guard let header = await actor.message(own), header.channelID == m.channelID,
              header.messageType == .outgoing || header.messageType == .autoResponse else {
            state.external[key] = nil
            return nil
        }
        let known = await actor.state.header.externalReferences
        var events: [EngineEvent] = ThreadState.references(of: m).filter { !known.contains($0) }
            .map { .referenceAdded(thread: thread, reference: $0) }
        events.append(.messageAnnotated(message: own, thread: thread,
                                        annotation: .providerCopy(channelID: m.channelID, externalMessageID: m.externalMessageID,
                                                                  internetMessageID: m.internetMessageID),
                                        at: m.receivedAt))
        do {
            let recorded = try await actor.record(events)
            project(recorded)
            return .updated(seq: recorded.last!.seq)
        } catch {
            state.external[key] = nil
            throw error
        }
    }

    /// Mail a person sent from the mailbox: an outgoing message of its thread.
    private func logSentMail(_ o: OutgoingMail, channel: Channel, key: EngineState.ExternalKey) async throws -> IngestItemOutcome {
        let m = o.message
        // Matched like an inbound message, the customer being whom it was written to.
        var probe = m
        probe.senderExternal = o.recipient ?? ExternalParty()
        let match = configuration.matcher.match(probe, brand: channel.businessEntity, in: state.index)
        var early: [SequencedEvent] = []
        let threadID: ThreadID
        switch match.decision {
        case .existing(let id), .reopen(let id):
            threadID = id  // our own mail never reopens a resolved thread; it is logged there
        case .new:
            let subject = m.subject.flatMap { $0.isEmpty ? nil : $0 } ?? Self.subjectLine(from: m.messageContent)
            let decision = RoutingPlanner.plan(subject: m.subject, body: m.messageContent, requestedType: nil, requestedPriority: nil,
                                               channelRules: channel.autoAssignmentRules, globalRules: state.rules)
            let header = ThreadHeader(
                threadSubject: subject, threadType: decision.threadType, priority: decision.priority,
                status: .waitingCustomer, businessEntity: channel.businessEntity, channelType: channel.channelType,
                orderID: match.orderID, customerID: match.customerID, customerOrganizationID: match.organizationID,
                createdAt: m.receivedAt, externalReferences: ThreadState.references(of: m),
                requiredSkills: decision.skillMatching ? decision.requiredSkills : [])
            early = try open(header, routing: decision)
            threadID = header.id
        }
        guard let actor = actor(threadID) else { throw EngineError(.unavailable, "thread \(threadID) has no actor") }
        let messageID = MessageID()
        state.external[key] = EngineState.MessageRef(thread: threadID, message: messageID, seq: 0)
        let current = await actor.state.header
        var events: [EngineEvent] = ThreadState.references(of: m).filter { !current.externalReferences.contains($0) }
            .map { .referenceAdded(thread: threadID, reference: $0) }
        var change = ThreadChange()
        if current.customerID == nil, let c = match.customerID { change.customerID = c }
        if current.orderID == nil, let o = match.orderID { change.orderID = o }
        if current.customerOrganizationID == nil, let g = match.organizationID { change.customerOrganizationID = g }
        if !change.isEmpty { events.append(.threadChanged(thread: threadID, change: change, at: m.receivedAt)) }
        let sender = m.senderExternal.email.flatMap(EmailAddress.init).flatMap(contact(withEmail:))
        let header = MessageHeader(id: messageID, threadID: threadID, channelID: channel.id, channelType: channel.channelType,
                                   messageType: .outgoing, senderContactID: sender?.id, senderExternal: m.senderExternal,
                                   recipientExternal: o.recipient, subject: m.subject, externalMessageID: m.externalMessageID,
                                   deliveryStatus: .sent, createdAt: m.receivedAt)
        var metadata = m.metadata
        metadata["source"] = .string("mailbox")
        events.append(.messageAdded(header: header, body: MessageBody(messageContent: m.messageContent, messageHtml: m.messageHtml,
                                                                      attachments: m.attachments, metadata: metadata),
                                    responseDueAt: nil))
        let recorded: [SequencedEvent]
        do {
            recorded = try await actor.record(events)
        } catch {
            state.external[key] = nil
            await notifyAgents(early)
            throw error
        }
        project(recorded)
        await notifyAgents(early + recorded)
        return .created(IngestResult(threadID: threadID, messageID: messageID, seq: recorded.last!.seq, duplicate: false,
                                     rule: match.rule))
    }

    // MARK: Messages gone at the provider

    /// Notes on a known message that it left its folder at the provider; an unknown one is ignored (never created).
    public func recordRemoval(_ r: MessageRemoval) async throws -> IngestItemOutcome {
        guard state.channels[r.channelID] != nil else { throw EngineError.notFound("channel", r.channelID) }
        guard let ref = try knownMessage(EngineState.ExternalKey(channel: r.channelID, externalID: r.externalMessageID)) else {
            return .ignored(reason: "no message with external_message_id \(r.externalMessageID) on channel \(r.channelID)")
        }
        return .updated(seq: try await annotate(ref.message, .removedAtProvider(reason: r.reason, folder: r.folder)))
    }

    // MARK: Calendar follow-ups

    /// Creates, updates or cancels the `follow_up` task of a calendar event:
    /// assigned to the organiser (the internal person with that e-mail),
    /// linked to the order named in the event (else the customer's order)
    /// and to the open thread of that order or customer, due at the event's
    /// start in the business calendar's time zone.
    public func recordFollowUp(_ f: CalendarFollowUp) throws -> IngestItemOutcome {
        guard let channel = state.channels[f.channelID] else { throw EngineError.notFound("channel", f.channelID) }
        let id = CalendarFollowUp.taskID(channel: f.channelID, event: f.eventID)
        let existing = state.tasks[id]
        if f.cancelled {
            guard var task = existing else { return .ignored(reason: "no follow-up task for calendar event \(f.eventID)") }
            guard task.status != .cancelled, task.status != .completed else { return .unchanged }
            task.status = .cancelled
            task.completionNotes = "The calendar event was cancelled, deleted or no longer marks a follow-up."
            return .updated(seq: try commit([.taskUpserted(task)]).last!.seq)
        }
        let organiser = f.organizerEmail.flatMap(EmailAddress.init).flatMap(contact(withEmail:))
        let customer = f.attendeeEmails.lazy.compactMap(EmailAddress.init).compactMap { self.state.index.customer(email: $0) }.first
        let text = f.title + "\n" + (f.description ?? "")
        let order = configuration.matcher.orderPattern.candidates(in: text).lazy.compactMap { self.state.index.order(number: $0) }.first
        let thread = order.flatMap { state.index.openThread(forOrder: $0.id) }
            ?? customer.flatMap { state.index.openThread(customer: $0.id, brand: channel.businessEntity) }
        var task = existing ?? InternalTask(id: id, taskTitle: f.title, taskType: .followUp, createdAt: clock.now())
        task.taskTitle = String(f.title.prefix(500))
        task.taskDescription = Self.followUpDescription(f, customer: customer)
        task.taskType = .followUp
        task.assignedToContactID = organiser?.id ?? existing?.assignedToContactID
        task.orderID = order?.id ?? existing?.orderID
        task.threadID = thread?.id ?? existing?.threadID
        if let due = f.dueAt {
            let (date, time) = Self.localDate(due, timeZone: configuration.sla.calendar.timeZoneIdentifier)
            task.dueDate = date
            task.dueTime = time
        }
        if task.status == .cancelled { task.status = .open }  // the event is back
        guard task != existing else { return .unchanged }
        return .updated(seq: try commit([.taskUpserted(task)]).last!.seq)
    }

    static func followUpDescription(_ f: CalendarFollowUp, customer: Customer?) -> String {
        var lines: [String] = []
        if let d = f.description?.trimmingCharacters(in: .whitespacesAndNewlines), !d.isEmpty { lines.append(String(d.prefix(4000))) }
        if let c = customer { lines.append("Customer: \(c.name)") }
        lines.append("From the Outlook calendar (event \(f.eventID.prefix(200))).")
        return lines.joined(separator: "\n")
    }

    /// `YYYY-MM-DD` and `HH:MM` of a moment in a time zone.
    static func localDate(_ date: Date, timeZone: String) -> (String, String) {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        let day = String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
        return (day, String(format: "%02d:%02d", c.hour ?? 0, c.minute ?? 0))
    }

    // MARK: Gateway state

    /// What gateways keep about a channel (nil: nothing).
    public func gatewayState(_ channel: ChannelID) -> GatewayState? { state.gatewayStates[channel] }

    /// Journals a change of a channel's gateway state, all or nothing,
    /// within `GatewayStateLimits`. Secrets are merged into the channel's
    /// sealed secrets here, in one turn of the supervisor, so two changes
    /// never lose each other's secrets (`open`/`seal` are the server's
    /// secret box). Returns nil when the change changes nothing.
    public func changeGatewayState(channel: ChannelID, set: [String: JSONValue], remove: [String], secrets: [String: String?],
                                   open: ([UInt8]) throws -> [String: String],
                                   seal: ([String: String]) throws -> [UInt8]) throws -> UInt64? {
        guard state.channels[channel] != nil else { throw EngineError.notFound("channel", channel) }
        try Self.checkGatewayStateChange(set: set, remove: remove, secrets: secrets)
        let current = state.gatewayStates[channel] ?? GatewayState()
        var sealed = current.sealedSecrets
        if !secrets.isEmpty {
            var clear: [String: String]
            do {
                clear = try current.sealedSecrets.map { try open(Array($0)) } ?? [:]
            } catch {
                throw EngineError(.unavailable, "the channel's gateway secrets cannot be opened (was the master key changed?)")
            }
            for (k, v) in secrets { clear[k] = v }
            do {
                sealed = clear.isEmpty ? nil : Data(try seal(clear))
            } catch {
                throw EngineError(.unavailable, "the gateway secrets could not be sealed")
            }
            guard (sealed?.count ?? 0) <= GatewayStateLimits.maxSealedSecretBytes else {
                throw EngineError.invalid("a channel's gateway secrets are at most \(GatewayStateLimits.maxSealedSecretBytes) bytes sealed")
            }
        }
        let change = GatewayStateChange(channel: channel, set: set, removed: remove.filter { current.values[$0] != nil && set[$0] == nil },
                                        sealedSecrets: sealed, secretsChanged: sealed != current.sealedSecrets)
        let next = current.applying(change)
        guard next != current else { return nil }
        guard next.values.count <= GatewayStateLimits.maxKeys else {
            throw EngineError(.conflict, "a channel's gateway state holds at most \(GatewayStateLimits.maxKeys) keys; remove some first")
        }
        return try commit([.gatewayStateChanged(change)]).last!.seq
    }

    static func checkGatewayStateChange(set: [String: JSONValue], remove: [String], secrets: [String: String?]) throws {
        guard set.count + remove.count + secrets.count <= GatewayStateLimits.maxKeysPerChange else {
            throw EngineError.invalid("one change sets or removes at most \(GatewayStateLimits.maxKeysPerChange) keys")
        }
        for k in Array(set.keys) + remove + Array(secrets.keys) {
            guard (1...GatewayStateLimits.maxKeyBytes).contains(k.utf8.count) else {
                throw EngineError.invalid("gateway state keys are 1 to \(GatewayStateLimits.maxKeyBytes) bytes ('\(k.prefix(40))…')")
            }
        }
        let encoder = JSONEncoder()
        for (k, v) in set {
            let bytes = (try? encoder.encode(v).count) ?? Int.max
            guard bytes <= GatewayStateLimits.maxValueBytes else {
                throw EngineError.invalid("gateway state value '\(k.prefix(60))' is \(bytes) bytes; at most \(GatewayStateLimits.maxValueBytes)")
            }
        }
        for (k, v) in secrets {
            guard (v?.unicodeScalars.count ?? 0) <= ChannelConfigurationSchema.maxSecretCharacters else {
                throw EngineError.invalid("gateway secret '\(k.prefix(60))' is longer than \(ChannelConfigurationSchema.maxSecretCharacters) characters")
            }
        }
    }
}
