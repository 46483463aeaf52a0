import CommHubDomain
import Foundation

/// One item of an ingest batch: an inbound message, a delivery status, or a
/// customer's reaction to a message. The same items arrive as `POST
/// /api/ingest` bodies, JSON `ingest` frames and compact `ingestCompact`
/// frames (`IngestCompact`; reactions and provider errors are JSON only).
public enum IngestItem: Decodable, Sendable {
    case message(InboundMessage)
    /// A provider's status report for one of our messages; `error` is its reason for a failure.
    case delivery(channelID: ChannelID, externalMessageID: String, status: DeliveryStatus, at: Date?, error: ProviderError? = nil)
    /// `from` reacted to the message `externalMessageID` with `emoji` (empty or nil: removed).
    case reaction(channelID: ChannelID, externalMessageID: String, from: String, emoji: String?, at: Date?)
    /// What a mail gateway learns from the mailbox itself: mail it sent
    /// (`outgoing_message`), a message gone from its folder
    /// (`message_removed`), a calendar follow-up (`calendar_follow_up`).
    case mailbox(MailboxItem)

    /// A provider's code and title for a failed delivery (WhatsApp `errors[0]`, Twilio `ErrorCode`).
    public struct ProviderError: Codable, Sendable, Hashable {
        public var code: String?
        public var title: String?
        public init(code: String?, title: String?) { self.code = code; self.title = title }
    }

    public enum Kind: String, ContractEnum {
        case message, deliveryStatus = "delivery_status", reaction
        case outgoingMessage = "outgoing_message", messageRemoved = "message_removed", calendarFollowUp = "calendar_follow_up"
    }
    enum Keys: String, CodingKey {
        case type, channelID, externalMessageID, deliveryStatus, at, errorCode, errorTitle, from, emoji
        case recipientExternal, commhubMessageID
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        switch try c.decode(Kind.self, forKey: .type) {
        case .message:
            self = .message(try InboundMessage(from: decoder))
        case .deliveryStatus:
            let code = try c.decodeIfPresent(String.self, forKey: .errorCode)
            let title = try c.decodeIfPresent(String.self, forKey: .errorTitle)
            self = .delivery(channelID: try c.decode(ChannelID.self, forKey: .channelID),
                             externalMessageID: try c.decode(String.self, forKey: .externalMessageID),
                             status: try c.decode(DeliveryStatus.self, forKey: .deliveryStatus),
                             at: try c.decodeIfPresent(Date.self, forKey: .at),
                             error: code == nil && title == nil ? nil : ProviderError(code: code, title: title))
        case .reaction:
            self = .reaction(channelID: try c.decode(ChannelID.self, forKey: .channelID),
                             externalMessageID: try c.decode(String.self, forKey: .externalMessageID),
                             from: try c.decode(String.self, forKey: .from),
                             emoji: try c.decodeIfPresent(String.self, forKey: .emoji),
                             at: try c.decodeIfPresent(Date.self, forKey: .at))
        case .outgoingMessage:
            self = .mailbox(.outgoing(OutgoingMail(message: try InboundMessage(from: decoder),
                                                   recipient: try c.decodeIfPresent(ExternalParty.self, forKey: .recipientExternal),
                                                   commhubMessageID: try c.decodeIfPresent(MessageID.self, forKey: .commhubMessageID))))
        case .messageRemoved:
            self = .mailbox(.removed(try MessageRemoval(from: decoder)))
        case .calendarFollowUp:
            self = .mailbox(.followUp(try CalendarFollowUp(from: decoder)))
        }
    }
}

/// `{"events": [...]}`: the body of `POST /api/ingest` and of a JSON `ingest` frame.
public struct IngestBatch: Decodable, Sendable {
    /// Most items in one batch or frame; more is refused as a whole.
    public static let maxEvents = 1000

    public var events: [IngestItem]

    public init(events: [IngestItem]) { self.events = events }
}

/// The per-item answer; the batch is acknowledged once every created item is durable.
public struct IngestOutcome: Encodable, Sendable {
    public var status: String
    public var threadID: ThreadID?
    public var messageID: MessageID?
    public var seq: UInt64?
    public var rule: String?
    public var error: APIErrorBody?

    public init(status: String, threadID: ThreadID? = nil, messageID: MessageID? = nil, seq: UInt64? = nil,
                rule: String? = nil, error: APIErrorBody? = nil) {
        self.status = status; self.threadID = threadID; self.messageID = messageID; self.seq = seq
        self.rule = rule; self.error = error
    }
}

/// The inner part of the contract's error body `{"error": {"code", "message"}}`.
public struct APIErrorBody: Encodable, Sendable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}
