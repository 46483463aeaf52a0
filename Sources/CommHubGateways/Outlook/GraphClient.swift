import AsyncHTTPClient
import CommHubDomain
import Foundation
import NIOCore
import NIOHTTP1

/// One answer from Microsoft Graph, with its JSON when it has one.
public struct GraphAnswer: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: ByteBuffer
    public var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)) }
    public var ok: Bool { (200..<300).contains(status) }
    /// `error.code` of Graph's error body (`InvalidAuthenticationToken`, `ErrorItemNotFound`, `syncStateNotFound`).
    public var errorCode: String? { json?["error"]?["code"]?.stringValue }
    public var errorText: String {
        let e = json?["error"]
        let code = e?["code"]?.stringValue ?? "HTTP \(status)"
        return e?["message"]?.stringValue.map { "\(code): \($0.prefix(300))" } ?? code
    }
}

/// What came of one Graph call (see `ProviderCallResult` for what is certain when).
public enum GraphResult: Sendable {
    case answered(GraphAnswer)
    case notSent(reason: String)
    case unknown(reason: String)
    /// No access token could be had; nothing was sent.
    case noToken(GraphTokenError)

    public var answer: GraphAnswer? { if case .answered(let a) = self { a } else { nil } }

    public var description: String {
        switch self {
        case .answered(let a): a.errorText
        case .notSent(let r), .unknown(let r): r
        case .noToken(let e): e.description
        }
    }
}

/// Microsoft Graph for one channel: its base URL (`graph_base_url`,
/// default `https://graph.microsoft.com/v1.0`), its mailbox and its app
/// credentials. Every request carries a bearer token from the shared
/// `GraphTokenCache` and `Prefer: IdType="ImmutableId"` (ids that survive a
/// move between folders: Graph applies the preference per request). A 401
/// forces one token refresh and one retry, never more. Absolute URLs Graph
/// handed out (`@odata.nextLink`, `@odata.deltaLink`) are requested
/// verbatim, but only on the configured Graph origin: the bearer token never
/// goes to another host.
public struct GraphClient: Sendable {
    public static let defaultBaseURL = "https://graph.microsoft.com/v1.0"

    public let http: ProviderHTTP
    public let tokens: GraphTokenCache
    public let credentials: GraphCredentials
    public let baseURL: String
    /// The user (UPN or id) whose mail this channel handles.
    public let mailbox: String

    public init(http: ProviderHTTP, tokens: GraphTokenCache, credentials: GraphCredentials, baseURL: String, mailbox: String) {
        self.http = http
        self.tokens = tokens
        self.credentials = credentials
        self.baseURL = baseURL.trimmingSuffix("/")
        self.mailbox = mailbox
    }

    /// The channel's client, or why it has none (names the missing keys).
    public static func make(for channel: GatewayChannelSettings, http: ProviderHTTP,
                            tokens: GraphTokenCache) -> Result<GraphClient, GraphConfigurationError> {
        var missing: [String] = []
        for key in ["tenant_id", "client_id", "mailbox"] where (channel.string(key) ?? "").isEmpty { missing.append(key) }
        if (channel.secrets["client_secret"] ?? "").isEmpty { missing.append("client_secret") }
        guard missing.isEmpty, let credentials = GraphCredentials(channel: channel), let mailbox = channel.string("mailbox") else {
            return .failure(GraphConfigurationError(description: "the channel lacks \(missing.joined(separator: ", "))"))
        }
        return .success(GraphClient(http: http, tokens: tokens, credentials: credentials,
                                    baseURL: channel.string("graph_base_url") ?? defaultBaseURL, mailbox: mailbox))
    }

    /// `users/{mailbox}` as a path segment.
    public var userPath: String { "/users/\(Self.segment(mailbox))" }

    static func segment(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~@")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// The absolute URL of a path under the base, or an absolute URL on the same origin.
    func url(_ pathOrURL: String) -> String? {
        guard pathOrURL.hasPrefix("http://") || pathOrURL.hasPrefix("https://") else { return baseURL + pathOrURL }
        return Self.origin(pathOrURL) == Self.origin(baseURL) ? pathOrURL : nil
    }

    static func origin(_ url: String) -> String {
        guard let r = url.range(of: "://") else { return url }
        let rest = url[r.upperBound...]
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return (url[..<r.upperBound] + host).lowercased()
    }

    /// One request; `prefer` adds `Prefer` values beside the immutable-id one.
    public func call(_ method: HTTPMethod, _ pathOrURL: String, body: JSONValue? = nil, prefer: [String] = [],
                     maxAnswerBytes: Int = ProviderHTTP.maxAnswerBytes) async -> GraphResult {
        guard let url = url(pathOrURL) else {
            return .notSent(reason: "refused to follow a link to another host than \(Self.origin(baseURL))")
        }
        var first = true
        while true {
            let token: String
            do {
                token = try await tokens.token(for: credentials)
            } catch let e as GraphTokenError {
                return .noToken(e)
            } catch {
                return .noToken(GraphTokenError(description: "\(error)", permanent: false, retryAt: nil))
            }
            var request = HTTPClientRequest(url: url)
            request.method = method
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Accept", value: "application/json")
            for p in [#"IdType="ImmutableId""#] + prefer { request.headers.add(name: "Prefer", value: p) }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: (try? JSONEncoder().encode(body)) ?? Data()))
            }
            let result = await http.call(request, maxAnswerBytes: maxAnswerBytes)
            switch result {
            case .answered(let status, let headers, let bytes):
                let answer = GraphAnswer(status: status, headers: headers, body: bytes)
                if status == 401, first {
                    // An expired or revoked token: one forced refresh and one retry (the request was refused, not taken).
                    await tokens.invalidate(credentials, token: token)
                    first = false
                    continue
                }
                return .answered(answer)
            case .notSent(let reason):
                return .notSent(reason: reason)
            case .unknown(let reason):
                return .unknown(reason: reason)
            }
        }
    }
}

/// A channel's configuration does not make a Graph client.
public struct GraphConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
