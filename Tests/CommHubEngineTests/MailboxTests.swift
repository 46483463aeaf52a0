import CommHubDomain
@testable import CommHubEngine
import CommHubWire
import Foundation
import Testing

/// What a mail gateway brings beside customers' mail, through the real
/// supervisor: customers from senders, mail the mailbox sent (logged once,
/// CommHub's own recognised), removals, calendar follow-up tasks, and the
/// gateway's state per channel with its sealed secrets and its restore.
@Suite struct MailboxTests {
    static func mailChannel(_ w: World, mailbox: Bool = true) async -> Channel {
        var c = Channel(channelType: .emailOutlook, channelName: "mail", businessEntity: .chargecars,
                        configuration: mailbox ? ["mailbox": .string("support@chargecars.nl"), "tenant_id": .string("t"),
                                                         "client_id": .string("c")] : [:])
        c.isActive = true
        _ = try! await w.sup.upsertChannel(c)
        return c
    }

    static func mail(_ c: Channel, id: String, from: ExternalParty, conversation: String, messageID: String, inReplyTo: [String] = [],
                     at: Date) -> InboundMessage {
        InboundMessage(channelID: c.id, externalMessageID: id, threadReference: ExternalReference(.outlookConversation, conversation),
                       inReplyTo: inReplyTo, internetMessageID: messageID, senderExternal: from, subject: "Laadpaal",
                       messageContent: "Hallo", receivedAt: at)
    }

    @Test func anUnknownSenderBecomesACustomerOnAMailboxChannelOnly() async throws {
        let w = World()
        let c = await Self.mailChannel(w)
        let r = try await w.sup.ingest(Self.mail(c, id: "m1", from: ExternalParty(name: "Jan Jansen", email: "Jan@Klant.nl"),
                                                 conversation: "conv-1", messageID: "<m1@klant.nl>", at: w.clock.now()))
        let customer = try #require(await w.sup.state.index.customer(email: EmailAddress("jan@klant.nl")!))
        #expect(customer.name == "Jan Jansen")
        #expect(try await w.header(r.threadID).customerID == customer.id)
        // A channel without a mailbox (or with auto_create_customers false) creates nobody.
        let plain = await Self.mailChannel(w, mailbox: false)
        _ = try await w.sup.ingest(Self.mail(plain, id: "m2", from: ExternalParty(email: "piet@klant.nl"), conversation: "conv-2",
                                             messageID: "<m2@klant.nl>", at: w.clock.now()))
        #expect(await w.sup.state.index.customer(email: EmailAddress("piet@klant.nl")!) == nil)
        // Nor for one of our own people.
        let team = await w.team("support")
        _ = try await w.agent("Sanne", [team])
        _ = try await w.sup.ingest(Self.mail(c, id: "m3", from: ExternalParty(email: "sanne@chargecars.nl"), conversation: "conv-3",
                                             messageID: "<m3@x>", at: w.clock.now()))
        #expect(await w.sup.state.index.customer(email: EmailAddress("sanne@chargecars.nl")!) == nil)
    }

    @Test func mailCommHubSentIsRecognisedAndNotLoggedTwice() async throws {
        let w = World()
        let c = await Self.mailChannel(w)
        let inbound = try await w.sup.ingest(Self.mail(c, id: "in-1", from: ExternalParty(email: "jan@klant.nl"), conversation: "conv-1",
                                                       messageID: "<in-1@klant.nl>", at: w.clock.now()))
        let answer = MessageHeader(threadID: inbound.threadID, channelID: c.id, channelType: .emailOutlook, messageType: .outgoing,
                                   deliveryStatus: .pending, createdAt: w.clock.now())
        _ = try await w.sup.addMessage(answer, body: MessageBody(messageContent: "Komt goed"))
        let claims = try await w.sup.claimOutgoing(channels: [c.id], gateway: "gw", max: 1, lease: .seconds(60))
        #expect(claims.count == 1)
        _ = try await w.sup.reportOutgoing(message: answer.id, gateway: "gw", attempt: 1, report: .sent(providerMessageID: nil))
        // Its copy in Sent Items, a new conversation id and Message-ID: learnt, not logged.
        var copy = Self.mail(c, id: "sent-1", from: ExternalParty(email: "support@chargecars.nl"), conversation: "conv-1",
                             messageID: "<commhub.\(answer.id)@chargecars.nl>", inReplyTo: ["<in-1@klant.nl>"], at: w.clock.now())
        copy.threadReference = ExternalReference(.outlookConversation, "conv-1")
        let outcome = try await w.sup.recordOutgoingMail(OutgoingMail(message: copy, recipient: ExternalParty(email: "jan@klant.nl"),
                                                                      commhubMessageID: answer.id))
        guard case .updated = outcome else { Issue.record("\(outcome)"); return }
        let view = try #require(await w.sup.thread(inbound.threadID))
        #expect(view.messages.count == 2)
        #expect(view.messages.last?.externalMessageID == "sent-1")
        #expect(view.header.externalReferences.contains(ExternalReference(.emailMessageID, "<commhub.\(answer.id)@chargecars.nl>")))
        #expect(await w.sup.state.outbox[answer.id] == nil, "the mailbox's copy ends the outbox's watch")
        // The same copy again (a repeated notification, a delta round): a duplicate.
        guard case .duplicate(let d) = try await w.sup.recordOutgoingMail(OutgoingMail(message: copy, recipient: nil, commhubMessageID: answer.id))
        else { Issue.record("not a duplicate"); return }
        #expect(d.messageID == answer.id)
        // A customer's answer to it matches by In-Reply-To, whatever its conversation.
        let reply = try await w.sup.ingest(Self.mail(c, id: "in-2", from: ExternalParty(email: "other@klant.nl"), conversation: "conv-x",
                                                     messageID: "<in-2@klant.nl>", inReplyTo: ["<commhub.\(answer.id)@chargecars.nl>"],
                                                     at: w.clock.now()))
        #expect(reply.threadID == inbound.threadID)
        #expect(reply.rule == .externalReference)
    }

    @Test func mailAPersonSentFromOutlookIsLoggedAsOutgoingInItsThread() async throws {
        let w = World()
        let c = await Self.mailChannel(w)
        let inbound = try await w.sup.ingest(Self.mail(c, id: "in-1", from: ExternalParty(email: "jan@klant.nl"), conversation: "conv-1",
                                                     messageID: "<in-1@klant.nl>", at: w.clock.now()))
        #expect(try await w.header(inbound.threadID).responseDueAt != nil)
        let sent = Self.mail(c, id: "sent-7", from: ExternalParty(name: "Support", email: "support@chargecars.nl"), conversation: "conv-1",
                             messageID: "<abc@chargecars.nl>", inReplyTo: ["<in-1@klant.nl>"], at: w.clock.now())
        guard case .created(let r) = try await w.sup.recordOutgoingMail(OutgoingMail(message: sent, recipient: ExternalParty(email: "jan@klant.nl"),
                                                                                    commhubMessageID: nil)) else {
            Issue.record("not created"); return
        }
        #expect(r.threadID == inbound.threadID)
        let view = try #require(await w.sup.thread(inbound.threadID))
        let logged = try #require(view.messages.last)
        #expect(logged.messageType == .outgoing)
        #expect(logged.deliveryStatus == .sent)
        #expect(await w.sup.state.outbox[logged.id] == nil, "never sent again")
        #expect(view.header.responseDueAt == nil, "an answer from Outlook stops the clock")
        // Mail to a customer with no thread yet opens one, waiting for the customer.
        guard case .created(let fresh) = try await w.sup.recordOutgoingMail(OutgoingMail(
            message: Self.mail(c, id: "sent-8", from: ExternalParty(email: "support@chargecars.nl"), conversation: "conv-9",
                               messageID: "<new@chargecars.nl>", at: w.clock.now()),
            recipient: ExternalParty(email: "nieuw@klant.nl"), commhubMessageID: nil)) else { Issue.record("no thread"); return }
        #expect(try await w.header(fresh.threadID).status == .waitingCustomer)
        // An unknown commhub id is a person's mail after all.
        guard case .created = try await w.sup.recordOutgoingMail(OutgoingMail(
            message: Self.mail(c, id: "sent-9", from: ExternalParty(email: "support@chargecars.nl"), conversation: "conv-1",
                               messageID: "<x@chargecars.nl>", at: w.clock.now()),
            recipient: nil, commhubMessageID: MessageID())) else { Issue.record("unknown commhub id"); return }
    }

    @Test func aRemovalMarksAKnownMessageAndNeverCreatesOne() async throws {
        let w = World()
        let c = await Self.mailChannel(w)
        let r = try await w.sup.ingest(Self.mail(c, id: "in-1", from: ExternalParty(email: "jan@klant.nl"), conversation: "conv-1",
                                                 messageID: "<in-1@klant.nl>", at: w.clock.now()))
        guard case .updated = try await w.sup.recordRemoval(MessageRemoval(channelID: c.id, externalMessageID: "in-1", reason: "deleted",
                                                                           folder: "Inbox", at: w.clock.now())) else {
            Issue.record("not annotated"); return
        }
        let body = try #require(try w.engine.bodies.body(for: r.messageID))
        #expect(body.metadata["removed_at_provider"] == .object(["reason": .string("deleted"), "folder": .string("Inbox")]))
        guard case .ignored = try await w.sup.recordRemoval(MessageRemoval(channelID: c.id, externalMessageID: "never-seen", reason: nil,
                                                                           folder: nil, at: nil)) else {
            Issue.record("an unknown message must be ignored"); return
        }
        #expect(try #require(await w.sup.thread(r.threadID)).messages.count == 1)
    }

    @Test func calendarFollowUpsCreateUpdateAndCancelOneTask() async throws {
        let w = World()
        let c = await Self.mailChannel(w)
        let team = await w.team("planning")
        let sanne = try await w.agent("Sanne", [team])
        let customer = Customer(name: "Jan", emails: [EmailAddress("jan@klant.nl")!])
        _ = try await w.sup.upsertCustomer(customer)
        let order = Order(orderNumber: "12345", customerID: customer.id, brand: .chargecars)
        _ = try await w.sup.upsertOrder(order)
        let thread = try await w.ingest(c, ref: ExternalReference(.outlookConversation, "conv"), from: ExternalParty(email: "jan@klant.nl"),
                                        subject: "order #12345")
        let due = Date(iso8601: "2026-12-01T09:30:00Z")!
        var f = CalendarFollowUp(channelID: c.id, eventID: "EVT-1", title: "Jan terugbellen over order #12345", description: "Bel hem",
                                 organizerEmail: "SANNE@chargecars.nl", dueAt: due, attendeeEmails: ["jan@klant.nl"])
        guard case .updated = try await w.sup.recordFollowUp(f) else { Issue.record("no task"); return }
        let id = CalendarFollowUp.taskID(channel: c.id, event: "EVT-1")
        var task = try #require(await w.sup.state.tasks[id])
        #expect(task.taskType == .followUp)
        #expect(task.assignedToContactID == sanne.id)
        #expect(task.orderID == order.id)
        #expect(task.threadID == thread.threadID)
        #expect(task.dueDate == "2026-12-01")
        #expect(task.dueTime == "10:30")  // Amsterdam, winter time
        #expect(task.status == .open)
        #expect(await w.sup.state.tasks.count == 1)
        // The same again changes nothing; a new time moves the task.
        guard case .unchanged = try await w.sup.recordFollowUp(f) else { Issue.record("a repeat must change nothing"); return }
        f.dueAt = Date(iso8601: "2026-12-02T13:00:00Z")
        _ = try await w.sup.recordFollowUp(f)
        task = try #require(await w.sup.state.tasks[id])
        #expect(task.dueDate == "2026-12-02" && task.dueTime == "14:00")
        #expect(await w.sup.state.tasks.count == 1)
        // Cancelled: the task is cancelled; once more changes nothing.
        f.cancelled = true
        guard case .updated = try await w.sup.recordFollowUp(f) else { Issue.record("not cancelled"); return }
        #expect(await w.sup.state.tasks[id]?.status == .cancelled)
        guard case .unchanged = try await w.sup.recordFollowUp(f) else { Issue.record("cancel twice"); return }
        // An event that never was a follow-up, cancelled: nothing to do.
        guard case .ignored = try await w.sup.recordFollowUp(CalendarFollowUp(channelID: c.id, eventID: "other", title: "", cancelled: true))
        else { Issue.record("ignored expected"); return }
    }

    @Test func gatewayStateIsJournaledBoundedAndItsSecretsSealed() async throws {
        let w = World()
        let c = await Self.mailChannel(w)
        // A stand-in sealing: reversible, so the test sees what the engine stores.
        let seal: @Sendable ([String: String]) throws -> [UInt8] = { Array(try JSONEncoder().encode($0).reversed()) }
        let open: @Sendable ([UInt8]) throws -> [String: String] = { try JSONDecoder().decode([String: String].self, from: Data($0.reversed())) }
        let seq = try await w.sup.changeGatewayState(channel: c.id, set: ["sub:a": .object(["target": .string("folder:inbox")]),
                                                                          "delta:folder:inbox": .string("https://g/delta?$deltatoken=1")],
                                                     remove: [], secrets: ["sub:a": "s3cr3t"], open: open, seal: seal)
        #expect(seq != nil)
        _ = try await w.sup.changeGatewayState(channel: c.id, set: [:], remove: [], secrets: ["sub:b": "other"], open: open, seal: seal)
        var state = try #require(await w.sup.gatewayState(c.id))
        #expect(state.values.count == 2)
        #expect(try open(Array(state.sealedSecrets!)) == ["sub:a": "s3cr3t", "sub:b": "other"])
        // Nothing to change: nothing journaled.
        #expect(try await w.sup.changeGatewayState(channel: c.id, set: ["sub:a": .object(["target": .string("folder:inbox")])], remove: [],
                                                   secrets: [:], open: open, seal: seal) == nil)
        _ = try await w.sup.changeGatewayState(channel: c.id, set: [:], remove: ["sub:a"], secrets: ["sub:a": nil], open: open, seal: seal)
        state = try #require(await w.sup.gatewayState(c.id))
        #expect(state.values.keys.sorted() == ["delta:folder:inbox"])
        #expect(try open(Array(state.sealedSecrets!)) == ["sub:b": "other"])
        // Bounds: refused whole, nothing changed.
        let big = JSONValue.string(String(repeating: "x", count: GatewayStateLimits.maxValueBytes))
        await #expect(throws: EngineError.self) {
            try await w.sup.changeGatewayState(channel: c.id, set: ["big": big, "ok": .bool(true)], remove: [], secrets: [:], open: open, seal: seal)
        }
        await #expect(throws: EngineError.self) {
            try await w.sup.changeGatewayState(channel: c.id, set: [String(repeating: "k", count: 300): .bool(true)], remove: [], secrets: [:],
                                               open: open, seal: seal)
        }
        await #expect(throws: EngineError.self) {
            try await w.sup.changeGatewayState(channel: ChannelID(), set: ["a": .bool(true)], remove: [], secrets: [:], open: open, seal: seal)
        }
        #expect(try #require(await w.sup.gatewayState(c.id)) == state)
        // Replay of the journal rebuilds it; so does a snapshot image.
        var restored = RestoredEngine()
        for e in await w.events() { restored.replay(e) }
        #expect(restored.state.gatewayStates[c.id] == state)
        let image = SupervisorImage(state: await w.sup.state, startSeq: 0, watermark: 1)
        let decoded = try JSONDecoder().decode(SupervisorImage.self, from: JSONEncoder().encode(image))
        #expect(EngineState.rebuilt(from: decoded, threads: [:]).gatewayStates[c.id] == state)
    }

    @Test func aLearntProviderIdSurvivesReplay() async throws {
        let w = World()
        let c = await Self.mailChannel(w)
        let inbound = try await w.sup.ingest(Self.mail(c, id: "in-1", from: ExternalParty(email: "jan@klant.nl"), conversation: "conv-1",
                                                       messageID: "<in-1@klant.nl>", at: w.clock.now()))
        let answer = MessageHeader(threadID: inbound.threadID, channelID: c.id, channelType: .emailOutlook, messageType: .outgoing,
                                   deliveryStatus: .pending, createdAt: w.clock.now())
        _ = try await w.sup.addMessage(answer, body: MessageBody(messageContent: "Komt goed"))
        _ = try await w.sup.claimOutgoing(channels: [c.id], gateway: "gw", max: 1, lease: .seconds(60))
        _ = try await w.sup.reportOutgoing(message: answer.id, gateway: "gw", attempt: 1, report: .sent(providerMessageID: nil))
        _ = try await w.sup.recordOutgoingMail(OutgoingMail(
            message: Self.mail(c, id: "sent-1", from: ExternalParty(email: "support@chargecars.nl"), conversation: "conv-1",
                               messageID: "<commhub.\(answer.id)@chargecars.nl>", at: w.clock.now()),
            recipient: nil, commhubMessageID: answer.id))
        var restored = RestoredEngine()
        for e in await w.events() { restored.replay(e) }
        #expect(restored.threads[inbound.threadID]?.messages.last?.externalMessageID == "sent-1")
        #expect(restored.state.external[EngineState.ExternalKey(channel: c.id, externalID: "sent-1")]?.message == answer.id)
    }
}
