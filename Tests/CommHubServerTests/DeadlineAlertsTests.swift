import CommHubDomain
import CommHubEngine
@testable import CommHubServer
import Foundation
import Testing

/// SLA alerts and task reminders for Web Push: what fell due on the
/// engine's clock between two looks, to whom, and the bound.
@Suite("Deadline alerts for push") struct DeadlineAlertsTests {
    @Test func taskDueMomentsAreAmsterdamTimesAndBadOnesAreNone() {
        let winter = DeadlineAlerts.dueMoment(date: "2026-11-27", time: "14:30")
        #expect(winter?.iso8601 == "2026-11-27T13:30:00Z")  // CET = UTC+1
        let summer = DeadlineAlerts.dueMoment(date: "2026-07-01", time: nil)
        #expect(summer?.iso8601 == "2026-07-01T07:00:00Z")  // 09:00 CEST
        for (d, t) in [("2026-02-30", "10:00"), ("2026-13-01", "10:00"), ("2026-11-27", "24:00"), ("2026-11-27", "10:61"),
                       ("yesterday", "10:00"), ("2026-11", "10:00")] {
            #expect(DeadlineAlerts.dueMoment(date: d, time: t) == nil, "\(d) \(t)")
        }
        #expect(DeadlineAlerts.dueMoment(date: nil, time: "10:00") == nil)
    }

    @Test func aTaskRemindsOnceInTheIntervalItsReminderFallsIn() throws {
        let due = try #require(DeadlineAlerts.dueMoment(date: "2026-11-27", time: "14:30"))
        let remind = due.addingTimeInterval(-DeadlineAlerts.taskReminderLeadSeconds)
        var task = InternalTask(taskTitle: "Bel klant", assignedToContactID: ContactID(), dueDate: "2026-11-27", dueTime: "14:30",
                                createdAt: remind.addingTimeInterval(-86_400))
        #expect(DeadlineAlerts.remindsBetween(task, after: remind.addingTimeInterval(-60), upTo: remind))
        #expect(!DeadlineAlerts.remindsBetween(task, after: remind, upTo: remind.addingTimeInterval(60)), "(after, upTo]: not twice")
        task.status = .completed
        #expect(!DeadlineAlerts.remindsBetween(task, after: remind.addingTimeInterval(-60), upTo: remind))
        task.status = .open
        task.assignedToContactID = nil
        #expect(!DeadlineAlerts.remindsBetween(task, after: remind.addingTimeInterval(-60), upTo: remind), "nobody to remind")
    }

    @Test func aThreadPassingItsDeadlineAlertsItsAssigneeAndATaskRemindsItsOwner() async throws {
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            let now = live.env.clock.now()
            _ = try await w.ingest(live.http, channel: w.emailChannel, externalID: "sla-1", subject: "Laadpaal stuk",
                                   receivedAt: now.iso8601)
            let list = try await live.http.get("/api/communication/threads?q=Laadpaal", w.adminToken)
            let thread = try #require(list.items.first)
            let id = try #require(thread["id"]?.string)
            let assigned = try await live.http.put("/api/communication/threads/\(id)", w.adminToken,
                                                   #"{"assigned_to_contact_id":"\#(w.agentA)"}"#)
            #expect(assigned.status == 200, "\(assigned)")
            let due = try #require(thread["response_due_at"]?.string.flatMap(Date.init(iso8601:)))
            let alerts = DeadlineAlerts(engine: live.engine)

            // Before the deadline: nothing; across it: the assignee, once.
            #expect(await alerts.notes(after: now, upTo: due.addingTimeInterval(-1)).notes.isEmpty)
            let across = await alerts.notes(after: due.addingTimeInterval(-1), upTo: due.addingTimeInterval(60))
            let sla = across.notes.filter { $0.1.tag == "sla-\(id)" }
            #expect(sla.count == 1 && sla.first?.0.description == w.agentA, "\(across)")
            #expect(sla.first?.1.url == "/#/thread/\(id)" && sla.first?.1.urgent == true)
            #expect(await alerts.notes(after: due.addingTimeInterval(60), upTo: due.addingTimeInterval(120)).notes.isEmpty)

            // A resolved thread alerts nobody.
            _ = try await live.http.put("/api/communication/threads/\(id)", w.adminToken, #"{"status":"resolved"}"#)
            #expect(await alerts.notes(after: due.addingTimeInterval(-1), upTo: due.addingTimeInterval(60)).notes.isEmpty)

            // A task: its owner, a quarter of an hour before.
            let task = try await live.http.post("/api/tasks", w.adminToken, #"""
                {"task_title":"Monteur bellen","assigned_to_contact_id":"\#(w.agentA2)","due_date":"2026-12-01","due_time":"10:00"}
                """#)
            #expect(task.status == 201, "\(task)")
            let taskDue = try #require(DeadlineAlerts.dueMoment(date: "2026-12-01", time: "10:00"))
            let reminders = await alerts.notes(after: taskDue.addingTimeInterval(-16 * 60), upTo: taskDue.addingTimeInterval(-14 * 60))
            #expect(reminders.notes.map { $0.0.description } == [w.agentA2], "\(reminders)")
            #expect(reminders.notes.first?.1.title == "Task due soon: Monteur bellen")
        }
    }

    @Test func aClockJumpSendsAtMostTheBound() async throws {
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            let now = live.env.clock.now()
            let many = DeadlineAlerts.maxAlertsPerCheck + 5
            var events: [String] = []
            for i in 0..<many {
                events.append(World.inbound(channel: w.emailChannel, externalID: "jump-\(i)", subject: "Vraag \(i)", text: "Hallo",
                                            email: "klant\(i)@example.nl", receivedAt: now.iso8601))
            }
            let r = try await live.http.post("/api/ingest", w.gatewayToken, #"{"events":[\#(events.joined(separator: ","))]}"#)
            #expect(r.status == 200, "\(r)")
            // Nobody is assigned (everyone is offline): team A's leader hears of each, up to the bound.
            let jump = await DeadlineAlerts(engine: live.engine).notes(after: now, upTo: now.addingTimeInterval(30 * 86_400))
            #expect(jump.notes.count == DeadlineAlerts.maxAlertsPerCheck, "\(jump.notes.count)")
            #expect(jump.skipped == 5)
            #expect(Set(jump.notes.map { $0.0.description }) == [w.leadA])
        }
    }
}
