import CommHubDomain
import Foundation
import HTTPTypes
import Testing

/// Every role × every endpoint → the expected status. "A" is a thread of
/// the agent's and team leader's team, "B" one of another team: for them
/// it does not exist (404), while managers, admins and executives see it.
@Suite("Role matrix") struct RoleMatrixTests {
    struct Request: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var body: String?
    }

    /// Fixtures the rows act on, made once as admin.
    struct Fixtures: Sendable {
        var w: World
        var messageA = "", messageB = "", taskA = "", taskB = "", template = "", orderNumber = "CC-2026-7777"
    }

    /// One row: the request (built per call, so mutations never collide) and
    /// the statuses for agent, team_leader, manager, admin, executive, gateway.
    struct Row: Sendable {
        var name: String
        var expect: [Int]
        var make: @Sendable (Fixtures, HTTP, Role?) async throws -> Request
    }

    static func r(_ name: String, _ expect: [Int], _ method: HTTPRequest.Method, _ path: @escaping @Sendable (Fixtures) -> String,
                  _ body: (@Sendable (Fixtures) -> String)? = nil) -> Row {
        Row(name: name, expect: expect) { f, _, _ in Request(method: method, path: path(f), body: body?(f)) }
    }

    static let all200 = [200, 200, 200, 200, 200, 403]

    static let rows: [Row] = [
        //                                                      agent team_leader manager admin executive gateway
        r("list threads", all200, .get, { _ in "/api/communication/threads" }),
        r("create thread", [201, 201, 201, 201, 403, 403], .post, { _ in "/api/communication/threads" },
          { _ in #"{"thread_subject":"matrix thread"}"# }),
        r("read own team's thread", all200, .get, { "/api/communication/threads/\($0.w.threadA)" }),
        r("read another team's thread", [404, 404, 200, 200, 200, 403], .get, { "/api/communication/threads/\($0.w.threadB)" }),
        r("update own team's thread", [200, 200, 200, 200, 403, 403], .put, { "/api/communication/threads/\($0.w.threadA)" },
          { _ in #"{"priority":"high","tags":["matrix"]}"# }),
        r("update another team's thread", [404, 404, 200, 200, 403, 403], .put, { "/api/communication/threads/\($0.w.threadB)" },
          { _ in #"{"priority":"high"}"# }),
        r("list messages of own team's thread", all200, .get, { "/api/communication/messages?thread_id=\($0.w.threadA)" }),
        r("list messages of another team's thread", [404, 404, 200, 200, 200, 403], .get,
          { "/api/communication/messages?thread_id=\($0.w.threadB)" }),
        r("list the outbox", all200, .get, { _ in "/api/communication/messages?delivery_status=pending,failed" }),
        r("note on own team's thread", [201, 201, 201, 201, 403, 403], .post, { _ in "/api/communication/messages" },
          { #"{"thread_id":"\#($0.w.threadA)","message_type":"internal_note","message_content":"matrix"}"# }),
        r("note on another team's thread", [404, 404, 201, 201, 403, 403], .post, { _ in "/api/communication/messages" },
          { #"{"thread_id":"\#($0.w.threadB)","message_type":"internal_note","message_content":"matrix"}"# }),
        r("update a message of own team's thread", [200, 200, 200, 200, 403, 403], .put,
          { "/api/communication/messages/\($0.messageA)" }, { _ in #"{"delivery_status":"sent"}"# }),
        r("update a message of another team's thread", [404, 404, 200, 200, 403, 403], .put,
          { "/api/communication/messages/\($0.messageB)" }, { _ in #"{"delivery_status":"sent"}"# }),
        r("list tasks", all200, .get, { _ in "/api/tasks" }),
        r("create task", [201, 201, 201, 201, 403, 403], .post, { _ in "/api/tasks" },
          { #"{"task_title":"matrix","thread_id":"\#($0.w.threadA)"}"# }),
        r("create task on another team's thread", [404, 404, 201, 201, 403, 403], .post, { _ in "/api/tasks" },
          { #"{"task_title":"matrix","thread_id":"\#($0.w.threadB)"}"# }),
        r("update task of own team's thread", [200, 200, 200, 200, 403, 403], .put, { "/api/tasks/\($0.taskA)" },
          { _ in #"{"priority":"\#(["low", "high"].randomElement()!)","task_description":"\#(UUID())"}"# }),
        r("update task of another team's thread", [404, 404, 200, 200, 403, 403], .put, { "/api/tasks/\($0.taskB)" },
          { _ in #"{"task_description":"\#(UUID())"}"# }),
        r("list templates", all200, .get, { _ in "/api/templates" }),
        r("read template", all200, .get, { "/api/templates/\($0.template)" }),
        r("create template", [403, 403, 201, 201, 403, 403], .post, { _ in "/api/templates" },
          { _ in #"{"template_name":"m","template_category":"follow_up","channel_type":"any","message_template":"Hoi"}"# }),
        r("update template", [403, 403, 200, 200, 403, 403], .put, { "/api/templates/\($0.template)" },
          { _ in #"{"html_template":"<p>{{name}}</p>"}"# }),
        r("render template", all200, .post, { "/api/templates/\($0.template)/render" }, { _ in #"{"variables":{"name":"Jan"}}"# }),
        r("list channels", all200, .get, { _ in "/api/communication/channels" }),
        r("read channel", all200, .get, { "/api/communication/channels/\($0.w.emailChannel)" }),
        r("create channel", [403, 403, 403, 201, 403, 403], .post, { _ in "/api/communication/channels" },
          { _ in #"{"channel_type":"sms","channel_name":"SMS \#(UUID().uuidString.prefix(6))"}"# }),
        r("update channel", [403, 403, 403, 200, 403, 403], .put, { "/api/communication/channels/\($0.w.whatsappChannel)" },
          { _ in #"{"response_sla_hours":3}"# }),
        r("list contacts", all200, .get, { _ in "/api/contacts" }),
        r("read contact", all200, .get, { "/api/contacts/\($0.w.agentB)" }),
        r("create contact", [403, 403, 403, 201, 403, 403], .post, { _ in "/api/contacts" },
          { _ in #"{"name":"Nieuwe collega","role":"agent"}"# }),
        r("update another contact", [403, 403, 403, 200, 403, 403], .put, { "/api/contacts/\($0.w.agentB)" },
          { _ in #"{"skills":["\#(UUID())"]}"# }),
        Row(name: "set own presence", expect: [200, 200, 200, 200, 200, 403]) { f, _, role in
            Request(method: .put, path: "/api/contacts/\(role.map(f.w.contact) ?? f.w.agentA)", body: #"{"presence":"away"}"#)
        },
        r("issue a person's token", [403, 403, 403, 201, 403, 403], .post, { "/api/contacts/\($0.w.agentB)/tokens" },
          { _ in #"{"label":"matrix"}"# }),
        r("issue a gateway token", [403, 403, 403, 201, 403, 403], .post, { _ in "/api/gateway-tokens" }, { _ in "{}" }),
        r("list tokens", [403, 403, 403, 200, 403, 403], .get, { _ in "/api/tokens" }),
        Row(name: "revoke a token", expect: [403, 403, 403, 204, 403, 403]) { f, http, _ in
            let issued = try await http.post("/api/contacts/\(f.w.agentB)/tokens", Harness.adminToken, "{}")
            return Request(method: .delete, path: "/api/tokens/\(issued.json["id"]!.string!)")
        },
        r("list teams", all200, .get, { _ in "/api/teams" }),
        r("create team", [403, 403, 403, 201, 403, 403], .post, { _ in "/api/teams" }, { _ in #"{"name":"Team \#(UUID())"}"# }),
        r("update team", [403, 403, 403, 200, 403, 403], .put, { "/api/teams/\($0.w.teamB)" }, { _ in #"{"hand_over_on_offline":true}"# }),
        r("read routing rules", all200, .get, { _ in "/api/routing-rules" }),
        r("write routing rules", [403, 403, 403, 200, 403, 403], .put, { _ in "/api/routing-rules" },
          { _ in #"{"skill_matching":true}"# }),
        r("upsert directory", [403, 403, 200, 200, 403, 403], .post, { _ in "/api/directory" },
          { _ in #"{"organizations":[{"id":"\#(UUID())","name":"Installateur","kind":"partner"}]}"# }),
        r("search customers", all200, .get, { _ in "/api/customers?q=jan" }),
        r("look up an order", all200, .get, { "/api/orders/\($0.orderNumber)" }),
        r("ingest", [403, 403, 403, 200, 403, 200], .post, { _ in "/api/ingest" },
          { World.inbound(channel: $0.w.emailChannel, externalID: UUID().uuidString).wrappedInEvents }),
        r("read the audit trail", [403, 403, 200, 200, 200, 403], .get, { _ in "/api/audit" }),
    ]

    static func token(_ role: Role?, _ w: World) -> String { role.map(w.token) ?? w.gatewayToken }

    @Test func everyRoleTimesEveryEndpoint() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            var f = Fixtures(w: w)
            f.messageA = try created(await http.post("/api/communication/messages", admin,
                #"{"thread_id":"\#(w.threadA)","message_type":"outgoing","channel_id":"\#(w.emailChannel)","message_content":"a"}"#)).id
            f.messageB = try created(await http.post("/api/communication/messages", admin,
                #"{"thread_id":"\#(w.threadB)","message_type":"outgoing","channel_id":"\#(w.emailChannel)","message_content":"b"}"#)).id
            f.taskA = try created(await http.post("/api/tasks", admin, #"{"task_title":"A","thread_id":"\#(w.threadA)"}"#)).id
            f.taskB = try created(await http.post("/api/tasks", admin,
                #"{"task_title":"B","thread_id":"\#(w.threadB)","assigned_to_contact_id":"\#(w.agentB)"}"#)).id
            f.template = try created(await http.post("/api/templates", admin,
                #"{"template_name":"t","template_category":"follow_up","channel_type":"any","message_template":"Hoi {{name}}"}"#)).id
            try ok(await http.post("/api/directory", admin, #"""
                {"orders":[{"id":"\#(UUID())","order_number":"\#(f.orderNumber)","brand":"chargecars"}]}
                """#))
            let fixtures = f

            let columns: [Role?] = Role.allCases + [nil]
            var failures: [String] = []
            var cells = 0
            for row in Self.rows {
                #expect(row.expect.count == columns.count, "\(row.name)")
                for (role, want) in zip(columns, row.expect) {
                    let req = try await row.make(fixtures, http, role)
                    let before = live.env.lastSeq
                    let r = try await http.call(req.method, req.path, token: Self.token(role, w),
                                                body: req.body.map { .json($0) } ?? .none)
                    cells += 1
                    let who = role?.description ?? "gateway"
                    if r.status != want {
                        failures.append("\(row.name) as \(who): \(r.status), expected \(want): \(r.text.prefix(200))")
                    }
                    if r.status >= 400 {
                        #expect(r.isErrorShape, "\(row.name) as \(who): \(r)")
                        #expect(live.env.lastSeq == before, "\(row.name) as \(who) was refused but changed state")
                    }
                }
            }
            let report = failures.joined(separator: "\n")
            #expect(failures.isEmpty, "\(failures.count) of \(cells) cells differ:\n\(report)")
            #expect(cells >= 45 * 6)

            // No token at all: 401 everywhere under /api; the probes stay open.
            for row in Self.rows {
                let req = try await row.make(fixtures, http, .admin)
                let r = try await http.call(req.method, req.path, body: req.body.map { .json($0) } ?? .none)
                #expect(r.status == 401 && r.errorCode == "unauthorized", "\(row.name) without a token: \(r)")
                #expect(r.headers[.wwwAuthenticate] == "Bearer")
            }
            #expect(try await http.get("/healthz", nil).status == 200)
        }
    }

    /// Who may move a thread to whom.
    @Test func reassignmentRules() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let agent = w.token(.agent), lead = w.token(.teamLeader), manager = w.token(.manager)
            func assign(_ token: String, _ thread: String, _ body: String) async throws -> Reply {
                try await http.put("/api/communication/threads/\(thread)", token, body)
            }
            func assignee(_ thread: String) async throws -> String? {
                try ok(await http.get("/api/communication/threads/\(thread)", Harness.adminToken)).json["assigned_to_contact_id"]?.string
            }
            let a = w.threadA, b = w.threadB

            // Agent: may take a thread of their team for themselves, nothing else.
            var r = try await assign(agent, a, #"{"assigned_to_contact_id":"\#(w.agentA2)"}"#)
            #expect(r.status == 403 && r.isErrorShape, "\(r)")
            r = try await assign(agent, a, #"{"team_id":"\#(w.teamB)"}"#)
            #expect(r.status == 403, "\(r)")
            r = try await assign(agent, a, #"{"assigned_to_contact_id":"\#(w.agentA)","team_id":"\#(w.teamA)"}"#)
            #expect(r.status == 403, "naming a team is a reassignment: \(r)")
            r = try await assign(agent, b, #"{"assigned_to_contact_id":"\#(w.agentA)"}"#)
            #expect(r.status == 404, "another team's thread does not exist for them: \(r)")
            #expect(try await assignee(a) == nil)
            r = try await assign(agent, a, #"{"assigned_to_contact_id":"\#(w.agentA)"}"#)
            #expect(r.status == 200 && r.json["assigned_to_contact_id"]?.string == w.agentA, "\(r)")
            r = try await assign(agent, a, #"{"assigned_to_contact_id":null}"#)
            #expect(r.status == 403, "unassigning is a reassignment: \(r)")
            #expect(try await assignee(a) == w.agentA)

            // Team leader: within their own teams.
            r = try await assign(lead, a, #"{"assigned_to_contact_id":"\#(w.agentA2)"}"#)
            #expect(r.status == 200 && r.json["assigned_to_contact_id"]?.string == w.agentA2, "\(r)")
            r = try await assign(lead, a, #"{"assigned_to_contact_id":"\#(w.agentB)"}"#)
            #expect(r.status == 403, "not a member of the thread's team: \(r)")
            r = try await assign(lead, a, #"{"team_id":"\#(w.teamB)"}"#)
            #expect(r.status == 403, "moving a thread out of their teams: \(r)")
            r = try await assign(lead, b, #"{"assigned_to_contact_id":"\#(w.leadA)"}"#)
            #expect(r.status == 404, "\(r)")
            r = try await assign(lead, a, #"{"assigned_to_contact_id":null}"#)
            #expect(r.status == 200 && r.json["assigned_to_contact_id"] == nil, "\(r)")
            #expect(try await assignee(a) == nil)

            // Manager: anywhere.
            r = try await assign(manager, b, #"{"assigned_to_contact_id":"\#(w.agentA)","team_id":"\#(w.teamA)"}"#)
            #expect(r.status == 200 && r.json["assigned_to_contact_id"]?.string == w.agentA && r.json["assigned_team_id"]?.string == w.teamA, "\(r)")
            // Now thread B belongs to team A: the agent sees it, agent B no longer does.
            #expect(try await http.get("/api/communication/threads/\(b)", agent).status == 200)
            #expect(try await http.get("/api/communication/threads/\(b)", w.agentBToken).status == 404)
            r = try await assign(manager, b, #"{"team_id":"\#(w.teamB)","assigned_to_contact_id":"\#(w.agentB)"}"#)
            #expect(r.status == 200, "\(r)")
            // Executive: read-only.
            r = try await assign(w.token(.executive), a, #"{"assigned_to_contact_id":"\#(w.executive)"}"#)
            #expect(r.status == 403, "\(r)")
            // Unknown person: 404, nothing changes.
            let before = live.env.lastSeq
            r = try await assign(manager, a, #"{"assigned_to_contact_id":"\#(UUID())"}"#)
            #expect(r.status == 404 && r.isErrorShape, "\(r)")
            #expect(live.env.lastSeq == before)

            // Creating a thread for someone else is a reassignment too.
            r = try await http.post("/api/communication/threads", agent, #"{"thread_subject":"x","assigned_to_contact_id":"\#(w.agentA2)"}"#)
            #expect(r.status == 403, "\(r)")
            r = try await http.post("/api/communication/threads", agent, #"{"thread_subject":"x","assigned_to_contact_id":"\#(w.agentA)"}"#)
            #expect(r.status == 201, "\(r)")
            r = try await http.post("/api/communication/threads", agent, #"{"thread_subject":"mine by team"}"#)
            #expect(r.status == 201 && r.json["assigned_team_id"]?.string == w.teamA, "an agent's new thread lands in their team: \(r)")
        }
    }
}

extension String {
    var wrappedInEvents: String { #"{"events":[\#(self)]}"# }
}
