import AsyncHTTPClient
import CommHubDomain
import CommHubWire
import Foundation
import NIOCore
import NIOHTTP1

/// What CommHub sends to Twilio's Messages API, as pure values
/// (`POST {api_base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`,
/// a form body, HTTP Basic auth `account_sid:auth_token`), and the channel
/// settings it is built from.
///
/// Channel configuration (API.md, "Channel configuration keys"):
/// `account_sid`, `auth_token` (secret), `from` (our number; older name
/// `from_number`) or `messaging_service_sid`, `webhook_url` (the public URL
/// of `/webhooks/sms` as set in the Twilio console), optional
/// `status_callback_url`, and `api_base_url` (older name `sms_base_url`).
public enum TwilioOutbound {
    /// `api_base_url` when a channel does not set one.
    public static let defaultBaseURL = "https://api.twilio.com"
    /// Longest body Twilio takes (error 21617 beyond it).
    public static let maxBodyCharacters = 1600
    /// Most `MediaUrl`s of one message.
    public static let maxMedia = 10
    /// Longest provider text kept in a report.
    static let maxReasonCharacters = 500

    public static func baseURL(_ channel: GatewayChannelSettings) -> String {
        (channel.string("api_base_url") ?? channel.string("sms_base_url") ?? defaultBaseURL).trimmingSuffix("/")
    }

    /// Our number (`from`, older name `from_number`).
    public static func fromNumber(_ channel: GatewayChannelSettings) -> String? {
        for key in ["from", "from_number"] { if let v = channel.string(key), !v.isEmpty { return v } }
        return nil
    }

    /// Who sends: `From` when the channel names its number (the customer sees
    /// the number they wrote to), else `MessagingServiceSid` (Twilio picks a
    /// number of the service's pool, sticky per customer). Exactly one is sent.
    public static func sender(_ channel: GatewayChannelSettings) -> TwilioParameter? {
        if let from = fromNumber(channel) { return TwilioParameter("From", from) }
        if let service = channel.string("messaging_service_sid"), !service.isEmpty {
            return TwilioParameter("MessagingServiceSid", service)
        }
        return nil
    }

    /// Where Twilio posts status changes: the channel's `status_callback_url`,
    /// else its `webhook_url` with `/status` added to the path (its query
    /// kept: `https://hub/webhooks/sms?channel_id=X` →
    /// `https://hub/webhooks/sms/status?channel_id=X`); nil without either,
    /// and then Twilio reports to the Messaging Service's callback, if any.
    /// `/webhooks/sms/status` checks signatures against this same URL.
    public static func statusCallbackURL(_ channel: GatewayChannelSettings) -> String? {
        if let url = channel.string("status_callback_url"), !url.isEmpty { return url }
        guard let webhook = channel.string("webhook_url"), !webhook.isEmpty else { return nil }
        let cut = webhook.firstIndex { $0 == "?" || $0 == "#" } ?? webhook.endIndex
        return String(webhook[..<cut]).trimmingSuffix("/") + "/status" + String(webhook[cut...])
    }

    /// The customer's number: the message's recipient, else the sender of the
    /// customer's last message, else the customer half of the thread's
    /// `sms_chat_id` (`<ours>:<theirs>`).
    public static func recipient(of m: GatewayMessage) -> String? {
        if let phone = m.recipient?.phone, !phone.isEmpty { return TwilioFields.normalizedNumber(phone) }
        if let phone = m.lastInbound?.sender?.phone, !phone.isEmpty { return TwilioFields.normalizedNumber(phone) }
        for ref in m.threadReferences where ref.kind == .smsChat {
            if let colon = ref.value.lastIndex(of: ":") {
                let theirs = String(ref.value[ref.value.index(after: colon)...])
                if !theirs.isEmpty { return theirs }
            }
        }
        return nil
    }

    /// The form of one send, in the order Twilio documents it.
    public static func form(to: String, sender: TwilioParameter, body: String, statusCallback: String?,
                            mediaURLs: [String]) -> [TwilioParameter] {
        var p = [TwilioParameter("To", to), sender]
        if !body.isEmpty || mediaURLs.isEmpty { p.append(TwilioParameter("Body", body)) }
        if let statusCallback { p.append(TwilioParameter("StatusCallback", statusCallback)) }
        for url in mediaURLs { p.append(TwilioParameter("MediaUrl", url)) }
        return p
    }

    /// Attachments Twilio can fetch itself: public http(s) URLs. A file in
    /// CommHub's own store (`/api/attachments/…`) is served only to signed-in
    /// users, so Twilio could not fetch it: nil, and the send is refused
    /// rather than going out without the file.
    public static func mediaURLs(_ attachments: [Attachment]) -> [String]? {
        var out: [String] = []
        for a in attachments {
            guard let url = a.url, let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
                  parsed.host != nil else { return nil }
            out.append(url)
        }
        return out
    }

    /// An account sid that is safe in a URL path: letters and digits only.
    static func isPlainSid(_ s: String) -> Bool {
        (1...TwilioFields.maxSidCharacters).contains(s.utf8.count)
            && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
    }

    /// Twilio's error body: `{"code":21211,"message":"…","more_info":"…","status":400}`.
    public struct APIError: Sendable, Hashable {
        public var code: Int?
        public var message: String

        public static func parse(_ body: ByteBuffer) -> APIError? {
            guard let v = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)), let o = v.objectValue,
                  o["code"] != nil || o["message"] != nil else { return nil }
            let code: Int? = switch o["code"] { case .number(let n)?: Int(exactly: n); case .string(let s)?: Int(s); default: nil }
            let message = o["message"]?.stringValue ?? "error"
            return APIError(code: code, message: String(message.prefix(maxReasonCharacters)))
        }
    }

    /// The `sid` of an accepted message (`{"sid":"SM…","status":"queued",…}`).
    public static func sid(_ body: ByteBuffer) -> String? {
        guard let v = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)),
              let sid = v.objectValue?["sid"]?.stringValue, !sid.isEmpty, sid.utf8.count <= TwilioFields.maxSidCharacters
        else { return nil }
        return sid
    }
}

/// Sends claimed SMS messages through Twilio's Messages API (or any service
/// that speaks it: `api_base_url`). Outcomes are honest: only what Twilio
/// certainly did not take is retried (no connection; 429, or 503 with
/// `Retry-After`); a 5xx or a missing answer leaves the outcome unknown,
/// because Twilio's create is not idempotent and a repeat could text the
/// customer twice.
public struct TwilioSender: OutboundAdapter {
    public let http: ProviderHTTP
    public let now: @Sendable () -> Date

    public init(http: ProviderHTTP, now: @escaping @Sendable () -> Date = { Date() }) {
        self.http = http
        self.now = now
    }

    public var channelType: ChannelType { .sms }

    public func send(_ m: GatewayMessage, channel: GatewayChannelSettings) async -> DeliveryReport {
        guard let account = channel.string("account_sid"), TwilioOutbound.isPlainSid(account) else {
            return .failed(code: "configuration", reason: "the channel has no valid account_sid (AC… from the Twilio console)")
        }
        guard let token = channel.secrets["auth_token"], !token.isEmpty else {
            return .failed(code: "configuration", reason: "the channel has no auth_token")
        }
        guard let sender = TwilioOutbound.sender(channel) else {
            return .failed(code: "configuration", reason: "the channel has neither from nor messaging_service_sid")
        }
        guard let to = TwilioOutbound.recipient(of: m) else {
            return .failed(code: "no_recipient", reason: "the thread names no phone number to text")
        }
        guard m.messageContent.count <= TwilioOutbound.maxBodyCharacters else {
            return .failed(code: "too_long", reason: "an SMS takes at most \(TwilioOutbound.maxBodyCharacters) characters")
        }
        guard let media = TwilioOutbound.mediaURLs(m.attachments) else {
            return .failed(code: "media_unsupported", reason: "SMS can carry only files at a public http(s) URL (Twilio fetches "
                           + "them itself); send the text without the attachment")
        }
        guard media.count <= TwilioOutbound.maxMedia else {
            return .failed(code: "too_many_media", reason: "an MMS carries at most \(TwilioOutbound.maxMedia) files")
        }
        guard !m.messageContent.isEmpty || !media.isEmpty else {
            return .failed(code: "empty", reason: "the message has no text and no file")
        }
        let form = TwilioOutbound.form(to: to, sender: sender, body: m.messageContent,
                                       statusCallback: TwilioOutbound.statusCallbackURL(channel), mediaURLs: media)
        var request = HTTPClientRequest(url: "\(TwilioOutbound.baseURL(channel))/2010-04-01/Accounts/\(account)/Messages.json")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(account):\(token)".utf8).base64EncodedString())
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: TwilioForm.encode(form)))
        return classify(await http.call(request), attempt: m.attempt)
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
                return .sent(providerMessageID: TwilioOutbound.sid(body))
            }
            let error = TwilioOutbound.APIError.parse(body)
            let code = error?.code.map(String.init)
            let reason = error?.message ?? "HTTP \(status)"
            if status == 401 || error?.code == 20003 {
                return .failed(code: code ?? "401", reason: "Twilio refused the credentials (\(reason)); set the channel's "
                               + "account_sid and auth_token")
            }
            return ProviderHTTP.genericReport(status: status, headers: headers, code: code, reason: reason, now: now)
        }
    }
}
