import Foundation

/// The response-time policy: mail 4 business hours, WhatsApp (and SMS) 1
/// business hour, escalated threads 30 wall-clock minutes; a channel's
/// `response_sla_hours` overrides the default of its type. Reminders at 75%
/// and 90%, manager escalation at the deadline, executive alert 24 h overdue.
public struct SLAPolicy: Sendable, Hashable, Codable {
    public var calendar: BusinessCalendar
    public var emailBusinessHours: Double
    public var chatBusinessHours: Double
    public var escalatedMinutes: Double
    public var reminderFractions: [Double]
    public var executiveAfterOverdueHours: Double

    public init(calendar: BusinessCalendar = .standard, emailBusinessHours: Double = 4, chatBusinessHours: Double = 1,
                escalatedMinutes: Double = 30, reminderFractions: [Double] = [0.75, 0.9],
                executiveAfterOverdueHours: Double = 24) {
        self.calendar = calendar; self.emailBusinessHours = emailBusinessHours
        self.chatBusinessHours = chatBusinessHours; self.escalatedMinutes = escalatedMinutes
        self.reminderFractions = reminderFractions; self.executiveAfterOverdueHours = executiveAfterOverdueHours
    }

    /// Business hours allowed for a first answer on a channel type, or nil
    /// when the channel has no response SLA (internal channels, phone).
    public func responseHours(for type: ChannelType, channelOverride: Double?) -> Double? {
        if let o = channelOverride, o > 0 { return o }
        switch type {
        case .emailOutlook: return emailBusinessHours
        case .whatsappBusiness, .sms: return chatBusinessHours
        case .phoneCall, .internalComment, .internalTask, .internalTicket: return nil
        }
    }

    /// When an answer is due for a customer message that arrived at `start`.
    public func responseDue(from start: Date, channelType: ChannelType, channelOverride: Double?, escalated: Bool) -> Date? {
        if escalated { return start.addingTimeInterval(escalatedMinutes * 60) }
        guard let hours = responseHours(for: channelType, channelOverride: channelOverride) else { return nil }
        return calendar.adding(businessSeconds: hours * 3600, to: start)
    }
}
