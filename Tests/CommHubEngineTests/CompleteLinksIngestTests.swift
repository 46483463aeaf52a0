import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

@Suite("Ingest: replies to threads that have all their links")
struct CompleteLinksIngestTests {
    @Test("a reply to a fully linked thread joins it by reference and leaves its links as they are")
    func fullyLinkedReply() async throws {
        let d = try await Directory()
        let w = d.w
        let conv = ExternalReference(.outlookConversation, "AAQkADlinked")
        let first = try await w.ingest(d.mail, ref: conv, from: ExternalParty(email: "jan@example.nl"),
                                       subject: "Laadpaal", body: "Over bestelling 12345")
        let h = try await w.header(first.threadID)
        #expect(h.customerID == d.jan.id && h.orderID == d.order.id && h.customerOrganizationID == d.org.id)
        let links = await w.sup.state.index.completeLinks(of: first.threadID)
        #expect(links == CompleteLinks(customer: d.jan.id, order: d.order.id))

        // Another customer with another order replies in the same conversation.
        let piet = Customer(name: "Piet", emails: [EmailAddress("piet@example.nl")!])
        _ = try await w.sup.upsertCustomer(piet)
        let other = Order(orderNumber: "67890", customerID: piet.id, brand: .chargecars)
        _ = try await w.sup.upsertOrder(other)
        let reply = try await w.ingest(d.mail, ref: conv, from: ExternalParty(email: "piet@example.nl"),
                                       subject: "RE: Laadpaal", body: "En bestelling 67890?")
        #expect(reply.threadID == first.threadID)
        #expect(reply.rule == .externalReference)
        let after = try await w.header(first.threadID)
        #expect(after.customerID == d.jan.id && after.orderID == d.order.id && after.customerOrganizationID == d.org.id)
        #expect(after.messageCount == 2)
    }

    @Test("a thread without an order gets it from a reply that names it, and then counts as fully linked")
    func missingOrderIsFilled() async throws {
        let d = try await Directory()
        let w = d.w
        let conv = ExternalReference(.outlookConversation, "AAQkADnoorder")
        let first = try await w.ingest(d.mail, ref: conv, from: ExternalParty(email: "jan@example.nl"), subject: "Vraag", body: "Hallo")
        #expect(try await w.header(first.threadID).orderID == nil)
        #expect(await w.sup.state.index.completeLinks(of: first.threadID) == nil)
        let reply = try await w.ingest(d.mail, ref: conv, from: ExternalParty(email: "jan@example.nl"), body: "Het gaat om order 12345")
        #expect(reply.threadID == first.threadID && reply.rule == .externalReference)
        let h = try await w.header(first.threadID)
        #expect(h.orderID == d.order.id && h.customerID == d.jan.id && h.customerOrganizationID == d.org.id)
        #expect(await w.sup.state.index.completeLinks(of: first.threadID) == CompleteLinks(customer: d.jan.id, order: d.order.id))
    }

    @Test("customer and order without an organisation: a later organisation of the customer still reaches the thread")
    func missingOrganizationIsFilled() async throws {
        let d = try await Directory()
        let w = d.w
        var kees = Customer(name: "Kees", emails: [EmailAddress("kees@example.nl")!])
        _ = try await w.sup.upsertCustomer(kees)
        let order = Order(orderNumber: "55555", customerID: kees.id, brand: .chargecars)
        _ = try await w.sup.upsertOrder(order)
        let conv = ExternalReference(.outlookConversation, "AAQkADnoorg")
        let first = try await w.ingest(d.mail, ref: conv, from: ExternalParty(email: "kees@example.nl"), body: "Order 55555")
        let h = try await w.header(first.threadID)
        #expect(h.customerID == kees.id && h.orderID == order.id && h.customerOrganizationID == nil)
        #expect(await w.sup.state.index.completeLinks(of: first.threadID) == nil)

        kees.organizationID = d.org.id
        _ = try await w.sup.upsertCustomer(kees)
        _ = try await w.ingest(d.mail, ref: conv, from: ExternalParty(email: "kees@example.nl"), body: "Nog een vraag")
        #expect(try await w.header(first.threadID).customerOrganizationID == d.org.id)
        #expect(await w.sup.state.index.completeLinks(of: first.threadID) == CompleteLinks(customer: kees.id, order: order.id))
    }

    @Test("the organisation flag fits in the match-index row's padding: no bytes per thread added")
    func rowSize() {
        #expect(MemoryLayout<MatchIndex.Row>.stride <= 56)
    }
}
