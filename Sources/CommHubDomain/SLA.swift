import Foundation

/// Opening hours in one time zone, Monday to Sunday, plus closed dates.
/// Business-hours arithmetic works in local wall time so that daylight
/// saving changes move the opening hour with the clock, as people expect.
public struct BusinessCalendar: Sendable, Hashable, Codable {
    /// Opening interval of one weekday in minutes after local midnight.
    public struct Hours: Sendable, Hashable, Codable {
        public var opensAt: Int
        public var closesAt: Int
        public init(opensAt: Int, closesAt: Int) { self.opensAt = opensAt; self.closesAt = closesAt }
    }

    public var timeZoneIdentifier: String
    /// Index 0 = Sunday … 6 = Saturday (Gregorian weekday - 1); nil = closed.
    public var week: [Hours?]
    /// Closed dates as `YYYY-MM-DD` in the calendar's time zone.
    public var closedDates: Set<String>

    public init(timeZoneIdentifier: String = "Europe/Amsterdam", week: [Hours?]? = nil, closedDates: Set<String> = []) {
        self.timeZoneIdentifier = timeZoneIdentifier
        let workday = Hours(opensAt: 8 * 60 + 30, closesAt: 17 * 60 + 30)
        self.week = week ?? [nil, workday, workday, workday, workday, workday, nil]
        self.closedDates = closedDates
    }

    /// ChargeCars' default: Mon–Fri 08:30–17:30 Europe/Amsterdam.
    public static let standard = BusinessCalendar()

    var calendar: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: timeZoneIdentifier) ?? TimeZone(identifier: "UTC")!
        return c
    }

    /// The moment `seconds` of business time have passed after `start`.
    public func adding(businessSeconds seconds: TimeInterval, to start: Date) -> Date {
        precondition(week.contains { $0 != nil }, "a calendar needs at least one open day")
        let cal = calendar
        var remaining = seconds
        var cursor = start
        // At most a few years of days; guards against a calendar closed forever by closedDates.
        for _ in 0..<2000 {
            let day = cal.startOfDay(for: cursor)
            if let hours = openHours(on: day, cal) {
                let opens = cal.date(byAdding: .minute, value: hours.opensAt, to: day)!
                let closes = cal.date(byAdding: .minute, value: hours.closesAt, to: day)!
                let from = max(cursor, opens)
                if from < closes {
                    let available = closes.timeIntervalSince(from)
                    if remaining <= available { return from.addingTimeInterval(remaining) }
                    remaining -= available
                }
            }
            cursor = cal.date(byAdding: .day, value: 1, to: day)!
        }
        return cursor
    }

    /// Business seconds between two moments (0 when `end` ≤ `start`).
    public func businessSeconds(from start: Date, to end: Date) -> TimeInterval {
        guard end > start else { return 0 }
        let cal = calendar
        var total: TimeInterval = 0
        var cursor = start
        while cursor < end {
            let day = cal.startOfDay(for: cursor)
            if let hours = openHours(on: day, cal) {
                let opens = cal.date(byAdding: .minute, value: hours.opensAt, to: day)!
                let closes = cal.date(byAdding: .minute, value: hours.closesAt, to: day)!
                let from = max(cursor, opens)
                let to = min(end, closes)
                if to > from { total += to.timeIntervalSince(from) }
            }
            cursor = cal.date(byAdding: .day, value: 1, to: day)!
        }
        return total
    }

    private func openHours(on day: Date, _ cal: Calendar) -> Hours? {
        let weekday = cal.component(.weekday, from: day) - 1
        guard let hours = week[weekday] else { return nil }
        let c = cal.dateComponents([.year, .month, .day], from: day)
        let key = String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        return closedDates.contains(key) ? nil : hours
    }
}

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
