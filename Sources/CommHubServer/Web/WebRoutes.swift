import CommHubDomain
import CommHubEngine
import CommHubWire
import Crypto
import Foundation
import Hummingbird
import HummingbirdBcrypt
import Logging
import NIOPosix

/// Everything the web app adds to the server: the page at `/` and its
/// files, sign-in under `/auth`, and the few `/api` routes the app needs that
/// API clients can use too (who am I, passwords and invites, Microsoft
/// sign-in settings, mentions, push subscriptions).
struct WebApp: Sendable {
    let api: CommHubAPI
    let options: WebAppOptions
    let assets: WebAssets
    let signIn: WebSignIn
    let microsoft: MicrosoftSignIn
    let pushKeys: PushKeys
    let push: PushNotifier

    init(api: CommHubAPI, options: WebAppOptions, logger: Logger, assets: WebAssets = .load()) {
        self.api = api
        self.options = options
        self.assets = assets
        signIn = WebSignIn(engine: api.engine, options: options, logger: logger)
        microsoft = MicrosoftSignIn(engine: api.engine, secrets: api.secrets, options: options, signIn: signIn, logger: logger)
        pushKeys = PushKeys(engine: api.engine, secrets: api.secrets)
        push = PushNotifier(engine: api.engine, secrets: api.secrets, options: options, logger: logger, keys: pushKeys)
    }

    /// `router`: the whole router (the page, its files); `auth`: `/auth`
    /// behind the address rate limit; `apiGroup`: `/api` behind authentication.
    func register(router: Router<APIContext>, auth: RouterGroup<APIContext>, apiGroup: RouterGroup<APIContext>) {
        router.add(middleware: WebAssetsMiddleware(assets: assets))
        router.get("/") { request, _ in
            guard let page = assets.files["/index.html"] else {
                throw APIError(.internalServerError, "no_web_app",
                               "the web app's files are missing from this installation (the CommHub_CommHubServer resource bundle belongs next to the binary)")
            }
            return assets.response(page, request: request)
        }
        signIn.register(on: auth)
        microsoft.register(on: auth)
        auth.get("providers") { _, _ in
            let ms = await microsoft.settings()
            return try JSONResponse.make(JSONValue.object(["password": .bool(true), "microsoft": .bool(ms != nil)]))
        }
        registerAccount(apiGroup)
        registerPush(apiGroup)
        api.registerMentions(apiGroup)
        api.registerContext(apiGroup)
    }

    var engine: Engine { api.engine }
    var supervisor: Supervisor { api.engine.supervisor }

    // MARK: People: who am I, passwords, invites, Microsoft sign-in

    struct PasswordRequest: Decodable {
        var password: String
        var currentPassword: String?
    }

    struct MicrosoftSettingsRequest: Decodable {
        var tenantID: String?
        var clientID: String?
        var clientSecret: String?
        // Spelled `Url`: the contract decoder maps `login_base_url` to `loginBaseUrl` (only `_id` becomes `ID`).
        var loginBaseUrl: String?
        var redirectUrl: String?
        var enabled: Bool?
    }

    /// `PUT /api/contacts/{id}/password`. Not optimised: swiftc 6.3.1 -O
    /// crashed on this handler (an ownership verifier error in
    /// CopyPropagation on the borrowed caller identity), and a password
    /// change is dominated by bcrypt anyway.
    @_optimize(none)
    func changePassword(_ request: Request, _ context: APIContext) async throws -> Response {
        let caller = try context.caller()
        let callerID = caller.contactID
        let mayConfigure = caller.role.map { AccessPolicy.allows($0, .writeConfiguration) } ?? false
        let id = try context.id("id", ContactKind.self)
        guard let c = await supervisor.contact(id) else { throw APIError.notFound("no contact with id \(id)") }
        let body = try await request.decodeJSON(PasswordRequest.self, context: context)
        if callerID != id {
            _ = try api.require(.writeConfiguration, context)
        } else if !mayConfigure {
            let stored = await supervisor.webAccess { $0.passwords[id]?.bcryptHash }
            let matches: Bool
            if let stored, let current = body.currentPassword { matches = await verify(current, stored) } else { matches = false }
            guard matches else {
                throw APIError(.forbidden, "wrong_password", "to change your own password, send current_password as well")
            }
        }
        let record = try await signIn.hashPassword(body.password)
        // Every session of the person ends: a new password locks out whoever knew the old one.
        try await signIn.commit([.passwordSet(contact: id, record: record), .sessionsEnded(contact: id, at: engine.clock.now())])
        try await api.audit(context, "contact.password", "contact", id.description, before: CommHubAPI.none,
                            after: JSONValue.object(["password_set_at": .string(record.setAt.iso8601)]))
        return try JSONResponse.make(JSONValue.object(["contact_id": .string(c.id.description), "password_set_at": .string(record.setAt.iso8601)]))
    }

    func registerAccount(_ group: RouterGroup<APIContext>) {
        group.get("me") { _, context in
            let who = try context.caller()
            guard let me = who.contact else { throw APIError.badRequest("this token is not a person's") }
            let unseen = await supervisor.webAccess { $0.mentions[me.id]?.count ?? 0 }
            var o = try View.json(me).objectValue ?? [:]
            o["mention_handle"] = .string(MentionParser.handle(for: me))
            o["unseen_mentions"] = .number(Double(unseen))
            o["signed_in_with"] = .string(who.token.label.hasPrefix("web session") ? "session" : "token")
            return try JSONResponse.make(JSONValue.object(o))
        }
        // An admin sets anyone's password; a person changes their own with the current one.
        group.put("contacts/:id/password") { request, context in try await changePassword(request, context) }
        group.post("contacts/:id/invite") { request, context in
            let who = try api.require(.writeConfiguration, context)
            let id = try context.id("id", ContactKind.self)
            guard let c = await supervisor.contact(id) else { throw APIError.notFound("no contact with id \(id)") }
            guard c.email?.contains("@") == true else {
                throw APIError(.unprocessableContent, "invalid", "\(c.name) has no e-mail address to sign in with; set one first")
            }
            let secret = "inv_" + Base64URL.random(bytes: 24)
            let now = engine.clock.now()
            let invite = WebInvite(secretHash: TokenSecret.hash(secret), contactID: id, createdBy: who.contactID, createdAt: now,
                                   expiresAt: now.addingTimeInterval(options.inviteLifetimeSeconds))
            try await signIn.commit([.inviteIssued(invite)])
            try await api.audit(context, "contact.invite", "contact", id.description, before: CommHubAPI.none,
                                after: JSONValue.object(["expires_at": .string(invite.expiresAt.iso8601)]))
            // The secret travels in the fragment: it never reaches a server log or a Referer.
            let url = WebOrigin.base(request, options) + "/#invite=" + secret
            return try JSONResponse.make(JSONValue.object(["contact_id": .string(id.description), "invite_url": .string(url),
                                                           "expires_at": .string(invite.expiresAt.iso8601)]), status: .created)
        }
        group.get("sign-in/microsoft") { _, context in
            _ = try api.require(.readChannelConfiguration, context)
            return try JSONResponse.make(await microsoftView())
        }
        group.put("sign-in/microsoft") { request, context in
            _ = try api.require(.writeConfiguration, context)
            let body = try await request.decodeJSON(MicrosoftSettingsRequest.self, context: context)
            let before = await microsoftView()
            let current = await supervisor.webAccess { $0.microsoft }
            let settings = try microsoftSettings(body, current: current)
            try await signIn.commit([.microsoftSignInChanged(settings)])
            let after = await microsoftView()
            try await api.audit(context, "sign_in.microsoft", "sign_in", "microsoft", before: before, after: after)
            return try JSONResponse.make(after)
        }
    }

    func verify(_ password: String, _ hash: String) async -> Bool {
        (try? await NIOThreadPoolBcrypt.verify(password, hash)) ?? false
    }

    /// The settings as the API shows them: never the secret, only whether it is set.
    func microsoftView() async -> JSONValue {
        guard let s = await supervisor.webAccess({ $0.microsoft }) else {
            return .object(["configured": .bool(false), "enabled": .bool(false)])
        }
        return .object(["configured": .bool(true), "enabled": .bool(s.enabled), "tenant_id": .string(s.tenantID),
                        "client_id": .string(s.clientID), "client_secret_set": .bool(s.sealedClientSecret != nil),
                        "login_base_url": .string(s.loginBaseURL), "redirect_url": s.redirectURL.map(JSONValue.string) ?? .null])
    }

    static let tenantCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: ".-"))

    func microsoftSettings(_ b: MicrosoftSettingsRequest, current: MicrosoftSignInSettings?) throws -> MicrosoftSignInSettings {
        let tenant = b.tenantID ?? current?.tenantID ?? ""
        let client = b.clientID ?? current?.clientID ?? ""
        guard !tenant.isEmpty, tenant.count <= 100, tenant.unicodeScalars.allSatisfy(Self.tenantCharacters.contains) else {
            throw APIError(.unprocessableContent, "invalid", "tenant_id must be the tenant's GUID or domain (letters, digits, dots, dashes; at most 100)")
        }
        guard !client.isEmpty, client.count <= 100, client.unicodeScalars.allSatisfy(Self.tenantCharacters.contains) else {
            throw APIError(.unprocessableContent, "invalid", "client_id must be the app registration's application (client) id")
        }
        let base = b.loginBaseUrl ?? current?.loginBaseURL ?? "https://login.microsoftonline.com"
        guard Self.isAllowedBaseURL(base) else {
            throw APIError(.unprocessableContent, "invalid", "login_base_url must be an https URL (http only for 127.0.0.1 or localhost)")
        }
        var sealed = current?.sealedClientSecret
        if let secret = b.clientSecret {
            guard !secret.isEmpty, secret.count <= 1_000 else {
                throw APIError(.unprocessableContent, "invalid", "client_secret must be 1 to 1000 characters")
            }
            sealed = try api.secrets.seal(["client_secret": secret])
        }
        let redirect = b.redirectUrl ?? current?.redirectURL
        if let redirect, !(redirect.hasPrefix("https://") || Self.isAllowedBaseURL(redirect)) || redirect.count > 500 {
            throw APIError(.unprocessableContent, "invalid", "redirect_url must be this app's https URL ending in /auth/oidc/callback")
        }
        return MicrosoftSignInSettings(tenantID: tenant, clientID: client, sealedClientSecret: sealed, loginBaseURL: base,
                                       redirectURL: redirect, enabled: b.enabled ?? current?.enabled ?? true)
    }

    static func isAllowedBaseURL(_ s: String) -> Bool {
        guard let u = URL(string: s), let host = u.host, s.count <= 300 else { return false }
        if u.scheme == "https" { return true }
        return u.scheme == "http" && (host == "127.0.0.1" || host == "localhost" || host == "::1")
    }

    // MARK: Push

    struct PushSubscriptionRequest: Decodable {
        struct Keys: Decodable {
            var p256dh: String
            var auth: String
        }
        var endpoint: String
        var keys: Keys
        var expirationTime: Double?
    }

    func registerPush(_ group: RouterGroup<APIContext>) {
        group.get("push/key") { _, context in
            _ = try api.require(.readThreads, context)
            let key = try await pushKeys.key()
            return try JSONResponse.make(JSONValue.object(["public_key": .string(key.publicKey)]))
        }
        group.post("push/subscriptions") { request, context in
            let who = try api.require(.readThreads, context)
            guard let me = who.contactID else { throw APIError.badRequest("push subscriptions belong to people") }
            let body = try await request.decodeJSON(PushSubscriptionRequest.self, context: context)
            try checkEndpoint(body.endpoint)
            guard let ua = Base64URL.decode(body.keys.p256dh), ua.count == 65, ua.first == 4,
                  (try? P256.KeyAgreement.PublicKey(x963Representation: ua)) != nil else {
                throw APIError(.unprocessableContent, "invalid", "keys.p256dh must be the browser's P-256 key (65 bytes, base64url)")
            }
            guard let auth = Base64URL.decode(body.keys.auth), auth.count == 16 else {
                throw APIError(.unprocessableContent, "invalid", "keys.auth must be 16 bytes, base64url")
            }
            let record = PushSubscriptionRecord(endpoint: body.endpoint, p256dh: body.keys.p256dh, auth: body.keys.auth,
                                                contactID: me, createdAt: engine.clock.now())
            try await signIn.commit([.pushSubscribed(record)])
            return try JSONResponse.make(JSONValue.object(["endpoint": .string(record.endpoint), "contact_id": .string(me.description)]),
                                         status: .created)
        }
        group.delete("push/subscriptions") { request, context in
            let who = try api.require(.readThreads, context)
            guard let endpoint = request.query("endpoint"), !endpoint.isEmpty else {
                throw APIError.badRequest("name the subscription: ?endpoint=<its URL>")
            }
            let owner = await supervisor.webAccess { $0.push[endpoint]?.contactID }
            guard let owner, owner == who.contactID else { throw APIError.notFound("you have no push subscription with that endpoint") }
            try await signIn.commit([.pushUnsubscribed(endpoint: endpoint)])
            return Response(status: .noContent)
        }
        // "Send me a test": the app's button after enabling push.
        group.post("push/test") { _, context in
            let who = try api.require(.readThreads, context)
            guard let me = who.contactID else { throw APIError.badRequest("push subscriptions belong to people") }
            let note = PushNote(title: "CommHub", body: "Push notifications work on this device.", url: "/", tag: "test", urgent: false)
            let r = await push.send(note, to: me)
            return try JSONResponse.make(JSONValue.object(["sent": .number(Double(r.sent)), "failed": .number(Double(r.failed))]))
        }
    }

    /// A push endpoint is an https URL of a push service. Plain http only to
    /// loopback, and only when allowed (tests with a local push stand-in):
    /// otherwise any signed-in person could make CommHub post to local services.
    func checkEndpoint(_ endpoint: String) throws {
        guard endpoint.count <= 2_048, let u = URL(string: endpoint), let host = u.host, !host.isEmpty else {
            throw APIError(.unprocessableContent, "invalid", "endpoint must be the push service's URL (at most 2048 characters)")
        }
        if u.scheme == "https" { return }
        if u.scheme == "http", options.allowLoopbackPushEndpoints, host == "127.0.0.1" || host == "localhost" { return }
        throw APIError(.unprocessableContent, "invalid", "endpoint must be an https URL of a push service")
    }
}

/// bcrypt off the request's executor.
enum NIOThreadPoolBcrypt {
    static func verify(_ password: String, _ hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { password.utf8.count <= 1_024 && Bcrypt.verify(password, hash: hash) }
    }
}
