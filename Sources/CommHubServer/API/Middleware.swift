import CommHubDomain
import CommHubEngine
import CommHubGateway
import Crypto
import Foundation
import Hummingbird
import Logging
import Synchronization

/// Gives each request an id (the caller's `X-Request-ID` or a new one),
/// puts it in the log metadata and the response.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = APIContext
    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        var context = context
        let given = request.headers[.init("X-Request-ID")!].flatMap { $0.count <= 128 ? $0 : nil }
        context.requestID = given ?? UUID().uuidString.lowercased()
        context.logger[metadataKey: "request.id"] = .string(context.requestID)
        do {
            var response = try await next(request, context)
            response.headers[.init("X-Request-ID")!] = context.requestID
            return response
        } catch var e as APIError {
            e.headers[.init("X-Request-ID")!] = context.requestID
            throw e
        }
    }
}

/// Turns every error into the contract's error body: engine errors,
/// Hummingbird's own (404 route, 413) and anything unexpected (500, logged).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = APIContext
    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as APIError {
            throw e
        } catch let e as EngineError {
            throw APIError(e)
        } catch let e as WebhookError {
            throw e  // a provider webhook's own answer
        } catch let e as HTTPError {
            let code: String = switch e.status {
            case .notFound: "not_found"
            case .contentTooLarge: "too_large"
            case .methodNotAllowed: "method_not_allowed"
            default: "http_\(e.status.code)"
            }
            throw APIError(e.status, code, e.body ?? e.status.reasonPhrase)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            throw APIError(.internalServerError, "internal", "the request failed inside CommHub; see the server log for request \(context.requestID)")
        }
    }
}

/// Checks `Authorization: Bearer <token>` against the stored token hashes
/// (the engine's `AuthenticationIndex`: no hop onto the supervisor, so the
/// check never waits behind ingest). Gateway tokens may only call `/api/ingest`.
/// Without the header, the web app's session cookie is accepted instead
/// (`WebSessionAuth`), with a CSRF token on every change.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let tokens: AuthenticationIndex
    var clock: (any EngineClock)?

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            if let clock, let identity = try WebSessionAuth.identity(request, tokens: tokens, now: clock.now()) {
                var context = context
                context.identity = identity
                context.logger[metadataKey: "auth.session"] = .string(identity.token.id.description)
                return try await next(request, context)
            }
            throw APIError.unauthorized("missing 'Authorization: Bearer <token>' header")
        }
        guard header.hasPrefix("Bearer "), case let secret = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces),
              !secret.isEmpty else {
            throw APIError.unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        guard let (token, contact) = tokens.authenticate(secretHash: TokenSecret.hash(secret)) else {
            throw APIError.unauthorized("unknown or revoked token")
        }
        if token.kind == .gateway, !request.uri.path.hasPrefix("/api/ingest") {
            throw APIError.forbidden("gateway tokens may only push to /api/ingest")
        }
        if token.kind == .person, contact == nil {
            throw APIError.unauthorized("the token's person no longer exists")
        }
        var context = context
        context.identity = Identity(token: token, contact: contact)
        context.logger[metadataKey: "auth.token"] = .string(token.id.description)
        return try await next(request, context)
    }
}

/// Token secrets: random, shown once, stored as SHA-256.
public enum TokenSecret {
    public static func generate() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var g = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &g) }
        return "chub_" + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Token-bucket rate limits per token and per client address; over the
/// limit, 429 with `Retry-After`. Buckets idle for a minute are dropped.
final class RateLimiter: Sendable {
    struct Bucket { var tokens: Double; var at: ContinuousClock.Instant }
    let ratePerSecond: Double
    let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])
    private let lastSweep = Mutex(ContinuousClock.now)

    init(ratePerSecond: Double, burst: Double) {
        self.ratePerSecond = ratePerSecond
        self.burst = burst
    }

    /// nil when allowed, else the seconds to wait.
    func take(_ key: String, cost: Double = 1) -> Int? {
        let now = ContinuousClock.now
        sweep(now)
        return buckets.withLock { b in
            var bucket = b[key] ?? Bucket(tokens: burst, at: now)
            let elapsed = now - bucket.at
            let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + secs * ratePerSecond)
            bucket.at = now
            if bucket.tokens >= cost {
                bucket.tokens -= cost
                b[key] = bucket
                return nil
            }
            b[key] = bucket
            return max(1, Int(((cost - bucket.tokens) / ratePerSecond).rounded(.up)))
        }
    }

    private func sweep(_ now: ContinuousClock.Instant) {
        let due = lastSweep.withLock { last -> Bool in
            guard now - last > .seconds(60) else { return false }
            last = now
            return true
        }
        guard due else { return }
        buckets.withLock { b in b = b.filter { now - $0.value.at < .seconds(60) } }
    }
}

struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let perToken: RateLimiter
    let perAddress: RateLimiter

    /// Installed twice: before authentication it charges the client address,
    /// after it (identity known) the token.
    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        if let token = context.identity?.token.id {
            if let wait = perToken.take("token:\(token)") { throw tooMany(wait, "this token") }
        } else if let wait = perAddress.take("ip:" + context.remoteAddress) {
            throw tooMany(wait, "this address")
        }
        return try await next(request, context)
    }

    func tooMany(_ wait: Int, _ who: String) -> APIError {
        APIError(.tooManyRequests, "rate_limited", "too many requests from \(who); retry in \(wait) s",
                 headers: [.retryAfter: "\(wait)"])
    }
}
