import Foundation

/// The engine-wide workflow configuration, set with `PUT
/// /api/workflow-settings` and journaled: the default business hours, the
/// SLA targets and ladder, the response targets of internal tasks, the rules
/// that make tasks by themselves, and the daily digest. Every key is
/// optional; a missing key takes its default, so `{}` is the default
/// configuration. Unknown keys are refused (a typo must not be a silent no-op).
///
/// ```json
/// {"business_hours": "08:30-17:30",
///  "sla": {"email_business_hours": 4, "chat_business_hours": 1, "escalated_minutes": 30,
///          "reminder_fractions": [0.75, 0.9], "executive_after_overdue_hours": 24},
///  "task_response_hours": {"critical": 1, "urgent": 2, "high": 4, "normal": 8, "low": 24},
///  "task_rules": {"follow_up": {"enabled": true, "after_business_hours": 24},
///                 "callback": {"enabled": true},
///                 "escalate": {"enabled": true},
///                 "overdue_reminder": {"enabled": true}},
///  "digest": {"enabled": false, "channel_id": null}}
/// ```
public struct WorkflowSettings: Codable, Sendable, Hashable {
    /// The default business hours (`BusinessHoursSpec`); nil: Mon–Fri
    /// 08:30–17:30 Europe/Amsterdam with the Dutch holidays. Channels
    /// (`configuration.business_hours`) and teams (`business_hours`) override it.
    public var businessHours: JSONValue?
    public var sla: SLATargets
    /// Business hours an internal task without a due date gets, by priority;
    /// a priority left out gets none.
    public var taskResponseHours: [String: Double]
    public var taskRules: TaskRules
    public var digest: DigestSettings

    public init(businessHours: JSONValue? = nil, sla: SLATargets = SLATargets(),
                taskResponseHours: [String: Double] = WorkflowSettings.defaultTaskResponseHours,
                taskRules: TaskRules = TaskRules(), digest: DigestSettings = DigestSettings()) {
        self.businessHours = businessHours; self.sla = sla; self.taskResponseHours = taskResponseHours
        self.taskRules = taskRules; self.digest = digest
    }

    public static let defaultTaskResponseHours: [String: Double] = ["critical": 1, "urgent": 2, "high": 4, "normal": 8, "low": 24]

    /// The SLA targets (the defaults are ChargeCars': mail 4 business hours,
    /// WhatsApp and SMS 1, escalated threads 30 wall-clock minutes).
    public struct SLATargets: Codable, Sendable, Hashable {
        public var emailBusinessHours: Double
        public var chatBusinessHours: Double
        public var escalatedMinutes: Double
        public var reminderFractions: [Double]
        public var executiveAfterOverdueHours: Double

        public init(emailBusinessHours: Double = 4, chatBusinessHours: Double = 1, escalatedMinutes: Double = 30,
                    reminderFractions: [Double] = [0.75, 0.9], executiveAfterOverdueHours: Double = 24) {
            self.emailBusinessHours = emailBusinessHours; self.chatBusinessHours = chatBusinessHours
            self.escalatedMinutes = escalatedMinutes; self.reminderFractions = reminderFractions
            self.executiveAfterOverdueHours = executiveAfterOverdueHours
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case emailBusinessHours, chatBusinessHours, escalatedMinutes, reminderFractions, executiveAfterOverdueHours
        }

        public init(from decoder: any Decoder) throws {
            try refuseUnknownKeys(decoder, CodingKeys.allCases.map(\.stringValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = SLATargets()
            emailBusinessHours = try c.decodeIfPresent(Double.self, forKey: .emailBusinessHours) ?? d.emailBusinessHours
            chatBusinessHours = try c.decodeIfPresent(Double.self, forKey: .chatBusinessHours) ?? d.chatBusinessHours
            escalatedMinutes = try c.decodeIfPresent(Double.self, forKey: .escalatedMinutes) ?? d.escalatedMinutes
            reminderFractions = try c.decodeIfPresent([Double].self, forKey: .reminderFractions) ?? d.reminderFractions
            executiveAfterOverdueHours = try c.decodeIfPresent(Double.self, forKey: .executiveAfterOverdueHours)
                ?? d.executiveAfterOverdueHours
        }
    }

    /// One task-generation rule: on or off, with its threshold where it has one.
    public struct TaskRule: Codable, Sendable, Hashable {
        public var enabled: Bool
        /// `follow_up`: business hours our message waits for an answer before the task is made.
        public var afterBusinessHours: Double?

        public init(enabled: Bool = true, afterBusinessHours: Double? = nil) {
            self.enabled = enabled; self.afterBusinessHours = afterBusinessHours
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case enabled, afterBusinessHours }

        public init(from decoder: any Decoder) throws {
            try refuseUnknownKeys(decoder, CodingKeys.allCases.map(\.stringValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
            afterBusinessHours = try c.decodeIfPresent(Double.self, forKey: .afterBusinessHours)
        }
    }

    /// The rules that make tasks by themselves (see the README, "Tasks that make themselves").
    public struct TaskRules: Codable, Sendable, Hashable {
        /// A `follow_up` task when our message waited `after_business_hours` (default 24) for an
        /// answer and the thread is `waiting_customer`.
        public var followUp: TaskRule
        /// A `callback` task from a logged phone call with `callback_requested: true`.
        public var callback: TaskRule
        /// An `escalate` task from the ladder's manager escalation.
        public var escalate: TaskRule
        /// `task.reminder` events (kind `overdue`) when a task passes its due moment.
        public var overdueReminder: TaskRule

        public init(followUp: TaskRule = TaskRule(afterBusinessHours: 24), callback: TaskRule = TaskRule(),
                    escalate: TaskRule = TaskRule(), overdueReminder: TaskRule = TaskRule()) {
            self.followUp = followUp; self.callback = callback; self.escalate = escalate; self.overdueReminder = overdueReminder
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case followUp, callback, escalate, overdueReminder }

        public init(from decoder: any Decoder) throws {
            try refuseUnknownKeys(decoder, CodingKeys.allCases.map(\.stringValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = TaskRules()
            followUp = try c.decodeIfPresent(TaskRule.self, forKey: .followUp) ?? d.followUp
            if followUp.afterBusinessHours == nil { followUp.afterBusinessHours = d.followUp.afterBusinessHours }
            callback = try c.decodeIfPresent(TaskRule.self, forKey: .callback) ?? d.callback
            escalate = try c.decodeIfPresent(TaskRule.self, forKey: .escalate) ?? d.escalate
            overdueReminder = try c.decodeIfPresent(TaskRule.self, forKey: .overdueReminder) ?? d.overdueReminder
        }
    }

    /// The daily e-mail digest: sent through `channel_id` (an `email_outlook`
    /// channel) to each person with a `daily_digest_hour`, at that local hour.
    public struct DigestSettings: Codable, Sendable, Hashable {
        public var enabled: Bool
        public var channelID: ChannelID?

        public init(enabled: Bool = false, channelID: ChannelID? = nil) { self.enabled = enabled; self.channelID = channelID }

        enum CodingKeys: String, CodingKey, CaseIterable { case enabled, channelID }

        public init(from decoder: any Decoder) throws {
            try refuseUnknownKeys(decoder, CodingKeys.allCases.map(\.stringValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? false
            channelID = try c.decodeIfPresent(ChannelID.self, forKey: .channelID)
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case businessHours, sla, taskResponseHours, taskRules, digest }

    public init(from decoder: any Decoder) throws {
        try refuseUnknownKeys(decoder, CodingKeys.allCases.map(\.stringValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let v = try c.decodeIfPresent(JSONValue.self, forKey: .businessHours)
        businessHours = v == .null ? nil : v
        sla = try c.decodeIfPresent(SLATargets.self, forKey: .sla) ?? SLATargets()
        taskResponseHours = try c.decodeIfPresent([String: Double].self, forKey: .taskResponseHours)
            ?? Self.defaultTaskResponseHours
        taskRules = try c.decodeIfPresent(TaskRules.self, forKey: .taskRules) ?? TaskRules()
        digest = try c.decodeIfPresent(DigestSettings.self, forKey: .digest) ?? DigestSettings()
    }

    /// Bounds of the numbers (hours and minutes) a setting may hold.
    public static let hoursRange: ClosedRange<Double> = 0.05...720
    public static let escalatedMinutesRange: ClosedRange<Double> = 1...1440
    public static let executiveHoursRange: ClosedRange<Double> = 0.5...720

    /// What is wrong with these settings (each message names the key), empty when nothing.
    public func problems() -> [String] {
        var out: [String] = []
        if let b = businessHours {
            do { _ = try BusinessHoursSpec.calendar(b, path: "business_hours") } catch { out.append(error.description) }
        }
        func hours(_ v: Double, _ path: String, _ range: ClosedRange<Double> = Self.hoursRange) {
            if !v.isFinite || !range.contains(v) { out.append("\(path) must be from \(range.lowerBound) to \(range.upperBound)") }
        }
        hours(sla.emailBusinessHours, "sla.email_business_hours")
        hours(sla.chatBusinessHours, "sla.chat_business_hours")
        hours(sla.escalatedMinutes, "sla.escalated_minutes", Self.escalatedMinutesRange)
        hours(sla.executiveAfterOverdueHours, "sla.executive_after_overdue_hours", Self.executiveHoursRange)
        if let p = SLALadder.problem(reminderFractions: sla.reminderFractions) { out.append("sla." + p) }
        for (k, v) in taskResponseHours.sorted(by: { $0.key < $1.key }) {
            if Priority(rawValue: k) == nil {
                out.append("task_response_hours.\(k) is not a priority; use: \(Priority.allowedValues.joined(separator: ", "))")
            } else {
                hours(v, "task_response_hours.\(k)")
            }
        }
        if let h = taskRules.followUp.afterBusinessHours { hours(h, "task_rules.follow_up.after_business_hours") }
        for (name, rule) in [("callback", taskRules.callback), ("escalate", taskRules.escalate),
                             ("overdue_reminder", taskRules.overdueReminder)] where rule.afterBusinessHours != nil {
            out.append("task_rules.\(name) has no after_business_hours (only follow_up has)")
        }
        if digest.enabled, digest.channelID == nil { out.append("digest.channel_id is needed when the digest is enabled") }
        return out
    }

    /// The calendar `business_hours` describes (the standard one when unset or unreadable).
    public var calendar: BusinessCalendar {
        businessHours.flatMap { try? BusinessHoursSpec.calendar($0) } ?? .standard
    }

    /// The SLA policy these settings make.
    public var policy: SLAPolicy {
        SLAPolicy(calendar: calendar, emailBusinessHours: sla.emailBusinessHours, chatBusinessHours: sla.chatBusinessHours,
                  escalatedMinutes: sla.escalatedMinutes, reminderFractions: sla.reminderFractions,
                  executiveAfterOverdueHours: sla.executiveAfterOverdueHours)
    }

    /// The response target of a task of `priority`, in business hours (nil: none).
    public func taskResponseHours(for priority: Priority) -> Double? { taskResponseHours[priority.rawValue] }
}

/// Refuses keys of the object being decoded that are not in `known`
/// (camelCase, as the contract decoder and the journal both present them).
func refuseUnknownKeys(_ decoder: any Decoder, _ known: [String]) throws {
    let c = try decoder.container(keyedBy: SettingsKey.self)
    for key in c.allKeys where !known.contains(key.stringValue) {
        throw DecodingError.dataCorrupted(.init(
            codingPath: c.codingPath + [key],
            debugDescription: "unknown key; allowed: \(known.map(ContractJSON.snake).joined(separator: ", "))"))
    }
}

struct SettingsKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
