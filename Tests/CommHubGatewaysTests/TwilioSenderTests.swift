import CommHubDomain
import CommHubGateways
import CommHubStandIns
import CommHubWire
import Foundation
import NIOCore
import Testing

/// The Twilio sender against a stand-in of the Messages API: the documented
/// request, and an honest outcome for every answer (only what certainly did
/// not reach Twilio is retried).
@Suite struct TwilioSenderTests {
    static func channel(_ standIn: TwilioStandIn, _ extra: [String: JSONValue] = [:]) -> GatewayChannelSettings {
        var configuration: [String: JSONValue] = [
            "account_sid": .string(standIn.accountSid), "from": .string("+3197010000001"),
            "webhook_url": .string("https://hub.example.nl/webhooks/sms?channel_id=7"),
            "api_base_url": .string(standIn.baseURL + "/"),
        ]
        for (k, v) in extra { configuration[k] = v }
        return GatewayChannelSettings(id: ChannelID(), channelType: .sms, channelName: "sms", isActive: true, businessEntity: .laderthuis,
                                      configuration: configuration, secrets: ["auth_token": standIn.authToken])
    }

    static func message(_ text: String = "Uw monteur komt morgen om 10:00.", attempt: Int = 1, recipient: ExternalParty? = nil,
                        references: [ExternalReference] = [.sms(ours: "+3197010000001", theirs: "+31612345678")],
                        attachments: [CommHubDomain.Attachment] = []) -> GatewayMessage {
        GatewayMessage(messageID: MessageID(), threadID: ThreadID(), channelID: ChannelID(), attempt: attempt,
                       leaseUntil: Date().addingTimeInterval(60), subject: nil, messageContent: text, messageHtml: nil,
                       attachments: attachments, metadata: [:], recipient: recipient, threadSubject: "Laadpaal",
                       threadReferences: references, replyTo: nil)
    }

    static func withStandIn(readTimeout: TimeAmount = .seconds(30),
                            _ body: (TwilioStandIn, TwilioSender) async throws -> Void) async throws {
        let standIn = TwilioStandIn()
        try await standIn.start()
        let http = ProviderHTTP(connectTimeout: .seconds(2), readTimeout: readTimeout)
        do {
            try await body(standIn, TwilioSender(http: http))
        } catch {
            await http.shutdown(); await standIn.stop(); throw error
        }
        await http.shutdown()
        await standIn.stop()
    }

    static func form(_ r: RecordedRequest) -> [String: [String]] {
        Dictionary(grouping: TwilioStandIn.parseForm(r.body), by: \.0).mapValues { $0.map(\.1) }
    }

    @Test func anAnswerIsTheDocumentedFormPostAndTakesTwiliosSid() async throws {
        try await Self.withStandIn { standIn, sender in
            let report = await sender.send(Self.message(), channel: Self.channel(standIn))
            #expect(report == .sent(providerMessageID: TwilioStandIn.sid(0)))
            let r = try #require(standIn.sends.first)
            #expect(r.method == "POST" && r.path == "/2010-04-01/Accounts/\(standIn.accountSid)/Messages.json")
            #expect(r.header("authorization") == "Basic " + Data("\(standIn.accountSid):\(standIn.authToken)".utf8).base64EncodedString())
            #expect(r.header("content-type") == "application/x-www-form-urlencoded")
            #expect(Self.form(r) == ["To": ["+31612345678"], "From": ["+3197010000001"], "Body": ["Uw monteur komt morgen om 10:00."],
                                     "StatusCallback": ["https://hub.example.nl/webhooks/sms/status?channel_id=7"]])
            #expect(r.text.contains("Body=Uw+monteur+komt+morgen+om+10%3A00.") && r.text.hasPrefix("To=%2B31612345678&From=%2B3197010000001"))
        }
    }

    @Test func theRecipientAndSenderComeFromTheMessageAndTheChannel() async throws {
        try await Self.withStandIn { standIn, sender in
            // The message's recipient wins over the thread reference; a local number is written in E.164.
            _ = await sender.send(Self.message(recipient: ExternalParty(phone: "06 1111 2222")), channel: Self.channel(standIn))
            // A Messaging Service instead of a number; an explicit status_callback_url.
            let service = Self.channel(standIn, ["from": .null, "messaging_service_sid": .string("MG123"),
                                                 "status_callback_url": .string("https://cb.example.nl/twilio")])
            #expect(await sender.send(Self.message(), channel: service) == .sent(providerMessageID: TwilioStandIn.sid(1)))
            // The older name from_number still works; no webhook_url: no StatusCallback.
            let old = Self.channel(standIn, ["from": .null, "from_number": .string("+3197010000009"), "webhook_url": .null])
            _ = await sender.send(Self.message(), channel: old)
            let sends = standIn.sends.map(Self.form)
            try #require(sends.count == 3, "the stand-in received \(sends.count) of 3 sends")
            #expect(sends[0]["To"] == ["+31611112222"])
            #expect(sends[1]["MessagingServiceSid"] == ["MG123"] && sends[1]["From"] == nil)
            #expect(sends[1]["StatusCallback"] == ["https://cb.example.nl/twilio"])
            #expect(sends[2]["From"] == ["+3197010000009"] && sends[2]["StatusCallback"] == nil)
        }
    }

    @Test func publicFilesGoAsMediaUrlAndStoredFilesAreRefusedNotDropped() async throws {
        try await Self.withStandIn { standIn, sender in
            let pub = CommHubDomain.Attachment(fileName: "plan.pdf", contentType: "application/pdf", sizeBytes: 10, url: "https://files.example.nl/plan.pdf")
            #expect(await sender.send(Self.message(attachments: [pub]), channel: Self.channel(standIn)) == .sent(providerMessageID: TwilioStandIn.sid(0)))
            #expect(standIn.sends.first.map(Self.form)?["MediaUrl"] == ["https://files.example.nl/plan.pdf"])
            let stored = CommHubDomain.Attachment(fileName: "foto.jpg", contentType: "image/jpeg", sizeBytes: 10, url: "/api/attachments/abc")
            guard case .failed(let code, let reason) = await sender.send(Self.message(attachments: [pub, stored]), channel: Self.channel(standIn)) else {
                Issue.record("a file Twilio cannot fetch must not be dropped silently"); return
            }
            #expect(code == "media_unsupported" && reason.contains("public"))
            #expect(standIn.sends.count == 1)
        }
    }

    @Test func refusalsAreFailedThrottlingWaitsAndServerErrorsAreUnknown() async throws {
        try await Self.withStandIn { standIn, sender in
            standIn.server.enqueue(
                TwilioStandIn.error(400, code: 21211, message: "The 'To' number 5551234567 is not a valid phone number."),
                TwilioStandIn.error(400, code: 21610, message: "Attempt to send to unsubscribed recipient"),
                TwilioStandIn.error(429, code: 20429, message: "Too Many Requests", headers: ["Retry-After": "7"]),
                TwilioStandIn.error(429, code: 20429, message: "Too Many Requests"),
                TwilioStandIn.error(401, code: 20003, message: "Authenticate"),
                TwilioStandIn.error(500, code: 20500, message: "Internal Server Error"),
                TwilioStandIn.error(503, code: 20503, message: "Service Unavailable", headers: ["Retry-After": "3"]),
                TwilioStandIn.error(503, code: 20503, message: "Service Unavailable"),
                .respond(status: 502, headers: [:], body: Array("<html>bad gateway</html>".utf8)))
            let start = Date()
            var reports: [DeliveryReport] = []
            for _ in 0..<9 { reports.append(await sender.send(Self.message(), channel: Self.channel(standIn))) }
            #expect(reports[0] == .failed(code: "21211", reason: "The 'To' number 5551234567 is not a valid phone number."))
            #expect(reports[1] == .failed(code: "21610", reason: "Attempt to send to unsubscribed recipient"))
            guard case .retryAfter(let until, let code, _) = reports[2] else { Issue.record("\(reports[2])"); return }
            #expect(code == "20429" && until >= start.addingTimeInterval(6) && until <= Date().addingTimeInterval(8))
            guard case .retryAfter = reports[3] else { Issue.record("a 429 without Retry-After is still a certain refusal: \(reports[3])"); return }
            guard case .failed(let c4, let r4) = reports[4] else { Issue.record("\(reports[4])"); return }
            #expect(c4 == "20003" && r4.contains("auth_token"))
            guard case .unknown = reports[5] else { Issue.record("a 500 must leave the outcome unknown: \(reports[5])"); return }
            guard case .retryAfter = reports[6] else { Issue.record("503 with Retry-After: \(reports[6])"); return }
            guard case .unknown = reports[7] else { Issue.record("503 without Retry-After: \(reports[7])"); return }
            guard case .unknown(let r8) = reports[8] else { Issue.record("a 502 page: \(reports[8])"); return }
            #expect(r8.contains("502"))
            #expect(standIn.sends.count == 9, "every send was one request: nothing retried behind our back")
        }
    }

    @Test func aHangingTwilioIsUnknownAfterTheReadTimeout() async throws {
        try await Self.withStandIn(readTimeout: .seconds(2)) { standIn, sender in
            standIn.server.enqueue(.hang)
            guard case .unknown = await sender.send(Self.message(), channel: Self.channel(standIn)) else {
                Issue.record("a request that was written and not answered must be unknown"); return
            }
            // The stand-in may log it a moment later on a busy machine; it must be exactly one request.
            let deadline = ContinuousClock.now + .seconds(5)
            while standIn.sends.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(standIn.sends.count == 1)
        }
    }

    @Test func anUnreachableTwilioWasCertainlyNotSentAndIsRetriedLater() async throws {
        // Port 1 on loopback: nothing listens there, so the connection is refused
        // before anything is written. (A port freed by a stopped stand-in could be
        // taken by another test's stand-in running in parallel.)
        let standIn = TwilioStandIn()
        var channel = Self.channel(standIn)
        channel.configuration["api_base_url"] = .string("http://127.0.0.1:1")
        let http = ProviderHTTP(connectTimeout: .seconds(2), readTimeout: .seconds(2))
        let report = await TwilioSender(http: http).send(Self.message(attempt: 2), channel: channel)
        await http.shutdown()
        guard case .retryAfter(let until, let code, _) = report else { Issue.record("\(report)"); return }
        #expect(code == "connect" && until > Date())
    }

    @Test func aChannelOrMessageThatCannotBeSentFailsWithoutCallingTwilio() async throws {
        try await Self.withStandIn { standIn, sender in
            let good = Self.channel(standIn)
            var noToken = good
            noToken.secrets = [:]
            var badAccount = good
            badAccount.configuration["account_sid"] = .string("AC1/../../x")
            let noSender = Self.channel(standIn, ["from": .null])
            let cases: [(GatewayMessage, GatewayChannelSettings, String)] = [
                (Self.message(), noToken, "configuration"),
                (Self.message(), badAccount, "configuration"),
                (Self.message(), noSender, "configuration"),
                (Self.message(references: []), good, "no_recipient"),
                (Self.message(String(repeating: "a", count: TwilioOutbound.maxBodyCharacters + 1)), good, "too_long"),
                (Self.message(""), good, "empty"),
            ]
            for (m, c, expected) in cases {
                guard case .failed(let code, _) = await sender.send(m, channel: c) else { Issue.record("sent: \(expected)"); continue }
                #expect(code == expected)
            }
            #expect(standIn.sends.isEmpty)
            // Exactly at the limit is sent.
            #expect(await sender.send(Self.message(String(repeating: "a", count: TwilioOutbound.maxBodyCharacters)), channel: good)
                    == .sent(providerMessageID: TwilioStandIn.sid(0)))
        }
    }

    @Test func theStatusCallbackURLIsTheWebhookURLWithStatusAdded() {
        func url(_ webhook: String?, _ explicit: String? = nil) -> String? {
            var c: [String: JSONValue] = [:]
            if let webhook { c["webhook_url"] = .string(webhook) }
            if let explicit { c["status_callback_url"] = .string(explicit) }
            return TwilioOutbound.statusCallbackURL(GatewayChannelSettings(id: ChannelID(), channelType: .sms, channelName: "s", isActive: true,
                                                                           businessEntity: nil, configuration: c, secrets: [:]))
        }
        #expect(url("https://hub.example/webhooks/sms") == "https://hub.example/webhooks/sms/status")
        #expect(url("https://hub.example/webhooks/sms/") == "https://hub.example/webhooks/sms/status")
        #expect(url("https://hub.example/webhooks/sms?channel_id=1&x=2") == "https://hub.example/webhooks/sms/status?channel_id=1&x=2")
        #expect(url("https://hub.example:8443/webhooks/sms#rc=3") == "https://hub.example:8443/webhooks/sms/status#rc=3")
        #expect(url("https://hub.example/webhooks/sms", "https://other.example/cb") == "https://other.example/cb")
        #expect(url(nil) == nil)
    }
}
