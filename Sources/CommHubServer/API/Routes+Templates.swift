import CommHubDomain
import CommHubWire
import CommHubEngine
import Foundation
import Hummingbird

extension CommHubAPI {
    func registerTemplates(_ api: RouterGroup<APIContext>) {
        api.get("templates") { request, context in
            _ = try require(.readThreads, context)
            let brands = try request.enumSet("business_entity", TemplateBusinessEntity.self)
            let channels = try request.enumSet("channel_type", TemplateChannelType.self)
            let categories = try request.enumSet("template_category", TemplateCategory.self)
            // A boolean like every other query flag: `is_active=yes` is refused, not read as false.
            let activeOnly: Bool? = request.query("is_active") == nil ? nil : try request.boolQuery("is_active")
            let list = await supervisor.state.templates.values.filter { t in
                (brands.isEmpty || brands.contains(t.businessEntity) || (t.businessEntity == .all && !brands.isEmpty))
                    && (channels.isEmpty || channels.contains(t.channelType) || t.channelType == .any)
                    && (categories.isEmpty || categories.contains(t.templateCategory))
                    && (activeOnly == nil || t.isActive == activeOnly)
            }.sorted { $0.templateName < $1.templateName }
            return try JSONResponse.list(list, next: nil)
        }
        api.get("templates/:id") { _, context in
            _ = try require(.readThreads, context)
            let id = try context.id("id", TemplateKind.self)
            guard let t = await supervisor.state.templates[id] else { throw APIError.notFound("no template with id \(id)") }
            return try JSONResponse.make(t)
        }
        api.post("templates") { request, context in
            _ = try require(.writeTemplates, context)
            let body = try await request.decodeJSON(TemplateRequest.self, context: context)
            guard let name = body.templateName, !name.isEmpty, let category = body.templateCategory,
                  let channel = body.channelType, let message = body.messageTemplate, !message.isEmpty else {
                throw APIError(.unprocessableContent, "invalid", "template_name, template_category, channel_type and message_template are required")
            }
            let used = TemplateRenderer.variables(in: message) + (body.subjectTemplate.map(TemplateRenderer.variables) ?? [])
                + (body.htmlTemplate.map(TemplateRenderer.variables) ?? [])
            let t = Template(templateName: name, templateCategory: category, channelType: channel,
                             subjectTemplate: body.subjectTemplate, messageTemplate: message, htmlTemplate: body.htmlTemplate,
                             variables: body.variables ?? Array(NSOrderedSet(array: used)) as? [String] ?? used,
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
            guard let before = await supervisor.state.templates[id] else { throw APIError.notFound("no template with id \(id)") }
            let body = try await request.decodeJSON(TemplateRequest.self, context: context)
            var t = before
            if let v = body.templateName { t.templateName = v }
            if let v = body.templateCategory { t.templateCategory = v }
            if let v = body.channelType { t.channelType = v }
            if let v = body.subjectTemplate { t.subjectTemplate = v }
            if let v = body.messageTemplate { t.messageTemplate = v }
            if let v = body.htmlTemplate { t.htmlTemplate = v }
            if let v = body.variables { t.variables = v }
            if let v = body.businessEntity { t.businessEntity = v }
            if let v = body.isActive { t.isActive = v }
            if let v = body.whatsappTemplateName { t.whatsappTemplateName = v.isEmpty ? nil : v }
            if let v = body.whatsappLanguage { t.whatsappLanguage = v.isEmpty ? nil : v }
            try Self.validateWhatsApp(t)
            guard !t.templateName.isEmpty, !t.messageTemplate.isEmpty else {
                throw APIError(.unprocessableContent, "invalid", "template_name and message_template must not be empty")
            }
            try await durable(try await supervisor.upsertTemplate(t))
            try await audit(context, "template.update", "template", id.description, before: before, after: t)
            return try JSONResponse.make(t)
        }
        api.post("templates/:id/render") { request, context in
            _ = try require(.readThreads, context)
            let id = try context.id("id", TemplateKind.self)
            guard let t = await supervisor.state.templates[id] else { throw APIError.notFound("no template with id \(id)") }
            let body = try await request.decodeJSON(RenderRequest.self, context: context)
            let m = TemplateRenderer.render(t.messageTemplate, variables: body.variables)
            let s = t.subjectTemplate.map { TemplateRenderer.render($0, variables: body.variables) }
            let h = t.htmlTemplate.map { TemplateRenderer.render($0, variables: body.variables) }
            let missing = Array(Set(m.missing + (s?.missing ?? []) + (h?.missing ?? []))).sorted()
            return try JSONResponse.make(JSONValue.object([
                "subject": s.map { .string($0.text) } ?? .null,
                "message": .string(m.text),
                "html": h.map { .string($0.text) } ?? .null,
                "missing_variables": .array(missing.map(JSONValue.string)),
            ]))
        }
    }

    /// A template approved at Meta names its template and language; Meta's names are
    /// lowercase letters, digits and underscores, at most 512 characters.
    static func validateWhatsApp(_ t: Template) throws {
        guard let name = t.whatsappTemplateName else {
            if t.whatsappLanguage != nil {
                throw APIError(.unprocessableContent, "invalid", "whatsapp_language needs whatsapp_template_name")
            }
            return
        }
        guard (1...512).contains(name.utf8.count), name.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }) else {
            throw APIError(.unprocessableContent, "invalid", "whatsapp_template_name must be Meta's template name: lowercase letters, digits and _")
        }
        guard let lang = t.whatsappLanguage, (2...8).contains(lang.count), lang.allSatisfy({ $0.isLetter || $0 == "_" }) else {
            throw APIError(.unprocessableContent, "invalid", "whatsapp_language must be the approved translation's code, such as nl or en_US")
        }
        guard t.channelType == .whatsappBusiness || t.channelType == .any else {
            throw APIError(.unprocessableContent, "invalid", "only whatsapp_business (or any) templates can name a WhatsApp template")
        }
    }
}
