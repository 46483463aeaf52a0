import CommHubServer
import Foundation
import Testing

/// The README's demo as a test: `serve --simulated-clock --clock-start`,
/// `clock advance` on the admin socket walks the escalation ladder; a
/// `kill -9` in the middle of it loses no step and repeats none.
@Suite("SLA ladder, real process", .timeLimit(.minutes(3)))
struct LadderProcessTests {
    static let token = "chub_ladder-process-token-5e6f7a8b"

    static func tempDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("commhub-ladder-\(UUID().uuidString)").path
    }

    static func start(_ dir: String, at: String) async throws -> ServerProcess {
        let server = try ServerProcess(data: dir, token: token, workflowTimers: true,
                                       extra: ["--simulated-clock", "--clock-start", at, "--no-gateway"])
        try await server.waitReady()
        return server
    }

    static func admin(_ dir: String, _ command: String) throws -> [String: Any] {
        let answer = try AdminClient.send(command, to: dir + "/admin.sock")
        return try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any] ?? [:]
    }

    /// The ladder notices of a thread (`system_notification` messages' `step`), in order.
    static func steps(_ http: HTTPTestClient, _ thread: String) async throws -> [String] {
        let r = try await http.request("GET", "/api/communication/threads/\(thread)", token: token)
        let detail = try #require(try r.json() as? [String: Any])
        let messages = detail["messages"] as? [[String: Any]] ?? []
        return messages.filter { $0["message_type"] as? String == "system_notification" }
            .compactMap { ($0["metadata"] as? [String: Any])?["step"] as? String }
    }

    static func thread(_ http: HTTPTestClient, _ id: String) async throws -> [String: Any] {
        try #require(try await http.request("GET", "/api/communication/threads/\(id)", token: token).json() as? [String: Any])
    }

    @Test func clockStartIsCheckedWhereItEnters() async throws {
        for (args, message) in [(["serve", "--clock-start", "2026-11-30T08:00:00Z"], "--clock-start needs --simulated-clock"),
                                (["serve", "--simulated-clock", "--clock-start", "morgen"], "--clock-start must be an ISO 8601 time"),
                                (["serve", "--simulated-clock", "--clock-start", "2200-01-01T00:00:00Z"], "from 2000 to 2099")] {
            let r = try await CommandLineTests.run(args, seconds: 20)
            #expect(r.status != nil && r.status != 0, "\(args) must exit with an error: \(r.output)")
            #expect(r.output.contains(message), "\(args): \(r.output)")
        }
    }

    @Test func ladderWalksOnAdvanceAndSurvivesKillNine() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Monday 30 November 2026 09:00 in Amsterdam.
        var server = try await Self.start(dir, at: "2026-11-30T08:00:00Z")
        var http = HTTPTestClient(port: server.httpPort)
        let team = try await http.json("POST", "/api/teams", token: Self.token, ["name": "support"])
        #expect(team.status == 201, "\(team.text)")
        let teamID = try #require((try team.json() as? [String: Any])?["id"] as? String)
        for (name, role) in [("Anna", "agent"), ("Lars", "team_leader"), ("Mia", "manager"), ("Eva", "executive")] {
            let r = try await http.json("POST", "/api/contacts", token: Self.token,
                                        ["name": name, "role": role, "teams": [teamID], "presence": "online"])
            #expect(r.status == 201, "\(r.text)")
        }
        _ = try await http.json("PUT", "/api/routing-rules", token: Self.token, ["default_assignee": "support"])
        let channel = try await http.json("POST", "/api/communication/channels", token: Self.token,
                                          ["channel_type": "email_outlook", "channel_name": "support", "business_entity": "chargecars"])
        let channelID = try #require((try channel.json() as? [String: Any])?["id"] as? String)
        let ingest = try await http.json("POST", "/api/ingest", token: Self.token, ["events": [[
            "type": "message", "channel_id": channelID, "external_message_id": "m-1",
            "sender_external": ["name": "Klant", "email": "klant@example.nl"], "subject": "Laadpaal",
            "message_content": "Hij laadt niet", "received_at": "2026-11-30T08:00:00Z",
        ]]])
        #expect(ingest.status == 200, "\(ingest.text)")
        let results = (try ingest.json() as? [String: Any])?["results"] as? [[String: Any]]
        let threadID = try #require(results?.first?["thread_id"] as? String)
        #expect(try await Self.thread(http, threadID)["response_due_at"] as? String == "2026-11-30T12:00:00Z")

        // 3 hours: the 75% reminder, at once.
        let advanced = try Self.admin(dir, "clock advance 3h")
        #expect((advanced["timers"] as? [String: Any])?["sla_steps"] as? Int == 1, "\(advanced)")
        #expect(try await Self.steps(http, threadID) == ["reminder_75"])

        // Killed before the 90% alert; back after the deadline passed (14:00 Amsterdam).
        server.kill9()
        server = try await Self.start(dir, at: "2026-11-30T13:00:00Z")
        http = HTTPTestClient(port: server.httpPort)
        // The ticking service or this call runs what became due during the downtime: each step once.
        _ = try Self.admin(dir, "timers")
        #expect(try await Self.steps(http, threadID) == ["reminder_75", "team_leader_90", "manager_escalation"])
        let escalated = try await Self.thread(http, threadID)
        #expect(escalated["status"] as? String == "escalated")
        #expect(escalated["priority"] as? String == "high")
        #expect(escalated["response_due_at"] as? String == "2026-11-30T13:30:00Z")
        #expect((escalated["tasks"] as? [[String: Any]])?.map { $0["task_type"] as? String } == ["escalate"])

        // A day later, killed again right after the executive alert fired.
        _ = try Self.admin(dir, "clock advance 1d")
        #expect(try await Self.steps(http, threadID).last == "executive_24h")
        server.kill9()
        server = try await Self.start(dir, at: "2026-12-08T08:00:00Z")
        http = HTTPTestClient(port: server.httpPort)
        _ = try Self.admin(dir, "timers")
        #expect(try await Self.steps(http, threadID) == ["reminder_75", "team_leader_90", "manager_escalation", "executive_24h"],
                "no step twice, whatever restarted when")
        #expect(server.terminate() == 0)
    }
}
