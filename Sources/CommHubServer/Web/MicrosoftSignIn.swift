import AsyncHTTPClient
import CommHubDomain
import CommHubEngine
import Foundation
import Hummingbird
import HTTPTypes
import JWTKit
import Logging
import NIOCore
import Synchronization

/// "Sign in with Microsoft": the OpenID Connect authorization code flow
/// with PKCE against the configured Entra ID tenant.
///
/// `GET /auth/oidc/start` remembers a state, nonce and PKCE verifier, binds
/// them to the browser with a short `commhub_signin` cookie, and redirects
/// to the tenant's authorize endpoint. `GET /auth/oidc/callback` takes the
/// flow back (once), exchanges the code (with the verifier and the sealed
/// client secret) at the token endpoint, verifies the ID token's RS256
/// signature against the tenant's JWKS (jwt-kit) and its issuer, audience,
/// nonce and expiry, finds the internal person by e-mail, and starts a
/// session. Every failure ends on the app's sign-in page with a reason code
/// (`/#signin-error=...`); the details go to the log.
///
/// Matching by e-mail: the tenant is the company's own (single-tenant app),
/// so only its directory's accounts get a token; an address no internal
/// person has is refused.
final class MicrosoftSignIn: Sendable {
    let engine: Engine
    let secrets: SecretBox
    let options: WebAppOptions
    let signIn: WebSignIn
    let logger: Logger
    let pending: PendingSignIns
    /// Discovery documents and key sets by discovery URL.
    private let cache = Mutex<[String: Provider]>([:])
    /// A JWKS is fetched again for an unknown key id at most this often.
    static let jwksRefetchSeconds: Double = 60
    /// Largest answer read from Microsoft.
    static let maxAnswerBytes = 1 << 20
    static let callTimeout: TimeAmount = .seconds(10)

    struct Discovery: Decodable, Sendable {
        var issuer: String
        var authorizationEndpoint: String
        var tokenEndpoint: String
        var jwksUri: String
        enum CodingKeys: String, CodingKey {
            case issuer, authorizationEndpoint = "authorization_endpoint", tokenEndpoint = "token_endpoint", jwksUri = "jwks_uri"
        }
    }

    struct Provider: Sendable {
        var discovery: Discovery
        var keys: JWTKeyCollection
        var keyIDs: Set<String>
        var keysFetchedAt: ContinuousClock.Instant
    }

    init(engine: Engine, secrets: SecretBox, options: WebAppOptions, signIn: WebSignIn, logger: Logger) {
        self.engine = engine
        self.secrets = secrets
        self.options = options
        self.signIn = signIn
        self.logger = logger
        pending = PendingSignIns(maxPending: options.maxPendingMicrosoftSignIns, lifetimeSeconds: options.microsoftSignInSeconds)
    }

    func register(on auth: RouterGroup<APIContext>) {
        auth.get("oidc/start") { request, _ in try await self.start(request) }
        auth.get("oidc/callback") { request, _ in await self.callback(request) }
    }

    func settings() async -> MicrosoftSignInSettings? {
        await engine.supervisor.webAccess { $0.microsoft }.flatMap { $0.enabled ? $0 : nil }
    }

    static func discoveryURL(_ s: MicrosoftSignInSettings) -> String {
        let base = s.loginBaseURL.hasSuffix("/") ? String(s.loginBaseURL.dropLast()) : s.loginBaseURL
        return "\(base)/\(s.tenantID)/v2.0/.well-known/openid-configuration"
    }

    static func redirectURI(_ s: MicrosoftSignInSettings, request: Request, options: WebAppOptions) -> String {
        s.redirectURL ?? WebOrigin.base(request, options) + "/auth/oidc/callback"
    }

    // MARK: Start

    func start(_ request: Request) async throws -> Response {
        guard let s = await settings() else { return Self.failure("microsoft_not_configured") }
        let provider: Provider
        do {
            provider = try await self.provider(s, refreshKeys: false)
        } catch {
            logger.error("Microsoft sign-in: discovery failed", metadata: ["error": "\(error)"])
            return Self.failure("microsoft_unreachable")
        }
        let flow = pending.begin(redirectURI: Self.redirectURI(s, request: request, options: options), now: engine.clock.now())
        var url = URLComponents(string: provider.discovery.authorizationEndpoint)
        let existing = url?.queryItems ?? []
        url?.queryItems = existing + [
            URLQueryItem(name: "client_id", value: s.clientID), URLQueryItem(name: "response_type", value: "code"),
            URLQueryItem(name: "redirect_uri", value: flow.redirectURI), URLQueryItem(name: "response_mode", value: "query"),
            URLQueryItem(name: "scope", value: "openid profile email"), URLQueryItem(name: "state", value: flow.state),
            URLQueryItem(name: "nonce", value: flow.nonce), URLQueryItem(name: "code_challenge", value: PKCE.challenge(flow.verifier)),
            URLQueryItem(name: "code_challenge_method", value: "S256"),
        ]
        guard let target = url?.url?.absoluteString else { return Self.failure("microsoft_not_configured") }
        var response = Response(status: .found, headers: [.location: target, .cacheControl: "no-store"])
        response.headers.append(HTTPField(name: .setCookie, value: SessionCookies.set(
            SessionCookies.signIn, flow.state, maxAgeSeconds: Int(options.microsoftSignInSeconds),
            secure: WebOrigin.isHTTPS(request, options), sameSite: "Lax")))
        return response
    }

    // MARK: Callback

    func callback(_ request: Request) async -> Response {
        let secure = WebOrigin.isHTTPS(request, options)
        func fail(_ code: String, _ detail: String) async -> Response {
            logger.notice("Microsoft sign-in refused", metadata: ["signin.reason": "\(code)", "signin.detail": "\(detail)"])
            await signIn.auditSignIn("auth.sign_in_failed", contact: nil, method: .microsoft,
                                     detail: ["reason": .string(code)], requestID: nil)
            var r = Self.failure(code)
            r.headers.append(HTTPField(name: .setCookie, value: SessionCookies.clear(SessionCookies.signIn, secure: secure, sameSite: "Lax")))
            return r
        }
        let query = request.uri.queryParameters
        if let error = query.get("error") {
            return await fail("microsoft_refused", "\(error): \(query.get("error_description")?.prefix(300) ?? "")")
        }
        guard let state = query.get("state"), let code = query.get("code"), !code.isEmpty, code.count <= 4096 else {
            return await fail("signin_expired", "callback without state or code")
        }
        // The state must be the one this browser started with (its cookie), and still waiting.
        guard SessionCookies.value(SessionCookies.signIn, in: request.headers[.cookie]) == state,
              let flow = pending.take(state, now: engine.clock.now()) else {
            return await fail("signin_expired", "state unknown, used, expired or not this browser's")
        }
        guard let s = await settings() else { return await fail("microsoft_not_configured", "settings removed during sign-in") }
        do {
            let idToken = try await exchange(code: code, flow: flow, settings: s)
            let claims = try await verify(idToken, settings: s, nonce: flow.nonce)
            guard let email = claims.signInEmail, let contact = await engine.supervisor.contact(email: email) else {
                return await fail("no_such_person", "no internal person has the address \(claims.signInEmail ?? "(none in the token)")")
            }
            var response = try await signIn.startSession(contact, method: .microsoft, request: request, also: [], status: .ok)
            await signIn.auditSignIn("auth.sign_in", contact: contact.id, method: .microsoft, detail: [:], requestID: nil)
            // Back to the app: a redirect, keeping the session cookie set above.
            response.status = .found
            response.headers[.location] = "/"
            response.headers[.contentType] = nil
            response.body = .init()
            response.headers.append(HTTPField(name: .setCookie, value: SessionCookies.clear(SessionCookies.signIn, secure: secure, sameSite: "Lax")))
            return response
        } catch let p as IDTokenProblem {
            return await fail("token_invalid", p.description)
        } catch let e as MicrosoftCallError {
            return await fail(e.code, e.detail)
        } catch {
            return await fail("token_invalid", "\(error)")
        }
    }

    struct MicrosoftCallError: Error {
        let code: String
        let detail: String
    }

    /// Redeems the code at the token endpoint; the ID token.
    func exchange(code: String, flow: PendingSignIn, settings s: MicrosoftSignInSettings) async throws -> String {
        let provider = try await self.provider(s, refreshKeys: false)
        var secret: String?
        if let sealed = s.sealedClientSecret { secret = try secrets.open(sealed)["client_secret"] }
        var form = URLComponents()
        form.queryItems = [
            URLQueryItem(name: "client_id", value: s.clientID), URLQueryItem(name: "scope", value: "openid profile email"),
            URLQueryItem(name: "code", value: code), URLQueryItem(name: "redirect_uri", value: flow.redirectURI),
            URLQueryItem(name: "grant_type", value: "authorization_code"), URLQueryItem(name: "code_verifier", value: flow.verifier),
        ] + (secret.map { [URLQueryItem(name: "client_secret", value: $0)] } ?? [])
        // URLComponents leaves '+' alone; in a form body it would mean a space.
        let body = (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        var request = HTTPClientRequest(url: provider.discovery.tokenEndpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: body))
        let (status, answer) = try await call(request)
        guard status == 200 else {
            throw MicrosoftCallError(code: "token_exchange_failed", detail: "token endpoint answered \(status): \(answer.prefix(300))")
        }
        guard let json = try? JSONDecoder().decode([String: JSONValue].self, from: Data(answer.utf8)),
              let idToken = json["id_token"]?.stringValue else {
            throw MicrosoftCallError(code: "token_exchange_failed", detail: "the token answer holds no id_token")
        }
        return idToken
    }

    /// The ID token's signature (RS256, by its `kid` from the tenant's JWKS,
    /// fetched again once for an unknown key: Microsoft rolls keys) and claims.
    func verify(_ token: String, settings s: MicrosoftSignInSettings, nonce: String) async throws -> EntraIDToken {
        let kid = try IDTokenRules.keyID(of: token)
        var provider = try await self.provider(s, refreshKeys: false)
        if !provider.keyIDs.contains(kid), ContinuousClock.now - provider.keysFetchedAt > .seconds(Self.jwksRefetchSeconds) {
            provider = try await self.provider(s, refreshKeys: true)
        }
        guard provider.keyIDs.contains(kid) else { throw IDTokenProblem("key \(kid) is not in the tenant's key set") }
        let claims: EntraIDToken
        do {
            claims = try await provider.keys.verify(token, as: EntraIDToken.self)
        } catch {
            throw IDTokenProblem("the signature does not verify with the tenant's key \(kid): \(error)")
        }
        try IDTokenRules.check(claims, issuerTemplate: provider.discovery.issuer, tenant: s.tenantID, clientID: s.clientID,
                               nonce: nonce, now: engine.clock.now())
        return claims
    }

    /// The tenant's discovery document and keys, cached.
    func provider(_ s: MicrosoftSignInSettings, refreshKeys: Bool) async throws -> Provider {
        let url = Self.discoveryURL(s)
        if !refreshKeys, let p = cache.withLock({ $0[url] }) { return p }
        let discovery: Discovery
        if let p = cache.withLock({ $0[url] }) {
            discovery = p.discovery
        } else {
            let (status, text) = try await call(HTTPClientRequest(url: url))
            guard status == 200, let d = try? JSONDecoder().decode(Discovery.self, from: Data(text.utf8)) else {
                throw MicrosoftCallError(code: "microsoft_unreachable", detail: "discovery \(url) answered \(status)")
            }
            discovery = d
        }
        let (status, text) = try await call(HTTPClientRequest(url: discovery.jwksUri))
        guard status == 200, let jwks = try? JSONDecoder().decode(JWKS.self, from: Data(text.utf8)) else {
            throw MicrosoftCallError(code: "microsoft_unreachable", detail: "key set \(discovery.jwksUri) answered \(status)")
        }
        let keys = JWTKeyCollection()
        var ids = Set<String>()
        for key in jwks.keys where key.keyType == .rsa {
            guard let kid = key.keyIdentifier?.string else { continue }
            do {
                try await keys.add(jwk: key)
                ids.insert(kid)
            } catch {
                logger.notice("Microsoft sign-in: a key of the tenant's set is skipped", metadata: ["jwk.kid": "\(kid)", "error": "\(error)"])
            }
        }
        let p = Provider(discovery: discovery, keys: keys, keyIDs: ids, keysFetchedAt: .now)
        cache.withLock { $0[url] = p }
        return p
    }

    func call(_ request: HTTPClientRequest) async throws -> (Int, String) {
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: Self.callTimeout)
            let body = try await response.body.collect(upTo: Self.maxAnswerBytes)
            return (Int(response.status.code), String(buffer: body))
        } catch let e as MicrosoftCallError {
            throw e
        } catch {
            throw MicrosoftCallError(code: "microsoft_unreachable", detail: "\(request.url): \(error)")
        }
    }

    /// Back to the app's sign-in page with a reason code it explains.
    static func failure(_ code: String) -> Response {
        Response(status: .found, headers: [.location: "/#signin-error=\(code)", .cacheControl: "no-store"])
    }
}
