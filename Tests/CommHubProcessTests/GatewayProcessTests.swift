import AsyncHTTPClient
import CommHubDomain
import CommHubStandIns
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// A real `commhub gateway` child process.
final class GatewayProcess: @unchecked Sendable {
    let process = Process()
    private let output = OutputBox()
    private(set) var httpPort = 0

    init(engine: String, token: String, extra: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        process.arguments = ["gateway", "--engine", engine, "--http-port", "0", "--log-level", "warning", "--name", "gw-test"] + extra
        var env = ProcessInfo.processInfo.environment
        env["COMMHUB_GATEWAY_TOKEN"] = token
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let box = output
        pipe.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            if !d.isEmpty { box.append(String(decoding: d, as: UTF8.self)) }
        }
        try process.run()
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

    var log: String { output.text }

    func waitReady(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let p = ServerProcess.port(after: "CommHub gateway serving http://127.0.0.1:", in: log)
                ?? ServerProcess.port(after: "CommHub gateway serving https://127.0.0.1:", in: log) {
                httpPort = p
                return
            }
            if !process.isRunning { throw ProcessFailure("gateway exited early:\n\(log)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ProcessFailure("gateway not ready in time:\n\(log)")
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A JSON client over AsyncHTTPClient for the process tests.
struct Fetch: Sendable {
    let client: HTTPClient
    let base: String
    let token: String?

    struct Answer: Sendable, CustomStringConvertible {
        let status: Int
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var description: String { "\(status) \(text.prefix(500))" }
    }

    func call(_ method: HTTPMethod, _ path: String, json: Any? = nil, raw: String? = nil,
              headers: [String: String] = [:]) async throws -> Answer {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        } else if let raw {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: raw))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        return Answer(status: Int(response.status.code), body: Array(body.readableBytesView))
    }
}

/// `commhub serve --no-gateway` and `commhub gateway` as two processes, with a
/// WhatsApp Cloud API stand-in on loopback: webhooks in through the gateway,
/// answers out exactly once, receipts back, and the faults that must not
/// double-send or lose anything (429 with Retry-After, a gateway killed
/// between claim and report, an engine killed while a send is in flight, a
/// provider that hangs).
@Suite(.serialized) struct GatewayProcessTests {
    static let token = "gateway-process-admin-token"
    static let appSecret = "meta-app-secret-for-tests"
    static let verifyToken = "meta-verify-token"

    final class Rig: @unchecked Sendable {
        let dir: String
        var server: ServerProcess
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var gateway: GatewayProcess?
        var gatewayToken = ""
        var engineAPI: Fetch { Fetch(client: http, base: "http://127.0.0.1:\(server.httpPort)", token: GatewayProcessTests.token) }
        var gatewayHTTP: Fetch { Fetch(client: http, base: "http://127.0.0.1:\(gateway!.httpPort)", token: nil) }

        init(serverExtra: [String] = []) async throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("commhub-gw-\(UUID().uuidString)").path
            server = try ServerProcess(data: dir, token: GatewayProcessTests.token, extra: ["--no-gateway"] + serverExtra)
            try await server.waitReady()
            let t = try await engineAPI.call(.POST, "/api/gateway-tokens", json: ["label": "test gateway"])
            guard t.status == 201, let secret = t.json["token"] as? String else { throw ProcessFailure("no gateway token: \(t)") }
            gatewayToken = secret
        }

        func startGateway(_ extra: [String] = []) async throws {
            let g = try GatewayProcess(engine: "unix:\(dir)/ingest.sock", token: gatewayToken, extra: extra)
            try await g.waitReady()
            gateway = g
            try await GatewayProcessTests.until("the gateway connects") { (try? await self.gatewayHTTP.call(.GET, "/healthz").status) == 200 }
        }

        func restartEngine(serverExtra: [String] = []) async throws {
            server = try ServerProcess(data: dir, token: GatewayProcessTests.token, extra: ["--no-gateway"] + serverExtra)
            try await server.waitReady()
        }

        /// A WhatsApp channel whose sends go to `standIn`; returns its id.
        func channel(_ standIn: StandInServer, phoneNumberID: String, name: String) async throws -> String {
            let r = try await engineAPI.call(.POST, "/api/communication/channels", json: [
                "channel_type": "whatsapp_business", "channel_name": name, "business_entity": "laderthuis",
                "configuration": ["phone_number_id": phoneNumberID, "app_secret": GatewayProcessTests.appSecret,
                                  "verify_token": GatewayProcessTests.verifyToken, "access_token": "EAAG-\(phoneNumberID)",
                                  "graph_base_url": standIn.baseURL + "/v21.0"],
            ] as [String: Any])
            guard r.status == 201, let id = r.json["id"] as? String else { throw ProcessFailure("channel: \(r)") }
            return id
        }

        /// A signed notification from Meta to the gateway; returns the thread id.
        func inbound(_ wamid: String, from waID: String, phoneNumberID: String, text: String) async throws -> String {
            let body = GatewayProcessTests.notification(phoneNumberID: phoneNumberID, items: """
                "contacts":[{"profile":{"name":"Klant"},"wa_id":"\(waID)"}],
                "messages":[{"from":"\(waID)","id":"\(wamid)","timestamp":"\(Int(Date().timeIntervalSince1970))","type":"text","text":{"body":"\(text)"}}]
                """)
            let r = try await gatewayHTTP.call(.POST, "/webhooks/whatsapp", raw: body,
                                               headers: ["X-Hub-Signature-256": GatewayProcessTests.sign(body)])
            guard r.status == 200, let results = r.json["results"] as? [[String: Any]],
                  let thread = results.first?["thread_id"] as? String else { throw ProcessFailure("webhook: \(r)") }
            return thread
        }

        func answer(_ thread: String, _ text: String) async throws -> String {
            let r = try await engineAPI.call(.POST, "/api/communication/messages",
                                             json: ["thread_id": thread, "message_type": "outgoing", "message_content": text])
            guard r.status == 201, let id = r.json["id"] as? String else { throw ProcessFailure("answer: \(r)") }
            return id
        }

        func message(_ id: String, in thread: String) async throws -> [String: Any]? {
            let r = try await engineAPI.call(.GET, "/api/communication/threads/\(thread)")
            return (r.json["messages"] as? [[String: Any]])?.first { $0["id"] as? String == id }
        }

        func shutdown() async {
            gateway?.kill9()
            _ = server.terminate()
            try? await http.shutdown()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    static func notification(phoneNumberID: String, items: String) -> String {
        """
        {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
         "messaging_product":"whatsapp","metadata":{"display_phone_number":"31201234567","phone_number_id":"\(phoneNumberID)"},
         \(items)}}]}]}
        """
    }

    static func receipt(_ wamid: String, _ status: String, phoneNumberID: String) -> String {
        notification(phoneNumberID: phoneNumberID, items: """
            "statuses":[{"id":"\(wamid)","status":"\(status)","timestamp":"\(Int(Date().timeIntervalSince1970))","recipient_id":"31612345678"}]
            """)
    }

    /// `sha256=<hex>` with Crypto, as Meta signs.
    static func sign(_ body: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(appSecret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    static func until(_ what: String, seconds: Double = 20, _ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ProcessFailure("timed out waiting for \(what)")
    }

    @Test func aWebhookThroughTheGatewayAnAnswerSentOnceAndItsReceiptDelivered() async throws {
        let meta = WhatsAppStandIn.make()
        try await meta.start()
        let rig = try await Rig()
        do {
            _ = try await rig.channel(meta, phoneNumberID: "106540352242922", name: "WhatsApp laderthuis")
            try await rig.startGateway()
            // The engine itself serves no webhooks with --no-gateway.
            #expect(try await rig.engineAPI.call(.POST, "/webhooks/whatsapp", raw: "{}").status == 404)
            try await Self.until("the gateway has the channel") {
                (try? await rig.inbound("wamid.IN-1", from: "31612345678", phoneNumberID: "106540352242922",
                                        text: "Mijn laadpaal werkt niet")) != nil
            }
            let threads = try await rig.engineAPI.call(.GET, "/api/communication/threads?status=all")
            let thread = try #require((threads.json["items"] as? [[String: Any]])?.first?["id"] as? String)
            let answer = try await rig.answer(thread, "We sturen morgen een monteur.")
            try await Self.until("the stand-in got the answer") { !meta.whatsappSends.isEmpty }
            let send = try #require(meta.whatsappSends.first)
            #expect(send.path == "/v21.0/106540352242922/messages")
            #expect(send.header("authorization") == "Bearer EAAG-106540352242922")
            let body = try #require(send.json as? [String: Any])
            #expect(body["to"] as? String == "31612345678")
            #expect((body["text"] as? [String: Any])?["body"] as? String == "We sturen morgen een monteur.")
            try await Self.until("sent with Meta's id") {
                try await rig.message(answer, in: thread)?["external_message_id"] as? String == "wamid.standin.0"
            }
            // Meta's receipt through the gateway moves it to delivered.
            let receipt = Self.receipt("wamid.standin.0", "delivered", phoneNumberID: "106540352242922")
            let r = try await rig.gatewayHTTP.call(.POST, "/webhooks/whatsapp", raw: receipt,
                                                   headers: ["X-Hub-Signature-256": Self.sign(receipt)])
            #expect(r.status == 200, "\(r)")
            try await Self.until("delivered") { try await rig.message(answer, in: thread)?["delivery_status"] as? String == "delivered" }
            // Exactly once, also a while later.
            try await Task.sleep(for: .seconds(2))
            #expect(meta.whatsappSends.count == 1)
            #expect(!rig.gateway!.log.contains("EAAG-"), "a secret reached the gateway's log")
        } catch {
            await rig.shutdown(); await meta.stop(); throw error
        }
        await rig.shutdown()
        await meta.stop()
    }

    @Test func a429WithRetryAfterIsSentOnceAfterTheWait() async throws {
        let meta = WhatsAppStandIn.make()
        try await meta.start()
        meta.enqueue(WhatsAppStandIn.error(429, code: 4, message: "(#4) Application request limit reached", headers: ["Retry-After": "2"]))
        let rig = try await Rig()
        do {
            _ = try await rig.channel(meta, phoneNumberID: "200300400", name: "WhatsApp 429")
            try await rig.startGateway()
            try await Self.until("the gateway has the channel") {
                (try? await rig.inbound("wamid.IN-429", from: "31600000429", phoneNumberID: "200300400", text: "Hallo")) != nil
            }
            let thread = try #require(((try await rig.engineAPI.call(.GET, "/api/communication/threads?status=all")).json["items"] as? [[String: Any]])?.first?["id"] as? String)
            let answer = try await rig.answer(thread, "Een moment geduld.")
            try await Self.until("the retry after the wait", seconds: 30) { meta.whatsappSends.count >= 2 }
            let sends = meta.whatsappSends
            #expect(sends[1].at.timeIntervalSince(sends[0].at) >= 1.9, "the second send waited for Retry-After")
            try await Self.until("sent") { try await rig.message(answer, in: thread)?["delivery_status"] as? String == "sent" }
            let metadata = try #require(try await rig.message(answer, in: thread)?["metadata"] as? [String: Any])
            #expect(metadata["delivery_attempts"] as? Int == 2)
            try await Task.sleep(for: .seconds(3))
            #expect(meta.whatsappSends.count == 2, "accepted once: no send after the 200")
        } catch {
            await rig.shutdown(); await meta.stop(); throw error
        }
        await rig.shutdown()
        await meta.stop()
    }

    @Test func aGatewayKilledBetweenClaimAndReportLeavesDeliveryUnknownWithATaskAndNeverSendsTwice() async throws {
        let meta = WhatsAppStandIn.make()
        try await meta.start()
        meta.enqueue(.hang)  // the first send never gets an answer: the gateway is between claim and report
        let rig = try await Rig()
        do {
            _ = try await rig.channel(meta, phoneNumberID: "300400500", name: "WhatsApp kill")
            try await rig.startGateway(["--provider-connect-timeout", "1", "--provider-read-timeout", "5", "--lease-seconds", "7"])
            try await Self.until("the gateway has the channel") {
                (try? await rig.inbound("wamid.IN-K", from: "31600000500", phoneNumberID: "300400500", text: "Hallo")) != nil
            }
            let thread = try #require(((try await rig.engineAPI.call(.GET, "/api/communication/threads?status=all")).json["items"] as? [[String: Any]])?.first?["id"] as? String)
            let answer = try await rig.answer(thread, "Wij bellen u.")
            try await Self.until("the send is in flight") { meta.whatsappSends.count == 1 }
            rig.gateway!.kill9()
            // A new gateway takes over at once; the lease of the dead one still holds the message.
            try await rig.startGateway(["--provider-connect-timeout", "1", "--provider-read-timeout", "2", "--lease-seconds", "5"])
            try await Self.until("the lease runs out: delivery unknown", seconds: 60) {
                let m = try await rig.message(answer, in: thread)
                return (m?["metadata"] as? [String: Any])?["delivery_unknown"] as? Bool == true
            }
            let tasks = try await rig.engineAPI.call(.GET, "/api/tasks?thread_id=\(thread)")
            let titles = (tasks.json["items"] as? [[String: Any]] ?? []).compactMap { $0["task_title"] as? String }
            #expect(titles.contains { $0.hasPrefix("Delivery unknown") }, "\(titles)")
            let view = try await rig.engineAPI.call(.GET, "/api/communication/threads/\(thread)")
            #expect(view.text.contains("system_notification"))
            try await Task.sleep(for: .seconds(3))
            #expect(meta.whatsappSends.count == 1, "an unknown outcome is never sent again by itself")
            // The one-click resend is a person's decision, and it is sent once.
            let resent = try await rig.engineAPI.call(.POST, "/api/communication/messages/\(answer)/resend")
            #expect(resent.status == 201, "\(resent)")
            try await Self.until("the resend reaches the stand-in") { meta.whatsappSends.count == 2 }
        } catch {
            await rig.shutdown(); await meta.stop(); throw error
        }
        await rig.shutdown()
        await meta.stop()
    }

    @Test func anEngineKilledWhileASendIsInFlightLosesNothingAndTheGatewayReconnects() async throws {
        let meta = WhatsAppStandIn.make()
        try await meta.start()
        meta.enqueue(.delayed(.seconds(3), status: 200, headers: ["Content-Type": "application/json"],
                              body: Array(#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.during-crash"}]}"#.utf8)))
        let rig = try await Rig()
        do {
            _ = try await rig.channel(meta, phoneNumberID: "400500600", name: "WhatsApp crash")
            try await rig.startGateway()
            try await Self.until("the gateway has the channel") {
                (try? await rig.inbound("wamid.IN-C", from: "31600000600", phoneNumberID: "400500600", text: "Hallo")) != nil
            }
            let thread = try #require(((try await rig.engineAPI.call(.GET, "/api/communication/threads?status=all")).json["items"] as? [[String: Any]])?.first?["id"] as? String)
            let answer = try await rig.answer(thread, "Uw afspraak staat.")
            try await Self.until("the send is in flight") { meta.whatsappSends.count == 1 }
            rig.server.kill9()
            // While the engine is away the gateway answers webhooks with 503, so Meta retries.
            let during = Self.notification(phoneNumberID: "400500600", items: """
                "messages":[{"from":"31600000600","id":"wamid.IN-C2","timestamp":"\(Int(Date().timeIntervalSince1970))","type":"text","text":{"body":"Nog iets"}}]
                """)
            let refused = try await rig.gatewayHTTP.call(.POST, "/webhooks/whatsapp", raw: during,
                                                         headers: ["X-Hub-Signature-256": Self.sign(during)])
            #expect(refused.status == 503, "\(refused)")
            try await rig.restartEngine()
            try await Self.until("the gateway reconnects") { (try? await rig.gatewayHTTP.call(.GET, "/healthz").status) == 200 }
            // Meta's retry now goes through; the answer's outcome reached the engine after the restart.
            let retried = try await rig.gatewayHTTP.call(.POST, "/webhooks/whatsapp", raw: during,
                                                         headers: ["X-Hub-Signature-256": Self.sign(during)])
            #expect(retried.status == 200, "\(retried)")
            try await Self.until("the report survives the engine's restart", seconds: 30) {
                try await rig.message(answer, in: thread)?["external_message_id"] as? String == "wamid.during-crash"
            }
            #expect(try await rig.message(answer, in: thread)?["delivery_status"] as? String == "sent")
            let view = try await rig.engineAPI.call(.GET, "/api/communication/threads/\(thread)")
            #expect(view.text.contains("wamid.IN-C\"") && view.text.contains("wamid.IN-C2"), "acknowledged inbound messages survive")
            #expect(meta.whatsappSends.count == 1)
        } catch {
            await rig.shutdown(); await meta.stop(); throw error
        }
        await rig.shutdown()
        await meta.stop()
    }

    @Test func aHangingProviderDoesNotHoldUpAnotherChannel() async throws {
        let stuck = WhatsAppStandIn.make()
        let fine = WhatsAppStandIn.make()
        try await stuck.start()
        try await fine.start()
        stuck.enqueue(.hang, .hang, .hang, .hang, .hang)
        let rig = try await Rig()
        do {
            _ = try await rig.channel(stuck, phoneNumberID: "500600700", name: "WhatsApp stuck")
            _ = try await rig.channel(fine, phoneNumberID: "600700800", name: "WhatsApp fine")
            try await rig.startGateway()
            try await Self.until("the gateway has the channels") {
                let a = try? await rig.inbound("wamid.S", from: "31600000700", phoneNumberID: "500600700", text: "A")
                let b = try? await rig.inbound("wamid.F", from: "31600000800", phoneNumberID: "600700800", text: "B")
                return a != nil && b != nil
            }
            let items = (try await rig.engineAPI.call(.GET, "/api/communication/threads?status=all")).json["items"] as? [[String: Any]] ?? []
            var threadOf: [String: String] = [:]
            for item in items {
                let id = item["id"] as! String
                let v = try await rig.engineAPI.call(.GET, "/api/communication/threads/\(id)").text
                threadOf[v.contains("wamid.S") ? "stuck" : "fine"] = id
            }
            // Five answers on the stuck channel fill its slots; one on the other channel must still go out.
            for i in 0..<5 { _ = try await rig.answer(threadOf["stuck"]!, "vast \(i)") }
            try await Self.until("the stuck channel's sends hang") { stuck.recorded(path: "/messages").count >= 4 }
            let fineThread = try #require(threadOf["fine"])
            let other = try await rig.answer(fineThread, "Dit gaat gewoon door.")
            try await Self.until("the other channel delivers while the first hangs", seconds: 10) {
                try await rig.message(other, in: fineThread)?["delivery_status"] as? String == "sent"
            }
            #expect(fine.whatsappSends.count == 1)
        } catch {
            await rig.shutdown(); await stuck.stop(); await fine.stop(); throw error
        }
        await rig.shutdown()
        await stuck.stop()
        await fine.stop()
    }
}
