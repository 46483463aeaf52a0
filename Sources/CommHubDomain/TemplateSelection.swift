import Foundation

extension Brand {
    /// The brand as customers read it (`{{brand.name}}`).
    public var displayName: String {
        switch self {
        case .chargecars: "ChargeCars"
        case .laderthuis: "LaderThuis"
        case .meterkastthuis: "MeterkastThuis"
        case .zaptecshop: "ZaptecShop"
        case .ratioshop: "RatioShop"
        }
    }
}

/// The variables a template renders with when it is used on a thread: the
/// thread's customer, order (with its lines when the order has them), the
/// agent who sends, the brand and the channel, both as objects
/// (`{{customer.name}}`, `{{#order.lines}}…{{/order.lines}}`) and as the
/// flat names templates used before (`{{customer_name}}`, `{{order_number}}`,
/// `{{agent_name}}`, `{{thread_subject}}`, `{{brand_name}}`). A value the
/// thread does not have is null, so a template that needs it fails naming
/// it, and a template that can do without tests it with a section.
public enum TemplateContext {
    /// The objects of the context and their fields. A dotted name into one
    /// of them (`{{customer.nmae}}`) that is not listed here is refused when
    /// the template is saved.
    public static let fields: [String: [String]] = [
        "customer": ["name", "email", "phone"],
        "order": ["number", "lines"],
        "agent": ["name", "email", "phone"],
        "brand": ["key", "name"],
        "channel": ["type", "name"],
        "thread": ["id", "subject", "type", "priority"],
    ]
    /// Fields of one element of `order.lines`.
    public static let lineFields = ["description", "quantity", "price"]
    /// Fields that are lists: used only as sections.
    public static let listFields: Set<String> = ["order.lines"]

    public static func values(thread: ThreadHeader?, customer: Customer?, order: Order?, agent: Contact?,
                              channel: Channel?, brand: Brand?) -> [String: JSONValue] {
        func text(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        var v: [String: JSONValue] = [:]
        v["customer"] = customer.map { c in
            .object(["name": .string(c.name), "email": text(c.emails.first?.description), "phone": text(c.phones.first?.e164)])
        } ?? .null
        v["customer_name"] = text(customer?.name)
        v["order"] = order.map { o in
            .object(["number": .string(o.orderNumber), "lines": .array((o.lines ?? []).map(line))])
        } ?? .null
        v["order_number"] = text(order?.orderNumber)
        v["agent"] = agent.map { a in .object(["name": .string(a.name), "email": text(a.email), "phone": text(a.phone)]) } ?? .null
        v["agent_name"] = text(agent?.name)
        let brand = brand ?? thread?.businessEntity
        v["brand"] = brand.map { b in .object(["key": .string(b.rawValue), "name": .string(b.displayName)]) } ?? .null
        v["brand_name"] = text(brand?.displayName)
        v["channel"] = channel.map { c in .object(["type": .string(c.channelType.rawValue), "name": .string(c.channelName)]) } ?? .null
        v["thread"] = thread.map { t in
            .object(["id": .string(t.id.description), "subject": .string(t.threadSubject), "type": .string(t.threadType.rawValue),
                     "priority": .string(t.priority.rawValue)])
        } ?? .null
        v["thread_subject"] = text(thread?.threadSubject)
        return v
    }

    /// The text of a variable (`customer_name`, `customer.name`) for a
    /// parameter that is not rendered by Mustache (a WhatsApp template's body
    /// parameters): nil when it is absent, null, blank, a list or an object.
    public static func text(_ name: String, in values: [String: JSONValue]) -> String? {
        var current: JSONValue? = .object(values)
        for part in name.split(separator: ".", omittingEmptySubsequences: false) {
            current = current?.objectValue?[String(part)]
        }
        switch current {
        case .string(let s)? where !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty: return s
        case .number(let d)?: return d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        default: return nil
        }
    }

    static func line(_ l: OrderLine) -> JSONValue {
        .object(["description": .string(l.description), "quantity": l.quantity.map { .number(Double($0)) } ?? .null,
                 "price": l.price.map(JSONValue.string) ?? .null])
    }
}

/// Which templates may be used on a thread: a template for the thread's
/// brand or `all`, for the channel the message goes out on or `any`.
/// Anything else is refused, with a sentence saying why.
public enum TemplateFit {
    /// The template channel type of a channel (internal tasks and tickets
    /// take internal_comment templates; a phone call only `any` ones).
    public static func templateChannel(_ c: ChannelType) -> TemplateChannelType? {
        switch c {
        case .emailOutlook: .emailOutlook
        case .whatsappBusiness: .whatsappBusiness
        case .sms: .sms
        case .internalComment, .internalTask, .internalTicket: .internalComment
        case .phoneCall: nil
        }
    }

    public static func brandFits(_ t: Template, _ brand: Brand?) -> Bool {
        t.businessEntity == .all || brand.map { t.businessEntity.rawValue == $0.rawValue } ?? false
    }

    public static func channelFits(_ t: Template, _ channelType: ChannelType) -> Bool {
        t.channelType == .any || templateChannel(channelType) == t.channelType
    }

    /// Why `t` cannot be used on a thread of `brand` for a message on `channelType`, or nil.
    public static func refusal(_ t: Template, brand: Brand?, channelType: ChannelType) -> String? {
        if !brandFits(t, brand) {
            let thread = brand.map { "this thread is \($0.rawValue)'s" } ?? "this thread has no brand"
            return "template '\(t.templateName)' is for \(t.businessEntity.rawValue); \(thread): "
                + "choose a template for \(brand?.rawValue ?? "all") or all brands"
        }
        if !channelFits(t, channelType) {
            let fitting = templateChannel(channelType).map { "\($0.rawValue) or any" } ?? "any"
            return "template '\(t.templateName)' is for \(t.channelType.rawValue) messages; this message goes out as "
                + "\(channelType.rawValue): choose a \(fitting) template"
        }
        return nil
    }

    /// Active templates of `category` that fit, most specific first: the
    /// brand's own for this channel, the brand's for any channel, all
    /// brands' for this channel, all brands' for any; by name within each.
    public static func candidates(_ all: [Template], category: TemplateCategory?, brand: Brand?,
                                  channelType: ChannelType) -> [Template] {
        all.filter { t in
            t.isActive && (category == nil || t.templateCategory == category)
                && brandFits(t, brand) && channelFits(t, channelType)
        }.sorted { a, b in
            let (sa, sb) = (specificity(a), specificity(b))
            return sa != sb ? sa > sb : (a.templateName, a.id) < (b.templateName, b.id)
        }
    }

    /// The template to use for `category` (an auto-response, say): the most specific that fits.
    public static func best(_ all: [Template], category: TemplateCategory, brand: Brand?, channelType: ChannelType) -> Template? {
        candidates(all, category: category, brand: brand, channelType: channelType).first
    }

    /// 2 for the brand's own template, plus 1 for a channel's own: brand counts before channel.
    static func specificity(_ t: Template) -> Int {
        (t.businessEntity == .all ? 0 : 2) + (t.channelType == .any ? 0 : 1)
    }
}

/// One ranked suggestion, with the facts its rank comes from.
public struct TemplateSuggestion: Sendable, Hashable {
    public var template: Template
    /// 0: the category of the thread's type; 1: `follow_up` while the thread
    /// waits for the customer; 2: any other category.
    public var categoryTier: Int
    /// Real sends of the template in similar threads (same type and brand).
    public var similarUses: Int
    public var brandExact: Bool
    public var channelExact: Bool
}

/// Ranks the templates an agent may use on a thread. Order, each key
/// deciding only between equals of the ones before:
///
/// 1. category: the category of the thread's type first
///    (`TemplateSuggester.category(for:)`), then `follow_up` while the
///    thread is `waiting_customer`, then the rest;
/// 2. what agents used in similar threads: more real sends in threads of the
///    same thread type and brand first;
/// 3. specificity: the brand's own template before an `all` one, then the
///    channel's own before an `any` one;
/// 4. `usage_count` (real sends anywhere), more first;
/// 5. template name, then id (a stable order).
///
/// Only templates that fit (`TemplateFit`: brand, channel) and are active
/// are suggested; `auto_response` templates are the engine's, never suggested.
public enum TemplateSuggester {
    public static func category(for type: ThreadType) -> TemplateCategory {
        switch type {
        case .customerSupport, .partnerInquiry: .customerService
        case .installationCoordination: .installationScheduling
        case .technicalIssue: .technicalSupport
        case .salesInquiry: .salesInquiry
        case .complaint: .complaintResponse
        case .internalTask, .projectDiscussion: .internalNotification
        }
    }

    public static func rank(_ templates: [Template], threadType: ThreadType, status: ThreadStatus, brand: Brand?,
                            channelType: ChannelType, similarUses: [TemplateID: Int]) -> [TemplateSuggestion] {
        let primary = category(for: threadType)
        let suggestions = templates.filter {
            $0.isActive && $0.templateCategory != .autoResponse
                && TemplateFit.brandFits($0, brand) && TemplateFit.channelFits($0, channelType)
        }.map { t in
            TemplateSuggestion(template: t,
                               categoryTier: t.templateCategory == primary ? 0
                                   : (t.templateCategory == .followUp && status == .waitingCustomer ? 1 : 2),
                               similarUses: similarUses[t.id] ?? 0,
                               brandExact: t.businessEntity != .all, channelExact: t.channelType != .any)
        }
        return suggestions.sorted { a, b in
            if a.categoryTier != b.categoryTier { return a.categoryTier < b.categoryTier }
            if a.similarUses != b.similarUses { return a.similarUses > b.similarUses }
            let (sa, sb) = (TemplateFit.specificity(a.template), TemplateFit.specificity(b.template))
            if sa != sb { return sa > sb }
            if a.template.usageCount != b.template.usageCount { return a.template.usageCount > b.template.usageCount }
            return (a.template.templateName, a.template.id) < (b.template.templateName, b.template.id)
        }
    }
}

/// What makes two threads similar for template suggestions: the same thread type and brand.
public struct TemplateSimilarity: Codable, Sendable, Hashable {
    public var threadType: ThreadType
    public var brand: Brand?
    public init(threadType: ThreadType, brand: Brand?) { self.threadType = threadType; self.brand = brand }
}
