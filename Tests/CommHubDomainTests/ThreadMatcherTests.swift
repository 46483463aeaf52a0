import CommHubDomain
import Foundation
import Testing

/// A hand-filled directory: each look-up answers from a plain dictionary.
struct TestDirectory: MatchingDirectory {
    var byReference: [ExternalReference: ThreadMatchInfo] = [:]
    var orders: [String: Order] = [:]
    var openByOrder: [OrderID: ThreadMatchInfo] = [:]
    var customers: [Customer] = []
    var openByCustomer: [String: ThreadMatchInfo] = [:]

    func thread(forReference ref: ExternalReference) -> ThreadMatchInfo? { byReference[ref] }
    func order(number: String) -> Order? { orders[number] }
    func openThread(forOrder id: OrderID) -> ThreadMatchInfo? { openByOrder[id] }
    func customer(email: EmailAddress) -> Customer? { customers.first { $0.emails.contains(email) } }
    func customer(phone: PhoneNumber) -> Customer? { customers.first { $0.phones.contains(phone) } }
    func openThread(customer: CustomerID, brand: Brand?) -> ThreadMatchInfo? {
        openByCustomer["\(customer)/\(brand?.rawValue ?? "-")"]
    }

    mutating func setOpenThread(_ info: ThreadMatchInfo, customer: CustomerID, brand: Brand?) {
        openByCustomer["\(customer)/\(brand?.rawValue ?? "-")"] = info
    }
}

@Suite("Thread matching rules, in order")
struct ThreadMatcherTests {
    let now = Date(timeIntervalSince1970: 1_795_600_800)
    let org = OrganizationID()
    let jan: Customer
    let order: Order
    let matcher = ThreadMatcher(reopenWindow: 3 * 86_400)

    init() {
        jan = Customer(name: "Jan de Vries", emails: [EmailAddress("jan@example.nl")!],
                       phones: [PhoneNumber("+31612345678")!], organizationID: org)
        order = Order(orderNumber: "12345", customerID: jan.id, organizationID: org, brand: .chargecars)
    }

    func open(_ id: ThreadID = ThreadID(), brand: Brand? = .chargecars) -> ThreadMatchInfo {
        ThreadMatchInfo(id: id, status: .open, brand: brand, resolvedAt: nil)
    }

    func message(ref: ExternalReference? = nil, inReplyTo: [String] = [], from party: ExternalParty = ExternalParty(email: "someone@else.nl"),
                 subject: String? = nil, body: String = "Hallo", at: Date? = nil) -> InboundMessage {
        InboundMessage(channelID: ChannelID(), externalMessageID: UUID().uuidString, threadReference: ref,
                       inReplyTo: inReplyTo, senderExternal: party, subject: subject, messageContent: body,
                       receivedAt: at ?? now)
    }

    /// A directory where every rule would find something different.
    func crowdedDirectory(refThread: ThreadMatchInfo, orderThread: ThreadMatchInfo, customerThread: ThreadMatchInfo,
                          ref: ExternalReference) -> TestDirectory {
        var d = TestDirectory()
        d.customers = [jan]
        d.byReference[ref] = refThread
        d.orders["12345"] = order
        d.openByOrder[order.id] = orderThread
        d.setOpenThread(customerThread, customer: jan.id, brand: .chargecars)
        return d
    }

    // MARK: 1. external reference

    @Test("1: the external reference of an open thread wins over order number and customer")
    func referenceWins() {
        let ref = ExternalReference(.outlookConversation, "AAQkAD-conv-1")
        let t1 = open(), t2 = open(), t3 = open()
        let d = crowdedDirectory(refThread: t1, orderThread: t2, customerThread: t3, ref: ref)
        let r = matcher.match(message(ref: ref, from: ExternalParty(email: "Jan <jan@example.nl>"), subject: "order 12345"),
                              brand: .chargecars, in: d)
        #expect(r.decision == .existing(t1.id))
        #expect(r.rule == .externalReference)
        #expect(r.customerID == jan.id)
        #expect(r.organizationID == org)
    }

    @Test("1: a message matched by reference still reports the order it mentions, and that order's customer")
    func referenceLinksOrder() {
        let ref = ExternalReference(.outlookConversation, "conv-x")
        let t1 = open()
        var d = TestDirectory()
        d.byReference[ref] = t1
        d.orders["12345"] = order
        let r = matcher.match(message(ref: ref, body: "Het gaat om bestelling 12345"), brand: .chargecars, in: d)
        #expect(r.decision == .existing(t1.id))
        #expect(r.rule == .externalReference)
        #expect(r.orderID == order.id)
        #expect(r.customerID == jan.id)
        #expect(r.organizationID == org)
    }

    @Test("1: In-Reply-To message ids match like a conversation id")
    func inReplyTo() {
        let t1 = open()
        var d = TestDirectory()
        d.byReference[ExternalReference(.emailMessageID, "<m1@mail.example.nl>")] = t1
        let r = matcher.match(message(inReplyTo: ["<unknown@x>", "<m1@mail.example.nl>"]), brand: .chargecars, in: d)
        #expect(r.decision == .existing(t1.id))
        #expect(r.rule == .externalReference)
    }

    @Test("1: WhatsApp and SMS chats are the same chat whatever the number spelling")
    func chatReferences() {
        let t1 = open(), t2 = open()
        var d = TestDirectory()
        d.byReference[.whatsapp(business: "1099", customer: "31612345678")] = t1
        d.byReference[.sms(ours: "+31 20 1234567", theirs: "06 1234 5678")] = t2
        let wa = matcher.match(message(ref: .whatsapp(business: "1099", customer: "+31 6 12345678")), brand: nil, in: d)
        #expect(wa.decision == .existing(t1.id))
        let sms = matcher.match(message(ref: .sms(ours: "020-1234567", theirs: "+31612345678")), brand: nil, in: d)
        #expect(sms.decision == .existing(t2.id))
        // Another business number is another chat.
        let other = matcher.match(message(ref: .whatsapp(business: "2000", customer: "0612345678")), brand: nil, in: d)
        #expect(other.decision == .new)
    }

    // MARK: 2. order number

    @Test("2: a known order number with an open thread wins over the customer's other thread")
    func orderWithOpenThread() {
        let ref = ExternalReference(.outlookConversation, "unknown-conversation")
        let t2 = open(), t3 = open()
        var d = crowdedDirectory(refThread: open(), orderThread: t2, customerThread: t3, ref: ExternalReference(.outlookConversation, "other"))
        d.byReference[ref] = nil
        let r = matcher.match(message(ref: ref, from: ExternalParty(email: "jan@example.nl"), body: "Waar blijft bestelling 12345?"),
                              brand: .chargecars, in: d)
        #expect(r.decision == .existing(t2.id))
        #expect(r.rule == .orderNumber)
        #expect(r.orderID == order.id)
        #expect(r.customerID == jan.id)
    }

    @Test("2: order in the subject, sender unknown: the order's customer and organisation are linked")
    func orderLinksCustomer() {
        let t2 = open()
        var d = TestDirectory()
        d.customers = [jan]
        d.orders["12345"] = order
        d.openByOrder[order.id] = t2
        let r = matcher.match(message(subject: "Vraag over #12345"), brand: .chargecars, in: d)
        #expect(r.decision == .existing(t2.id))
        #expect(r.rule == .orderNumber)
        #expect(r.customerID == jan.id)
        #expect(r.organizationID == org)
        #expect(r.orderID == order.id)
    }

    @Test("2: order known but no open thread → a new thread linked to the order and its customer")
    func orderWithoutOpenThread() {
        var d = TestDirectory()
        d.customers = [jan]
        d.orders["12345"] = order
        let r = matcher.match(message(body: "ordernummer: 12345"), brand: .chargecars, in: d)
        #expect(r.decision == .new)
        #expect(r.rule == .newThread)
        #expect(r.orderID == order.id)
        #expect(r.customerID == jan.id)
        #expect(r.organizationID == org)
    }

    @Test("2: unknown order numbers are ignored; the first known one counts")
    func unknownOrder() {
        let t2 = open()
        var d = TestDirectory()
        d.orders["12345"] = order
        d.openByOrder[order.id] = t2
        #expect(matcher.match(message(body: "order 99999"), brand: .chargecars, in: d).decision == .new)
        let r = matcher.match(message(body: "order 99999, of was het #12345?"), brand: .chargecars, in: d)
        #expect(r.decision == .existing(t2.id))
    }

    // MARK: 3. customer with an open thread on the same brand

    @Test("3: customer by e-mail with an open thread on the same brand")
    func customerByEmail() {
        let t3 = open()
        var d = TestDirectory()
        d.customers = [jan]
        d.setOpenThread(t3, customer: jan.id, brand: .chargecars)
        let r = matcher.match(message(from: ExternalParty(email: "\"Jan\" <JAN@Example.nl>")), brand: .chargecars, in: d)
        #expect(r.decision == .existing(t3.id))
        #expect(r.rule == .customerOpenThread)
        #expect(r.customerID == jan.id)
        #expect(r.organizationID == org)
        #expect(r.orderID == nil)
    }

    @Test("3: customer by any Dutch spelling of their phone number", arguments: [
        ExternalParty(phone: "06 1234 5678"), ExternalParty(phone: "+31 (0)6 12345678"), ExternalParty(phone: "0031612345678"),
        ExternalParty(waID: "31612345678"), ExternalParty(email: "not-known@example.nl", phone: "06-12345678"),
    ])
    func customerByPhone(_ party: ExternalParty) {
        let t3 = open()
        var d = TestDirectory()
        d.customers = [jan]
        d.setOpenThread(t3, customer: jan.id, brand: .chargecars)
        let r = matcher.match(message(from: party), brand: .chargecars, in: d)
        #expect(r.decision == .existing(t3.id))
        #expect(r.rule == .customerOpenThread)
        #expect(r.customerID == jan.id)
    }

    @Test("3: an open thread on another brand is not joined: new thread, customer still linked")
    func otherBrand() {
        var d = TestDirectory()
        d.customers = [jan]
        d.setOpenThread(open(brand: .chargecars), customer: jan.id, brand: .chargecars)
        let r = matcher.match(message(from: ExternalParty(phone: "0612345678")), brand: .laderthuis, in: d)
        #expect(r.decision == .new)
        #expect(r.rule == .newThread)
        #expect(r.customerID == jan.id)
        #expect(r.organizationID == org)
    }

    @Test("3 before 4: the customer's open thread beats reopening a resolved one")
    func customerBeatsReopen() {
        let ref = ExternalReference(.whatsappChat, "1099:+31612345678")
        let resolved = ThreadMatchInfo(id: ThreadID(), status: .resolved, brand: .chargecars, resolvedAt: now.addingTimeInterval(-3600))
        let t3 = open()
        var d = TestDirectory()
        d.customers = [jan]
        d.byReference[ref] = resolved
        d.setOpenThread(t3, customer: jan.id, brand: .chargecars)
        let r = matcher.match(message(ref: ref, from: ExternalParty(waID: "31612345678")), brand: .chargecars, in: d)
        #expect(r.decision == .existing(t3.id))
        #expect(r.rule == .customerOpenThread)
    }

    // MARK: 4. reopen

    @Test("4: a resolved thread of the same reference reopens inside the window")
    func reopenInsideWindow() {
        let ref = ExternalReference(.outlookConversation, "conv-9")
        let resolvedAt = now.addingTimeInterval(-2 * 86_400)
        let t = ThreadMatchInfo(id: ThreadID(), status: .resolved, brand: .chargecars, resolvedAt: resolvedAt)
        var d = TestDirectory()
        d.byReference[ref] = t
        let r = matcher.match(message(ref: ref), brand: .chargecars, in: d)
        #expect(r.decision == .reopen(t.id))
        #expect(r.rule == .reopened)
        // Exactly at the window's edge still reopens; one second later does not.
        let edge = matcher.match(message(ref: ref, at: resolvedAt.addingTimeInterval(3 * 86_400)), brand: .chargecars, in: d)
        #expect(edge.decision == .reopen(t.id))
    }

    @Test("4: outside the window a new thread starts")
    func reopenOutsideWindow() {
        let ref = ExternalReference(.outlookConversation, "conv-9")
        let t = ThreadMatchInfo(id: ThreadID(), status: .resolved, brand: .chargecars,
                                resolvedAt: now.addingTimeInterval(-3 * 86_400 - 1))
        var d = TestDirectory()
        d.byReference[ref] = t
        let r = matcher.match(message(ref: ref), brand: .chargecars, in: d)
        #expect(r.decision == .new)
        #expect(r.rule == .newThread)
    }

    @Test("4: a closed thread never reopens, however recent")
    func closedNeverReopens() {
        let ref = ExternalReference(.outlookConversation, "conv-9")
        let t = ThreadMatchInfo(id: ThreadID(), status: .closed, brand: .chargecars, resolvedAt: now.addingTimeInterval(-60))
        var d = TestDirectory()
        d.byReference[ref] = t
        #expect(matcher.match(message(ref: ref), brand: .chargecars, in: d).decision == .new)
    }

    @Test("2 before 4: an order's open thread beats reopening")
    func orderBeatsReopen() {
        let ref = ExternalReference(.outlookConversation, "conv-9")
        let resolved = ThreadMatchInfo(id: ThreadID(), status: .resolved, brand: .chargecars, resolvedAt: now.addingTimeInterval(-60))
        let t2 = open()
        var d = TestDirectory()
        d.byReference[ref] = resolved
        d.orders["12345"] = order
        d.openByOrder[order.id] = t2
        let r = matcher.match(message(ref: ref, body: "#12345"), brand: .chargecars, in: d)
        #expect(r.decision == .existing(t2.id))
    }

    @Test("nothing known: a new thread without links")
    func nothingKnown() {
        let r = matcher.match(message(from: ExternalParty(name: "Onbekend", email: "x@y.nl", phone: "0698765432")),
                              brand: .chargecars, in: TestDirectory())
        #expect(r.decision == .new)
        #expect(r.rule == .newThread)
        #expect(r.customerID == nil && r.organizationID == nil && r.orderID == nil)
    }
}
