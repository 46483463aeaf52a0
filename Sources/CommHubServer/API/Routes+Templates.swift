import CommHubDomain
import CommHubWire
import CommHubEngine
import Foundation
import Hummingbird

/// A template rendered for one message.
struct RenderedTemplate {
    var text: String
    var subject: String?
    var html: String?
    /// The body parameters of an approved WhatsApp template, in the order of its `variables`.
    var whatsappParameters: [String]?
}

extension CommHubAPI {
    func registerTemplates(_ api: RouterGroup<APIContext>) {
        api.get("templates") { request, context in
            _ = try require(.readThreads, context)
            let brands = try request.enumSet("business_entity", TemplateBusinessEntity.self)
            let channels = try request.enumSet("channel_type", TemplateChannelType.self)
            let categories = try request.enumSet("template_category", TemplateCategory.self)
            // A boolean like every other query flag: `is_active=yes` is refused, not read as false.
            let activeOnly: Bool? = request.query("is_active") == nil ? nil : try request.boolQuery("is_active")
            let list = await supervisor.templates { t in
                (brands.isEmpty || brands.contains(t.businessEntity) || (t.businessEntity == .all && !brands.isEmpty))
                    && (channels.isEmpty || channels.contains(t.channelType) || t.channelType == .any)
                    && (categories.isEmpty || categories.contains(t.templateCategory))
                    && (activeOnly == nil || t.isActive == activeOnly)
            }
            return try JSONResponse.list(list, next: nil)
        }
        api.get("templates/:id") { _, context in
            _ = try require(.readThreads, context)
            let id = try context.id("id", TemplateKind.self)
            guard let t = await supervisor.template(id) else { throw APIError.notFound("no template with id \(id)") }
            return try JSONResponse.make(t)
        }
        api.post("templates") { request, context in
            _ = try require(.writeTemplates, context)
            var body = try await request.decodeJSON(TemplateRequest.self, context: context)
            try Self.checkTemplateText(&body)
            guard let name = body.templateName, !name.isEmpty, let category = body.templateCategory,
                  let channel = body.channelType, let message = body.messageTemplate, !message.isEmpty else {
                throw APIError(.unprocessableContent, "invalid", "template_name, template_category, channel_type and message_template are required")
            }
            var used = TemplateRenderer.variables(in: body.subjectTemplate ?? "")
            for text in [message, body.htmlTemplate ?? ""] {
                for v in TemplateRenderer.variables(in: text) where !used.contains(v) { used.append(v) }
            }
            let t = Template(templateName: name, templateCategory: category, channelType: channel,
                             subjectTemplate: body.subjectTemplate, messageTemplate: message, htmlTemplate: body.htmlTemplate,
                             variables: body.variables ?? used,
                             businessEntity: body.businessEntity ?? .all, isActive: body.isActive ?? true,
                             whatsappTemplateName: body.whatsappTemplateName, whatsappLanguage: body.whatsappLanguage)
            try Self.validateWhatsApp(t)
            try await durable(try await supervisor.upsertTemplate(t))
            try await audit(context, "template.create", "template", t.id.description, before: CommHubAPI.none, after: t)
            return try JSONResponse.make(t, status: .created)
        }
        api.put("templates/:id") { request, context in
            _ = try require(.writeTemplates, context)
            let id = try context.id("id", TemplateKind.self)
            guard await supervisor.template(id) != nil else { throw APIError.notFound("no template with id \(id)") }
            var body = try await request.decodeJSON(TemplateRequest.self, context: context)
            try Self.checkTemplateText(&body)
            var patch = TemplatePatch()
            patch.templateName = body.templateName; patch.templateCategory = body.templateCategory
            patch.channelType = body.channelType; patch.subjectTemplate = body.subjectTemplate
            patch.messageTemplate = body.messageTemplate; patch.htmlTemplate = body.htmlTemplate
            patch.variables = body.variables; patch.businessEntity = body.businessEntity; patch.isActive = body.isActive
            patch.whatsappTemplateName = body.whatsappTemplateName; patch.whatsappLanguage = body.whatsappLanguage
            let change = try await mapped { try await supervisor.updateTemplate(id, patch) }
            try await durable(change.seq)
            try await audit(context, "template.update", "template", id.description, before: change.before, after: change.after)
            return try JSONResponse.make(change.after)
        }
        api.post("templates/:id/render") { request, context in
            let who = try require(.readThreads, context)
            let id = try context.id("id", TemplateKind.self)
            guard let t = await supervisor.template(id) else { throw APIError.notFound("no template with id \(id)") }
            let body = try await request.decodeJSON(RenderRequest.self, context: context)
            guard body.variables != nil || body.threadID != nil else {
                throw APIError.badRequest("give variables (name → text), thread_id (values from that thread), or both")
            }
            var values: [String: JSONValue] = [:]
            if let threadID = body.threadID {
                _ = try await visibleThread(threadID, who)
                values = await supervisor.templateValues(thread: threadID, agent: who.contactID, channel: nil) ?? [:]
            }
            for (k, v) in body.variables ?? [:] { values[k] = .string(v) }
            let m = try Self.preview(t.messageTemplate, values, .text, field: "message_template")
            let s = try t.subjectTemplate.map { try Self.preview($0, values, .text, field: "subject_template") }
            let h = try t.htmlTemplate.map { try Self.preview($0, values, .html, field: "html_template") }
            let missing = Array(Set(m.missing + (s?.missing ?? []) + (h?.missing ?? []))).sorted()
            return try JSONResponse.make(JSONValue.object([
                "subject": s.map { .string($0.text) } ?? .null,
                "message": .string(m.text),
                "html": h.map { .string($0.text) } ?? .null,
                "missing_variables": .array(missing.map(JSONValue.string)),
            ]))
        }
        api.get("communication/threads/:id/template-suggestions") { request, context in
            try await templateSuggestions(request, context)
        }
    }

    /// Checks the template texts of a POST or PUT and stores them with the
    /// old `{{name|fallback}}` rewritten as Mustache (see `TemplateSyntax.migrated`).
    static func checkTemplateText(_ body: inout TemplateRequest) throws {
        do {
            body.subjectTemplate = try body.subjectTemplate.map { try TemplateSyntax.checkedForSaving($0, field: "subject_template") }
            body.messageTemplate = try body.messageTemplate.map { try TemplateSyntax.checkedForSaving($0, field: "message_template") }
            body.htmlTemplate = try body.htmlTemplate.map { try TemplateSyntax.checkedForSaving($0, field: "html_template") }
        } catch let e as TemplateError {
            throw APIError(.unprocessableContent, "invalid_template", e.description)
        }
    }

    static func preview(_ source: String, _ values: [String: JSONValue], _ format: TemplateFormat,
                        field: String) throws -> (text: String, missing: [String]) {
        do {
            return try TemplateRenderer.preview(source, values: values, format: format)
        } catch {
            throw APIError(.unprocessableContent, "invalid_template", "\(field): \(error.description)")
        }
    }

    static func validateWhatsApp(_ t: Template) throws {
        if let problem = WhatsAppTemplateRules.problem(t) { throw APIError(.unprocessableContent, "invalid", problem) }
    }

    /// Renders a template for a message on `thread`: refused (422
    /// `template_not_applicable`) when its brand or channel does not fit;
    /// values from the thread (customer, order, agent, brand, channel),
    /// `overrides` on top; every missing variable named (422 `missing_variables`).
    func renderForSending(_ t: Template, thread: ThreadView, who: Identity, channel: CommHubDomain.Channel?,
                          messageType: MessageType, isCall: Bool, overrides: [String: String]) async throws -> RenderedTemplate {
        let channelType: ChannelType? = isCall ? .phoneCall
            : messageType == .internalNote ? .internalComment
            : messageType == .outgoing ? channel?.channelType : nil
        if let channelType, let refusal = TemplateFit.refusal(t, brand: thread.header.businessEntity, channelType: channelType) {
            throw APIError(.unprocessableContent, "template_not_applicable", refusal)
        }
        var values = await supervisor.templateValues(thread: thread.header.id, agent: who.contactID, channel: channel?.id) ?? [:]
        for (k, v) in overrides { values[k] = .string(v) }
        let m = try Self.preview(t.messageTemplate, values, .text, field: "message_template")
        let s = try t.subjectTemplate.map { try Self.preview($0, values, .text, field: "subject_template") }
        let h = try t.htmlTemplate.map { try Self.preview($0, values, .html, field: "html_template") }
        var missing = m.missing + (s?.missing ?? []) + (h?.missing ?? [])
        var parameters: [String]?
        if t.whatsappTemplateName != nil {
            parameters = []
            for name in t.variables {
                if let v = TemplateContext.text(name, in: values) ?? TemplateSyntax.fallback(for: name, in: t.messageTemplate) {
                    parameters!.append(v)
                } else {
                    missing.append(name)
                }
            }
        }
        guard missing.isEmpty else {
            throw APIError(.unprocessableContent, "missing_variables",
                           "template variables missing: \(Array(Set(missing)).sorted().joined(separator: ", "))")
        }
        return RenderedTemplate(text: m.text, subject: s?.text, html: h?.text, whatsappParameters: parameters)
    }

    /// `GET /api/communication/threads/{id}/template-suggestions`: the
    /// templates that fit the thread, ranked by `TemplateSuggester` (thread
    /// type → category, what agents sent in similar threads, brand and
    /// channel specificity, usage). `channel_type` names the channel of the
    /// answer; by default the one the customer last wrote on.
    func templateSuggestions(_ request: Request, _ context: APIContext) async throws -> Response {
        let who = try require(.readThreads, context)
        let v = try await visibleThread(try context.id("id", ThreadKind.self), who)
        let limit = try request.limit()
        let asked = try request.enumSet("channel_type", ChannelType.self)
        guard asked.count <= 1 else { throw APIError.badRequest("channel_type: give one channel type") }
        let channelType = asked.first
            ?? v.messages.last { $0.messageType == .incoming && $0.channelType.isExternal }?.channelType
            ?? v.header.channelType
        let h = v.header
        let uses = await supervisor.similarTemplateUses(TemplateSimilarity(threadType: h.threadType, brand: h.businessEntity))
        let ranked = TemplateSuggester.rank(await supervisor.templates { $0.isActive }, threadType: h.threadType, status: h.status,
                                            brand: h.businessEntity, channelType: channelType, similarUses: uses)
        let items = try ranked.prefix(limit).enumerated().map { i, s -> JSONValue in
            var o = try View.json(s.template).objectValue ?? [:]
            o["suggestion"] = .object([
                "rank": .number(Double(i + 1)),
                "category_match": .bool(s.categoryTier == 0),
                "category_tier": .number(Double(s.categoryTier)),
                "similar_thread_uses": .number(Double(s.similarUses)),
                "brand_match": .string(s.brandExact ? "exact" : "all"),
                "channel_match": .string(s.channelExact ? "exact" : "any"),
                "channel_type": .string(channelType.rawValue),
            ])
            return .object(o)
        }
        return try JSONResponse.list(items, next: nil)
    }
}
