import AsyncHTTPClient
import CommHubDomain
import CommHubWire
import Foundation
import NIOCore
import NIOHTTP1

/// The bodies CommHub sends to the WhatsApp Cloud API, as pure values
/// (`POST {graph_base_url}/{phone_number_id}/messages`).
public enum WhatsAppOutbound {
    /// `graph_base_url` when a channel does not set one (the version is part of the base).
    public static let defaultBaseURL = "https://graph.facebook.com/v21.0"
    /// Longest text body Meta takes.
    public static let maxTextCharacters = 4096

    /// The customer's WhatsApp id (digits): the message's recipient, else the
    /// customer of the chat reference (`<phone_number_id>:+<wa_id>`).
    public static func recipient(of m: GatewayMessage) -> String? {
        if let wa = m.recipient?.waID, !wa.isEmpty { return digits(wa) }
        if let phone = m.recipient?.phone, !phone.isEmpty { return digits(phone) }
        if let wa = m.lastInbound?.sender?.waID, !wa.isEmpty { return digits(wa) }
        for ref in m.threadReferences where ref.kind == .whatsappChat {
            if let colon = ref.value.lastIndex(of: ":") { return digits(String(ref.value[ref.value.index(after: colon)...])) }
        }
        return nil
    }

    static func digits(_ s: String) -> String { String(s.filter(\.isNumber)) }

    /// A text message; `context.message_id` when the agent answers one specific message.
    public static func textBody(to: String, text: String, replyTo: String?) -> JSONValue {
        var o: [String: JSONValue] = [
            "messaging_product": .string("whatsapp"), "recipient_type": .string("individual"),
            "to": .string(to), "type": .string("text"),
            "text": .object(["preview_url": .bool(false), "body": .string(text)]),
        ]
        if let replyTo { o["context"] = .object(["message_id": .string(replyTo)]) }
        return .object(o)
    }

    /// An approved template (the only thing Meta takes outside the 24-hour
    /// window): name, language and the body parameters in order.
    public static func templateBody(to: String, name: String, language: String, parameters: [String]) -> JSONValue {
        var template: [String: JSONValue] = ["name": .string(name), "language": .object(["code": .string(language)])]
        if !parameters.isEmpty {
            template["components"] = .array([.object([
                "type": .string("body"),
                "parameters": .array(parameters.map { .object(["type": .string("text"), "text": .string($0)]) }),
            ])])
        }
        return .object(["messaging_product": .string("whatsapp"), "recipient_type": .string("individual"),
                        "to": .string(to), "type": .string("template"), "template": .object(template)])
    }

    /// The media kind Meta sends a file as, from its MIME type.
    public static func mediaKind(_ contentType: String) -> String {
        let t = contentType.lowercased()
        if t == "image/webp" { return "sticker" }
        if t.hasPrefix("image/") { return "image" }
        if t.hasPrefix("video/") { return "video" }
        if t.hasPrefix("audio/") { return "audio" }
        return "document"
    }

    /// A media message by uploaded id or public link; captions where Meta takes them (not audio or stickers).
    public static func mediaBody(to: String, kind: String, id: String?, link: String?, caption: String?, fileName: String?,
                                 replyTo: String?) -> JSONValue {
        var media: [String: JSONValue] = [:]
        if let id { media["id"] = .string(id) } else if let link { media["link"] = .string(link) }
        if let caption, !caption.isEmpty, kind != "audio", kind != "sticker" { media["caption"] = .string(String(caption.prefix(1024))) }
        if kind == "document", let fileName { media["filename"] = .string(fileName) }
        var o: [String: JSONValue] = ["messaging_product": .string("whatsapp"), "recipient_type": .string("individual"),
                                      "to": .string(to), "type": .string(kind), kind: .object(media)]
        if let replyTo { o["context"] = .object(["message_id": .string(replyTo)]) }
        return .object(o)
    }

    /// The error of a refused send (`{"error":{"code","message","error_data":{"details"}}}`).
    public struct APIError: Sendable, Hashable {
        public var code: Int?
        public var message: String
        public var details: String?

        public static func parse(_ body: ByteBuffer) -> APIError? {
            guard let v = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)),
                  let e = v.objectValue?["error"]?.objectValue else { return nil }
            let code: Int? = switch e["code"] { case .number(let n)?: Int(exactly: n); case .string(let s)?: Int(s); default: nil }
            return APIError(code: code, message: e["message"]?.stringValue ?? "error",
                            details: e["error_data"]?.objectValue?["details"]?.stringValue)
        }

        public var text: String { details.map { "\(message): \($0)" } ?? message }
    }

    /// Meta's throttling codes: the message was certainly not taken; try later.
    public static let throttlingCodes: Set<Int> = [4, 80007, 130429, 131056]

    /// The message id of an accepted send (`messages[0].id`).
    public static func messageID(_ body: ByteBuffer) -> String? {
        guard let v = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)),
              case .array(let list)? = v.objectValue?["messages"], let first = list.first?.objectValue,
              let id = first["id"]?.stringValue, !id.isEmpty, id.utf8.count <= 256 else { return nil }
        return id
    }
}

/// Sends claimed WhatsApp messages through the Cloud API with the channel's bearer token.
public struct WhatsAppSender: OutboundAdapter {
    public let http: ProviderHTTP
    public let now: @Sendable () -> Date
    /// Reads a stored attachment (sha256, size) from the engine, for outgoing media.
    public let fetchFile: (@Sendable (String, Int) async throws -> [UInt8])?

    public init(http: ProviderHTTP, now: @escaping @Sendable () -> Date = { Date() },
                fetchFile: (@Sendable (String, Int) async throws -> [UInt8])? = nil) {
        self.http = http
        self.now = now
        self.fetchFile = fetchFile
    }

    public var channelType: ChannelType { .whatsappBusiness }

    public func send(_ m: GatewayMessage, channel: GatewayChannelSettings) async -> DeliveryReport {
        guard let phoneNumberID = channel.string("phone_number_id"), !phoneNumberID.isEmpty else {
            return .failed(code: "configuration", reason: "the channel has no phone_number_id")
        }
        guard let token = channel.secrets["access_token"], !token.isEmpty else {
            return .failed(code: "configuration", reason: "the channel has no access_token")
        }
        guard let to = WhatsAppOutbound.recipient(of: m) else {
            return .failed(code: "no_recipient", reason: "the thread names no WhatsApp customer to send to")
        }
        guard m.messageContent.count <= WhatsAppOutbound.maxTextCharacters else {
            return .failed(code: "too_long", reason: "WhatsApp takes at most \(WhatsAppOutbound.maxTextCharacters) characters of text")
        }
        let replyTo = m.replyTo?.externalMessageID
        let body: JSONValue
        if let t = m.metadata["whatsapp_template"]?.objectValue, let name = t["name"]?.stringValue,
           let language = t["language"]?.stringValue {
            var parameters: [String] = []
            if case .array(let list)? = t["parameters"] { parameters = list.compactMap { $0.stringValue } }
            body = WhatsAppOutbound.templateBody(to: to, name: name, language: language, parameters: parameters)
        } else if let file = m.attachments.first {
            switch await media(file, channel: channel) {
            case .success(let ref):
                body = WhatsAppOutbound.mediaBody(to: to, kind: WhatsAppOutbound.mediaKind(file.contentType), id: ref.id, link: ref.link,
                                                  caption: m.messageContent, fileName: file.fileName, replyTo: replyTo)
            case .failure(let e):
                return e.report
            }
        } else {
            body = WhatsAppOutbound.textBody(to: to, text: m.messageContent, replyTo: replyTo)
        }
        let base = channel.string("graph_base_url") ?? WhatsAppOutbound.defaultBaseURL
        var request = HTTPClientRequest(url: "\(base.trimmingSuffix("/"))/\(phoneNumberID)/messages")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: (try? JSONEncoder().encode(body)) ?? Data()))
        return classify(await http.call(request), attempt: m.attempt)
    }

    /// A file for a media message: uploaded to Meta from the attachment store, or sent by its public link.
    func media(_ a: Attachment, channel: GatewayChannelSettings) async -> Result<(id: String?, link: String?), DeliveryReportError> {
        if let sha = a.sha256 {
            guard let fetchFile else {
                return .failure(.init(report: .failed(code: "configuration", reason: "this gateway cannot read stored files")))
            }
            let bytes: [UInt8]
            do {
                bytes = try await fetchFile(sha, a.sizeBytes)
            } catch {
                return .failure(.init(report: .retryAfter(until: now().addingTimeInterval(30), code: "engine",
                                                          reason: "the file could not be read from the engine: \(error)")))
            }
            let upload = await WhatsAppMediaClient(http: http).upload(
                DownloadedFile(bytes: bytes, contentType: a.contentType, fileName: a.fileName), channel: channel)
            return upload.map { (id: $0, link: nil) }
        }
        if let url = a.url, url.hasPrefix("https://") { return .success((id: nil, link: url)) }
        return .failure(.init(report: .failed(code: "no_file", reason: "attachment \(a.fileName) is neither stored nor at a public https URL")))
    }

    /// Marks a customer's message read (blue ticks on their phone), and with
    /// it every earlier message of the chat. Best effort: the answer is only logged.
    public func markRead(_ externalMessageID: String, channel: GatewayChannelSettings) async -> Bool {
        guard let phoneNumberID = channel.string("phone_number_id"), let token = channel.secrets["access_token"] else { return false }
        let base = channel.string("graph_base_url") ?? WhatsAppOutbound.defaultBaseURL
        var request = HTTPClientRequest(url: "\(base.trimmingSuffix("/"))/\(phoneNumberID)/messages")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = JSONValue.object(["messaging_product": .string("whatsapp"), "status": .string("read"),
                                     "message_id": .string(externalMessageID)])
        request.body = .bytes(ByteBuffer(bytes: (try? JSONEncoder().encode(body)) ?? Data()))
        if case .answered(let status, _, _) = await http.call(request), (200..<300).contains(status) { return true }
        return false
    }

    func classify(_ result: ProviderCallResult, attempt: Int) -> DeliveryReport {
        let now = now()
        switch result {
        case .notSent(let reason):
            return .retryAfter(until: now.addingTimeInterval(RetryBackoff.delay(attempt: attempt)), code: "connect", reason: reason)
        case .unknown(let reason):
            return .unknown(reason: reason)
        case .answered(let status, let headers, let body):
            if (200..<300).contains(status) {
                return .sent(providerMessageID: WhatsAppOutbound.messageID(body))
            }
            let error = WhatsAppOutbound.APIError.parse(body)
            let code = error?.code.map(String.init)
            let reason = error?.text ?? "HTTP \(status)"
            if let c = error?.code, WhatsAppOutbound.throttlingCodes.contains(c) {
                return .retryAfter(until: ProviderHTTP.retryAfter(headers, now: now) ?? now.addingTimeInterval(60), code: code, reason: reason)
            }
            if status == 401 || error?.code == 190 {
                return .failed(code: code ?? "401", reason: "the access token was refused (\(reason)); set a valid access_token on the channel")
            }
            return ProviderHTTP.genericReport(status: status, headers: headers, code: code, reason: reason, now: now)
        }
    }
}

extension String {
    func trimmingSuffix(_ suffix: Character) -> String {
        var s = self
        while s.last == suffix { s.removeLast() }
        return s
    }
}
