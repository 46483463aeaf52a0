import CommHubDomain
import CommHubWire
import CommHubEngine
import Foundation
import Hummingbird

extension CommHubAPI {
    func registerMessages(_ api: RouterGroup<APIContext>) {
        api.get("communication/messages") { request, context in
            try await listMessages(request, context)
        }
        api.post("communication/messages") { request, context in
            try await createMessage(request, context)
        }
        api.put("communication/messages/:id") { request, context in
            let who = try require(.writeThreads, context)
            let id = try context.id("id", MessageKind.self)
            guard let threadID = await supervisor.state.messageThread[id] else { throw APIError.notFound("no message with id \(id)") }
            let thread = try await visibleThread(threadID, who)
            let body = try await request.decodeJSON(UpdateMessageRequest.self, context: context)
            guard let status = body.deliveryStatus else { throw APIError.badRequest("nothing to change: send delivery_status") }
            let before = thread.header.id == threadID ? thread.messages.last { $0.id == id } : nil
            let seq = try await mapped { try await supervisor.setDelivery(message: id, status: status, at: engine.clock.now()) }
            try await durable(seq)
            let after = await supervisor.thread(threadID)!.messages.last { $0.id == id }!
            try await audit(context, "message.update", "message", id.description, before: before, after: after)
            return try JSONResponse.make(try View.message(after, body: try engine.bodies.body(for: id),
                                                          delivery: await supervisor.outboxEntry(id)))
        }
        // One click: send an undelivered message again as a new message (its
        // delivery failed, or is unknown and a person decided to risk a second copy).
        api.post("communication/messages/:id/resend") { _, context in
            let who = try require(.writeThreads, context)
            let id = try context.id("id", MessageKind.self)
            guard let threadID = await supervisor.threadOf(message: id) else { throw APIError.notFound("no message with id \(id)") }
            _ = try await visibleThread(threadID, who)
            guard let body = try engine.bodies.body(for: id) else { throw APIError.notFound("message \(id) has no stored body") }
            let events = try await mapped { try await supervisor.resendOutgoing(id, by: who.contactID, body: body) }
            try await durable(events.last!.seq)
            guard case .messageAdded(let copy, let copyBody?, _)? = events.first?.event else {
                throw APIError(.internalServerError, "internal", "resend produced no message")
            }
            try await audit(context, "message.resend", "message", id.description, before: CommHubAPI.none,
                            after: JSONValue.object(["resent_as": .string(copy.id.description)]))
            return try JSONResponse.make(try View.message(copy, body: copyBody, delivery: await supervisor.outboxEntry(copy.id)),
                                         status: .created)
        }
    }

    func listMessages(_ request: Request, _ context: APIContext) async throws -> Response {
        let who = try require(.readThreads, context)
        let channelTypes = try request.enumSet("channel_type", ChannelType.self)
        let statuses = try request.enumSet("delivery_status", DeliveryStatus.self)
        _ = try request.limit()  // validated up front, before any work
        var headers: [MessageHeader] = []
        if let threadID = try request.uuidQuery("thread_id", ThreadKind.self) {
            headers = try await visibleThread(threadID, who).messages
        } else if !statuses.isEmpty, statuses.allSatisfy(EngineState.inOutbox) {
            // The outbox: undelivered outgoing messages across threads, oldest first.
            let outbox = await supervisor.state.outbox
            var byThread: [ThreadID: Set<MessageID>] = [:]
            for (m, v) in outbox { byThread[v.thread, default: []].insert(m) }
            for (t, ids) in byThread {
                guard let v = await supervisor.thread(t), canSee(v.header, who) else { continue }
                headers += v.messages.filter { ids.contains($0.id) }
            }
            headers.sort { $0.createdAt < $1.createdAt }
        } else {
            throw APIError.badRequest("give thread_id, or delivery_status of pending, sent, failed or bounced (the outbox)")
        }
        let filtered = headers.filter {
            (channelTypes.isEmpty || channelTypes.contains($0.channelType)) && (statuses.isEmpty || statuses.contains($0.deliveryStatus))
        }
        let page = try request.offsetPage(filtered)
        let delivery = await supervisor.outboxEntries(page.items.map(\.id))
        let items = try page.items.map { try View.message($0, body: try engine.bodies.body(for: $0.id), delivery: delivery[$0.id]) }
        return try JSONResponse.list(items, next: page.next)
    }

    func createMessage(_ request: Request, _ context: APIContext) async throws -> Response {
        let who = try require(.writeThreads, context)
        let body = try await request.decodeJSON(CreateMessageRequest.self, context: context)
        let thread = try await visibleThread(body.threadID, who)
        let state = await supervisor.state
        let now = engine.clock.now()

        var subject = body.subject
        var content = body.messageContent
        var html = body.messageHtml
        var metadata = body.metadata ?? [:]
        if let tid = body.templateID {
            guard let template = state.templates[tid], template.isActive else { throw APIError.notFound("no active template with id \(tid)") }
            var vars = body.templateVariables ?? [:]
            if vars["thread_subject"] == nil { vars["thread_subject"] = thread.header.threadSubject }
            if vars["agent_name"] == nil, let c = who.contact { vars["agent_name"] = c.name }
            if vars["customer_name"] == nil, let cid = thread.header.customerID, let c = state.index.customers[cid] { vars["customer_name"] = c.name }
            if vars["order_number"] == nil, let oid = thread.header.orderID, let o = state.index.orders[oid] { vars["order_number"] = o.orderNumber }
            let m = TemplateRenderer.render(template.messageTemplate, variables: vars)
            let s = template.subjectTemplate.map { TemplateRenderer.render($0, variables: vars) }
            let h = template.htmlTemplate.map { TemplateRenderer.render($0, variables: vars) }
            let missing = m.missing + (s?.missing ?? []) + (h?.missing ?? [])
            guard missing.isEmpty else {
                throw APIError(.unprocessableContent, "missing_variables",
                               "template variables missing: \(Array(Set(missing)).sorted().joined(separator: ", "))")
            }
            content = content ?? m.text
            subject = subject ?? s?.text
            html = html ?? h?.text
            metadata["template_id"] = .string(tid.description)
        }

        let messageType: MessageType
        let channelType: ChannelType
        var channelID = body.channelID
        var delivery: DeliveryStatus
        if let call = body.call {
            guard body.channelType == nil || body.channelType == .phoneCall else {
                throw APIError(.unprocessableContent, "invalid", "a call log has channel_type phone_call")
            }
            messageType = call.direction == .inbound ? .incoming : .outgoing
            channelType = .phoneCall
            delivery = .delivered
            metadata["direction"] = .string(call.direction.rawValue)
            metadata["duration_seconds"] = .number(Double(call.durationSeconds))
            content = content ?? call.notes ?? ""
        } else {
            switch body.messageType {
            case .outgoing:
                messageType = .outgoing
                delivery = .pending
                if channelID == nil {
                    // Answer on the channel the customer last wrote on.
                    channelID = thread.messages.last { $0.messageType == .incoming && $0.channelID != nil }?.channelID
                }
                guard let cid = channelID, let channel = state.channels[cid] else {
                    throw APIError(.unprocessableContent, "invalid", "an outgoing message needs channel_id (the thread has no inbound channel to answer on)")
                }
                guard channel.isActive else { throw APIError.conflict("channel \(channel.channelName) is not active") }
                channelType = channel.channelType
                if channel.channelType == .phoneCall { delivery = .delivered }
                if !channelType.isExternal { delivery = .delivered }
            case .internalNote:
                messageType = .internalNote
                channelType = .internalComment
                delivery = .delivered
                channelID = nil
            default:
                throw APIError(.unprocessableContent, "invalid",
                               "message_type must be outgoing or internal_note (incoming messages arrive through /api/ingest; calls use 'call')")
            }
        }
        guard let text = content, !text.isEmpty || !(body.attachments ?? []).isEmpty else {
            throw APIError(.unprocessableContent, "invalid", "message_content must not be empty")
        }
        let header = MessageHeader(threadID: thread.header.id, channelID: channelID, channelType: channelType,
                                   messageType: messageType, senderContactID: who.contactID,
                                   recipientContactID: body.recipientContactID, recipientExternal: body.recipientExternal,
                                   subject: subject, deliveryStatus: delivery, createdAt: now)
        let messageBody = MessageBody(messageContent: text, messageHtml: html, attachments: body.attachments ?? [],
                                      metadata: metadata)
        let events = try await mapped { try await supervisor.addMessage(header, body: messageBody, statusAfter: body.threadStatus) }
        try await durable(events.last!.seq)
        // Counted only once the message is stored: a refused message changes nothing.
        if let tid = body.templateID, var template = await supervisor.state.templates[tid] {
            template.usageCount += 1
            try await durable(try await supervisor.upsertTemplate(template))
        }
        try await audit(context, "message.create", "message", header.id.description, before: CommHubAPI.none, after: header)
        return try JSONResponse.make(try View.message(header, body: messageBody, delivery: await supervisor.outboxEntry(header.id)),
                                     status: .created)
    }
}
