import CommHubDomain
import CommHubWire
import CommHubEngine
import Foundation
import Hummingbird

extension CommHubAPI {
    func registerThreads(_ api: RouterGroup<APIContext>) {
        api.get("communication/threads") { request, context in
            try await listThreads(request, context)
        }
        api.post("communication/threads") { request, context in
            try await createThread(request, context)
        }
        api.get("communication/threads/:id") { _, context in
            let who = try require(.readThreads, context)
            let page = try await visiblePage(try context.id("id", ThreadKind.self), who)
            if who.contact != nil { await markRead(page.held) }
            return try JSONResponse.make(try await threadDetail(page))
        }
        api.put("communication/threads/:id") { request, context in
            try await updateThread(request, context)
        }
    }

    func threadDetail(_ page: ThreadPage) async throws -> JSONValue {
        let v = page.view
        var o = try View.json(v.header).objectValue ?? [:]
        o.merge(await caseFields(v)) { _, new in new }
        let delivery = await supervisor.outboxEntries(v.messages.filter { $0.messageType == .outgoing || $0.messageType == .autoResponse }.map(\.id))
        o["messages"] = .array(try v.messages.map { try View.message($0, body: try engine.bodies.body(for: $0.id), delivery: delivery[$0.id]) })
        // The newest messages only (`ThreadViewLimits.latestMessages`): older ones page through
        // `GET /communication/messages?thread_id=`.
        o["messages_truncated"] = .bool(page.olderLeftOut)
        let tasks = await supervisor.tasks(ofThread: v.header.id)
        let calendar = await supervisor.workflowCalendar()
        o["tasks"] = .array(tasks.map { View.task($0, now: engine.clock.now(), calendar: calendar) })
        // WhatsApp's 24-hour window per WhatsApp channel of the thread: when it ends, and whether it is open now.
        let now = engine.clock.now()
        var windows: [JSONValue] = []
        // From the held messages: they keep each channel's last incoming one, however many answers came after it.
        for channel in Set(page.held.filter { $0.channelType == .whatsappBusiness && $0.messageType == .incoming }.compactMap(\.channelID)) {
            guard let end = WhatsAppWindow.endsAt(page.held, channel: channel) else { continue }
            windows.append(.object(["channel_id": .string(channel.description), "ends_at": .string(end.iso8601), "open": .bool(now < end)]))
        }
        if !windows.isEmpty {
            o["whatsapp_windows"] = .array(windows)
            let latest = windows.compactMap { $0.objectValue?["ends_at"]?.stringValue }.max()
            o["whatsapp_window_ends_at"] = latest.map(JSONValue.string) ?? .null
        }
        return .object(o)
    }

    /// A person opening a WhatsApp thread marks the customer's last message read
    /// at Meta (blue ticks), once per message, through the connected gateways.
    /// Best effort: not journaled; a channel turns it off with `mark_as_read: false`.
    func markRead(_ held: [MessageHeader]) async {
        guard let last = held.last(where: { $0.messageType == .incoming && $0.channelType == .whatsappBusiness }),
              let external = last.externalMessageID, let channel = last.channelID, engine.markReadOnce(last.id) else { return }
        engine.markRead.publish(GatewayProtocol.MarkRead(channelID: channel, externalMessageID: external))
    }

    func listThreads(_ request: Request, _ context: APIContext) async throws -> Response {
        let who = try require(.readThreads, context)
        var f = InboxFilter()
        if request.query("status") == "all" {
            f.statuses = []
        } else {
            let s = try request.enumSet("status", ThreadStatus.self)
            if !s.isEmpty { f.statuses = s }
        }
        f.priorities = try request.enumSet("priority", Priority.self)
        f.threadTypes = try request.enumSet("thread_type", ThreadType.self)
        f.channelTypes = try request.enumSet("channel_type", ChannelType.self)
        f.brands = try request.enumSet("business_entity", Brand.self)
        f.assignee = try request.uuidQuery("assigned_to_contact_id", ContactKind.self)
        f.customer = try request.uuidQuery("customer_id", CustomerKind.self)
        f.order = try request.uuidQuery("order_id", OrderKind.self)
        if let t = try request.uuidQuery("team_id", TeamKind.self) { f.teams = [t] }
        if try request.boolQuery("mine") {
            guard let me = who.contactID else { throw APIError.badRequest("mine=true needs a person's token") }
            f.assignee = me
        }
        if try request.boolQuery("unassigned") { f.unassignedOnly = true }
        if try request.boolQuery("overdue") { f.overdueAt = engine.clock.now() }
        if let q = try request.textQuery("q") { f.text = q }
        if let c = who.contact, !AccessPolicy.seesAllThreads(c.role) {
            f.scopeTeams = Set(c.teams)
            f.scopeContact = c.id
        }
        let cursor = request.query("cursor")
        // Checked before paging: the index reads an unknown cursor as "from the start",
        // which would send a client round the same pages forever.
        if let cursor, InboxCursorCheck.isMalformed(cursor) {
            throw APIError.badRequest("cursor is not one this server gave out")
        }
        let page = engine.inbox.page(f, limit: try request.limit(), cursor: cursor)
        let headers = await supervisor.headers(page.threadIDs)
        return try JSONResponse.list(headers, next: page.nextCursor)
    }

    func createThread(_ request: Request, _ context: APIContext) async throws -> Response {
        let who = try require(.writeThreads, context)
        let body = try await request.decodeJSON(CreateThreadRequest.self, context: context)
        let subject = body.threadSubject.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !subject.isEmpty, subject.count <= 500 else {
            throw APIError(.unprocessableContent, "invalid", "thread_subject must be 1 to 500 characters")
        }
        if let a = body.assignedToContactID, a != who.contactID {
            guard AccessPolicy.allows(who.role!, .reassignInTeam) else {
                throw APIError.forbidden("role \(who.role!.rawValue) may only assign threads to themselves")
            }
        }
        let now = engine.clock.now()
        var header = ThreadHeader(threadSubject: subject, threadType: body.threadType ?? .customerSupport,
                                  priority: body.priority ?? .normal, status: body.status ?? .open,
                                  businessEntity: body.businessEntity, channelType: body.channelType ?? .internalComment,
                                  orderID: body.orderID, customerID: body.customerID,
                                  customerOrganizationID: body.customerOrganizationID,
                                  partnerOrganizationID: body.partnerOrganizationID,
                                  createdByContactID: who.contactID, createdAt: now, tags: body.tags ?? [],
                                  externalReferences: body.externalReferences ?? [])
        header.updatedAt = now
        var team = body.teamID
        if team == nil, body.assignedToContactID == nil, let c = who.contact, c.role == .agent || c.role == .teamLeader {
            team = c.teams.first
        }
        let events = try await mapped { try await supervisor.createThread(header, assignTo: body.assignedToContactID, team: team) }
        try await durable(events.last!.seq)
        let v = await supervisor.thread(header.id)!
        try await audit(context, "thread.create", "thread", header.id.description, before: CommHubAPI.none, after: v.header)
        return try JSONResponse.make(try await detail(header.id), status: .created)
    }

    func updateThread(_ request: Request, _ context: APIContext) async throws -> Response {
        let who = try require(.writeThreads, context)
        let id = try context.id("id", ThreadKind.self)
        let before = try await visibleThread(id, who)
        try await refuseIfMerged(id)
        let body = try await request.decodeJSON(UpdateThreadRequest.self, context: context)
        if let s = body.threadSubject, s.trimmingCharacters(in: .whitespaces).isEmpty || s.count > 500 {
            throw APIError(.unprocessableContent, "invalid", "thread_subject must be 1 to 500 characters")
        }
        if body.assignedToContactID != nil || body.teamID != nil {
            try await checkReassign(who, thread: before.header, to: body.assignedToContactID ?? nil, team: body.teamID)
        }
        let change = ThreadChange(status: body.status, priority: body.priority, threadType: body.threadType,
                                  threadSubject: body.threadSubject, tags: body.tags, orderID: body.orderID,
                                  customerID: body.customerID, customerOrganizationID: body.customerOrganizationID,
                                  partnerOrganizationID: body.partnerOrganizationID)
        let events = try await mapped {
            try await supervisor.updateThread(id, change: change, assignTo: body.assignedToContactID, team: body.teamID)
        }
        if let last = events.last { try await durable(last.seq) }
        let after = await supervisor.thread(id)!
        if !events.isEmpty {
            try await audit(context, "thread.update", "thread", id.description, before: before.header, after: after.header)
        }
        return try JSONResponse.make(try await detail(id))
    }

    /// Agents may take a thread of their team for themselves; team leaders
    /// reassign within their teams; managers and admins anywhere.
    func checkReassign(_ who: Identity, thread: ThreadHeader, to agent: ContactID?, team: TeamID?) async throws {
        guard let me = who.contact else { throw APIError.forbidden("this token cannot reassign") }
        if AccessPolicy.allows(me.role, .reassignAnywhere) { return }
        let targetTeam = team ?? thread.assignedTeamID
        if me.role == .agent || me.role == .teamLeader {
            let selfTake = agent == me.id && team == nil && (targetTeam.map(me.teams.contains) ?? false)
            if selfTake { return }
        }
        guard AccessPolicy.allows(me.role, .reassignInTeam) else {
            throw APIError.forbidden("role \(me.role.rawValue) may only take threads of their team for themselves")
        }
        guard let t = targetTeam, me.teams.contains(t) else {
            throw APIError.forbidden("team leaders reassign within their own teams only")
        }
        if let agent, await supervisor.contact(agent)?.teams.contains(t) != true {
            throw APIError.forbidden("that person is not a member of the thread's team")
        }
    }
}

/// Recognises cursors this server could have issued.
enum InboxCursorCheck {
    static func isMalformed(_ cursor: String) -> Bool {
        let padded = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            + String(repeating: "=", count: (4 - cursor.count % 4) % 4)
        guard let d = Data(base64Encoded: padded), let s = String(data: d, encoding: .utf8) else { return true }
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count != 5 || !(parts[0] == "o" || parts[0] == "f") || parts.dropFirst().contains { UInt64($0) == nil }
    }
}
