import CommHubDomain
import CommHubWire
import Foundation
import Testing

/// The compact ingest frames carry exactly what the JSON ones do.
@Suite("Compact ingest frames")
struct IngestCompactTests {
    @Test func itemsAndResultsRoundTrip() throws {
        let full = InboundMessage(channelID: ChannelID(), externalMessageID: "AAMk…=", threadReference: ExternalReference(.outlookConversation, "conv"),
                                  inReplyTo: ["<a@b>", "<c@d>"], internetMessageID: "<e@f>",
                                  senderExternal: ExternalParty(name: "Jan", email: "jan@example.nl", phone: "+31612345678", waID: "31612345678"),
                                  subject: "Storing", messageContent: "Laadpaal 🔌 doet het niet", messageHtml: "<p>x</p>",
                                  attachments: [Attachment(fileName: "a.pdf", contentType: "application/pdf", sizeBytes: 10)],
                                  receivedAt: Date(timeIntervalSinceReferenceDate: 817_293_600.5))
        let bare = InboundMessage(channelID: ChannelID(), externalMessageID: "x", senderExternal: ExternalParty(),
                                  messageContent: "", receivedAt: Date(timeIntervalSinceReferenceDate: 1))
        let items: [IngestItem] = [.message(full), .message(bare),
                                   .delivery(channelID: ChannelID(), externalMessageID: "wamid.1", status: .read, at: nil)]
        let back = try IngestCompact.decode(try IngestCompact.encode(items))
        #expect(back.count == 3)
        if case .message(let m) = back[0] { #expect(m == full) } else { Issue.record("first item is not a message") }
        if case .message(let m) = back[1] { #expect(m == bare) } else { Issue.record("second item is not a message") }
        if case .delivery(_, let ext, let status, let at, _) = back[2] {
            #expect(ext == "wamid.1" && status == .read && at == nil)
        } else {
            Issue.record("third item is not a delivery status: \(back[2])")
        }

        let outcomes = [IngestOutcome(status: "created", threadID: ThreadID(), messageID: MessageID(), seq: 42, rule: "new_thread"),
                        IngestOutcome(status: "duplicate", threadID: ThreadID(), messageID: MessageID(), seq: 7),
                        IngestOutcome(status: "updated", seq: 43),
                        IngestOutcome(status: "unchanged"),
                        IngestOutcome(status: "error", error: APIErrorBody(code: "not_found", message: "no channel"))]
        let results = try IngestCompact.decodeResults(IngestCompact.encode(outcomes))
        #expect(results.map(\.status) == ["created", "duplicate", "updated", "unchanged", "error"])
        #expect(results[0].seq == 42 && results[0].threadID == outcomes[0].threadID && results[0].messageID == outcomes[0].messageID)
        #expect(results[4].errorCode == "not_found")
    }

    @Test func truncatedFramesAreRefused() throws {
        let m = InboundMessage(channelID: ChannelID(), externalMessageID: "x", senderExternal: ExternalParty(name: "a"),
                               messageContent: "hallo", receivedAt: Date())
        let bytes = try IngestCompact.encode([.message(m)])
        for cut in [0, 1, 5, bytes.count - 1] {
            #expect(throws: (any Error).self) { try IngestCompact.decode(Array(bytes[..<cut])) }
        }
        #expect(throws: (any Error).self) { try IngestCompact.decode([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) }
    }
}
