import CommHubDomain
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Malformed requests: each gets the right status and the error shape, its
/// message says what to fix, and nothing in the engine changes (no event
/// gets a sequence number).
@Suite("Bad input") struct BadInputTests {
    struct Case: Sendable {
        var name: String
        var status: Int
        var method: HTTPRequest.Method
        var path: String
        var token: Token = .admin
        var body: Body = .none
        /// Every one of these must appear in the error message.
        var mentions: [String] = []
        var code: String?
    }

    enum Token: Sendable { case none, admin, agent, executive, gateway, revoked, unknown, raw(String) }

    struct Fixtures: Sendable {
        var w: World
        var revoked = ""
        var revokedID = ""
        var message = ""
        var template = ""
        var task = ""
    }

    static func cases(_ f: Fixtures) -> [Case] {
        let w = f.w
        let threads = "/api/communication/threads"
        let unknown = "8c7e2b4a-1d3f-4e5a-9b6c-0d1e2f3a4b5c"
        func j(_ s: String) -> Body { .json(s) }
        return [
            Case(name: "broken JSON", status: 400, method: .post, path: threads, body: j(#"{"thread_subject": "x""#),
                 mentions: ["not valid JSON"], code: "invalid_json"),
            Case(name: "not JSON at all", status: 400, method: .post, path: threads, body: j("thread_subject=x"), code: "invalid_json"),
            Case(name: "empty body", status: 400, method: .post, path: threads, body: .none, mentions: ["empty"]),
            Case(name: "JSON array instead of object", status: 400, method: .post, path: threads, body: j(#"[{"thread_subject":"x"}]"#)),
            Case(name: "wrong enum value", status: 400, method: .post, path: threads,
                 body: j(#"{"thread_subject":"x","priority":"asap"}"#),
                 mentions: ["priority", "asap", "low, normal, high, urgent, critical"]),
            Case(name: "wrong thread_type", status: 400, method: .post, path: threads,
                 body: j(#"{"thread_subject":"x","thread_type":"question"}"#),
                 mentions: ["thread_type", "customer_support", "partner_inquiry", "installation_coordination", "technical_issue",
                            "sales_inquiry", "complaint", "internal_task", "project_discussion"]),
            Case(name: "enum in the wrong case", status: 400, method: .post, path: threads,
                 body: j(#"{"thread_subject":"x","status":"Open"}"#), mentions: ["status", "in_progress"]),
            Case(name: "wrong field type", status: 400, method: .post, path: threads, body: j(#"{"thread_subject":42}"#),
                 mentions: ["thread_subject", "string"]),
            Case(name: "wrong type in an array", status: 400, method: .post, path: threads,
                 body: j(#"{"thread_subject":"x","tags":["a",7]}"#), mentions: ["tags[1]"]),
            Case(name: "missing required field", status: 400, method: .post, path: threads, body: j(#"{"priority":"high"}"#),
                 mentions: ["thread_subject"]),
            Case(name: "blank subject", status: 422, method: .post, path: threads, body: j(#"{"thread_subject":"   "}"#),
                 mentions: ["thread_subject"]),
            Case(name: "subject too long", status: 422, method: .post, path: threads,
                 body: j(#"{"thread_subject":"\#(String(repeating: "x", count: 501))"}"#), mentions: ["500"]),
            Case(name: "unknown team id", status: 404, method: .post, path: threads,
                 body: j(#"{"thread_subject":"x","team_id":"\#(unknown)"}"#), mentions: [unknown]),
            Case(name: "unknown assignee", status: 404, method: .post, path: threads,
                 body: j(#"{"thread_subject":"x","assigned_to_contact_id":"\#(unknown)"}"#)),
            Case(name: "id that is not a UUID in the body", status: 400, method: .post, path: threads,
                 body: j(#"{"thread_subject":"x","team_id":"team-a"}"#), mentions: ["team_id", "UUID"]),
            Case(name: "non-UUID id in the path", status: 404, method: .get, path: "\(threads)/not-a-uuid", mentions: ["UUID"]),
            Case(name: "unknown thread id", status: 404, method: .get, path: "\(threads)/\(unknown)"),
            Case(name: "another team's thread (read)", status: 404, method: .get, path: "\(threads)/\(w.threadB)", token: .agent,
                 mentions: ["no thread with id \(w.threadB)"]),
            Case(name: "another team's thread (update)", status: 404, method: .put, path: "\(threads)/\(w.threadB)", token: .agent,
                 body: j(#"{"status":"closed"}"#)),
            Case(name: "another team's thread (message)", status: 404, method: .post, path: "/api/communication/messages", token: .agent,
                 body: j(#"{"thread_id":"\#(w.threadB)","message_type":"internal_note","message_content":"psst"}"#)),
            Case(name: "update with an unknown field", status: 400, method: .put, path: "\(threads)/\(w.threadA)",
                 body: j(#"{"status":"closed","colour":"red"}"#), mentions: ["colour", "allowed", "assigned_to_contact_id"]),
            Case(name: "update with a wrong status", status: 400, method: .put, path: "\(threads)/\(w.threadA)",
                 body: j(#"{"status":"done"}"#), mentions: ["status", "waiting_customer", "closed"]),
            Case(name: "update of an unknown thread", status: 404, method: .put, path: "\(threads)/\(unknown)",
                 body: j(#"{"status":"closed"}"#)),
            Case(name: "oversized body (> 2 MiB)", status: 413, method: .post, path: threads,
                 body: .bytes(ByteBuffer(string: #"{"thread_subject":"\#(String(repeating: "x", count: 2 * 1024 * 1024 + 10))"}"#)),
                 code: "too_large"),
            Case(name: "missing token", status: 401, method: .get, path: threads, token: .none, mentions: ["Authorization"], code: "unauthorized"),
            Case(name: "not a bearer token", status: 401, method: .get, path: threads, token: .raw("Basic YWRtaW46YWRtaW4="),
                 code: "unauthorized"),
            Case(name: "empty bearer token", status: 401, method: .get, path: threads, token: .raw("Bearer   "), code: "unauthorized"),
            Case(name: "unknown token", status: 401, method: .post, path: threads, token: .unknown, body: j(#"{"thread_subject":"x"}"#),
                 code: "unauthorized"),
            Case(name: "revoked token", status: 401, method: .post, path: threads, token: .revoked, body: j(#"{"thread_subject":"x"}"#),
                 mentions: ["revoked"], code: "unauthorized"),
            Case(name: "gateway token outside /api/ingest", status: 403, method: .get, path: threads, token: .gateway,
                 mentions: ["/api/ingest"], code: "forbidden"),
            Case(name: "executive writes", status: 403, method: .post, path: threads, token: .executive,
                 body: j(#"{"thread_subject":"x"}"#), code: "forbidden"),
            Case(name: "agent changes configuration", status: 403, method: .post, path: "/api/teams", token: .agent,
                 body: j(#"{"name":"Rogue"}"#), code: "forbidden"),
            Case(name: "bad cursor", status: 400, method: .get, path: "\(threads)?cursor=bm9wZQ", mentions: ["cursor"]),
            Case(name: "cursor that is not base64", status: 400, method: .get, path: "\(threads)?cursor=%25%25%25", mentions: ["cursor"]),
            Case(name: "limit=0", status: 400, method: .get, path: "\(threads)?limit=0", mentions: ["limit", "500"]),
            Case(name: "limit=501", status: 400, method: .get, path: "\(threads)?limit=501", mentions: ["limit", "500"]),
            Case(name: "limit not a number", status: 400, method: .get, path: "\(threads)?limit=ten", mentions: ["limit"]),
            Case(name: "unknown status filter", status: 400, method: .get, path: "\(threads)?status=pending",
                 mentions: ["status", "pending", "open, in_progress, waiting_customer, waiting_internal, escalated, resolved, closed"]),
            Case(name: "unknown priority filter", status: 400, method: .get, path: "\(threads)?priority=high,asap",
                 mentions: ["priority", "asap"]),
            Case(name: "unknown channel_type filter", status: 400, method: .get, path: "\(threads)?channel_type=fax",
                 mentions: ["channel_type", "email_outlook", "whatsapp_business", "phone_call"]),
            Case(name: "unknown thread_type filter", status: 400, method: .get, path: "\(threads)?thread_type=x", mentions: ["thread_type"]),
            Case(name: "assignee filter not a UUID", status: 400, method: .get, path: "\(threads)?assigned_to_contact_id=anna",
                 mentions: ["assigned_to_contact_id", "UUID"]),
            Case(name: "mine=maybe", status: 400, method: .get, path: "\(threads)?mine=maybe", mentions: ["mine"]),
            Case(name: "overdue=yes", status: 400, method: .get, path: "\(threads)?overdue=yes", mentions: ["overdue"]),
            Case(name: "messages without a filter", status: 400, method: .get, path: "/api/communication/messages",
                 mentions: ["thread_id"]),
            Case(name: "messages: unknown delivery_status", status: 400, method: .get,
                 path: "/api/communication/messages?delivery_status=lost", mentions: ["pending, sent, delivered, read, failed, bounced"]),
            Case(name: "messages: cursor out of range", status: 400, method: .get,
                 path: "/api/communication/messages?thread_id=\(w.threadA)&cursor=99", mentions: ["cursor"]),
            Case(name: "messages: cursor past the journal", status: 400, method: .get,
                 path: "/api/communication/messages?thread_id=\(w.threadA)&cursor=s18446744073709551615", mentions: ["cursor"]),
            Case(name: "messages: cursor not a number", status: 400, method: .get,
                 path: "/api/communication/messages?thread_id=\(w.threadA)&cursor=s-1", mentions: ["cursor"]),
            Case(name: "message to an unknown thread", status: 404, method: .post, path: "/api/communication/messages",
                 body: j(#"{"thread_id":"\#(unknown)","message_type":"internal_note","message_content":"x"}"#)),
            Case(name: "message_type incoming through the API", status: 422, method: .post, path: "/api/communication/messages",
                 body: j(#"{"thread_id":"\#(w.threadA)","message_type":"incoming","message_content":"x"}"#), mentions: ["/api/ingest"]),
            Case(name: "message_type not an enum value", status: 400, method: .post, path: "/api/communication/messages",
                 body: j(#"{"thread_id":"\#(w.threadA)","message_type":"email","message_content":"x"}"#),
                 mentions: ["message_type", "incoming, outgoing, internal_note, system_notification, auto_response"]),
            Case(name: "outgoing without a channel", status: 422, method: .post, path: "/api/communication/messages",
                 body: j(#"{"thread_id":"\#(w.threadA)","message_type":"outgoing","message_content":"x"}"#), mentions: ["channel_id"]),
            Case(name: "empty note", status: 422, method: .post, path: "/api/communication/messages",
                 body: j(#"{"thread_id":"\#(w.threadA)","message_type":"internal_note","message_content":""}"#),
                 mentions: ["message_content"]),
            Case(name: "template with missing variables", status: 422, method: .post, path: "/api/communication/messages",
                 body: j(#"{"thread_id":"\#(w.threadA)","message_type":"internal_note","template_id":"\#(f.template)"}"#),
                 mentions: ["date"], code: "missing_variables"),
            Case(name: "template and a refused message type", status: 422, method: .post, path: "/api/communication/messages",
                 body: j(#"{"thread_id":"\#(w.threadA)","message_type":"auto_response","template_id":"\#(f.template)","template_variables":{"date":"morgen"}}"#)),
            Case(name: "call longer than a day", status: 422, method: .post, path: "/api/communication/messages",
                 body: j(#"{"thread_id":"\#(w.threadA)","message_type":"outgoing","call":{"direction":"inbound","duration_seconds":90000}}"#),
                 mentions: ["duration_seconds"]),
            Case(name: "call with a wrong direction", status: 400, method: .post, path: "/api/communication/messages",
                 body: j(#"{"thread_id":"\#(w.threadA)","message_type":"outgoing","call":{"direction":"sideways","duration_seconds":9}}"#),
                 mentions: ["call.direction", "inbound, outbound"]),
            Case(name: "message update with a wrong delivery_status", status: 400, method: .put,
                 path: "/api/communication/messages/\(f.message)", body: j(#"{"delivery_status":"lost"}"#),
                 mentions: ["delivery_status", "bounced"]),
            Case(name: "message update without a change", status: 400, method: .put,
                 path: "/api/communication/messages/\(f.message)", body: j("{}"), mentions: ["delivery_status"]),
            Case(name: "update of an unknown message", status: 404, method: .put, path: "/api/communication/messages/\(unknown)",
                 body: j(#"{"delivery_status":"read"}"#)),
            Case(name: "bad due_date", status: 422, method: .post, path: "/api/tasks",
                 body: j(#"{"task_title":"x","due_date":"2026-02-30"}"#), mentions: ["due_date", "YYYY-MM-DD"]),
            Case(name: "due_date in another format", status: 422, method: .post, path: "/api/tasks",
                 body: j(#"{"task_title":"x","due_date":"30-11-2026"}"#), mentions: ["due_date"]),
            Case(name: "bad due_time", status: 422, method: .post, path: "/api/tasks",
                 body: j(#"{"task_title":"x","due_time":"25:00"}"#), mentions: ["due_time", "HH:MM"]),
            Case(name: "task without a title", status: 422, method: .post, path: "/api/tasks", body: j(#"{"task_type":"callback"}"#),
                 mentions: ["task_title"]),
            Case(name: "wrong task_type", status: 400, method: .post, path: "/api/tasks", body: j(#"{"task_title":"x","task_type":"call"}"#),
                 mentions: ["task_type", "follow_up", "approval_request", "other"]),
            Case(name: "task for an unknown person", status: 404, method: .post, path: "/api/tasks",
                 body: j(#"{"task_title":"x","assigned_to_contact_id":"\#(unknown)"}"#)),
            Case(name: "task update with a bad date", status: 422, method: .put, path: "/api/tasks/\(f.task)",
                 body: j(#"{"due_date":"2026-13-01"}"#), mentions: ["due_date"]),
            Case(name: "update of an unknown task", status: 404, method: .put, path: "/api/tasks/\(unknown)", body: j(#"{"status":"completed"}"#)),
            Case(name: "tasks: unknown status filter", status: 400, method: .get, path: "/api/tasks?status=done",
                 mentions: ["open, in_progress, waiting, completed, cancelled"]),
            Case(name: "template without its message", status: 422, method: .post, path: "/api/templates",
                 body: j(#"{"template_name":"x","template_category":"follow_up","channel_type":"any"}"#), mentions: ["message_template"]),
            Case(name: "template with a wrong channel_type", status: 400, method: .post, path: "/api/templates",
                 body: j(#"{"template_name":"x","template_category":"follow_up","channel_type":"phone_call","message_template":"x"}"#),
                 mentions: ["channel_type", "email_outlook, whatsapp_business, internal_comment, sms, any"]),
            Case(name: "template with a wrong business_entity", status: 400, method: .post, path: "/api/templates",
                 body: j(#"{"template_name":"x","template_category":"follow_up","channel_type":"any","message_template":"x","business_entity":"acme"}"#),
                 mentions: ["chargecars, laderthuis, meterkastthuis, zaptecshop, ratioshop, all"]),
            Case(name: "render without variables", status: 400, method: .post, path: "/api/templates/\(f.template)/render",
                 body: j("{}"), mentions: ["variables"]),
            Case(name: "render of an unknown template", status: 404, method: .post, path: "/api/templates/\(unknown)/render",
                 body: j(#"{"variables":{}}"#)),
            Case(name: "channel with a wrong channel_type", status: 400, method: .post, path: "/api/communication/channels",
                 body: j(#"{"channel_type":"fax","channel_name":"Fax"}"#),
                 mentions: ["email_outlook, whatsapp_business, internal_comment, internal_task, internal_ticket, sms, phone_call"]),
            Case(name: "channel secret that is not a string", status: 422, method: .post, path: "/api/communication/channels",
                 body: j(#"{"channel_type":"sms","channel_name":"SMS","configuration":{"api_key":12345}}"#), mentions: ["api_key"]),
            Case(name: "channel with a negative SLA", status: 422, method: .post, path: "/api/communication/channels",
                 body: j(#"{"channel_type":"sms","channel_name":"SMS","response_sla_hours":-1}"#), mentions: ["response_sla_hours"]),
            Case(name: "channel with a base URL that is not http", status: 422, method: .post, path: "/api/communication/channels",
                 body: j(#"{"channel_type":"sms","channel_name":"SMS","configuration":{"sms_base_url":"ftp://x"}}"#), mentions: ["sms_base_url"]),
            Case(name: "channel type change", status: 422, method: .put, path: "/api/communication/channels/\(w.emailChannel)",
                 body: j(#"{"channel_type":"sms"}"#), mentions: ["channel_type"]),
            Case(name: "channel rules for an unknown thread type", status: 422, method: .put,
                 path: "/api/communication/channels/\(w.emailChannel)",
                 body: j(#"{"auto_assignment_rules":{"by_thread_type":{"gossip":{"default_assignee":"Team A"}}}}"#), mentions: ["gossip"]),
            Case(name: "contact with a bad e-mail", status: 422, method: .post, path: "/api/contacts",
                 body: j(#"{"name":"X","email":"not-an-email"}"#), mentions: ["e-mail"]),
            Case(name: "contact with a wrong role", status: 400, method: .post, path: "/api/contacts",
                 body: j(#"{"name":"X","role":"boss"}"#), mentions: ["role", "agent, team_leader, manager, admin, executive"]),
            Case(name: "contact in an unknown team", status: 404, method: .post, path: "/api/contacts",
                 body: j(#"{"name":"X","teams":["\#(unknown)"]}"#)),
            Case(name: "contact with a wrong presence", status: 400, method: .put, path: "/api/contacts/\(w.agentA)", token: .agent,
                 body: j(#"{"presence":"busy"}"#), mentions: ["online, away, offline"]),
            Case(name: "agent changes their own role", status: 403, method: .put, path: "/api/contacts/\(w.agentA)", token: .agent,
                 body: j(#"{"role":"admin"}"#)),
            Case(name: "token for an unknown person", status: 404, method: .post, path: "/api/contacts/\(unknown)/tokens", body: j("{}")),
            Case(name: "token request with broken JSON", status: 400, method: .post, path: "/api/contacts/\(w.agentB)/tokens",
                 body: j(#"{"label":"#), code: "invalid_json"),
            Case(name: "token request with a wrong field type", status: 400, method: .post, path: "/api/gateway-tokens",
                 body: j(#"{"label":7}"#), mentions: ["label"]),
            Case(name: "revoking an unknown token", status: 404, method: .delete, path: "/api/tokens/\(unknown)"),
            Case(name: "revoking a revoked token", status: 409, method: .delete, path: "/api/tokens/\(f.revokedID)", code: "conflict"),
            Case(name: "duplicate team name", status: 409, method: .post, path: "/api/teams", body: j(#"{"name":"team a"}"#), code: "conflict"),
            Case(name: "routing rule without keywords", status: 422, method: .put, path: "/api/routing-rules",
                 body: j(#"{"keyword_rules":[{"keywords":[],"priority":"high"}]}"#), mentions: ["keywords"]),
            Case(name: "directory with an unknown organisation (nothing stored)", status: 422, method: .post, path: "/api/directory",
                 body: j(#"""
                 {"organizations":[{"id":"\#(UUID())","name":"Goed","kind":"customer"}],
                  "customers":[{"id":"\#(UUID())","name":"Fout","emails":[],"phones":[],"organization_id":"\#(unknown)"}]}
                 """#), mentions: ["customers[0].organization_id"]),
            Case(name: "directory with a bad phone number", status: 400, method: .post, path: "/api/directory",
                 body: j(#"{"customers":[{"id":"\#(UUID())","name":"X","emails":[],"phones":["12"]}]}"#), mentions: ["customers[0].phones[0]"]),
            Case(name: "empty directory upsert", status: 422, method: .post, path: "/api/directory", body: j("{}")),
            Case(name: "unknown order number", status: 404, method: .get, path: "/api/orders/CC-0000-0000"),
            Case(name: "audit since that is not a time", status: 400, method: .get, path: "/api/audit?since=yesterday", mentions: ["since", "ISO 8601"]),
            Case(name: "audit actor that is not a UUID", status: 400, method: .get, path: "/api/audit?actor=me", mentions: ["actor"]),
            Case(name: "ingest with empty events", status: 422, method: .post, path: "/api/ingest", token: .gateway,
                 body: j(#"{"events":[]}"#), mentions: ["events"]),
            Case(name: "ingest without events", status: 400, method: .post, path: "/api/ingest", token: .gateway,
                 body: j(#"{"batch":[]}"#), mentions: ["events"]),
            Case(name: "ingest with > 1000 events", status: 413, method: .post, path: "/api/ingest", token: .gateway,
                 body: j(#"{"events":[\#((0..<1001).map { World.inbound(channel: w.emailChannel, externalID: "bulk-\($0)") }.joined(separator: ","))]}"#),
                 mentions: ["1000"]),
            Case(name: "ingest item of an unknown type", status: 400, method: .post, path: "/api/ingest", token: .gateway,
                 body: j(#"{"events":[{"type":"poll","channel_id":"\#(w.emailChannel)"}]}"#), mentions: ["type", "message, delivery_status, reaction"]),
            Case(name: "ingest with a bad received_at", status: 400, method: .post, path: "/api/ingest", token: .gateway,
                 body: j(#"{"events":[\#(World.inbound(channel: w.emailChannel, externalID: "bad-time", receivedAt: "yesterday"))]}"#),
                 mentions: ["events[0].received_at", "ISO 8601"]),
            Case(name: "ingest by an agent", status: 403, method: .post, path: "/api/ingest", token: .agent,
                 body: j(#"{"events":[\#(World.inbound(channel: w.emailChannel, externalID: "agent-1"))]}"#)),
            Case(name: "unknown route", status: 404, method: .get, path: "/api/nothing-here"),
        ]
    }

    @Test func malformedRequestsChangeNothing() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            var f = Fixtures(w: w)
            let issued = try created(await http.post("/api/contacts/\(w.agentB)/tokens", admin, "{}")).json
            f.revoked = issued["token"]!.string!
            f.revokedID = issued["id"]!.string!
            #expect(try await http.delete("/api/tokens/\(f.revokedID)", admin).status == 204)
            f.message = try created(await http.post("/api/communication/messages", admin,
                #"{"thread_id":"\#(w.threadA)","message_type":"internal_note","message_content":"n"}"#)).id
            f.template = try created(await http.post("/api/templates", admin,
                #"{"template_name":"t","template_category":"follow_up","channel_type":"any","message_template":"Op {{date}}"}"#)).id
            f.task = try created(await http.post("/api/tasks", admin, #"{"task_title":"t"}"#)).id
            let fixtures = f
            let cases = Self.cases(fixtures)
            #expect(cases.count >= 30)

            func header(_ t: Token) -> String? {
                switch t {
                case .none: nil
                case .admin: "Bearer \(admin)"
                case .agent: "Bearer \(w.token(.agent))"
                case .executive: "Bearer \(w.token(.executive))"
                case .gateway: "Bearer \(w.gatewayToken)"
                case .revoked: "Bearer \(fixtures.revoked)"
                case .unknown: "Bearer chub_not-a-token-of-ours"
                case .raw(let s): s
                }
            }
            let templateBefore = try ok(await http.get("/api/templates/\(f.template)", admin)).json
            let threadsBefore = try ok(await http.get("/api/communication/threads?status=all&limit=500", admin)).text
            let auditBefore = try ok(await http.get("/api/audit?limit=500", admin)).items.count

            for c in cases {
                let before = live.env.lastSeq
                var h: HTTPFields = [.init("X-Request-ID")!: "bad-\(c.name.count)"]
                if let a = header(c.token) { h[.authorization] = a }
                let headers = h
                // A fresh connection each time: a refused upload may leave the connection unusable.
                let r = try await TestClient.withClient(host: "127.0.0.1", port: live.port) { client in
                    try await HTTP(oneOff: client)
                        .call(c.method, c.path, body: c.body, headers: headers)
                }
                #expect(r.status == c.status, "\(c.name): \(r)")
                #expect(r.isErrorShape, "\(c.name): not the error shape: \(r)")
                if let code = c.code { #expect(r.errorCode == code, "\(c.name): \(r)") }
                for m in c.mentions {
                    #expect(r.errorMessage?.contains(m) == true, "\(c.name): message should mention '\(m)': \(r)")
                }
                #expect(r.headers[.init("X-Request-ID")!] == "bad-\(c.name.count)", "\(c.name): request id echoed")
                #expect(live.env.lastSeq == before, "\(c.name): state changed (seq \(before) → \(live.env.lastSeq))")
            }

            // Nothing observable changed either.
            #expect(try ok(await http.get("/api/templates/\(f.template)", admin)).json == templateBefore, "usage_count untouched")
            #expect(try ok(await http.get("/api/communication/threads?status=all&limit=500", admin)).text == threadsBefore)
            #expect(try ok(await http.get("/api/audit?limit=500", admin)).items.count == auditBefore)
            #expect(try ok(await http.get("/api/customers?q=fout", admin)).items.isEmpty)

            // No existence leak: another team's thread answers exactly like an unknown one.
            let unknownID = UUID().uuidString.lowercased()
            let hidden = try await http.get("/api/communication/threads/\(w.threadB)", w.token(.agent))
            let missing = try await http.get("/api/communication/threads/\(unknownID)", w.token(.agent))
            #expect(hidden.status == missing.status)
            #expect(hidden.text.replacingOccurrences(of: w.threadB, with: "ID") == missing.text.replacingOccurrences(of: unknownID, with: "ID"))
        }
    }
}

