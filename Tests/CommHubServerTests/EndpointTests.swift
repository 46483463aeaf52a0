import CommHubDomain
import CommHubEngine
import CommHubServer
import Foundation
import Testing

/// Every endpoint of API.md that the router serves, on its happy path, with
/// the contract's field names and enum values.
@Suite("Endpoints") struct EndpointTests {
    @Test func threadsFiltersDetailAndPagination() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken

            // Threads of every shape.
            let t1 = try created(await http.post("/api/communication/threads", admin, #"""
                {"thread_subject":"Laadpaal kapot bij 1001","thread_type":"technical_issue","priority":"urgent",
                 "channel_type":"whatsapp_business","team_id":"\#(w.teamA)","tags":["hardware"],
                 "business_entity":"chargecars",
                 "external_references":[{"kind":"whatsapp_chat_id","value":"123:+31612345678"}]}
                """#))
            let j1 = t1.json
            #expect(j1["thread_subject"]?.string == "Laadpaal kapot bij 1001")
            #expect(j1["thread_type"]?.string == "technical_issue")
            #expect(j1["priority"]?.string == "urgent")
            #expect(j1["status"]?.string == "open")
            #expect(j1["channel_type"]?.string == "whatsapp_business")
            #expect(j1["business_entity"]?.string == "chargecars")
            #expect(j1["tags"]?.array == [.string("hardware")])
            #expect(j1["external_references"]?[0]?["kind"]?.string == "whatsapp_chat_id")
            #expect(j1["created_by_contact_id"]?.string == w.admin)
            #expect(j1["assigned_team_id"]?.string == w.teamA)
            #expect(j1["messages"]?.array == [])
            #expect(j1["tasks"]?.array == [])
            #expect(j1["created_at"]?.string?.hasSuffix("Z") == true)
            let t2 = try created(await http.post("/api/communication/threads", admin, #"""
                {"thread_subject":"Offerte aanvraag","thread_type":"sales_inquiry","priority":"low",
                 "channel_type":"email_outlook","team_id":"\#(w.teamB)"}
                """#)).id
            let t3 = try created(await http.post("/api/communication/threads", admin, #"""
                {"thread_subject":"Klacht over installatie","thread_type":"complaint","priority":"critical",
                 "status":"escalated","channel_type":"sms","team_id":"\#(w.teamA)","assigned_to_contact_id":"\#(w.agentA)"}
                """#))
            #expect(t3.json["assigned_to_contact_id"]?.string == w.agentA)
            let t4 = try await w.thread(http, team: w.teamA, #""thread_type":"partner_inquiry""#)
            try ok(await http.put("/api/communication/threads/\(t4)", admin, #"{"status":"resolved"}"#))
            let t5 = try await w.thread(http, team: w.teamB, #""status":"waiting_customer","priority":"high""#)

            let open = Set([w.threadA, w.threadB, t1.id, t2, t3.id, t5])
            func list(_ query: String, _ token: String? = nil) async throws -> Set<String> {
                let r = try ok(await http.get("/api/communication/threads\(query)", token ?? admin))
                return Set(r.ids)
            }
            #expect(try await list("") == open, "default: open statuses only")
            #expect(try await list("?status=all") == open.union([t4]))
            #expect(try await list("?status=resolved") == [t4])
            #expect(try await list("?status=escalated,waiting_customer") == [t3.id, t5])
            #expect(try await list("?priority=urgent,critical") == [t1.id, t3.id])
            #expect(try await list("?priority=low") == [t2])
            #expect(try await list("?thread_type=technical_issue") == [t1.id])
            #expect(try await list("?thread_type=complaint,sales_inquiry") == [t2, t3.id])
            #expect(try await list("?channel_type=sms") == [t3.id])
            #expect(try await list("?channel_type=whatsapp_business,email_outlook") == [t1.id, t2])
            #expect(try await list("?assigned_to_contact_id=\(w.agentA)") == [t3.id])
            #expect(try await list("?mine=true", w.token(.agent)) == [t3.id])
            #expect(try await list("?mine=true") == [])
            #expect(try await list("?q=laadpaal") == [t1.id], "q is case-insensitive")
            #expect(try await list("?q=KLACHT&priority=critical") == [t3.id])
            #expect(try await list("?team_id=\(w.teamB)") == [w.threadB, t2, t5])
            // An agent of team A sees team A's threads (and their own), never team B's.
            #expect(try await list("", w.token(.agent)) == [w.threadA, t1.id, t3.id])
            #expect(try await list("", w.agentBToken) == [w.threadB, t2, t5])

            // Overdue: an inbound e-mail whose answer was due 2 business hours after it came.
            let result = try await w.ingest(http, channel: w.emailChannel, externalID: "late-1", subject: "Nog geen antwoord",
                                            receivedAt: "2026-11-25T09:00:00Z")
            let late = try #require(result["thread_id"]?.string)
            #expect(try await list("?overdue=true") == [])
            live.env.clock.advance(by: 3 * 86_400)
            #expect(try await list("?overdue=true") == [late])
            let lateThread = try ok(await http.get("/api/communication/threads/\(late)", admin)).json
            #expect(lateThread["response_due_at"]?.string != nil)
            #expect(lateThread["last_message_at"]?.string != nil)

            // Pagination: every thread exactly once, most urgent first.
            for i in 0..<23 {
                let p = ["low", "normal", "high", "urgent", "critical"][i % 5]
                _ = try await w.thread(http, team: i % 2 == 0 ? w.teamA : w.teamB, #""priority":"\#(p)""#)
            }
            let all = try await list("?limit=500")
            #expect(all.count == open.count + 1 + 23)
            for limit in [1, 4, 7, 50] {
                let paged = try await http.all("/api/communication/threads", admin, limit: limit)
                let ids = paged.items.ids
                #expect(ids.count == all.count, "limit \(limit)")
                #expect(Set(ids) == all, "limit \(limit): every thread exactly once")
                #expect(paged.pages == (all.count + limit - 1) / limit || paged.pages == (all.count + limit - 1) / limit + 1)
                let ranks = paged.items.map { ["critical": 0, "urgent": 1, "high": 2, "normal": 3, "low": 4][$0["priority"]!.string!]! }
                #expect(ranks == ranks.sorted(), "most urgent first across pages (limit \(limit))")
            }
            let agentPaged = try await http.all("/api/communication/threads", w.token(.agent), limit: 3)
            #expect(Set(agentPaged.items.ids) == (try await list("?limit=500", w.token(.agent))))
            #expect(agentPaged.items.allSatisfy { $0["assigned_team_id"]?.string == w.teamA || $0["assigned_to_contact_id"]?.string == w.agentA })
            let filteredPaged = try await http.all("/api/communication/threads?priority=critical", admin, limit: 2)
            #expect(Set(filteredPaged.items.ids) == (try await list("?priority=critical&limit=500")))

            // PUT: status, priority, tags, type, subject.
            let put = try ok(await http.put("/api/communication/threads/\(t2)", admin, #"""
                {"status":"in_progress","priority":"high","tags":["offerte","b2b"],"thread_type":"partner_inquiry",
                 "thread_subject":"Offerte aanvraag (zakelijk)"}
                """#)).json
            #expect(put["status"]?.string == "in_progress")
            #expect(put["priority"]?.string == "high")
            #expect(put["tags"]?.array == [.string("offerte"), .string("b2b")])
            #expect(put["thread_type"]?.string == "partner_inquiry")
            #expect(put["thread_subject"]?.string == "Offerte aanvraag (zakelijk)")
            let closed = try ok(await http.put("/api/communication/threads/\(t2)", admin, #"{"status":"closed"}"#)).json
            #expect(closed["status"]?.string == "closed")
            #expect(try await list("?status=closed") == [t2])
        }
    }

    @Test func messagesTasksAndThreadDetail() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            let agent = w.token(.agent)
            let clock = live.env.clock

            // An inbound e-mail opens a thread of team A.
            let r = try await w.ingest(http, channel: w.emailChannel, externalID: "mail-1", subject: "Vraag over order",
                                       text: "Wanneer komt de monteur?")
            let thread = try #require(r["thread_id"]?.string)
            clock.advance(by: 60)
            let note = try created(await http.post("/api/communication/messages", agent, #"""
                {"thread_id":"\#(thread)","message_type":"internal_note","message_content":"Planning bellen"}
                """#)).json
            #expect(note["message_type"]?.string == "internal_note")
            #expect(note["channel_type"]?.string == "internal_comment")
            #expect(note["delivery_status"]?.string == "delivered")
            #expect(note["sender_contact_id"]?.string == w.agentA)
            #expect(note["message_content"]?.string == "Planning bellen")
            clock.advance(by: 60)
            // An answer without channel_id goes out on the channel the customer wrote on, as pending (outbox).
            let answer = try created(await http.post("/api/communication/messages", agent, #"""
                {"thread_id":"\#(thread)","message_type":"outgoing","subject":"Re: Vraag over order",
                 "message_content":"De monteur komt dinsdag.","message_html":"<p>De monteur komt dinsdag.</p>",
                 "recipient_external":{"name":"Klant","email":"klant@example.nl"},"thread_status":"waiting_customer",
                 "attachments":[{"file_name":"planning.pdf","content_type":"application/pdf","size_bytes":1234,"url":"https://files.example.nl/planning.pdf"}]}
                """#)).json
            #expect(answer["message_type"]?.string == "outgoing")
            #expect(answer["delivery_status"]?.string == "pending")
            #expect(answer["channel_id"]?.string == w.emailChannel)
            #expect(answer["channel_type"]?.string == "email_outlook")
            #expect(answer["message_html"]?.string == "<p>De monteur komt dinsdag.</p>")
            #expect(answer["recipient_external"]?["email"]?.string == "klant@example.nl")
            #expect(answer["attachments"]?[0]?["file_name"]?.string == "planning.pdf")
            clock.advance(by: 60)
            let call = try created(await http.post("/api/communication/messages", agent, #"""
                {"thread_id":"\#(thread)","message_type":"outgoing","call":{"direction":"inbound","duration_seconds":185,
                 "notes":"Klant belde terug"}}
                """#)).json
            #expect(call["channel_type"]?.string == "phone_call")
            #expect(call["message_type"]?.string == "incoming")
            #expect(call["metadata"]?["direction"]?.string == "inbound")
            #expect(call["metadata"]?["duration_seconds"]?.int == 185)
            #expect(call["message_content"]?.string == "Klant belde terug")
            clock.advance(by: 60)
            let task = try created(await http.post("/api/tasks", agent, #"""
                {"task_title":"Monteur inplannen","task_description":"Dinsdag ochtend","task_type":"schedule_visit",
                 "priority":"high","thread_id":"\#(thread)","due_date":"2026-12-01","due_time":"09:30",
                 "reminder_settings":{"minutes_before":30}}
                """#)).json
            #expect(task["task_type"]?.string == "schedule_visit")
            #expect(task["status"]?.string == "open")
            #expect(task["assigned_to_contact_id"]?.string == w.agentA, "defaults to the creator")
            #expect(task["created_by_contact_id"]?.string == w.agentA)
            #expect(task["due_date"]?.string == "2026-12-01")
            #expect(task["due_time"]?.string == "09:30")
            #expect(task["reminder_settings"]?["minutes_before"]?.int == 30)

            // Detail: thread + messages oldest first + tasks.
            let detail = try ok(await http.get("/api/communication/threads/\(thread)", agent)).json
            #expect(detail["id"]?.string == thread)
            #expect(detail["status"]?.string == "waiting_customer", "thread_status of the answer")
            let messages = try #require(detail["messages"]?.array)
            #expect(messages.map { $0["message_type"]?.string ?? "" } == ["incoming", "internal_note", "outgoing", "incoming"])
            let times = messages.compactMap { $0["created_at"]?.string }
            #expect(times == times.sorted() && times.count == 4, "oldest first")
            #expect(messages[0]["message_content"]?.string == "Wanneer komt de monteur?")
            #expect(messages[0]["sender_external"]?["email"]?.string == "klant@example.nl")
            #expect(messages[0]["external_message_id"]?.string == "mail-1")
            #expect(detail["tasks"]?.ids == [task["id"]!.string!])
            #expect(detail["messages_truncated"]?.bool == false, "a short thread is shown whole")

            // Messages list: thread, channel type, delivery status; pagination.
            let byThread = try ok(await http.get("/api/communication/messages?thread_id=\(thread)", agent))
            #expect(byThread.ids == messages.ids)
            #expect(try ok(await http.get("/api/communication/messages?thread_id=\(thread)&channel_type=phone_call", agent)).ids == [call["id"]!.string!])
            #expect(try ok(await http.get("/api/communication/messages?thread_id=\(thread)&delivery_status=pending", agent)).ids == [answer["id"]!.string!])
            let outbox = try ok(await http.get("/api/communication/messages?delivery_status=pending", admin))
            #expect(outbox.ids == [answer["id"]!.string!])
            #expect(try ok(await http.get("/api/communication/messages?delivery_status=pending", w.agentBToken)).ids == [],
                    "the outbox is filtered by access")
            let pagedMessages = try await http.all("/api/communication/messages?thread_id=\(thread)", agent, limit: 1)
            #expect(pagedMessages.items.ids == messages.ids)
            #expect(pagedMessages.pages == 4)

            // PUT message: delivery_status.
            let sent = try ok(await http.put("/api/communication/messages/\(answer["id"]!.string!)", agent, #"{"delivery_status":"sent"}"#)).json
            #expect(sent["delivery_status"]?.string == "sent")
            #expect(sent["message_content"]?.string == "De monteur komt dinsdag.")
            #expect(try ok(await http.get("/api/communication/messages?delivery_status=sent", admin)).ids == [answer["id"]!.string!])

            // Tasks: filters, pagination, completion.
            let t2 = try created(await http.post("/api/tasks", admin, #"""
                {"task_title":"Terugbellen","task_type":"callback","assigned_to_contact_id":"\#(w.agentA2)","due_date":"2026-11-26"}
                """#)).json["id"]!.string!
            // Without response targets by priority a task without due_date stays undated (with them it gets one).
            _ = try ok(await http.put("/api/workflow-settings", admin, #"{"task_response_hours":{}}"#))
            let t3 = try created(await http.post("/api/tasks", admin, #"{"task_title":"Documentatie","task_type":"documentation","status":"waiting"}"#)).json["id"]!.string!
            func tasks(_ query: String, _ token: String) async throws -> [String] {
                try ok(await http.get("/api/tasks\(query)", token)).ids
            }
            let taskID = task["id"]!.string!
            #expect(try await tasks("", admin) == [t2, taskID, t3], "by due date, undated last")
            #expect(try await tasks("?status=waiting", admin) == [t3])
            #expect(try await tasks("?mine=true", agent) == [taskID])
            #expect(try await tasks("?assigned_to_contact_id=\(w.agentA2)", admin) == [t2])
            #expect(try await tasks("?thread_id=\(thread)", admin) == [taskID])
            #expect(try await tasks("", w.agentBToken) == [], "tasks of other teams' threads and people stay hidden")
            let pagedTasks = try await http.all("/api/tasks", admin, limit: 2)
            #expect(pagedTasks.items.ids == [t2, taskID, t3])
            let done = try ok(await http.put("/api/tasks/\(taskID)", agent, #"{"status":"completed","completion_notes":"Ingepland"}"#)).json
            #expect(done["status"]?.string == "completed")
            #expect(done["completed_at"]?.string != nil)
            #expect(done["completion_notes"]?.string == "Ingepland")
            #expect(try await tasks("?status=completed", admin) == [taskID])
        }
    }

    /// A thread longer than a view: GET shows its newest 200 messages and says there are older
    /// ones; the message list pages through all of them (most from the store's history).
    @Test func aLongThreadShowsItsNewestMessagesAndPagesTheRest() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let agent = w.token(.agent)
            let r = try await w.ingest(http, channel: w.emailChannel, externalID: "mail-long", subject: "Lange draad",
                                       text: "Eerste vraag")
            let thread = try #require(r["thread_id"]?.string)
            var ids = [try #require(r["message_id"]?.string)]
            for i in 0..<(ThreadViewLimits.latestMessages + 20) {
                live.env.clock.advance(by: 1)
                ids.append(try #require(try created(await http.post("/api/communication/messages", agent, #"""
                    {"thread_id":"\#(thread)","message_type":"internal_note","message_content":"Notitie \#(i)"}
                    """#)).json["id"]?.string))
            }
            let detail = try ok(await http.get("/api/communication/threads/\(thread)", agent)).json
            let shown = try #require(detail["messages"]?.array)
            #expect(shown.ids == Array(ids.suffix(ThreadViewLimits.latestMessages)))
            #expect(detail["messages_truncated"]?.bool == true)
            #expect(shown.last?["message_content"]?.string == "Notitie \(ThreadViewLimits.latestMessages + 19)", "bodies come with them")
            let paged = try await http.all("/api/communication/messages?thread_id=\(thread)", agent, limit: 100)
            #expect(paged.items.ids == ids)
            #expect(paged.pages == 3)
            #expect(paged.items.first?["message_content"]?.string == "Eerste vraag")
            let mail = try ok(await http.get("/api/communication/messages?thread_id=\(thread)&channel_type=email_outlook", agent))
            #expect(mail.ids == [ids[0]], "a filter reaches the thread's oldest message")
        }
    }

    @Test func templatesRenderAndSend() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            let tpl = try created(await http.post("/api/templates", admin, #"""
                {"template_name":"Bevestiging afspraak","template_category":"installation_scheduling",
                 "channel_type":"email_outlook","subject_template":"Afspraak voor order {{order_number}}",
                 "message_template":"Beste {{customer_name}}, de monteur komt op {{date}}. Groet, {{agent_name|het team}}",
                 "business_entity":"chargecars"}
                """#)).json
            let id = tpl["id"]!.string!
            #expect(tpl["template_category"]?.string == "installation_scheduling")
            #expect(tpl["channel_type"]?.string == "email_outlook")
            #expect(tpl["business_entity"]?.string == "chargecars")
            #expect(tpl["is_active"]?.bool == true)
            #expect(tpl["usage_count"]?.int == 0)
            #expect(Set(tpl["variables"]?.array?.compactMap(\.string) ?? []) == ["order_number", "customer_name", "date", "agent_name"])
            let other = try created(await http.post("/api/templates", admin, #"""
                {"template_name":"Auto-antwoord","template_category":"auto_response","channel_type":"any",
                 "message_template":"We hebben uw bericht ontvangen.","business_entity":"all"}
                """#)).json["id"]!.string!

            // Render: the missing variables are listed, fallbacks used.
            let partial = try ok(await http.post("/api/templates/\(id)/render", w.token(.agent), #"{"variables":{"customer_name":"Jan"}}"#)).json
            #expect(partial["missing_variables"]?.array?.compactMap(\.string) == ["date", "order_number"])
            #expect(partial["message"]?.string?.contains("Beste Jan") == true)
            #expect(partial["message"]?.string?.hasSuffix("Groet, het team") == true)
            let full = try ok(await http.post("/api/templates/\(id)/render", w.token(.agent), #"""
                {"variables":{"customer_name":"Jan","date":"1 december","order_number":"CC-1001"}}
                """#)).json
            #expect(full["missing_variables"]?.array == [])
            #expect(full["subject"]?.string == "Afspraak voor order CC-1001")
            #expect(full["message"]?.string == "Beste Jan, de monteur komt op 1 december. Groet, het team")

            // List, filters, detail, update.
            #expect(Set(try ok(await http.get("/api/templates", w.token(.agent))).ids) == [id, other])
            #expect(try ok(await http.get("/api/templates?template_category=auto_response", admin)).ids == [other])
            #expect(Set(try ok(await http.get("/api/templates?channel_type=email_outlook", admin)).ids) == [id, other], "'any' matches every channel")
            #expect(try ok(await http.get("/api/templates/\(other)", admin)).json["template_name"]?.string == "Auto-antwoord")
            let put = try ok(await http.put("/api/templates/\(other)", w.token(.manager), #"{"is_active":false,"template_name":"Auto-antwoord (oud)"}"#)).json
            #expect(put["is_active"]?.bool == false)
            #expect(try ok(await http.get("/api/templates?is_active=true", admin)).ids == [id])

            // Sending with a template: variables from the request and the context.
            let thread = try #require(try await w.ingest(http, channel: w.emailChannel, externalID: "t-1")["thread_id"]?.string)
            let missing = try await http.post("/api/communication/messages", w.token(.agent), #"""
                {"thread_id":"\#(thread)","message_type":"outgoing","template_id":"\#(id)","template_variables":{"customer_name":"Jan"}}
                """#)
            #expect(missing.status == 422)
            #expect(missing.errorCode == "missing_variables")
            #expect(missing.errorMessage?.contains("date") == true && missing.errorMessage?.contains("order_number") == true)
            let sent = try created(await http.post("/api/communication/messages", w.token(.agent), #"""
                {"thread_id":"\#(thread)","message_type":"outgoing","template_id":"\#(id)",
                 "template_variables":{"customer_name":"Jan","date":"1 december","order_number":"CC-1001"}}
                """#)).json
            #expect(sent["message_content"]?.string == "Beste Jan, de monteur komt op 1 december. Groet, Anna Agent")
            #expect(sent["subject"]?.string == "Afspraak voor order CC-1001")
            #expect(sent["metadata"]?["template_id"]?.string == id)
            // usage_count counts real sends: stored and queued is not sent yet; the provider's receipt counts it.
            #expect(try ok(await http.get("/api/templates/\(id)", admin)).json["usage_count"]?.int == 0,
                    "queued for the gateway, not sent yet")
            let sentID = try #require(MessageID(sent["id"]?.string ?? ""))
            _ = try await live.engine.supervisor.setDelivery(message: sentID, status: .sent, at: live.env.clock.now())
            #expect(try ok(await http.get("/api/templates/\(id)", admin)).json["usage_count"]?.int == 1,
                    "only the message that was sent counts")
        }
    }

    @Test func channelSecretsAreWriteOnlyAndSealedAtRest() async throws {
        let secret = "EAAG-super-secret-access-token-7f3a9c"
        let appSecret = "whatsapp-app-secret-5b1d"
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            let c = try created(await http.post("/api/communication/channels", admin, #"""
                {"channel_type":"whatsapp_business","channel_name":"WhatsApp ChargeCars","business_entity":"chargecars",
                 "is_active":true,"response_sla_hours":1,"escalation_rules":{"after_hours":4},
                 "auto_assignment_rules":{"default_assignee":"Team A","skill_matching":true},
                 "configuration":{"phone_number_id":"555000","whatsapp_base_url":"http://127.0.0.1:9/graph",
                                  "access_token":"\#(secret)","app_secret":"\#(appSecret)"}}
                """#))
            let id = c.id
            #expect(!c.text.contains(secret) && !c.text.contains(appSecret))
            #expect(c.json["secrets_set"]?.array == [.string("access_token"), .string("app_secret")])
            #expect(c.json["sealed_secrets"] == nil)
            #expect(c.json["configuration"]?["phone_number_id"]?.string == "555000")
            #expect(c.json["configuration"]?["access_token"] == nil)
            #expect(c.json["channel_type"]?.string == "whatsapp_business")
            #expect(c.json["response_sla_hours"]?.number == 1)
            #expect(c.json["auto_assignment_rules"]?["default_assignee"]?.string == "Team A")
            #expect(c.json["escalation_rules"]?["after_hours"]?.int == 4)
            for token in [admin, w.token(.agent), w.token(.executive)] {
                let one = try ok(await http.get("/api/communication/channels/\(id)", token))
                #expect(!one.text.contains(secret) && !one.text.contains(appSecret))
                // Agents get the channel summary only (no configuration, not even the names of its secrets).
                let expected: [JSONValue]? = token == w.token(.agent) ? nil : [.string("access_token"), .string("app_secret")]
                #expect(one.json["secrets_set"]?.array == expected)
                let all = try ok(await http.get("/api/communication/channels", token))
                #expect(!all.text.contains(secret) && !all.text.contains(appSecret) && !all.text.contains("email-client-secret-value"))
                #expect(Set(all.ids) == [w.emailChannel, w.whatsappChannel, id])
            }
            let audit = try ok(await http.get("/api/audit?entity=channel&limit=500", admin))
            #expect(audit.items.count == 3)
            #expect(!audit.text.contains(secret) && !audit.text.contains(appSecret), "the audit trail never holds a secret")

            // Update: rename keeps the secrets; null removes one.
            let renamed = try ok(await http.put("/api/communication/channels/\(id)", admin, #"{"channel_name":"WhatsApp CC"}"#)).json
            #expect(renamed["channel_name"]?.string == "WhatsApp CC")
            #expect(renamed["secrets_set"]?.array == [.string("access_token"), .string("app_secret")])
            let removed = try ok(await http.put("/api/communication/channels/\(id)", admin, #"""
                {"configuration":{"phone_number_id":"555000","app_secret":null}}
                """#)).json
            #expect(removed["secrets_set"]?.array == [.string("access_token")])

            // At rest: the LMDB files hold neither the secrets nor the tokens in clear text.
            try await live.env.durable.writer.flush()
            let files = try FileManager.default.contentsOfDirectory(atPath: live.env.store)
            #expect(files.contains("data.mdb"))
            for f in files {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: live.env.store + "/" + f))
                for needle in [secret, appSecret, "email-client-secret-value", Harness.adminToken, w.token(.agent)] {
                    #expect(bytes.range(of: Data(needle.utf8)) == nil, "\(f) holds '\(needle.prefix(12))…' in clear text")
                }
                if f == "data.mdb" {
                    // Every record is sealed now (issue 16), plain configuration included; the meta table's keys are not.
                    #expect(bytes.range(of: Data("555000".utf8)) == nil, "configuration is sealed at rest too")
                    #expect(bytes.range(of: Data("formatVersion".utf8)) != nil, "the store's own meta keys are found (sanity check of the grep)")
                }
            }
        }
    }

    @Test func contactsTeamsTokensDirectoryRoutingAndProbes() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken

            // Contacts.
            let c = try created(await http.post("/api/contacts", admin, #"""
                {"name":"Noor Nieuw","email":"noor@chargecars.nl","phone":"+31612345678","role":"team_leader",
                 "teams":["\#(w.teamB)"],"skills":["dutch","english"],"max_open_threads":12,"presence":"online"}
                """#)).json
            let noor = c["id"]!.string!
            #expect(c["role"]?.string == "team_leader")
            #expect(c["teams"]?.array == [.string(w.teamB)])
            #expect(c["skills"]?.array == [.string("dutch"), .string("english")])
            #expect(c["max_open_threads"]?.int == 12)
            #expect(c["presence"]?.string == "online")
            #expect(try ok(await http.get("/api/contacts/\(noor)", w.token(.agent))).json["email"]?.string == "noor@chargecars.nl")
            let contacts = try ok(await http.get("/api/contacts", admin)).ids
            #expect(Set(contacts) == [w.agentA, w.agentA2, w.leadA, w.agentB, w.manager, w.executive, w.admin, noor])
            let changed = try ok(await http.put("/api/contacts/\(noor)", admin, #"{"skills":["german"],"max_open_threads":5}"#)).json
            #expect(changed["skills"]?.array == [.string("german")])
            #expect(changed["max_open_threads"]?.int == 5)
            // Anyone may set their own presence.
            let away = try ok(await http.put("/api/contacts/\(w.agentA)", w.token(.agent), #"{"presence":"away"}"#)).json
            #expect(away["presence"]?.string == "away")

            // Teams: members and queue depth.
            let teams = try ok(await http.get("/api/teams", w.token(.agent)))
            let a = try #require(teams.items.first { $0["id"]?.string == w.teamA })
            #expect(a["name"]?.string == "Team A")
            #expect(Set(a["members"]?.array?.compactMap(\.string) ?? []) == [w.agentA, w.agentA2, w.leadA])
            #expect(a["queue_depth"]?.int != nil)
            #expect(a["hand_over_on_offline"]?.bool == true)
            let t = try created(await http.post("/api/teams", admin, #"{"name":"Planning","hand_over_on_offline":false,"leader_id":"\#(noor)"}"#)).json
            #expect(t["leader_id"]?.string == noor)
            #expect(t["hand_over_on_offline"]?.bool == false)
            let renamed = try ok(await http.put("/api/teams/\(t["id"]!.string!)", admin, #"{"name":"Planning NL"}"#)).json
            #expect(renamed["name"]?.string == "Planning NL")

            // Tokens: the secret is shown once; lists never show it or its hash; revoked tokens stop working.
            let issued = try created(await http.post("/api/contacts/\(noor)/tokens", admin, #"{"label":"laptop"}"#)).json
            let secret = try #require(issued["token"]?.string)
            #expect(issued["label"]?.string == "laptop")
            #expect(issued["kind"]?.string == "person")
            #expect(issued["contact_id"]?.string == noor)
            #expect(issued["secret_hash"] == nil)
            let noBody = try created(await http.call(.post, "/api/contacts/\(noor)/tokens", token: admin))
            #expect(noBody.json["label"]?.string == "api token", "the body is optional")
            #expect(try ok(await http.get("/api/communication/threads", secret)).status == 200)
            let tokens = try ok(await http.get("/api/tokens", admin))
            #expect(!tokens.text.contains(secret) && !tokens.text.contains("secret_hash") && !tokens.text.contains(Harness.adminToken))
            #expect(tokens.ids.contains(issued["id"]!.string!))
            #expect(tokens.items.contains { $0["kind"]?.string == "gateway" })
            let revoke = try await http.delete("/api/tokens/\(issued["id"]!.string!)", admin)
            #expect(revoke.status == 204)
            let after = try await http.get("/api/communication/threads", secret)
            #expect(after.status == 401 && after.isErrorShape)
            #expect(try ok(await http.get("/api/tokens", admin)).items.first { $0["id"]?.string == issued["id"]?.string }?["revoked_at"]?.string != nil)

            // Routing rules.
            let rules = #"""
                {"default_assignee":"Team A","skill_matching":true,"escalation_after_hours":8,"escalation_to":"Team B",
                 "keyword_rules":[{"keywords":["storing","kapot"],"thread_type":"technical_issue","priority":"high","assign_to":"Team B"}],
                 "by_thread_type":{"sales_inquiry":{"default_assignee":"Team B","priority":"normal"}}}
                """#
            let putRules = try ok(await http.put("/api/routing-rules", admin, rules)).json
            #expect(putRules["keyword_rules"]?[0]?["assign_to"]?.string == "Team B")
            #expect(try ok(await http.get("/api/routing-rules", w.token(.agent))).json == putRules)
            // ... and they route: an inbound message mentioning "storing" goes to team B as a technical issue
            // (the keyword rule beats the channel's default_assignee, team A).
            let routedThread = try #require(try await w.ingest(http, channel: w.emailChannel, externalID: "kw-1",
                                                               subject: "Storing aan laadpaal")["thread_id"]?.string)
            let routed = try ok(await http.get("/api/communication/threads/\(routedThread)", admin)).json
            #expect(routed["assigned_team_id"]?.string == w.teamB)
            #expect(routed["thread_type"]?.string == "technical_issue")
            #expect(routed["priority"]?.string == "high")

            // Directory: organisations, customers, orders; search and order lookup.
            let org = UUID().uuidString.lowercased(), cust = UUID().uuidString.lowercased(), order = UUID().uuidString.lowercased()
            let dir = try ok(await http.post("/api/directory", w.token(.manager), #"""
                {"organizations":[{"id":"\#(org)","name":"Woonstichting Oost","kind":"customer"}],
                 "customers":[{"id":"\#(cust)","name":"Jan de Vries","emails":["jan@devries.nl"],"phones":["0612345678"],"organization_id":"\#(org)"}],
                 "orders":[{"id":"\#(order)","order_number":"CC-2026-0042","customer_id":"\#(cust)","brand":"chargecars"}]}
                """#)).json
            #expect(dir["upserted"]?.int == 3)
            let found = try ok(await http.get("/api/customers?q=devries", w.token(.agent)))
            #expect(found.ids == [cust])
            #expect(found.items[0]["phones"]?.array == [.string("+31612345678")])
            #expect(try ok(await http.get("/api/customers?q=0612345678".replacingOccurrences(of: "0612345678", with: "31612345678"), admin)).ids == [cust])
            let o = try ok(await http.get("/api/orders/CC-2026-0042", w.token(.agent))).json
            #expect(o["id"]?.string == order && o["customer_id"]?.string == cust && o["brand"]?.string == "chargecars")
            // A thread linked to the directory.
            let linked = try created(await http.post("/api/communication/threads", admin, #"""
                {"thread_subject":"Over order","order_id":"\#(order)","customer_id":"\#(cust)","customer_organization_id":"\#(org)","team_id":"\#(w.teamA)"}
                """#)).json
            #expect(linked["order_id"]?.string == order && linked["customer_id"]?.string == cust)
            #expect(try ok(await http.get("/api/communication/threads?order_id=\(order)", admin)).ids == [linked["id"]!.string!])
            // Customers pagination.
            var many: [String] = []
            for i in 0..<7 { many.append(#"{"id":"\#(UUID().uuidString)","name":"Klant \#(i)","emails":["k\#(i)@example.nl"]}"#) }
            try ok(await http.post("/api/directory", admin, #"{"customers":[\#(many.joined(separator: ","))]}"#))
            let pagedCustomers = try await http.all("/api/customers", admin, limit: 3)
            #expect(pagedCustomers.items.count == 8 && Set(pagedCustomers.items.ids).count == 8)

            // Probes.
            let health = try ok(await http.get("/healthz", nil)).json
            #expect(health["status"]?.string == "ok")
            #expect(health["last_seq"]?.int == Int(live.env.lastSeq))
            let metrics = try ok(await http.get("/metrics", nil))
            #expect(metrics.text.contains("commhub_threads"))
            #expect(metrics.text.contains("commhub_journal_last_seq"))
        }
    }

    @Test func rateLimitsAnswer429WithRetryAfter() async throws {
        var options = HTTPOptions.unlimited
        // A refill far slower than any machine: under a loaded full suite the
        // eight requests took 17 s, and a rate of 1/s refilled the bucket between them.
        options.tokenRate = 0.01
        options.tokenBurst = 5
        try await Harness.run(options: options) { live in
            var statuses: [Int] = []
            var limited: Reply?
            for _ in 0..<8 {
                let r = try await live.http.get("/api/communication/threads", Harness.adminToken)
                statuses.append(r.status)
                if r.status == 429 { limited = r }
            }
            #expect(statuses.prefix(5).allSatisfy { $0 == 200 })
            let r = try #require(limited, "\(statuses)")
            #expect(r.isErrorShape && r.errorCode == "rate_limited")
            #expect(Int(r.headers[.retryAfter] ?? "") ?? 0 >= 1)
        }
    }
}
