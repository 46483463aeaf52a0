import AsyncHTTPClient
import CommHubStandIns
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// WhatsApp Business end to end: `commhub serve --no-gateway` and
/// `commhub gateway` as two processes against a Cloud API stand-in that
/// speaks Meta's formats (sends, read receipts, media lookups and files).
@Suite(.serialized) struct WhatsAppProcessTests {
    typealias G = GatewayProcessTests
    static let phoneNumberID = "106540352242922"
    static let customer = "31612345678"

    /// A rig with a team, two agents (one in the team, one not), their tokens,
    /// and a WhatsApp channel whose threads go to the team.
    struct People {
        var team = ""
        var insider = ""
        var outsider = ""
    }

    static func people(_ rig: G.Rig) async throws -> People {
        var p = People()
        let team = try await rig.engineAPI.call(.POST, "/api/teams", json: ["name": "WhatsApp team"])
        p.team = try #require(team.json["id"] as? String, "\(team)")
        func token(_ name: String, teams: [String]) async throws -> String {
            let c = try await rig.engineAPI.call(.POST, "/api/contacts", json: [
                "name": name, "email": "\(name.lowercased())@laderthuis.nl", "role": "agent", "teams": teams, "presence": "online",
            ] as [String: Any])
            let id = try #require(c.json["id"] as? String, "\(c)")
            let t = try await rig.engineAPI.call(.POST, "/api/contacts/\(id)/tokens", json: ["label": "test"])
            return try #require(t.json["token"] as? String, "\(t)")
        }
        p.insider = try await token("Ilse", teams: [p.team])
        p.outsider = try await token("Otto", teams: [])
        return p
    }

    static func channel(_ rig: G.Rig, _ meta: StandInServer, team: String, markAsRead: Bool = true) async throws -> String {
        let r = try await rig.engineAPI.call(.POST, "/api/communication/channels", json: [
            "channel_type": "whatsapp_business", "channel_name": "WhatsApp laderthuis", "business_entity": "laderthuis",
            "auto_assignment_rules": ["default_assignee": team],
            "configuration": ["phone_number_id": phoneNumberID, "app_secret": G.appSecret, "verify_token": G.verifyToken,
                              "access_token": "EAAG-media-token", "graph_base_url": meta.baseURL + "/v21.0", "mark_as_read": markAsRead],
        ] as [String: Any])
        return try #require(r.json["id"] as? String, "\(r)")
    }

    /// Posts a signed notification with these message objects to the gateway.
    static func post(_ rig: G.Rig, messages: [String], contacts: Bool = true) async throws -> Fetch.Answer {
        let items = (contacts ? #""contacts":[{"profile":{"name":"Klant"},"wa_id":"\#(customer)"}],"# : "")
            + #""messages":[\#(messages.joined(separator: ","))]"#
        return try await postRaw(rig, G.notification(phoneNumberID: phoneNumberID, items: items))
    }

    static func postRaw(_ rig: G.Rig, _ body: String) async throws -> Fetch.Answer {
        try await rig.gatewayHTTP.call(.POST, "/webhooks/whatsapp", raw: body, headers: ["X-Hub-Signature-256": G.sign(body)])
    }

    static func message(_ id: String, _ type: String, _ body: String, at t: Int, context: String? = nil) -> String {
        let c = context.map { #","context":{"from":"\#(customer)","id":"\#($0)"}"# } ?? ""
        return #"{"from":"\#(customer)","id":"\#(id)","timestamp":"\#(t)","type":"\#(type)",\#(body)\#(c)}"#
    }

    static func status(_ wamid: String, _ status: String, at t: Int, errors: String? = nil) -> String {
        let e = errors.map { #","errors":\#($0)"# } ?? ""
        return G.notification(phoneNumberID: phoneNumberID, items: #"""
            "statuses":[{"id":"\#(wamid)","status":"\#(status)","timestamp":"\#(t)","recipient_id":"\#(customer)"\#(e)}]
            """#)
    }

    static func thread(_ rig: G.Rig, token: String? = nil) async throws -> [String: Any] {
        let api = token.map { Fetch(client: rig.http, base: rig.engineAPI.base, token: $0) } ?? rig.engineAPI
        let list = try await api.call(.GET, "/api/communication/threads?status=all")
        let id = try #require((list.json["items"] as? [[String: Any]])?.first?["id"] as? String, "\(list)")
        return try await api.call(.GET, "/api/communication/threads/\(id)").json
    }

    static func byExternal(_ thread: [String: Any]) -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for m in thread["messages"] as? [[String: Any]] ?? [] {
            if let e = m["external_message_id"] as? String { out[e] = m }
        }
        return out
    }

    static func hex(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    static func run(_ body: (G.Rig, StandInServer, WhatsAppMediaShelf) async throws -> Void) async throws {
        let shelf = WhatsAppMediaShelf()
        let meta = WhatsAppStandIn.make(media: shelf)
        try await meta.start()
        let rig = try await G.Rig()
        do {
            try await body(rig, meta, shelf)
        } catch {
            print(rig.gateway?.log ?? "")
            print(meta.recorded.map { "\($0.method) \($0.path)" }.joined(separator: "\n"))
            print(String(describing: (try? await Self.thread(rig))?["messages"]))
            await rig.shutdown(); await meta.stop(); throw error
        }
        await rig.shutdown(); await meta.stop()
    }

    @Test func everyInboundTypeArrivesAndMediaFollowsAfterAFailedDownload() async throws {
        try await Self.run { rig, meta, shelf in
            let people = try await Self.people(rig)
            _ = try await Self.channel(rig, meta, team: people.team)
            let photo = Array("\u{FF}\u{D8}not really a jpeg, but bytes all the same".utf8)
            let pdf = Array("%PDF-1.4 offerte".utf8)
            shelf.put("img-1", bytes: photo, mimeType: "image/jpeg")
            shelf.put("doc-1", bytes: pdf, mimeType: "application/pdf")
            shelf.put("aud-1", bytes: Array("OggS voice".utf8), mimeType: "audio/ogg")
            shelf.put("vid-1", bytes: Array("....ftypmp42".utf8), mimeType: "video/mp4")
            shelf.put("stk-1", bytes: Array("RIFF....WEBP".utf8), mimeType: "image/webp")
            // A type the attachment store never takes: refused once, never fetched again.
            shelf.put("exe-1", bytes: Array("MZ not a document".utf8), mimeType: "application/x-msdownload")
            // The photo's lookup fails once (Meta has a bad moment); the fetcher tries again.
            meta.enqueue(.json(500, ["error": ["message": "An unknown error occurred", "code": 1]]),
                         when: { $0.method == "GET" && $0.path == "/v21.0/img-1" })
            try await rig.startGateway()
            let t = Int(Date().timeIntervalSince1970) - 60
            let messages = [
                Self.message("wamid.text", "text", #""text":{"body":"Mijn laadpaal knippert rood"}"#, at: t),
                Self.message("wamid.image", "image", #""image":{"caption":"Zo ziet het eruit","mime_type":"image/jpeg","sha256":"x","id":"img-1"}"#, at: t + 1),
                Self.message("wamid.doc", "document", #""document":{"filename":"offerte.pdf","mime_type":"application/pdf","sha256":"x","id":"doc-1"}"#, at: t + 2),
                Self.message("wamid.voice", "audio", #""audio":{"mime_type":"audio/ogg; codecs=opus","sha256":"x","id":"aud-1","voice":true}"#, at: t + 3),
                Self.message("wamid.video", "video", #""video":{"mime_type":"video/mp4","sha256":"x","id":"vid-1"}"#, at: t + 4),
                Self.message("wamid.sticker", "sticker", #""sticker":{"mime_type":"image/webp","sha256":"x","id":"stk-1","animated":false}"#, at: t + 5),
                Self.message("wamid.location", "location", #""location":{"latitude":52.3731,"longitude":4.8922,"name":"Thuis","address":"Damrak 1, Amsterdam"}"#, at: t + 6),
                Self.message("wamid.contacts", "contacts", #""contacts":[{"name":{"formatted_name":"Piet Monteur","first_name":"Piet"},"phones":[{"phone":"+31 6 1111 2222","type":"CELL"}]}]"#, at: t + 7),
                Self.message("wamid.button", "button", #""button":{"payload":"CONFIRM_APPOINTMENT","text":"Bevestigen"}"#, at: t + 8),
                Self.message("wamid.choice", "interactive", #""interactive":{"type":"button_reply","button_reply":{"id":"slot-tue","title":"Dinsdag"}}"#, at: t + 9),
                Self.message("wamid.list", "interactive", #""interactive":{"type":"list_reply","list_reply":{"id":"opt-11kw","title":"Thuislader","description":"11 kW, vaste kabel"}}"#, at: t + 10),
                Self.message("wamid.unsupported", "unsupported", #""errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown","error_data":{"details":"Message type is currently not supported."}}]"#, at: t + 11),
                Self.message("wamid.reply", "text", #""text":{"body":"Ja, die bedoel ik"}"#, at: t + 12, context: "wamid.text"),
                Self.message("wamid.exe", "document", #""document":{"filename":"factuur.exe","mime_type":"application/x-msdownload","sha256":"x","id":"exe-1"}"#, at: t + 13),
            ]
            try await G.until("the gateway has the channel") { (try? await Self.post(rig, messages: messages))?.status == 200 }
            // A reaction attaches to the message it reacts to; an empty one removes it.
            let react = Self.message("wamid.react1", "reaction", #""reaction":{"message_id":"wamid.text","emoji":"👍"}"#, at: t + 13)
            #expect(try await Self.post(rig, messages: [react]).status == 200)
            let onPhoto = Self.message("wamid.react2", "reaction", #""reaction":{"message_id":"wamid.image","emoji":"❤️"}"#, at: t + 14)
            #expect(try await Self.post(rig, messages: [onPhoto]).status == 200)
            let unreact = Self.message("wamid.react3", "reaction", #""reaction":{"message_id":"wamid.image","emoji":""}"#, at: t + 15)
            #expect(try await Self.post(rig, messages: [unreact]).status == 200)

            // Every file arrives, the photo after its failed first lookup (the fetcher waits 5 s before trying again).
            try await G.until("every file is stored", seconds: 40) {
                let m = Self.byExternal(try await Self.thread(rig))
                return ["wamid.image", "wamid.doc", "wamid.voice", "wamid.video", "wamid.sticker"].allSatisfy {
                    ((m[$0]?["attachments"] as? [[String: Any]])?.first?["sha256"] as? String) != nil
                }
            }
            let thread = try await Self.thread(rig)
            let m = Self.byExternal(thread)
            #expect(m.count == 14, "14 messages, the reactions are not messages: \(m.keys.sorted())")
            #expect(m["wamid.text"]?["message_content"] as? String == "Mijn laadpaal knippert rood")
            #expect((m["wamid.text"]?["metadata"] as? [String: Any])?["reactions"] as? [String: String] == [Self.customer: "👍"])
            #expect((m["wamid.image"]?["metadata"] as? [String: Any])?["reactions"] == nil, "the emptied reaction is gone")
            #expect(m["wamid.image"]?["message_content"] as? String == "Zo ziet het eruit")
            #expect(m["wamid.doc"]?["message_content"] as? String == "[document: offerte.pdf]")
            #expect(m["wamid.voice"]?["message_content"] as? String == "[voice message]")
            #expect(m["wamid.video"]?["message_content"] as? String == "[video]")
            #expect(m["wamid.sticker"]?["message_content"] as? String == "[sticker]")
            let location = m["wamid.location"]?["message_content"] as? String ?? ""
            #expect(location.contains("Thuis, Damrak 1, Amsterdam") && location.contains("52.3731"))
            #expect(m["wamid.contacts"]?["message_content"] as? String == "Shared contact: Piet Monteur (+31 6 1111 2222)")
            #expect(m["wamid.button"]?["message_content"] as? String == "Bevestigen")
            #expect((m["wamid.button"]?["metadata"] as? [String: Any])?["payload"] as? String == "CONFIRM_APPOINTMENT")
            #expect(m["wamid.choice"]?["message_content"] as? String == "Dinsdag")
            let choice = (m["wamid.choice"]?["metadata"] as? [String: Any])?["interactive"] as? [String: String]
            #expect(choice == ["type": "button_reply", "id": "slot-tue", "title": "Dinsdag"])
            let list = (m["wamid.list"]?["metadata"] as? [String: Any])?["interactive"] as? [String: String]
            #expect(list == ["type": "list_reply", "id": "opt-11kw", "title": "Thuislader", "description": "11 kW, vaste kabel"])
            #expect(m["wamid.unsupported"]?["message_content"] as? String == "[unsupported WhatsApp message: Message type unknown]")
            #expect((m["wamid.unsupported"]?["metadata"] as? [String: Any])?["unsupported"] as? Bool == true)
            #expect((m["wamid.reply"]?["metadata"] as? [String: Any])?["reply_to_external_id"] as? String == "wamid.text")

            // The files: name, type, size and hash, the same bytes Meta served.
            let image = try #require((m["wamid.image"]?["attachments"] as? [[String: Any]])?.first)
            #expect(image["sha256"] as? String == Self.hex(photo))
            #expect(image["size_bytes"] as? Int == photo.count)
            #expect(image["content_type"] as? String == "image/jpeg")
            let doc = try #require((m["wamid.doc"]?["attachments"] as? [[String: Any]])?.first)
            #expect(doc["file_name"] as? String == "offerte.pdf")
            #expect(doc["sha256"] as? String == Self.hex(pdf))
            let lookups = meta.recorded.filter { $0.method == "GET" && $0.path == "/v21.0/img-1" }
            #expect(lookups.count == 2, "one failed lookup, one that worked")
            #expect(meta.recorded.filter { $0.path == "/files/img-1" }.count == 1)
            #expect(meta.recorded.filter { $0.method == "GET" }.allSatisfy { $0.header("authorization") == "Bearer EAAG-media-token" })

            // The refused file stays at Meta (its message keeps the reference) and is not fetched again,
            // although the retry pause (5 s) has passed by now.
            try await Task.sleep(for: .milliseconds(1500))
            #expect(meta.recorded.filter { $0.path == "/v21.0/exe-1" }.count == 1)
            #expect((m["wamid.exe"]?["attachments"] as? [[String: Any]])?.first?["sha256"] == nil)

            // Served to a person of the thread's team; not to one outside it, nor without naming the message.
            let imageID = try #require(m["wamid.image"]?["id"] as? String)
            let sha = Self.hex(photo)
            let insider = Fetch(client: rig.http, base: rig.engineAPI.base, token: people.insider)
            let outsider = Fetch(client: rig.http, base: rig.engineAPI.base, token: people.outsider)
            let got = try await insider.call(.GET, "/api/attachments/\(sha)?message_id=\(imageID)")
            #expect(got.status == 200 && got.body == photo, "\(got.status)")
            #expect(try await outsider.call(.GET, "/api/attachments/\(sha)?message_id=\(imageID)").status == 404)
            let docID = try #require(m["wamid.doc"]?["id"] as? String)
            #expect(try await insider.call(.GET, "/api/attachments/\(sha)?message_id=\(docID)").status == 404,
                    "a file is served only through a message that carries it")
            #expect(try await insider.call(.GET, "/api/attachments/\(sha)").status == 400)
        }
    }

    @Test func aReplyInTheWindowFreeTextRefusedOutsideItAndATemplateAccepted() async throws {
        try await Self.run { rig, meta, _ in
            let people = try await Self.people(rig)
            _ = try await Self.channel(rig, meta, team: people.team)
            try await rig.startGateway()
            // The customer last wrote 25 hours ago: the window is closed.
            let old = Int(Date().timeIntervalSince1970) - 25 * 3600
            let first = Self.message("wamid.old", "text", #""text":{"body":"Wanneer komt de monteur?"}"#, at: old)
            try await G.until("the gateway has the channel") { (try? await Self.post(rig, messages: [first]))?.status == 200 }
            var thread = try await Self.thread(rig)
            let threadID = try #require(thread["id"] as? String)
            let ends = try #require(thread["whatsapp_window_ends_at"] as? String)
            #expect(ISO8601DateFormatter().date(from: ends).map { $0 < Date() } == true, "closed an hour ago: \(ends)")

            let template = try await rig.engineAPI.call(.POST, "/api/templates", json: [
                "template_name": "Afspraak herinnering", "template_category": "follow_up", "channel_type": "whatsapp_business",
                "business_entity": "laderthuis", "message_template": "Beste {{customer_name}}, uw afspraak is op {{date}}.",
                "variables": ["customer_name", "date"], "whatsapp_template_name": "appointment_reminder", "whatsapp_language": "nl",
            ] as [String: Any])
            let templateID = try #require(template.json["id"] as? String, "\(template)")

            let refused = try await rig.engineAPI.call(.POST, "/api/communication/messages", json: [
                "thread_id": threadID, "message_type": "outgoing", "message_content": "Morgen om 9 uur.",
            ])
            #expect(refused.status == 422)
            let error = refused.json["error"] as? [String: Any] ?? refused.json
            #expect(error["code"] as? String == "whatsapp_window_closed", "\(refused)")
            #expect(refused.text.contains("appointment_reminder") && refused.text.contains(templateID), "\(refused)")

            let accepted = try await rig.engineAPI.call(.POST, "/api/communication/messages", json: [
                "thread_id": threadID, "message_type": "outgoing", "template_id": templateID,
                "template_variables": ["customer_name": "Klant", "date": "dinsdag 1 december"],
            ] as [String: Any])
            #expect(accepted.status == 201, "\(accepted)")
            try await G.until("the template reaches Meta") { meta.whatsappSends.count == 1 }
            let sent = try #require(meta.whatsappSends.first?.json as? [String: Any])
            #expect(sent["messaging_product"] as? String == "whatsapp")
            #expect(sent["to"] as? String == Self.customer)
            #expect(sent["type"] as? String == "template")
            let tpl = try #require(sent["template"] as? [String: Any])
            #expect(tpl["name"] as? String == "appointment_reminder")
            #expect((tpl["language"] as? [String: Any])?["code"] as? String == "nl")
            let components = tpl["components"] as? [[String: Any]] ?? []
            let parameters = components.first { $0["type"] as? String == "body" }?["parameters"] as? [[String: Any]] ?? []
            #expect(parameters.map { $0["type"] as? String } == ["text", "text"])
            #expect(parameters.map { $0["text"] as? String } == ["Klant", "dinsdag 1 december"])

            // The customer writes again: the window opens and a free reply to that message goes with its context.
            let now = Int(Date().timeIntervalSince1970)
            let again = Self.message("wamid.new", "text", #""text":{"body":"Dinsdag is goed"}"#, at: now)
            #expect(try await Self.post(rig, messages: [again]).status == 200)
            thread = try await Self.thread(rig)
            let open = try #require(thread["whatsapp_window_ends_at"] as? String)
            #expect(ISO8601DateFormatter().date(from: open).map { $0 > Date().addingTimeInterval(23 * 3600) } == true)
            let newID = try #require(Self.byExternal(thread)["wamid.new"]?["id"] as? String)
            let reply = try await rig.engineAPI.call(.POST, "/api/communication/messages", json: [
                "thread_id": threadID, "message_type": "outgoing", "message_content": "Top, tot dinsdag!",
                "reply_to_message_id": newID,
            ])
            #expect(reply.status == 201, "\(reply)")
            try await G.until("the reply reaches Meta") { meta.whatsappSends.count == 2 }
            let body = try #require(meta.whatsappSends.last?.json as? [String: Any])
            #expect(body["type"] as? String == "text")
            #expect(body["recipient_type"] as? String == "individual")
            #expect((body["text"] as? [String: Any])?["body"] as? String == "Top, tot dinsdag!")
            #expect((body["context"] as? [String: Any])?["message_id"] as? String == "wamid.new")
        }
    }

    @Test func statusesOutOfOrderAndTwiceMoveForwardOnlyAnd131047FailsWithANotice() async throws {
        try await Self.run { rig, meta, _ in
            let people = try await Self.people(rig)
            _ = try await Self.channel(rig, meta, team: people.team)
            try await rig.startGateway()
            let now = Int(Date().timeIntervalSince1970)
            let first = Self.message("wamid.in", "text", #""text":{"body":"Hallo"}"#, at: now - 10)
            try await G.until("the gateway has the channel") { (try? await Self.post(rig, messages: [first]))?.status == 200 }
            let threadID = try #require(try await Self.thread(rig)["id"] as? String)
            let a = try await rig.answer(threadID, "Eerste antwoord")
            let b = try await rig.answer(threadID, "Tweede antwoord")
            try await G.until("both reach Meta") { meta.whatsappSends.count == 2 }
            @Sendable func external(_ id: String) async throws -> String? { try await rig.message(id, in: threadID)?["external_message_id"] as? String }
            try await G.until("both have Meta's ids") {
                let ea = try await external(a), eb = try await external(b)
                return ea != nil && eb != nil
            }
            let wa = try #require(try await external(a)), wb = try #require(try await external(b))

            // read (with its time) before delivered, then sent and delivered again: stays read.
            let readAt = now - 5
            for s in [Self.status(wa, "read", at: readAt), Self.status(wa, "delivered", at: now - 7),
                      Self.status(wa, "sent", at: now - 8), Self.status(wa, "delivered", at: now - 7),
                      Self.status(wa, "read", at: readAt)] {
                #expect(try await Self.postRaw(rig, s).status == 200)
            }
            // An unknown wamid is acknowledged and ignored.
            #expect(try await Self.postRaw(rig, Self.status("wamid.nobody-knows", "delivered", at: now)).status == 200)
            // Meta's re-engagement failure for the other one.
            let failure = Self.status(wb, "failed", at: now - 4, errors: #"""
                [{"code":131047,"title":"Re-engagement message","message":"Re-engagement message",
                  "error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]
                """#)
            #expect(try await Self.postRaw(rig, failure).status == 200)
            try await G.until("the failure shows") { try await rig.message(b, in: threadID)?["delivery_status"] as? String == "failed" }
            let ma = try #require(try await rig.message(a, in: threadID))
            #expect(ma["delivery_status"] as? String == "read")
            let readText = try #require(ma["read_at"] as? String)
            #expect(ISO8601DateFormatter().date(from: readText) == Date(timeIntervalSince1970: TimeInterval(readAt)))
            // A late "sent" (and the failure again) for the failed one changes nothing.
            // (Order: pending < sent < failed/bounced < delivered < read — a receipt that the
            // customer got it outranks a failure; see DeliveryStatus.progressRank.)
            #expect(try await Self.postRaw(rig, Self.status(wb, "sent", at: now - 6)).status == 200)
            #expect(try await Self.postRaw(rig, failure).status == 200)
            try await Task.sleep(for: .milliseconds(500))
            let mb = try #require(try await rig.message(b, in: threadID))
            #expect(mb["delivery_status"] as? String == "failed")
            let error = (mb["metadata"] as? [String: Any])?["delivery_error"] as? [String: Any]
            #expect(error?["code"] as? String == "131047", "\(mb)")
            let why = error?["title"] as? String ?? error?["reason"] as? String ?? ""
            #expect(why.contains("Re-engagement message"), "\(mb)")
            let thread = try await Self.thread(rig)
            let notices = (thread["messages"] as? [[String: Any]] ?? []).filter { $0["message_type"] as? String == "system_notification" }
            #expect(notices.count == 1, "\(notices)")
            #expect((notices.first?["message_content"] as? String ?? "").contains("131047"))
            #expect(meta.whatsappSends.count == 2, "nothing was sent again")
        }
    }

    @Test func openingAThreadMarksTheCustomersLastMessageReadOnceUnlessTheChannelSaysNo() async throws {
        try await Self.run { rig, meta, _ in
            let people = try await Self.people(rig)
            let channel = try await Self.channel(rig, meta, team: people.team)
            try await rig.startGateway()
            let now = Int(Date().timeIntervalSince1970)
            let one = Self.message("wamid.one", "text", #""text":{"body":"Een"}"#, at: now - 20)
            let two = Self.message("wamid.two", "text", #""text":{"body":"Twee"}"#, at: now - 10)
            try await G.until("the gateway has the channel") { (try? await Self.post(rig, messages: [one, two]))?.status == 200 }
            _ = try await Self.thread(rig, token: people.insider)
            try await G.until("the read receipt reaches Meta") { meta.whatsappReadReceipts.count == 1 }
            let receipt = try #require(meta.whatsappReadReceipts.first?.json as? [String: Any])
            #expect(receipt["messaging_product"] as? String == "whatsapp")
            #expect(receipt["status"] as? String == "read")
            #expect(receipt["message_id"] as? String == "wamid.two")
            // Opening it again sends nothing more.
            _ = try await Self.thread(rig, token: people.insider)
            try await Task.sleep(for: .seconds(1))
            #expect(meta.whatsappReadReceipts.count == 1)

            // Turned off on the channel: a new message opened is not marked read.
            let off = try await rig.engineAPI.call(.PUT, "/api/communication/channels/\(channel)",
                                                   json: ["configuration": ["phone_number_id": Self.phoneNumberID, "graph_base_url": meta.baseURL + "/v21.0",
                                                                             "mark_as_read": false]])
            #expect(off.status == 200, "\(off)")
            try await Task.sleep(for: .seconds(1))
            let three = Self.message("wamid.three", "text", #""text":{"body":"Drie"}"#, at: now - 5)
            #expect(try await Self.post(rig, messages: [three]).status == 200)
            _ = try await Self.thread(rig, token: people.insider)
            try await Task.sleep(for: .seconds(1))
            #expect(meta.whatsappReadReceipts.count == 1)
            #expect(meta.whatsappSends.isEmpty)
        }
    }
}
