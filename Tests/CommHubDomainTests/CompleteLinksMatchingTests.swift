import CommHubDomain
import CommHubFixtures
import Foundation
import Testing

/// Counts the look-ups the matcher makes, around a hand-filled directory.
final class LookupCount: @unchecked Sendable {
    var customer = 0
    var order = 0
}

struct CountingDirectory: MatchingDirectory {
    var inner: TestDirectory
    var links: [ThreadID: CompleteLinks] = [:]
    let count = LookupCount()

    func thread(forReference ref: ExternalReference) -> ThreadMatchInfo? { inner.thread(forReference: ref) }
    func order(number: String) -> Order? { count.order += 1; return inner.order(number: number) }
    func openThread(forOrder id: OrderID) -> ThreadMatchInfo? { inner.openThread(forOrder: id) }
    func customer(email: EmailAddress) -> Customer? { count.customer += 1; return inner.customer(email: email) }
    func customer(phone: PhoneNumber) -> Customer? { count.customer += 1; return inner.customer(phone: phone) }
    func openThread(customer: CustomerID, brand: Brand?) -> ThreadMatchInfo? { inner.openThread(customer: customer, brand: brand) }
    func completeLinks(of thread: ThreadID) -> CompleteLinks? { links[thread] }
}

@Suite("Thread matching skips the look-ups for a thread that has all its links")
struct CompleteLinksMatchingTests {
    let now = Date(timeIntervalSince1970: 1_795_600_800)
    let org = OrganizationID()
    let jan: Customer
    let order: Order
    let matcher = ThreadMatcher(reopenWindow: 3 * 86_400)
    let ref = ExternalReference(.outlookConversation, "conv-1")
    let orderThread = ThreadID(), customerThread = ThreadID()

    init() {
        jan = Customer(name: "Jan de Vries", emails: [EmailAddress("jan@example.nl")!],
                       phones: [PhoneNumber("+31612345678")!], organizationID: org)
        order = Order(orderNumber: "12345", customerID: jan.id, organizationID: org, brand: .chargecars)
    }

    func message(ref: ExternalReference?, inReplyTo: [String] = [], body: String = "Over bestelling 12345") -> InboundMessage {
        InboundMessage(channelID: ChannelID(), externalMessageID: UUID().uuidString, threadReference: ref, inReplyTo: inReplyTo,
                       senderExternal: ExternalParty(email: "jan@example.nl", phone: "06 12345678"), subject: "RE: Laadpaal",
                       messageContent: body, receivedAt: now)
    }

    /// Every rule would find a different thread; `refStatus` is the status of the reference's thread.
    func directory(refThread: ThreadID, refStatus: ThreadStatus, linked: Bool) -> CountingDirectory {
        var d = TestDirectory()
        d.customers = [jan]
        d.byReference[ref] = ThreadMatchInfo(id: refThread, status: refStatus, brand: .chargecars,
                                             resolvedAt: refStatus == .resolved ? now.addingTimeInterval(-3600) : nil)
        d.byReference[ExternalReference(.emailMessageID, "<m1@x>")] = d.byReference[ref]
        d.orders["12345"] = order
        d.openByOrder[order.id] = ThreadMatchInfo(id: orderThread, status: .open, brand: .chargecars, resolvedAt: nil)
        d.setOpenThread(ThreadMatchInfo(id: customerThread, status: .open, brand: .chargecars, resolvedAt: nil), customer: jan.id, brand: .chargecars)
        var c = CountingDirectory(inner: d)
        if linked { c.links[refThread] = CompleteLinks(customer: CustomerID(), order: OrderID()) }
        return c
    }

    @Test("a reply by reference to a fully linked open thread: same thread, same rule, no customer or order look-up")
    func fullyLinkedReply() {
        let t = ThreadID()
        for m in [message(ref: ref), message(ref: nil, inReplyTo: ["<m1@x>"]), message(ref: ExternalReference(.outlookConversation, "other"), inReplyTo: ["<m1@x>"])] {
            let linked = directory(refThread: t, refStatus: .open, linked: true)
            let plain = directory(refThread: t, refStatus: .open, linked: false)
            let skipped = matcher.match(m, brand: .chargecars, in: linked)
            let full = matcher.match(m, brand: .chargecars, in: plain)
            #expect(skipped.decision == .existing(t) && full.decision == .existing(t))
            #expect(skipped.rule == .externalReference && full.rule == .externalReference)
            #expect(linked.count.customer == 0 && linked.count.order == 0, "the look-ups ran for a fully linked thread")
            #expect(plain.count.customer > 0 && plain.count.order > 0)
            // The thread's own links are reported (it keeps them).
            #expect(skipped.customerID == linked.links[t]?.customer && skipped.orderID == linked.links[t]?.order)
        }
    }

    @Test("links are only skipped for an open thread found by reference: other rules decide as before, with the look-ups")
    func otherRulesUnchanged() {
        let t = ThreadID()
        for status in [ThreadStatus.resolved, .closed] {
            let linked = directory(refThread: t, refStatus: status, linked: true)
            let plain = directory(refThread: t, refStatus: status, linked: false)
            let a = matcher.match(message(ref: ref), brand: .chargecars, in: linked)
            let b = matcher.match(message(ref: ref), brand: .chargecars, in: plain)
            #expect(a == b)
            #expect(a.rule == .orderNumber && a.decision == .existing(orderThread))
            #expect(linked.count.customer > 0 && linked.count.order > 0)
        }
        // No reference at all: the order rule, with its links.
        let linked = directory(refThread: t, refStatus: .open, linked: true)
        let r = matcher.match(message(ref: nil), brand: .chargecars, in: linked)
        #expect(r.rule == .orderNumber && r.orderID == order.id && r.customerID == jan.id && r.organizationID == org)
    }

    @Test("a thread missing a link gets the look-ups and the links they find")
    func missingLink() {
        let t = ThreadID()
        let plain = directory(refThread: t, refStatus: .open, linked: false)
        let r = matcher.match(message(ref: ref), brand: .chargecars, in: plain)
        #expect(r.decision == .existing(t) && r.rule == .externalReference)
        #expect(r.customerID == jan.id && r.orderID == order.id && r.organizationID == org)
    }
}

@Suite("Order numbers of subject and body found without joining them")
struct OrderCandidatesSplitTests {
    @Test("scanning subject then body finds what scanning \"subject\\nbody\" finds, in the same order")
    func sameCandidates() {
        let pattern = OrderNumberPattern()
        let pieces = ["order", "Order", "#", "ordernummer", "bestelling", "nr", "no", " ", ":", ".", "-", "\n", "\r\n", "1234",
                      "56789", "123", "12345678901", "x", "é", "12345", "opdracht#", "order:"]
        var rng = SplitMix(seed: 99)
        func next() -> UInt64 { rng.next() }
        func text() -> String { (0..<Int(next() % 7)).map { _ in pieces[Int(next() % UInt64(pieces.count))] }.joined() }
        for _ in 0..<30_000 {
            let subject = text(), body = text()
            var split = pattern.candidates(in: subject)
            for c in pattern.candidates(in: body) where !split.contains(c) { split.append(c) }
            #expect(pattern.candidates(in: subject + "\n" + body) == split, "\(subject.debugDescription) / \(body.debugDescription)")
        }
    }
}
