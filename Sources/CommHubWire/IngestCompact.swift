import CommHubDomain
import Foundation

/// The compact (binary) payloads of the ingest protocol: `ingestCompact`
/// (0x03) carries the same items as a JSON `ingest` frame, `resultsCompact`
/// (0x83) the same results. Same rules (order, ack after commit); about a
/// tenth of the bytes and none of the JSON cost, for gateways that push at
/// high rates. Layout (CompactWriter conventions):
///
/// - request: `varint count`, then per item `u8 type` —
///   1 message: channel uuid, external id, reference? (u8 kind tag + value),
///   in_reply_to (varint n + strings), internet message id?, sender (name?,
///   email?, phone?, wa_id?), subject?, content, html?, attachments (u8 0, or
///   1 + JSON), received_at;
///   2 delivery status: channel uuid, external id, status tag, at?.
/// - results: `varint count`, then per item `u8 status` — 0 created or
///   1 duplicate: thread uuid, message uuid, varint seq, rule?; 2 updated:
///   varint seq; 3 error: code, message; 4 unchanged (a delivery report that
///   does not move the message forward); 5 ignored: reason (a delivery report
///   for a message CommHub does not know).
///
/// `decode` holds a frame to the same rules as a JSON one: the attachments
/// JSON goes through `StrictJSON`, and every item through its range checks
/// (dates finite and inside `WireDates`, sizes, lengths); a violation
/// throws `FieldRangeError` naming the item (`events[2].received_at`).
public enum IngestCompact {
    public static func encode(_ items: [IngestItem]) throws -> [UInt8] {
        var w = CompactWriter(capacity: items.count * 160)
        w.varint(UInt64(items.count))
        for item in items {
            switch item {
            case .message(let m):
                // The compact form has no room for the auto-submitted flag: such a message goes as JSON.
                guard !m.autoSubmitted else { throw WireError("an auto_submitted message goes in a JSON ingest frame") }
                w.u8(1)
                w.id(m.channelID); w.string(m.externalMessageID)
                if let r = m.threadReference { w.u8(1); w.tag(r.kind); w.string(r.value) } else { w.u8(0) }
                w.varint(UInt64(m.inReplyTo.count)); for s in m.inReplyTo { w.string(s) }
                w.string(m.internetMessageID)
                w.string(m.senderExternal.name); w.string(m.senderExternal.email)
                w.string(m.senderExternal.phone); w.string(m.senderExternal.waID)
                w.string(m.subject); w.string(m.messageContent); w.string(m.messageHtml)
                if m.attachments.isEmpty { w.u8(0) } else { w.u8(1); try w.json(m.attachments) }
                w.date(m.receivedAt)
            case .delivery(let channel, let ext, let status, let at, let error):
                // The compact form has no room for a provider's error (or a reaction): those go as JSON.
                guard error == nil else { throw WireError("a delivery status with an error goes in a JSON ingest frame") }
                w.u8(2)
                w.id(channel); w.string(ext); w.tag(status); w.date(at)
            case .reaction:
                throw WireError("reactions go in a JSON ingest frame")
            case .mailbox:
                throw WireError("mailbox items (outgoing mail, removals, calendar follow-ups) go in a JSON ingest frame")
            }
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> [IngestItem] {
        var r = CompactReader(bytes)
        let n = try r.varint()
        guard n <= UInt64(bytes.count) else { throw CompactReader.Truncated() }
        var items: [IngestItem] = []
        items.reserveCapacity(Int(n))
        for _ in 0..<n {
            switch try r.u8() {
            case 1:
                let channel: ChannelID = try r.id()
                let ext = try r.string()
                let ref = try r.u8() == 0 ? nil : ExternalReference(try r.tag(ExternalReference.Kind.self), try r.string())
                let replies = try r.varint()
                guard replies <= UInt64(bytes.count) else { throw CompactReader.Truncated() }
                let inReplyTo = try (0..<replies).map { _ in try r.string() }
                let internetID = try r.optionalString()
                let sender = ExternalParty(name: try r.optionalString(), email: try r.optionalString(),
                                           phone: try r.optionalString(), waID: try r.optionalString())
                let subject = try r.optionalString()
                let content = try r.string()
                let html = try r.optionalString()
                let attachments = try r.u8() == 0 ? [] : try attachmentsJSON(&r)
                let at = try r.date()
                items.append(.message(InboundMessage(channelID: channel, externalMessageID: ext, threadReference: ref,
                                                     inReplyTo: inReplyTo, internetMessageID: internetID, senderExternal: sender,
                                                     subject: subject, messageContent: content, messageHtml: html,
                                                     attachments: attachments, receivedAt: at)))
            case 2:
                items.append(.delivery(channelID: try r.id(), externalMessageID: try r.string(),
                                       status: try r.tag(DeliveryStatus.self), at: try r.optionalDate()))
            default:
                throw CompactReader.Truncated()
            }
            try items[items.count - 1].checkRanges("events[\(items.count - 1)]")
        }
        guard r.atEnd else { throw CompactReader.Truncated() }
        return items
    }

    /// Written for a created or duplicate outcome that lacks its ids (never
    /// produced by the server, but the encoder must not trap on any value).
    static let nilUUID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    /// The attachments of a compact message: JSON, held to the ingest frame's JSON rules.
    static func attachmentsJSON(_ r: inout CompactReader) throws -> [Attachment] {
        let n = try r.varint()
        guard n <= UInt64(r.bytes.count - r.position) else { throw CompactReader.Truncated() }
        let raw = try r.raw(Int(n))
        try StrictJSON.validate(raw, limits: .ingestFrame)
        return try CompactReader.attachmentDecoder.decode([Attachment].self, from: Data(raw))
    }

    public static func encode(_ outcomes: [IngestOutcome]) -> [UInt8] {
        var w = CompactWriter(capacity: outcomes.count * 48)
        w.varint(UInt64(outcomes.count))
        for o in outcomes {
            switch o.status {
            case "created", "duplicate":
                w.u8(o.status == "created" ? 0 : 1)
                w.id(o.threadID ?? ThreadID(nilUUID)); w.id(o.messageID ?? MessageID(nilUUID))
                w.varint(o.seq ?? 0); w.string(o.rule)
            case "updated":
                w.u8(2); w.varint(o.seq ?? 0)
            case "unchanged":
                w.u8(4)
            case "ignored":
                w.u8(5); w.string(o.error?.message ?? "")
            default:
                w.u8(3); w.string(o.error?.code ?? "failed"); w.string(o.error?.message ?? "")
            }
        }
        return w.bytes
    }

    /// Decoded compact results (for clients and tests).
    public struct Result: Sendable, Equatable {
        public var status: String
        public var threadID: ThreadID?
        public var messageID: MessageID?
        public var seq: UInt64?
        public var errorCode: String?
        public var errorMessage: String?
    }

    public static func decodeResults(_ bytes: [UInt8]) throws -> [Result] {
        var r = CompactReader(bytes)
        let n = try r.varint()
        guard n <= UInt64(bytes.count) else { throw CompactReader.Truncated() }
        var out: [Result] = []
        for _ in 0..<n {
            switch try r.u8() {
            case let s where s <= 1:
                let t: ThreadID = try r.id()
                let m: MessageID = try r.id()
                let seq = try r.varint()
                _ = try r.optionalString()
                out.append(Result(status: s == 0 ? "created" : "duplicate", threadID: t, messageID: m, seq: seq))
            case 2:
                out.append(Result(status: "updated", seq: try r.varint()))
            case 4:
                out.append(Result(status: "unchanged"))
            case 5:
                out.append(Result(status: "ignored", errorMessage: try r.string()))
            default:
                out.append(Result(status: "error", errorCode: try r.string(), errorMessage: try r.string()))
            }
        }
        return out
    }
}

extension CompactReader {
    /// How `CompactWriter.json` encodes attachments (plain keys, no date strategy).
    static let attachmentDecoder = JSONDecoder()
}
