import CommHubDomain
import Foundation
import Testing

/// The compact journal form of the per-message events and of bodies:
/// exact round trips (all optionals set and unset), JSON still readable,
/// damaged bytes refused.
@Suite("Compact journal coding")
struct CompactCodingTests {
    let codec = EventCodec()
    let odd = Date(timeIntervalSinceReferenceDate: 817_293_600.123_456_7)

    func full() -> MessageHeader {
        MessageHeader(threadID: ThreadID(), channelID: ChannelID(), channelType: .whatsappBusiness, messageType: .outgoing,
                      senderContactID: ContactID(), senderExternal: ExternalParty(name: "Jan", email: "j@x.nl", phone: "+31612345678", waID: "31612345678"),
                      recipientContactID: ContactID(), recipientExternal: ExternalParty(name: "Ünïcode ✓"),
                      subject: "Re: storing", externalMessageID: "wamid.ABC", deliveryStatus: .read, readAt: odd, createdAt: odd)
    }

    var events: [EngineEvent] {
        let bare = MessageHeader(threadID: ThreadID(), channelID: nil, channelType: .internalComment, messageType: .internalNote,
                                 deliveryStatus: .delivered, createdAt: odd)
        let body = MessageBody(messageContent: "Hallo 👋", messageHtml: "<p>Hallo</p>",
                               attachments: [Attachment(fileName: "foto.jpg", contentType: "image/jpeg", sizeBytes: 12345, url: "https://x/y")],
                               metadata: ["direction": .string("inbound"), "duration_seconds": .number(61)])
        var all = ThreadChange(status: .escalated, priority: .critical, threadType: .complaint, threadSubject: "S",
                               tags: ["a", "b"], orderID: OrderID(), customerID: CustomerID(), customerOrganizationID: OrganizationID(),
                               partnerOrganizationID: OrganizationID(), responseDueAt: odd, clearResponseDue: false)
        all.clearResponseDue = true
        return [
            .messageAdded(header: full(), body: nil, responseDueAt: odd),
            .messageAdded(header: bare, body: body, responseDueAt: nil),
            .messageAdded(header: bare, body: MessageBody(messageContent: ""), responseDueAt: nil),
            .threadAssigned(thread: ThreadID(), team: TeamID(), agent: ContactID(), reason: "keyword rule (storing)"),
            .threadAssigned(thread: ThreadID(), team: nil, agent: nil, reason: ""),
            .deliveryStatusChanged(message: MessageID(), thread: ThreadID(), status: .bounced, at: odd),
            .referenceAdded(thread: ThreadID(), reference: ExternalReference(.emailMessageID, "<a@b>")),
            .threadChanged(thread: ThreadID(), change: all, at: odd),
            .threadChanged(thread: ThreadID(), change: ThreadChange(), at: odd),
            .threadChanged(thread: ThreadID(), change: ThreadChange(tags: []), at: odd),
        ]
    }

    @Test func perMessageEventsRoundTripExactlyInCompactForm() throws {
        for e in events {
            let bytes = try codec.encodeForJournal(e)
            #expect(bytes.first == 0x00, "\(e.name) should be compact")
            #expect(try codec.decode(bytes, version: 1) == e)
            #expect(bytes.count < (try codec.encode(e)).count, "\(e.name) compact form should be smaller than JSON")
        }
    }

    @Test func otherEventsStayJSONAndJSONStaysReadable() throws {
        let presence = EngineEvent.presenceChanged(contact: ContactID(), presence: .away)
        #expect(try codec.encodeForJournal(presence).first == UInt8(ascii: "{"))
        for e in events + [presence] {
            #expect(try codec.decode(codec.encode(e), version: 1) == e)
        }
    }

    @Test func bodiesRoundTripAndOldJSONBodiesStillRead() throws {
        let b = MessageBody(messageContent: "tekst", messageHtml: nil, attachments: [], metadata: ["k": .bool(true)])
        #expect(try codec.decodeBody(codec.encodeBody(b)) == b)
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        #expect(try codec.decodeBody(Array(e.encode(b))) == b)
    }

    @Test func damagedCompactBytesAreRefusedNotMisread() throws {
        let bytes = try codec.encodeForJournal(events[0])
        for cut in [2, 10, bytes.count / 2, bytes.count - 1] {
            #expect(throws: (any Error).self) { try codec.decode(Array(bytes[..<cut]), version: 1) }
        }
        #expect(throws: (any Error).self) { try codec.decode(bytes + [7], version: 1) }
        #expect(throws: (any Error).self) { try codec.decode([0x00, 0xEE], version: 1) }
        var badEnum = try codec.encodeForJournal(.deliveryStatusChanged(message: MessageID(), thread: ThreadID(), status: .sent, at: odd))
        badEnum[2 + 32] = 200
        #expect(throws: (any Error).self) { try codec.decode(badEnum, version: 1) }
    }
}
