import Foundation

/// What a mail gateway learns from a mailbox beyond the customers' own
/// messages (those are `InboundMessage`s): mail the mailbox itself sent,
/// messages that left a folder at the provider, and calendar events that
/// ask for a follow-up. Each is an ingest item of its own type
/// (`outgoing_message`, `message_removed`, `calendar_follow_up`).
public enum MailboxItem: Sendable, Hashable {
    case outgoing(OutgoingMail)
    case removed(MessageRemoval)
    case followUp(CalendarFollowUp)

    public var channelID: ChannelID {
        switch self {
        case .outgoing(let o): o.message.channelID
        case .removed(let r): r.channelID
        case .followUp(let f): f.channelID
        }
    }
}

/// A mail found in the mailbox's Sent Items (or sent from it otherwise):
/// logged as `outgoing` in its thread and never sent again. When
/// `commhubMessageID` names a message CommHub sent itself, nothing new is
/// logged: that message learns its provider id and its conversation and
/// Message-ID become references of its thread, so answers to it match.
public struct OutgoingMail: Sendable, Hashable {
    /// The mail as the mailbox holds it: `sender_external` is the mailbox
    /// (or the person who sent it), `received_at` when it was sent.
    public var message: InboundMessage
    /// Its first recipient: the customer it was written to.
    public var recipient: ExternalParty?
    /// CommHub's own message id, when the mail carries it (`x-commhub-message-id`, or a Message-ID CommHub made).
    public var commhubMessageID: MessageID?

    public init(message: InboundMessage, recipient: ExternalParty?, commhubMessageID: MessageID?) {
        self.message = message; self.recipient = recipient; self.commhubMessageID = commhubMessageID
    }
}

/// A message that is no longer in its folder at the provider (deleted, or
/// moved out of a synchronised folder): recorded on the message when
/// CommHub knows it, never a reason to create one.
public struct MessageRemoval: Codable, Sendable, Hashable {
    public var channelID: ChannelID
    public var externalMessageID: String
    /// The provider's reason (`deleted`, `changed`).
    public var reason: String?
    /// The folder it left (`Inbox`).
    public var folder: String?
    public var at: Date?

    public init(channelID: ChannelID, externalMessageID: String, reason: String?, folder: String?, at: Date?) {
        self.channelID = channelID; self.externalMessageID = externalMessageID; self.reason = reason; self.folder = folder
        self.at = at
    }
}

/// A calendar event that marks a follow-up, as a gateway sees it now. The
/// engine keeps one `follow_up` task per event (`taskID(channel:event:)`):
/// a change updates it, a cancellation (or the event losing its marker)
/// cancels it.
public struct CalendarFollowUp: Codable, Sendable, Hashable {
    public var channelID: ChannelID
    /// The provider's event id (Graph `event.id`).
    public var eventID: String
    public var title: String
    public var description: String?
    /// The organiser's address: the task goes to the internal person with this e-mail.
    public var organizerEmail: String?
    /// The event's start: the task's due date and time (in the business calendar's time zone).
    public var dueAt: Date?
    /// The event was cancelled or deleted, or no longer marks a follow-up.
    public var cancelled: Bool
    /// Attendees' addresses: a customer among them links the task.
    public var attendeeEmails: [String]

    public init(channelID: ChannelID, eventID: String, title: String, description: String? = nil, organizerEmail: String? = nil,
                dueAt: Date? = nil, cancelled: Bool = false, attendeeEmails: [String] = []) {
        self.channelID = channelID; self.eventID = eventID; self.title = title; self.description = description
        self.organizerEmail = organizerEmail; self.dueAt = dueAt; self.cancelled = cancelled; self.attendeeEmails = attendeeEmails
    }

    /// The task of an event: the same id for the same event on the same
    /// channel, every time, so that a change finds the task it made before
    /// without a table of its own (two 64-bit FNV-1a hashes of
    /// `outlook-event:<channel>:<event id>`, as a version-8 UUID).
    public static func taskID(channel: ChannelID, event: String) -> TaskID {
        let key = Array("outlook-event:\(channel):\(event)".utf8)
        func fnv(_ seed: UInt64) -> UInt64 {
            var h = seed
            for b in key { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            return h
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for (i, w) in [fnv(0xcbf2_9ce4_8422_2325), fnv(0x84222325_cbf29ce4)].enumerated() {
            for j in 0..<8 { bytes[i * 8 + j] = UInt8(truncatingIfNeeded: w >> (8 * UInt64(j))) }
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8: custom
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        let uuid = UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        return TaskID(uuid)
    }
}

extension CalendarFollowUp {
    enum CodingKeys: String, CodingKey {
        case channelID, eventID, title, description, organizerEmail, dueAt, cancelled, attendeeEmails
    }

    /// `cancelled` (false) and `attendee_emails` ([]) may be left out.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        channelID = try c.decode(ChannelID.self, forKey: .channelID)
        eventID = try c.decode(String.self, forKey: .eventID)
        title = try c.decode(String.self, forKey: .title)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        organizerEmail = try c.decodeIfPresent(String.self, forKey: .organizerEmail)
        dueAt = try c.decodeIfPresent(Date.self, forKey: .dueAt)
        cancelled = try c.decodeIfPresent(Bool.self, forKey: .cancelled) ?? false
        attendeeEmails = try c.decodeIfPresent([String].self, forKey: .attendeeEmails) ?? []
    }
}

/// What a gateway keeps about one channel between its own restarts
/// (subscription ids and expiries, delta links, queued work) in the
/// engine, because gateways are stateless: journaled like everything
/// else, in snapshots, handed back on request. Secrets among it (a
/// subscription's `clientState`) are sealed like channel secrets.
public struct GatewayState: Codable, Sendable, Hashable {
    public var values: [String: JSONValue]
    /// The secrets, sealed by the server (AES-GCM); never in clear at rest.
    public var sealedSecrets: Data?

    public init(values: [String: JSONValue] = [:], sealedSecrets: Data? = nil) {
        self.values = values; self.sealedSecrets = sealedSecrets
    }
}

/// One journaled change of a channel's gateway state.
public struct GatewayStateChange: Codable, Sendable, Hashable {
    public var channel: ChannelID
    public var set: [String: JSONValue]
    public var removed: [String]
    /// The channel's sealed secrets after the change, when they changed.
    public var sealedSecrets: Data?
    public var secretsChanged: Bool

    public init(channel: ChannelID, set: [String: JSONValue], removed: [String], sealedSecrets: Data?, secretsChanged: Bool) {
        self.channel = channel; self.set = set; self.removed = removed; self.sealedSecrets = sealedSecrets
        self.secretsChanged = secretsChanged
    }
}

extension GatewayState {
    /// The state after `change`.
    public func applying(_ change: GatewayStateChange) -> GatewayState {
        var s = self
        for k in change.removed { s.values[k] = nil }
        for (k, v) in change.set { s.values[k] = v }
        if change.secretsChanged { s.sealedSecrets = change.sealedSecrets }
        return s
    }
}

/// Bounds of one channel's gateway state (the engine refuses a change beyond them).
public enum GatewayStateLimits {
    /// Keys of one channel, at most.
    public static let maxKeys = 20_000
    public static let maxKeyBytes = 256
    /// One value's JSON, at most.
    public static let maxValueBytes = 16 * 1024
    /// Keys one change may set or remove, at most.
    public static let maxKeysPerChange = 1_000
    /// The sealed secrets of one channel, at most.
    public static let maxSealedSecretBytes = 256 * 1024
}
