import CommHubDomain
import CommHubWire
import Foundation

/// A mail as Microsoft Graph returns it (`GET /users/{id}/messages/{id}`
/// with `$select=OutlookMessage.selectFields`), read and range-checked.
public struct GraphMessage: Sendable, Hashable {
    public struct Address: Sendable, Hashable {
        public var name: String?
        public var address: String?
        var party: ExternalParty { ExternalParty(name: name, email: address) }
    }

    public var id: String
    public var conversationID: String?
    public var internetMessageID: String?
    /// `internetMessageHeaders`, names as sent.
    public var headers: [(name: String, value: String)]
    public var from: Address?
    public var sender: Address?
    public var to: [Address]
    public var cc: [Address]
    public var replyTo: [Address]
    public var subject: String?
    /// `html` or `text`.
    public var bodyType: String
    public var body: String
    public var bodyPreview: String?
    public var receivedAt: Date?
    public var sentAt: Date?
    public var isRead: Bool
    public var isDraft: Bool
    public var hasAttachments: Bool
    public var parentFolderID: String?

    public static func == (a: Self, b: Self) -> Bool { a.id == b.id && a.body == b.body && a.subject == b.subject }
    public func hash(into h: inout Hasher) { h.combine(id) }

    /// Longest id, header value or address kept.
    public static let maxFieldCharacters = 2_000
    /// Headers read at most.
    public static let maxHeaders = 500

    public init(json: JSONValue) throws(OutlookMessageError) {
        guard let id = json["id"]?.stringValue, !id.isEmpty, id.count <= Self.maxFieldCharacters else {
            throw OutlookMessageError("id: a string of 1 to \(Self.maxFieldCharacters) characters is required")
        }
        self.id = id
        conversationID = Self.short(json["conversationId"]?.stringValue)
        internetMessageID = Self.short(json["internetMessageId"]?.stringValue)
        headers = (json["internetMessageHeaders"]?.arrayItems ?? []).prefix(Self.maxHeaders).compactMap { h in
            guard let n = h["name"]?.stringValue, let v = h["value"]?.stringValue, n.count <= 200 else { return nil }
            return (n, String(v.prefix(Self.maxFieldCharacters)))
        }
        from = Self.address(json["from"])
        sender = Self.address(json["sender"])
        to = Self.addresses(json["toRecipients"])
        cc = Self.addresses(json["ccRecipients"])
        replyTo = Self.addresses(json["replyTo"])
        subject = json["subject"]?.stringValue.map { String($0.prefix(WireBounds.maxSubjectCharacters)) }
        bodyType = (json["body"]?["contentType"]?.stringValue ?? "text").lowercased()
        body = json["body"]?["content"]?.stringValue ?? ""
        bodyPreview = json["bodyPreview"]?.stringValue
        receivedAt = json["receivedDateTime"]?.stringValue.flatMap { Date(iso8601: $0) }
        sentAt = json["sentDateTime"]?.stringValue.flatMap { Date(iso8601: $0) }
        isRead = json["isRead"]?.boolValue ?? false
        isDraft = json["isDraft"]?.boolValue ?? false
        hasAttachments = json["hasAttachments"]?.boolValue ?? false
        parentFolderID = Self.short(json["parentFolderId"]?.stringValue)
    }

    static func short(_ s: String?) -> String? {
        guard let s, !s.isEmpty, s.count <= maxFieldCharacters else { return nil }
        return s
    }

    static func address(_ v: JSONValue?) -> Address? {
        guard let e = v?["emailAddress"] else { return nil }
        let a = Address(name: e["name"]?.stringValue.map { String($0.prefix(WireBounds.maxNameCharacters)) },
                        address: e["address"]?.stringValue.flatMap { $0.count <= WireBounds.maxNameCharacters ? $0 : nil })
        return a.address == nil && a.name == nil ? nil : a
    }

    static func addresses(_ v: JSONValue?) -> [Address] {
        (v?.arrayItems ?? []).prefix(100).compactMap { address($0) }
    }

    /// The value of a header (case-insensitive name).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The Message-IDs this mail answers: `In-Reply-To` first, then
    /// `References` newest first, without repeats, at most `WireBounds.maxInReplyTo`.
    public var answeredMessageIDs: [String] {
        var out: [String] = []
        for id in Self.messageIDs(header("In-Reply-To") ?? "") + Self.messageIDs(header("References") ?? "").reversed()
        where !out.contains(id) && out.count < WireBounds.maxInReplyTo {
            out.append(id)
        }
        return out
    }

    /// `<a@b> <c@d>` → `["<a@b>", "<c@d>"]` (RFC 5322 msg-id list; folding white space and commas between).
    public static func messageIDs(_ text: String) -> [String] {
        var out: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "<") {
            guard let close = rest[open...].firstIndex(of: ">") else { break }
            let id = String(rest[open...close])
            if id.count > 2, id.count <= WireBounds.maxIdentifierCharacters, !id.contains(where: \.isWhitespace) { out.append(id) }
            rest = rest[rest.index(after: close)...]
        }
        return out
    }

    /// CommHub's own message id, when this mail is one CommHub sent: the
    /// `x-commhub-message-id` header, or a Message-ID CommHub made (`<commhub.{id}@…>`).
    public var commhubMessageID: MessageID? {
        if let v = header(OutlookOutbound.messageIDHeader), let id = MessageID(v.trimmingCharacters(in: .whitespaces)) { return id }
        return internetMessageID.flatMap(OutlookOutbound.commhubMessageID(fromInternetMessageID:))
    }
}

public struct OutlookMessageError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Graph's mail as CommHub's ingest items: the conversation and the
/// Message-IDs it answers become the thread references of matching rule 1,
/// the HTML is kept sanitised (`MailHTML`) with a clean text rendition as
/// `message_content`, and the attachments are listed (their files follow).
public enum OutlookNormaliser {
    /// `$select` of a message fetch: everything the normaliser reads
    /// (`internetMessageHeaders` is returned only when selected).
    public static let selectFields = "id,conversationId,internetMessageId,internetMessageHeaders,from,sender,toRecipients,"
        + "ccRecipients,replyTo,subject,body,bodyPreview,receivedDateTime,sentDateTime,isRead,isDraft,hasAttachments,parentFolderId"
    /// Text and HTML kept of one mail, at most (the engine takes 1 MiB per message): beyond it the HTML is
    /// dropped (the text stays, marked), and text beyond `maxTextBytes` is cut.
    public static let maxStoredBodyBytes = 900 * 1024
    public static let maxTextBytes = 256 * 1024

    /// What a mail becomes: its text, its HTML (nil for text mail) and what was removed from it.
    public struct Body: Sendable, Hashable {
        public var text: String
        public var html: String?
        public var blockedImages: Int
        public var truncated: Bool
    }

    public static func body(_ m: GraphMessage, inlineImages: [String: String]) -> Body {
        var b: Body
        if m.bodyType == "html" {
            let s = MailHTML.sanitise(m.body, inlineImages: inlineImages)
            b = Body(text: s.text, html: s.html, blockedImages: s.blockedImages, truncated: false)
        } else {
            b = Body(text: m.body.replacingOccurrences(of: "\r\n", with: "\n"), html: nil, blockedImages: 0, truncated: false)
        }
        if b.text.utf8.count > maxTextBytes {
            b.text = String(decoding: b.text.utf8.prefix(maxTextBytes), as: UTF8.self)
            b.truncated = true
        }
        if b.text.utf8.count + (b.html?.utf8.count ?? 0) > maxStoredBodyBytes {
            b.html = nil
            b.truncated = true
        }
        if b.text.isEmpty, let preview = m.bodyPreview { b.text = preview }
        return b
    }

    static func metadata(_ m: GraphMessage, body: Body, folder: String) -> [String: JSONValue] {
        var o: [String: JSONValue] = ["outlook_folder": .string(folder)]
        if !m.to.isEmpty { o["to"] = .array(m.to.compactMap { $0.address.map(JSONValue.string) }) }
        if !m.cc.isEmpty { o["cc"] = .array(m.cc.compactMap { $0.address.map(JSONValue.string) }) }
        if body.blockedImages > 0 { o["blocked_remote_images"] = .number(Double(body.blockedImages)) }
        if body.truncated { o["body_truncated"] = .bool(true) }
        return o
    }

    /// A customer's mail (Inbox) as an inbound message.
    public static func inbound(_ m: GraphMessage, channelID: ChannelID, folder: String, attachments: [Attachment],
                               inlineImages: [String: String], now: Date) -> InboundMessage {
        let b = body(m, inlineImages: inlineImages)
        // Who the customer is, and where answers go: Reply-To when the mail names one (a web form
        // sending on a customer's behalf), else the sender.
        var party = (m.replyTo.first ?? m.from ?? m.sender)?.party ?? ExternalParty()
        if party.name == nil || party.name?.isEmpty == true { party.name = (m.from ?? m.sender)?.name }
        return InboundMessage(channelID: channelID, externalMessageID: m.id,
                              threadReference: m.conversationID.map { ExternalReference(.outlookConversation, $0) },
                              inReplyTo: m.answeredMessageIDs, internetMessageID: m.internetMessageID, senderExternal: party,
                              subject: m.subject, messageContent: b.text, messageHtml: b.html,
                              attachments: Array(attachments.prefix(WireBounds.maxAttachments)),
                              receivedAt: m.receivedAt ?? m.sentAt ?? now, metadata: metadata(m, body: b, folder: folder))
    }

    /// A mail the mailbox sent (Sent Items) as an outgoing-mail item.
    public static func outgoing(_ m: GraphMessage, channelID: ChannelID, folder: String, attachments: [Attachment],
                                inlineImages: [String: String], now: Date) -> OutgoingMail {
        var message = inbound(m, channelID: channelID, folder: folder, attachments: attachments, inlineImages: inlineImages, now: now)
        message.receivedAt = m.sentAt ?? m.receivedAt ?? now
        return OutgoingMail(message: message, recipient: m.to.first?.party ?? m.cc.first?.party, commhubMessageID: m.commhubMessageID)
    }

    /// Whether a mail in a synchronised folder is one the mailbox sent:
    /// any mail of Sent Items, and mail whose sender is the mailbox itself.
    public static func isFromMailbox(_ m: GraphMessage, mailbox: String, folder: String) -> Bool {
        if folder == OutlookFolder.sentItems.key { return true }
        guard let from = (m.from ?? m.sender)?.address.flatMap(EmailAddress.init), let own = EmailAddress(mailbox) else { return false }
        return from == own
    }

    /// An ingest item's JSON (`type` and the contract's keys).
    public static func itemJSON(_ m: InboundMessage) throws -> JSONValue {
        var o = try JSONValue.contract(m).objectValue ?? [:]
        o["type"] = .string("message")
        return .object(o)
    }

    public static func itemJSON(_ o: OutgoingMail) throws -> JSONValue {
        var item = try JSONValue.contract(o.message).objectValue ?? [:]
        item["type"] = .string("outgoing_message")
        if let r = o.recipient { item["recipient_external"] = try JSONValue.contract(r) }
        if let id = o.commhubMessageID { item["commhub_message_id"] = .string(id.description) }
        return .object(item)
    }

    public static func itemJSON(_ r: MessageRemoval) throws -> JSONValue {
        var o = try JSONValue.contract(r).objectValue ?? [:]
        o["type"] = .string("message_removed")
        return .object(o)
    }

    public static func itemJSON(_ f: CalendarFollowUp) throws -> JSONValue {
        var o = try JSONValue.contract(f).objectValue ?? [:]
        o["type"] = .string("calendar_follow_up")
        return .object(o)
    }
}

extension JSONValue {
    /// A value in the contract's JSON (snake_case keys, ISO 8601 dates).
    static func contract(_ value: some Encodable) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: ContractJSON.sharedEncoder.encode(value))
    }
}

/// A synchronised mail folder: Graph's well-known name for the usual ones
/// (`Inbox` → `inbox`, `Sent Items` → `sentitems`), else the folder id
/// looked up by display name.
public struct OutlookFolder: Sendable, Hashable {
    /// `inbox`, `sentitems`, or a folder id.
    public var key: String
    /// As the channel names it.
    public var displayName: String

    public static let inbox = OutlookFolder(key: "inbox", displayName: "Inbox")
    public static let sentItems = OutlookFolder(key: "sentitems", displayName: "Sent Items")
    public static let defaultFolders = ["Inbox", "Sent Items"]
    static let wellKnown: [String: String] = ["inbox": "inbox", "sent items": "sentitems", "sentitems": "sentitems",
                                              "archive": "archive", "junk email": "junkemail", "junkemail": "junkemail",
                                              "deleted items": "deleteditems", "deleteditems": "deleteditems"]

    public init(key: String, displayName: String) { self.key = key; self.displayName = displayName }

    /// The well-known folder a name denotes, nil for any other.
    public static func wellKnown(_ name: String) -> OutlookFolder? {
        wellKnown[name.lowercased().trimmingCharacters(in: .whitespaces)].map { OutlookFolder(key: $0, displayName: name) }
    }

    /// `sync_folders` of a channel (default Inbox and Sent Items), at most 20.
    public static func configured(_ channel: GatewayChannelSettings) -> [String] {
        guard case .array(let list)? = channel.configuration["sync_folders"] else { return defaultFolders }
        let names = list.compactMap { $0.stringValue?.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return Array(names.prefix(20))
    }

    /// The folder in a Graph path: `mailFolders('inbox')` / `mailFolders/{id}`.
    public var path: String {
        OutlookFolder.wellKnown.values.contains(key) ? "mailFolders('\(key)')" : "mailFolders/\(GraphClient.segment(key))"
    }
}
