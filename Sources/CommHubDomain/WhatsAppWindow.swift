import Foundation

/// WhatsApp's customer-service window: free-form messages may be sent for
/// 24 hours after the customer's last message on that number; outside it
/// only approved templates. Decided here, before anything is sent, so a
/// refused message never reaches Meta (which would answer 131047).
public enum WhatsAppWindow {
    public static let length: TimeInterval = 24 * 3600

    /// When the window of `channel` in these messages ends: 24 h after the
    /// customer's last incoming message on that channel (nil: never opened).
    public static func endsAt(_ messages: [MessageHeader], channel: ChannelID) -> Date? {
        messages.last { $0.messageType == .incoming && $0.channelID == channel }.map { $0.createdAt.addingTimeInterval(length) }
    }

    public static func isOpen(_ messages: [MessageHeader], channel: ChannelID, at now: Date) -> Bool {
        endsAt(messages, channel: channel).map { now < $0 } ?? false
    }

    /// The templates that may be sent outside the window for a brand: active,
    /// approved at Meta (they carry a WhatsApp template name), for WhatsApp or
    /// any channel, for the brand or all brands.
    public static func approvedTemplates(_ all: [Template], brand: Brand?) -> [Template] {
        all.filter { t in
            t.isActive && t.whatsappTemplateName != nil
                && (t.channelType == .whatsappBusiness || t.channelType == .any)
                && (t.businessEntity == .all || brand.map { t.businessEntity.rawValue == $0.rawValue } ?? false)
        }.sorted { $0.templateName < $1.templateName }
    }
}

/// What a template that names an approved WhatsApp template must hold.
public enum WhatsAppTemplateRules {
    /// Why the template's WhatsApp fields are not acceptable, or nil. Meta's
    /// names are lowercase letters, digits and underscores, at most 512.
    public static func problem(_ t: Template) -> String? {
        guard let name = t.whatsappTemplateName else {
            return t.whatsappLanguage == nil ? nil : "whatsapp_language needs whatsapp_template_name"
        }
        guard (1...512).contains(name.utf8.count), name.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }) else {
            return "whatsapp_template_name must be Meta's template name: lowercase letters, digits and _"
        }
        guard let lang = t.whatsappLanguage, (2...8).contains(lang.count), lang.allSatisfy({ $0.isLetter || $0 == "_" }) else {
            return "whatsapp_language must be the approved translation's code, such as nl or en_US"
        }
        guard t.channelType == .whatsappBusiness || t.channelType == .any else {
            return "only whatsapp_business (or any) templates can name a WhatsApp template"
        }
        return nil
    }
}
