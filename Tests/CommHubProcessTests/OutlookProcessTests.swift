import AsyncHTTPClient
import CommHubDomain
import CommHubStandIns
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Outlook mail end to end through two processes — `commhub serve
/// --no-gateway` and `commhub gateway` — with a stand-in of Microsoft's
/// login service and Graph on loopback that validates webhook URLs and
/// posts notifications to the gateway as Graph does.
@Suite(.serialized) struct OutlookProcessTests {
    static let token = "outlook-process-admin-token"
    static let customer = GraphStandIn.Address("jan@klant.nl", name: "Jan Jansen")

    final class Rig: @unchecked Sendable {
        let dir: String
        var server: ServerProcess
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var gateway: GatewayProcess?
        var gatewayToken = ""
        let graph: GraphStandIn
        var channelID = ""
        let gatewayPort: Int
        var engineAPI: Fetch { Fetch(client: http, base: "http://127.0.0.1:\(server.httpPort)", token: OutlookProcessTests.token) }
        var gatewayHTTP: Fetch { Fetch(client: http, base: "http://127.0.0.1:\(gatewayPort)", token: nil) }
        var webhookURL: String { "http://127.0.0.1:\(gatewayPort)/webhooks/outlook" }

        init(graph: GraphStandIn) async throws {
            self.graph = graph
            gatewayPort = try OutlookProcessTests.freePort()
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("commhub-outlook-\(UUID().uuidString)").path
            server = try ServerProcess(data: dir, token: OutlookProcessTests.token, extra: ["--no-gateway"])
            try await server.waitReady()
            let t = try await engineAPI.call(.POST, "/api/gateway-tokens", json: ["label": "outlook test gateway"])
            guard t.status == 201, let secret = t.json["token"] as? String else { throw ProcessFailure("no gateway token: \(t)") }
            gatewayToken = secret
        }

        /// Extra gateway arguments (a short `--provider-read-timeout` for tests of a hanging Graph).
        var gatewayArguments: [String] = []

        func startGateway() async throws {
            let g = try GatewayProcess(engine: "unix:\(dir)/ingest.sock", token: gatewayToken,
                                       extra: ["--http-port", "\(gatewayPort)", "--log-level", "info"] + gatewayArguments)
            try await g.waitReady()
            gateway = g
            try await OutlookProcessTests.until("the gateway connects") { (try? await self.gatewayHTTP.call(.GET, "/healthz").status) == 200 }
        }

        func restartEngine() async throws {
            _ = server.terminate()
            server = try ServerProcess(data: dir, token: OutlookProcessTests.token, extra: ["--no-gateway"])
            try await server.waitReady()
        }

        /// The Outlook channel, pointed at the stand-in and the gateway; waits for its subscriptions.
        @discardableResult
        func createChannel(_ extra: [String: Any] = [:], subscriptions: Int = 2) async throws -> String {
            var configuration: [String: Any] = [
                "tenant_id": graph.tenant, "client_id": graph.clientID, "client_secret": graph.clientSecret, "mailbox": graph.mailbox,
                "login_base_url": graph.loginBaseURL, "graph_base_url": graph.graphBaseURL, "webhook_url": webhookURL,
                "email_signature": "Met vriendelijke groet,\nChargeCars klantenservice",
            ]
            for (k, v) in extra { configuration[k] = v }
            let r = try await engineAPI.call(.POST, "/api/communication/channels", json: [
                "channel_type": "email_outlook", "channel_name": "Outlook support", "business_entity": "chargecars",
                "configuration": configuration,
            ] as [String: Any])
            guard r.status == 201, let id = r.json["id"] as? String else { throw ProcessFailure("channel: \(r)") }
            channelID = id
            try await OutlookProcessTests.until("\(subscriptions) subscriptions") { self.graph.subscriptions.count == subscriptions }
            // The start-up delta round of each target has been asked (and answered, and its link stored):
            // mail delivered from now on is not in it, so tests see what notifications alone do.
            try await OutlookProcessTests.until("the start-up delta rounds") {
                self.graph.server.recorded.filter { $0.path.hasSuffix("/delta") }.count >= subscriptions
            }
            try await Task.sleep(for: .milliseconds(300))
            return id
        }

        func threads() async throws -> [[String: Any]] {
            (try await engineAPI.call(.GET, "/api/communication/threads?status=all")).json["items"] as? [[String: Any]] ?? []
        }

        func messages(_ thread: String) async throws -> [[String: Any]] {
            (try await engineAPI.call(.GET, "/api/communication/threads/\(thread)")).json["messages"] as? [[String: Any]] ?? []
        }

        /// The thread holding the message with this Graph id, once it exists.
        func thread(of graphID: String, seconds: Double = 20) async throws -> String {
            var found: String?
            try await OutlookProcessTests.until("message \(graphID.prefix(12)) in a thread", seconds: seconds) {
                for t in try await self.threads() {
                    guard let id = t["id"] as? String else { continue }
                    if try await self.messages(id).contains(where: { $0["external_message_id"] as? String == graphID }) {
                        found = id
                        return true
                    }
                }
                return false
            }
            return found!
        }

        /// A task by id, whatever its status (the API lists tasks; it has no route for one).
        func task(_ id: String) async throws -> [String: Any]? {
            let all = try await engineAPI.call(.GET, "/api/tasks?status=open,in_progress,waiting,completed,cancelled")
            return (all.json["items"] as? [[String: Any]])?.first { $0["id"] as? String == id }
        }

        func messageCount() async throws -> Int {
            var n = 0
            for t in try await threads() { n += try await messages(t["id"] as! String).count }
            return n
        }

        func subscription(_ folder: String) throws -> GraphStandIn.Subscription {
            guard let s = graph.subscriptions.first(where: { GraphStandIn.resource($0.resource, isFolder: folder) }) else {
                throw ProcessFailure("no subscription for \(folder)")
            }
            return s
        }

        func mail(_ subject: String, _ body: String, html: Bool = false, from: GraphStandIn.Address = OutlookProcessTests.customer)
            -> GraphStandIn.Mail {
            GraphStandIn.Mail(from: from, to: [.init(graph.mailbox, name: "ChargeCars support")], subject: subject, body: body, html: html)
        }

        func shutdown() async {
            gateway?.kill9()
            _ = server.terminate()
            try? await http.shutdown()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    static func until(_ what: String, seconds: Double = 20, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ProcessFailure("timed out waiting for \(what)")
    }

    /// A port for the gateway, fixed before it starts (the channel's webhook
    /// URL names it, across gateway restarts). Chosen below Linux's ephemeral
    /// range (32768–60999): a port taken from there was handed out again by
    /// `bind(0)` to a parallel test before the gateway bound it ("address
    /// already in use", one full run in several).
    static func freePort() throws -> Int {
        for _ in 0..<200 {
            let port = UInt16.random(in: 20_000..<32_000)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = port.bigEndian
            let len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
            if bound == 0 { return Int(port) }
        }
        throw ProcessFailure("no free port in 20000–31999")
    }

    /// Runs `body` with a started stand-in, engine and gateway; always cleans up.
    static func withRig(gatewayArguments: [String] = [], _ body: (Rig, GraphStandIn) async throws -> Void) async throws {
        let graph = GraphStandIn()
        try await graph.start()
        let rig: Rig
        do {
            rig = try await Rig(graph: graph)
        } catch {
            await graph.stop(); throw error
        }
        rig.gatewayArguments = gatewayArguments
        do {
            try await rig.startGateway()
            try await body(rig, graph)
        } catch {
            if let g = rig.gateway { print("gateway log:\n\(g.log.suffix(4000))") }
            print("graph requests:\n" + graph.server.recorded.suffix(40).map { "\($0.method) \($0.path)?\($0.query)" }.joined(separator: "\n"))
            await rig.shutdown(); await graph.stop(); throw error
        }
        await rig.shutdown()
        await graph.stop()
    }

    // MARK: Handshake and subscriptions

    @Test func theHandshakeDecodesTheTokenAndSubscriptionsAreMadeAsDocumented() async throws {
        try await Self.withRig { rig, graph in
            for path in ["/webhooks/outlook", "/webhooks/outlook/lifecycle"] {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(rig.gatewayPort)\(path)?validationToken=Validation%3a+Testing+client%26%3Cb%3E")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
                let response = try await rig.http.execute(request, timeout: .seconds(10))
                let body = try await response.body.collect(upTo: 1 << 16)
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
                #expect(String(buffer: body) == "Validation: Testing client&<b>")
            }
            try await rig.createChannel()
            let inbox = try rig.subscription("inbox"), sent = try rig.subscription("sentitems")
            #expect(inbox.resource == "users/\(graph.mailbox)/mailFolders('inbox')/messages")
            #expect(inbox.changeType == "created,updated")
            #expect(sent.changeType == "created")
            #expect(inbox.notificationURL == rig.webhookURL)
            #expect(inbox.lifecycleURL == rig.webhookURL + "/lifecycle")
            #expect(inbox.clientState?.count == 43 && inbox.clientState != sent.clientState)
            #expect(inbox.expiration.timeIntervalSinceNow > 69 * 3600 && inbox.expiration.timeIntervalSinceNow < 4_230 * 60)
            // The secrets never reach a log or the API.
            let channel = try await rig.engineAPI.call(.GET, "/api/communication/channels/\(rig.channelID)")
            #expect(!channel.text.contains(graph.clientSecret) && !channel.text.contains(inbox.clientState!))
            #expect(!rig.gateway!.log.contains(inbox.clientState!) && !rig.server.log.contains(inbox.clientState!))
        }
    }

    // MARK: Notifications

    @Test func aNotificationLeadsToFetchThreadAndCustomerAndTwiceIsOnce() async throws {
        try await Self.withRig { rig, graph in
            try await rig.createChannel()
            var first = rig.mail("Laadpaal werkt niet", "<p>Mijn laadpaal <b>werkt niet</b> sinds gisteren.</p>", html: true)
            first.headers = [("X-Mailer", "Outlook")]
            let id = await graph.deliver(first)
            #expect(graph.notificationAnswers.last == 202)
            let thread = try await rig.thread(of: id)
            let messages = try await rig.messages(thread)
            let m = try #require(messages.first)
            #expect(m["message_type"] as? String == "incoming")
            #expect(m["message_content"] as? String == "Mijn laadpaal werkt niet sinds gisteren.")
            #expect(m["message_html"] as? String == "<p>Mijn laadpaal <b>werkt niet</b> sinds gisteren.</p>")
            #expect((m["sender_external"] as? [String: Any])?["email"] as? String == "jan@klant.nl")
            let detail = try await rig.engineAPI.call(.GET, "/api/communication/threads/\(thread)")
            #expect(detail.text.contains(first.conversationID))
            // The customer was created from the sender and linked.
            let customers = try await rig.engineAPI.call(.GET, "/api/customers?q=jan%40klant.nl")
            let customer = try #require((customers.json["items"] as? [[String: Any]])?.first)
            #expect(customer["name"] as? String == "Jan Jansen")
            // The same notification again, twice: still one message.
            await graph.notifyCreated(id, folder: "inbox", force: true)
            await graph.notifyCreated(id, folder: "inbox", changeType: "updated", force: true)
            #expect(graph.notificationAnswers.suffix(2) == [202, 202])
            try await Task.sleep(for: .seconds(1))
            #expect(try await rig.messageCount() == 1)
            // The customer's answer, in the same conversation, joins the thread.
            var second = rig.mail("RE: Laadpaal werkt niet", "Nog steeds stuk.")
            second.conversationID = first.conversationID
            second.headers = [("In-Reply-To", "<something@chargecars.nl>")]
            let id2 = await graph.deliver(second)
            #expect(try await rig.thread(of: id2) == thread)
            #expect(try await rig.threads().count == 1)
        }
    }

    /// Graph hangs, throttles and fails while a mail is fetched: the webhook is still answered
    /// 202 at once (fetching comes after), the fetch is tried again (after Graph's Retry-After
    /// when it names one), and the mail reaches its thread once.
    @Test func aHangingThrottledFailingGraphStillDeliversTheMailOnce() async throws {
        try await Self.withRig(gatewayArguments: ["--provider-read-timeout", "2"]) { rig, graph in
            try await rig.createChannel()
            try await Task.sleep(for: .milliseconds(500))  // the start-up delta round is done
            let isFetch: @Sendable (RecordedRequest) -> Bool = {
                $0.method == "GET" && $0.path.contains("/messages/") && !$0.path.contains("delta") && !$0.path.contains("attachments")
            }
            graph.server.enqueue(.hang,
                                 .json(429, ["error": ["code": "ApplicationThrottled", "message": "slow down"]], headers: ["Retry-After": "1"]),
                                 .json(503, ["error": ["code": "ServiceUnavailable", "message": "later"]], headers: ["Retry-After": "1"]),
                                 when: isFetch)
            let id = await graph.deliver(rig.mail("Factuur klopt niet", "Het bedrag is te hoog."))
            #expect(graph.notificationAnswers.last == 202)
            // Answered while the first fetch was still hanging (or not yet made): the answer never waits for Graph.
            #expect(graph.server.recorded.filter(isFetch).count <= 1)
            let thread = try await rig.thread(of: id, seconds: 25)  // 2 s hang, 5 s pause, 1 s, 1 s: Retry-After is honoured, not stretched
            #expect(graph.server.recorded.filter(isFetch).count == 4, "hang, 429, 503, then the answer")
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await rig.messages(thread).count == 1)
            #expect(try await rig.threads().count == 1)
        }
    }

    @Test func aWrongClientStateIsRejectedAndAnUnknownSubscriptionIgnored() async throws {
        try await Self.withRig { rig, graph in
            try await rig.createChannel()
            graph.loseNotifications(true)
            let id = await graph.deliver(rig.mail("Gestolen", "Niet ophalen"))
            let inbox = try rig.subscription("inbox")
            func notification(_ subscription: String, _ state: String) -> [String: Any] {
                ["value": [["subscriptionId": subscription, "clientState": state, "changeType": "created",
                            "resource": "Users/x/Messages/\(id)", "resourceData": ["@odata.type": "#Microsoft.Graph.Message", "id": id]]]]
            }
            let forged = await graph.post(rig.webhookURL, json: notification(inbox.id, "guessed-secret"))
            #expect(forged == 403)
            var almost = Array(inbox.clientState!.utf8)
            almost[almost.count - 1] ^= 1
            #expect(await graph.post(rig.webhookURL, json: notification(inbox.id, String(decoding: almost, as: UTF8.self))) == 403)
            #expect(await graph.post(rig.webhookURL, json: notification("00000000-dead-beef-0000-000000000000", "x")) == 202)
            #expect(await graph.post(rig.webhookURL, json: ["value": 7]) == 400)
            try await Task.sleep(for: .seconds(1))
            #expect(graph.server.graph("GET", "/messages/\(id)").isEmpty, "a refused notification is processed not at all")
            #expect(try await rig.threads().isEmpty)
        }
    }

    // MARK: Lifecycle and delta

    @Test func everyLifecycleEventIsHandled() async throws {
        try await Self.withRig { rig, graph in
            try await rig.createChannel()
            let inbox = try rig.subscription("inbox")
            // reauthorizationRequired: the subscription is reauthorized.
            #expect(await graph.lifecycle("reauthorizationRequired", subscription: inbox.id) == 202)
            try await Self.until("reauthorize") { !graph.server.graph("POST", "/subscriptions/\(inbox.id)/reauthorize").isEmpty }
            // missed: a mail whose notification was lost is caught up by delta.
            graph.loseNotifications(true)
            let lost = await graph.deliver(rig.mail("Gemist", "Deze notificatie kwam nooit aan"))
            #expect(await graph.lifecycle("missed", subscription: inbox.id) == 202)
            _ = try await rig.thread(of: lost)
            // subscriptionRemoved: created again, then caught up by delta.
            let during = await graph.deliver(rig.mail("Tijdens", "Terwijl de subscription weg was"))
            #expect(await graph.lifecycle("subscriptionRemoved", subscription: inbox.id) == 202)
            try await Self.until("a new inbox subscription") { (try? rig.subscription("inbox").id) .map { $0 != inbox.id } ?? false }
            _ = try await rig.thread(of: during)
            graph.loseNotifications(false)
            // The new subscription's notifications are accepted (its secret is known to the gateway).
            let after = await graph.deliver(rig.mail("Daarna", "Via de nieuwe subscription"))
            #expect(graph.notificationAnswers.last == 202)
            _ = try await rig.thread(of: after)
            #expect(graph.subscriptions.count == 2)
        }
    }

    @Test func tokenExpiryMidRunRefreshesOnceAndMailStillFlows() async throws {
        try await Self.withRig { rig, graph in
            try await rig.createChannel()
            _ = try await rig.thread(of: await graph.deliver(rig.mail("Eerste", "Een")))
            let issued = graph.tokensIssued
            graph.expireTokens()
            let second = await graph.deliver(rig.mail("Tweede", "Twee"))
            _ = try await rig.thread(of: second)
            #expect(graph.tokensIssued == issued + 1)
            let refused = graph.server.recorded.filter { $0.path.contains("/messages/") && $0.method == "GET" }
            #expect(refused.count >= 2)
        }
    }

    @Test func aMailDeliveredWhileNotificationsAreLostIsRecoveredByDeltaAndRemovedAndResyncMakeNoDuplicates() async throws {
        try await Self.withRig { rig, graph in
            try await rig.createChannel()
            graph.capPageSize(1)  // every round follows @odata.nextLink
            graph.loseNotifications(true)
            let a = await graph.deliver(rig.mail("Verloren 1", "Geen notificatie"))
            let b = await graph.deliver(rig.mail("Verloren 2", "Ook niet", from: .init("piet@klant.nl")))
            // The gateway restarts: delta at start finds both.
            rig.gateway?.kill9()
            try await rig.startGateway()
            let threadA = try await rig.thread(of: a)
            _ = try await rig.thread(of: b)
            #expect(!graph.server.recorded.filter { $0.query.contains("skiptoken") }.isEmpty, "nextLink was followed")
            #expect(!graph.server.recorded.filter { $0.query.contains("deltatoken") }.isEmpty, "the stored deltaLink was used")
            let count = try await rig.messageCount()
            // @removed: the message is marked, nothing is created.
            graph.remove(a)
            #expect(await graph.lifecycle("missed", subscription: try rig.subscription("inbox").id) == 202)
            try await Self.until("the removal is recorded") {
                let m = try await rig.messages(threadA).first { $0["external_message_id"] as? String == a }
                return (m?["metadata"] as? [String: Any])?["removed_at_provider"] != nil
            }
            #expect(try await rig.messageCount() == count)
            // An expired delta token: 410, a full resync, and no duplicates.
            graph.expireDeltaTokens()
            let c = await graph.deliver(rig.mail("Na de resync", "Drie"))
            #expect(await graph.lifecycle("missed", subscription: try rig.subscription("inbox").id) == 202)
            _ = try await rig.thread(of: c)
            try await Self.until("a 410 was answered") { graph.server.recorded.contains { $0.query.contains("deltatoken") } }
            #expect(try await rig.messageCount() == count + 1)
        }
    }

    // MARK: Outbound

    @Test func anAnswerRepliesInTheConversationAndItsSentItemsCopyIsNotLoggedTwice() async throws {
        try await Self.withRig { rig, graph in
            try await rig.createChannel()
            let id = await graph.deliver(rig.mail("Offerte", "Wat kost een laadpaal?"))
            let thread = try await rig.thread(of: id)
            let r = try await rig.engineAPI.call(.POST, "/api/communication/messages", json: [
                "thread_id": thread, "message_type": "outgoing", "message_content": "Een laadpaal kost € 899.\nGroet",
            ])
            #expect(r.status == 201, "\(r)")
            let answer = try #require(r.json["id"] as? String)
            try await Self.until("the reply reaches Graph") { !graph.server.graph("POST", "/reply").isEmpty }
            let request = try #require(graph.server.graph("POST", "/reply").first)
            #expect(request.path.removingPercentEncoding == "/v1.0/users/\(graph.mailbox)/messages/\(id)/reply")
            let body = try #require(request.json as? [String: Any])
            #expect((body["comment"] as? String)?.contains("Een laadpaal kost € 899.<br>") == true)
            #expect((body["comment"] as? String)?.contains("ChargeCars klantenservice") == true)
            let message = try #require(body["message"] as? [String: Any])
            #expect(message["body"] == nil)
            #expect(((message["toRecipients"] as? [[String: Any]])?.first?["emailAddress"] as? [String: Any])?["address"] as? String == "jan@klant.nl")
            #expect((message["internetMessageHeaders"] as? [[String: Any]])?.first?["value"] as? String == answer)
            // 202 → sent; the Sent Items copy names the message: its id is learnt, nothing is logged twice.
            let copy = try #require(graph.sentItems.first)
            try await Self.until("the id learnt from Sent Items") {
                try await rig.messages(thread).first { $0["id"] as? String == answer }?["external_message_id"] as? String == copy.id
            }
            let messages = try await rig.messages(thread)
            #expect(messages.count == 2)
            #expect(messages.last?["delivery_status"] as? String == "sent")
            #expect(graph.server.graph("POST", "/reply").count == 1)
        }
    }

    @Test func aNewConversationGoesOutBySendMailAndItsAnswerFindsTheThread() async throws {
        try await Self.withRig { rig, graph in
            try await rig.createChannel()
            let t = try await rig.engineAPI.call(.POST, "/api/communication/threads", json: [
                "thread_subject": "Uw installatie op 3 december", "channel_type": "email_outlook", "business_entity": "chargecars",
            ])
            #expect(t.status == 201, "\(t)")
            let thread = try #require(t.json["id"] as? String)
            let r = try await rig.engineAPI.call(.POST, "/api/communication/messages", json: [
                "thread_id": thread, "message_type": "outgoing", "channel_id": rig.channelID, "message_content": "Wij komen om 9 uur.",
                "recipient_external": ["name": "Piet", "email": "piet@klant.nl"],
            ] as [String: Any])
            #expect(r.status == 201, "\(r)")
            let answer = try #require(r.json["id"] as? String)
            try await Self.until("sendMail") { !graph.server.graph("POST", "/sendMail").isEmpty }
            let body = try #require(graph.server.graph("POST", "/sendMail").first?.json as? [String: Any])
            let message = try #require(body["message"] as? [String: Any])
            #expect(message["subject"] as? String == "Uw installatie op 3 december")
            #expect(message["internetMessageId"] as? String == "<commhub.\(answer)@chargecars.nl>")
            try await Self.until("the id learnt") { try await rig.messages(thread).last?["external_message_id"] as? String != nil }
            #expect(try await rig.messages(thread).count == 1)
            // Piet answers it: In-Reply-To names CommHub's Message-ID.
            var reply = rig.mail("RE: Uw installatie op 3 december", "Prima!", from: .init("piet@klant.nl"))
            reply.headers = [("In-Reply-To", "<commhub.\(answer)@chargecars.nl>")]
            let replyID = await graph.deliver(reply)
            #expect(try await rig.thread(of: replyID) == thread)
        }
    }

    @Test func mailAPersonSendsFromOutlookIsLoggedAsOutgoingOnce() async throws {
        try await Self.withRig { rig, graph in
            try await rig.createChannel()
            let inbound = rig.mail("Factuur", "Waar blijft mijn factuur?")
            let id = await graph.deliver(inbound)
            let thread = try await rig.thread(of: id)
            var sent = GraphStandIn.Mail(from: .init(graph.mailbox, name: "Sanne"), to: [Self.customer], subject: "RE: Factuur",
                                         body: "<p>Hierbij uw factuur.</p>", html: true)
            sent.conversationID = inbound.conversationID
            sent.headers = [("In-Reply-To", inbound.internetMessageID)]
            let sentID = await graph.deliver(sent, folder: "sentitems")
            #expect(try await rig.thread(of: sentID) == thread)
            await graph.notifyCreated(sentID, folder: "sentitems", force: true)
            try await Task.sleep(for: .seconds(1))
            let messages = try await rig.messages(thread)
            #expect(messages.count == 2)
            let logged = try #require(messages.last)
            #expect(logged["message_type"] as? String == "outgoing")
            #expect(logged["delivery_status"] as? String == "sent")
            #expect(logged["message_content"] as? String == "Hierbij uw factuur.")
            #expect(graph.server.graph("POST", "/reply").isEmpty && graph.server.graph("POST", "/sendMail").isEmpty, "never sent again")
        }
    }

    // MARK: Content

    @Test func aHostileHTMLMailIsShownSafelyWithItsInlineImageStored() async throws {
        try await Self.withRig { rig, graph in
            try await rig.createChannel()
            let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 64)
            var mail = rig.mail("Storing", #"""
                <html><head><script>steal(document.cookie)</script><meta http-equiv="refresh" content="0;url=https://evil.example">
                <style>p{background:url(https://evil.example/x.png)}</style></head>
                <body onload="x()"><p>Zie foto:</p><img src="cid:foto1@klant" alt="foto"><img src="https://tracker.example/p.gif">
                <a href="javascript:alert(1)">klik</a><a href="https://chargecars.nl/storing">storing melden</a>
                <iframe src="https://evil.example"></iframe><svg onload="alert(2)"><script>alert(3)</script></svg>
                <form action="https://evil.example"><input type="password"></form></body></html>
                """#, html: true)
            mail.files = [GraphStandIn.File(name: "foto.png", contentType: "image/png", bytes: png, isInline: true, contentID: "<foto1@klant>")]
            let id = await graph.deliver(mail)
            let thread = try await rig.thread(of: id)
            let m = try #require(try await rig.messages(thread).first)
            let html = try #require(m["message_html"] as? String)
            for bad in ["<script", "onload", "javascript:", "evil.example", "tracker.example", "<iframe", "<svg", "<form", "<input",
                        "<meta", "<style", "cid:"] {
                #expect(!html.lowercased().contains(bad), "\(bad) survived: \(html)")
            }
            #expect(html.contains(#"<a href="https://chargecars.nl/storing" target="_blank" rel="noopener noreferrer nofollow">storing melden</a>"#))
            // As a browser shows it: the paragraph ends in a blank line, the two adjacent links run together.
            #expect(m["message_content"] as? String == "Zie foto:\n\n[foto] klikstoring melden (https://chargecars.nl/storing)")
            // The inline image points at its stored file, which the thread's people can fetch.
            let attachment = try #require((m["attachments"] as? [[String: Any]])?.first)
            let sha = try #require(attachment["sha256"] as? String)
            #expect(html.contains(#"<img src="/api/attachments/\#(sha)" alt="foto">"#))
            let file = try await rig.engineAPI.call(.GET, "/api/attachments/\(sha)?message_id=\(m["id"] as! String)")
            #expect(file.status == 200)
            #expect(file.body == png)
        }
    }

    @Test func attachmentsAreFetchedIntoTheStoreLargeOnesByValue() async throws {
        try await Self.withRig { rig, graph in
            try await rig.createChannel()
            let small = Array("factuur".utf8)
            let large = (0..<(3 * 1024 * 1024 + 100)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            var mail = rig.mail("Bijlagen", "Zie bijlagen")
            mail.files = [GraphStandIn.File(name: "factuur.pdf", contentType: "application/pdf", bytes: small),
                          GraphStandIn.File(name: "foto-groot.jpg", contentType: "image/jpeg", bytes: large)]
            let id = await graph.deliver(mail)
            let thread = try await rig.thread(of: id)
            try await Self.until("both files stored", seconds: 30) {
                let files = (try await rig.messages(thread).first?["attachments"] as? [[String: Any]]) ?? []
                return files.count == 2 && files.allSatisfy { $0["sha256"] is String }
            }
            let files = try #require(try await rig.messages(thread).first?["attachments"] as? [[String: Any]])
            let m = try #require(try await rig.messages(thread).first?["id"] as? String)
            let big = try await rig.engineAPI.call(.GET, "/api/attachments/\(files[1]["sha256"] as! String)?message_id=\(m)")
            #expect(big.body == large)
            #expect(!graph.server.graph("GET", "/$value").isEmpty, "the large file came by /$value")
        }
    }

    // MARK: Calendar

    @Test func calendarEventsGiveFollowUpTasksThatFollowChangesAndCancellations() async throws {
        try await Self.withRig { rig, graph in
            let team = try await rig.engineAPI.call(.POST, "/api/teams", json: ["name": "Planning"])
            let teamID = try #require(team.json["id"] as? String)
            let sanne = try await rig.engineAPI.call(.POST, "/api/contacts", json: [
                "name": "Sanne", "email": "sanne@chargecars.nl", "role": "agent", "teams": [teamID],
            ] as [String: Any])
            let sanneID = try #require(sanne.json["id"] as? String, "\(sanne)")
            let dir = try await rig.engineAPI.call(.POST, "/api/directory", json: [
                "customers": [["id": UUID().uuidString.lowercased(), "name": "Jan Jansen", "emails": ["jan@klant.nl"]]],
            ] as [String: Any])
            #expect(dir.status == 200 || dir.status == 201, "\(dir)")
            try await rig.createChannel(["calendar": "planning@chargecars.nl"], subscriptions: 3)
            var event = GraphStandIn.Event(subject: "Follow-up: Jan terugbellen", start: Date(iso8601: "2026-12-01T09:30:00Z")!,
                                           organizer: .init("sanne@chargecars.nl", name: "Sanne"))
            event.attendees = [.init("jan@klant.nl")]
            event.bodyPreview = "Over de offerte"
            await graph.put(event)
            var task: [String: Any] = [:]
            try await Self.until("a follow-up task") {
                let tasks = try await rig.engineAPI.call(.GET, "/api/tasks?status=open,cancelled,in_progress,waiting,completed")
                guard let t = (tasks.json["items"] as? [[String: Any]])?.first(where: { $0["task_type"] as? String == "follow_up" }) else { return false }
                task = t
                return true
            }
            #expect(task["task_title"] as? String == "Jan terugbellen")
            #expect(task["assigned_to_contact_id"] as? String == sanneID)
            #expect(task["due_date"] as? String == "2026-12-01")
            #expect(task["due_time"] as? String == "10:30")
            let taskID = try #require(task["id"] as? String)
            // A new time moves it.
            event.start = Date(iso8601: "2026-12-03T14:00:00Z")!
            await graph.put(event)
            try await Self.until("the task moved") {
                try await rig.task(taskID)?["due_date"] as? String == "2026-12-03"
            }
            // Cancelled: the task is cancelled.
            event.isCancelled = true
            await graph.put(event)
            try await Self.until("the task cancelled") {
                try await rig.task(taskID)?["status"] as? String == "cancelled"
            }
            // Another follow-up, then deleted: its task is cancelled too.
            let other = GraphStandIn.Event(subject: "Opvolgen: offerte", start: Date(iso8601: "2026-12-05T08:00:00Z")!,
                                           organizer: .init("sanne@chargecars.nl"))
            await graph.put(other)
            try await Self.until("a second task") {
                ((try await rig.engineAPI.call(.GET, "/api/tasks")).json["items"] as? [[String: Any]] ?? []).contains { $0["task_title"] as? String == "offerte" }
            }
            await graph.deleteEvent(other.id)
            try await Self.until("the second task cancelled") {
                let all = try await rig.engineAPI.call(.GET, "/api/tasks?status=cancelled")
                return (all.json["items"] as? [[String: Any]] ?? []).filter { $0["task_type"] as? String == "follow_up" }.count == 2
            }
        }
    }

    // MARK: Restarts

    @Test func subscriptionsAndDeltaLinksSurviveEngineAndGatewayRestarts() async throws {
        try await Self.withRig { rig, graph in
            try await rig.createChannel()
            let before = Set(graph.subscriptions.map(\.id))
            try await Self.until("the first delta rounds") { graph.server.recorded.filter { $0.path.hasSuffix("/delta") }.count >= 2 }
            try await Task.sleep(for: .seconds(1))
            rig.gateway?.kill9()
            try await rig.restartEngine()
            let creates = graph.server.graph("POST", "/subscriptions").count
            try await rig.startGateway()
            graph.loseNotifications(true)
            let during = await graph.deliver(rig.mail("Na herstart", "Gemist tijdens de herstart"))
            _ = try await rig.thread(of: during)  // delta at start, from the stored deltaLink
            #expect(Set(graph.subscriptions.map(\.id)) == before)
            #expect(graph.server.graph("POST", "/subscriptions").count == creates, "no new subscriptions after the restarts")
            graph.loseNotifications(false)
            let after = await graph.deliver(rig.mail("Notificatie", "Komt binnen via de oude subscription"))
            #expect(graph.notificationAnswers.last == 202)
            _ = try await rig.thread(of: after)
        }
    }
}
