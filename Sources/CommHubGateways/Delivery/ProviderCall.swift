import AsyncHTTPClient
import CommHubDomain
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One HTTP call to a provider, and what is *certain* about it afterwards.
///
/// The rule that keeps CommHub from sending a message twice: a request may
/// be repeated automatically only when the provider certainly did not take
/// it. That is the case when the connection (TCP or TLS) could not be made,
/// so the request was never written; or when the provider answered that it
/// refused it for now (429, or 503 with `Retry-After`). A request that was
/// written and got no answer (read timeout, connection reset) or a server
/// error (500, 502, 504, 503 without `Retry-After`) leaves the outcome
/// unknown, and a person decides.
public enum ProviderCallResult: Sendable {
    /// The provider answered.
    case answered(status: Int, headers: HTTPHeaders, body: ByteBuffer)
    /// The request was certainly not written (connecting failed).
    case notSent(reason: String)
    /// The request may have reached the provider; no usable answer came.
    case unknown(reason: String)
}

/// Calls providers through one pooled AsyncHTTPClient with explicit connect
/// and read timeouts (no overall deadline: a deadline hit while connecting
/// could not be told apart from one hit after writing).
public final class ProviderHTTP: Sendable {
    private let configuration: HTTPClient.Configuration
    /// Made on first use (an unused gateway never opens a pool), shut down by `shutdown()`.
    private let made = Mutex<HTTPClient?>(nil)
    public var client: HTTPClient {
        made.withLock { c in
            if let c { return c }
            let new = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
            c = new
            return new
        }
    }
    /// Largest provider answer read (anything longer is cut: we only need ids and error codes).
    public static let maxAnswerBytes = 1 << 20
    /// Largest media file downloaded.
    public static let maxDownloadBytes = 64 << 20

    public init(connectTimeout: TimeAmount = .seconds(5), readTimeout: TimeAmount = .seconds(30)) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: connectTimeout, read: readTimeout)
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.idleTimeout = .seconds(30)
        self.configuration = configuration
    }

    public func shutdown() async {
        let c = made.withLock { c -> HTTPClient? in defer { c = nil }; return c }
        try? await c?.shutdown()
    }

    public func call(_ request: HTTPClientRequest, maxAnswerBytes: Int = ProviderHTTP.maxAnswerBytes) async -> ProviderCallResult {
        do {
            let response = try await client.execute(request, timeout: .hours(24))
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: maxAnswerBytes)
            } catch {
                // The provider answered with a status; its body did not come completely.
                return .answered(status: Int(response.status.code), headers: response.headers, body: ByteBuffer())
            }
            return .answered(status: Int(response.status.code), headers: response.headers, body: body)
        } catch {
            return Self.classify(error)
        }
    }

    /// Errors that happen before a request is written say so; every other one leaves the outcome unknown.
    static func classify(_ error: any Error) -> ProviderCallResult {
        if let e = error as? HTTPClientError {
            switch e {
            case .connectTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout, .invalidURL, .emptyHost,
                 .emptyScheme, .alreadyShutdown, .socksHandshakeTimeout, .httpProxyHandshakeTimeout:
                return .notSent(reason: "\(e)")
            default:
                return .unknown(reason: "\(e)")
            }
        }
        if error is NIOConnectionError { return .notSent(reason: "could not connect: \(error)") }
        if let e = error as? ChannelError, case .connectTimeout = e { return .notSent(reason: "connect timeout") }
        if let e = error as? IOError, [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH].contains(e.errnoCode) {
            return .notSent(reason: "could not connect: \(e)")
        }
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") || text.contains("NIOSSL") && text.contains("handshake") {
            return .notSent(reason: text)
        }
        return .unknown(reason: text)
    }

    /// `Retry-After` as seconds or an HTTP date, from `now`; nil when absent or unreadable.
    public static func retryAfter(_ headers: HTTPHeaders, now: Date) -> Date? {
        guard let raw = headers.first(name: "Retry-After")?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        if let seconds = Int(raw), seconds >= 0 { return now.addingTimeInterval(Double(min(seconds, 86_400))) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = f.date(from: raw) else { return nil }
        return min(max(date, now), now.addingTimeInterval(86_400))
    }

    /// The report for an answer no adapter-specific rule decided: 429, or 503
    /// with `Retry-After`, is a certain refusal; other 5xx are unknown; 4xx failed.
    public static func genericReport(status: Int, headers: HTTPHeaders, code: String?, reason: String, now: Date) -> DeliveryReport {
        switch status {
        case 429:
            return .retryAfter(until: retryAfter(headers, now: now) ?? now.addingTimeInterval(30), code: code ?? "429", reason: reason)
        case 503:
            if let until = retryAfter(headers, now: now) { return .retryAfter(until: until, code: code ?? "503", reason: reason) }
            return .unknown(reason: "the provider answered 503 without Retry-After: \(reason)")
        case 500...599:
            return .unknown(reason: "the provider answered \(status): \(reason)")
        default:
            return .failed(code: code ?? String(status), reason: reason)
        }
    }
}

/// Sends claimed messages of one kind of channel to its provider.
public protocol OutboundAdapter: Sendable {
    /// The channel type this adapter sends for.
    var channelType: ChannelType { get }
    /// Sends `message` with the settings and secrets of `channel`; says what happened.
    func send(_ message: GatewayMessage, channel: GatewayChannelSettings) async -> DeliveryReport
    /// Whether the channel is set up enough to send at all; when not, its messages are not
    /// claimed and stay `pending` until it is (default: always).
    func canSend(on channel: GatewayChannelSettings) -> Bool
}

extension OutboundAdapter {
    public func canSend(on channel: GatewayChannelSettings) -> Bool { true }
}
