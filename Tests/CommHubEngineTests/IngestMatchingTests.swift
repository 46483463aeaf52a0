import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

/// A world with a support team, one brand's mail and WhatsApp channels, a
/// second brand's mail channel, and Jan (customer of a housing corporation)
/// with order 12345.
struct Directory {
    let w: World
    let support: Team
    let anna: Contact
    let mail: Channel, whatsapp: Channel, sms: Channel, otherBrandMail: Channel
    let org: Organization
    let jan: Customer
    let order: Order

    init(reopenWindow: TimeInterval = 3 * 86_400) async throws {
        w = World(configuration: EngineConfiguration(matcher: ThreadMatcher(reopenWindow: reopenWindow)))
        support = await w.team("support")
        anna = try await w.agent("Anna", [support])
        try await w.rules(AutoAssignmentRules(defaultAssignee: "support"))
        mail = await w.channel(.emailOutlook, brand: .chargecars)
        whatsapp = await w.channel(.whatsappBusiness, brand: .chargecars)
        sms = await w.channel(.sms, brand: .chargecars)
        otherBrandMail = await w.channel(.emailOutlook, brand: .laderthuis)
        org = Organization(name: "Woonstichting Zuid", kind: .customer)
        _ = try await w.sup.upsertOrganization(org)
        jan = Customer(name: "Jan de Vries", emails: [EmailAddress("jan@example.nl")!], phones: [PhoneNumber("+31612345678")!],
                       organizationID: org.id)
        _ = try await w.sup.upsertCustomer(jan)
        order = Order(orderNumber: "12345", customerID: jan.id, organizationID: org.id, brand: .chargecars)
        _ = try await w.sup.upsertOrder(order)
    }
}

@Suite("Ingest: thread matching through the supervisor")
struct IngestMatchingTests {
    @Test("1: Outlook conversation id, In-Reply-To, WhatsApp chat and SMS chat find their thread")
    func externalReferences() async throws {
        let d = try await Directory()
        let w = d.w
        let conv = ExternalReference(.outlookConversation, "AAQkADconv1")
        let first = try await w.ingest(d.mail, ref: conv, messageID: "<m1@example.nl>", subject: "Offerte")
        #expect(first.rule == .newThread)
        let byConversation = try await w.ingest(d.mail, ref: conv, from: ExternalParty(email: "collega@example.nl"), subject: "RE: Offerte")
        #expect(byConversation.threadID == first.threadID)
        #expect(byConversation.rule == .externalReference)
        // A reply from another mailbox with no conversation id, only In-Reply-To.
        let byReply = try await w.ingest(d.mail, inReplyTo: ["<m1@example.nl>"], from: ExternalParty(email: "derde@example.nl"))
        #expect(byReply.threadID == first.threadID)
        #expect(byReply.rule == .externalReference)
        #expect(try await w.header(first.threadID).messageCount == 3)

        let chat = try await w.ingest(d.whatsapp, ref: .whatsapp(business: "1099", customer: "31687654321"),
                                      from: ExternalParty(waID: "31687654321"))
        let chatAgain = try await w.ingest(d.whatsapp, ref: .whatsapp(business: "1099", customer: "+31 6 87654321"),
                                           from: ExternalParty(waID: "31687654321"))
        #expect(chatAgain.threadID == chat.threadID)
        #expect(chatAgain.rule == .externalReference)
        #expect(chat.threadID != first.threadID)

        let text = try await w.ingest(d.sms, ref: .sms(ours: "+3197010203040", theirs: "0687654321"))
        let textAgain = try await w.ingest(d.sms, ref: .sms(ours: "097010203040", theirs: "+31687654321"))
        #expect(textAgain.threadID == text.threadID)
        #expect(textAgain.rule == .externalReference)
        #expect(text.threadID != chat.threadID)
        let refs = try await w.header(first.threadID).externalReferences
        #expect(Set(refs) == [conv, ExternalReference(.emailMessageID, "<m1@example.nl>")])
    }

    @Test("2: a known order number opens a thread linked to order, customer and organisation; later mentions join it")
    func orderNumber() async throws {
        let d = try await Directory()
        let w = d.w
        let first = try await w.ingest(d.mail, from: ExternalParty(email: "installateur@partner.nl"),
                                       subject: "Planning", body: "Over bestelling 12345: wanneer kunnen we komen?")
        #expect(first.rule == .newThread)
        let h = try await w.header(first.threadID)
        #expect(h.orderID == d.order.id)
        #expect(h.customerID == d.jan.id)
        #expect(h.customerOrganizationID == d.org.id)
        #expect(h.businessEntity == .chargecars)

        let second = try await w.ingest(d.mail, from: ExternalParty(email: "iemand@anders.nl"), subject: "Vraag over #12345")
        #expect(second.threadID == first.threadID)
        #expect(second.rule == .orderNumber)
        // An unknown order number is just text.
        let third = try await w.ingest(d.mail, from: ExternalParty(email: "iemand@anders.nl"), subject: "order 99999")
        #expect(third.threadID != first.threadID)
        #expect(third.rule == .newThread)
        #expect(try await w.header(third.threadID).orderID == nil)
    }

    @Test("2: once its thread is resolved, a new mention of the order opens a new linked thread")
    func orderAfterResolve() async throws {
        let d = try await Directory()
        let w = d.w
        let first = try await w.ingest(d.mail, from: ExternalParty(email: "x@y.nl"), body: "order 12345")
        try await w.set(first.threadID, .resolved)
        let second = try await w.ingest(d.mail, from: ExternalParty(email: "z@y.nl"), body: "bestelnr. 12345")
        #expect(second.threadID != first.threadID)
        #expect(second.rule == .newThread)
        #expect(try await w.header(second.threadID).orderID == d.order.id)
        #expect(try await w.header(second.threadID).customerID == d.jan.id)
    }

    @Test("3: the customer by e-mail or any spelling of their phone joins their open thread on the same brand only")
    func customerOpenThread() async throws {
        let d = try await Directory()
        let w = d.w
        let first = try await w.ingest(d.mail, from: ExternalParty(name: "Jan", email: "\"Jan\" <JAN@Example.NL>"), subject: "Laadpaal")
        #expect(first.rule == .newThread)
        var h = try await w.header(first.threadID)
        #expect(h.customerID == d.jan.id)
        #expect(h.customerOrganizationID == d.org.id)
        #expect(h.orderID == nil)

        let viaWhatsApp = try await w.ingest(d.whatsapp, ref: .whatsapp(business: "1099", customer: "31612345678"),
                                             from: ExternalParty(waID: "31612345678"))
        #expect(viaWhatsApp.threadID == first.threadID)
        #expect(viaWhatsApp.rule == .customerOpenThread)
        let viaSMS = try await w.ingest(d.sms, from: ExternalParty(phone: "06 1234 5678"))
        #expect(viaSMS.threadID == first.threadID)
        #expect(viaSMS.rule == .customerOpenThread)
        let viaPlusZero = try await w.ingest(d.mail, from: ExternalParty(email: "ander@adres.nl", phone: "+31 (0)6 12345678"))
        #expect(viaPlusZero.threadID == first.threadID)
        // The WhatsApp chat is now a reference of the thread.
        h = try await w.header(first.threadID)
        #expect(h.externalReferences.contains(.whatsapp(business: "1099", customer: "0612345678")))

        let otherBrand = try await w.ingest(d.otherBrandMail, from: ExternalParty(email: "jan@example.nl"))
        #expect(otherBrand.threadID != first.threadID)
        #expect(otherBrand.rule == .newThread)
        let ob = try await w.header(otherBrand.threadID)
        #expect(ob.businessEntity == .laderthuis)
        #expect(ob.customerID == d.jan.id)

        // Once resolved, the customer's next message starts a new thread.
        try await w.set(first.threadID, .resolved)
        let after = try await w.ingest(d.mail, from: ExternalParty(email: "jan@example.nl"))
        #expect(after.threadID != first.threadID)
        #expect(after.rule == .newThread)
    }

    @Test("3: a customer message on an existing unlinked thread links customer, organisation and order")
    func linksOnExistingThread() async throws {
        let d = try await Directory()
        let w = d.w
        let conv = ExternalReference(.outlookConversation, "conv-link")
        let first = try await w.ingest(d.mail, ref: conv, from: ExternalParty(email: "onbekend@example.nl"))
        #expect(try await w.header(first.threadID).customerID == nil)
        let second = try await w.ingest(d.mail, ref: conv, from: ExternalParty(email: "jan@example.nl"), body: "Het gaat om order 12345")
        #expect(second.threadID == first.threadID)
        let h = try await w.header(first.threadID)
        #expect(h.customerID == d.jan.id)
        #expect(h.customerOrganizationID == d.org.id)
        #expect(h.orderID == d.order.id)
        // And the thread now counts as the customer's open thread.
        let third = try await w.ingest(d.whatsapp, from: ExternalParty(waID: "31612345678"))
        #expect(third.threadID == first.threadID)
        #expect(third.rule == .customerOpenThread)
    }

    @Test("4: a resolved thread reopens inside the window, not after it; a closed thread never")
    func reopen() async throws {
        let d = try await Directory(reopenWindow: 3 * 86_400)
        let w = d.w
        let conv = ExternalReference(.outlookConversation, "conv-reopen")
        let first = try await w.ingest(d.mail, ref: conv)
        try await w.set(first.threadID, .resolved)
        #expect(try await w.header(first.threadID).status == .resolved)
        w.clock.advance(by: 2 * 86_400)
        let again = try await w.ingest(d.mail, ref: conv)
        #expect(again.threadID == first.threadID)
        #expect(again.rule == .reopened)
        let h = try await w.header(first.threadID)
        #expect(h.status == .open)
        #expect(h.resolvedAt == nil)
        #expect(h.responseDueAt != nil)
        #expect(h.assignedToContactID == d.anna.id)
        checkAssignmentInvariant(await w.sup.state)

        try await w.set(first.threadID, .resolved)
        w.clock.advance(by: 3 * 86_400 + 1)
        let late = try await w.ingest(d.mail, ref: conv)
        #expect(late.threadID != first.threadID)
        #expect(late.rule == .newThread)
        #expect(try await w.header(first.threadID).status == .resolved)

        // The reference now belongs to the new thread; close that one: it never reopens.
        try await w.set(late.threadID, .closed)
        let afterClose = try await w.ingest(d.mail, ref: conv)
        #expect(afterClose.threadID != late.threadID)
        #expect(afterClose.rule == .newThread)
        #expect(try await w.header(late.threadID).status == .closed)
    }

    @Test("idempotency: the same (channel, external id) three times is one message")
    func idempotency() async throws {
        let d = try await Directory()
        let w = d.w
        let a = try await w.ingest(d.whatsapp, from: ExternalParty(waID: "31699999999"), body: "Hoi", externalID: "wamid.ABC")
        let lastSeq = w.engine.bus.lastSeq
        let b = try await w.ingest(d.whatsapp, from: ExternalParty(waID: "31699999999"), body: "Hoi", externalID: "wamid.ABC")
        w.clock.advance(by: 600)
        let c = try await w.ingest(d.whatsapp, from: ExternalParty(waID: "31699999999"), body: "Hoi (retry)", externalID: "wamid.ABC")
        #expect([a.duplicate, b.duplicate, c.duplicate] == [false, true, true])
        #expect(a.threadID == b.threadID && b.threadID == c.threadID)
        #expect(a.messageID == b.messageID && b.messageID == c.messageID)
        #expect(a.seq == b.seq && b.seq == c.seq)
        #expect(b.rule == nil)
        #expect(w.engine.bus.lastSeq == lastSeq, "a duplicate journals nothing")
        let view = try #require(await w.sup.thread(a.threadID))
        #expect(view.messages.count == 1)
        #expect(view.messages[0].id == a.messageID)
        #expect(view.messages[0].externalMessageID == "wamid.ABC")
        #expect(w.engine.inbox.count == 1)
        // The same provider id on another channel is another message.
        let other = try await w.ingest(d.sms, from: ExternalParty(phone: "0699999999"), externalID: "wamid.ABC")
        #expect(!other.duplicate)
        #expect(other.messageID != a.messageID)
    }

    @Test("concurrent retries of one message still make one message")
    func concurrentRetries() async throws {
        let d = try await Directory()
        let w = d.w
        let results = try await withThrowingTaskGroup(of: IngestResult.self) { g in
            for _ in 0..<8 {
                g.addTask { try await w.ingest(d.mail, from: ExternalParty(email: "retry@example.nl"), externalID: "graph-1") }
            }
            return try await g.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { !$0.duplicate }.count == 1)
        #expect(Set(results.map(\.messageID)).count == 1)
        #expect(Set(results.map(\.threadID)).count == 1)
        #expect(Set(results.map(\.seq)).count == 1)
        #expect(try #require(await w.sup.thread(results[0].threadID)).messages.count == 1)
    }

    @Test("bad input is refused without changing anything")
    func refusals() async throws {
        let d = try await Directory()
        let w = d.w
        let before = w.engine.bus.lastSeq
        await #expect(throws: EngineError.self) {
            try await w.sup.ingest(InboundMessage(channelID: ChannelID(), externalMessageID: "x", senderExternal: ExternalParty(),
                                                  messageContent: "?", receivedAt: w.clock.now()))
        }
        await #expect(throws: EngineError.self) { try await w.ingest(d.mail, externalID: "") }
        var inactive = d.sms
        inactive.isActive = false
        _ = try await w.sup.upsertChannel(inactive)
        await #expect(throws: EngineError.self) { try await w.ingest(inactive) }
        #expect(w.engine.bus.lastSeq == before + 1)  // only the channel update
        #expect(w.engine.inbox.count == 0)
    }
}
