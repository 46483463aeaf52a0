import Crypto
import Foundation
import Synchronization

/// Twilio as CommHub uses it, on loopback:
///
/// - the Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`
///   with HTTP Basic auth `AccountSid:AuthToken` and a form body; `201` with
///   the message resource (`sid` `SM` + 32 hex digits, `status` `queued`), or
///   an error in Twilio's shape `{"code","message","more_info","status"}`;
/// - media URLs: `GET /2010-04-01/Accounts/{AccountSid}/Messages/{MM}/Media/{ME}`
///   checks Basic auth (when `requireMediaAuth`) and answers `307` to a
///   pre-signed URL on `/cdn/…`, which refuses any request that carries an
///   `Authorization` header (as pre-signed storage does);
///
/// plus what Twilio does towards us: `sign` computes `X-Twilio-Signature`
/// with Crypto directly (independent of CommHub's own code), and
/// `inboundParameters` / `statusParameters` build the documented forms.
public final class TwilioStandIn: Sendable {
    public let server: StandInServer
    public let accountSid: String
    public let authToken: String
    private let shelf: Shelf

    /// Files behind media URLs, and the counter of sends.
    final class Shelf: Sendable {
        let files = Mutex<[String: (contentType: String, bytes: [UInt8])]>([:])
        let sends = Mutex(0)
        let base = Mutex("")
        let requireMediaAuth = Mutex(true)
    }

    public init(accountSid: String = "AC0123456789abcdef0123456789abcdef", authToken: String = "twilio-standin-auth-token") {
        self.accountSid = accountSid
        self.authToken = authToken
        let shelf = Shelf()
        self.shelf = shelf
        let expected = "Basic " + Data("\(accountSid):\(authToken)".utf8).base64EncodedString()
        server = StandInServer(name: "twilio") { request, _ in
            Self.answer(request, accountSid: accountSid, expectedAuthorization: expected, shelf: shelf)
        }
    }

    public func start() async throws {
        try await server.start()
        shelf.base.withLock { $0 = server.baseURL }
    }

    public func stop() async { await server.stop() }

    public var baseURL: String { server.baseURL }
    /// The sends it received.
    public var sends: [RecordedRequest] { server.recorded(path: "/Messages.json") }
    /// Requests to media URLs (with credentials) and to the media host (without).
    public var mediaRequests: [RecordedRequest] { server.recorded.filter { $0.path.contains("/Media/") } }
    public var cdnRequests: [RecordedRequest] { server.recorded.filter { $0.path.hasPrefix("/cdn/") } }

    /// Whether media URLs require Basic auth (Twilio's "HTTP Basic Authentication for media" setting).
    public func requireMediaAuth(_ on: Bool) { shelf.requireMediaAuth.withLock { $0 = on } }

    /// Puts a file behind a media URL of message `messageSid`; returns the URL, as Twilio sends it in `MediaUrl{N}`.
    public func addMedia(messageSid: String, contentType: String, bytes: [UInt8]) -> String {
        let id = "ME" + Self.hex32(UInt64.random(in: 1...UInt64.max))
        shelf.files.withLock { $0[id] = (contentType, bytes) }
        return "\(baseURL)/2010-04-01/Accounts/\(accountSid)/Messages/\(messageSid)/Media/\(id)"
    }

    /// The sid of the n-th accepted send (0-based).
    public static func sid(_ n: Int) -> String { "SM" + hex32(UInt64(n + 1)) }

    static func hex32(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 32 - digits.count) + digits
    }

    static func answer(_ r: RecordedRequest, accountSid: String, expectedAuthorization: String, shelf: Shelf) -> StandInAnswer {
        let messages = "/2010-04-01/Accounts/\(accountSid)/Messages.json"
        let mediaPrefix = "/2010-04-01/Accounts/\(accountSid)/Messages/"
        if r.method == "POST" && r.path == messages {
            guard r.header("authorization") == expectedAuthorization else { return authenticate() }
            let form = Dictionary(parseForm(r.body), uniquingKeysWith: { a, _ in a })
            guard let to = form["To"], !to.isEmpty else { return error(400, code: 21604, message: "A 'To' phone number is required.") }
            guard form["From"] != nil || form["MessagingServiceSid"] != nil else {
                return error(400, code: 21603, message: "A 'From' phone number is required.")
            }
            guard !(form["Body"] ?? "").isEmpty || form["MediaUrl"] != nil else {
                return error(400, code: 21602, message: "Message body is required.")
            }
            let n = shelf.sends.withLock { s -> Int in
                defer { s += 1 }
                return s
            }
            let sid = sid(n)
            let now = "Thu, 24 Aug 2023 05:01:45 +0000"
            return .json(201, [
                "account_sid": accountSid, "api_version": "2010-04-01", "body": form["Body"] ?? "",
                "date_created": now, "date_sent": NSNull(), "date_updated": now, "direction": "outbound-api",
                "error_code": NSNull(), "error_message": NSNull(), "from": form["From"] ?? NSNull(),
                "messaging_service_sid": form["MessagingServiceSid"] ?? NSNull(), "num_media": form["MediaUrl"] == nil ? "0" : "1",
                "num_segments": "1", "price": NSNull(), "price_unit": "USD", "sid": sid,
                "status": form["MessagingServiceSid"] != nil ? "accepted" : "queued", "to": to,
                "subresource_uris": ["media": "/2010-04-01/Accounts/\(accountSid)/Messages/\(sid)/Media.json"],
                "uri": "/2010-04-01/Accounts/\(accountSid)/Messages/\(sid).json",
            ] as [String: Any])
        }
        if r.method == "GET", r.path.hasPrefix(mediaPrefix), let slash = r.path.range(of: "/Media/") {
            if shelf.requireMediaAuth.withLock({ $0 }), r.header("authorization") != expectedAuthorization { return authenticate() }
            let id = String(r.path[slash.upperBound...])
            guard shelf.files.withLock({ $0[id] }) != nil else {
                return error(404, code: 20404, message: "The requested resource \(r.path) was not found")
            }
            let base = shelf.base.withLock { $0 }
            return .respond(status: 307, headers: ["Location": "\(base)/cdn/\(id)?X-Amz-Signature=standin&X-Amz-Expires=300"], body: [])
        }
        if r.method == "GET", r.path.hasPrefix("/cdn/") {
            guard r.header("authorization") == nil else {
                return .respond(status: 400, headers: ["Content-Type": "application/xml"], body: Array(
                    "<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>".utf8))
            }
            guard let file = shelf.files.withLock({ $0[String(r.path.dropFirst(5))] }) else {
                return .respond(status: 404, headers: [:], body: [])
            }
            return .respond(status: 200, headers: ["Content-Type": file.contentType], body: file.bytes)
        }
        return error(404, code: 20404, message: "The requested resource \(r.path) was not found")
    }

    static func authenticate() -> StandInAnswer { error(401, code: 20003, message: "Authenticate") }

    /// An error in Twilio's shape.
    public static func error(_ status: Int, code: Int, message: String, headers: [String: String] = [:]) -> StandInAnswer {
        .json(status, ["code": code, "message": message, "more_info": "https://www.twilio.com/docs/errors/\(code)", "status": status],
              headers: headers)
    }

    // MARK: What Twilio sends us

    /// `X-Twilio-Signature`: base64(HMAC-SHA1(authToken, url + each name and value, sorted by name, then value)).
    public static func sign(url: String, parameters: [(String, String)], authToken: String) -> String {
        var text = Array(url.utf8)
        let sorted = parameters.sorted { a, b in
            a.0 == b.0 ? Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8)) : Array(a.0.utf8).lexicographicallyPrecedes(Array(b.0.utf8))
        }
        for (name, value) in sorted { text += Array(name.utf8) + Array(value.utf8) }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: text, using: SymmetricKey(data: Data(authToken.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// A form body, spaces as `+`, as Twilio posts it.
    public static func formBody(_ parameters: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "*-._ ")
        func esc(_ s: String) -> String {
            (s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s).replacingOccurrences(of: " ", with: "+")
        }
        return parameters.map { esc($0.0) + "=" + esc($0.1) }.joined(separator: "&")
    }

    /// Decodes a form body (`+` as space), in order.
    public static func parseForm(_ body: [UInt8]) -> [(String, String)] {
        String(decoding: body, as: UTF8.self).split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func dec(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            return (dec(parts[0]), parts.count > 1 ? dec(parts[1]) : "")
        }
    }

    /// The parameters of an incoming SMS/MMS as Twilio documents them (empty geo fields included).
    public func inboundParameters(messageSid: String, from: String, to: String, body: String,
                                  media: [(url: String, contentType: String)] = [], messagingServiceSid: String? = nil) -> [(String, String)] {
        var p: [(String, String)] = [
            ("ToCountry", "NL"), ("ToState", ""), ("SmsMessageSid", messageSid), ("NumMedia", "\(media.count)"), ("ToCity", ""),
            ("FromZip", ""), ("SmsSid", messageSid), ("FromState", ""), ("SmsStatus", "received"), ("FromCity", ""),
            ("Body", body), ("FromCountry", "NL"), ("To", to), ("ToZip", ""), ("NumSegments", "1"),
            ("MessageSid", messageSid), ("AccountSid", accountSid), ("From", from), ("ApiVersion", "2010-04-01"),
        ]
        if let messagingServiceSid { p.append(("MessagingServiceSid", messagingServiceSid)) }
        for (i, m) in media.enumerated() {
            p.append(("MediaContentType\(i)", m.contentType))
            p.append(("MediaUrl\(i)", m.url))
        }
        return p
    }

    /// The parameters of a status callback as Twilio documents them.
    public func statusParameters(messageSid: String, status: String, from: String, to: String, errorCode: Int? = nil) -> [(String, String)] {
        var p: [(String, String)] = [
            ("SmsSid", messageSid), ("SmsStatus", status), ("MessageStatus", status), ("To", to), ("MessageSid", messageSid),
            ("AccountSid", accountSid), ("From", from), ("ApiVersion", "2010-04-01"),
        ]
        if let errorCode { p.append(("ErrorCode", "\(errorCode)")) }
        if status == "delivered" || status == "undelivered" { p.append(("RawDlrDoneDate", "2503041217")) }
        return p
    }
}
