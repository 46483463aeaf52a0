import CommHubDomain
import CommHubEngine
import CommHubWire
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdBcrypt
import Logging
import NIOPosix

/// Browser sign-in: e-mail and password (bcrypt), one-time invite links,
/// sessions in the journal (the cookie holds a random secret, the journal
/// its SHA-256), sign-out. Routes under `/auth`, outside `/api`: they work
/// without a bearer token, behind the per-address rate limit.
struct WebSignIn: Sendable {
    let engine: Engine
    let options: WebAppOptions
    let limiter: SignInLimiter
    let logger: Logger
    /// A bcrypt hash of nothing anyone knows, checked when the account does
    /// not exist or has no password, so a wrong address costs as long as a
    /// wrong password and answers the same (no account discovery by timing).
    let decoyHash: String

    init(engine: Engine, options: WebAppOptions, logger: Logger) {
        self.engine = engine
        self.options = options
        self.logger = logger
        limiter = SignInLimiter(maxPerAccount: options.maxFailedSignInsPerAccount, maxPerAddress: options.maxFailedSignInsPerAddress,
                                windowSeconds: options.signInWindowSeconds)
        decoyHash = Bcrypt.hash(Base64URL.random(bytes: 16), cost: options.passwordHashCost)
    }

    var supervisor: Supervisor { engine.supervisor }

    func register(on auth: RouterGroup<APIContext>) {
        auth.post("login") { request, context in try await login(request, context) }
        auth.post("logout") { request, context in try await logout(request, context) }
        auth.get("session") { request, context in try await currentSession(request, context) }
        auth.post("invite/check") { request, context in try await checkInvite(request, context) }
        auth.post("invite/accept") { request, context in try await acceptInvite(request, context) }
    }

    // MARK: Password sign-in

    struct LoginRequest: Decodable {
        var email: String
        var password: String
    }

    func login(_ request: Request, _ context: APIContext) async throws -> Response {
        try Self.checkSameOrigin(request)
        let body = try await request.decodeJSON(LoginRequest.self, context: context)
        let now = engine.clock.now()
        if let refused = limiter.refusal(account: body.email, address: context.remoteAddress, now: now) {
            let minutes = max(1, (refused.seconds + 59) / 60)
            let who = refused.perAccount
                ? "\(options.maxFailedSignInsPerAccount) failed sign-ins for this account"
                : "\(options.maxFailedSignInsPerAddress) failed sign-ins from this address"
            throw APIError(.tooManyRequests, "too_many_failed_sign_ins",
                           "\(who) within \(Int(options.signInWindowSeconds / 60)) minutes: try again in \(minutes) minute\(minutes == 1 ? "" : "s"), or ask an admin for an invite link",
                           headers: [.retryAfter: "\(refused.seconds)"])
        }
        let contact = await supervisor.contact(email: body.email)
        let stored = await contact.asyncMap { c in await supervisor.webAccess { $0.passwords[c.id]?.bcryptHash } } ?? nil
        let password = body.password
        let hash = stored ?? decoyHash
        let matches = try await NIOThreadPool.singleton.runIfActive {
            password.utf8.count <= 1_024 && Bcrypt.verify(password, hash: hash)
        }
        guard matches, stored != nil, let contact else {
            limiter.recordFailure(account: body.email, address: context.remoteAddress, now: now)
            logger.notice("sign-in refused", metadata: ["signin.address": "\(context.remoteAddress)",
                                                        "signin.known_account": "\(contact != nil)"])
            await auditSignIn("auth.sign_in_failed", contact: contact?.id, method: .password,
                              detail: ["reason": .string("invalid_credentials"), "address": .string("\(context.remoteAddress)")],
                              requestID: context.requestID)
            throw APIError(.unauthorized, "invalid_credentials", "the e-mail address or the password is wrong")
        }
        limiter.recordSuccess(account: body.email)
        let response = try await startSession(contact, method: .password, request: request, also: [], status: .ok)
        await auditSignIn("auth.sign_in", contact: contact.id, method: .password,
                          detail: ["address": .string("\(context.remoteAddress)")], requestID: context.requestID)
        return response
    }

    /// Journals a new session (with `also` in the same commit) and answers
    /// with its cookie and the session JSON.
    func startSession(_ contact: Contact, method: SignInMethod, request: Request, also: [WebAccessEvent],
                      status: HTTPResponse.Status) async throws -> Response {
        let (secret, session) = newSession(contact, method: method, request: request)
        try await commit(also + [.sessionStarted(session)])
        logger.info("signed in", metadata: ["contact.id": "\(contact.id)", "signin.method": "\(method.rawValue)"])
        var response = try JSONResponse.make(Self.sessionJSON(session, contact: contact, secret: secret, now: engine.clock.now()),
                                             status: status)
        response.headers.append(HTTPField(name: .setCookie, value: sessionCookie(secret, request: request)))
        return response
    }

    func newSession(_ contact: Contact, method: SignInMethod, request: Request) -> (String, WebSession) {
        let secret = "chs_" + Base64URL.random(bytes: 32)
        let now = engine.clock.now()
        let agent = request.headers[.userAgent].map { String($0.prefix(200)) }
        return (secret, WebSession(secretHash: TokenSecret.hash(secret), contactID: contact.id, method: method, createdAt: now,
                                   expiresAt: now.addingTimeInterval(options.sessionLifetimeSeconds), userAgent: agent))
    }

    func sessionCookie(_ secret: String, request: Request) -> String {
        SessionCookies.set(SessionCookies.session, secret, maxAgeSeconds: Int(options.sessionLifetimeSeconds),
                           secure: WebOrigin.isHTTPS(request, options), sameSite: "Strict")
    }

    /// `server_time` is the engine's clock (simulated in demos and tests): the app's countdowns run on it.
    static func sessionJSON(_ s: WebSession, contact: Contact, secret: String, now: Date) throws -> JSONValue {
        .object(["contact": try View.json(contact), "csrf_token": .string(CSRFToken.make(sessionSecret: secret)),
                 "expires_at": .string(s.expiresAt.iso8601), "method": .string(s.method.rawValue),
                 "server_time": .string(now.iso8601)])
    }

    /// Records a sign-in, a failed sign-in or a sign-out in the audit trail
    /// (entity `contact`; `unknown` when the address matched nobody — the
    /// address typed is not kept: it may be a password typed in the wrong
    /// field). A trail that cannot be written is logged, never a reason to
    /// refuse or grant the sign-in.
    func auditSignIn(_ action: String, contact: ContactID?, method: SignInMethod, detail: [String: JSONValue],
                     requestID: String?) async {
        var after = detail
        after["method"] = .string(method.rawValue)
        let entry = AuditEntry(at: engine.clock.now(), actorContactID: contact, actorTokenID: nil, action: action,
                               entity: "contact", entityID: contact?.description ?? "unknown", after: .object(after),
                               requestID: requestID, scope: .system, via: "web")
        do {
            let seq = try await supervisor.audit(entry)
            try await engine.durable(seq, timeout: CommHubAPI.durableWait)
        } catch {
            logger.warning("sign-in audit not written", metadata: ["audit.action": "\(action)", "error": "\(ErrorText.describe(error))"])
        }
    }

    func commit(_ events: [WebAccessEvent]) async throws {
        let seq = try await mapped { try await supervisor.recordWebAccess(events) }
        do {
            try await engine.durable(seq, timeout: CommHubAPI.durableWait)
        } catch {
            throw APIError(.serviceUnavailable, "not_stored", "the sign-in could not be stored (see /healthz); try again shortly")
        }
    }

    // MARK: Session, sign-out

    func currentSession(_ request: Request, _ context: APIContext) async throws -> Response {
        guard let secret = SessionCookies.value(SessionCookies.session, in: request.headers[.cookie]),
              let (session, contact) = engine.authentication.authenticate(sessionSecretHash: TokenSecret.hash(secret),
                                                                            at: engine.clock.now()) else {
            throw APIError(.unauthorized, "signed_out", "not signed in: sign in with your e-mail address and password, or with Microsoft")
        }
        return try JSONResponse.make(Self.sessionJSON(session, contact: contact, secret: secret, now: engine.clock.now()))
    }

    func logout(_ request: Request, _ context: APIContext) async throws -> Response {
        let secure = WebOrigin.isHTTPS(request, options)
        if let secret = SessionCookies.value(SessionCookies.session, in: request.headers[.cookie]),
           engine.authentication.authenticate(sessionSecretHash: TokenSecret.hash(secret), at: engine.clock.now()) != nil {
            // Signing out is a change made with the cookie: it needs the page's CSRF token like every other.
            guard CSRFToken.matches(request.headers[HTTPField.Name(CSRFToken.header)!], sessionSecret: secret) else {
                throw APIError(.forbidden, "csrf", "sign-out needs the page's X-CSRF-Token header; reload the page and sign out again")
            }
            let ended = engine.authentication.authenticate(sessionSecretHash: TokenSecret.hash(secret), at: engine.clock.now())
            try await commit([.sessionEnded(secretHash: TokenSecret.hash(secret), at: engine.clock.now())])
            await auditSignIn("auth.sign_out", contact: ended?.1.id, method: ended?.0.method ?? .password, detail: [:], requestID: context.requestID)
        }
        var response = try JSONResponse.make(JSONValue.object(["signed_out": .bool(true)]))
        response.headers.append(HTTPField(name: .setCookie, value: SessionCookies.clear(SessionCookies.session, secure: secure, sameSite: "Strict")))
        return response
    }

    // MARK: Invites

    struct InviteRequest: Decodable {
        var token: String
        var password: String?
    }

    func openInvite(_ token: String) async -> WebInvite? {
        let hash = TokenSecret.hash(token)
        let now = engine.clock.now()
        return await supervisor.webAccess { $0.invites[hash] }.flatMap { $0.expiresAt > now ? $0 : nil }
    }

    func checkInvite(_ request: Request, _ context: APIContext) async throws -> Response {
        let body = try await request.decodeJSON(InviteRequest.self, context: context)
        guard let invite = await openInvite(body.token), let c = await supervisor.contact(invite.contactID) else {
            throw Self.unknownInvite
        }
        return try JSONResponse.make(JSONValue.object(["name": .string(c.name), "email": c.email.map(JSONValue.string) ?? .null,
                                                       "expires_at": .string(invite.expiresAt.iso8601)]))
    }

    static let unknownInvite = APIError(.notFound, "unknown_invite",
                                        "this invite link is unknown, already used or expired: ask an admin for a new one")

    func acceptInvite(_ request: Request, _ context: APIContext) async throws -> Response {
        try Self.checkSameOrigin(request)
        let body = try await request.decodeJSON(InviteRequest.self, context: context)
        guard let invite = await openInvite(body.token), let c = await supervisor.contact(invite.contactID) else {
            throw Self.unknownInvite
        }
        let record = try await hashPassword(body.password)
        // One commit: the password, the invite used, the person's old sessions ended, the new session.
        return try await startSession(c, method: .password, request: request,
                                      also: [.passwordSet(contact: c.id, record: record), .inviteEnded(secretHash: invite.secretHash),
                                             .sessionsEnded(contact: c.id, at: engine.clock.now())],
                                      status: .ok)
    }

    /// Checks the password rules and hashes it (on the thread pool: bcrypt is slow on purpose).
    func hashPassword(_ password: String?) async throws -> PasswordRecord {
        guard let password, password.count >= options.minPasswordCharacters else {
            throw APIError(.unprocessableContent, "weak_password",
                           "the password must be at least \(options.minPasswordCharacters) characters long")
        }
        guard password.utf8.count <= options.maxPasswordBytes else {
            throw APIError(.unprocessableContent, "weak_password",
                           "the password must be at most \(options.maxPasswordBytes) bytes (bcrypt reads no more); a long passphrase fits easily")
        }
        let cost = options.passwordHashCost
        let hash = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
        return PasswordRecord(bcryptHash: hash, setAt: engine.clock.now())
    }

    /// Sign-in requests from a page of another origin are refused (login
    /// CSRF). Browsers send `Origin` on every POST; API clients without it pass.
    static func checkSameOrigin(_ request: Request) throws {
        guard let origin = request.headers[.origin] else { return }
        guard WebOrigin.sameHost(origin: origin, request: request) else {
            throw APIError(.forbidden, "cross_origin", "sign-in requests must come from CommHub's own page")
        }
    }
}

/// Where the app is reached: https or not, and its origin, from the public
/// URL when one is configured, else from the request.
enum WebOrigin {
    static func isHTTPS(_ request: Request, _ options: WebAppOptions) -> Bool {
        options.publicURLIsHTTPS || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    /// `scheme://host[:port]` of the app.
    static func base(_ request: Request, _ options: WebAppOptions) -> String {
        if let u = options.publicURL { return u.hasSuffix("/") ? String(u.dropLast()) : u }
        let host = request.head.authority ?? request.headers[HTTPField.Name("Host")!] ?? "127.0.0.1"
        return (isHTTPS(request, options) ? "https://" : "http://") + host
    }

    /// Whether an `Origin` header names the host the request was sent to.
    static func sameHost(origin: String, request: Request) -> Bool {
        guard let host = URL(string: origin)?.host else { return false }
        let port = URL(string: origin)?.port
        let authority = request.head.authority ?? request.headers[HTTPField.Name("Host")!] ?? ""
        let expected = port.map { "\(host):\($0)" } ?? host
        return authority.lowercased() == expected.lowercased()
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
