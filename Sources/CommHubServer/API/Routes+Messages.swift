import CommHubDomain
import CommHubWire
import CommHubEngine
import CommHubStore
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
            guard let threadID = await supervisor.threadOf(message: id) else { throw APIError.notFound("no message with id \(id)") }
            _ = try await visibleThread(threadID, who)
            let body = try await request.decodeJSON(UpdateMessageRequest.self, context: context)
            guard let status = body.deliveryStatus else { throw APIError.badRequest("nothing to change: send delivery_status") }
            let before = await supervisor.messageHeader(id)
            let seq = try await mapped { try await supervisor.setDelivery(message: id, status: status, at: engine.clock.now()) }
            try await durable(seq)
            guard let after = await supervisor.messageHeader(id) else { throw APIError.notFound("no message with id \(id)") }
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
            return try await threadMessages(threadID, request, who, channelTypes: channelTypes, statuses: statuses)
        } else if !statuses.isEmpty, statuses.allSatisfy(EngineState.inOutbox) {
            // The outbox: undelivered outgoing messages across threads, oldest first.
            for (t, ids) in await supervisor.outboxByThread() {
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

    /// One thread's messages, oldest first, page by page: the cursor is the
    /// journal seq of the page's last message (`s<seq>`), so a page reads only
    /// its own rows of the thread's history (at most `ThreadViewLimits.pageScanRows`).
    func threadMessages(_ threadID: ThreadID, _ request: Request, _ who: Identity,
                        channelTypes: Set<ChannelType>, statuses: Set<DeliveryStatus>) async throws -> Response {
        _ = try await visibleThread(threadID, who)
        var after: UInt64 = 0
        if let raw = request.query("cursor") {
            guard raw.first == "s", let seq = UInt64(raw.dropFirst()), seq <= engine.journal.lastAssignedSeq else {
                throw APIError.badRequest("cursor is not one this server gave out")
            }
            after = seq
        }
        let limit = try request.limit()
        guard let page = await supervisor.messagePage(thread: threadID, after: after, limit: limit,
                                                      scan: ThreadViewLimits.pageScanRows, include: {
            (channelTypes.isEmpty || channelTypes.contains($0.channelType)) && (statuses.isEmpty || statuses.contains($0.deliveryStatus))
        }) else { throw APIError.notFound("no thread with id \(threadID)") }
        let delivery = await supervisor.outboxEntries(page.messages.map(\.id))
        let items = try page.messages.map { try View.message($0, body: try engine.bodies.body(for: $0.id), delivery: delivery[$0.id]) }
        return try JSONResponse.list(items, next: page.next.map { "s\($0)" })
    }

    func createMessage(_ request: Request, _ context: APIContext) async throws -> Response {
        let who = try require(.writeThreads, context)
        let body = try await request.decodeJSON(CreateMessageRequest.self, context: context)
        let thread = try await visibleThread(body.threadID, who)
        try await refuseIfMerged(body.threadID)
        let now = engine.clock.now()

        var subject = body.subject
        var content = body.messageContent
        var html = body.messageHtml
        var metadata = body.metadata ?? [:]
        var whatsappTemplate: Template?
        // An answer goes out on the channel the customer last wrote on unless the request names one.
        var channelID = body.channelID
        if body.call == nil, body.messageType == .outgoing, channelID == nil {
            channelID = thread.messages.last { $0.messageType == .incoming && $0.channelID != nil }?.channelID
        }
        var template: Template?
        if let tid = body.templateID {
            guard let t = await supervisor.template(tid), t.isActive else { throw APIError.notFound("no active template with id \(tid)") }
            template = t
            whatsappTemplate = t.whatsappTemplateName == nil ? nil : t
            let channel: CommHubDomain.Channel? = if let channelID { await supervisor.channel(channelID) } else { nil }
            let rendered = try await renderForSending(t, thread: thread, who: who, channel: channel, messageType: body.messageType,
                                                      isCall: body.call != nil, overrides: body.templateVariables ?? [:])
            content = content ?? rendered.text
            subject = subject ?? rendered.subject
            html = html ?? rendered.html
            metadata["template_id"] = .string(tid.description)
            if let parameters = rendered.whatsappParameters, let name = t.whatsappTemplateName, let language = t.whatsappLanguage {
                // Sent as Meta's approved template, its declared variables as the body parameters in order.
                metadata["whatsapp_template"] = .object([
                    "name": .string(name), "language": .string(language), "parameters": .array(parameters.map(JSONValue.string)),
                ])
            }
        }
        if let reply = body.replyToMessageID {
            let ofThread = thread.messages.contains { $0.id == reply } ? true : await supervisor.threadOf(message: reply) == thread.header.id
            guard ofThread else {
                throw APIError(.unprocessableContent, "invalid", "reply_to_message_id \(reply) is not a message of this thread")
            }
            metadata["reply_to_message_id"] = .string(reply.description)
        }
        let attachments = try await storedAttachments(body.attachments ?? [])

        let messageType: MessageType
        let channelType: ChannelType
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
            if call.callbackRequested == true {
                // The engine makes a callback task from these (task rule `callback`).
                metadata["callback_requested"] = .bool(true)
                if let at = call.callbackAt { metadata["callback_at"] = .string(at.iso8601) }
            }
            content = content ?? call.notes ?? ""
        } else {
            switch body.messageType {
            case .outgoing:
                messageType = .outgoing
                delivery = .pending
                guard let cid = channelID, let channel = await supervisor.channel(cid) else {
                    throw APIError(.unprocessableContent, "invalid", "an outgoing message needs channel_id (the thread has no inbound channel to answer on)")
                }
                guard channel.isActive else { throw APIError.conflict("channel \(channel.channelName) is not active") }
                channelType = channel.channelType
                if channelType == .whatsappBusiness {
                    try await checkWhatsApp(thread, channel: channel, template: whatsappTemplate, attachments: attachments)
                }
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
        guard let text = content, !text.isEmpty || !attachments.isEmpty else {
            throw APIError(.unprocessableContent, "invalid", "message_content must not be empty")
        }
        let header = MessageHeader(threadID: thread.header.id, channelID: channelID, channelType: channelType,
                                   messageType: messageType, senderContactID: who.contactID,
                                   recipientContactID: body.recipientContactID, recipientExternal: body.recipientExternal,
                                   subject: subject, deliveryStatus: delivery, createdAt: now)
        let messageBody = MessageBody(messageContent: text, messageHtml: html, attachments: attachments, metadata: metadata)
        let events = try await mapped {
            if let template {
                // Journaled with the message; usage_count counts it once it really goes out.
                try await supervisor.addMessage(header, body: messageBody, statusAfter: body.threadStatus, template: template.id)
            } else {
                try await supervisor.addMessage(header, body: messageBody, statusAfter: body.threadStatus)
            }
        }
        try await durable(events.last!.seq)
        if messageType == .internalNote { try await recordMentions(header, text: text, thread: thread.header, by: who) }
        try await audit(context, "message.create", "message", header.id.description, before: CommHubAPI.none, after: header)
        return try JSONResponse.make(try View.message(header, body: messageBody, delivery: await supervisor.outboxEntry(header.id)),
                                     status: .created)
    }

    /// WhatsApp's rules, checked before anything is sent: free text only within 24 hours of the
    /// customer's last message on the channel (else 422 naming the approved templates of the brand),
    /// one file per message.
    func checkWhatsApp(_ thread: ThreadView, channel: CommHubDomain.Channel, template: Template?, attachments: [Attachment]) async throws {
        guard attachments.count <= 1 else {
            throw APIError(.unprocessableContent, "invalid", "WhatsApp sends one file per message; send the others separately")
        }
        guard template == nil else { return }  // an approved template may be sent at any time
        let now = engine.clock.now()
        guard !WhatsAppWindow.isOpen(thread.messages, channel: channel.id, at: now) else { return }
        let approved = WhatsAppWindow.approvedTemplates(await supervisor.templates { $0.isActive }, brand: thread.header.businessEntity)
        let names = approved.map { "\($0.templateName) (id \($0.id), WhatsApp template \($0.whatsappTemplateName!))" }
        let since = WhatsAppWindow.endsAt(thread.messages, channel: channel.id).map { " since \($0.iso8601)" } ?? " (the customer never wrote on this number)"
        throw APIError(.unprocessableContent, "whatsapp_window_closed",
                       "WhatsApp's 24-hour window is closed\(since): only an approved template can be sent. "
                       + (names.isEmpty ? "No approved WhatsApp template is configured for this brand."
                                        : "Approved templates: " + names.joined(separator: "; ") + "."))
    }

    /// Attachments of an outgoing message: a file in the attachment store (named by sha256, size and
    /// type as stored) or a public https link; anything else is refused.
    func storedAttachments(_ list: [Attachment]) async throws -> [Attachment] {
        try list.enumerated().map { i, a in
            if let sha = a.sha256 {
                guard let files = engine.attachments, let size = files.size(sha) else {
                    throw APIError(.unprocessableContent, "invalid", "attachments[\(i)].sha256 names no stored file; upload it with POST /api/attachments")
                }
                var stored = a
                stored.sizeBytes = size
                stored.contentType = AttachmentStore.normalizedType(a.contentType)
                stored.url = nil
                return stored
            }
            guard let url = a.url, url.hasPrefix("https://") else {
                throw APIError(.unprocessableContent, "invalid", "attachments[\(i)] needs a sha256 of an uploaded file (POST /api/attachments) or a public https url")
            }
            return a
        }
    }
}
