import CommHubDomain
import CommHubWire
import CommHubEngine
import Foundation
import Hummingbird

extension CommHubAPI {
    func registerTasks(_ api: RouterGroup<APIContext>) {
        api.get("tasks") { request, context in
            let who = try require(.readThreads, context)
            let statuses = try request.enumSet("status", TaskStatus.self)
            var assignee = try request.uuidQuery("assigned_to_contact_id", ContactKind.self)
            if try request.boolQuery("mine") { assignee = who.contactID }
            let thread = try request.uuidQuery("thread_id", ThreadKind.self)
            let overdue = try request.boolQuery("overdue")
            let dueToday = try request.boolQuery("due_today")
            let wanted = assignee
            let now = engine.clock.now()
            let calendar = await supervisor.workflowCalendar()
            var tasks = await supervisor.tasks { t in
                (statuses.isEmpty || statuses.contains(t.status)) && (wanted == nil || t.assignedToContactID == wanted)
                    && (thread == nil || t.threadID == thread)
                    && (!overdue || TaskSchedule.isOverdue(t, at: now, calendar: calendar))
                    && (!dueToday || TaskSchedule.isDueToday(t, at: now, calendar: calendar))
            }
            if let c = who.contact, !AccessPolicy.seesAllThreads(c.role) {
                var visible: [InternalTask] = []
                for t in tasks {
                    if t.assignedToContactID == c.id || t.createdByContactID == c.id { visible.append(t); continue }
                    if let th = t.threadID, let v = await supervisor.thread(th), canSee(v.header, who) { visible.append(t) }
                }
                tasks = visible
            }
            tasks.sort { ($0.dueDate ?? "9999", $0.dueTime ?? "99", $0.createdAt) < ($1.dueDate ?? "9999", $1.dueTime ?? "99", $1.createdAt) }
            let page = try request.offsetPage(tasks)
            return try JSONResponse.list(page.items.map { View.task($0, now: now, calendar: calendar) }, next: page.next)
        }
        api.get("tasks/:id") { _, context in
            let who = try require(.readThreads, context)
            let id = try context.id("id", TaskKind.self)
            guard let task = await supervisor.task(id) else { throw APIError.notFound("no task with id \(id)") }
            if let c = who.contact, !AccessPolicy.seesAllThreads(c.role), task.assignedToContactID != c.id, task.createdByContactID != c.id {
                // Others' tasks are visible with their thread; a task without one is its people's only.
                guard let th = task.threadID, (try? await visibleThread(th, who)) != nil else { throw APIError.notFound("no task with id \(id)") }
            }
            return try JSONResponse.make(View.task(task, now: engine.clock.now(), calendar: await supervisor.workflowCalendar()))
        }
        api.post("tasks") { request, context in
            let who = try require(.writeTasks, context)
            let body = try await request.decodeJSON(TaskRequest.self, context: context)
            guard let title = body.taskTitle?.trimmingCharacters(in: .whitespaces), !title.isEmpty else {
                throw APIError(.unprocessableContent, "invalid", "task_title is required")
            }
            if let th = body.threadID { _ = try await visibleThread(th, who) }
            var task = InternalTask(taskTitle: title, taskDescription: body.taskDescription, taskType: body.taskType ?? .other,
                                    priority: body.priority ?? .normal, status: body.status ?? .open,
                                    assignedToContactID: body.assignedToContactID ?? who.contactID,
                                    createdByContactID: who.contactID, threadID: body.threadID, orderID: body.orderID,
                                    dueDate: body.dueDate, dueTime: body.dueTime, reminderSettings: body.reminderSettings,
                                    createdAt: engine.clock.now())
            try EntityRules.check(&task, now: engine.clock.now())
            let seq = try await mapped { try await supervisor.upsertTask(task) }
            try await durable(seq)
            // The engine may have set the due date from the priority's response target.
            let stored = await supervisor.task(task.id) ?? task
            try await audit(context, "task.create", "task", task.id.description, before: CommHubAPI.none, after: stored)
            return try JSONResponse.make(View.task(stored, now: engine.clock.now(), calendar: await supervisor.workflowCalendar()),
                                         status: .created)
        }
        api.put("tasks/:id") { request, context in
            let who = try require(.writeTasks, context)
            let id = try context.id("id", TaskKind.self)
            // Who may change the task is decided on the task as it is now; the
            // change itself is applied to the task the supervisor holds when it
            // runs, so concurrent updates of different fields all land.
            guard let current = await supervisor.task(id) else { throw APIError.notFound("no task with id \(id)") }
            if let c = who.contact, !AccessPolicy.seesAllThreads(c.role), current.assignedToContactID != c.id, current.createdByContactID != c.id {
                if let th = current.threadID { _ = try await visibleThread(th, who) } else { throw APIError.notFound("no task with id \(id)") }
            }
            let body = try await request.decodeJSON(TaskRequest.self, context: context)
            var patch = TaskPatch()
            patch.taskTitle = body.taskTitle; patch.taskDescription = body.taskDescription; patch.taskType = body.taskType
            patch.priority = body.priority; patch.status = body.status; patch.assignedToContactID = body.assignedToContactID
            patch.orderID = body.orderID; patch.dueDate = body.dueDate; patch.dueTime = body.dueTime
            patch.completionNotes = body.completionNotes; patch.reminderSettings = body.reminderSettings
            let change = try await mapped { try await supervisor.updateTask(id, patch) }
            let calendar = await supervisor.workflowCalendar()
            guard change.changed else { return try JSONResponse.make(View.task(change.after, now: engine.clock.now(), calendar: calendar)) }
            try await durable(change.seq)
            try await audit(context, "task.update", "task", id.description, before: change.before, after: change.after)
            return try JSONResponse.make(View.task(change.after, now: engine.clock.now(), calendar: calendar))
        }
    }
}
