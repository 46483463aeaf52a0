import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

/// The outbox state machine through the real supervisor: claims are leased
/// and journaled, reports move a message forward, nothing is resent by
/// itself unless the provider certainly did not take it.
@Suite("Outbox")
struct OutboxTests {
    struct Setup {
        let w = World()
        var whatsapp: Channel!
        var sms: Channel!
        var agent: Contact!
        var thread: ThreadID!

        static func make() async throws -> Setup {
            var s = Setup()
            let team = await s.w.team("support")
            s.agent = try await s.w.agent("A", [team])
            try await s.w.rules(AutoAssignmentRules(defaultAssignee: "support"))
            s.whatsapp = await s.w.channel(.whatsappBusiness)
            s.sms = await s.w.channel(.sms)
            s.thread = try await s.w.ingest(s.whatsapp, ref: .whatsapp(business: "1099", customer: "31612345678"),
                                            from: ExternalParty(waID: "31612345678"), body: "Hallo").threadID
            return s
        }

        func reply(_ text: String = "Antwoord", channel: Channel? = nil) async throws -> MessageID {
            let c = channel ?? whatsapp!
            let header = MessageHeader(threadID: thread, channelID: c.id, channelType: c.channelType, messageType: .outgoing,
                                       senderContactID: agent.id, deliveryStatus: .pending, createdAt: w.clock.now())
            _ = try await w.sup.addMessage(header, body: MessageBody(messageContent: text))
            return header.id
        }

        func entry(_ m: MessageID) async -> OutboxEntry? { await w.sup.state.outbox[m] }
        func header(_ m: MessageID) async -> MessageHeader? { await w.sup.thread(thread)?.messages.first { $0.id == m } }
        func claim(_ channel: Channel? = nil, gateway: String = "gw", lease: Duration = .seconds(60)) async throws -> [OutboxClaim] {
            try await w.sup.claimOutgoing(channels: [(channel ?? whatsapp!).id], gateway: gateway, max: 10, lease: lease)
        }
    }

    @Test func aClaimedMessageIsNotClaimedTwiceAndSentTakesTheProviderID() async throws {
        let s = try await Setup.make()
        let m = try await s.reply()
        #expect(await s.entry(m)?.stage == .queued)
        #expect(try await s.claim(s.sms).isEmpty, "another channel's gateway does not see it")
        let claims = try await s.claim()
        #expect(claims.map(\.message.id) == [m])
        #expect(claims.first?.entry.attempts == 1)
        #expect(claims.first?.entry.leaseUntil == s.w.clock.now().addingTimeInterval(60))
        #expect(try await s.claim().isEmpty, "under a lease nobody else gets it")
        let outcome = try await s.w.sup.reportOutgoing(message: m, gateway: "gw", attempt: 1, report: .sent(providerMessageID: "wamid.1"))
        guard case .recorded = outcome else { Issue.record("\(outcome)"); return }
        #expect(await s.header(m)?.deliveryStatus == .sent)
        #expect(await s.header(m)?.externalMessageID == "wamid.1")
        // The same report again changes nothing.
        let again = try await s.w.sup.reportOutgoing(message: m, gateway: "gw", attempt: 1, report: .sent(providerMessageID: "wamid.1"))
        guard case .ignored = again else { Issue.record("a repeated report was recorded"); return }
        // The provider's status webhook finds it by its id; delivered takes it out of the outbox.
        _ = try await s.w.sup.updateDelivery(channel: s.whatsapp.id, externalMessageID: "wamid.1", status: .delivered, at: s.w.clock.now())
        #expect(await s.header(m)?.deliveryStatus == .delivered)
        #expect(await s.entry(m) == nil)
    }

    @Test func receiptsBeforeTheSendReportAreHeldAndAppliedWhenItNamesTheID() async throws {
        let s = try await Setup.make()
        let m = try await s.reply()
        let other = try await s.reply()
        _ = try await s.claim()
        // The provider's webhook beats the gateway's report: delivered, then read, for an id nobody knows yet.
        for status in [DeliveryStatus.delivered, .read] {
            await #expect(throws: EngineError.self) {
                try await s.w.sup.updateDelivery(channel: s.whatsapp.id, externalMessageID: "wamid.early", status: status,
                                                 at: s.w.clock.now())
            }
        }
        // And a receipt about an id that never turns up, which goes stale.
        _ = try? await s.w.sup.updateDelivery(channel: s.whatsapp.id, externalMessageID: "wamid.late", status: .delivered,
                                              at: s.w.clock.now())
        #expect(await s.header(m)?.deliveryStatus == .pending)
        let outcome = try await s.w.sup.reportOutgoing(message: m, gateway: "gw", attempt: 1, report: .sent(providerMessageID: "wamid.early"))
        guard case .recorded = outcome else { Issue.record("\(outcome)"); return }
        #expect(await s.header(m)?.deliveryStatus == .read, "the held receipts apply in order once the id is known")
        #expect(await s.entry(m) == nil)
        // Past the holding time a receipt no longer applies.
        s.w.clock.advance(by: EarlyDeliveryReports.lifetime + 1)
        _ = try await s.w.sup.reportOutgoing(message: other, gateway: "gw", attempt: 1, report: .sent(providerMessageID: "wamid.late"))
        #expect(await s.header(other)?.deliveryStatus == .sent)
    }

    @Test func heldReceiptsAreBounded() {
        var held = EarlyDeliveryReports()
        let channel = ChannelID()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        for i in 0..<(EarlyDeliveryReports.maxKeys + 50) {
            held.hold(.init(channel: channel, externalID: "id-\(i)"), .init(status: .delivered, at: t0, heldAt: t0))
        }
        #expect(held.count == EarlyDeliveryReports.maxKeys)
        #expect(held.take(.init(channel: channel, externalID: "id-0"), now: t0).isEmpty, "the oldest went first")
        #expect(held.take(.init(channel: channel, externalID: "id-\(EarlyDeliveryReports.maxKeys + 49)"), now: t0).count == 1)
        for _ in 0..<10 { held.hold(.init(channel: channel, externalID: "many"), .init(status: .sent, at: t0, heldAt: t0)) }
        #expect(held.take(.init(channel: channel, externalID: "many"), now: t0).count == EarlyDeliveryReports.maxPerKey)
    }

    @Test func retryAfterWaitsItsTimeThenCountsAttemptsAndGivesUp() async throws {
        let s = try await Setup.make()
        let m = try await s.reply()
        for attempt in 1...5 {
            let claims = try await s.claim()
            #expect(claims.first?.entry.attempts == attempt)
            let until = s.w.clock.now().addingTimeInterval(30)
            _ = try await s.w.sup.reportOutgoing(message: m, gateway: "gw", attempt: attempt,
                                                 report: .retryAfter(until: until, code: "429", reason: "too many requests"))
            if attempt < 5 {
                #expect(await s.entry(m)?.stage == .waiting)
                #expect(try await s.claim().isEmpty, "not before Retry-After")
                s.w.clock.advance(by: 31)
            }
        }
        // The fifth retry_after is beyond the budget: failed, with a notice and a task.
        let e = await s.entry(m)
        #expect(e?.stage == .failed)
        #expect(e?.errorReason?.contains("gave up after 5 attempts") == true)
        #expect(await s.header(m)?.deliveryStatus == .failed)
        let view = try #require(await s.w.sup.thread(s.thread))
        #expect(view.messages.contains { $0.messageType == .systemNotification })
        let tasks = await s.w.sup.state.tasks.values.filter { $0.threadID == s.thread }
        #expect(tasks.count == 1 && tasks.first?.assignedToContactID == s.agent.id && tasks.first?.priority == .high)
        s.w.clock.advance(by: 3600)
        #expect(try await s.claim().isEmpty, "a failed message is never sent again by itself")
    }

    @Test func anExpiredLeaseMakesTheOutcomeUnknownAndALateDefinitiveReportStillCounts() async throws {
        let s = try await Setup.make()
        let m = try await s.reply()
        _ = try await s.claim(lease: .seconds(10))
        s.w.clock.advance(by: 9)
        #expect(await s.w.sup.expireLeases() == 0)
        s.w.clock.advance(by: 2)
        #expect(await s.w.sup.expireLeases() == 1)
        let e = await s.entry(m)
        #expect(e?.stage == .unknown)
        #expect(await s.header(m)?.deliveryStatus == .pending)
        let tasks = await s.w.sup.state.tasks.values.filter { $0.threadID == s.thread }
        #expect(tasks.count == 1 && tasks.first?.taskTitle.hasPrefix("Delivery unknown") == true)
        s.w.clock.advance(by: 3600)
        #expect(try await s.claim().isEmpty, "an unknown outcome is never resent by itself")
        // A report from another gateway or for another attempt is ignored; the claimer's late `sent` resolves it.
        guard case .ignored = try await s.w.sup.reportOutgoing(message: m, gateway: "other", attempt: 1, report: .sent(providerMessageID: "x"))
        else { Issue.record("a foreign report was recorded"); return }
        guard case .ignored = try await s.w.sup.reportOutgoing(message: m, gateway: "gw", attempt: 2, report: .sent(providerMessageID: "x"))
        else { Issue.record("a report for another attempt was recorded"); return }
        guard case .recorded = try await s.w.sup.reportOutgoing(message: m, gateway: "gw", attempt: 1, report: .sent(providerMessageID: "wamid.late"))
        else { Issue.record("the late definitive report was dropped"); return }
        #expect(await s.entry(m)?.stage == .sent)
        #expect(await s.header(m)?.externalMessageID == "wamid.late")
    }

    @Test func aPersonResendsAnUnknownMessageOnceAsANewMessage() async throws {
        let s = try await Setup.make()
        let m = try await s.reply("Komt u morgen?")
        _ = try await s.claim(lease: .seconds(5))
        s.w.clock.advance(by: 6)
        await s.w.sup.expireLeases()
        await #expect(throws: EngineError.self) {
            _ = try await s.w.sup.resendOutgoing(s.reply(), by: s.agent.id, body: MessageBody(messageContent: "x"))
        }
        let events = try await s.w.sup.resendOutgoing(m, by: s.agent.id, body: MessageBody(messageContent: "Komt u morgen?"))
        guard case .messageAdded(let copy, let body?, _)? = events.first?.event else { Issue.record("no new message"); return }
        #expect(copy.id != m && copy.deliveryStatus == .pending)
        #expect(body.metadata["resend_of"] == .string(m.description))
        #expect(await s.entry(m)?.resentAs == copy.id)
        #expect(try await s.claim().map(\.message.id).contains(copy.id))
        await #expect(throws: EngineError.self) {
            _ = try await s.w.sup.resendOutgoing(m, by: s.agent.id, body: MessageBody(messageContent: "Komt u morgen?"))
        }
    }

    @Test func claimsAreBoundedAndQueuedInOrder() async throws {
        let s = try await Setup.make()
        var ids: [MessageID] = []
        for i in 0..<12 { ids.append(try await s.reply("m\(i)")) }
        let first = try await s.w.sup.claimOutgoing(channels: [s.whatsapp.id], gateway: "gw", max: 5, lease: .seconds(60))
        #expect(first.map(\.message.id) == Array(ids.prefix(5)))
        let next = try await s.w.sup.claimOutgoing(channels: [s.whatsapp.id], gateway: "gw", max: 5, lease: .seconds(60))
        #expect(next.map(\.message.id) == Array(ids[5..<10]))
        await #expect(throws: EngineError.self) {
            _ = try await s.w.sup.claimOutgoing(channels: [s.whatsapp.id], gateway: "gw", max: 0, lease: .seconds(60))
        }
        await #expect(throws: EngineError.self) {
            _ = try await s.w.sup.claimOutgoing(channels: [s.whatsapp.id], gateway: "gw", max: 5, lease: .seconds(3600))
        }
        // Notes and phone calls never enter the outbox.
        let note = MessageHeader(threadID: s.thread, channelID: nil, channelType: .internalComment, messageType: .internalNote,
                                 deliveryStatus: .delivered, createdAt: s.w.clock.now())
        _ = try await s.w.sup.addMessage(note, body: MessageBody(messageContent: "intern"))
        #expect(await s.entry(note.id) == nil)
    }
}
