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

    /// Found by FuzzJournalCodec: a thread header whose message count does
    /// not fit an Int trapped restore instead of being refused.
    @Test func threadHeaderWithImpossibleMessageCountIsRefused() throws {
        let header = ThreadHeader(threadSubject: "S", channelType: .sms, createdAt: odd)
        var bytes = try codec.encodeForJournal(.threadOpened(header))
        // The header ends with the message count (0) and the skills (none).
        #expect(bytes.suffix(2) == [0, 0])
        #expect(try codec.decode(bytes, version: 1) == .threadOpened(header))
        var w = CompactWriter()
        w.varint(UInt64.max)
        bytes.replaceSubrange((bytes.count - 2)..<(bytes.count - 1), with: w.bytes)
        #expect(throws: CompactReader.Truncated.self) { try codec.decode(bytes, version: 1) }
    }

    /// Found by FuzzJournalCodec's round trip: a JSON thread header with a
    /// negative message count decoded, and the compact form (which has no
    /// sign) wrote it back as 0, so a restart would have changed the thread.
    /// Counts outside 0...maxMessagesPerThread are refused in both forms.
    @Test func threadHeaderMessageCountIsRangeCheckedInBothForms() throws {
        var header = ThreadHeader(threadSubject: "S", channelType: .sms, createdAt: odd)
        header.messageCount = ThreadHeader.maxMessagesPerThread
        let json = try codec.encode(.threadOpened(header))
        #expect(try codec.decode(json, version: 1) == .threadOpened(header))
        let compact = try codec.encodeForJournal(.threadOpened(header))
        #expect(try codec.decode(compact, version: 1) == .threadOpened(header))

        let text = String(decoding: json, as: UTF8.self)
        let count = "\"messageCount\":\(ThreadHeader.maxMessagesPerThread)"
        #expect(text.contains(count))
        for bad in ["-3", "\(ThreadHeader.maxMessagesPerThread + 1)"] {
            let damaged = Array(text.replacingOccurrences(of: count, with: "\"messageCount\":\(bad)").utf8)
            #expect(throws: DecodingError.self) { try codec.decode(damaged, version: 1) }
        }

        var w = CompactWriter()
        w.varint(UInt64(ThreadHeader.maxMessagesPerThread))
        var over = CompactWriter()
        over.varint(UInt64(ThreadHeader.maxMessagesPerThread) + 1)
        // The count is followed by the (empty) skills list.
        #expect(Array(compact.suffix(w.bytes.count + 1)) == w.bytes + [0])
        var damaged = compact
        damaged.replaceSubrange((compact.count - w.bytes.count - 1)..<(compact.count - 1), with: over.bytes)
        #expect(throws: CompactReader.Truncated.self) { try codec.decode(damaged, version: 1) }
    }

    /// A length that would run past the end, even one that overflows the
    /// position arithmetic, is refused.
    @Test func rawReadPastTheEndIsRefusedWithoutOverflow() throws {
        var r = CompactReader([1, 2, 3], from: 1)
        #expect(throws: CompactReader.Truncated.self) { try r.raw(Int.max) }
        #expect(throws: CompactReader.Truncated.self) { try r.raw(3) }
        #expect(try r.raw(2) == [2, 3])
        #expect(r.atEnd)
    }
}
