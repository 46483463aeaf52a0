import CommHubDomain
import Foundation
import Testing
@testable import CommHubEngine

/// Snapshot thread records in the compact form come back field for field.
@Suite("Compact snapshot records")
struct CompactSnapshotTests {
    @Test func threadStateRoundTripsExactly() throws {
        let t = Date(timeIntervalSinceReferenceDate: 817_293_600.123_456_7)
        var h = ThreadHeader(threadSubject: "Storing laadpaal ⚡", threadType: .technicalIssue, priority: .urgent, status: .escalated,
                             businessEntity: .zaptecshop, channelType: .whatsappBusiness, orderID: OrderID(), customerID: CustomerID(),
                             customerOrganizationID: OrganizationID(), partnerOrganizationID: OrganizationID(),
                             assignedTeamID: TeamID(), assignedToContactID: ContactID(), createdByContactID: ContactID(),
                             createdAt: t, tags: ["vip", "storing"],
                             externalReferences: [ExternalReference(.whatsappChat, "1:+316"), ExternalReference(.emailMessageID, "<x@y>")],
                             requiredSkills: ["zaptec"])
        h.updatedAt = t.addingTimeInterval(1)
        h.lastMessageAt = t.addingTimeInterval(2)
        h.responseDueAt = t.addingTimeInterval(1800)
        h.awaitingResponseSince = t
        h.resolvedAt = nil
        h.messageCount = 2
        var s = ThreadState(header: h, lastSeq: 0)
        let m1 = MessageHeader(threadID: h.id, channelID: ChannelID(), channelType: .whatsappBusiness, messageType: .incoming,
                               senderExternal: ExternalParty(waID: "316"), externalMessageID: "wamid.1", deliveryStatus: .delivered, createdAt: t)
        let m2 = MessageHeader(threadID: h.id, channelID: nil, channelType: .internalComment, messageType: .internalNote,
                               senderContactID: ContactID(), deliveryStatus: .delivered, readAt: t, createdAt: t.addingTimeInterval(5))
        s.messages = [m1, m2]
        s.messageSeqs = [7, 1_000_000_007]
        s.lastSeq = 1_000_000_009
        let record = try s.compactRecord(kind: 4)
        #expect(record.first == 4)
        #expect(try ThreadState.readCompact(Array(record.dropFirst())) == s)

        let bare = ThreadState(header: ThreadHeader(threadSubject: "", channelType: .sms, createdAt: t), lastSeq: 3)
        #expect(try ThreadState.readCompact(Array(bare.compactRecord(kind: 4).dropFirst())) == bare)
        #expect(throws: (any Error).self) { try ThreadState.readCompact(Array(record.dropFirst().dropLast())) }
    }
}
