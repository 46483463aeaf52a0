import CommHubDomain
import CommHubEngine
import Crypto
import Foundation
import Testing

/// Templates, suggestions, merge and split, satisfaction surveys and the
/// owner's rule shape, as a client reaches them: over the real server on
/// loopback, with a restart from the journal where state must survive.
@Suite("Templates, merge and split, CSAT over the API")
struct CaseAndTemplateTests {
    static func inbound(_ channel: String, _ externalID: String, subject: String = "Vraag", text: String = "Hallo",
                        email: String = "jan@example.nl", internetID: String? = nil, inReplyTo: [String] = [],
                        at: Date) -> String {
        #"""
        {"type":"message","channel_id":"\#(channel)","external_message_id":\#(q(externalID)),
         "sender_external":{"name":"Jan Jansen","email":\#(q(email))},"subject":\#(q(subject)),
         "message_content":\#(q(text)),"in_reply_to":[\#(inReplyTo.map(q).joined(separator: ","))],
         \#(internetID.map { #""internet_message_id":\#(q($0)),"# } ?? "")"attachments":[],"received_at":"\#(at.iso8601)"}
        """#
    }

    static func ingest(_ http: HTTP, _ w: World, _ item: String) async throws -> JSONValue {
        let r = try await http.post("/api/ingest", w.gatewayToken, #"{"events":[\#(item)]}"#)
        try #require(r.status == 200, "\(r)")
        try #require(r.json["results"]?[0]?["thread_id"]?.string != nil, "\(r)")
        return r.json["results"]![0]!
    }

    /// A customer with an order (with lines) in the directory, and their e-mail about it.
    static func customerThread(_ live: Live, _ w: World) async throws -> String {
        let http = live.http
        let customer = UUID().uuidString.lowercased()
        try ok(await http.post("/api/directory", w.adminToken, #"""
            {"customers":[{"id":"\#(customer)","name":"Jan Jansen","emails":["jan@example.nl"]}],
             "orders":[{"id":"\#(UUID())","order_number":"300123","customer_id":"\#(customer)","brand":"chargecars",
                        "lines":[{"description":"Zaptec Go","quantity":1,"price":"€ 1.249,00"},
                                 {"description":"Installatie","quantity":1,"price":"€ 450,00"}]}]}
            """#))
        let r = try await ingest(http, w, inbound(w.emailChannel, "m-1", subject: "Vraag over order 300123",
                                                  internetID: "<q1@example.nl>", at: live.env.clock.now()))
        let thread = try #require(r["thread_id"]?.string)
        let detail = try ok(await http.get("/api/communication/threads/\(thread)", w.adminToken)).json
        try #require(detail["customer_id"]?.string == customer, "the e-mail links the customer: \(detail)")
        try #require(detail["order_id"]?.string != nil, "the subject links the order")
        return thread
    }

    @Test("sending with a template: thread context with sections, misfits refused, missing variables named, WhatsApp mapping")
    func sendingWithTemplates() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            let thread = try await Self.customerThread(live, w)
            func template(_ json: String) async throws -> String { try created(await http.post("/api/templates", admin, json)).id }
            let lines = try await template(#"""
                {"template_name":"Orderoverzicht","template_category":"customer_service","channel_type":"email_outlook","business_entity":"chargecars",
                 "subject_template":"Uw order {{order.number}}",
                 "message_template":"Beste {{customer.name}},\n{{#order.lines}}- {{quantity}}x {{description}} {{price}}\n{{/order.lines}}{{^order.lines}}Geen regels.\n{{/order.lines}}Groet, {{agent.name}} ({{brand.name}})"}
                """#)
            let sent = try created(await http.post("/api/communication/messages", w.token(.agent), #"""
                {"thread_id":"\#(thread)","message_type":"outgoing","template_id":"\#(lines)"}
                """#)).json
            #expect(sent["subject"]?.string == "Uw order 300123")
            #expect(sent["message_content"]?.string == """
                Beste Jan Jansen,
                - 1x Zaptec Go € 1.249,00
                - 1x Installatie € 450,00
                Groet, Anna Agent (ChargeCars)
                """)

            // A template of another brand, or for another channel, is refused with the reason.
            let other = try await template(#"""
                {"template_name":"LaderThuis","template_category":"customer_service","channel_type":"any","business_entity":"laderthuis",
                 "message_template":"Hoi"}
                """#)
            let brand = try await http.post("/api/communication/messages", w.token(.agent),
                                             #"{"thread_id":"\#(thread)","message_type":"outgoing","template_id":"\#(other)"}"#)
            #expect(brand.status == 422 && brand.errorCode == "template_not_applicable")
            #expect(brand.errorMessage?.contains("is for laderthuis; this thread is chargecars's") == true, "\(brand)")
            let sms = try await template(#"""
                {"template_name":"SMS","template_category":"customer_service","channel_type":"sms","message_template":"Hoi"}
                """#)
            let channel = try await http.post("/api/communication/messages", w.token(.agent),
                                               #"{"thread_id":"\#(thread)","message_type":"outgoing","template_id":"\#(sms)"}"#)
            #expect(channel.status == 422 && channel.errorCode == "template_not_applicable")
            #expect(channel.errorMessage?.contains("goes out as email_outlook") == true, "\(channel)")

            // A declared variable the thread does not have: an error naming it, never blank text.
            let bare = try await w.thread(http, team: w.teamA, #""business_entity":"chargecars""#)
            let missing = try await http.post("/api/communication/messages", w.token(.agent),
                                               #"{"thread_id":"\#(bare)","message_type":"internal_note","template_id":"\#(lines)"}"#)
            #expect(missing.status == 422, "\(missing)")
            #expect(missing.errorCode == "template_not_applicable", "an email_outlook template is not for an internal note")
            let anyLines = try await template(#"""
                {"template_name":"Klantnaam","template_category":"customer_service","channel_type":"any","message_template":"Beste {{customer_name}}, {{agent_name}}"}
                """#)
            let named = try await http.post("/api/communication/messages", w.token(.agent),
                                             #"{"thread_id":"\#(bare)","message_type":"internal_note","template_id":"\#(anyLines)"}"#)
            #expect(named.status == 422 && named.errorCode == "missing_variables")
            #expect(named.errorMessage == "template variables missing: customer_name", "\(named)")
            let before = try ok(await http.get("/api/communication/threads/\(bare)", admin)).json["messages"]?.array?.count
            #expect(before == 0, "a refused message changes nothing")

            // Preview with the thread's values.
            let preview = try ok(await http.post("/api/templates/\(lines)/render", w.token(.agent), #"{"thread_id":"\#(thread)"}"#)).json
            #expect(preview["missing_variables"]?.array == [])
            #expect(preview["message"]?.string?.contains("- 1x Installatie € 450,00") == true)

            // WhatsApp: the approved template's name, language and body parameters from the thread, in order.
            let wa = try await template(#"""
                {"template_name":"Afspraak WA","template_category":"installation_scheduling","channel_type":"whatsapp_business",
                 "business_entity":"laderthuis","message_template":"Hoi {{customer_name|klant}}, uw afspraak staat op {{date}}.",
                 "variables":["customer_name","date"],"whatsapp_template_name":"afspraak_bevestiging","whatsapp_language":"nl"}
                """#)
            let chat = try await Self.ingest(http, w, #"""
                {"type":"message","channel_id":"\#(w.whatsappChannel)","external_message_id":"wamid.t1",
                 "thread_reference":{"kind":"whatsapp_chat_id","value":"1234567890:31612345678"},
                 "sender_external":{"phone":"+31612345678"},"message_content":"Wanneer komt de monteur?","in_reply_to":[],"attachments":[],
                 "received_at":"\#(live.env.clock.now().iso8601)"}
                """#)["thread_id"]!.string!
            let noDate = try await http.post("/api/communication/messages", admin,
                                              #"{"thread_id":"\#(chat)","message_type":"outgoing","template_id":"\#(wa)"}"#)
            #expect(noDate.status == 422 && noDate.errorMessage == "template variables missing: date", "\(noDate)")
            let waSent = try created(await http.post("/api/communication/messages", admin, #"""
                {"thread_id":"\#(chat)","message_type":"outgoing","template_id":"\#(wa)","template_variables":{"date":"1 december"}}
                """#)).json
            #expect(waSent["message_content"]?.string == "Hoi klant, uw afspraak staat op 1 december.")
            let mapped = waSent["metadata"]?["whatsapp_template"]
            #expect(mapped?["name"]?.string == "afspraak_bevestiging" && mapped?["language"]?.string == "nl")
            #expect(mapped?["parameters"]?.array?.compactMap(\.string) == ["klant", "1 december"], "the fallback of a customer without a name")
        }
    }

    @Test("template suggestions: the thread type's category first, then what agents really sent in similar threads; misfits never")
    func suggestions() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            let thread = try await Self.customerThread(live, w)
            func template(_ name: String, _ category: String, _ channel: String = "any", _ brand: String = "all") async throws -> String {
                try created(await http.post("/api/templates", admin, #"""
                    {"template_name":"\#(name)","template_category":"\#(category)","channel_type":"\#(channel)",
                     "business_entity":"\#(brand)","message_template":"Hallo"}
                    """#)).id
            }
            let general = try await template("A algemeen", "customer_service")
            let own = try await template("B eigen merk", "customer_service", "email_outlook", "chargecars")
            let popular = try await template("C vaak gebruikt", "customer_service")
            let sales = try await template("D verkoop", "sales_inquiry")
            _ = try await template("E ander merk", "customer_service", "any", "laderthuis")
            _ = try await template("F whatsapp", "customer_service", "whatsapp_business")
            _ = try await template("G auto", "auto_response")
            func ranked() async throws -> [String] {
                try ok(await http.get("/api/communication/threads/\(thread)/template-suggestions", w.token(.agent))).ids
            }
            #expect(try await ranked() == [own, general, popular, sales], "without uses: specificity, then name")

            // Two real sends of C in this kind of thread (customer_support, chargecars) put it first among its category.
            for _ in 0..<2 {
                let m = try created(await http.post("/api/communication/messages", w.token(.agent),
                                                    #"{"thread_id":"\#(thread)","message_type":"outgoing","template_id":"\#(popular)"}"#)).json
                _ = try await live.engine.supervisor.setDelivery(message: try #require(MessageID(m["id"]?.string ?? "")), status: .sent,
                                                                 at: live.env.clock.now())
            }
            // A send of D that never went out does not count.
            _ = try created(await http.post("/api/communication/messages", w.token(.agent),
                                            #"{"thread_id":"\#(thread)","message_type":"outgoing","template_id":"\#(sales)"}"#))
            let items = try ok(await http.get("/api/communication/threads/\(thread)/template-suggestions", w.token(.agent))).items
            #expect(items.ids == [popular, own, general, sales])
            #expect(items.first?["suggestion"]?["similar_thread_uses"]?.int == 2)
            #expect(items.first?["usage_count"]?.int == 2)
            #expect(items.last?["suggestion"]?["category_match"]?.bool == false)
            #expect(items[1]["suggestion"]?["brand_match"]?.string == "exact" && items[1]["suggestion"]?["channel_match"]?.string == "exact")
            // Asked for another channel: the channel's own templates there.
            let onWhatsApp = try ok(await http.get("/api/communication/threads/\(thread)/template-suggestions?channel_type=whatsapp_business",
                                                   admin)).items.compactMap { $0["template_name"]?.string }
            #expect(onWhatsApp == ["C vaak gebruikt", "F whatsapp", "A algemeen", "D verkoop"])
        }
    }

    @Test("the owner's rule shape through the API: thread types as top-level keys; by_thread_type still works; unknown keys refused")
    func ownerRules() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            let put = try ok(await http.put("/api/routing-rules", admin, #"""
                {"customer_support":{"default_assignee":"team_a","escalation_after_hours":4,"escalation_to":"support_manager"},
                 "by_thread_type":{"complaint":{"default_assignee":"Team B"}}}
                """#)).json
            #expect(put["by_thread_type"]?["customer_support"]?["default_assignee"]?.string == "team_a")
            #expect(put["by_thread_type"]?["customer_support"]?["escalation_after_hours"]?.int == 4)
            #expect(put["by_thread_type"]?["customer_support"]?["escalation_to"]?.string == "support_manager")
            #expect(put["by_thread_type"]?["complaint"]?["default_assignee"]?.string == "Team B")
            #expect(put["customer_support"] == nil, "stored and returned as by_thread_type")

            let unknown = try await http.put("/api/routing-rules", admin, #"{"custmer_support":{"default_assignee":"team_a"}}"#)
            #expect(unknown.status == 422, "\(unknown)")
            #expect(unknown.errorMessage?.contains("'custmer_support' is not a rules key") == true, "\(unknown)")
            let twice = try await http.put("/api/routing-rules", admin, #"""
                {"complaint":{"default_assignee":"team_a"},"by_thread_type":{"complaint":{"default_assignee":"team_b"}}}
                """#)
            #expect(twice.status == 422 && twice.errorMessage?.contains("complaint is given twice") == true, "\(twice)")
            let nested = try await http.put("/api/routing-rules", admin, #"{"complaint":{"default_assigne":"team_a"}}"#)
            #expect(nested.status == 422 && nested.errorMessage?.contains("'default_assigne' is not a key of a thread type's rule") == true,
                    "\(nested)")
            let noTeam = try await http.put("/api/routing-rules", admin, #"{"complaint":{"default_assignee":"customer_service_team"}}"#)
            #expect(noTeam.status == 422 && noTeam.errorMessage?.contains("'customer_service_team' names no team") == true, "\(noTeam)")
            // Refusals changed nothing.
            let now = try ok(await http.get("/api/routing-rules", admin)).json
            #expect(now["by_thread_type"]?["customer_support"]?["escalation_after_hours"]?.int == 4)

            // A channel takes the same shape, and a new thread of that type goes to the rule's team.
            try ok(await http.put("/api/communication/channels/\(w.emailChannel)", admin,
                                  #"{"auto_assignment_rules":{"customer_support":{"default_assignee":"Team B"}}}"#))
            let r = try await w.ingest(http, channel: w.emailChannel, externalID: "rules-1")
            let detail = try ok(await http.get("/api/communication/threads/\(r["thread_id"]!.string!)", admin)).json
            #expect(detail["assigned_team_id"]?.string == w.teamB)
        }
    }

    @Test("merge and split: journaled, audited, in both timelines, writes to a merged thread refused, the same after a restart")
    func mergeAndSplitAcrossRestart() async throws {
        let root = try Harness.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = SimulatedClock()
        let key = SymmetricKey(size: .bits256)
        let env1 = try await Harness.open(root: root, clock: clock, key: key, sync: .full)
        let (before, survivor, merged, split) = try await Harness.serve(env1) { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            let mail = try await Self.customerThread(live, w)
            live.env.clock.advance(by: 60)
            func chatMessage(_ channel: String, _ id: String, _ text: String, chat: String = "555:31612345678") -> String {
                #"""
                {"type":"message","channel_id":"\#(channel)","external_message_id":"\#(id)",
                 "thread_reference":{"kind":"whatsapp_chat_id","value":"\#(chat)"},
                 "sender_external":{"phone":"+31612345678"},"message_content":"\#(text)","in_reply_to":[],"attachments":[],
                 "received_at":"\#(live.env.clock.now().iso8601)"}
                """#
            }
            // Different brands are not merged: the seeded WhatsApp channel is laderthuis's.
            let other = try await Self.ingest(http, w, chatMessage(w.whatsappChannel, "wamid.l1", "LaderThuis", chat: "1234567890:31600000000"))["thread_id"]!.string!
            let refused = try await http.post("/api/communication/threads/\(other)/merge", admin, #"{"into":"\#(mail)"}"#)
            #expect(refused.status == 422 && refused.errorMessage?.contains("different brands") == true, "\(refused)")
            let ccWhatsApp = try created(await http.post("/api/communication/channels", admin, #"""
                {"channel_type":"whatsapp_business","channel_name":"WhatsApp ChargeCars","business_entity":"chargecars",
                 "auto_assignment_rules":{"default_assignee":"\#(w.teamB)"},"configuration":{"phone_number_id":"555"}}
                """#)).id
            let chat = try await Self.ingest(http, w, chatMessage(ccWhatsApp, "wamid.m1", "Zelfde vraag via WhatsApp"))["thread_id"]!.string!

            let after = try ok(await http.post("/api/communication/threads/\(chat)/merge", w.token(.manager), #"{"into":"\#(mail)"}"#)).json
            #expect(after["id"]?.string == mail)
            let texts = after["messages"]?.array?.compactMap { $0["message_content"]?.string } ?? []
            #expect(texts.contains("Zelfde vraag via WhatsApp") && texts.contains("Hallo"), "\(texts)")
            #expect(after["external_references"]?.array?.contains { $0["kind"]?.string == "whatsapp_chat_id" } == true)
            let notice = after["messages"]?.array?.last
            #expect(notice?["message_type"]?.string == "system_notification")
            #expect(notice?["metadata"]?["kind"]?.string == "thread_merged")
            #expect(notice?["message_content"]?.string?.contains("by Mark Manager") == true)
            let gone = try ok(await http.get("/api/communication/threads/\(chat)", admin)).json
            #expect(gone["merged_into_thread_id"]?.string == mail && gone["status"]?.string == "closed")
            let write = try await http.post("/api/communication/messages", admin,
                                             #"{"thread_id":"\#(chat)","message_type":"internal_note","message_content":"x"}"#)
            #expect(write.status == 409 && write.errorMessage?.contains("was merged into \(mail)") == true, "\(write)")
            // The chat's next message lands in the survivor.
            let next = try await Self.ingest(http, w, chatMessage(ccWhatsApp, "wamid.m2", "Nog een vraag"))
            #expect(next["thread_id"]?.string == mail)

            // Split the WhatsApp messages (the second message on) off again.
            let moved = try #require(after["messages"]?.array?.first { $0["message_content"]?.string == "Zelfde vraag via WhatsApp" }?["id"]?.string)
            let new = try created(await http.post("/api/communication/threads/\(mail)/split", w.token(.manager),
                                                  #"{"from_message_id":"\#(moved)"}"#)).json
            let newID = try #require(new["id"]?.string)
            #expect(new["split_from_thread_id"]?.string == mail)
            let newTexts = new["messages"]?.array?.compactMap { $0["message_content"]?.string } ?? []
            #expect(newTexts.contains("Zelfde vraag via WhatsApp") && newTexts.contains("Nog een vraag") && !newTexts.contains("Hallo"))
            #expect(new["messages"]?.array?.last?["metadata"]?["kind"]?.string == "thread_split")
            let source = try ok(await http.get("/api/communication/threads/\(mail)", admin)).json
            #expect(source["messages"]?.array?.last?["metadata"]?["kind"]?.string == "thread_split")
            #expect(source["messages"]?.array?.contains { $0["message_content"]?.string == "Nog een vraag" } == false)
            // Audited: who merged and split what.
            let audit = try ok(await http.get("/api/audit?limit=500", admin)).items
            #expect(audit.filter { $0["action"]?.string == "thread.merge" }.count == 2)
            #expect(audit.filter { $0["action"]?.string == "thread.split" }.count == 2)
            return (try await RestartAndAuditTests.dump(http), mail, chat, newID)
        }
        await env1.durable.shutdown(snapshot: false)

        // From the journal alone.
        let env2 = try await Harness.open(root: root, clock: clock, key: key, sync: .full)
        try await Harness.serve(env2) { live in
            let http = live.http
            RestartAndAuditTests.expectSame(before, try await RestartAndAuditTests.dump(http), "after a restart")
            let gone = try ok(await http.get("/api/communication/threads/\(merged)", Harness.adminToken)).json
            #expect(gone["merged_into_thread_id"]?.string == survivor)
            let new = try ok(await http.get("/api/communication/threads/\(split)", Harness.adminToken)).json
            #expect(new["split_from_thread_id"]?.string == survivor)
        }
        await env2.durable.shutdown(snapshot: true)
        // And from the snapshot.
        let env3 = try await Harness.open(root: root, clock: clock, key: key, sync: .full)
        try await Harness.serve(env3) { live in
            RestartAndAuditTests.expectSame(before, try await RestartAndAuditTests.dump(live.http), "after a snapshot")
        }
        await env3.durable.shutdown(snapshot: false)
    }

    @Test("CSAT: a channel with csat_survey asks 1–5 on resolve; the answer is captured on the thread without reopening it")
    func satisfaction() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            let bad = try await http.put("/api/communication/channels/\(w.emailChannel)", admin,
                                          #"{"configuration":{"mailbox":"support@chargecars.nl","csat_survey":true,"csat_window_days":0}}"#)
            #expect(bad.status == 422 && bad.errorMessage?.contains("csat_window_days") == true, "\(bad)")
            try ok(await http.put("/api/communication/channels/\(w.emailChannel)", admin,
                                  #"{"configuration":{"mailbox":"support@chargecars.nl","csat_survey":true,"csat_window_days":3}}"#))
            let thread = try await Self.customerThread(live, w)
            try ok(await http.put("/api/communication/threads/\(thread)", admin, #"{"assigned_to_contact_id":"\#(w.agentA)"}"#))
            try ok(await http.put("/api/communication/threads/\(thread)", w.token(.agent), #"{"status":"resolved"}"#))
            let asked = try ok(await http.get("/api/communication/threads/\(thread)", admin)).json
            let question = asked["messages"]?.array?.last
            #expect(question?["message_type"]?.string == "auto_response" && question?["metadata"]?["kind"]?.string == "csat_request")
            #expect(question?["message_content"]?.string?.contains("1 (zeer ontevreden) tot 5") == true)
            #expect(asked["csat_requested_at"]?.string != nil && asked["csat_score"] == .null)

            live.env.clock.advance(by: 3600)
            _ = try await Self.ingest(http, w, Self.inbound(w.emailChannel, "m-answer", subject: "Re: Uw mening", text: "4",
                                                            inReplyTo: ["<q1@example.nl>"], at: live.env.clock.now()))
            let answered = try ok(await http.get("/api/communication/threads/\(thread)", admin)).json
            #expect(answered["status"]?.string == "resolved", "the answer does not reopen the thread")
            #expect(answered["csat_score"]?.int == 4)
            #expect(answered["csat_agent_contact_id"]?.string == w.agentA)
            #expect(answered["csat_scored_at"]?.string == live.env.clock.now().iso8601)
            #expect(answered["messages"]?.array?.last?["message_content"]?.string == "4", "the answer is in the timeline")
        }
    }
}
