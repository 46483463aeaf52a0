import AsyncHTTPClient
import CommHubDomain
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// What an `email_outlook` channel authenticates with: the Entra ID app
/// registration's client credentials (`tenant_id`, `client_id`,
/// `client_secret`) and the login host (`login_base_url`, default
/// Microsoft's). Nil when the channel lacks any of them.
public struct GraphCredentials: Sendable, Hashable {
    public static let defaultLoginBaseURL = "https://login.microsoftonline.com"
    public static let scope = "https://graph.microsoft.com/.default"

    public var loginBaseURL: String
    public var tenantID: String
    public var clientID: String
    public var clientSecret: String

    public init(loginBaseURL: String = GraphCredentials.defaultLoginBaseURL, tenantID: String, clientID: String, clientSecret: String) {
        self.loginBaseURL = loginBaseURL.trimmingSuffix("/")
        self.tenantID = tenantID
        self.clientID = clientID
        self.clientSecret = clientSecret
    }

    public init?(channel: GatewayChannelSettings) {
        guard let tenant = channel.string("tenant_id"), !tenant.isEmpty, let client = channel.string("client_id"), !client.isEmpty,
              let secret = channel.secrets["client_secret"], !secret.isEmpty else { return nil }
        self.init(loginBaseURL: channel.string("login_base_url") ?? Self.defaultLoginBaseURL, tenantID: tenant, clientID: client,
                  clientSecret: secret)
    }

    /// `{login}/{tenant}/oauth2/v2.0/token`.
    public var tokenURL: String {
        "\(loginBaseURL)/\(tenantID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? tenantID)/oauth2/v2.0/token"
    }

    /// The client-credentials form (`application/x-www-form-urlencoded`).
    public var tokenForm: String {
        [("client_id", clientID), ("scope", Self.scope), ("client_secret", clientSecret), ("grant_type", "client_credentials")]
            .map { "\($0.0)=\(GraphForm.encode($0.1))" }.joined(separator: "&")
    }

    /// The cache key: the secret enters only as a hash (a rotated secret is a new entry).
    var cacheKey: String {
        let digest = SHA256.hash(data: Data(clientSecret.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        return "\(loginBaseURL)|\(tenantID)|\(clientID)|\(digest)"
    }
}

/// `application/x-www-form-urlencoded` value encoding.
enum GraphForm {
    static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}

/// Why no token could be had. `permanent` when the login service refused
/// the credentials (a wrong secret, an unknown tenant): trying again
/// changes nothing until someone fixes the channel.
public struct GraphTokenError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public let permanent: Bool
    /// When the login service asked us to wait (429 / 503 with Retry-After).
    public let retryAt: Date?
}

/// Access tokens of the client-credentials flow, one per app registration,
/// cached in memory until shortly before they expire: a token is refreshed
/// once `refreshMargin` of its lifetime is left (5 minutes, or a quarter of
/// a short lifetime), so no request goes out with a token about to lapse.
/// Callers that get a 401 from Graph ask for one forced refresh
/// (`invalidate`); concurrent callers share one request to the login service.
public actor GraphTokenCache {
    struct Entry { var token: String; var expiresAt: Date; var fetchedAt: Date }

    private let http: ProviderHTTP
    private let now: @Sendable () -> Date
    private var entries: [String: Entry] = [:]
    private var inFlight: [String: Task<Entry, any Error>] = [:]
    /// Requests made to the login service (tests count refreshes).
    public private(set) var fetches = 0

    /// `expires_in` outside this range is clamped: a token that claims to live
    /// 0 s or a year is still treated as a token of sane life.
    public static let expiresInSeconds: ClosedRange<Double> = 60...86_400
    /// Longest refresh margin.
    public static let maxRefreshMarginSeconds: Double = 300
    /// Entries kept at most (one per app registration in practice).
    public static let maxEntries = 256

    public init(http: ProviderHTTP, now: @escaping @Sendable () -> Date = { Date() }) {
        self.http = http
        self.now = now
    }

    /// A valid access token for `credentials`.
    public func token(for credentials: GraphCredentials) async throws -> String {
        let key = credentials.cacheKey
        if let e = entries[key], now() < Self.refreshAt(e) { return e.token }
        if let running = inFlight[key] { return try await running.value.token }
        let task = Task { try await self.fetch(credentials) }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        let entry = try await task.value
        if entries.count >= Self.maxEntries, entries[key] == nil { entries.removeAll() }
        entries[key] = entry
        return entry.token
    }

    /// Forgets `token` (Graph answered 401 with it), so the next `token(for:)` fetches a new one.
    public func invalidate(_ credentials: GraphCredentials, token: String) {
        if entries[credentials.cacheKey]?.token == token { entries[credentials.cacheKey] = nil }
    }

    static func refreshAt(_ e: Entry) -> Date {
        let lifetime = e.expiresAt.timeIntervalSince(e.fetchedAt)
        return e.expiresAt.addingTimeInterval(-min(maxRefreshMarginSeconds, lifetime / 4))
    }

    private func fetch(_ c: GraphCredentials) async throws -> Entry {
        fetches += 1
        var request = HTTPClientRequest(url: c.tokenURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: c.tokenForm))
        let started = now()
        switch await http.call(request) {
        case .answered(let status, let headers, let body):
            let json = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
            if (200..<300).contains(status) {
                guard let token = json?["access_token"]?.stringValue, !token.isEmpty, token.utf8.count <= 16_384 else {
                    throw GraphTokenError(description: "the token endpoint answered without an access_token", permanent: false, retryAt: nil)
                }
                let raw = json?["expires_in"].flatMap(Self.number) ?? 3599
                let seconds = min(max(raw, Self.expiresInSeconds.lowerBound), Self.expiresInSeconds.upperBound)
                return Entry(token: token, expiresAt: started.addingTimeInterval(seconds), fetchedAt: started)
            }
            // The error names a code (`invalid_client`, …); its description may quote the request, never the secret.
            let code = json?["error"]?.stringValue ?? "HTTP \(status)"
            let text = json?["error_description"]?.stringValue.map { String($0.prefix(300)) } ?? ""
            let retry = status == 429 || status >= 500
            throw GraphTokenError(description: "the token endpoint refused: \(code) \(text)".trimmingCharacters(in: .whitespaces),
                                  permanent: !retry, retryAt: retry ? ProviderHTTP.retryAfter(headers, now: now()) : nil)
        case .notSent(let reason), .unknown(let reason):
            throw GraphTokenError(description: "the token endpoint could not be reached: \(reason)", permanent: false, retryAt: nil)
        }
    }

    static func number(_ v: JSONValue) -> Double? {
        switch v {
        case .number(let n) where n.isFinite: n
        case .string(let s): Double(s).flatMap { $0.isFinite ? $0 : nil }
        default: nil
        }
    }
}

extension JSONValue {
    /// A member of an object (nil for anything else).
    subscript(_ key: String) -> JSONValue? { objectValue?[key] }
    var arrayItems: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
}
