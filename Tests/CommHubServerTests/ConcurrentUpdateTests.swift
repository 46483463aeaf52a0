import CommHubDomain
import CommHubEngine
@testable import CommHubServer
import Foundation
import HummingbirdTesting
import Testing

/// Concurrent PUTs of one record over real HTTP, each on its own connection
/// and each setting a different field: every update must be in the result.
/// (A handler that reads the record, awaits, and writes back its modified
/// copy loses the updates that landed in between.)
@Suite("Concurrent updates") struct ConcurrentUpdateTests {
    /// Rounds per record kind: a lost update needs an unlucky interleaving,
    /// so each round races a fresh record.
    static let rounds = 8

    /// Sends every body as a PUT to `path` at the same time, each on a new connection.
    static func race(_ live: Live, _ path: String, _ token: String, _ bodies: [String]) async throws {
        let port = live.port
        let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
            for body in bodies {
                group.addTask {
                    try await TestClient.withClient(host: "127.0.0.1", port: port) { c in
                        try await HTTP(oneOff: c).put(path, token, body)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for r in replies { #expect(r.status == 200, "\(path): \(r)") }
    }

    @Test func channelUpdatesAndSecretsAllLand() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            for round in 0..<Self.rounds {
                let id = try created(await http.post("/api/communication/channels", admin, #"""
                    {"channel_type":"whatsapp_business","channel_name":"Race \#(round)","business_entity":"laderthuis",
                     "configuration":{"phone_number_id":"race-\#(round)"}}
                    """#)).id
                let plain = #""phone_number_id":"race-\#(round)""#
                try await Self.race(live, "/api/communication/channels/\(id)", admin, [
                    #"{"channel_name":"Renamed \#(round)"}"#,
                    #"{"is_active":false}"#,
                    #"{"business_entity":"zaptecshop"}"#,
                    #"{"response_sla_hours":3.5}"#,
                    #"{"escalation_rules":{"after_hours":\#(round + 2)}}"#,
                    #"{"auto_assignment_rules":{"default_assignee":"Team B","skill_matching":true}}"#,
                    #"{"configuration":{\#(plain),"access_token":"access-\#(round)"}}"#,
                    #"{"configuration":{\#(plain),"app_secret":"app-\#(round)"}}"#,
                    #"{"configuration":{\#(plain),"verify_token":"verify-\#(round)"}}"#,
                ])
                let c = try ok(await http.get("/api/communication/channels/\(id)", admin)).json
                #expect(c["channel_name"]?.string == "Renamed \(round)", "round \(round): \(c)")
                #expect(c["is_active"]?.bool == false, "round \(round): \(c)")
                #expect(c["business_entity"]?.string == "zaptecshop", "round \(round): \(c)")
                #expect(c["response_sla_hours"]?.number == 3.5, "round \(round): \(c)")
                #expect(c["escalation_rules"]?["after_hours"]?.int == round + 2, "round \(round): \(c)")
                #expect(c["auto_assignment_rules"]?["default_assignee"]?.string == "Team B", "round \(round): \(c)")
                #expect(c["configuration"]?["phone_number_id"]?.string == "race-\(round)", "round \(round): \(c)")
                #expect(c["secrets_set"]?.array == ["access_token", "app_secret", "verify_token"].map(JSONValue.string),
                        "round \(round): every concurrently set secret is kept: \(c)")
                // The sealed values themselves, not only their names.
                let channelID = try #require(ChannelID(id))
                let stored = try #require(await live.engine.supervisor.channel(channelID))
                let opened = try live.env.secrets.open(try #require(stored.sealedSecrets))
                #expect(opened == ["access_token": "access-\(round)", "app_secret": "app-\(round)", "verify_token": "verify-\(round)"])
            }
        }
    }

    @Test func contactUpdatesAllLand() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            for round in 0..<Self.rounds {
                let id = try created(await http.post("/api/contacts", admin, #"""
                    {"name":"Race \#(round)","role":"agent","teams":["\#(w.teamA)"],"presence":"offline"}
                    """#)).id
                try await Self.race(live, "/api/contacts/\(id)", admin, [
                    #"{"name":"Renamed \#(round)"}"#,
                    #"{"email":"race\#(round)@chargecars.nl"}"#,
                    #"{"phone":"+3161234560\#(round)"}"#,
                    #"{"skills":["laadpaal","zakelijk"]}"#,
                    #"{"max_open_threads":\#(7 + round)}"#,
                    #"{"presence":"online"}"#,
                    #"{"teams":["\#(w.teamA)","\#(w.teamB)"]}"#,
                    #"{"role":"team_leader"}"#,
                ])
                let c = try ok(await http.get("/api/contacts/\(id)", admin)).json
                #expect(c["name"]?.string == "Renamed \(round)", "round \(round): \(c)")
                #expect(c["email"]?.string == "race\(round)@chargecars.nl", "round \(round): \(c)")
                #expect(c["phone"]?.string == "+3161234560\(round)", "round \(round): \(c)")
                #expect(c["skills"]?.array == [.string("laadpaal"), .string("zakelijk")], "round \(round): \(c)")
                #expect(c["max_open_threads"]?.int == 7 + round, "round \(round): \(c)")
                #expect(c["presence"]?.string == "online", "round \(round): \(c)")
                #expect(c["teams"]?.array == [.string(w.teamA), .string(w.teamB)], "round \(round): \(c)")
                #expect(c["role"]?.string == "team_leader", "round \(round): \(c)")
                // The assignment board follows the same person (capacity, teams, presence).
                let teams = try ok(await http.get("/api/teams", admin)).items
                for team in [w.teamA, w.teamB] {
                    let members = teams.first { $0["id"]?.string == team }?["members"]?.array ?? []
                    #expect(members.contains(.string(id)), "round \(round): a member of \(team) on the board")
                }
            }
        }
    }

    @Test func teamTemplateAndTaskUpdatesAllLand() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            for round in 0..<Self.rounds {
                let team = try created(await http.post("/api/teams", admin, #"{"name":"Race \#(round)"}"#)).id
                try await Self.race(live, "/api/teams/\(team)", admin, [
                    #"{"name":"Renamed \#(round)"}"#,
                    #"{"hand_over_on_offline":false}"#,
                    #"{"leader_id":"\#(w.leadA)"}"#,
                ])
                let t = try #require(try ok(await http.get("/api/teams", admin)).items.first { $0["id"]?.string == team })
                #expect(t["name"]?.string == "Renamed \(round)", "round \(round): \(t)")
                #expect(t["hand_over_on_offline"]?.bool == false, "round \(round): \(t)")
                #expect(t["leader_id"]?.string == w.leadA, "round \(round): \(t)")

                let template = try created(await http.post("/api/templates", admin, #"""
                    {"template_name":"Race \#(round)","template_category":"follow_up","channel_type":"any","message_template":"Hallo"}
                    """#)).id
                try await Self.race(live, "/api/templates/\(template)", admin, [
                    #"{"template_name":"Renamed \#(round)"}"#,
                    #"{"is_active":false}"#,
                    #"{"subject_template":"Onderwerp \#(round)"}"#,
                    #"{"business_entity":"ratioshop"}"#,
                    #"{"template_category":"complaint_response"}"#,
                ])
                let tp = try ok(await http.get("/api/templates/\(template)", admin)).json
                #expect(tp["template_name"]?.string == "Renamed \(round)", "round \(round): \(tp)")
                #expect(tp["is_active"]?.bool == false, "round \(round): \(tp)")
                #expect(tp["subject_template"]?.string == "Onderwerp \(round)", "round \(round): \(tp)")
                #expect(tp["business_entity"]?.string == "ratioshop", "round \(round): \(tp)")
                #expect(tp["template_category"]?.string == "complaint_response", "round \(round): \(tp)")

                let task = try created(await http.post("/api/tasks", admin, #"{"task_title":"Race \#(round)"}"#)).id
                try await Self.race(live, "/api/tasks/\(task)", admin, [
                    #"{"status":"in_progress"}"#,
                    #"{"priority":"high"}"#,
                    #"{"due_date":"2026-12-0\#(round + 1)"}"#,
                    #"{"completion_notes":"notes \#(round)"}"#,
                    #"{"assigned_to_contact_id":"\#(w.agentA)"}"#,
                ])
                let tk = try #require(try ok(await http.get("/api/tasks?limit=500", admin)).items.first { $0["id"]?.string == task })
                #expect(tk["status"]?.string == "in_progress", "round \(round): \(tk)")
                #expect(tk["priority"]?.string == "high", "round \(round): \(tk)")
                #expect(tk["due_date"]?.string == "2026-12-0\(round + 1)", "round \(round): \(tk)")
                #expect(tk["completion_notes"]?.string == "notes \(round)", "round \(round): \(tk)")
                #expect(tk["assigned_to_contact_id"]?.string == w.agentA, "round \(round): \(tk)")
            }
        }
    }

    /// Messages sent with a template count every use, and a template edit
    /// made while they are sent is kept (the count used to be written back
    /// as a whole template, from a copy).
    @Test func templateUsesCountEveryMessageAndKeepEdits() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            let template = try created(await http.post("/api/templates", admin, #"""
                {"template_name":"Telling","template_category":"follow_up","channel_type":"any","message_template":"Hallo {{agent_name}}"}
                """#)).id
            let port = live.port
            let sends = 12
            try await withThrowingTaskGroup(of: Reply.self) { group in
                for i in 0..<sends {
                    group.addTask {
                        try await TestClient.withClient(host: "127.0.0.1", port: port) { c in
                            try await HTTP(oneOff: c).post("/api/communication/messages", admin, #"""
                                {"thread_id":"\#(w.threadA)","message_type":"internal_note","template_id":"\#(template)","metadata":{"n":\#(i)}}
                                """#)
                        }
                    }
                }
                group.addTask {
                    try await TestClient.withClient(host: "127.0.0.1", port: port) { c in
                        try await HTTP(oneOff: c).put("/api/templates/\(template)", admin, #"{"subject_template":"Nieuw onderwerp"}"#)
                    }
                }
                for try await r in group { #expect(r.status == 201 || r.status == 200, "\(r)") }
            }
            let t = try ok(await http.get("/api/templates/\(template)", admin)).json
            #expect(t["usage_count"]?.int == sends, "\(t)")
            #expect(t["subject_template"]?.string == "Nieuw onderwerp", "\(t)")
        }
    }
}
