import CommHubDomain
import Crypto
import Foundation

// The Meta WhatsApp Cloud API webhook, as pure values: the signature check
// (`X-Hub-Signature-256`), the GET verification handshake, and the payload
// parser that turns a notification into CommHub `InboundMessage`s and
// delivery-status updates. No actors, sockets or disk: the HTTP route in
// CommHubServer reads the raw body, picks the channel and its secrets, and
// calls these.

// MARK: - Signature

/// Why a `X-Hub-Signature-256` header was refused. Every case is an
/// authentication failure (HTTP 401); `code` is the stable error code.
public enum WhatsAppSignatureError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No `X-Hub-Signature-256` header (or an empty one).
    case missingHeader
    /// The header does not start with `sha256=`.
    case wrongPrefix
    /// The part after `sha256=` holds a character that is no hex digit.
    case notHex
    /// The hex part has this many digits instead of 64.
    case wrongLength(Int)
    /// Well-formed, but not the HMAC-SHA256 of this body with this app secret.
    case mismatch

    public var code: String {
        switch self {
        case .missingHeader: "missing_signature"
        case .wrongPrefix, .notHex, .wrongLength: "malformed_signature"
        case .mismatch: "invalid_signature"
        }
    }

    public var description: String {
        switch self {
        case .missingHeader:
            "missing X-Hub-Signature-256 header; Meta signs every webhook with the app secret"
        case .wrongPrefix:
            "X-Hub-Signature-256 must be 'sha256=<64 hex digits>'"
        case .notHex:
            "X-Hub-Signature-256: the part after 'sha256=' is not hexadecimal"
        case .wrongLength(let n):
            "X-Hub-Signature-256: expected 64 hex digits after 'sha256=', found \(n)"
        case .mismatch:
            "X-Hub-Signature-256 does not match the request body signed with the channel's app_secret"
        }
    }
}

/// A decoded `X-Hub-Signature-256` value: the 32 bytes of an HMAC-SHA256.
public struct WhatsAppSignature: Sendable, Hashable {
    public static let headerName = "X-Hub-Signature-256"
    public static let prefix = "sha256="

    public let bytes: [UInt8]

    /// Parses `sha256=<64 hex digits>` (the prefix case-insensitively, hex
    /// in either case, surrounding white space ignored).
    public init(header: String?) throws(WhatsAppSignatureError) {
        guard let raw = header else { throw .missingHeader }
        var utf8 = Substring(raw).utf8[...]
        while let f = utf8.first, f == 0x20 || f == 0x09 { utf8 = utf8.dropFirst() }
        while let l = utf8.last, l == 0x20 || l == 0x09 { utf8 = utf8.dropLast() }
        guard !utf8.isEmpty else { throw .missingHeader }
        let prefix = Self.prefix.utf8
        guard utf8.count >= prefix.count,
              zip(utf8.prefix(prefix.count), prefix).allSatisfy({ a, b in a | 0x20 == b | 0x20 })
        else { throw .wrongPrefix }
        let hex = utf8.dropFirst(prefix.count)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var high: UInt8? = nil
        for c in hex {
            guard let v = Self.hexValue(c) else { throw .notHex }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        guard hex.count == 64 else { throw .wrongLength(hex.count) }
        bytes = out
    }

    /// The header value Meta would send for `body` signed with `appSecret`.
    public static func header(for body: some DataProtocol, appSecret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(appSecret.utf8)))
        var s = prefix
        s.reserveCapacity(prefix.count + 64)
        let digits = Array("0123456789abcdef".utf8)
        for b in mac {
            s.unicodeScalars.append(UnicodeScalar(digits[Int(b >> 4)]))
            s.unicodeScalars.append(UnicodeScalar(digits[Int(b & 0xF)]))
        }
        return s
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }
}

/// Checks `X-Hub-Signature-256` against one app secret. Build it once per
/// secret; `verify` is safe to call concurrently.
public struct WhatsAppSignatureVerifier: Sendable {
    private let key: SymmetricKey

    public init(appSecret: String) {
        key = SymmetricKey(data: Data(appSecret.utf8))
    }

    /// Whether `signature` is the HMAC-SHA256 of `body` (compared in constant time).
    public func isValid(_ signature: WhatsAppSignature, body: some DataProtocol) -> Bool {
        signature.bytes.count == SHA256.byteCount
            && HMAC<SHA256>.isValidAuthenticationCode(signature.bytes, authenticating: body, using: key)
    }

    /// Parses the header and checks it; throws the reason when it is refused.
    public func verify(body: some DataProtocol, signatureHeader: String?) throws(WhatsAppSignatureError) {
        let signature = try WhatsAppSignature(header: signatureHeader)
        guard isValid(signature, body: body) else { throw .mismatch }
    }
}

// MARK: - Verification handshake

/// Why a GET verification request was refused.
public enum WhatsAppHandshakeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `hub.mode` is missing or not `subscribe`.
    case wrongMode(String?)
    case missingVerifyToken
    case missingChallenge
    /// `hub.challenge` is longer than 1024 characters or holds control characters.
    case invalidChallenge
    /// `hub.verify_token` is not the configured verify_token.
    case tokenMismatch

    /// The HTTP status the route answers with: 403 for a wrong token, 400 otherwise.
    public var isForbidden: Bool { self == .tokenMismatch }

    public var code: String {
        switch self {
        case .tokenMismatch: "verify_token_mismatch"
        default: "invalid_request"
        }
    }

    public var description: String {
        switch self {
        case .wrongMode(let m):
            m == nil ? "missing hub.mode; Meta's verification request has hub.mode=subscribe"
                     : "hub.mode must be 'subscribe'"
        case .missingVerifyToken: "missing hub.verify_token"
        case .missingChallenge: "missing hub.challenge"
        case .invalidChallenge: "hub.challenge must be at most 1024 printable characters"
        case .tokenMismatch: "hub.verify_token does not match the channel's verify_token"
        }
    }
}

/// Meta's GET verification request:
/// `?hub.mode=subscribe&hub.verify_token=<token>&hub.challenge=<n>`. The
/// answer is the challenge, as plain text, when the token matches.
public struct WhatsAppVerificationRequest: Sendable, Hashable {
    public let verifyToken: String
    public let challenge: String

    public init(mode: String?, verifyToken: String?, challenge: String?) throws(WhatsAppHandshakeError) {
        guard mode == "subscribe" else { throw .wrongMode(mode) }
        guard let token = verifyToken, !token.isEmpty else { throw .missingVerifyToken }
        guard let challenge, !challenge.isEmpty else { throw .missingChallenge }
        guard challenge.utf8.count <= 1024, !challenge.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { throw .invalidChallenge }
        self.verifyToken = token
        self.challenge = challenge
    }

    /// Whether the request carries `expectedToken` (constant time; an empty expected token never matches).
    public func matches(expectedToken: String) -> Bool {
        !expectedToken.isEmpty && WhatsAppVerificationRequest.constantTimeEquals(verifyToken, expectedToken)
    }

    /// The challenge to echo, or `.tokenMismatch`.
    public func respond(expectedToken: String) throws(WhatsAppHandshakeError) -> String {
        guard matches(expectedToken: expectedToken) else { throw .tokenMismatch }
        return challenge
    }

    /// Compares two secrets in time independent of where they differ (and of
    /// their lengths): both are hashed, and the digests compared byte by byte.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let da = Array(SHA256.hash(data: Data(a.utf8)))
        let db = Array(SHA256.hash(data: Data(b.utf8)))
        var diff: UInt8 = 0
        for i in 0..<da.count { diff |= da[i] ^ db[i] }
        return diff == 0
    }
}

// MARK: - Payload

/// Why a webhook payload could not be read (HTTP 400). Messages name the field.
public enum WhatsAppPayloadError: Error, Sendable, Hashable, CustomStringConvertible {
    case emptyBody
    /// Not JSON at all; the detail says where the parser gave up.
    case malformedJSON(String)
    /// `object` is not `whatsapp_business_account` (the value found, if a string).
    case wrongObject(String)
    /// A required field is missing, e.g. `entry[0].changes[0].value.metadata.phone_number_id`.
    case missingField(String)
    /// A field has the wrong type or an unusable value: the path and what it must be.
    case invalidField(String, String)

    public var description: String {
        switch self {
        case .emptyBody: "request body is empty; a WhatsApp webhook notification (JSON) was expected"
        case .malformedJSON(let d): "request body is not valid JSON: \(d)"
        case .wrongObject(let o): "object must be 'whatsapp_business_account', not '\(o)'"
        case .missingField(let p): "missing field '\(p)'"
        case .invalidField(let p, let what): "field '\(p)' must be \(what)"
        }
    }
}

/// Media of an image, document, audio, video or sticker message. The bytes
/// stay with Meta until someone downloads them by `id`.
public struct WhatsAppMedia: Sendable, Hashable {
    /// image, document, audio, video, sticker
    public var kind: String
    /// Meta's media id (download through the Graph API with the channel's access token).
    public var id: String
    public var mimeType: String?
    public var sha256: String?
    public var fileName: String?
    public var caption: String?
    /// An audio message recorded as a voice note.
    public var isVoice: Bool
    public var isAnimated: Bool

    /// The `url` CommHub gives the attachment: `whatsapp-media:<media id>`.
    public var attachmentURL: String { WhatsAppMedia.urlScheme + id }
    public static let urlScheme = "whatsapp-media:"

    public var attachment: Attachment {
        Attachment(fileName: fileName.flatMap { $0.isEmpty ? nil : $0 } ?? defaultFileName,
                   contentType: mimeType.flatMap { $0.isEmpty ? nil : $0 } ?? "application/octet-stream",
                   sizeBytes: 0, url: attachmentURL)
    }

    /// `image-<id>.jpg` and the like, from the MIME type.
    var defaultFileName: String {
        var ext = ""
        if let m = mimeType, let slash = m.firstIndex(of: "/") {
            var sub = m[m.index(after: slash)...]
            if let semi = sub.firstIndex(of: ";") { sub = sub[..<semi] }
            let s = sub.trimmingCharacters(in: .whitespaces).lowercased()
            ext = switch s {
            case "jpeg": "jpg"
            case "mpeg": m.hasPrefix("audio") ? "mp3" : "mpeg"
            case "plain": "txt"
            case "vnd.openxmlformats-officedocument.wordprocessingml.document": "docx"
            case "vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"
            case "msword": "doc"
            case "vnd.ms-excel": "xls"
            default: s.count <= 5 && s.allSatisfy({ $0.isLetter || $0.isNumber }) ? s : ""
            }
        }
        return ext.isEmpty ? "\(kind)-\(id)" : "\(kind)-\(id).\(ext)"
    }
}

/// One message a WhatsApp user sent to one of our business numbers.
public struct WhatsAppIncomingMessage: Sendable, Hashable {
    /// Our business number's id (`metadata.phone_number_id`): which channel.
    public var phoneNumberID: String
    public var displayPhoneNumber: String?
    /// `wamid....`: the idempotency key.
    public var messageID: String
    /// The customer's WhatsApp id (their number with country code, no `+`).
    public var from: String
    /// From `contacts[].profile.name`.
    public var profileName: String?
    /// text, image, document, audio, video, sticker, location, button, interactive, reaction, ...
    public var type: String
    public var timestamp: Date
    /// A readable text for the inbox (caption, reply title, location, ...).
    public var text: String
    public var media: WhatsAppMedia?
    /// The message this one answers (`context.id`).
    public var contextMessageID: String?
    /// Beyond the text: `reply_to_external_id`, a button's `payload`, an
    /// `interactive` reply (type, id, title, description), `unsupported`.
    public var metadata: [String: JSONValue] = [:]

    /// The customer's number in E.164 (`+31612345678`).
    public var senderPhone: String? {
        let u = from.utf8
        if (8...15).contains(u.count), u.first != 0x30, u.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return "+" + from }
        return PhoneNumber(from)?.e164
    }

    /// The WhatsApp chat: `<phone number id>:<customer E.164>`, exactly as
    /// `ExternalReference.whatsapp(business:customer:)` writes it (a wa_id is
    /// already the number with its country code, so the usual case skips the
    /// general phone-number parser).
    public var threadReference: ExternalReference {
        let u = from.utf8
        if (8...15).contains(u.count), u.first != 0x30, u.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            return ExternalReference(.whatsappChat, phoneNumberID + ":+" + from)
        }
        return .whatsapp(business: phoneNumberID, customer: from)
    }

    public var senderExternal: ExternalParty {
        ExternalParty(name: profileName, phone: senderPhone, waID: from)
    }

    public var attachments: [Attachment] { media.map { [$0.attachment] } ?? [] }

    /// The normalised message for `/api/ingest` and the engine.
    public func inbound(channelID: ChannelID) -> InboundMessage {
        InboundMessage(channelID: channelID, externalMessageID: messageID, threadReference: threadReference,
                       senderExternal: senderExternal, messageContent: text, attachments: attachments,
                       receivedAt: timestamp, metadata: metadata)
    }
}

/// A delivery receipt for a message we sent.
public struct WhatsAppStatusUpdate: Sendable, Hashable {
    public var phoneNumberID: String
    /// The wamid of our outgoing message.
    public var messageID: String
    /// The same wamid, under the name the engine and `/api/ingest` use.
    public var externalMessageID: String { messageID }
    public var status: DeliveryStatus
    public var timestamp: Date
    public var recipientID: String?
    /// For `failed`: "<code> <title>: <details>" per error.
    public var errors: [String]
    /// The first error's code and title (`131047`, "Re-engagement message").
    public var errorCode: String?
    public var errorTitle: String?
}

/// A customer's reaction to a message (it is not a message of its own).
public struct WhatsAppReaction: Sendable, Hashable {
    public var phoneNumberID: String
    /// The reaction's own wamid.
    public var messageID: String
    /// The wamid of the message reacted to.
    public var targetMessageID: String
    public var from: String
    /// nil or empty: the reaction was removed.
    public var emoji: String?
    public var timestamp: Date
}

/// Everything one webhook notification carried.
public struct WhatsAppWebhookEvents: Sendable, Hashable {
    public var messages: [WhatsAppIncomingMessage] = []
    public var statuses: [WhatsAppStatusUpdate] = []
    public var reactions: [WhatsAppReaction] = []
    /// What was read but deliberately not turned into events (other
    /// subscription fields, unknown receipt kinds, error notices), one
    /// readable line each. Never message text.
    public var ignored: [String] = []

    public init() {}

    /// The business phone number ids of the messages and statuses, in first-seen order.
    public var phoneNumberIDs: [String] {
        var seen = Set<String>()
        var out: [String] = []
        for id in messages.map(\.phoneNumberID) + statuses.map(\.phoneNumberID) + reactions.map(\.phoneNumberID)
            where seen.insert(id).inserted {
            out.append(id)
        }
        return out
    }

    /// All messages as `InboundMessage`s of one channel.
    public func inboundMessages(channelID: ChannelID) -> [InboundMessage] {
        messages.map { $0.inbound(channelID: channelID) }
    }
}

/// Parses Cloud API webhook notifications
/// (`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{...}}]}]}`).
/// Only `field: "messages"` changes carry messages and receipts; other
/// fields and unknown message types are reported in `ignored` or turned
/// into a readable placeholder, never an error.
public struct WhatsAppWebhookParser: Sendable {
    public static let object = "whatsapp_business_account"

    public init() {}

    public func parse(_ body: Data) throws(WhatsAppPayloadError) -> WhatsAppWebhookEvents {
        guard !body.isEmpty else { throw .emptyBody }
        let wire: Wire.Notification
        do {
            wire = try Self.decoder.decode(Wire.Notification.self, from: body)
        } catch let e as DecodingError {
            throw Self.mapped(e, body: body)
        } catch {
            throw .malformedJSON("\(error)")
        }
        return try convert(wire)
    }

    private static let decoder = JSONDecoder()

    // MARK: Conversion

    private func convert(_ n: Wire.Notification) throws(WhatsAppPayloadError) -> WhatsAppWebhookEvents {
        guard let object = n.object else { throw .missingField("object") }
        guard object == Self.object else { throw .wrongObject(Self.clip(object)) }
        guard let entries = n.entry else { throw .missingField("entry") }
        var out = WhatsAppWebhookEvents()
        for (i, entry) in entries.enumerated() {
            guard let changes = entry.changes else { throw .missingField("entry[\(i)].changes") }
            for (j, change) in changes.enumerated() {
                let at = Location(entry: i, change: j)
                guard let field = change.field else { throw .missingField(at(".field")) }
                guard field == "messages" else {
                    out.ignored.append("\(at()): field '\(Self.clip(field))' is not handled")
                    continue
                }
                guard let value = change.value else { throw .missingField(at(".value")) }
                try convert(value, at: at, into: &out)
            }
        }
        return out
    }

    private func convert(_ v: Wire.Value, at change: Location, into out: inout WhatsAppWebhookEvents) throws(WhatsAppPayloadError) {
        guard let metadata = v.metadata else { throw .missingField(change(".value.metadata")) }
        guard let phoneNumberID = metadata.phoneNumberID, !phoneNumberID.isEmpty else {
            throw .missingField(change(".value.metadata.phone_number_id"))
        }
        let contacts = v.contacts ?? []
        for (k, m) in (v.messages ?? []).enumerated() {
            let p = change.item("messages", k)
            guard let from = m.from, !from.isEmpty else { throw .missingField(p(".from")) }
            guard let id = m.id, !id.isEmpty else { throw .missingField(p(".id")) }
            guard let ts = m.timestamp else { throw .missingField(p(".timestamp")) }
            let time = try Self.date(ts, p(".timestamp"))
            guard let type = m.type, !type.isEmpty else { throw .missingField(p(".type")) }
            // The profile of the sender: by wa_id, or the only contact there is.
            let contact = contacts.first { $0.waID == from } ?? (contacts.count == 1 ? contacts[0] : nil)
            let name = contact?.profile?.name.flatMap { $0.isEmpty ? nil : $0 }
            if type == "reaction" {
                // A reaction attaches to the message it reacts to; it is not a message.
                guard let r = m.reaction else { throw .missingField(p(".reaction")) }
                guard let target = r.messageID, !target.isEmpty else { throw .missingField(p(".reaction.message_id")) }
                out.reactions.append(WhatsAppReaction(phoneNumberID: phoneNumberID, messageID: id, targetMessageID: target,
                                                      from: from, emoji: r.emoji.flatMap { $0.isEmpty ? nil : $0 }, timestamp: time))
                continue
            }
            let (text, media, _) = try Self.describe(m, type: type, at: p)
            var message = WhatsAppIncomingMessage(
                phoneNumberID: phoneNumberID, displayPhoneNumber: metadata.displayPhoneNumber, messageID: id,
                from: from, profileName: name, type: type, timestamp: time, text: text, media: media,
                contextMessageID: m.context?.id)
            message.metadata = Self.metadata(m, type: type)
            out.messages.append(message)
        }
        for (k, s) in (v.statuses ?? []).enumerated() {
            let p = change.item("statuses", k)
            guard let id = s.id, !id.isEmpty else { throw .missingField(p(".id")) }
            guard let raw = s.status, !raw.isEmpty else { throw .missingField(p(".status")) }
            guard let ts = s.timestamp else { throw .missingField(p(".timestamp")) }
            let time = try Self.date(ts, p(".timestamp"))
            let status: DeliveryStatus
            switch raw {
            case "sent": status = .sent
            case "delivered": status = .delivered
            case "read": status = .read
            case "failed": status = .failed
            default:
                out.ignored.append("\(p()): status '\(Self.clip(raw))' is not tracked")
                continue
            }
            let first = s.errors?.first
            out.statuses.append(WhatsAppStatusUpdate(
                phoneNumberID: phoneNumberID, messageID: id, status: status, timestamp: time,
                recipientID: s.recipientID, errors: (s.errors ?? []).map(\.summary),
                errorCode: first?.code.map(String.init), errorTitle: first.flatMap { e in
                    let t = e.title ?? e.message
                    return [t, e.errorData?.details].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
                }.flatMap { $0.isEmpty ? nil : Self.clip($0, 500) }))
        }
        for e in v.errors ?? [] {
            out.ignored.append("\(change(".value")): error notice \(e.summary)")
        }
    }

    /// The readable text, media and referenced message of one message.
    private static func describe(_ m: Wire.Message, type: String, at p: Location) throws(WhatsAppPayloadError)
        -> (String, WhatsAppMedia?, String?) {
        switch type {
        case "text":
            guard let body = m.text?.body else { throw .missingField(p(".text.body")) }
            return (body, nil, nil)
        case "image", "document", "audio", "video", "sticker":
            guard let w = m.media else { throw .missingField(p(".\(type)")) }
            guard let id = w.id, !id.isEmpty else { throw .missingField(p(".\(type).id")) }
            let media = WhatsAppMedia(kind: type, id: id, mimeType: w.mimeType, sha256: w.sha256, fileName: w.filename,
                                      caption: w.caption, isVoice: w.voice ?? false, isAnimated: w.animated ?? false)
            if let c = w.caption, !c.isEmpty { return (c, media, nil) }
            let placeholder = switch type {
            case "document": w.filename.flatMap { $0.isEmpty ? nil : "[document: \($0)]" } ?? "[document]"
            case "audio": media.isVoice ? "[voice message]" : "[audio]"
            default: "[\(type)]"
            }
            return (placeholder, media, nil)
        case "location":
            guard let l = m.location else { throw .missingField(p(".location")) }
            guard let lat = l.latitude else { throw .missingField(p(".location.latitude")) }
            guard let lon = l.longitude else { throw .missingField(p(".location.longitude")) }
            let place = [l.name, l.address].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
            let coords = "\(lat), \(lon)"
            var text = place.isEmpty ? "Location: \(coords)" : "Location: \(place) (\(coords))"
            text += "\nhttps://maps.google.com/?q=\(lat),\(lon)"
            return (text, nil, nil)
        case "button":
            guard let b = m.button else { throw .missingField(p(".button")) }
            guard let t = b.text ?? b.payload else { throw .missingField(p(".button.text")) }
            return (t, nil, nil)
        case "interactive":
            guard let i = m.interactive else { throw .missingField(p(".interactive")) }
            switch i.type {
            case "button_reply":
                guard let t = i.buttonReply?.title else { throw .missingField(p(".interactive.button_reply.title")) }
                return (t, nil, nil)
            case "list_reply":
                guard let t = i.listReply?.title else { throw .missingField(p(".interactive.list_reply.title")) }
                if let d = i.listReply?.description, !d.isEmpty { return ("\(t) — \(d)", nil, nil) }
                return (t, nil, nil)
            case "nfm_reply":
                return (i.nfmReply?.body.flatMap { $0.isEmpty ? nil : $0 } ?? "[form response]", nil, nil)
            case nil:
                throw .missingField(p(".interactive.type"))
            case let other?:
                return ("[interactive reply of type '\(clip(other))']", nil, nil)
            }
        case "reaction":
            guard let r = m.reaction else { throw .missingField(p(".reaction")) }
            if let e = r.emoji, !e.isEmpty { return ("Reacted \(e)", nil, r.messageID) }
            return ("Removed a reaction", nil, r.messageID)
        case "contacts":
            let cards = (m.contacts ?? []).map { c -> String in
                let name = c.name?.formattedName ?? c.name?.firstName ?? "contact"
                let phones = (c.phones ?? []).compactMap(\.phone).filter { !$0.isEmpty }
                return phones.isEmpty ? name : "\(name) (\(phones.joined(separator: ", ")))"
            }
            return (cards.isEmpty ? "[shared contact]" : "Shared contact: " + cards.joined(separator: "; "), nil, nil)
        case "order":
            let items = m.order?.productItems?.count ?? 0
            var text = "Order of \(items) item\(items == 1 ? "" : "s")"
            if let t = m.order?.text, !t.isEmpty { text += ": \(t)" }
            return (text, nil, nil)
        case "system":
            return (m.system?.body.flatMap { $0.isEmpty ? nil : $0 } ?? "[system message]", nil, nil)
        case "unsupported", "unknown":
            if let e = m.errors?.first { return ("[unsupported WhatsApp message: \(e.title ?? e.message ?? "code \(e.codeText)")]", nil, nil) }
            return ("[unsupported WhatsApp message]", nil, nil)
        default:
            return ("[WhatsApp message of type '\(clip(type))' that CommHub cannot show]", nil, nil)
        }
    }

    /// What a message says beyond its text, kept in its metadata.
    static func metadata(_ m: Wire.Message, type: String) -> [String: JSONValue] {
        var o: [String: JSONValue] = [:]
        if let reply = m.context?.id, !reply.isEmpty { o["reply_to_external_id"] = .string(clip(reply, 256)) }
        switch type {
        case "button":
            if let p = m.button?.payload { o["payload"] = .string(clip(p, 1000)) }
        case "interactive":
            guard let i = m.interactive, let t = i.type else { break }
            let reply = i.buttonReply ?? i.listReply
            var it: [String: JSONValue] = ["type": .string(clip(t, 64))]
            if let id = reply?.id { it["id"] = .string(clip(id, 256)) }
            if let title = reply?.title { it["title"] = .string(clip(title, 256)) }
            if let d = reply?.description { it["description"] = .string(clip(d, 1000)) }
            o["interactive"] = .object(it)
        case "unsupported", "unknown":
            o["unsupported"] = .bool(true)
        case "text", "image", "document", "audio", "video", "sticker", "location", "contacts", "order", "system":
            break
        default:
            o["unsupported"] = .bool(true)
            o["unsupported_type"] = .string(clip(type, 64))
        }
        return o
    }

    private static func date(_ raw: String, _ path: @autoclosure () -> String) throws(WhatsAppPayloadError) -> Date {
        guard let seconds = Int64(raw), seconds >= 0, seconds < 253_402_300_800 else {
            throw .invalidField(path(), "a Unix time in seconds, such as \"1700000000\"")
        }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// Where in the notification something is; the path text is only built for errors.
    struct Location {
        var entry: Int
        var change: Int
        var list: StaticString?
        var index = 0

        func item(_ list: StaticString, _ index: Int) -> Location {
            Location(entry: entry, change: change, list: list, index: index)
        }

        /// `entry[0].changes[1]` (`.value.messages[2]`) + suffix
        func callAsFunction(_ suffix: String = "") -> String {
            var s = "entry[\(entry)].changes[\(change)]"
            if let list { s += ".value.\(list)[\(index)]" }
            return s + suffix
        }
    }

    /// Untrusted text quoted in a message: at most `max` characters (64 by default).
    static func clip(_ s: String, _ max: Int = 64) -> String {
        s.count <= max ? s : String(s.prefix(max)) + "…"
    }

    static func mapped(_ error: DecodingError, body: Data) -> WhatsAppPayloadError {
        func path(_ p: [any CodingKey]) -> String {
            var s = ""
            for k in p {
                if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
            }
            return s.isEmpty ? "(the body)" : s
        }
        switch error {
        case .keyNotFound(let key, let ctx):
            return .missingField(path(ctx.codingPath + [key]))
        case .typeMismatch(let type, let ctx):
            return .invalidField(path(ctx.codingPath), typeName(type))
        case .valueNotFound(let type, let ctx):
            return .invalidField(path(ctx.codingPath), typeName(type) + ", not null")
        case .dataCorrupted(let ctx):
            if ctx.codingPath.isEmpty {
                // JSONDecoder does not say where; JSONSerialization does (error path only).
                var detail: String?
                do {
                    _ = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
                } catch {
                    detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
                }
                return .malformedJSON(detail ?? ctx.debugDescription)
            }
            return .invalidField(path(ctx.codingPath), ctx.debugDescription)
        @unknown default:
            return .malformedJSON("\(error)")
        }
    }

    static func typeName(_ t: Any.Type) -> String {
        if t == String.self { return "a string" }
        if t == Bool.self { return "true or false" }
        if t == Double.self || t == Int.self || t == Int64.self { return "a number" }
        return "\(t)".hasPrefix("Array") ? "an array" : "an object"
    }
}

// MARK: - Wire format (every field optional; presence is checked above)

enum Wire {
    struct Notification: Decodable {
        var object: String?
        var entry: [Entry]?
    }

    struct Entry: Decodable {
        var changes: [Change]?
    }

    struct Change: Decodable {
        var field: String?
        var value: Value?

        enum CodingKeys: String, CodingKey { case field, value }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            field = try c.decodeIfPresent(String.self, forKey: .field)
            // Only `messages` values are read; other fields have other shapes.
            value = field == "messages" ? try c.decodeIfPresent(Value.self, forKey: .value) : nil
        }
    }

    struct Value: Decodable {
        var metadata: Metadata?
        var contacts: [Contact]?
        var messages: [Message]?
        var statuses: [Status]?
        var errors: [ErrorInfo]?
    }

    struct Metadata: Decodable {
        var displayPhoneNumber: String?
        var phoneNumberID: String?

        enum CodingKeys: String, CodingKey {
            case displayPhoneNumber = "display_phone_number"
            case phoneNumberID = "phone_number_id"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            displayPhoneNumber = try c.flexibleString(.displayPhoneNumber)
            phoneNumberID = try c.flexibleString(.phoneNumberID)
        }
    }

    struct Contact: Decodable {
        struct Profile: Decodable { var name: String? }
        var profile: Profile?
        var waID: String?

        enum CodingKeys: String, CodingKey { case profile, waID = "wa_id" }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            profile = try c.decodeIfPresent(Profile.self, forKey: .profile)
            waID = try c.flexibleString(.waID)
        }
    }

    struct Message: Decodable {
        var from: String?
        var id: String?
        var timestamp: String?
        var type: String?
        var context: Context?
        var text: Text?
        var media: Media?
        var location: Location?
        var button: Button?
        var interactive: Interactive?
        var reaction: Reaction?
        var contacts: [SharedContact]?
        var order: Order?
        var system: System?
        var errors: [ErrorInfo]?

        enum CodingKeys: String, CodingKey {
            case from, id, timestamp, type, context, text, image, document, audio, video, sticker, location, button
            case interactive, reaction, contacts, order, system, errors
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            from = try c.flexibleString(.from)
            id = try c.decodeIfPresent(String.self, forKey: .id)
            timestamp = try c.flexibleString(.timestamp)
            type = try c.decodeIfPresent(String.self, forKey: .type)
            context = try c.decodeIfPresent(Context.self, forKey: .context)
            // Only the object named by `type` is read: unknown types and
            // extra fields of other shapes cannot fail the notification.
            switch type {
            case "text": text = try c.decodeIfPresent(Text.self, forKey: .text)
            case "image": media = try c.decodeIfPresent(Media.self, forKey: .image)
            case "document": media = try c.decodeIfPresent(Media.self, forKey: .document)
            case "audio": media = try c.decodeIfPresent(Media.self, forKey: .audio)
            case "video": media = try c.decodeIfPresent(Media.self, forKey: .video)
            case "sticker": media = try c.decodeIfPresent(Media.self, forKey: .sticker)
            case "location": location = try c.decodeIfPresent(Location.self, forKey: .location)
            case "button": button = try c.decodeIfPresent(Button.self, forKey: .button)
            case "interactive": interactive = try c.decodeIfPresent(Interactive.self, forKey: .interactive)
            case "reaction": reaction = try c.decodeIfPresent(Reaction.self, forKey: .reaction)
            case "contacts": contacts = try c.decodeIfPresent([SharedContact].self, forKey: .contacts)
            case "order": order = try c.decodeIfPresent(Order.self, forKey: .order)
            case "system": system = try c.decodeIfPresent(System.self, forKey: .system)
            case "unsupported", "unknown": errors = try c.decodeIfPresent([ErrorInfo].self, forKey: .errors)
            default: break
            }
        }
    }

    struct Context: Decodable { var id: String? }
    struct Text: Decodable { var body: String? }

    struct Media: Decodable {
        var id: String?
        var mimeType: String?
        var sha256: String?
        var caption: String?
        var filename: String?
        var voice: Bool?
        var animated: Bool?

        enum CodingKeys: String, CodingKey {
            case id, mimeType = "mime_type", sha256, caption, filename, voice, animated
        }
    }

    struct Location: Decodable {
        var latitude: Double?
        var longitude: Double?
        var name: String?
        var address: String?
    }

    struct Button: Decodable {
        var text: String?
        var payload: String?
    }

    struct Interactive: Decodable {
        struct Reply: Decodable {
            var id: String?
            var title: String?
            var description: String?
        }
        struct FlowReply: Decodable {
            var name: String?
            var body: String?
        }
        var type: String?
        var buttonReply: Reply?
        var listReply: Reply?
        var nfmReply: FlowReply?

        enum CodingKeys: String, CodingKey {
            case type, buttonReply = "button_reply", listReply = "list_reply", nfmReply = "nfm_reply"
        }
    }

    struct Reaction: Decodable {
        var messageID: String?
        var emoji: String?
        enum CodingKeys: String, CodingKey { case messageID = "message_id", emoji }
    }

    struct SharedContact: Decodable {
        struct Name: Decodable {
            var formattedName: String?
            var firstName: String?
            enum CodingKeys: String, CodingKey { case formattedName = "formatted_name", firstName = "first_name" }
        }
        struct Phone: Decodable { var phone: String? }
        var name: Name?
        var phones: [Phone]?
    }

    struct Order: Decodable {
        struct Item: Decodable {}
        var text: String?
        var productItems: [Item]?
        enum CodingKeys: String, CodingKey { case text, productItems = "product_items" }
    }

    struct System: Decodable { var body: String? }

    struct Status: Decodable {
        var id: String?
        var status: String?
        var timestamp: String?
        var recipientID: String?
        var errors: [ErrorInfo]?

        enum CodingKeys: String, CodingKey { case id, status, timestamp, recipientID = "recipient_id", errors }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decodeIfPresent(String.self, forKey: .id)
            status = try c.decodeIfPresent(String.self, forKey: .status)
            timestamp = try c.flexibleString(.timestamp)
            recipientID = try c.flexibleString(.recipientID)
            errors = try c.decodeIfPresent([ErrorInfo].self, forKey: .errors)
        }
    }

    struct ErrorInfo: Decodable {
        struct ErrorData: Decodable { var details: String? }
        var code: Int?
        var title: String?
        var message: String?
        var errorData: ErrorData?

        enum CodingKeys: String, CodingKey { case code, title, message, errorData = "error_data" }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            code = try? c.decodeIfPresent(Int.self, forKey: .code)
            title = try? c.decodeIfPresent(String.self, forKey: .title)
            message = try? c.decodeIfPresent(String.self, forKey: .message)
            errorData = try? c.decodeIfPresent(ErrorData.self, forKey: .errorData)
        }

        var codeText: String { code.map(String.init) ?? "?" }

        /// `131047 Re-engagement message: <details>`, clipped.
        var summary: String {
            var s = codeText
            if let t = title ?? message, !t.isEmpty { s += " " + WhatsAppWebhookParser.clip(t) }
            if let d = errorData?.details, !d.isEmpty { s += ": " + WhatsAppWebhookParser.clip(d) }
            return s
        }
    }
}

extension KeyedDecodingContainer {
    /// A string that some senders write as a number (timestamps, ids).
    func flexibleString(_ key: Key) throws -> String? {
        do {
            return try decodeIfPresent(String.self, forKey: key)
        } catch DecodingError.typeMismatch(let t, let ctx) {
            if let n = try? decodeIfPresent(Int64.self, forKey: key) { return String(n) }
            throw DecodingError.typeMismatch(t, ctx)
        }
    }
}
