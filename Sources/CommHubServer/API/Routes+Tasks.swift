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
            let state = await supervisor.state
            var tasks = state.tasks.values.filter { t in
                (statuses.isEmpty || statuses.contains(t.status)) && (assignee == nil || t.assignedToContactID == assignee)
                    && (thread == nil || t.threadID == thread)
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
            return try JSONResponse.list(page.items, next: page.next)
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
            try Self.validate(&task, body, now: engine.clock.now())
            let seq = try await mapped { try await supervisor.upsertTask(task) }
            try await durable(seq)
            try await audit(context, "task.create", "task", task.id.description, before: CommHubAPI.none, after: task)
            return try JSONResponse.make(task, status: .created)
        }
        api.put("tasks/:id") { request, context in
            let who = try require(.writeTasks, context)
            let id = try context.id("id", TaskKind.self)
            guard let before = await supervisor.state.tasks[id] else { throw APIError.notFound("no task with id \(id)") }
            if let c = who.contact, !AccessPolicy.seesAllThreads(c.role), before.assignedToContactID != c.id, before.createdByContactID != c.id {
                if let th = before.threadID { _ = try await visibleThread(th, who) } else { throw APIError.notFound("no task with id \(id)") }
            }
            let body = try await request.decodeJSON(TaskRequest.self, context: context)
            var task = before
            if let t = body.taskTitle { task.taskTitle = t }
            if let d = body.taskDescription { task.taskDescription = d }
            if let t = body.taskType { task.taskType = t }
            if let p = body.priority { task.priority = p }
            if let s = body.status { task.status = s }
            if let a = body.assignedToContactID { task.assignedToContactID = a }
            if let o = body.orderID { task.orderID = o }
            if let d = body.dueDate { task.dueDate = d }
            if let t = body.dueTime { task.dueTime = t }
            if let n = body.completionNotes { task.completionNotes = n }
            if let r = body.reminderSettings { task.reminderSettings = r }
            try Self.validate(&task, body, now: engine.clock.now())
            guard task != before else { return try JSONResponse.make(task) }
            let seq = try await mapped { try await supervisor.upsertTask(task) }
            try await durable(seq)
            try await audit(context, "task.update", "task", id.description, before: before, after: task)
            return try JSONResponse.make(task)
        }
    }

    static func validate(_ task: inout InternalTask, _ body: TaskRequest, now: Date) throws {
        if let d = task.dueDate, !Self.isDate(d) {
            throw APIError(.unprocessableContent, "invalid", "due_date must be a date YYYY-MM-DD from 2000-01-01 to 2099-12-31")
        }
        if let t = task.dueTime, !Self.isTime(t) { throw APIError(.unprocessableContent, "invalid", "due_time must be HH:MM") }
        if task.status == .completed, task.completedAt == nil { task.completedAt = now }
        if task.status != .completed { task.completedAt = nil }
    }

    static func isDate(_ s: String) -> Bool {
        let p = s.split(separator: "-")
        guard p.count == 3, p[0].count == 4, p[1].count == 2, p[2].count == 2,
              let y = Int(p[0]), let m = Int(p[1]), let d = Int(p[2]) else { return false }
        var c = DateComponents()
        c.year = y; c.month = m; c.day = d
        // The window of every date from outside (WireDates).
        return (1...12).contains(m) && (1...31).contains(d) && (2000...2099).contains(y) && Calendar(identifier: .gregorian).date(from: c) != nil
            && Calendar(identifier: .gregorian).dateComponents([.day], from: Calendar(identifier: .gregorian).date(from: c)!).day == d
    }

    static func isTime(_ s: String) -> Bool {
        let p = s.split(separator: ":")
        guard p.count == 2, p[0].count == 2, p[1].count == 2, let h = Int(p[0]), let m = Int(p[1]) else { return false }
        return (0...23).contains(h) && (0...59).contains(m)
    }
}
