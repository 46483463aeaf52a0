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
            guard await supervisor.template(id) != nil else { throw APIError.notFound("no template with id \(id)") }
            let body = try await request.decodeJSON(TemplateRequest.self, context: context)
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
            _ = try require(.readThreads, context)
            let id = try context.id("id", TemplateKind.self)
            guard let t = await supervisor.template(id) else { throw APIError.notFound("no template with id \(id)") }
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

    static func validateWhatsApp(_ t: Template) throws {
        if let problem = WhatsAppTemplateRules.problem(t) { throw APIError(.unprocessableContent, "invalid", problem) }
    }
}
