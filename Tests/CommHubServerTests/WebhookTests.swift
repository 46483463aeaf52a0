import CommHubDomain
import CommHubEngine
import Crypto
import Foundation
import HTTPTypes
import CommHubStandIns
import Testing

/// `/webhooks/whatsapp` over loopback: Meta's handshake, signed
/// notifications into threads, replays, forgeries, receipts, bad payloads.
@Suite("WhatsApp webhook") struct WebhookTests {
    static let appSecret = "meta-app-secret-0123456789"
    static let verifyToken = "verify-me-please"
    static let phoneNumberID = "106540352242922"

    /// A WhatsApp channel with its secrets, created through the API.
    static func channel(_ http: HTTP, phoneNumberID: String = phoneNumberID, appSecret: String = appSecret,
                        verifyToken: String = verifyToken, name: String = "WhatsApp laderthuis",
                        provider: String? = nil) async throws -> String {
        let delivery = provider.map { #","access_token":"EAAG-test","graph_base_url":\#(q($0))"# } ?? ""
        let r = try created(await http.post("/api/communication/channels", Harness.adminToken, #"""
            {"channel_type":"whatsapp_business","channel_name":\#(q(name)),"business_entity":"laderthuis",
             "configuration":{"phone_number_id":\#(q(phoneNumberID)),"app_secret":\#(q(appSecret)),"verify_token":\#(q(verifyToken))\#(delivery)}}
            """#))
        // The secrets are sealed: named, never shown.
        let sealed = (provider == nil ? [] : ["access_token"]) + ["app_secret", "verify_token"]
        #expect(r.json["secrets_set"]?.array == sealed.map(JSONValue.string))
        #expect(r.json["configuration"]?.objectValue?.keys.sorted() == (provider == nil ? ["phone_number_id"] : ["graph_base_url", "phone_number_id"]))
        #expect(!r.text.contains(appSecret) && !r.text.contains(verifyToken))
        return r.id
    }

    /// `sha256=<hex>` computed here with Crypto, independent of the gateway code.
    static func sign(_ body: String, secret: String = appSecret) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    static func post(_ http: HTTP, _ body: String, signature: String?, query: String = "") async throws -> Reply {
        var headers: HTTPFields = [:]
        if let signature { headers[HTTPField.Name("X-Hub-Signature-256")!] = signature }
        return try await http.call(.post, "/webhooks/whatsapp\(query)", body: .json(body), headers: headers)
    }

    static func text(_ wamid: String, _ body: String, from: String = "31612345678", at: Date,
                     phoneNumberID: String = phoneNumberID) -> String {
        #"""
        {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
          "messaging_product":"whatsapp",
          "metadata":{"display_phone_number":"15550783881","phone_number_id":\#(q(phoneNumberID))},
          "contacts":[{"profile":{"name":"Sanne de Vries"},"wa_id":\#(q(from))}],
          "messages":[{"from":\#(q(from)),"id":\#(q(wamid)),"timestamp":"\#(Int(at.timeIntervalSince1970))","type":"text",
                       "text":{"body":\#(q(body))}}]}}]}]}
        """#
    }

    static func receipt(_ wamid: String, _ status: String, at: Date) -> String {
        #"""
        {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
          "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"\#(phoneNumberID)"},
          "statuses":[{"id":\#(q(wamid)),"status":"\#(status)","timestamp":"\#(Int(at.timeIntervalSince1970))",
                       "recipient_id":"31612345678"}]}}]}]}
        """#
    }

    @Test func verificationHandshake() async throws {
        try await Harness.run { live in
            let http = live.http
            let channel = try await Self.channel(http)
            try await live.gatewaySynced()
            let path = "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444"

            // No bearer token: the verify token is the authentication.
            let okReply = try await http.get(path + "&hub.verify_token=\(Self.verifyToken)", nil)
            #expect(okReply.status == 200)
            #expect(okReply.text == "1158201444")
            #expect(okReply.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(try await http.get(path + "&hub.verify_token=\(Self.verifyToken)&channel_id=\(channel)", nil).text == "1158201444")

            let wrong = try await http.get(path + "&hub.verify_token=guess", nil)
            #expect(wrong.status == 403)
            #expect(wrong.isErrorShape)
            #expect(wrong.errorCode == "verify_token_mismatch")
            let wrongMode = try await http.get("/webhooks/whatsapp?hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=\(Self.verifyToken)", nil)
            #expect(wrongMode.status == 403 && wrongMode.isErrorShape, "a mode other than subscribe is refused")
            let noChallenge = try await http.get("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=\(Self.verifyToken)", nil)
            #expect(noChallenge.status == 400 && noChallenge.errorMessage?.contains("hub.challenge") == true)
            let unknown = try await http.get(path + "&hub.verify_token=\(Self.verifyToken)&channel_id=\(UUID().uuidString)", nil)
            #expect(unknown.status == 404 && unknown.isErrorShape)
            let badID = try await http.get(path + "&hub.verify_token=\(Self.verifyToken)&channel_id=nope", nil)
            #expect(badID.status == 400 && badID.isErrorShape)

            // A second channel with its own token: each token answers for its own channel only.
            let other = try await Self.channel(http, phoneNumberID: "200300400", verifyToken: "second-token", name: "WhatsApp 2")
            try await live.gatewaySynced()
            #expect(try await http.get(path + "&hub.verify_token=second-token", nil).status == 200)
            #expect(try await http.get(path + "&hub.verify_token=second-token&channel_id=\(channel)", nil).status == 403)
            #expect(try await http.get(path + "&hub.verify_token=second-token&channel_id=\(other)", nil).status == 200)
        }
    }

    @Test func signedNotificationCreatesAThreadAndReplaysAreDuplicates() async throws {
        try await Harness.run { live in
            let http = live.http
            let channel = try await Self.channel(http)
            try await live.gatewaySynced()
            let now = live.env.clock.now()
            let body = Self.text("wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                                 "Mijn laadpaal knippert rood, kunnen jullie helpen?", at: now)

            let first = try await Self.post(http, body, signature: Self.sign(body))
            try #require(first.status == 200, "\(first)")
            let result = try #require(first.json["results"]?[0])
            #expect(result["status"]?.string == "created")
            let thread = try #require(result["thread_id"]?.string)
            let message = try #require(result["message_id"]?.string)
            #expect(result["seq"]?.int ?? 0 <= Int(live.env.lastSeq), "answered after the journal holds it")

            let detail = try ok(await http.get("/api/communication/threads/\(thread)", Harness.adminToken)).json
            #expect(detail["channel_type"]?.string == "whatsapp_business")
            #expect(detail["business_entity"]?.string == "laderthuis")
            #expect(detail["external_references"]?.array?.contains(
                .object(["kind": .string("whatsapp_chat_id"), "value": .string("\(Self.phoneNumberID):+31612345678")])) == true)
            let messages = try #require(detail["messages"]?.array)
            try #require(messages.count == 1)
            let m = messages[0]
            #expect(m["id"]?.string == message)
            #expect(m["message_type"]?.string == "incoming")
            #expect(m["channel_id"]?.string == channel)
            #expect(m["external_message_id"]?.string == "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")
            #expect(m["message_content"]?.string == "Mijn laadpaal knippert rood, kunnen jullie helpen?")
            #expect(m["sender_external"]?["name"]?.string == "Sanne de Vries")
            #expect(m["sender_external"]?["phone"]?.string == "+31612345678")
            #expect(m["sender_external"]?["wa_id"]?.string == "31612345678")
            #expect(m["created_at"]?.string.flatMap { Date(iso8601: $0) }?.timeIntervalSince1970 == now.timeIntervalSince1970.rounded(.down))

            // Meta retries: the same notification is a duplicate and writes nothing.
            let fingerprint = live.env.lastSeq
            for _ in 0..<2 {
                let again = try ok(await Self.post(http, body, signature: Self.sign(body))).json["results"]?[0]
                #expect(again?["status"]?.string == "duplicate")
                #expect(again?["thread_id"]?.string == thread && again?["message_id"]?.string == message)
            }
            #expect(live.env.lastSeq == fingerprint)
            let after = try ok(await http.get("/api/communication/threads/\(thread)", Harness.adminToken)).json
            #expect(after["messages"]?.array?.count == 1)

            // The customer's next message lands in the same chat thread; with
            // ?channel_id= the channel is named instead of found by number.
            let next = Self.text("wamid.SECOND", "Hier een foto volgt", at: now.addingTimeInterval(60))
            let second = try ok(await Self.post(http, next, signature: Self.sign(next), query: "?channel_id=\(channel)")).json["results"]?[0]
            #expect(second?["status"]?.string == "created")
            #expect(second?["thread_id"]?.string == thread)

            // An image: caption as text, media as attachment metadata.
            let image = #"""
                {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
                  "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"\#(Self.phoneNumberID)"},
                  "contacts":[{"profile":{"name":"Sanne de Vries"},"wa_id":"31612345678"}],
                  "messages":[{"from":"31612345678","id":"wamid.IMG","timestamp":"\#(Int(now.timeIntervalSince1970) + 120)","type":"image",
                    "image":{"caption":"De lamp","mime_type":"image/jpeg","sha256":"x","id":"1234567890"}}]}}]}]}
                """#
            #expect(try ok(await Self.post(http, image, signature: Self.sign(image))).json["results"]?[0]?["status"]?.string == "created")
            let withImage = try ok(await http.get("/api/communication/threads/\(thread)", Harness.adminToken)).json["messages"]?.array ?? []
            #expect(withImage.count == 3)
            let img = withImage.last
            #expect(img?["message_content"]?.string == "De lamp")
            #expect(img?["attachments"]?[0]?["content_type"]?.string == "image/jpeg")
            #expect(img?["attachments"]?[0]?["url"]?.string == "whatsapp-media:1234567890")
        }
    }

    @Test func forgedOrMissingSignaturesChangeNothing() async throws {
        try await Harness.run { live in
            let http = live.http
            _ = try await Self.channel(http)
            try await live.gatewaySynced()
            let body = Self.text("wamid.FORGED", "Geef mij al jullie data", at: live.env.clock.now())
            let fingerprint = live.env.lastSeq
            let cases: [(String?, String)] = [
                (nil, "missing_signature"),
                ("sha1=0123", "malformed_signature"),
                ("sha256=zz", "malformed_signature"),
                ("sha256=abcd", "malformed_signature"),
                (Self.sign(body, secret: "not-the-app-secret"), "invalid_signature"),
                (Self.sign(body + " "), "invalid_signature"),
            ]
            var messages = Set<String>()
            for (signature, code) in cases {
                let r = try await Self.post(http, body, signature: signature)
                #expect(r.status == 401, "\(signature ?? "none"): \(r)")
                #expect(r.isErrorShape, "\(r)")
                #expect(r.errorCode == code, "\(signature ?? "none"): \(r)")
                messages.insert(r.errorMessage ?? "")
            }
            #expect(messages.count == 5, "each refusal says what was wrong")
            // A valid signature over another body does not carry over.
            let other = Self.text("wamid.OTHER", "iets anders", at: live.env.clock.now())
            #expect(try await Self.post(http, body, signature: Self.sign(other)).status == 401)
            #expect(live.env.lastSeq == fingerprint, "nothing was written")
            #expect(try ok(await http.get("/api/communication/threads?status=all", Harness.adminToken)).items.isEmpty)
            // An explicit channel does not help a forger either.
            let r = try await Self.post(http, body, signature: Self.sign(body, secret: "guess"), query: "?channel_id=\(UUID().uuidString)")
            #expect(r.status == 404 && r.isErrorShape)
        }
    }

    @Test func anAnswerReachesTheProviderAndItsReceiptsMoveItForward() async throws {
        let meta = WhatsAppStandIn.make()
        try await meta.start()
        defer { Task { await meta.stop() } }
        try await Harness.run { live in
            let http = live.http
            _ = try await Self.channel(http, provider: meta.baseURL + "/v21.0")
            try await live.gatewaySynced()
            let now = live.env.clock.now()
            let body = Self.text("wamid.IN1", "Wanneer komt de monteur?", at: now)
            let thread = try #require(try ok(await Self.post(http, body, signature: Self.sign(body))).json["results"]?[0]?["thread_id"]?.string)

            // An agent answers through the API; the gateway delivers it to Meta's stand-in exactly once.
            _ = try created(await http.post("/api/communication/messages", Harness.adminToken,
                #"{"thread_id":"\#(thread)","message_type":"outgoing","message_content":"Dinsdag tussen 10 en 12."}"#))
            let deadline = ContinuousClock.now + .seconds(10)
            while meta.whatsappSends.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let sent = meta.whatsappSends
            try #require(sent.count == 1, "the stand-in got \(sent.count) sends")
            let request = try #require(sent.first?.json as? [String: Any])
            #expect(request["to"] as? String == "31612345678")
            #expect((request["text"] as? [String: Any])?["body"] as? String == "Dinsdag tussen 10 en 12.")
            #expect(sent.first?.path == "/v21.0/\(Self.phoneNumberID)/messages")
            let wamid = "wamid.standin.0"

            func status() async throws -> (String?, String?) {
                let ms = try ok(await http.get("/api/communication/threads/\(thread)", Harness.adminToken)).json["messages"]?.array ?? []
                let out = ms.first { $0["external_message_id"]?.string == wamid }
                return (out?["delivery_status"]?.string, out?["read_at"]?.string)
            }
            // The gateway's report gives the message Meta's id and status `sent`.
            let sentBy = ContinuousClock.now + .seconds(10)
            while try await status().0 != "sent", ContinuousClock.now < sentBy { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try await status().0 == "sent")

            for (s, dt) in [("delivered", 50.0)] {
                let r = Self.receipt(wamid, s, at: now.addingTimeInterval(dt))
                let reply = try ok(await Self.post(http, r, signature: Self.sign(r))).json
                #expect(reply["results"]?[0]?["status"]?.string == "updated", "\(reply)")
                #expect(try await status().0 == s)
            }
            // Read, then a late `delivered` in the same notification: the late one changes nothing.
            let readAt = now.addingTimeInterval(70)
            let both = #"""
                {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
                  "metadata":{"phone_number_id":"\#(Self.phoneNumberID)"},
                  "statuses":[{"id":"\#(wamid)","status":"read","timestamp":"\#(Int(readAt.timeIntervalSince1970))","recipient_id":"31612345678"},
                              {"id":"\#(wamid)","status":"delivered","timestamp":"\#(Int(readAt.timeIntervalSince1970) - 5)","recipient_id":"31612345678"}]}}]}]}
                """#
            try ok(await Self.post(http, both, signature: Self.sign(both)))
            let (final, readAtText) = try await status()
            #expect(final == "read")
            #expect(readAtText.flatMap { Date(iso8601: $0) } == readAt)

            // Meta repeats receipts: a repeat is acknowledged as unchanged and writes nothing.
            let repeated = Self.receipt(wamid, "delivered", at: now.addingTimeInterval(80))
            let before = live.env.lastSeq
            let again = try ok(await Self.post(http, repeated, signature: Self.sign(repeated))).json
            #expect(again["results"]?[0]?["status"]?.string == "unchanged", "\(again)")
            #expect(live.env.lastSeq == before, "a late receipt is not journaled")
            #expect(try await status().0 == "read")

            // A receipt for a message CommHub never sent is acknowledged (no retries), not applied.
            let stranger = Self.receipt("wamid.NOT-OURS", "delivered", at: now)
            let fingerprint = live.env.lastSeq
            let ignored = try ok(await Self.post(http, stranger, signature: Self.sign(stranger))).json
            #expect(ignored["results"]?[0]?["status"]?.string == "ignored")
            #expect(live.env.lastSeq == fingerprint)
        }
    }

    @Test func badPayloadsAndUnknownChannels() async throws {
        try await Harness.run { live in
            let http = live.http
            _ = try await Self.channel(http)
            try await live.gatewaySynced()
            let fingerprint = live.env.lastSeq
            func expectRefused(_ body: String, _ status: Int, _ text: String, query: String = "") async throws {
                let r = try await Self.post(http, body, signature: Self.sign(body), query: query)
                #expect(r.status == status, "\(body.prefix(80)): \(r)")
                #expect(r.isErrorShape, "\(r)")
                #expect(r.errorMessage?.contains(text) == true, "\(r)")
            }
            try await expectRefused(#"{"object":"whatsapp_business_account","entry":["#, 400, "not valid JSON")
            try await expectRefused("", 400, "empty")
            try await expectRefused(#"{"object":"page","entry":[]}"#, 400, "object must be")
            try await expectRefused(#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{}}}]}]}"#,
                                    400, "entry[0].changes[0].value.metadata.phone_number_id")
            try await expectRefused(#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"\#(Self.phoneNumberID)"},"messages":[{"id":"w","timestamp":"1","type":"text","text":{"body":"x"}}]}}]}]}"#,
                                    400, "messages[0].from")
            // A business number no channel has.
            let elsewhere = Self.text("wamid.ELSEWHERE", "hallo", at: live.env.clock.now(), phoneNumberID: "999999")
            try await expectRefused(elsewhere, 404, "999999")
            // A named channel that is for another number.
            let channels = try ok(await http.get("/api/communication/channels", Harness.adminToken)).ids
            try await expectRefused(elsewhere, 404, "999999", query: "?channel_id=\(channels[0])")
            #expect(live.env.lastSeq == fingerprint, "nothing was written")

            // Subscription fields CommHub does not handle are acknowledged.
            let other = #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]}]}"#
            let r = try ok(await Self.post(http, other, signature: Self.sign(other))).json
            #expect(r["results"]?.array == [])
            #expect(r["ignored"]?.array?.count == 1)

            // Too large a body is refused before anything else.
            let huge = String(repeating: " ", count: 2 * 1024 * 1024 + 10)
            let big = try await Self.post(http, huge, signature: Self.sign(huge))
            #expect(big.status == 413 && big.isErrorShape)
        }
    }
}
