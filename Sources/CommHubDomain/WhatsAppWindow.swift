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
