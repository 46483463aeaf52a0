import CommHubDomain
import CommHubGateways
import CommHubStandIns
import CommHubWire
import Foundation
import NIOCore
import Testing

/// The WhatsApp sender against a stand-in of the Cloud API: the documented
/// request, and an honest outcome for every answer (only what certainly did
/// not reach Meta is retried).
@Suite struct WhatsAppSenderTests {
    static let channel = GatewayChannelSettings(
        id: ChannelID(), channelType: .whatsappBusiness, channelName: "wa", isActive: true, businessEntity: .laderthuis,
        configuration: ["phone_number_id": .string("106540352242922")], secrets: ["access_token": "EAAG-test-token"])

    static func message(attempt: Int = 1) -> GatewayMessage {
        GatewayMessage(messageID: MessageID(), threadID: ThreadID(), channelID: channel.id, attempt: attempt,
                       leaseUntil: Date().addingTimeInterval(60), subject: nil, messageContent: "We komen morgen om 10:00.",
                       messageHtml: nil, attachments: [], metadata: [:], recipient: nil, threadSubject: "Laadpaal",
                       threadReferences: [.whatsapp(business: "106540352242922", customer: "+31612345678")], replyTo: nil)
    }

    static func withStandIn(readTimeout: TimeAmount = .seconds(30),
                            _ body: (StandInServer, WhatsAppSender, GatewayChannelSettings) async throws -> Void) async throws {
        let standIn = WhatsAppStandIn.make()
        try await standIn.start()
        let http = ProviderHTTP(connectTimeout: .seconds(2), readTimeout: readTimeout)
        var channel = channel
        channel.configuration["graph_base_url"] = .string(standIn.baseURL + "/v21.0")
        do {
            try await body(standIn, WhatsAppSender(http: http), channel)
        } catch {
            await http.shutdown(); await standIn.stop(); throw error
        }
        await http.shutdown()
        await standIn.stop()
    }

    @Test func aTextReplyIsTheDocumentedRequestAndTakesMetasMessageID() async throws {
        try await Self.withStandIn { standIn, sender, channel in
            let report = await sender.send(Self.message(), channel: channel)
            #expect(report == .sent(providerMessageID: "wamid.standin.0"))
            let r = try #require(standIn.recorded.first)
            #expect(r.method == "POST" && r.path == "/v21.0/106540352242922/messages")
            #expect(r.header("authorization") == "Bearer EAAG-test-token")
            let json = try #require(r.json as? [String: Any])
            #expect(json["messaging_product"] as? String == "whatsapp")
            #expect(json["to"] as? String == "31612345678")
            #expect(json["type"] as? String == "text")
            #expect((json["text"] as? [String: Any])?["body"] as? String == "We komen morgen om 10:00.")
            #expect(json["context"] == nil)
        }
    }

    @Test func refusalsAreFailedThrottlingWaitsAndServerErrorsAreUnknown() async throws {
        try await Self.withStandIn { standIn, sender, channel in
            standIn.enqueue(
                WhatsAppStandIn.error(400, code: 131047, message: "(#131047) Re-engagement message", details: "More than 24 hours"),
                WhatsAppStandIn.error(400, code: 130429, message: "(#130429) Rate limit hit"),
                .json(429, ["error": ["message": "slow down", "code": 4]], headers: ["Retry-After": "7"]),
                WhatsAppStandIn.error(401, code: 190, message: "Error validating access token: Session has expired"),
                .json(500, ["error": ["message": "oops", "code": 1]]),
                .json(503, ["error": ["message": "busy", "code": 2]], headers: ["Retry-After": "3"]),
                .json(503, ["error": ["message": "busy", "code": 2]]))
            let start = Date()
            var reports: [DeliveryReport] = []
            for _ in 0..<7 { reports.append(await sender.send(Self.message(), channel: channel)) }
            guard case .failed(let code, let reason) = reports[0] else { Issue.record("\(reports[0])"); return }
            #expect(code == "131047" && reason.contains("Re-engagement") && reason.contains("More than 24 hours"))
            guard case .retryAfter(_, let c1, _) = reports[1] else { Issue.record("\(reports[1])"); return }
            #expect(c1 == "130429")
            guard case .retryAfter(let until, _, _) = reports[2] else { Issue.record("\(reports[2])"); return }
            #expect(until >= start.addingTimeInterval(6) && until <= Date().addingTimeInterval(8))
            guard case .failed(let c3, let r3) = reports[3] else { Issue.record("\(reports[3])"); return }
            #expect(c3 == "190" && r3.contains("access token"))
            guard case .unknown = reports[4] else { Issue.record("a 500 must leave the outcome unknown: \(reports[4])"); return }
            guard case .retryAfter = reports[5] else { Issue.record("503 with Retry-After: \(reports[5])"); return }
            guard case .unknown = reports[6] else { Issue.record("503 without Retry-After: \(reports[6])"); return }
            #expect(standIn.recorded.count == 7, "every send was one request: nothing retried behind our back")
        }
    }

    @Test func aHangingProviderIsUnknownAfterTheReadTimeout() async throws {
        try await Self.withStandIn(readTimeout: .seconds(2)) { standIn, sender, channel in
            standIn.enqueue(.hang)
            guard case .unknown = await sender.send(Self.message(), channel: channel) else {
                Issue.record("a request that was written and not answered must be unknown"); return
            }
            // The stand-in may log it a moment later on a busy machine; it must be exactly one request.
            let deadline = ContinuousClock.now + .seconds(5)
            while standIn.recorded.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(standIn.recorded.count == 1)
        }
    }

    @Test func anUnreachableProviderWasCertainlyNotSentAndIsRetriedLater() async throws {
        // Port 1 on loopback (tcpmux, privileged, never served here): the connection is refused before
        // anything is written. (A freed ephemeral port could be taken by a parallel test's stand-in.)
        var channel = Self.channel
        channel.configuration["graph_base_url"] = .string("http://127.0.0.1:1/v21.0")
        let http = ProviderHTTP(connectTimeout: .seconds(2), readTimeout: .seconds(2))
        let report = await WhatsAppSender(http: http).send(Self.message(attempt: 2), channel: channel)
        await http.shutdown()
        guard case .retryAfter(let until, let code, _) = report else { Issue.record("\(report)"); return }
        #expect(code == "connect")
        #expect(until > Date())
    }

    @Test func aChannelWithoutSettingsFailsWithoutCallingAnyone() async throws {
        try await Self.withStandIn { standIn, sender, channel in
            var noToken = channel
            noToken.secrets = [:]
            guard case .failed(let code, _) = await sender.send(Self.message(), channel: noToken) else { Issue.record("sent without a token"); return }
            #expect(code == "configuration")
            var noNumber = channel
            noNumber.configuration["phone_number_id"] = nil
            guard case .failed = await sender.send(Self.message(), channel: noNumber) else { Issue.record("sent without a number"); return }
            #expect(standIn.recorded.isEmpty)
        }
    }

    @Test func retryBackoffGrowsAndStaysBounded() {
        #expect(RetryBackoff.delay(attempt: 1, jitter: 0.5) == 5)
        #expect(RetryBackoff.delay(attempt: 3, jitter: 0.5) == 20)
        #expect(RetryBackoff.delay(attempt: 40, jitter: 1) <= RetryBackoff.maxSeconds * 1.25)
        #expect(RetryBackoff.delay(attempt: 1, jitter: 0) == 3.75)
    }
}
