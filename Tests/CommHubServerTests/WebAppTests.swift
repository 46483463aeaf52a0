import CommHubDomain
import CommHubEngine
@testable import CommHubServer
import CommHubStandIns
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import NIOCore
import Testing

/// A browser as the server sees it: the session cookie it holds and the CSRF token the page read.
struct Browser: Sendable {
    var cookie: String?
    var csrf: String?
    var origin: String?

    var headers: HTTPFields {
        var h = HTTPFields()
        if let cookie { h[.cookie] = "\(SessionCookies.session)=\(cookie)" }
        if let csrf { h[HTTPField.Name("X-CSRF-Token")!] = csrf }
        if let origin { h[.origin] = origin }
        return h
    }

    /// Signs in with a password; the browser with its cookie and token.
    static func signIn(_ http: HTTP, email: String, password: String, extra: HTTPFields = [:]) async throws -> (Browser, Reply) {
        let r = try await http.call(.post, "/auth/login", body: .json(#"{"email":\#(q(email)),"password":\#(q(password))}"#), headers: extra)
        return (Browser(cookie: sessionCookie(r), csrf: r.json["csrf_token"]?.string), r)
    }

    func call(_ http: HTTP, _ method: HTTPRequest.Method, _ path: String, _ json: String? = nil) async throws -> Reply {
        try await http.call(method, path, body: json.map(Body.json) ?? .none, headers: headers)
    }
}

/// The session secret a `Set-Cookie` answer gives, or nil.
func sessionCookie(_ r: Reply) -> String? {
    r.headers[values: .setCookie].compactMap { SessionCookies.value(SessionCookies.session, in: $0.components(separatedBy: ";").first) }.first
}

extension Harness {
    /// Sets a person's password through the API (as an admin does).
    static func setPassword(_ http: HTTP, contact: String, _ password: String) async throws {
        try ok(try await http.put("/api/contacts/\(contact)/password", adminToken, #"{"password":\#(q(password))}"#))
    }
}

@Suite("Web app: pages, sign-in, sessions, CSRF") struct WebSignInTests {
    static let password = "correct horse battery"

    @Test func thePageAndItsFilesAreServedWithAStrictPolicy() async throws {
        try await Harness.run { live in
            let page = try await live.http.get("/", nil)
            #expect(page.status == 200)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let csp = try #require(page.headers[HTTPField.Name("Content-Security-Policy")!])
            for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
                #expect(csp.contains(directive), "\(csp)")
            }
            #expect(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains("http"))
            #expect(page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(page.text.contains(#"<script type="module" src="/assets/js/app.js">"#))
            // No script, style or font from anywhere else, and no inline script.
            #expect(!page.text.contains("http://") && !page.text.contains("https://") && !page.text.contains("<script>"))

            let js = try await live.http.get("/assets/js/app.js", nil)
            #expect(js.status == 200 && js.headers[.contentType] == "text/javascript; charset=utf-8")
            let etag = try #require(js.headers[.eTag])
            let again = try await live.http.call(.get, "/assets/js/app.js", headers: [.ifNoneMatch: etag])
            #expect(again.status == 304 && again.text.isEmpty)
            let worker = try await live.http.get("/sw.js", nil)
            #expect(worker.status == 200 && worker.headers[HTTPField.Name("Service-Worker-Allowed")!] == "/")
            #expect(try await live.http.get("/assets/nothing.js", nil).status == 404)
            #expect(try await live.http.get("/assets/../Package.swift", nil).status == 404)
            // Every module the page imports is there (no build step: what is in the folder is served).
            let assets = WebAssets.load()
            for (path, file) in assets.files where path.hasSuffix(".js") {
                let text = String(buffer: file.bytes)
                for match in text.matches(of: /from '\.\/([a-z]+\.js)'/) {
                    #expect(assets.files["/assets/js/\(match.1)"] != nil, "\(path) imports \(match.1), which is missing")
                }
                #expect(!text.contains("innerHTML") && !text.contains("eval("), "\(path) builds DOM from strings")
            }
        }
    }

    @Test func passwordSignInGivesAnHttpOnlyStrictCookieThatWorksLikeAToken() async throws {
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            try await Harness.setPassword(live.http, contact: w.agentA, Self.password)
            let (wrong, wrongReply) = try await Browser.signIn(live.http, email: "anna.agent@chargecars.nl", password: "not it at all")
            #expect(wrongReply.status == 401 && wrongReply.errorCode == "invalid_credentials" && wrong.cookie == nil)
            let unknown = try await Browser.signIn(live.http, email: "nobody@chargecars.nl", password: Self.password).1
            #expect(unknown.status == 401 && unknown.errorMessage == wrongReply.errorMessage, "no difference tells whether an account exists")

            let (browser, r) = try await Browser.signIn(live.http, email: "Anna.Agent@chargecars.nl ", password: Self.password)
            #expect(r.status == 200, "\(r)")
            #expect(r.json["contact"]?["id"]?.string == w.agentA && r.json["method"]?.string == "password")
            let cookie = try #require(r.headers[values: .setCookie].first { $0.hasPrefix(SessionCookies.session + "=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"))
            #expect(!cookie.contains("Secure"), "plain http on loopback: no Secure flag")
            // The journal keeps only the hash of the secret.
            let stored = await live.engine.supervisor.webAccess { Array($0.sessions.keys) }
            #expect(stored == [TokenSecret.hash(try #require(browser.cookie))])

            // The cookie reads like the agent's token: the same threads.
            let viaCookie = try await browser.call(live.http, .get, "/api/communication/threads")
            let viaToken = try await live.http.get("/api/communication/threads", w.token(.agent))
            #expect(viaCookie.status == 200 && viaCookie.ids == viaToken.ids && viaCookie.ids.contains(w.threadA) && !viaCookie.ids.contains(w.threadB))
            let me = try await browser.call(live.http, .get, "/api/me")
            #expect(me.json["id"]?.string == w.agentA && me.json["mention_handle"]?.string == "anna.agent")

            // A change with the cookie needs the page's CSRF token; the same change with a bearer token does not.
            var noToken = browser
            noToken.csrf = nil
            let refused = try await noToken.call(live.http, .put, "/api/communication/threads/\(w.threadA)", #"{"priority":"high"}"#)
            #expect(refused.status == 403 && refused.errorCode == "csrf", "\(refused)")
            var forged = browser
            forged.csrf = CSRFToken.make(sessionSecret: "chs_someone-else")
            #expect(try await forged.call(live.http, .put, "/api/communication/threads/\(w.threadA)", #"{"priority":"high"}"#).status == 403)
            let before = await live.engine.supervisor.thread(ThreadID(w.threadA)!)!.header.priority
            #expect(before == .normal, "a refused change changed nothing")
            let accepted = try await browser.call(live.http, .put, "/api/communication/threads/\(w.threadA)", #"{"priority":"high"}"#)
            #expect(accepted.status == 200 && accepted.json["priority"]?.string == "high", "\(accepted)")
            #expect(try await live.http.put("/api/communication/threads/\(w.threadA)", w.token(.agent), #"{"priority":"low"}"#).status == 200)
            // Audited as the person, under the session's id.
            let audit = try await live.http.get("/api/audit?entity=thread&entity_id=\(w.threadA)", Harness.adminToken)
            #expect(audit.items.contains { $0["actor_contact_id"]?.string == w.agentA && $0["after"]?["priority"]?.string == "high" })

            // Another site's page cannot ride on the cookie, even with the token.
            var other = browser
            other.origin = "https://evil.example"
            #expect(try await other.call(live.http, .get, "/api/communication/threads").status == 403)

            // Signing out ends the session on the server: the same cookie no longer works.
            let out = try await browser.call(live.http, .post, "/auth/logout")
            #expect(out.status == 200 && out.headers[values: .setCookie].contains { $0.contains("Max-Age=0") })
            let after = try await browser.call(live.http, .get, "/api/communication/threads")
            #expect(after.status == 401, "\(after)")
            #expect(try await browser.call(live.http, .get, "/auth/session").status == 401)

            // Every sign-in, failed sign-in and sign-out is in the audit trail; the address typed for nobody is not.
            let trail = try await live.http.get("/api/audit?entity=contact&limit=500", Harness.adminToken).items
                .filter { ($0["action"]?.string ?? "").hasPrefix("auth.") }
            #expect(trail.map { $0["action"]?.string ?? "" } == ["auth.sign_in_failed", "auth.sign_in_failed", "auth.sign_in", "auth.sign_out"])
            #expect(trail.map { $0["entity_id"]?.string ?? "" } == [w.agentA, "unknown", w.agentA, w.agentA])
            #expect(trail[0]["after"]?["reason"]?.string == "invalid_credentials" && trail[2]["after"]?["method"]?.string == "password")
            #expect(!trail.contains { "\($0)".contains("nobody@chargecars.nl") })
        }
    }

    @Test func sessionsSurviveARestartAndExpire() async throws {
        let root = try Harness.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = SimulatedClock()
        let key = SymmetricKey(size: .bits256)
        let env = try await Harness.open(root: root, clock: clock, key: key)
        let (browser, contact) = try await Harness.serve(env) { live in
            let w = try await World.seed(live.http)
            try await Harness.setPassword(live.http, contact: w.agentA, Self.password)
            let (b, r) = try await Browser.signIn(live.http, email: "anna.agent@chargecars.nl", password: Self.password)
            try #require(r.status == 200)
            return (b, w.agentA)
        }
        await env.durable.shutdown(snapshot: true)
        // A new process on the same data: the session is in the snapshot.
        let again = try await Harness.open(root: root, clock: clock, key: key)
        try await Harness.serve(again) { live in
            let r = try await browser.call(live.http, .get, "/auth/session")
            #expect(r.status == 200 && r.json["contact"]?["id"]?.string == contact, "\(r)")
            // A week later (the default lifetime) it has run out.
            clock.advance(by: 7 * 24 * 3600 + 1)
            #expect(try await browser.call(live.http, .get, "/api/me").status == 401)
        }
        await again.durable.shutdown(snapshot: false)
    }

    @Test func failedSignInsAreLimitedPerAccountAndPerAddress() async throws {
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            try await Harness.setPassword(live.http, contact: w.agentA, Self.password)
            let limit = HTTPOptions.unlimited.web.maxFailedSignInsPerAccount
            for _ in 0..<limit {
                #expect(try await Browser.signIn(live.http, email: "anna.agent@chargecars.nl", password: "wrong password!").1.status == 401)
            }
            // At the bound even the right password is refused, with how long to wait.
            let blocked = try await Browser.signIn(live.http, email: "anna.agent@chargecars.nl", password: Self.password).1
            #expect(blocked.status == 429 && blocked.errorCode == "too_many_failed_sign_ins", "\(blocked)")
            let wait = try #require(blocked.headers[.retryAfter].flatMap(Int.init))
            #expect(wait > 0 && wait <= 15 * 60)
            #expect(blocked.errorMessage?.contains("\(limit) failed sign-ins for this account") == true)
            // Another account from the same address is not blocked by it.
            try await Harness.setPassword(live.http, contact: w.agentA2, Self.password)
            #expect(try await Browser.signIn(live.http, email: "arie.agent@chargecars.nl", password: Self.password).1.status == 200)
            // Once the window has passed (the engine's clock), the account signs in again.
            live.env.clock.advance(by: 15 * 60 + 1)
            #expect(try await Browser.signIn(live.http, email: "anna.agent@chargecars.nl", password: Self.password).1.status == 200)

            // Per address: many accounts guessed from one address.
            let perAddress = HTTPOptions.unlimited.web.maxFailedSignInsPerAddress
            for i in 0..<perAddress {
                _ = try await Browser.signIn(live.http, email: "guess\(i)@chargecars.nl", password: "wrong password!")
            }
            let address = try await Browser.signIn(live.http, email: "arie.agent@chargecars.nl", password: Self.password).1
            #expect(address.status == 429 && address.errorMessage?.contains("from this address") == true, "\(address)")
        }
    }

    @Test func inviteLinksSetAPasswordOnceAndSignIn() async throws {
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            let r = try await live.http.post("/api/contacts/\(w.agentB)/invite", Harness.adminToken, "{}")
            #expect(r.status == 201, "\(r)")
            let url = try #require(r.json["invite_url"]?.string)
            #expect(url.hasPrefix("http://") && url.contains("/#invite=inv_"))
            let token = String(url.split(separator: "=", maxSplits: 1)[1])
            // Agents cannot hand out invites.
            #expect(try await live.http.post("/api/contacts/\(w.agentB)/invite", w.token(.agent), "{}").status == 403)

            let check = try await live.http.post("/auth/invite/check", nil, #"{"token":\#(q(token))}"#)
            #expect(check.status == 200 && check.json["email"]?.string == "bram.agent@chargecars.nl")
            let weak = try await live.http.post("/auth/invite/accept", nil, #"{"token":\#(q(token)),"password":"short"}"#)
            #expect(weak.status == 422 && weak.errorCode == "weak_password")
            let accepted = try await live.http.post("/auth/invite/accept", nil, #"{"token":\#(q(token)),"password":\#(q(Self.password))}"#)
            #expect(accepted.status == 200 && sessionCookie(accepted) != nil, "\(accepted)")
            // Used once: the link is dead, the password works.
            #expect(try await live.http.post("/auth/invite/check", nil, #"{"token":\#(q(token))}"#).status == 404)
            #expect(try await live.http.post("/auth/invite/accept", nil, #"{"token":\#(q(token)),"password":"another long one"}"#).status == 404)
            #expect(try await Browser.signIn(live.http, email: "bram.agent@chargecars.nl", password: Self.password).1.status == 200)
            // An expired link is refused.
            let late = try await live.http.post("/api/contacts/\(w.agentA2)/invite", Harness.adminToken, "{}")
            let lateToken = String(try #require(late.json["invite_url"]?.string).split(separator: "=", maxSplits: 1)[1])
            live.env.clock.advance(by: 7 * 24 * 3600 + 1)
            #expect(try await live.http.post("/auth/invite/check", nil, #"{"token":\#(q(lateToken))}"#).status == 404)
        }
    }

    @Test func aNewPasswordEndsThePersonsSessionsAndOwnChangesNeedTheCurrentOne() async throws {
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            try await Harness.setPassword(live.http, contact: w.agentA, Self.password)
            let (browser, _) = try await Browser.signIn(live.http, email: "anna.agent@chargecars.nl", password: Self.password)
            let own = try await browser.call(live.http, .put, "/api/contacts/\(w.agentA)/password", #"{"password":"a brand new phrase"}"#)
            #expect(own.status == 403 && own.errorCode == "wrong_password")
            let other = try await browser.call(live.http, .put, "/api/contacts/\(w.agentA2)/password", #"{"password":"a brand new phrase"}"#)
            #expect(other.status == 403, "agents set only their own password")
            let changed = try await browser.call(live.http, .put, "/api/contacts/\(w.agentA)/password",
                                                 #"{"password":"a brand new phrase","current_password":\#(q(Self.password))}"#)
            #expect(changed.status == 200, "\(changed)")
            #expect(try await browser.call(live.http, .get, "/api/me").status == 401, "the old session ended with the old password")
            #expect(try await Browser.signIn(live.http, email: "anna.agent@chargecars.nl", password: Self.password).1.status == 401)
            #expect(try await Browser.signIn(live.http, email: "anna.agent@chargecars.nl", password: "a brand new phrase").1.status == 200)
        }
    }

    @Test func cookiesAreSecureBehindTLSAndSignInFromAnotherOriginIsRefused() async throws {
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            try await Harness.setPassword(live.http, contact: w.agentA, Self.password)
            let tls = try await Browser.signIn(live.http, email: "anna.agent@chargecars.nl", password: Self.password,
                                               extra: [HTTPField.Name("X-Forwarded-Proto")!: "https"]).1
            #expect(tls.headers[values: .setCookie].first?.contains("; Secure") == true)
            let cross = try await Browser.signIn(live.http, email: "anna.agent@chargecars.nl", password: Self.password,
                                                 extra: [.origin: "https://evil.example"]).1
            #expect(cross.status == 403 && cross.errorCode == "cross_origin")
            let form = try await live.http.call(.post, "/auth/login", body: .bytes(.init(string: "email=a&password=b")),
                                                headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(form.status == 400, "a form post is not JSON: \(form)")
        }
    }

    /// The upgrade request's checks, on requests as a browser sends them.
    /// (Hummingbird's WebSocket client always adds its own `Origin: ws://host`
    /// without the port, so an upgrade with a browser's Origin cannot be sent
    /// with it; the browser tests in Tests/Browser open the stream from the
    /// real page.)
    @Test func theEventStreamTakesTheCookieFromCommHubsOwnPageOnly() async throws {
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            try await Harness.setPassword(live.http, contact: w.agentA, Self.password)
            let (browser, _) = try await Browser.signIn(live.http, email: "anna.agent@chargecars.nl", password: Self.password)
            let cookie = "\(SessionCookies.session)=\(browser.cookie!)"
            func upgrade(origin: String?, cookie: String? = cookie, authority: String = "127.0.0.1:\(live.port)") -> Request {
                var fields = HTTPFields()
                if let cookie { fields[.cookie] = cookie }
                if let origin { fields[.origin] = origin }
                fields[HTTPField.Name("Upgrade")!] = "websocket"
                let head = HTTPRequest(method: .get, scheme: nil, authority: authority, path: "/api/events", headerFields: fields)
                return Request(head: head, body: .init(buffer: ByteBuffer()))
            }
            let now = live.engine.clock.now()
            let tokens = live.engine.authentication
            #expect(WebSessionAuth.webSocketContact(upgrade(origin: "http://127.0.0.1:\(live.port)"), tokens: tokens, now: now)?.id.description == w.agentA)
            // Another site's page, no Origin at all, two Origins, or no cookie: not this person.
            #expect(WebSessionAuth.webSocketContact(upgrade(origin: "https://evil.example"), tokens: tokens, now: now) == nil)
            #expect(WebSessionAuth.webSocketContact(upgrade(origin: nil), tokens: tokens, now: now) == nil)
            #expect(WebSessionAuth.webSocketContact(upgrade(origin: "http://127.0.0.1:\(live.port), https://evil.example"), tokens: tokens, now: now) == nil)
            #expect(WebSessionAuth.webSocketContact(upgrade(origin: "http://127.0.0.1:\(live.port)", cookie: nil), tokens: tokens, now: now) == nil)
            // A session that ended (signed out) opens no stream.
            #expect(try await browser.call(live.http, .post, "/auth/logout", "{}").status == 200)
            #expect(WebSessionAuth.webSocketContact(upgrade(origin: "http://127.0.0.1:\(live.port)"), tokens: tokens, now: now) == nil)

            // Over the wire, a foreign page's upgrade without a token is refused.
            let foreign = try await EventClient.firstFrames(port: live.port, headers: [.cookie: cookie, .origin: "https://evil.example"],
                                                            count: 1, sendFirst: #"{"token":"nope"}"#)
            #expect(foreign.first?.contains("unauthorized") == true, "\(foreign)")
        }
    }
}

/// A WebSocket client of `/api/events` that returns its first frames.
enum EventClient {
    static func firstFrames(port: Int, headers: HTTPFields, count: Int, sendFirst: String? = nil, path: String = "/api/events",
                            until: (@Sendable ([String]) -> Bool)? = nil, seconds: Double = 10) async throws -> [String] {
        let frames = FrameBox()
        var logger = Logger(label: "ws")
        logger.logLevel = .critical
        _ = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)\(path)", configuration: .init(additionalHeaders: headers),
                                              logger: logger) { inbound, outbound, _ in
            if let sendFirst { try await outbound.write(.text(sendFirst)) }
            let deadline = ContinuousClock.now + .seconds(seconds)
            for try await message in inbound.messages(maxSize: 1 << 20) {
                if case .text(let s) = message { frames.append(s) }
                let all = frames.all
                if let until { if until(all) { break } } else if all.count >= count { break }
                if ContinuousClock.now > deadline { break }
            }
        }
        return frames.all
    }
}

final class FrameBox: @unchecked Sendable {
    private let lock = NSLock()
    private var frames: [String] = []
    func append(_ s: String) { lock.lock(); frames.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return frames }
}
