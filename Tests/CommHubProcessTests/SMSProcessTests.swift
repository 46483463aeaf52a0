import AsyncHTTPClient
import CommHubDomain
import CommHubStandIns
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Twilio SMS end to end through two processes — `commhub serve
/// --no-gateway` and `commhub gateway` — with a stand-in of Twilio's API and
/// media URLs on loopback: signed webhooks in (forged and unsigned ones
/// change nothing), answers out with the documented form, status callbacks
/// that only move a message forward, and MMS files fetched after the message.
@Suite(.serialized) struct SMSProcessTests {
    static let token = "sms-process-admin-token"
    /// The public URL in the Twilio console: a proxy in front of the gateway
    /// means the gateway never sees it, and signatures are checked against it.
    static let publicURL = "https://sms.example.nl/webhooks/sms"
    static let ours = "+3197010000001"
    static let customer = "+31612345678"

    final class Rig: @unchecked Sendable {
        let dir: String
        var server: ServerProcess
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var gateway: GatewayProcess?
        var gatewayToken = ""
        let twilio: TwilioStandIn
        var channelID = ""
        var engineAPI: Fetch { Fetch(client: http, base: "http://127.0.0.1:\(server.httpPort)", token: SMSProcessTests.token) }
        var gatewayHTTP: Fetch { Fetch(client: http, base: "http://127.0.0.1:\(gateway!.httpPort)", token: nil) }

        init(twilio: TwilioStandIn) async throws {
            self.twilio = twilio
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("commhub-sms-\(UUID().uuidString)").path
            server = try ServerProcess(data: dir, token: SMSProcessTests.token, extra: ["--no-gateway"])
            try await server.waitReady()
            let t = try await engineAPI.call(.POST, "/api/gateway-tokens", json: ["label": "sms test gateway"])
            guard t.status == 201, let secret = t.json["token"] as? String else { throw ProcessFailure("no gateway token: \(t)") }
            gatewayToken = secret
        }

        /// An SMS channel whose sends go to the stand-in; its webhook_url is the public URL.
        @discardableResult
        func createChannel(webhookURL: String = SMSProcessTests.publicURL, from: String? = SMSProcessTests.ours,
                           messagingServiceSid: String? = nil, name: String = "SMS laderthuis") async throws -> String {
            var configuration: [String: Any] = ["account_sid": twilio.accountSid, "auth_token": twilio.authToken,
                                                "webhook_url": webhookURL, "api_base_url": twilio.baseURL]
            if let from { configuration["from"] = from }
            if let messagingServiceSid { configuration["messaging_service_sid"] = messagingServiceSid }
            let r = try await engineAPI.call(.POST, "/api/communication/channels", json: [
                "channel_type": "sms", "channel_name": name, "business_entity": "laderthuis", "configuration": configuration,
            ] as [String: Any])
            guard r.status == 201, let id = r.json["id"] as? String else { throw ProcessFailure("channel: \(r)") }
            if channelID.isEmpty { channelID = id }
            return id
        }

        func startGateway(_ extra: [String] = []) async throws {
            let g = try GatewayProcess(engine: "unix:\(dir)/ingest.sock", token: gatewayToken, extra: extra)
            try await g.waitReady()
            gateway = g
            try await SMSProcessTests.until("the gateway connects") { (try? await self.gatewayHTTP.call(.GET, "/healthz").status) == 200 }
        }

        /// Posts a form to the gateway as Twilio does; `signature` nil sends no header.
        func post(_ path: String, _ parameters: [(String, String)], signature: String?) async throws -> FormAnswer {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(gateway!.httpPort)\(path)")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=UTF-8")
            request.headers.add(name: "User-Agent", value: "TwilioProxy/1.1")
            if let signature { request.headers.add(name: "X-Twilio-Signature", value: signature) }
            request.body = .bytes(ByteBuffer(string: TwilioStandIn.formBody(parameters)))
            let response = try await http.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            return FormAnswer(status: Int(response.status.code), body: Array(body.readableBytesView),
                              contentType: response.headers.first(name: "Content-Type"))
        }

        /// Signed over `url` (the public URL unless said otherwise) with the channel's auth token.
        func signed(_ path: String, _ parameters: [(String, String)], url: String) async throws -> FormAnswer {
            try await post(path, parameters, signature: TwilioStandIn.sign(url: url, parameters: parameters, authToken: twilio.authToken))
        }

        func inbound(_ sid: String, _ body: String, url: String = SMSProcessTests.publicURL,
                     media: [(url: String, contentType: String)] = []) async throws -> FormAnswer {
            try await signed("/webhooks/sms", twilio.inboundParameters(messageSid: sid, from: SMSProcessTests.customer, to: SMSProcessTests.ours,
                                                                     body: body, media: media), url: url)
        }

        func status(_ sid: String, _ status: String, errorCode: Int? = nil) async throws -> FormAnswer {
            try await signed("/webhooks/sms/status", twilio.statusParameters(messageSid: sid, status: status, from: SMSProcessTests.ours,
                                                                            to: SMSProcessTests.customer, errorCode: errorCode),
                             url: SMSProcessTests.publicURL + "/status")
        }

        func threads() async throws -> [[String: Any]] {
            (try await engineAPI.call(.GET, "/api/communication/threads?status=all")).json["items"] as? [[String: Any]] ?? []
        }

        func messages(_ thread: String) async throws -> [[String: Any]] {
            (try await engineAPI.call(.GET, "/api/communication/threads/\(thread)")).json["messages"] as? [[String: Any]] ?? []
        }

        func message(_ id: String, in thread: String) async throws -> [String: Any]? {
            try await messages(thread).first { $0["id"] as? String == id }
        }

        func answer(_ thread: String, _ text: String) async throws -> String {
            let r = try await engineAPI.call(.POST, "/api/communication/messages",
                                             json: ["thread_id": thread, "message_type": "outgoing", "message_content": text])
            guard r.status == 201, let id = r.json["id"] as? String else { throw ProcessFailure("answer: \(r)") }
            return id
        }

        func shutdown() async {
            gateway?.kill9()
            _ = server.terminate()
            try? await http.shutdown()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    /// A webhook's answer, with its content type.
    struct FormAnswer: Sendable, CustomStringConvertible {
        let status: Int
        let body: [UInt8]
        let contentType: String?
        var text: String { String(decoding: body, as: UTF8.self) }
        var description: String { "\(status) \(contentType ?? "-") \(text.prefix(500))" }
    }

    static func until(_ what: String, seconds: Double = 20, _ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ProcessFailure("timed out waiting for \(what)")
    }

    static func withRig(_ body: (Rig, TwilioStandIn) async throws -> Void) async throws {
        let twilio = TwilioStandIn()
        try await twilio.start()
        let rig = try await Rig(twilio: twilio)
        do {
            try await body(rig, twilio)
        } catch {
            await rig.shutdown(); await twilio.stop(); throw error
        }
        await rig.shutdown()
        await twilio.stop()
    }

    /// The first inbound SMS once the gateway has the channel; returns the thread id.
    static func firstInbound(_ rig: Rig, sid: String, text: String) async throws -> String {
        try await until("the gateway has the channel") { (try? await rig.inbound(sid, text).status) == 200 }
        return try #require(try await rig.threads().first?["id"] as? String)
    }

    @Test func aSignedSMSCreatesAThreadARepeatIsADuplicateAndForgeriesChangeNothing() async throws {
        try await Self.withRig { rig, twilio in
            try await rig.createChannel()
            try await rig.startGateway()
            // The engine itself serves no webhooks with --no-gateway.
            #expect(try await rig.engineAPI.call(.POST, "/webhooks/sms", raw: "{}").status == 404)
            let thread = try await Self.firstInbound(rig, sid: "SM00000000000000000000000000000001", text: "Mijn laadpaal knippert rood")
            let first = try await rig.inbound("SM00000000000000000000000000000001", "Mijn laadpaal knippert rood")
            #expect(first.status == 200 && first.text == #"<?xml version="1.0" encoding="UTF-8"?><Response/>"#, "a repeat is answered like the first")
            #expect(first.contentType == "text/xml", "\(first)")
            var messages = try await rig.messages(thread)
            #expect(messages.count == 1, "Twilio's repeat is a duplicate, not a second message")
            #expect(messages.first?["external_message_id"] as? String == "SM00000000000000000000000000000001")
            #expect(messages.first?["message_content"] as? String == "Mijn laadpaal knippert rood")
            let view = try await rig.engineAPI.call(.GET, "/api/communication/threads/\(thread)")
            #expect(view.text.contains("\(Self.ours):\(Self.customer)"), "the thread carries the sms_chat_id reference")

            // Forged, unsigned and mis-signed requests: 401, nothing changes.
            let params = twilio.inboundParameters(messageSid: "SM00000000000000000000000000000002", from: Self.customer, to: Self.ours, body: "vals")
            let seen = "http://127.0.0.1:\(rig.gateway!.httpPort)/webhooks/sms"
            let forgeries: [(String, String?)] = [
                ("no signature", nil),
                ("another auth token", TwilioStandIn.sign(url: Self.publicURL, parameters: params, authToken: "not-the-token")),
                ("the URL the gateway sees instead of the public one", TwilioStandIn.sign(url: seen, parameters: params, authToken: twilio.authToken)),
                ("empty parameters left out of the signature",
                 TwilioStandIn.sign(url: Self.publicURL, parameters: params.filter { !$0.1.isEmpty }, authToken: twilio.authToken)),
                ("garbage", "bm90IGEgc2lnbmF0dXJl"),
            ]
            for (what, signature) in forgeries {
                let r = try await rig.post("/webhooks/sms", params, signature: signature)
                #expect(r.status == 401, "\(what): \(r)")
            }
            // A body changed after signing.
            var tampered = params
            let signature = TwilioStandIn.sign(url: Self.publicURL, parameters: params, authToken: twilio.authToken)
            tampered[tampered.firstIndex { $0.0 == "Body" }!].1 = "iets anders"
            #expect(try await rig.post("/webhooks/sms", tampered, signature: signature).status == 401)
            #expect(try await rig.threads().count == 1)
            #expect(try await rig.messages(thread).count == 1, "no forged message got in")

            // The same request signed over the URL with its default port: accepted (Twilio's port rule).
            let withPort = try await rig.inbound("SM00000000000000000000000000000003", "Nog een vraag", url: "https://sms.example.nl:443/webhooks/sms")
            #expect(withPort.status == 200, "\(withPort)")
            messages = try await rig.messages(thread)
            #expect(messages.count == 2, "the customer's second SMS joins the thread")
            // A non-default port is another URL.
            let otherPort = try await rig.inbound("SM00000000000000000000000000000004", "poort", url: "https://sms.example.nl:8443/webhooks/sms")
            #expect(otherPort.status == 401)
            // A form that is not one, and bounds.
            let big = [("Body", String(repeating: "x", count: 70_000))]
            #expect(try await rig.post("/webhooks/sms", big, signature: "x").status == 413)
            #expect(!rig.gateway!.log.contains(twilio.authToken), "a secret reached the gateway's log")
        }
    }

    @Test func anAnswerReachesTwilioAsTheDocumentedFormAndStatusCallbacksOnlyMoveItForward() async throws {
        try await Self.withRig { rig, twilio in
            try await rig.createChannel()
            try await rig.startGateway()
            let thread = try await Self.firstInbound(rig, sid: "SM10000000000000000000000000000001", text: "Wanneer komt de monteur?")
            let answer = try await rig.answer(thread, "Morgen tussen 10:00 en 12:00.")
            try await Self.until("the stand-in got the answer") { !twilio.sends.isEmpty }
            let send = try #require(twilio.sends.first)
            #expect(send.path == "/2010-04-01/Accounts/\(twilio.accountSid)/Messages.json")
            #expect(send.header("authorization") == "Basic " + Data("\(twilio.accountSid):\(twilio.authToken)".utf8).base64EncodedString())
            let form = Dictionary(TwilioStandIn.parseForm(send.body), uniquingKeysWith: { a, _ in a })
            #expect(form == ["To": Self.customer, "From": Self.ours, "Body": "Morgen tussen 10:00 en 12:00.",
                             "StatusCallback": Self.publicURL + "/status"])
            let sid = TwilioStandIn.sid(0)
            try await Self.until("sent with Twilio's sid") {
                try await rig.message(answer, in: thread)?["external_message_id"] as? String == sid
            }
            #expect(try await rig.message(answer, in: thread)?["delivery_status"] as? String == "sent")

            // delivered, then late and repeated callbacks: never back.
            #expect(try await rig.status(sid, "sending").status == 200)
            #expect(try await rig.status(sid, "delivered").status == 200)
            try await Self.until("delivered") { try await rig.message(answer, in: thread)?["delivery_status"] as? String == "delivered" }
            for late in ["sent", "queued", "delivered", "undelivered", "failed"] {
                let r = try await rig.status(sid, late, errorCode: late == "undelivered" || late == "failed" ? 30003 : nil)
                #expect(r.status == 200, "\(late): \(r)")
            }
            #expect(try await rig.message(answer, in: thread)?["delivery_status"] as? String == "delivered")
            // A forged callback changes nothing; an unknown MessageSid is 200 and ignored.
            let forged = twilio.statusParameters(messageSid: sid, status: "read", from: Self.ours, to: Self.customer)
            #expect(try await rig.post("/webhooks/sms/status", forged, signature: TwilioStandIn.sign(
                url: Self.publicURL, parameters: forged, authToken: twilio.authToken)).status == 401, "signed over the inbound URL, not the status URL")
            #expect(try await rig.status("SM99999999999999999999999999999999", "delivered").status == 200)

            // A second answer the carrier cannot deliver: bounced, with Twilio's error code kept.
            let second = try await rig.answer(thread, "Bent u thuis?")
            try await Self.until("the second send") { twilio.sends.count == 2 }
            try await Self.until("second sent") {
                try await rig.message(second, in: thread)?["external_message_id"] as? String == TwilioStandIn.sid(1)
            }
            #expect(try await rig.status(TwilioStandIn.sid(1), "undelivered", errorCode: 30003).status == 200)
            try await Self.until("bounced") { try await rig.message(second, in: thread)?["delivery_status"] as? String == "bounced" }
            let error = try #require((try await rig.message(second, in: thread)?["metadata"] as? [String: Any])?["delivery_error"] as? [String: Any])
            #expect(error["code"] as? String == "30003", "\(error)")
            #expect(error["reason"] as? String == "Unreachable destination handset", "\(error)")
            let notices = try await rig.messages(thread).filter { $0["message_type"] as? String == "system_notification" }
            #expect(notices.contains { ($0["message_content"] as? String)?.contains("30003") == true }, "the thread says why")
            #expect(try await rig.status(TwilioStandIn.sid(1), "sent").status == 200)
            #expect(try await rig.message(second, in: thread)?["delivery_status"] as? String == "bounced")
            try await Task.sleep(for: .seconds(1))
            #expect(twilio.sends.count == 2, "each answer was sent once")
        }
    }

    @Test func numbersOfOneAccountShareTheWebhookURLAndEachMessageFindsItsChannel() async throws {
        try await Self.withRig { rig, twilio in
            let first = try await rig.createChannel(name: "SMS een")
            let second = try await rig.createChannel(from: "+3197010000002", name: "SMS twee")
            let pooled = try await rig.createChannel(from: nil, messagingServiceSid: "MG0123456789abcdef0123456789abcdef", name: "SMS pool")
            try await rig.startGateway()
            _ = try await Self.firstInbound(rig, sid: "SM40000000000000000000000000000001", text: "Aan nummer een")
            func post(_ sid: String, to: String, service: String? = nil) async throws -> FormAnswer {
                let p = twilio.inboundParameters(messageSid: sid, from: Self.customer, to: to, body: "Aan \(to)", messagingServiceSid: service)
                return try await rig.signed("/webhooks/sms", p, url: Self.publicURL)
            }
            #expect(try await post("SM40000000000000000000000000000002", to: "+3197010000002").status == 200)
            #expect(try await post("SM40000000000000000000000000000003", to: "+3197010000099",
                                   service: "MG0123456789abcdef0123456789abcdef").status == 200)
            // A number no channel has: 404 (Twilio's debugger shows it), nothing stored.
            let stray = try await post("SM40000000000000000000000000000004", to: "+3197010000077")
            #expect(stray.status == 404 && stray.text.contains("+3197010000077"), "\(stray)")
            var channelOf: [String: String] = [:]
            for t in try await rig.threads() {
                for m in try await rig.messages(t["id"] as! String) {
                    channelOf[m["external_message_id"] as! String] = m["channel_id"] as? String
                }
            }
            #expect(channelOf == ["SM40000000000000000000000000000001": first, "SM40000000000000000000000000000002": second,
                                  "SM40000000000000000000000000000003": pooled])
            // The channel's own URL (?channel_id=) picks it, and is part of what is signed.
            let p = twilio.inboundParameters(messageSid: "SM40000000000000000000000000000005", from: Self.customer, to: "+3197010000002", body: "x")
            let explicit = try await rig.signed("/webhooks/sms?channel_id=\(first)", p, url: Self.publicURL)
            #expect(explicit.status == 404, "channel een does not send as +3197010000002: \(explicit)")
        }
    }

    @Test func whileTheEngineIsAwayTwilioGets503AndItsRetryGoesThrough() async throws {
        try await Self.withRig { rig, _ in
            try await rig.createChannel()
            try await rig.startGateway()
            let thread = try await Self.firstInbound(rig, sid: "SM20000000000000000000000000000001", text: "Hallo")
            rig.server.kill9()
            let refused = try await rig.inbound("SM20000000000000000000000000000002", "Bent u daar?")
            #expect(refused.status == 503, "\(refused)")
            rig.server = try ServerProcess(data: rig.dir, token: Self.token, extra: ["--no-gateway"])
            try await rig.server.waitReady()
            try await Self.until("the gateway reconnects") { (try? await rig.gatewayHTTP.call(.GET, "/healthz").status) == 200 }
            try await Self.until("Twilio's retry goes through") {
                (try? await rig.inbound("SM20000000000000000000000000000002", "Bent u daar?").status) == 200
            }
            let ids = try await rig.messages(thread).compactMap { $0["external_message_id"] as? String }
            #expect(ids == ["SM20000000000000000000000000000001", "SM20000000000000000000000000000002"])
        }
    }

    @Test func anMMSIsIngestedFirstAndItsFilesFollowIntoTheAttachmentStore() async throws {
        try await Self.withRig { rig, twilio in
            try await rig.createChannel()
            try await rig.startGateway()
            _ = try await Self.firstInbound(rig, sid: "SM30000000000000000000000000000001", text: "Hallo")
            let sid = "MM30000000000000000000000000000002"
            let photo: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 0x42, count: 3000) + [0xFF, 0xD9]
            let photoURL = twilio.addMedia(messageSid: sid, contentType: "image/jpeg", bytes: photo)
            let photoID = String(photoURL.split(separator: "/").last!)
            twilio.server.enqueue(TwilioStandIn.error(503, code: 20503, message: "Service Unavailable"))  // the first fetch fails
            let r = try await rig.inbound(sid, "Zie foto", media: [(photoURL, "image/jpeg")])
            #expect(r.status == 200, "\(r)")
            // The message is there at once, its file still at Twilio.
            let thread = try #require(try await rig.threads().first?["id"] as? String)
            @Sendable func mms(_ sid: String) async throws -> [String: Any]? {
                try await rig.messages(thread).first { $0["external_message_id"] as? String == sid }
            }
            let first = try #require(try await mms(sid))
            #expect(first["message_content"] as? String == "Zie foto")
            let placeholder = try #require((first["attachments"] as? [[String: Any]])?.first)
            #expect(placeholder["file_name"] as? String == "mms-\(sid)-0.jpg" && placeholder["content_type"] as? String == "image/jpeg")

            // The photo follows: fetched again after the 503, then stored as attachment 0.
            try await Self.until("the photo is stored", seconds: 30) {
                (try await mms(sid)?["attachments"] as? [[String: Any]])?.first?["sha256"] as? String != nil
            }
            let stored = try #require((try await mms(sid)?["attachments"] as? [[String: Any]])?.first)
            let hex = SHA256.hash(data: photo).map { String(format: "%02x", $0) }.joined()
            #expect(stored["sha256"] as? String == hex)
            #expect(stored["size_bytes"] as? Int == photo.count)
            #expect((stored["url"] as? String)?.hasPrefix("/api/attachments/\(hex)") == true)
            #expect(stored["file_name"] as? String == "mms-\(sid)-0.jpg")
            #expect(twilio.mediaRequests.filter { $0.path.hasSuffix(photoID) }.count == 2, "one failure, one success")
            #expect(twilio.cdnRequests.count == 1, "the failed attempt never reached the media host")
            #expect(twilio.mediaRequests.allSatisfy { $0.header("authorization")?.hasPrefix("Basic ") == true })
            #expect(!twilio.cdnRequests.isEmpty && twilio.cdnRequests.allSatisfy { $0.header("authorization") == nil })

            // Twilio's repeat of the webhook is a duplicate; the file is fetched and stored again, which changes nothing.
            #expect(try await rig.inbound(sid, "Zie foto", media: [(photoURL, "image/jpeg")]).status == 200)
            try await Self.until("the repeat's fetch") { twilio.mediaRequests.filter { $0.path.hasSuffix(photoID) }.count == 3 }
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await rig.messages(thread).filter { $0["external_message_id"] as? String == sid }.count == 1)
            #expect((try await mms(sid)?["attachments"] as? [[String: Any]])?.first?["sha256"] as? String == hex)

            // A type the engine's store does not take: the message is there, and keeps Twilio's link.
            let other = "MM30000000000000000000000000000003"
            let program = twilio.addMedia(messageSid: other, contentType: "application/x-msdownload", bytes: Array("MZ".utf8))
            #expect(try await rig.inbound(other, "", media: [(program, "application/x-msdownload")]).status == 200)
            try await Self.until("the refused file's fetch") { twilio.mediaRequests.contains { $0.path.hasSuffix(program.split(separator: "/").last!) } }
            try await Task.sleep(for: .milliseconds(500))
            let kept = try #require((try await mms(other)?["attachments"] as? [[String: Any]])?.first)
            #expect(kept["sha256"] == nil && kept["url"] as? String == program)
            #expect(try await mms(other)?["message_content"] as? String == "[file]")
        }
    }
}
