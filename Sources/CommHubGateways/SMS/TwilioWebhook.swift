import CommHubDomain
import Foundation

// Twilio's Messaging webhooks, as pure values: the form body
// (`application/x-www-form-urlencoded`), an incoming SMS/MMS
// (`POST /webhooks/sms`) and a status callback for a message we sent
// (`POST /webhooks/sms/status`). No sockets or disk: the route collects the
// body, checks the signature over the parsed parameters, and calls these.

// MARK: - Errors

/// Why a Twilio webhook body was refused (HTTP 400, or 413 for `tooLarge`).
/// Each case names the parameter, never its content.
public enum TwilioWebhookError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The body has more than `TwilioForm.maxBodyBytes` bytes.
    case tooLarge(bytes: Int)
    /// The body has more than `TwilioForm.maxParameters` parameters.
    case tooManyParameters
    /// A `%` not followed by two hex digits, in the parameter at this position (1-based) or with this name.
    case badPercentEncoding(String)
    /// The decoded bytes of this parameter are not UTF-8.
    case notUTF8(String)
    case missingField(String)
    case invalidField(String, String)

    public var code: String {
        switch self {
        case .tooLarge: "too_large"
        default: "invalid_payload"
        }
    }

    public var description: String {
        switch self {
        case .tooLarge(let n): "the form body has \(n) bytes; at most \(TwilioForm.maxBodyBytes) are read"
        case .tooManyParameters: "the form body has more than \(TwilioForm.maxParameters) parameters"
        case .badPercentEncoding(let p): "parameter \(p): '%' must be followed by two hex digits"
        case .notUTF8(let p): "parameter \(p) is not UTF-8 once percent-decoded"
        case .missingField(let p): "missing parameter '\(p)'"
        case .invalidField(let p, let what): "parameter '\(p)' must be \(what)"
        }
    }
}

// MARK: - Form body

/// An `application/x-www-form-urlencoded` body, its parameters in the order
/// they came (a name may repeat). `+` is a space and `%XX` a byte; the
/// decoded bytes must be UTF-8.
public struct TwilioForm: Sendable, Hashable {
    /// Largest body parsed. Twilio's largest webhook (an MMS with 10 media
    /// URLs, a 1,600-character body percent-encoded and the geo fields) stays
    /// well under 32 KiB.
    public static let maxBodyBytes = 64 * 1024
    /// Most parameters read (Twilio sends about 20, 40 with ten media).
    public static let maxParameters = 256

    public let parameters: [TwilioParameter]

    public init(_ parameters: [TwilioParameter]) {
        self.parameters = parameters
    }

    public init(parsing body: some Collection<UInt8>) throws(TwilioWebhookError) {
        guard body.count <= Self.maxBodyBytes else { throw .tooLarge(bytes: body.count) }
        var out: [TwilioParameter] = []
        var position = 0
        for piece in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            position += 1
            guard out.count < Self.maxParameters else { throw .tooManyParameters }
            let equals = piece.firstIndex(of: UInt8(ascii: "="))
            let rawName = piece[..<(equals ?? piece.endIndex)]
            let rawValue = equals.map { piece[piece.index(after: $0)...] } ?? piece[piece.endIndex...]
            let name = try Self.decode(rawName, where: "\(position)")
            let value = try Self.decode(rawValue, where: name.isEmpty ? "\(position)" : "'\(Self.clip(name))'")
            out.append(TwilioParameter(name, value))
        }
        parameters = out
    }

    /// The first value of `name`.
    public subscript(_ name: String) -> String? { parameters.first { $0.name == name }?.value }

    /// Every value of `name`, in order.
    public func all(_ name: String) -> [String] { parameters.filter { $0.name == name }.map(\.value) }

    /// The body for these parameters (`+` for spaces; everything but
    /// letters, digits and `*-._` percent-encoded, upper-case hex).
    public static func encode(_ parameters: [TwilioParameter]) -> String {
        parameters.map { escape($0.name) + "=" + escape($0.value) }.joined(separator: "&")
    }

    static func escape(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "*"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
                out.append(b)
            case UInt8(ascii: " "):
                out.append(UInt8(ascii: "+"))
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ raw: some Collection<UInt8>, where position: @autoclosure () -> String) throws(TwilioWebhookError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i != raw.endIndex {
            let b = raw[i]
            if b == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if b == UInt8(ascii: "%") {
                let h = raw.index(after: i)
                guard h != raw.endIndex, raw.index(after: h) != raw.endIndex,
                      let high = hexValue(raw[h]), let low = hexValue(raw[raw.index(after: h)])
                else { throw .badPercentEncoding(position()) }
                bytes.append(high << 4 | low)
                i = raw.index(after: h)
            } else {
                bytes.append(b)
            }
            i = raw.index(after: i)
        }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw .notUTF8(position()) }
        return s
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func clip(_ s: String) -> String { s.count <= 40 ? s : String(s.prefix(40)) + "…" }
}

// MARK: - Field rules shared by both webhooks

/// The field rules both Twilio webhooks share, and how numbers compare.
public enum TwilioFields {
    /// Longest provider id kept (Twilio's are 34 characters).
    static let maxSidCharacters = 64
    /// Longest address kept (E.164 has 16; short codes, alphanumeric senders and `whatsapp:+…` fit).
    static let maxAddressCharacters = 64

    /// A Twilio sid (`SM…`, `MM…`, `AC…`): letters, digits, `-` and `_`, 1–64 of them.
    static func sid(_ form: TwilioForm, _ name: String, required: Bool) throws(TwilioWebhookError) -> String? {
        guard let v = form[name], !v.isEmpty else {
            if required { throw .missingField(name) }
            return nil
        }
        guard v.utf8.count <= maxSidCharacters, v.utf8.allSatisfy({
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D || $0 == 0x5F
        }) else { throw .invalidField(name, "an id of at most \(maxSidCharacters) letters and digits") }
        return v
    }

    /// A phone number, short code or sender id: printable, at most 64 characters.
    static func address(_ form: TwilioForm, _ name: String, required: Bool) throws(TwilioWebhookError) -> String? {
        guard let v = form[name], !v.isEmpty else {
            if required { throw .missingField(name) }
            return nil
        }
        guard v.count <= maxAddressCharacters, !v.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { throw .invalidField(name, "a phone number or sender id of at most \(maxAddressCharacters) printable characters") }
        return v
    }

    /// An address in E.164 when it reads as a phone number (`+14155550100`), else as sent (short codes, sender ids).
    public static func normalizedNumber(_ address: String) -> String { PhoneNumber(address)?.e164 ?? address }
}

// MARK: - Incoming SMS / MMS

/// One media item of an incoming MMS (`MediaUrl{N}`, `MediaContentType{N}`).
public struct TwilioMedia: Sendable, Hashable {
    /// N: the position in the message, and the index of its attachment.
    public var index: Int
    /// Where Twilio keeps the file (HTTP Basic auth with the account's credentials; answers with a redirect).
    public var url: String
    public var contentType: String
    /// `mms-<MessageSid>-<N>.<ext>`.
    public var fileName: String

    public init(index: Int, url: String, contentType: String, fileName: String) {
        self.index = index; self.url = url; self.contentType = contentType; self.fileName = fileName
    }

    /// The attachment the message carries until the file is stored: no size
    /// yet, `url` where Twilio keeps it (not usable without the account's
    /// credentials). Storing the file replaces it (same index).
    public var attachment: Attachment { Attachment(fileName: fileName, contentType: contentType, sizeBytes: 0, url: url) }

    /// "[image]", "[video]", "[audio]" or "[file]", for an MMS without text.
    var placeholder: String {
        let kind = contentType.prefix { $0 != "/" }.lowercased()
        return ["image", "video", "audio"].contains(kind) ? "[\(kind)]" : "[file]"
    }

    static func fileName(sid: String, index: Int, contentType: String) -> String {
        var sub = contentType.drop { $0 != "/" }.dropFirst().prefix { $0 != ";" }.trimmingCharacters(in: .whitespaces).lowercased()
        if sub.hasPrefix("x-") { sub.removeFirst(2) }
        let ext = switch sub {
        case "jpeg", "pjpeg": "jpg"
        case "plain": "txt"
        case "vcard", "x-vcard": "vcf"
        case "quicktime": "mov"
        case "mpeg": contentType.lowercased().hasPrefix("audio") ? "mp3" : "mpeg"
        default: sub.count <= 5 && !sub.isEmpty && sub.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) ? sub : ""
        }
        return ext.isEmpty ? "mms-\(sid)-\(index)" : "mms-\(sid)-\(index).\(ext)"
    }
}

/// An SMS or MMS a customer sent to one of our numbers.
public struct TwilioInboundMessage: Sendable, Hashable {
    /// Most media of one MMS (Twilio's documented maximum).
    public static let maxMedia = 10
    /// Longest `MediaUrl{N}` kept.
    public static let maxMediaURLCharacters = 2048
    /// Longest body kept: Twilio's 1,600 characters, with room for other Twilio-compatible providers.
    public static let maxBodyCharacters = 10_000

    /// `SM…` or `MM…`: the idempotency key, stored as the message's `external_message_id`.
    public var messageSid: String
    public var accountSid: String?
    public var messagingServiceSid: String?
    /// The customer, as sent (E.164 for phones).
    public var from: String
    /// Our number the customer wrote to.
    public var to: String
    public var body: String
    public var media: [TwilioMedia]

    /// Reads the documented fields; everything else in the form is ignored (but was signed).
    public init(form: TwilioForm) throws(TwilioWebhookError) {
        // SmsMessageSid: the older name of the same id, still sent.
        let sid = try TwilioFields.sid(form, "MessageSid", required: false)
        let legacy = try TwilioFields.sid(form, "SmsMessageSid", required: false)
        guard let messageSid = sid ?? legacy else { throw .missingField("MessageSid") }
        self.messageSid = messageSid
        accountSid = try TwilioFields.sid(form, "AccountSid", required: false)
        messagingServiceSid = try TwilioFields.sid(form, "MessagingServiceSid", required: false)
        from = try TwilioFields.address(form, "From", required: true)!
        to = try TwilioFields.address(form, "To", required: true)!
        body = form["Body"] ?? ""
        guard body.count <= Self.maxBodyCharacters else { throw .invalidField("Body", "at most \(Self.maxBodyCharacters) characters") }
        media = try Self.media(form, sid: messageSid)
    }

    static func media(_ form: TwilioForm, sid: String) throws(TwilioWebhookError) -> [TwilioMedia] {
        guard let raw = form["NumMedia"], !raw.isEmpty else { return [] }
        guard raw.utf8.count <= 3, let n = Int(raw), (0...maxMedia).contains(n) else {
            throw .invalidField("NumMedia", "a whole number from 0 to \(maxMedia)")
        }
        var out: [TwilioMedia] = []
        for i in 0..<n {
            guard let url = form["MediaUrl\(i)"], !url.isEmpty else { throw .missingField("MediaUrl\(i)") }
            let lower = url.lowercased()
            guard url.count <= maxMediaURLCharacters, lower.hasPrefix("https://") || lower.hasPrefix("http://"),
                  URL(string: url)?.host != nil else {
                throw .invalidField("MediaUrl\(i)", "an http(s) URL of at most \(maxMediaURLCharacters) characters")
            }
            var type = (form["MediaContentType\(i)"] ?? "").trimmingCharacters(in: .whitespaces)
            if type.isEmpty { type = "application/octet-stream" }
            guard type.utf8.count <= 255, type.contains("/"), type.unicodeScalars.allSatisfy({ (0x20...0x7E).contains($0.value) }) else {
                throw .invalidField("MediaContentType\(i)", "a MIME type such as image/jpeg")
            }
            out.append(TwilioMedia(index: i, url: url, contentType: type,
                                   fileName: TwilioMedia.fileName(sid: sid, index: i, contentType: type)))
        }
        return out
    }

    /// The SMS conversation: `<our number>:<customer number>`, both E.164 where they are phone numbers.
    public var threadReference: ExternalReference { .sms(ours: to, theirs: from) }

    public var senderExternal: ExternalParty {
        ExternalParty(phone: PhoneNumber(from)?.e164 ?? from)
    }

    /// The text for the inbox: the body, or what the MMS holds when it has none.
    public var text: String {
        if !body.isEmpty || media.isEmpty { return body }
        return media.map(\.placeholder).joined(separator: " ")
    }

    /// The normalised message for the engine. Twilio sends no time, so it is `receivedAt`.
    public func inbound(channelID: ChannelID, receivedAt: Date) -> InboundMessage {
        InboundMessage(channelID: channelID, externalMessageID: messageSid, threadReference: threadReference,
                       senderExternal: senderExternal, messageContent: text, attachments: media.map(\.attachment),
                       receivedAt: receivedAt)
    }
}

// MARK: - Status callbacks

/// Twilio's message statuses (the Message resource's `status`).
public enum TwilioMessageStatus: String, Sendable, Hashable, CaseIterable {
    case queued, sending, sent, failed, delivered, undelivered, receiving, received, accepted, scheduled, read, canceled
    case partiallyDelivered = "partially_delivered"

    /// What it means for our message's `delivery_status`:
    ///
    /// - `accepted`, `scheduled`, `queued`, `sending` → `pending` (still at
    ///   Twilio; never moves a message back, since the engine only moves forward);
    /// - `sent` → `sent` (handed to the carrier);
    /// - `partially_delivered` → `sent` (some segments confirmed: not yet all of it);
    /// - `delivered` → `delivered`; `read` (WhatsApp/RCS) → `read`;
    /// - `undelivered` → `bounced`: Twilio sent it, and the carrier or the
    ///   handset refused it (30003 unreachable, 30005 unknown number, 30007
    ///   filtered): like a mail bounce, the address did not take it;
    /// - `failed` and `canceled` → `failed`: it never left Twilio (queue
    ///   overflow, account or content problems, a canceled scheduled message);
    /// - `receiving`, `received` → nil: statuses of incoming messages, not of
    ///   anything we sent (ignored).
    public var deliveryStatus: DeliveryStatus? {
        switch self {
        case .accepted, .scheduled, .queued, .sending: .pending
        case .sent, .partiallyDelivered: .sent
        case .delivered: .delivered
        case .read: .read
        case .undelivered: .bounced
        case .failed, .canceled: .failed
        case .receiving, .received: nil
        }
    }
}

/// A status callback for a message we sent (`StatusCallback` of the send).
public struct TwilioStatusCallback: Sendable, Hashable {
    /// The `sid` Twilio answered when we sent it: our message's `external_message_id`.
    public var messageSid: String
    public var status: TwilioMessageStatus
    /// Why it failed or was not delivered (`30003`): the ids of
    /// https://www.twilio.com/docs/api/errors. Absent, empty or `0` when none.
    public var errorCode: Int?
    public var accountSid: String?
    public var messagingServiceSid: String?
    /// `ErrorMessage`, when a Twilio-compatible service sends one (Twilio documents only `ErrorCode`).
    public var errorMessage: String?
    /// Our number (the sender).
    public var from: String?
    /// The customer.
    public var to: String?

    public init(form: TwilioForm) throws(TwilioWebhookError) {
        // SmsSid / SmsStatus: the older names, still sent.
        let sid = try TwilioFields.sid(form, "MessageSid", required: false)
        let legacy = try TwilioFields.sid(form, "SmsSid", required: false)
        guard let messageSid = sid ?? legacy else { throw .missingField("MessageSid") }
        self.messageSid = messageSid
        guard let raw = form["MessageStatus"] ?? form["SmsStatus"], !raw.isEmpty else { throw .missingField("MessageStatus") }
        guard let status = TwilioMessageStatus(rawValue: raw.lowercased()) else {
            let known = TwilioMessageStatus.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalidField("MessageStatus", "one of \(known)")
        }
        self.status = status
        if let raw = form["ErrorCode"]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty {
            guard raw.utf8.count <= 9, let code = Int(raw), code >= 0 else {
                throw .invalidField("ErrorCode", "a whole number such as 30003")
            }
            errorCode = code == 0 ? nil : code
        }
        if let text = form["ErrorMessage"]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            errorMessage = String(text.prefix(Self.maxErrorMessageCharacters))
        }
        accountSid = try TwilioFields.sid(form, "AccountSid", required: false)
        messagingServiceSid = try TwilioFields.sid(form, "MessagingServiceSid", required: false)
        from = try TwilioFields.address(form, "From", required: false)
        to = try TwilioFields.address(form, "To", required: false)
    }

    /// Longest `ErrorMessage` kept.
    public static let maxErrorMessageCharacters = 200

    public var deliveryStatus: DeliveryStatus? { status.deliveryStatus }

    /// What the thread shows for the error: the service's `ErrorMessage`, else
    /// the title of a well-known code, else nil (the code alone is kept).
    public var errorTitle: String? { errorMessage ?? errorCode.flatMap { TwilioErrorCodes.titles[$0] } }
}

/// Titles of the Twilio error codes a status callback most often carries
/// (https://www.twilio.com/docs/api/errors), so an agent reads why a text
/// did not arrive; other codes are kept as the bare number.
public enum TwilioErrorCodes {
    public static let titles: [Int: String] = [
        21211: "Invalid 'To' phone number",
        21408: "Permission to send to this region is not enabled",
        21610: "The recipient has unsubscribed (replied STOP)",
        21612: "The 'To' number cannot be reached by SMS from this number",
        21614: "The 'To' number is not a mobile number",
        30001: "Queue overflow",
        30002: "Account suspended",
        30003: "Unreachable destination handset",
        30004: "Message blocked",
        30005: "Unknown destination handset",
        30006: "Landline or unreachable carrier",
        30007: "Message filtered by the carrier",
        30008: "Unknown error",
        30009: "Missing segment",
        30010: "Message price exceeds max price",
        30034: "Message from an unregistered number (US A2P 10DLC)",
    ]
}

// MARK: - Answer

/// The answer Twilio expects from a messaging webhook: empty TwiML, "do nothing".
public enum TwiML {
    public static let empty = #"<?xml version="1.0" encoding="UTF-8"?><Response/>"#
    public static let contentType = "text/xml"
}
