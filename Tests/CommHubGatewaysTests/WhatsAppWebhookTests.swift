import CommHubDomain
import CommHubFixtures
import CommHubGateways
import Foundation
import Testing

@Suite("WhatsApp webhook signature")
struct WhatsAppSignatureTests {
    static let secret = "test-app-secret"
    static let body = Data(#"{"object":"whatsapp_business_account","entry":[]}"#.utf8)
    /// `printf '%s' '<body>' | openssl dgst -sha256 -hmac test-app-secret`
    static let knownHex = "c84a394cc475525991e78ff16e430b02e47f953877d2af0ade26956ce6f384dc"

    @Test("RFC 4231 test case 2 (key 'Jefe')")
    func rfc4231Vector() throws {
        let data = Data("what do ya want for nothing?".utf8)
        let header = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        #expect(WhatsAppSignature.header(for: data, appSecret: "Jefe") == header)
        try WhatsAppSignatureVerifier(appSecret: "Jefe").verify(body: data, signatureHeader: header)
    }

    @Test("a fixed vector computed with openssl is accepted, in either hex case and with the prefix in any case")
    func fixedVector() throws {
        let v = WhatsAppSignatureVerifier(appSecret: Self.secret)
        #expect(WhatsAppSignature.header(for: Self.body, appSecret: Self.secret) == "sha256=" + Self.knownHex)
        try v.verify(body: Self.body, signatureHeader: "sha256=" + Self.knownHex)
        try v.verify(body: Self.body, signatureHeader: "sha256=" + Self.knownHex.uppercased())
        try v.verify(body: Self.body, signatureHeader: "SHA256=" + Self.knownHex)
        try v.verify(body: Self.body, signatureHeader: "  sha256=\(Self.knownHex) ")
        let sig = try WhatsAppSignature(header: "sha256=" + Self.knownHex)
        #expect(sig.bytes.count == 32)
        #expect(v.isValid(sig, body: Self.body))
        #expect(v.isValid(sig, body: Array(Self.body)), "any DataProtocol body")
    }

    @Test("missing, wrong prefix, bad hex, wrong length and wrong value are refused with distinct errors")
    func rejections() {
        let v = WhatsAppSignatureVerifier(appSecret: Self.secret)
        func refusal(_ header: String?, body: Data = Self.body) -> WhatsAppSignatureError? {
            do {
                try v.verify(body: body, signatureHeader: header)
                return nil
            } catch {
                return error
            }
        }
        #expect(refusal(nil) == .missingHeader)
        #expect(refusal("") == .missingHeader)
        #expect(refusal("   ") == .missingHeader)
        #expect(refusal("sha1=" + String(Self.knownHex.prefix(40))) == .wrongPrefix)
        #expect(refusal(Self.knownHex) == .wrongPrefix, "no prefix at all")
        #expect(refusal("sha256") == .wrongPrefix)
        #expect(refusal("sha256=" + String(Self.knownHex.dropLast()) + "g") == .notHex)
        #expect(refusal("sha256=" + String(Self.knownHex.dropLast(2)) + " z") == .notHex)
        #expect(refusal("sha256=") == .wrongLength(0))
        #expect(refusal("sha256=" + String(Self.knownHex.dropLast(2))) == .wrongLength(62))
        #expect(refusal("sha256=" + Self.knownHex + "00") == .wrongLength(66))
        // One flipped digit, another secret, another body.
        let flipped = "0" + Self.knownHex.dropFirst()
        #expect(refusal("sha256=" + flipped) == .mismatch)
        #expect(refusal(WhatsAppSignature.header(for: Self.body, appSecret: "other-secret")) == .mismatch)
        #expect(refusal("sha256=" + Self.knownHex, body: Self.body + Data(" ".utf8)) == .mismatch,
                "the raw bytes count: re-serialised JSON does not verify")

        let codes: Set<String> = [WhatsAppSignatureError.missingHeader.code, WhatsAppSignatureError.wrongPrefix.code,
                                  WhatsAppSignatureError.mismatch.code]
        #expect(codes.count == 3)
        let messages = Set([WhatsAppSignatureError.missingHeader, .wrongPrefix, .notHex, .wrongLength(3), .mismatch].map(\.description))
        #expect(messages.count == 5, "each refusal says what is wrong")
        #expect(WhatsAppSignatureError.wrongLength(3).description.contains("found 3"))
    }
}

@Suite("WhatsApp verification handshake")
struct WhatsAppHandshakeTests {
    @Test func matchingTokenEchoesTheChallenge() throws {
        let r = try WhatsAppVerificationRequest(mode: "subscribe", verifyToken: "my-verify-token", challenge: "1158201444")
        #expect(try r.respond(expectedToken: "my-verify-token") == "1158201444")
        #expect(r.matches(expectedToken: "my-verify-token"))
    }

    @Test func refusals() throws {
        func error(_ mode: String?, _ token: String?, _ challenge: String?, expected: String = "tok") -> WhatsAppHandshakeError? {
            do {
                _ = try WhatsAppVerificationRequest(mode: mode, verifyToken: token, challenge: challenge).respond(expectedToken: expected)
                return nil
            } catch {
                return error
            }
        }
        #expect(error("subscribe", "tok", "42") == nil)
        #expect(error("subscribe", "tok2", "42") == .tokenMismatch)
        #expect(error("subscribe", "to", "42") == .tokenMismatch)
        #expect(error("subscribe", "TOK", "42") == .tokenMismatch)
        #expect(error("subscribe", "tok", "42", expected: "") == .tokenMismatch, "an unset verify_token never matches")
        #expect(error(nil, "tok", "42") == .wrongMode(nil))
        #expect(error("unsubscribe", "tok", "42") == .wrongMode("unsubscribe"))
        #expect(error("subscribe", nil, "42") == .missingVerifyToken)
        #expect(error("subscribe", "", "42") == .missingVerifyToken)
        #expect(error("subscribe", "tok", nil) == .missingChallenge)
        #expect(error("subscribe", "tok", "") == .missingChallenge)
        #expect(error("subscribe", "tok", "12\n34") == .invalidChallenge)
        #expect(error("subscribe", "tok", String(repeating: "9", count: 1025)) == .invalidChallenge)
        #expect(WhatsAppHandshakeError.tokenMismatch.isForbidden)
        #expect(!WhatsAppHandshakeError.missingChallenge.isForbidden)
    }

    @Test func constantTimeCompare() {
        #expect(WhatsAppVerificationRequest.constantTimeEquals("abc", "abc"))
        #expect(!WhatsAppVerificationRequest.constantTimeEquals("abc", "abd"))
        #expect(!WhatsAppVerificationRequest.constantTimeEquals("abc", "abcd"))
        #expect(WhatsAppVerificationRequest.constantTimeEquals("", ""))
    }
}

@Suite("WhatsApp webhook payload")
struct WhatsAppPayloadTests {
    static let parser = WhatsAppWebhookParser()

    /// Two entries (two business numbers), text, image, document, voice note,
    /// interactive replies, location, reaction, button, an unsupported and an
    /// unknown type, receipts and a subscription field CommHub does not handle.
    static let realistic = #"""
    {
      "object": "whatsapp_business_account",
      "entry": [
        {
          "id": "102290129340398",
          "changes": [
            {
              "field": "messages",
              "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "contacts": [
                  {"profile": {"name": "Sanne de Vries"}, "wa_id": "31612345678"},
                  {"profile": {"name": "Jan Jansen"}, "wa_id": "4915112345678"}
                ],
                "messages": [
                  {"from": "31612345678", "id": "wamid.TEXT1", "timestamp": "1700000000", "type": "text",
                   "text": {"body": "Mijn laadpaal geeft een rode lamp \u26a1 bij order 1001"}},
                  {"from": "31612345678", "id": "wamid.IMG1", "timestamp": "1700000060", "type": "image",
                   "context": {"from": "15550783881", "id": "wamid.OURS1"},
                   "image": {"caption": "Zo ziet het eruit", "mime_type": "image/jpeg",
                             "sha256": "u4Xw1VZ0MfnxPYrzbLpnJ3kHY0mY1yXoZtGJY4PkUdY=", "id": "1234567890123456"}},
                  {"from": "4915112345678", "id": "wamid.DOC1", "timestamp": "1700000120", "type": "document",
                   "document": {"filename": "factuur.pdf", "mime_type": "application/pdf", "sha256": "abc", "id": "998877"}},
                  {"from": "4915112345678", "id": "wamid.VOICE1", "timestamp": "1700000130", "type": "audio",
                   "audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": "def", "id": "556677", "voice": true}},
                  {"from": "31612345678", "id": "wamid.BTN1", "timestamp": "1700000180", "type": "interactive",
                   "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Ja, graag"}}},
                  {"from": "31612345678", "id": "wamid.LIST1", "timestamp": "1700000190", "type": "interactive",
                   "interactive": {"type": "list_reply", "list_reply": {"id": "slot-2", "title": "Dinsdag 10:00",
                                   "description": "Monteur komt tussen 10 en 12"}}},
                  {"from": "31612345678", "id": "wamid.LOC1", "timestamp": "1700000200", "type": "location",
                   "location": {"latitude": 52.3702, "longitude": 4.8952, "name": "Dam", "address": "Dam 1, Amsterdam"}},
                  {"from": "31612345678", "id": "wamid.REACT1", "timestamp": "1700000210", "type": "reaction",
                   "reaction": {"message_id": "wamid.OURS1", "emoji": "\ud83d\udc4d"}},
                  {"from": "31612345678", "id": "wamid.QR1", "timestamp": "1700000220", "type": "button",
                   "button": {"payload": "CONFIRM", "text": "Bevestigen"}},
                  {"from": "31612345678", "id": "wamid.UNS1", "timestamp": "1700000230", "type": "unsupported",
                   "errors": [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                               "error_data": {"details": "Message type is currently not supported."}}]},
                  {"from": "31612345678", "id": "wamid.NEW1", "timestamp": "1700000240", "type": "hologram",
                   "hologram": {"shape": [1, 2, 3]}}
                ]
              }
            }
          ]
        },
        {
          "id": "102290129340399",
          "changes": [
            {
              "field": "messages",
              "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "31201234567", "phone_number_id": "200300400"},
                "statuses": [
                  {"id": "wamid.OUT1", "status": "delivered", "timestamp": "1700000300", "recipient_id": "31687654321",
                   "conversation": {"id": "c1", "origin": {"type": "service"}},
                   "pricing": {"billable": true, "pricing_model": "CBP", "category": "service"}},
                  {"id": "wamid.OUT1", "status": "sent", "timestamp": "1700000290", "recipient_id": "31687654321"},
                  {"id": "wamid.OUT2", "status": "read", "timestamp": "1700000310", "recipient_id": "31687654321"},
                  {"id": "wamid.OUT3", "status": "failed", "timestamp": "1700000320", "recipient_id": "31687654321",
                   "errors": [{"code": 131047, "title": "Re-engagement message",
                               "error_data": {"details": "More than 24 hours have passed since the customer last replied."}}]},
                  {"id": "wamid.OUT4", "status": "played", "timestamp": "1700000330", "recipient_id": "31687654321"}
                ]
              }
            },
            {
              "field": "account_update",
              "value": {"phone_number": "31201234567", "event": "VERIFIED_ACCOUNT"}
            }
          ]
        }
      ]
    }
    """#

    @Test("a realistic multi-entry notification")
    func realisticPayload() throws {
        let events = try Self.parser.parse(Data(Self.realistic.utf8))
        // A reaction is not a message: it attaches to the message it reacts to.
        #expect(events.messages.map(\.messageID) == ["wamid.TEXT1", "wamid.IMG1", "wamid.DOC1", "wamid.VOICE1", "wamid.BTN1",
                                                     "wamid.LIST1", "wamid.LOC1", "wamid.QR1", "wamid.UNS1", "wamid.NEW1"])
        #expect(events.reactions.map(\.messageID) == ["wamid.REACT1"])
        #expect(events.reactions.first?.targetMessageID == "wamid.OURS1" && events.reactions.first?.emoji == "👍")
        #expect(events.reactions.first?.phoneNumberID == "106540352242922")
        #expect(events.phoneNumberIDs == ["106540352242922", "200300400"])
        let byID = Dictionary(uniqueKeysWithValues: events.messages.map { ($0.messageID, $0) })

        let text = try #require(byID["wamid.TEXT1"])
        #expect(text.text == "Mijn laadpaal geeft een rode lamp ⚡ bij order 1001")
        #expect(text.type == "text")
        #expect(text.profileName == "Sanne de Vries")
        #expect(text.from == "31612345678")
        #expect(text.phoneNumberID == "106540352242922")
        #expect(text.displayPhoneNumber == "15550783881")
        #expect(text.timestamp == Date(timeIntervalSince1970: 1_700_000_000))
        let channel = ChannelID()
        let inbound = text.inbound(channelID: channel)
        #expect(inbound.channelID == channel)
        #expect(inbound.externalMessageID == "wamid.TEXT1")
        #expect(inbound.threadReference == ExternalReference(.whatsappChat, "106540352242922:+31612345678"))
        #expect(inbound.threadReference == .whatsapp(business: "106540352242922", customer: "31612345678"))
        #expect(inbound.senderExternal == ExternalParty(name: "Sanne de Vries", phone: "+31612345678", waID: "31612345678"))
        #expect(inbound.messageContent == text.text)
        #expect(inbound.attachments.isEmpty)
        #expect(inbound.receivedAt == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(inbound.subject == nil)

        let image = try #require(byID["wamid.IMG1"])
        #expect(image.text == "Zo ziet het eruit")
        #expect(image.contextMessageID == "wamid.OURS1")
        #expect(image.media?.id == "1234567890123456")
        #expect(image.media?.mimeType == "image/jpeg")
        #expect(image.attachments == [Attachment(fileName: "image-1234567890123456.jpg", contentType: "image/jpeg", sizeBytes: 0,
                                                 url: "whatsapp-media:1234567890123456")])

        let doc = try #require(byID["wamid.DOC1"])
        #expect(doc.profileName == "Jan Jansen", "the profile of the right contact")
        #expect(doc.senderPhone == "+4915112345678")
        #expect(doc.text == "[document: factuur.pdf]")
        #expect(doc.attachments.first?.fileName == "factuur.pdf")
        #expect(doc.attachments.first?.contentType == "application/pdf")
        #expect(doc.threadReference.value == "106540352242922:+4915112345678")

        let voice = try #require(byID["wamid.VOICE1"])
        #expect(voice.text == "[voice message]")
        #expect(voice.media?.isVoice == true)
        #expect(voice.attachments.first?.fileName == "audio-556677.ogg")
        #expect(voice.attachments.first?.contentType == "audio/ogg; codecs=opus")

        #expect(byID["wamid.BTN1"]?.text == "Ja, graag")
        #expect(byID["wamid.LIST1"]?.text == "Dinsdag 10:00 — Monteur komt tussen 10 en 12")
        let loc = try #require(byID["wamid.LOC1"]?.text)
        #expect(loc.hasPrefix("Location: Dam, Dam 1, Amsterdam (52.3702, 4.8952)"))
        #expect(byID["wamid.REACT1"] == nil)
        #expect(byID["wamid.QR1"]?.text == "Bevestigen")
        #expect(byID["wamid.UNS1"]?.text == "[unsupported WhatsApp message: Message type unknown]")
        #expect(byID["wamid.UNS1"]?.metadata["unsupported"] == .bool(true))
        #expect(byID["wamid.NEW1"]?.text == "[WhatsApp message of type 'hologram' that CommHub cannot show]")
        #expect(byID["wamid.NEW1"]?.metadata["unsupported_type"] == .string("hologram"))
        // A reply keeps the message it answers; buttons and list replies keep their ids.
        #expect(image.metadata["reply_to_external_id"] == .string("wamid.OURS1"))
        #expect(byID["wamid.LIST1"]?.metadata["interactive"]?.objectValue?["description"] != nil)
        #expect(byID["wamid.LIST1"]?.metadata["interactive"]?.objectValue?["id"] != nil)
        #expect(byID["wamid.QR1"]?.metadata["payload"] != nil)

        // Receipts: four tracked kinds, in payload order; `played` is not one of ours.
        #expect(events.statuses.map(\.messageID) == ["wamid.OUT1", "wamid.OUT1", "wamid.OUT2", "wamid.OUT3"])
        #expect(events.statuses.map(\.status) == [.delivered, .sent, .read, .failed])
        #expect(events.statuses.allSatisfy { $0.phoneNumberID == "200300400" })
        #expect(events.statuses[0].timestamp == Date(timeIntervalSince1970: 1_700_000_300))
        #expect(events.statuses[0].recipientID == "31687654321")
        #expect(events.statuses[3].errors == ["131047 Re-engagement message: More than 24 hours have passed since the customer last replied."])
        #expect(events.statuses[3].errorCode == "131047")
        #expect(events.statuses[3].errorTitle == "Re-engagement message: More than 24 hours have passed since the customer last replied.")
        #expect(events.ignored.count == 2)
        #expect(events.ignored.contains { $0.contains("'played'") })
        #expect(events.ignored.contains { $0.contains("entry[1].changes[1]") && $0.contains("account_update") })

        #expect(events.inboundMessages(channelID: channel).count == 10)
    }

    @Test("the chat reference is the one the rest of CommHub writes for a wa_id")
    func chatReference() throws {
        for from in ["31612345678", "4915112345678", "16505551234", "0612345678", "0031612345678", "1234", "1234567890123456", "abc"] {
            let body = #"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"77"},"messages":[{"from":"\#(from)","id":"w","timestamp":"1","type":"text","text":{"body":"x"}}]}}]}]}"#
            let m = try #require(try Self.parser.parse(Data(body.utf8)).messages.first)
            #expect(m.threadReference == .whatsapp(business: "77", customer: from), "\(from)")
            #expect(m.senderPhone == PhoneNumber(from)?.e164 || m.senderPhone == "+" + from, "\(from)")
        }
    }

    @Test("numbers where strings are expected, empty lists and no contacts")
    func lenientShapes() throws {
        let events = try Self.parser.parse(Data(#"""
            {"object":"whatsapp_business_account","entry":[
              {"id":"1","changes":[]},
              {"id":"2","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":106540352242922},
                "messages":[{"from":31612345678,"id":"wamid.N","timestamp":1700000000,"type":"text","text":{"body":"hoi"}}]}}]}]}
            """#.utf8))
        let m = try #require(events.messages.first)
        #expect(m.phoneNumberID == "106540352242922")
        #expect(m.from == "31612345678")
        #expect(m.profileName == nil)
        #expect(m.senderExternal == ExternalParty(phone: "+31612345678", waID: "31612345678"))
        #expect(try Self.parser.parse(Data(#"{"object":"whatsapp_business_account","entry":[]}"#.utf8)) == WhatsAppWebhookEvents())
    }

    @Test("every message type maps to readable text")
    func otherTypes() throws {
        func one(_ json: String) throws -> WhatsAppIncomingMessage {
            let body = #"""
                {"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
                 "metadata":{"phone_number_id":"9"},"messages":[{"from":"31600000000","id":"wamid.X","timestamp":"1",\#(json)}]}}]}]}
                """#
            return try #require(try Self.parser.parse(Data(body.utf8)).messages.first)
        }
        #expect(try one(#""type":"video","video":{"id":"v1","mime_type":"video/mp4","caption":""}"#).text == "[video]")
        #expect(try one(#""type":"video","video":{"id":"v1","mime_type":"video/mp4"}"#).attachments.first?.fileName == "video-v1.mp4")
        #expect(try one(#""type":"sticker","sticker":{"id":"s1","mime_type":"image/webp","animated":true}"#).media?.isAnimated == true)
        #expect(try one(#""type":"image","image":{"id":"i1"}"#).attachments.first?.contentType == "application/octet-stream")
        #expect(try one(#""type":"audio","audio":{"id":"a1","mime_type":"audio/mpeg"}"#).text == "[audio]")
        #expect(try one(#""type":"location","location":{"latitude":52.1,"longitude":5.2}"#).text.hasPrefix("Location: 52.1, 5.2"))
        // A removed reaction (empty emoji) is a reaction without an emoji, not a message.
        let removal = try Self.parser.parse(Data(#"""
            {"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
             "metadata":{"phone_number_id":"9"},"messages":[{"from":"31600000000","id":"wamid.R","timestamp":"1","type":"reaction","reaction":{"message_id":"wamid.Y","emoji":""}}]}}]}]}
            """#.utf8))
        #expect(removal.messages.isEmpty)
        #expect(removal.reactions.first?.targetMessageID == "wamid.Y" && removal.reactions.first?.emoji == nil)
        #expect(try one(#""type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent","response_json":"{}"}}"#).text == "Sent")
        #expect(try one(#""type":"interactive","interactive":{"type":"call_permission_reply"}"#).text == "[interactive reply of type 'call_permission_reply']")
        #expect(try one(#""type":"button","button":{"payload":"P"}"#).text == "P")
        #expect(try one(#""type":"contacts","contacts":[{"name":{"formatted_name":"Piet"},"phones":[{"phone":"+31 6 1111 2222"}]}]"#).text
                == "Shared contact: Piet (+31 6 1111 2222)")
        #expect(try one(#""type":"order","order":{"catalog_id":"c","text":"snel graag","product_items":[{"product_retailer_id":"p","quantity":2}]}"#).text
                == "Order of 1 item: snel graag")
        #expect(try one(#""type":"system","system":{"body":"Klant heeft een nieuw nummer"}"#).text == "Klant heeft een nieuw nummer")
        #expect(try one(#""type":"unsupported""#).text == "[unsupported WhatsApp message]")
        // An unknown type with odd extra fields never fails the notification.
        #expect(try one(#""type":"future","text":42,"image":"x""#).text.contains("'future'"))
    }

    @Test("malformed notifications give an error naming the field")
    func malformed() {
        func error(_ json: String) -> WhatsAppPayloadError? {
            do {
                _ = try Self.parser.parse(Data(json.utf8))
                return nil
            } catch {
                return error
            }
        }
        func msg(_ fields: String) -> String {
            #"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"9"},"messages":[{\#(fields)}]}}]}]}"#
        }
        #expect(error("") == .emptyBody)
        #expect(error("{not json") == .malformedJSON("Invalid value around character 1."), "says where")
        if case .malformedJSON = error(#"{"object":"whatsapp_business_account","entry":["#) {} else { Issue.record("truncated") }
        #expect(error("[]") == .invalidField("(the body)", "an object"))
        #expect(error(#"{"entry":[]}"#) == .missingField("object"))
        #expect(error(#"{"object":"page","entry":[]}"#) == .wrongObject("page"))
        #expect(error(#"{"object":"whatsapp_business_account"}"#) == .missingField("entry"))
        #expect(error(#"{"object":"whatsapp_business_account","entry":{}}"#) == .invalidField("entry", "an array"))
        #expect(error(#"{"object":"whatsapp_business_account","entry":[{"id":"1"}]}"#) == .missingField("entry[0].changes"))
        #expect(error(#"{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{}}]}]}"#) == .missingField("entry[0].changes[0].field"))
        #expect(error(#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages"}]}]}"#)
                == .missingField("entry[0].changes[0].value"))
        #expect(error(#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{}}}]}]}"#)
                == .missingField("entry[0].changes[0].value.metadata.phone_number_id"))
        #expect(error(#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{}}]}]}"#)
                == .missingField("entry[0].changes[0].value.metadata"))
        let m = "entry[0].changes[0].value.messages[0]"
        #expect(error(msg(#""id":"w","timestamp":"1","type":"text","text":{"body":"x"}"#)) == .missingField(m + ".from"))
        #expect(error(msg(#""from":"316","timestamp":"1","type":"text","text":{"body":"x"}"#)) == .missingField(m + ".id"))
        #expect(error(msg(#""from":"316","id":"w","type":"text","text":{"body":"x"}"#)) == .missingField(m + ".timestamp"))
        #expect(error(msg(#""from":"316","id":"w","timestamp":"1""#)) == .missingField(m + ".type"))
        #expect(error(msg(#""from":"316","id":"w","timestamp":"yesterday","type":"text","text":{"body":"x"}"#))
                == .invalidField(m + ".timestamp", "a Unix time in seconds, such as \"1700000000\""))
        #expect(error(msg(#""from":"316","id":"w","timestamp":"1","type":"text""#)) == .missingField(m + ".text.body"))
        #expect(error(msg(#""from":"316","id":"w","timestamp":"1","type":"text","text":{"body":5}"#)) == .invalidField(m + ".text.body", "a string"))
        #expect(error(msg(#""from":"316","id":"w","timestamp":"1","type":"image","image":{"mime_type":"image/png"}"#)) == .missingField(m + ".image.id"))
        #expect(error(msg(#""from":"316","id":"w","timestamp":"1","type":"interactive","interactive":{"type":"button_reply"}"#))
                == .missingField(m + ".interactive.button_reply.title"))
        #expect(error(msg(#""from":"316","id":"w","timestamp":"1","type":"location","location":{"latitude":"north"}"#))
                == .invalidField(m + ".location.latitude", "a number"))
        #expect(error(#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"9"},"statuses":[{"id":"w","timestamp":"1"}]}}]}]}"#)
                == .missingField("entry[0].changes[0].value.statuses[0].status"))
        // Every error reads as a sentence naming the field.
        #expect(WhatsAppPayloadError.missingField("entry[0].changes").description == "missing field 'entry[0].changes'")
    }

    /// Each run mutates the realistic payload from a new seed (or the one in
    /// WHATSAPP_FUZZ_SEED). The seed is printed before the first parse,
    /// because a crash ends the process before any failure is recorded:
    /// `WHATSAPP_FUZZ_SEED=<seed> swift test --filter fuzz` replays the run.
    @Test("garbage never crashes the parser")
    func fuzz() {
        let given = ProcessInfo.processInfo.environment["WHATSAPP_FUZZ_SEED"].flatMap { UInt64($0) }
        let seed = given ?? UInt64.random(in: 0...UInt64.max)
        // Standard error is unbuffered: the line is out even if the parser traps right after.
        FileHandle.standardError.write(Data("WhatsApp webhook fuzz seed \(seed) (replay: WHATSAPP_FUZZ_SEED=\(seed) swift test --filter fuzz)\n".utf8))
        var rng = SplitMix(seed: seed)
        let base = Array(WhatsAppPayloadTests.realistic.utf8)
        for round in 0..<300 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.remove(at: i)
                default: bytes.insert(UInt8.random(in: 0x20...0x7E, using: &rng), at: i)
                }
            }
            do {
                _ = try WhatsAppWebhookParser().parse(Data(bytes))
            } catch {
                #expect(!error.description.isEmpty, "round \(round) of seed \(seed): an error without a message")
            }
        }
        // Truncations at every 97th byte.
        for n in stride(from: 0, to: base.count, by: 97) {
            #expect(throws: WhatsAppPayloadError.self) { try WhatsAppWebhookParser().parse(Data(base.prefix(n))) }
        }
    }
}
