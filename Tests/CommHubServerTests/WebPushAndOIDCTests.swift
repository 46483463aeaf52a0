import AsyncHTTPClient
import CommHubDomain
import CommHubEngine
@testable import CommHubServer
import CommHubStandIns
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import Synchronization
import Testing

@Suite("Web Push: RFC 8291 encryption, VAPID, delivery to a push service") struct WebPushTests {
    static func b(_ s: String) -> [UInt8] { Array(Base64URL.decode(s)!) }

    /// RFC 8291 Appendix A, byte for byte: the fixed key pair and salt give the published body.
    @Test func encryptionMatchesRFC8291AppendixA() throws {
        let asPrivate = try P256.KeyAgreement.PrivateKey(rawRepresentation: Self.b("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"))
        #expect(Base64URL.encode(asPrivate.publicKey.x963Representation)
            == "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8")
        let body = try WebPushEncryption.encrypt(
            Self.b("V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24"),
            uaPublicKey: Self.b("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"),
            authSecret: Self.b("BTBZMqHH6r4Tts7J_aSIgg"), asPrivateKey: asPrivate, salt: Self.b("DGv6ra1nlYgDCS1FRnbzlw"))
        #expect(Base64URL.encode(body) == "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN")
        #expect(body.count == 144)
        // The intermediate values of the appendix, through the same HKDF.
        let ecdh = Self.b("kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs")
        let keyInfo = Self.b("V2ViUHVzaDogaW5mbwAEJXGyvs3942BVGq8e0PTNNmwRzr5VX4m8t7GGpTM5FzFo7OLr4BhZe9MEebhuPI-OztV3ylkYfpJGmQ22ggCLDgT-M_SrDepxkU21WCP3O1SUj0EwbZIHMtu5pZpTKGSCIA5Zent7wmC6HCJ5mFgJkuk5cwAvMBKiiujwa7t45ewP")
        let ikm = WebPushEncryption.hkdf(salt: Self.b("BTBZMqHH6r4Tts7J_aSIgg"), ikm: ecdh, info: keyInfo, length: 32)
        #expect(Base64URL.encode(ikm) == "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg")
        let cek = WebPushEncryption.hkdf(salt: Self.b("DGv6ra1nlYgDCS1FRnbzlw"), ikm: ikm, info: Self.b("Q29udGVudC1FbmNvZGluZzogYWVzMTI4Z2NtAA"), length: 16)
        #expect(Base64URL.encode(cek) == "oIhVW04MRdy2XN9CiKLxTg")
    }

    /// The stand-in's own decryption (written apart from the server's) reads what the server encrypts, and refuses a flipped bit.
    @Test func theStandInDecryptsWhatTheServerEncrypts() throws {
        let push = PushStandIn()
        let message = Array(#"{"title":"Urgent: laadpaal","url":"/#/thread/x"}"#.utf8)
        let body = try WebPushEncryption.encrypt(message, uaPublicKey: Self.b(push.p256dh), authSecret: Self.b(push.auth))
        #expect(try push.decrypt(body) == message)
        var tampered = body
        tampered[100] ^= 1
        #expect(throws: (any Error).self) { try push.decrypt(tampered) }
        // Too long for one 4096-byte record: refused before anything is sent.
        #expect(throws: WebPushEncryption.Problem.self) {
            try WebPushEncryption.encrypt(Array(repeating: 65, count: WebPushEncryption.maxPlaintextBytes + 1),
                                          uaPublicKey: Self.b(push.p256dh), authSecret: Self.b(push.auth))
        }
        let full = try WebPushEncryption.encrypt(Array(repeating: 65, count: WebPushEncryption.maxPlaintextBytes),
                                                 uaPublicKey: Self.b(push.p256dh), authSecret: Self.b(push.auth))
        #expect(full.count == 4096 + 86 - 0 - (4096 - WebPushEncryption.maxPlaintextBytes - 17))
    }

    @Test func vapidTokenIsES256ForTheEndpointsOrigin() throws {
        let key = VAPIDKey(privateKey: P256.Signing.PrivateKey())
        let now = Date()
        let header = try key.authorization(endpoint: "https://fcm.googleapis.com/fcm/send/abc:def", subject: "mailto:ops@chargecars.nl", now: now)
        let parts = header.split(separator: " ", maxSplits: 1)
        #expect(parts[0] == "vapid")
        let fields = Dictionary(uniqueKeysWithValues: parts[1].split(separator: ",").map {
            let kv = $0.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            return (String(kv[0]), String(kv[1]))
        })
        #expect(fields["k"] == key.publicKey)
        let jwt = try #require(fields["t"]).split(separator: ".").map(String.init)
        let claims = try #require(try JSONSerialization.jsonObject(with: Base64URL.decode(jwt[1])!) as? [String: Any])
        #expect(claims["aud"] as? String == "https://fcm.googleapis.com")
        #expect(claims["sub"] as? String == "mailto:ops@chargecars.nl")
        let exp = try #require(claims["exp"] as? Int)
        #expect(Double(exp) - now.timeIntervalSince1970 <= 24 * 3600 && Double(exp) > now.timeIntervalSince1970)
        let signature = try P256.Signing.ECDSASignature(rawRepresentation: Base64URL.decode(jwt[2])!)
        #expect(key.privateKey.publicKey.isValidSignature(signature, for: Data((jwt[0] + "." + jwt[1]).utf8)))
        #expect(VAPIDKey.origin(of: "http://127.0.0.1:4040/push/1") == "http://127.0.0.1:4040")
        #expect(throws: (any Error).self) { try key.authorization(endpoint: "ftp://x", subject: "mailto:a@b", now: now) }
    }

    @Test func subscriptionsReceiveEncryptedNotificationsAndGoneOnesAreForgotten() async throws {
        let push = PushStandIn()
        try await push.start()
        defer { Task { await push.stop() } }
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            let agent = w.token(.agent)
            let key = try await live.http.get("/api/push/key", agent)
            #expect(key.status == 200 && Base64URL.decode(key.json["public_key"]?.string ?? "")?.count == 65)
            // The same key on every call (made once, journaled).
            #expect(try await live.http.get("/api/push/key", w.token(.manager)).json["public_key"] == key.json["public_key"])
            #expect(try await live.http.post("/api/push/subscriptions", agent, push.subscriptionJSON).status == 201)
            let bad = try await live.http.post("/api/push/subscriptions", agent,
                                               #"{"endpoint":"https://push.example/x","keys":{"p256dh":"AAAA","auth":"\#(push.auth)"}}"#)
            #expect(bad.status == 422, "\(bad)")

            let test = try await live.http.post("/api/push/test", agent, "{}")
            #expect(test.json["sent"]?.int == 1, "\(test) refusals: \(push.refusals)")
            #expect(push.deliveries.first?.json?["title"] as? String == "CommHub")
            #expect(push.deliveries.first?.vapidKey == key.json["public_key"]?.string)

            // The notifier: a mention of the agent becomes a push to the agent's phone.
            let notifier = PushNotifier(engine: live.engine, secrets: live.env.secrets, options: HTTPOptions.unlimited.web, logger: Harness.logger)
            let running = Task { try await notifier.run() }
            defer { running.cancel() }
            try await Task.sleep(for: .milliseconds(100))
            let note = try await live.http.post("/api/communication/messages", w.token(.teamLeader),
                                                #"{"thread_id":"\#(w.threadA)","message_type":"internal_note","message_content":"@anna.agent kun jij hiernaar kijken?"}"#)
            #expect(note.status == 201, "\(note)")
            let deadline = ContinuousClock.now + .seconds(10)
            while push.deliveries.count < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let mention = try #require(push.deliveries.last?.json, "refusals: \(push.refusals)")
            #expect(mention["title"] as? String == "Lotte Leader mentioned you")
            #expect(mention["url"] as? String == "/#/thread/\(w.threadA)")

            // The push service says the subscription is gone: it is forgotten (journaled).
            push.server.enqueue(.json(410, ["reason": "unsubscribed"]))
            #expect(try await live.http.post("/api/push/test", agent, "{}").json["sent"]?.int == 0)
            let left = await live.engine.supervisor.webAccess { $0.push.count }
            #expect(left == 0)
        }
    }
}

@Suite("Sign in with Microsoft through an OpenID Connect stand-in") struct MicrosoftSignInTests {
    /// Configures the stand-in's tenant, signs `email` in, and follows the redirects as a browser does.
    struct Flow {
        let live: Live
        let oidc: OIDCStandIn

        func configure() async throws {
            let r = try await live.http.put("/api/sign-in/microsoft", Harness.adminToken, #"""
                {"tenant_id":"\#(oidc.tenant)","client_id":"\#(oidc.clientID)","client_secret":"\#(oidc.clientSecret)","login_base_url":"\#(oidc.baseURL)"}
                """#)
            try #require(r.status == 200, "\(r)")
            #expect(r.json["client_secret_set"]?.bool == true && !r.text.contains(oidc.clientSecret))
        }

        /// `/auth/oidc/start` → the stand-in's authorize → `/auth/oidc/callback`; the callback's answer.
        func run(keepState: Bool = true) async throws -> Reply {
            let start = try await live.http.get("/auth/oidc/start", nil)
            try #require(start.status == 302, "\(start)")
            let authorize = try #require(start.headers[.location])
            let q = try #require(URLComponents(string: authorize)?.queryItems, "\(authorize)").reduce(into: [String: String]()) { $0[$1.name] = $1.value }
            #expect(q["code_challenge_method"] == "S256" && q["code_challenge"]?.count == 43 && q["nonce"] != nil && q["scope"] == "openid profile email")
            let flowCookie = try #require(start.headers[values: .setCookie].first { $0.hasPrefix(SessionCookies.signIn) })
            #expect(flowCookie.contains("SameSite=Lax") && flowCookie.contains("HttpOnly"))
            let back = try await Fetch.location(authorize)
            let callback = try #require(URLComponents(string: back), "\(back)")
            #expect(callback.path == "/auth/oidc/callback")
            var headers = HTTPFields()
            if keepState { headers[.cookie] = flowCookie.components(separatedBy: ";")[0] }
            return try await live.http.call(.get, "/auth/oidc/callback?\(callback.percentEncodedQuery ?? "")", headers: headers)
        }
    }

    static func withStandIn(_ body: @Sendable (Flow, World) async throws -> Void) async throws {
        try await Harness.run { live in
            let clock = live.env.clock
            let oidc = try OIDCStandIn(now: { clock.now() })
            try await oidc.start()
            do {
                let w = try await World.seed(live.http)
                let flow = Flow(live: live, oidc: oidc)
                try await flow.configure()
                try await body(flow, w)
            } catch {
                await oidc.stop()
                throw error
            }
            await oidc.stop()
        }
    }

    @Test func aColleagueSignsInWithMicrosoftAndGetsASession() async throws {
        try await Self.withStandIn { flow, w in
            #expect(try await flow.live.http.get("/auth/providers", nil).json["microsoft"]?.bool == true)
            flow.oidc.signInAs("Anna.Agent@chargecars.nl")
            let r = try await flow.run()
            #expect(r.status == 302 && r.headers[.location] == "/", "\(r)")
            let browser = Browser(cookie: sessionCookie(r))
            let session = try await browser.call(flow.live.http, .get, "/auth/session")
            #expect(session.json["contact"]?["id"]?.string == w.agentA && session.json["method"]?.string == "microsoft", "\(session)")
            // The token endpoint was called with the PKCE verifier and the secret (opened from its seal).
            let token = try #require(flow.oidc.server.recorded(path: "/oauth2/v2.0/token").first)
            #expect(token.text.contains("code_verifier=") && token.text.contains("client_secret=standin-client-secret"))
        }
    }

    @Test func everyBadAnswerEndsOnTheSignInPageWithoutASession() async throws {
        try await Self.withStandIn { flow, _ in
            let cases: [(OIDCStandIn.Tamper?, String?, String)] = [
                (.audience("someone-elses-app"), "anna.agent@chargecars.nl", "token_invalid"),
                (.nonce("replayed"), "anna.agent@chargecars.nl", "token_invalid"),
                (.issuer("https://login.example/other/v2.0"), "anna.agent@chargecars.nl", "token_invalid"),
                (.expiredSecondsAgo(3600), "anna.agent@chargecars.nl", "token_invalid"),
                (.tenant("00000000-0000-0000-0000-000000000000"), "anna.agent@chargecars.nl", "token_invalid"),
                (.unknownKey, "anna.agent@chargecars.nl", "token_invalid"),
                (.algorithmNone, "anna.agent@chargecars.nl", "token_invalid"),
                (.noEmail, "anna.agent@chargecars.nl", "no_such_person"),
                (nil, "stranger@elsewhere.example", "no_such_person"),
                (nil, nil, "microsoft_refused"),
            ]
            for (tamper, who, expected) in cases {
                flow.oidc.tamper(tamper)
                flow.oidc.signInAs(who)
                let r = try await flow.run()
                #expect(r.status == 302 && r.headers[.location] == "/#signin-error=\(expected)", "\(String(describing: tamper)) \(who ?? "-"): \(r)")
                #expect(sessionCookie(r) == nil)
            }
            flow.oidc.tamper(nil)
            let live = await flow.live.engine.supervisor.webAccess { $0.sessions.count }
            #expect(live == 0)
            // A callback without this browser's state cookie (a forged or replayed link) is refused.
            flow.oidc.signInAs("anna.agent@chargecars.nl")
            let forged = try await flow.run(keepState: false)
            #expect(forged.headers[.location] == "/#signin-error=signin_expired" && sessionCookie(forged) == nil)
            // The same again with the cookie works: nothing above left a state behind to reuse.
            #expect(sessionCookie(try await flow.run()) != nil)
        }
    }

    /// Defect: `login_base_url` and `redirect_url` were neither read from
    /// requests nor read back from the journal (the contract decoder makes
    /// `_url` into `Url`), so a configured stand-in or sovereign cloud was
    /// silently replaced by login.microsoftonline.com.
    @Test func theLoginAddressIsReadAndSurvivesARestartFromTheJournal() async throws {
        let root = try Harness.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = SimulatedClock()
        let key = SymmetricKey(size: .bits256)
        let env = try await Harness.open(root: root, clock: clock, key: key)
        let body = #"{"tenant_id":"contoso.onmicrosoft.com","client_id":"app-1","client_secret":"s3cret","login_base_url":"http://127.0.0.1:9/login","redirect_url":"https://commhub.example/auth/oidc/callback"}"#
        try await Harness.serve(env) { live in
            let r = try await live.http.put("/api/sign-in/microsoft", Harness.adminToken, body)
            #expect(r.status == 200, "\(r)")
            #expect(r.json["login_base_url"]?.string == "http://127.0.0.1:9/login", "\(r)")
            #expect(r.json["redirect_url"]?.string == "https://commhub.example/auth/oidc/callback", "\(r)")
        }
        await env.durable.shutdown(snapshot: false)  // from the journal, not a snapshot
        let again = try await Harness.open(root: root, clock: clock, key: key)
        try await Harness.serve(again) { live in
            let r = try await live.http.get("/api/sign-in/microsoft", Harness.adminToken)
            #expect(r.json["login_base_url"]?.string == "http://127.0.0.1:9/login", "\(r)")
            #expect(r.json["redirect_url"]?.string == "https://commhub.example/auth/oidc/callback", "\(r)")
        }
        await again.durable.shutdown(snapshot: true)
        let third = try await Harness.open(root: root, clock: clock, key: key)
        try await Harness.serve(third) { live in
            let r = try await live.http.get("/api/sign-in/microsoft", Harness.adminToken)
            #expect(r.json["login_base_url"]?.string == "http://127.0.0.1:9/login", "from the snapshot: \(r)")
        }
        await third.durable.shutdown(snapshot: false)
    }

    @Test func settingsAreAdminOnlyAndTheSecretIsNeverShown() async throws {
        try await Self.withStandIn { flow, w in
            let http = flow.live.http
            #expect(try await http.put("/api/sign-in/microsoft", w.token(.agent), #"{"tenant_id":"x"}"#).status == 403)
            let view = try await http.get("/api/sign-in/microsoft", w.token(.manager))
            #expect(view.status == 200 && !view.text.contains(flow.oidc.clientSecret) && view.json["client_secret_set"]?.bool == true)
            let bad = try await http.put("/api/sign-in/microsoft", Harness.adminToken, #"{"login_base_url":"http://login.example"}"#)
            #expect(bad.status == 422, "plain http only on loopback: \(bad)")
            let off = try await http.put("/api/sign-in/microsoft", Harness.adminToken, #"{"enabled":false}"#)
            #expect(off.json["enabled"]?.bool == false)
            #expect(try await http.get("/auth/oidc/start", nil).headers[.location] == "/#signin-error=microsoft_not_configured")
        }
    }

    @Test func pkceAndTokenRules() throws {
        #expect(PKCE.challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        #expect(PKCE.verifier().count == 43)
        let now = Date(timeIntervalSince1970: 1_741_090_000)
        let tenant = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
        let good = EntraIDToken(iss: "https://login.microsoftonline.com/\(tenant)/v2.0", aud: "app", exp: now.addingTimeInterval(3600),
                                nonce: "n1", email: "a@b.nl", tid: tenant)
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0"
        #expect(throws: Never.self) { try IDTokenRules.check(good, issuerTemplate: template, tenant: tenant, clientID: "app", nonce: "n1", now: now) }
        var late = good
        late.exp = .init(value: now.addingTimeInterval(-IDTokenRules.allowedClockSkewSeconds - 1))
        #expect(throws: IDTokenProblem.self) { try IDTokenRules.check(late, issuerTemplate: template, tenant: tenant, clientID: "app", nonce: "n1", now: now) }
        var skewed = good
        skewed.exp = .init(value: now.addingTimeInterval(-60))
        #expect(throws: Never.self) { try IDTokenRules.check(skewed, issuerTemplate: template, tenant: tenant, clientID: "app", nonce: "n1", now: now) }
        #expect(throws: IDTokenProblem.self) { try IDTokenRules.check(good, issuerTemplate: template, tenant: tenant, clientID: "other", nonce: "n1", now: now) }
        #expect(throws: IDTokenProblem.self) { try IDTokenRules.check(good, issuerTemplate: template, tenant: tenant, clientID: "app", nonce: "n2", now: now) }
        let flows = PendingSignIns(maxPending: 2, lifetimeSeconds: 600)
        let a = flows.begin(redirectURI: "r", now: now)
        _ = flows.begin(redirectURI: "r", now: now.addingTimeInterval(1))
        _ = flows.begin(redirectURI: "r", now: now.addingTimeInterval(2))
        #expect(flows.count == 2 && flows.take(a.state, now: now) == nil, "the oldest went at the bound")
        let b = flows.begin(redirectURI: "r", now: now.addingTimeInterval(3))
        #expect(flows.take(b.state, now: now.addingTimeInterval(601 + 3)) == nil, "expired")
    }
}

@Suite("Mentions") struct MentionTests {
    @Test func handlesAreParsedAndResolvedAmongThoseWhoSeeTheThread() {
        #expect(MentionParser.handles(in: "@anna.agent kijk even, en @Lotte. Mail me@x.nl (@bram)") == ["anna.agent", "lotte", "bram"])
        #expect(MentionParser.handles(in: "a@b @ @@x") == [])
        let anna = Contact(name: "Anna Agent", email: "anna.agent@chargecars.nl")
        let arie = Contact(name: "Arie Agent", email: "arie@chargecars.nl")
        let anna2 = Contact(name: "Anna de Boer", email: "adb@chargecars.nl")
        #expect(MentionParser.resolve(["anna.agent"], among: [anna, arie, anna2]).map(\.id) == [anna.id])
        #expect(MentionParser.resolve(["arie"], among: [anna, arie, anna2]).map(\.id) == [arie.id], "a unique first name")
        #expect(MentionParser.resolve(["anna"], among: [anna, arie, anna2]).isEmpty, "an ambiguous first name mentions nobody")
        #expect(MentionParser.resolve(["annadeboer"], among: [anna, arie, anna2]).map(\.id) == [anna2.id])
        let many = (0..<50).map { "@p\($0)" }.joined(separator: " ")
        #expect(MentionParser.handles(in: many).count == MentionParser.maxMentionsPerNote)
    }

    @Test func aMentionIsJournaledListedLiveForThatPersonOnlyAndSeenOnOpening() async throws {
        let root = try Harness.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = SimulatedClock()
        let key = SymmetricKey(size: .bits256)
        let env = try await Harness.open(root: root, clock: clock, key: key)
        let w = try await Harness.serve(env) { live in
            let w = try await World.seed(live.http)
            let anna = EventsClient.connect(port: live.port, token: w.token(.agent))
            let arie = EventsClient.connect(port: live.port, token: w.agentA2Token)
            try await anna.wait("hello") { $0.contains { $0["type"]?.string == "hello" } }
            try await arie.wait("hello") { $0.contains { $0["type"]?.string == "hello" } }
            let note = try await live.http.post("/api/communication/messages", w.token(.teamLeader), #"""
                {"thread_id":"\#(w.threadA)","message_type":"internal_note","message_content":"@anna.agent en @bram.agent: klant belt terug"}
                """#)
            #expect(note.status == 201)
            let frames = try await anna.wait("mention.created") { $0.contains { $0["type"]?.string == "mention.created" } }
            let m = try #require(frames.first { $0["type"]?.string == "mention.created" }?["data"]?["mentions"]?[0])
            #expect(m["thread_id"]?.string == w.threadA && m["by_contact_id"]?.string == w.leadA && m["message_id"]?.string == note.id)
            try await Task.sleep(for: .milliseconds(200))
            #expect(!arie.all.contains { $0["type"]?.string == "mention.created" }, "only the person mentioned hears of it")
            await anna.disconnect()
            await arie.disconnect()
            // Bram (team B) cannot see the thread: not mentioned.
            let bram = try await live.http.get("/api/mentions", w.agentBToken)
            #expect(bram.items.isEmpty)
            let people = try await live.http.get("/api/communication/threads/\(w.threadA)/mentionable", w.token(.agent))
            #expect(people.items.contains { $0["handle"]?.string == "lotte.leader" } && !people.items.contains { $0["handle"]?.string == "bram.agent" })
            return w
        }
        await env.durable.shutdown(snapshot: false)
        // After a restart (replayed from the journal) the mention is still unseen; opening the thread sees it.
        let again = try await Harness.open(root: root, clock: clock, key: key)
        try await Harness.serve(again) { live in
            let mine = try await live.http.get("/api/mentions", w.token(.agent))
            #expect(mine.items.count == 1 && mine.items[0]["thread_id"]?.string == w.threadA, "\(mine)")
            #expect(try await live.http.get("/api/me", w.token(.agent)).json["unseen_mentions"]?.int == 1)
            let seen = try await live.http.post("/api/mentions/seen", w.token(.agent), #"{"thread_id":"\#(w.threadA)"}"#)
            #expect(seen.json["seen"]?.int == 1)
            #expect(try await live.http.get("/api/mentions", w.token(.agent)).items.isEmpty)
            #expect(try await live.http.post("/api/mentions/seen", w.agentBToken, #"{"thread_id":"\#(w.threadA)"}"#).status == 404)
        }
        await again.durable.shutdown(snapshot: false)
    }
}

@Suite("Thread context and order view") struct ContextTests {
    @Test func theSidePanelAndTheOrderViewShowWhatTheCallerMaySee() async throws {
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            let admin = Harness.adminToken
            let org = UUID().uuidString.lowercased(), customer = UUID().uuidString.lowercased(), order = UUID().uuidString.lowercased()
            try ok(try await live.http.post("/api/directory", admin, #"""
                {"organizations":[{"id":"\#(org)","name":"Woonstad","kind":"customer"}],
                 "customers":[{"id":"\#(customer)","name":"Jan Jansen","emails":["jan@example.nl"],"organization_id":"\#(org)"}],
                 "orders":[{"id":"\#(order)","order_number":"240777","customer_id":"\#(customer)","brand":"chargecars"}]}
                """#))
            let a = try await w.thread(live.http, team: w.teamA, #""customer_id":"\#(customer)","order_id":"\#(order)""#)
            let b = try await w.thread(live.http, team: w.teamB, #""customer_id":"\#(customer)","order_id":"\#(order)""#)
            try created(try await live.http.post("/api/communication/messages", admin,
                                                 #"{"thread_id":"\#(b)","message_type":"internal_note","message_content":"monteur dinsdag"}"#))
            try created(try await live.http.post("/api/tasks", admin, #"{"task_title":"Bel klant","order_id":"\#(order)"}"#))
            let ctx = try await live.http.get("/api/communication/threads/\(a)/context", w.token(.manager))
            #expect(ctx.json["customer"]?["name"]?.string == "Jan Jansen" && ctx.json["customer_organization"]?["name"]?.string == "Woonstad")
            #expect(ctx.json["order"]?["order_number"]?.string == "240777" && ctx.json["customer_threads"]?.ids == [b])
            // An agent of team A does not learn of team B's thread.
            #expect(try await live.http.get("/api/communication/threads/\(a)/context", w.token(.agent)).json["customer_threads"]?.ids == [])
            let activity = try await live.http.get("/api/orders/240777/activity", w.token(.manager))
            #expect(Set(activity.json["threads"]?.ids ?? []) == [a, b] && activity.json["notes"]?[0]?["message_content"]?.string == "monteur dinsdag")
            #expect(activity.json["tasks"]?[0]?["task_title"]?.string == "Bel klant")
            let agentView = try await live.http.get("/api/orders/240777/activity", w.token(.agent))
            #expect(agentView.json["threads"]?.ids == [a] && agentView.json["notes"]?.array?.isEmpty == true && agentView.json["tasks"]?.array?.isEmpty == true)
            #expect(try await live.http.get("/api/orders/999/activity", admin).status == 404)
        }
    }
}

/// Follows one redirect target with a plain GET and returns where it points (the stand-in's authorize answer).
enum Fetch {
    /// The `Location` of a GET, without following it (AsyncHTTPClient: Foundation's URLSession on Linux could not reach the stand-in).
    static func location(_ url: String) async throws -> String {
        var config = HTTPClient.Configuration()
        config.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            guard let location = response.headers.first(name: "Location") else { throw URLError(.badServerResponse) }
            return location
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
