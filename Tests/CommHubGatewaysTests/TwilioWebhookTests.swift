import CommHubDomain
import CommHubGateways
import CommHubStandIns
import Foundation
import Testing

/// Twilio's form bodies, incoming SMS/MMS and status callbacks as pure values.
@Suite struct TwilioWebhookTests {
    /// The documented example of an incoming MMS (providers.md 2.1), as Twilio encodes it.
    static let documentedMMS = """
        ToCountry=US&ToState=CA&SmsMessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&NumMedia=1&ToCity=SAN+FRANCISCO\
        &FromZip=94105&SmsSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&FromState=CA&SmsStatus=received&FromCity=SAN+FRANCISCO\
        &Body=Hi+there&FromCountry=US&To=%2B14155550100&MessagingServiceSid=MG9752274e9e519418a7406176694466fa&ToZip=94105\
        &NumSegments=1&MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&AccountSid=ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\
        &From=%2B14155550199&MediaContentType0=image%2Fjpeg\
        &MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC1%2FMessages%2FMM1%2FMedia%2FME1&ApiVersion=2010-04-01
        """

    static func form(_ s: String) throws -> TwilioForm { try TwilioForm(parsing: Array(s.utf8)) }

    // MARK: Form

    @Test func formsDecodePlusPercentAndKeepOrderRepeatsAndEmptyValues() throws {
        let f = try Self.form("Body=Hi+there%21+%F0%9F%91%8B&To=%2B31&Empty=&Bare&Digits=2&Digits=1&&x%3Dy=a%26b")
        #expect(f.parameters == [TwilioParameter("Body", "Hi there! 👋"), TwilioParameter("To", "+31"), TwilioParameter("Empty", ""),
                                 TwilioParameter("Bare", ""), TwilioParameter("Digits", "2"), TwilioParameter("Digits", "1"),
                                 TwilioParameter("x=y", "a&b")])
        #expect(f["Digits"] == "2" && f.all("Digits") == ["2", "1"] && f["Missing"] == nil)
        #expect(try Self.form("").parameters.isEmpty)
        #expect(try Self.form("a=%41%4a%4A").parameters == [TwilioParameter("a", "AJJ")])
    }

    @Test func encodingRoundTripsAndUsesPlusForSpaces() throws {
        let p = [TwilioParameter("Body", "Hello from CommHub & co. 100% ✓"), TwilioParameter("To", "+14155550199"),
                 TwilioParameter("StatusCallback", "https://hub.example/webhooks/sms/status?channel_id=1")]
        let body = TwilioForm.encode(p)
        #expect(body.hasPrefix("Body=Hello+from+CommHub+%26+co.+100%25+%E2%9C%93&To=%2B14155550199&StatusCallback=https%3A%2F%2Fhub.example"))
        #expect(try Self.form(body).parameters == p)
        // The stand-in's independent decoder reads it the same way.
        #expect(TwilioStandIn.parseForm(Array(body.utf8)).map { TwilioParameter($0.0, $0.1) } == p)
    }

    @Test func badEncodingNamesTheParameter() {
        #expect(throws: TwilioWebhookError.badPercentEncoding("'Body'")) { try Self.form("To=1&Body=50%") }
        #expect(throws: TwilioWebhookError.badPercentEncoding("'Body'")) { try Self.form("Body=%zz") }
        #expect(throws: TwilioWebhookError.badPercentEncoding("2")) { try Self.form("a=1&%4=x") }
        #expect(throws: TwilioWebhookError.notUTF8("'Body'")) { try Self.form("Body=%FF%FE") }
    }

    @Test func formsAreBoundedInBytesAndParameters() throws {
        let atLimit = String(repeating: "a", count: TwilioForm.maxBodyBytes)
        #expect(try Self.form(atLimit).parameters.count == 1)
        #expect(throws: TwilioWebhookError.tooLarge(bytes: TwilioForm.maxBodyBytes + 1)) { try Self.form(atLimit + "b") }
        let many = (0..<TwilioForm.maxParameters).map { "p\($0)=" }.joined(separator: "&")
        #expect(try Self.form(many).parameters.count == TwilioForm.maxParameters)
        #expect(throws: TwilioWebhookError.tooManyParameters) { try Self.form(many + "&one=more") }
        #expect(TwilioWebhookError.tooLarge(bytes: 1).code == "too_large")
    }

    // MARK: Incoming

    @Test func theDocumentedMMSBecomesAnInboundMessageWithItsMedia() throws {
        let m = try TwilioInboundMessage(form: Self.form(Self.documentedMMS))
        #expect(m.messageSid == "SM1f0e8ae6ade43cb3c0ce4525424e404f")
        #expect(m.from == "+14155550199" && m.to == "+14155550100" && m.body == "Hi there")
        #expect(m.accountSid == "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX" && m.messagingServiceSid == "MG9752274e9e519418a7406176694466fa")
        #expect(m.media == [TwilioMedia(index: 0, url: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
                                        contentType: "image/jpeg", fileName: "mms-SM1f0e8ae6ade43cb3c0ce4525424e404f-0.jpg")])
        let channel = ChannelID()
        let at = Date(timeIntervalSince1970: 1_700_000_000)
        let inbound = m.inbound(channelID: channel, receivedAt: at)
        #expect(inbound.channelID == channel && inbound.externalMessageID == "SM1f0e8ae6ade43cb3c0ce4525424e404f")
        #expect(inbound.threadReference == ExternalReference(.smsChat, "+14155550100:+14155550199"))
        #expect(inbound.threadReference == .sms(ours: "+14155550100", theirs: "+14155550199"))
        #expect(inbound.senderExternal.phone == "+14155550199")
        #expect(inbound.messageContent == "Hi there" && inbound.receivedAt == at)
        #expect(inbound.attachments == [CommHubDomain.Attachment(fileName: "mms-SM1f0e8ae6ade43cb3c0ce4525424e404f-0.jpg", contentType: "image/jpeg",
                                                   sizeBytes: 0, url: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1")])
    }

    @Test func anMMSWithoutTextSaysWhatItHolds() throws {
        let f = TwilioForm([TwilioParameter("MessageSid", "MM1"), TwilioParameter("From", "+31612345678"), TwilioParameter("To", "+3197010000000"),
                            TwilioParameter("Body", ""), TwilioParameter("NumMedia", "3"),
                            TwilioParameter("MediaUrl0", "https://api.twilio.com/m/0"), TwilioParameter("MediaContentType0", "image/png"),
                            TwilioParameter("MediaUrl1", "https://api.twilio.com/m/1"), TwilioParameter("MediaContentType1", "video/3gpp"),
                            TwilioParameter("MediaUrl2", "https://api.twilio.com/m/2"), TwilioParameter("MediaContentType2", "text/x-vcard")])
        let m = try TwilioInboundMessage(form: f)
        #expect(m.text == "[image] [video] [file]")
        #expect(m.media.map(\.fileName) == ["mms-MM1-0.png", "mms-MM1-1.3gpp", "mms-MM1-2.vcf"])
        #expect(m.threadReference.value == "+3197010000000:+31612345678")
    }

    @Test func legacyNamesAreReadWhenTheNewOnesAreMissing() throws {
        let m = try TwilioInboundMessage(form: Self.form("SmsMessageSid=SM9&From=%2B31612345678&To=%2B3197010000000&Body=x"))
        #expect(m.messageSid == "SM9" && m.media.isEmpty)
    }

    @Test func invalidIncomingMessagesNameTheField() {
        func refusal(_ body: String) -> TwilioWebhookError? {
            do { _ = try TwilioInboundMessage(form: Self.form(body)); return nil } catch { return error as? TwilioWebhookError }
        }
        #expect(refusal("From=%2B1&To=%2B2") == .missingField("MessageSid"))
        #expect(refusal("MessageSid=SM1&To=%2B2") == .missingField("From"))
        #expect(refusal("MessageSid=SM1&From=%2B1") == .missingField("To"))
        #expect(refusal("MessageSid=SM%2F..%2F1&From=%2B1&To=%2B2")?.description.contains("'MessageSid'") == true)
        #expect(refusal("MessageSid=SM1&From=%2B1&To=%2B2&NumMedia=11") == .invalidField("NumMedia", "a whole number from 0 to 10"))
        #expect(refusal("MessageSid=SM1&From=%2B1&To=%2B2&NumMedia=-1") == .invalidField("NumMedia", "a whole number from 0 to 10"))
        #expect(refusal("MessageSid=SM1&From=%2B1&To=%2B2&NumMedia=99999999999999999999")?.description.contains("NumMedia") == true)
        #expect(refusal("MessageSid=SM1&From=%2B1&To=%2B2&NumMedia=2&MediaUrl0=https%3A%2F%2Fa%2Fb") == .missingField("MediaUrl1"))
        #expect(refusal("MessageSid=SM1&From=%2B1&To=%2B2&NumMedia=1&MediaUrl0=file%3A%2F%2F%2Fetc%2Fpasswd")?
            .description.contains("MediaUrl0") == true)
        #expect(refusal("MessageSid=SM1&From=%2B1%0A&To=%2B2")?.description.contains("'From'") == true)
        let long = String(repeating: "x", count: TwilioInboundMessage.maxBodyCharacters + 1)
        #expect(refusal("MessageSid=SM1&From=%2B1&To=%2B2&Body=\(long)") == .invalidField("Body", "at most 10000 characters"))
    }

    // MARK: Status callbacks

    @Test func theDocumentedUndeliveredCallbackKeepsItsErrorCode() throws {
        let body = """
            SmsSid=SM5d3b4ab6cc3b4f3a9f1c0d8b2e6a7f10&SmsStatus=undelivered&MessageStatus=undelivered&To=%2B14155550199\
            &MessagingServiceSid=MG9752274e9e519418a7406176694466fa&MessageSid=SM5d3b4ab6cc3b4f3a9f1c0d8b2e6a7f10\
            &AccountSid=ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX&From=%2B14155550100&ApiVersion=2010-04-01&ErrorCode=30003&RawDlrDoneDate=2503041217
            """
        let s = try TwilioStatusCallback(form: Self.form(body))
        #expect(s.messageSid == "SM5d3b4ab6cc3b4f3a9f1c0d8b2e6a7f10" && s.status == .undelivered && s.errorCode == 30003)
        #expect(s.deliveryStatus == .bounced)
        #expect(s.errorTitle == "Unreachable destination handset")
        #expect(s.from == "+14155550100" && s.to == "+14155550199" && s.messagingServiceSid == "MG9752274e9e519418a7406176694466fa")
    }

    @Test func everyDocumentedStatusHasAMeaning() {
        let expected: [TwilioMessageStatus: DeliveryStatus?] = [
            .accepted: .pending, .scheduled: .pending, .queued: .pending, .sending: .pending,
            .sent: .sent, .partiallyDelivered: .sent, .delivered: .delivered, .read: .read,
            .undelivered: .bounced, .failed: .failed, .canceled: .failed, .receiving: nil, .received: nil,
        ]
        for s in TwilioMessageStatus.allCases { #expect(s.deliveryStatus == expected[s]!, "\(s)") }
        #expect(Set(expected.keys) == Set(TwilioMessageStatus.allCases))
        // Out of order and repeated callbacks never move a message back (the engine's rank).
        #expect(!DeliveryStatus.sent.advances(from: .delivered))
        #expect(!DeliveryStatus.pending.advances(from: .sent))
        #expect(!DeliveryStatus.bounced.advances(from: .delivered))
    }

    @Test func statusCallbackFieldsAreChecked() throws {
        func refusal(_ body: String) -> TwilioWebhookError? {
            do { _ = try TwilioStatusCallback(form: Self.form(body)); return nil } catch { return error as? TwilioWebhookError }
        }
        #expect(refusal("MessageStatus=sent") == .missingField("MessageSid"))
        #expect(refusal("MessageSid=SM1") == .missingField("MessageStatus"))
        #expect(refusal("MessageSid=SM1&MessageStatus=lost")?.description.contains("one of queued") == true)
        #expect(refusal("MessageSid=SM1&MessageStatus=failed&ErrorCode=3000x") == .invalidField("ErrorCode", "a whole number such as 30003"))
        #expect(try TwilioStatusCallback(form: Self.form("SmsSid=SM2&SmsStatus=Delivered")).status == .delivered)
        #expect(try TwilioStatusCallback(form: Self.form("MessageSid=SM2&MessageStatus=sent&ErrorCode=")).errorCode == nil)
        #expect(try TwilioStatusCallback(form: Self.form("MessageSid=SM2&MessageStatus=failed&ErrorCode=0")).errorCode == nil)
        // An unknown code is kept without a title; a service's own ErrorMessage wins, clipped.
        let unknown = try TwilioStatusCallback(form: Self.form("MessageSid=SM2&MessageStatus=failed&ErrorCode=39999"))
        #expect(unknown.errorCode == 39999 && unknown.errorTitle == nil)
        let long = String(repeating: "x", count: 300)
        let own = try TwilioStatusCallback(form: Self.form("MessageSid=SM2&MessageStatus=failed&ErrorCode=30003&ErrorMessage=\(long)"))
        #expect(own.errorTitle == String(repeating: "x", count: TwilioStatusCallback.maxErrorMessageCharacters))
    }

    @Test func theAnswerIsEmptyTwiML() {
        #expect(TwiML.empty == #"<?xml version="1.0" encoding="UTF-8"?><Response/>"#)
        #expect(TwiML.contentType == "text/xml")
    }
}
