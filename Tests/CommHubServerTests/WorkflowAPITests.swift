import CommHubDomain
import CommHubEngine
@testable import CommHubServer
import Foundation
import Testing

/// The workflow through the API: `sla.alert` frames to whoever a step
/// concerns, tasks with their overdue flag and filters, the workflow settings.
@Suite("Workflow API") struct WorkflowAPITests {
    @Test func slaAlertsReachOnlyThePeopleTheyConcern() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let leader = EventsClient.connect(port: live.port, token: w.token(.teamLeader))
            let executive = EventsClient.connect(port: live.port, token: w.token(.executive))
            let other = EventsClient.connect(port: live.port, token: w.agentBToken)
            for c in [leader, executive, other] { try await c.wait("hello") { $0.contains { $0.type == "hello" } } }

            // Wednesday 25 November 2026 11:00 in Amsterdam; the mail channel answers within 2 business hours.
            let received = live.env.clock.now()
            let result = try await w.ingest(http, channel: w.emailChannel, externalID: "sla-1", subject: "Laadpaal",
                                            receivedAt: received.iso8601)
            let thread = try #require(result["thread_id"]?.string)
            live.env.clock.advance(by: 26 * 3600)
            let run = await live.engine.supervisor.runDueTimers()
            #expect(run.slaSteps == 4, "\(run)")

            // Nobody of team A is online: the reminder and the 90% alert go to the team leader.
            let frames = try await leader.wait("the leader's alerts") { f in f.filter { $0.type == "sla.alert" }.count >= 2 }
            let alerts = frames.filter { $0.type == "sla.alert" }
            #expect(alerts.compactMap { $0["data"]?["step"]?.string } == ["reminder_75", "team_leader_90"])
            #expect(alerts.allSatisfy { $0["data"]?["thread_id"]?.string == thread })
            #expect(alerts.first?["data"]?["response_due_at"]?.string == "2026-11-25T12:00:00Z")
            #expect(alerts.first?["data"]?["title"]?.string?.isEmpty == false, "ready for a browser notification")
            let exec = try await executive.wait("the executive alert") { f in f.contains { $0.type == "sla.alert" } }
            #expect(exec.filter { $0.type == "sla.alert" }.compactMap { $0["data"]?["step"]?.string } == ["executive_24h"])
            // Another team's agent hears nothing of it (a marker frame shows the stream is live).
            _ = try await w.ingest(http, channel: w.whatsappChannel, externalID: "marker", subject: "B")
            let b = try await other.wait("the marker") { $0.contains { $0.type == "message.created" } }
            #expect(!b.contains { $0.type == "sla.alert" })

            // The timeline shows each step once as a system_notification.
            let detail = try ok(await http.get("/api/communication/threads/\(thread)", w.adminToken)).json
            let notices = detail["messages"]?.array?.filter { $0["message_type"]?.string == "system_notification" } ?? []
            #expect(notices.compactMap { $0["metadata"]?["step"]?.string }
                    == ["reminder_75", "team_leader_90", "manager_escalation", "executive_24h"])
            #expect(detail["status"]?.string == "escalated")
            for c in [leader, executive, other] { await c.disconnect() }
        }
    }

    @Test func tasksHaveAnOverdueFlagAndFilters() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            // The clock: Wednesday 25 November 2026 11:00 in Amsterdam.
            let late = try created(await http.post("/api/tasks", admin, #"""
                {"task_title":"Te laat","due_date":"2026-11-24","assigned_to_contact_id":"\#(w.agentA)"}
                """#)).json
            let today = try created(await http.post("/api/tasks", admin, #"""
                {"task_title":"Vandaag","due_date":"2026-11-25","due_time":"16:00","reminder_settings":{"minutes_before":[60,15]}}
                """#)).json
            let later = try created(await http.post("/api/tasks", admin, #"{"task_title":"Later","due_date":"2026-12-24"}"#)).json
            #expect(late["overdue"]?.bool == true)
            #expect(today["overdue"]?.bool == false)
            let one = try ok(await http.get("/api/tasks/\(late["id"]!.string!)", admin)).json
            #expect(one["task_title"]?.string == "Te laat" && one["overdue"]?.bool == true)
            #expect(try ok(await http.get("/api/tasks?overdue=true", admin)).ids == [late["id"]!.string!])
            #expect(try ok(await http.get("/api/tasks?due_today=true", admin)).ids == [today["id"]!.string!])
            #expect(try ok(await http.get("/api/tasks?overdue=false", admin)).ids.count == 3)
            // Visibility: an agent of another team does not see a task of someone else without a thread.
            #expect(try await http.get("/api/tasks/\(late["id"]!.string!)", w.agentBToken).status == 404)
            #expect(try ok(await http.get("/api/tasks/\(late["id"]!.string!)", w.token(.agent))).json["id"] == late["id"])
            #expect(try await http.get("/api/tasks/\(UUID())", admin).status == 404)
            // Completed: no longer overdue.
            let done = try ok(await http.put("/api/tasks/\(late["id"]!.string!)", admin, #"{"status":"completed"}"#)).json
            #expect(done["overdue"]?.bool == false)
            _ = later
            // A bad reminder setting is refused with the key named, and nothing is stored.
            let bad = try await http.post("/api/tasks", admin, #"{"task_title":"x","reminder_settings":{"minutes_before":-5}}"#)
            #expect(bad.status == 422 && bad.errorMessage?.contains("reminder_settings.minutes_before") == true, "\(bad)")
        }
    }

    @Test func channelAndTeamBusinessHoursSetTheDeadline() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            // A channel whose business_hours cannot be read is refused, naming the key; nothing is stored.
            let bad = try await http.post("/api/communication/channels", admin, #"""
                {"channel_type":"sms","channel_name":"SMS","business_entity":"chargecars",
                 "configuration":{"business_hours":"17:00-08:00"}}
                """#)
            #expect(bad.status == 422 && bad.errorMessage?.contains("business_hours") == true, "\(bad)")
            // The team's hours (mornings only) apply when the channel sets none; the channel's win over the team's.
            _ = try ok(await http.put("/api/teams/\(w.teamA)", admin, #"{"business_hours":"08:00-10:00"}"#))
            let received = live.env.clock.now().iso8601  // Wednesday 11:00 Amsterdam: the team is closed
            let viaTeam = try await w.ingest(http, channel: w.emailChannel, externalID: "bh-1", receivedAt: received)
            let t1 = try ok(await http.get("/api/communication/threads/\(viaTeam["thread_id"]!.string!)", admin)).json
            #expect(t1["response_due_at"]?.string == "2026-11-26T09:00:00Z", "2 business hours: Thursday 08:00–10:00")
            _ = try ok(await http.put("/api/communication/channels/\(w.emailChannel)", admin,
                                      #"{"configuration":{"business_hours":{"weekdays":"11:00-20:00"}}}"#))
            let viaChannel = try await w.ingest(http, channel: w.emailChannel, externalID: "bh-2", subject: "Ander onderwerp",
                                                email: "ander@example.nl", receivedAt: received)
            let t2 = try ok(await http.get("/api/communication/threads/\(viaChannel["thread_id"]!.string!)", admin)).json
            #expect(t2["response_due_at"]?.string == "2026-11-25T12:00:00Z", "the channel's 11:00–20:00: 13:00 Amsterdam")
        }
    }

    @Test func taskRemindersReachTheAssignee() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let agent = EventsClient.connect(port: live.port, token: w.token(.agent))
            let other = EventsClient.connect(port: live.port, token: w.agentA2Token)
            for c in [agent, other] { try await c.wait("hello") { $0.contains { $0.type == "hello" } } }
            // Wednesday 25 November 2026 11:00 in Amsterdam; due at 12:00, reminded 30 minutes before, then overdue.
            let task = try created(await http.post("/api/tasks", w.adminToken, #"""
                {"task_title":"Klant terugbellen","assigned_to_contact_id":"\#(w.agentA)","due_date":"2026-11-25","due_time":"12:00",
                 "reminder_settings":{"minutes_before":30}}
                """#)).json
            live.env.clock.advance(by: 30 * 60)
            #expect(await live.engine.supervisor.runDueTimers().taskReminders == 1)
            live.env.clock.advance(by: 30 * 60)
            #expect(await live.engine.supervisor.runDueTimers().taskReminders == 1)
            let frames = try await agent.wait("two reminders") { f in f.filter { $0.type == "task.reminder" }.count >= 2 }
            let reminders = frames.filter { $0.type == "task.reminder" }
            #expect(reminders.compactMap { $0["data"]?["kind"]?.string } == ["before_due", "overdue"])
            #expect(reminders.first?["data"]?["minutes_before"]?.int == 30)
            #expect(reminders.allSatisfy { $0["data"]?["task_id"]?.string == task["id"]?.string })
            #expect(reminders.first?["data"]?["due_at"]?.string == "2026-11-25T11:00:00Z")
            // A colleague hears nothing of it (a marker frame shows their stream is live).
            _ = try await w.ingest(http, channel: w.emailChannel, externalID: "marker-2", subject: "A")
            let seen = try await other.wait("the marker") { $0.contains { $0.type == "message.created" } }
            #expect(!seen.contains { $0.type == "task.reminder" })
            for c in [agent, other] { await c.disconnect() }
        }
    }

    @Test func workflowSettingsAreValidatedAndJournaled() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            let defaults = try ok(await http.get("/api/workflow-settings", admin)).json
            #expect(defaults["sla"]?["reminder_fractions"]?.array?.count == 2)
            let before = live.env.lastSeq
            for (body, mention) in [(#"{"sla":{"reminder_fractions":[0.9,0.5]}}"#, "reminder_fractions"),
                                    (#"{"business_hours":"25:00-26:00"}"#, "business_hours"),
                                    (#"{"task_response_hours":{"asap":1}}"#, "task_response_hours.asap"),
                                    (#"{"task_rules":{"follow_up":{"after_business_hours":0}}}"#, "task_rules.follow_up"),
                                    (#"{"digest":{"enabled":true}}"#, "digest.channel_id"),
                                    (#"{"slas":{}}"#, "slas")] {
                let r = try await http.put("/api/workflow-settings", admin, body)
                #expect(r.status == 400 || r.status == 422, "\(body): \(r)")
                #expect(r.errorMessage?.contains(mention) == true, "\(body) should name \(mention): \(r)")
            }
            #expect(live.env.lastSeq == before, "nothing changed")
            #expect(try await http.put("/api/workflow-settings", w.token(.agent), "{}").status == 403)
            let set = try ok(await http.put("/api/workflow-settings", admin, #"""
                {"business_hours":"08:00-12:00, 13:00-17:00","sla":{"email_business_hours":6},
                 "digest":{"enabled":true,"channel_id":"\#(w.emailChannel)"}}
                """#)).json
            #expect(set["sla"]?["email_business_hours"]?.number == 6)
            #expect(try ok(await http.get("/api/workflow-settings", admin)).json == set)
            #expect(try ok(await http.get("/api/audit?entity=workflow_settings", admin)).items.count == 1)
            // The new hours and target apply to the next customer message: Wednesday 11:00 + 6 h = Thursday 09:00.
            let r = try await w.ingest(http, channel: w.emailChannel, externalID: "wf-1", receivedAt: live.env.clock.now().iso8601)
            // The channel's own response_sla_hours (2) still wins over the engine-wide target.
            let thread = try ok(await http.get("/api/communication/threads/\(r["thread_id"]!.string!)", admin)).json
            #expect(thread["response_due_at"]?.string == "2026-11-25T13:00:00Z", "11:00 + 1 h before lunch + 1 h after")
        }
    }
}
