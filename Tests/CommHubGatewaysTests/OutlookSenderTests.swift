import CommHubDomain
import CommHubGateways
import CommHubStandIns
import CommHubWire
import Foundation
import NIOCore
import Synchronization
import Testing

/// The Graph token cache and the Outlook sender against the Graph stand-in:
/// the client-credentials request, a token refreshed before it lapses and
/// once after a 401, the documented reply and sendMail bodies, and an
/// honest outcome for every answer.
@Suite struct OutlookSenderTests {
    static func channel(_ g: GraphStandIn, secret: String? = nil, _ extra: [String: JSONValue] = [:]) -> GatewayChannelSettings {
        var configuration: [String: JSONValue] = [
            "tenant_id": .string(g.tenant), "client_id": .string(g.clientID), "mailbox": .string(g.mailbox),
            "login_base_url": .string(g.loginBaseURL), "graph_base_url": .string(g.graphBaseURL),
            "email_signature": .string("Met vriendelijke groet,\nChargeCars <support>"),
        ]
        for (k, v) in extra { configuration[k] = v }
        return GatewayChannelSettings(id: ChannelID(), channelType: .emailOutlook, channelName: "mail", isActive: true,
                                      businessEntity: .chargecars, configuration: configuration,
                                      secrets: ["client_secret": secret ?? g.clientSecret])
    }

    static func message(_ text: String = "Uw monteur komt morgen.\nTot dan!", replyTo: String? = nil, recipient: ExternalParty? = nil,
                        attempt: Int = 1) -> GatewayMessage {
        let context = replyTo.map {
            GatewayProtocol.ReplyContext(externalMessageID: $0, sender: ExternalParty(name: "Jan", email: "jan@klant.nl"),
                                         internetMessageID: "<jan-1@klant.nl>", receivedAt: Date())
        }
        return GatewayMessage(messageID: MessageID(), threadID: ThreadID(), channelID: ChannelID(), attempt: attempt,
                              leaseUntil: Date().addingTimeInterval(60), subject: nil, messageContent: text, messageHtml: nil,
                              attachments: [], metadata: [:], recipient: recipient, threadSubject: "Laadpaal werkt niet",
                              threadReferences: [], replyTo: nil, lastInbound: context)
    }

    static func withStandIn(_ body: (GraphStandIn, OutlookSender, GraphTokenCache) async throws -> Void) async throws {
        let g = GraphStandIn()
        try await g.start()
        let http = ProviderHTTP(connectTimeout: .seconds(2), readTimeout: .seconds(30))
        let tokens = GraphTokenCache(http: http)
        do {
            try await body(g, OutlookSender(http: http, tokens: tokens), tokens)
        } catch {
            await http.shutdown(); await g.stop(); throw error
        }
        await http.shutdown()
        await g.stop()
    }

    @Test func theTokenRequestIsTheClientCredentialsFlowAndIsCached() async throws {
        try await Self.withStandIn { g, _, tokens in
            let credentials = try #require(GraphCredentials(channel: Self.channel(g)))
            let first = try await tokens.token(for: credentials)
            #expect(try await tokens.token(for: credentials) == first)
            #expect(await tokens.fetches == 1)
            let request = try #require(g.server.recorded(path: "/oauth2/v2.0/token").first)
            #expect(request.path == "/login/\(g.tenant)/oauth2/v2.0/token")
            #expect(request.header("content-type") == "application/x-www-form-urlencoded")
            #expect(request.text == "client_id=\(g.clientID)&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
                    + "&client_secret=\(g.clientSecret)&grant_type=client_credentials")
        }
    }

    @Test func aTokenIsRefreshedBeforeItExpires() async throws {
        let g = GraphStandIn()
        try await g.start()
        g.tokenLifetime(3600)
        let http = ProviderHTTP(connectTimeout: .seconds(2), readTimeout: .seconds(30))
        let clock = Mutex(Date())
        let tokens = GraphTokenCache(http: http, now: { clock.withLock { $0 } })
        let credentials = try #require(GraphCredentials(channel: Self.channel(g)))
        let first = try await tokens.token(for: credentials)
        clock.withLock { $0 = $0.addingTimeInterval(3600 - 301) }  // 5 minutes and a second left: still used
        #expect(try await tokens.token(for: credentials) == first)
        clock.withLock { $0 = $0.addingTimeInterval(2) }  // under 5 minutes left: refreshed ahead of expiry
        let second = try await tokens.token(for: credentials)
        #expect(second != first)
        #expect(await tokens.fetches == 2)
        await http.shutdown()
        await g.stop()
    }

    @Test func aWrongSecretIsAPermanentRefusalThatNamesTheSettings() async throws {
        try await Self.withStandIn { g, sender, _ in
            let report = await sender.send(Self.message(replyTo: "AAMk1"), channel: Self.channel(g, secret: "wrong"))
            guard case .failed(let code, let reason) = report else { Issue.record("\(report)"); return }
            #expect(code == "authentication")
            #expect(reason.contains("invalid_client"))
            #expect(reason.contains("client_secret"))
            #expect(!reason.contains("wrong"))
            #expect(g.server.graph("POST", "/reply").isEmpty)
        }
    }

    @Test func an401ForcesOneRefreshAndOneRetry() async throws {
        try await Self.withStandIn { g, sender, tokens in
            let channel = Self.channel(g)
            var mail = GraphStandIn.Mail(from: .init("jan@klant.nl"), to: [.init(g.mailbox)], subject: "Vraag", body: "Hallo")
            mail.isRead = false
            let id = await g.deliver(mail)
            #expect(await sender.send(Self.message(replyTo: id), channel: channel) == .sent(providerMessageID: nil))
            g.expireTokens()
            #expect(await sender.send(Self.message(replyTo: id), channel: channel) == .sent(providerMessageID: nil))
            #expect(await tokens.fetches == 2)
            // The refused request and its one retry with a fresh token: three reply requests, two 202s.
            let replies = g.server.graph("POST", "/reply")
            #expect(replies.count == 3)
            #expect(replies[1].header("authorization") == replies[0].header("authorization"))
            #expect(replies[2].header("authorization") != replies[1].header("authorization"))
            #expect(g.sentItems.count == 2)
        }
    }

    @Test func aReplyGoesToTheReplyEndpointWithTheDocumentedBody() async throws {
        try await Self.withStandIn { g, sender, _ in
            let id = await g.deliver(GraphStandIn.Mail(from: .init("jan@klant.nl", name: "Jan"), to: [.init(g.mailbox)], subject: "Laadpaal",
                                                       body: "Werkt niet"))
            let m = Self.message(replyTo: id)
            #expect(await sender.send(m, channel: Self.channel(g)) == .sent(providerMessageID: nil))
            let request = try #require(g.server.graph("POST", "/reply").last)
            #expect(request.path.removingPercentEncoding == "/v1.0/users/\(g.mailbox)/messages/\(id)/reply")
            #expect(request.header("prefer") == #"IdType="ImmutableId""#)
            let body = try #require(request.json as? [String: Any])
            let message = try #require(body["message"] as? [String: Any])
            #expect(message["body"] == nil, "comment and message.body together are refused by Graph")
            let comment = try #require(body["comment"] as? String)
            #expect(comment.contains("Uw monteur komt morgen.<br>\nTot dan!"))
            #expect(comment.contains("Met vriendelijke groet,<br>\nChargeCars &lt;support&gt;"))
            let to = try #require(message["toRecipients"] as? [[String: Any]])
            #expect((to.first?["emailAddress"] as? [String: Any])?["address"] as? String == "jan@klant.nl")
            let headers = try #require(message["internetMessageHeaders"] as? [[String: Any]])
            #expect(headers.first?["name"] as? String == "x-commhub-message-id")
            #expect(headers.first?["value"] as? String == m.messageID.description)
            // The copy in Sent Items carries it, in the customer's conversation.
            let copy = try #require(g.sentItems.first)
            #expect(copy.conversationID == g.message(id)?.conversationID)
            #expect(copy.headers.contains { $0.0 == "x-commhub-message-id" && $0.1 == m.messageID.description })
        }
    }

    @Test func aNewConversationGoesThroughSendMailWithAMessageIDCommHubKnows() async throws {
        try await Self.withStandIn { g, sender, _ in
            let m = Self.message(recipient: ExternalParty(name: "Piet", email: "piet@klant.nl"))
            #expect(await sender.send(m, channel: Self.channel(g)) == .sent(providerMessageID: nil))
            let body = try #require(g.server.graph("POST", "/sendMail").last?.json as? [String: Any])
            let message = try #require(body["message"] as? [String: Any])
            #expect(message["subject"] as? String == "Laadpaal werkt niet")
            #expect(message["internetMessageId"] as? String == "<commhub.\(m.messageID)@chargecars.nl>")
            #expect(((message["body"] as? [String: Any])?["contentType"] as? String) == "HTML")
            #expect(body["saveToSentItems"] as? Bool == true)
            #expect(g.sentItems.first?.internetMessageID == "<commhub.\(m.messageID)@chargecars.nl>")
        }
    }

    @Test func aReplyToAMessageGoneAtTheProviderStartsANewMail() async throws {
        try await Self.withStandIn { g, sender, _ in
            #expect(await sender.send(Self.message(replyTo: "AAMk-gone"), channel: Self.channel(g)) == .sent(providerMessageID: nil))
            #expect(g.server.graph("POST", "/reply").count == 1)
            let body = try #require(g.server.graph("POST", "/sendMail").last?.json as? [String: Any])
            let to = ((body["message"] as? [String: Any])?["toRecipients"] as? [[String: Any]])?.first?["emailAddress"] as? [String: Any]
            #expect(to?["address"] as? String == "jan@klant.nl")
        }
    }

    @Test func everyAnswerHasAnHonestOutcome() async throws {
        try await Self.withStandIn { g, sender, _ in
            let channel = Self.channel(g)
            let isSend: @Sendable (RecordedRequest) -> Bool = { $0.path.hasSuffix("/sendMail") }
            let m = Self.message(recipient: ExternalParty(email: "piet@klant.nl"))
            g.server.enqueue(.json(429, ["error": ["code": "ApplicationThrottled", "message": "slow down"]], headers: ["Retry-After": "7"]),
                             when: isSend)
            guard case .retryAfter(let until, let code, _) = await sender.send(m, channel: channel) else { Issue.record("429"); return }
            #expect(code == "ApplicationThrottled")
            #expect(until.timeIntervalSinceNow > 5 && until.timeIntervalSinceNow < 9)
            g.server.enqueue(.json(503, ["error": ["code": "ServiceUnavailable", "message": "later"]], headers: ["Retry-After": "3"]), when: isSend)
            if case .retryAfter = await sender.send(m, channel: channel) {} else { Issue.record("503 with Retry-After") }
            g.server.enqueue(.json(500, ["error": ["code": "InternalServerError", "message": "oops"]]), when: isSend)
            if case .unknown = await sender.send(m, channel: channel) {} else { Issue.record("500 is unknown") }
            g.server.enqueue(.json(400, ["error": ["code": "ErrorInvalidRecipients", "message": "bad"]]), when: isSend)
            if case .failed(let c, _) = await sender.send(m, channel: channel) { #expect(c == "ErrorInvalidRecipients") } else { Issue.record("400") }
            var unconfigured = channel
            unconfigured.configuration["mailbox"] = nil
            if case .failed(let c, let r) = await sender.send(m, channel: unconfigured) {
                #expect(c == "configuration"); #expect(r.contains("mailbox"))
            } else { Issue.record("configuration") }
            if case .failed(let c, _) = await sender.send(Self.message(), channel: channel) { #expect(c == "no_recipient") } else { Issue.record("no recipient") }
        }
    }
}
