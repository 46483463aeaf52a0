import Foundation

/// When an internal task is due, whether it is overdue or due today, and
/// when its reminders go. Task dates are local dates of the engine's
/// calendar (Europe/Amsterdam): `due_date` `YYYY-MM-DD` with an optional
/// `due_time` `HH:MM`; a task without a time is due at the end of its day.
public enum TaskSchedule {
    /// Statuses in which a task still waits for someone.
    public static func isPending(_ s: TaskStatus) -> Bool { s == .open || s == .inProgress || s == .waiting }

    /// The moment the task is due, or nil when it has no due date.
    public static func dueMoment(_ t: InternalTask, calendar: BusinessCalendar) -> Date? {
        guard let day = t.dueDate else { return nil }
        let minutes = t.dueTime.flatMap(BusinessHoursSpec.minutes) ?? 24 * 60
        return calendar.instant(localDate: day, minutes: minutes)
    }

    /// Pending and past its due moment.
    public static func isOverdue(_ t: InternalTask, at now: Date, calendar: BusinessCalendar) -> Bool {
        guard isPending(t.status), let due = dueMoment(t, calendar: calendar) else { return false }
        return due <= now
    }

    /// Its due date is today's local date.
    public static func isDueToday(_ t: InternalTask, at now: Date, calendar: BusinessCalendar) -> Bool {
        t.dueDate != nil && t.dueDate == calendar.localDate(of: now)
    }

    /// `due_date` and `due_time` for a moment (local).
    public static func dueFields(_ moment: Date, calendar: BusinessCalendar) -> (date: String, time: String) {
        (calendar.localDate(of: moment), BusinessHoursSpec.clock(calendar.localMinutes(of: moment)))
    }
}

/// A task's `reminder_settings`, read: `{"minutes_before": 30}` or
/// `{"minutes_before": [60, 15]}` (also spelt `before_minutes`) sends a `task.reminder` that many minutes
/// before the task is due; `"overdue": false` turns off the reminder when it
/// becomes overdue (on by default, and engine-wide through the
/// `overdue_reminder` task rule). Each reminder goes once per due moment: a
/// task given a new due date reminds again.
public struct TaskReminderSettings: Sendable, Hashable {
    public var beforeMinutes: [Int]
    public var overdue: Bool

    public init(beforeMinutes: [Int] = [], overdue: Bool = true) {
        self.beforeMinutes = beforeMinutes.sorted(by: >); self.overdue = overdue
    }

    /// Most reminders before one due moment, and the furthest ahead (30 days).
    public static let maxReminders = 5
    public static let minutesRange: ClosedRange<Int> = 1...43_200

    /// Reads settings, refusing what it cannot use with a message naming the key.
    public init(_ settings: [String: JSONValue]?) throws(BusinessHoursSpec.Invalid) {
        var before: [Int] = []
        var overdue = true
        for (rawKey, value) in settings ?? [:] {
            let key = ContractJSON.snake(rawKey)
            switch key {
            case "before_minutes", "minutes_before":
                let list: [JSONValue]
                switch value {
                case .array(let a): list = a
                case .null: list = []
                default: list = [value]
                }
                guard list.count <= Self.maxReminders else {
                    throw .init("reminder_settings.\(key)", "holds at most \(Self.maxReminders) reminders")
                }
                for v in list {
                    guard case .number(let n) = v, n == n.rounded(), n >= Double(Self.minutesRange.lowerBound),
                          n <= Double(Self.minutesRange.upperBound) else {
                        throw .init("reminder_settings.\(key)",
                                    "must be whole minutes from \(Self.minutesRange.lowerBound) to \(Self.minutesRange.upperBound), or a list of them")
                    }
                    before.append(Int(n))
                }
            case "overdue":
                guard case .bool(let b) = value else { throw .init("reminder_settings.overdue", "must be true or false") }
                overdue = b
            default:
                // reminder_settings is the owner's free-form JSON: a client may keep its own keys
                // there (kept, not read). Only the keys the engine reads are checked.
                continue
            }
        }
        self.init(beforeMinutes: Array(Set(before)), overdue: overdue)
    }

    /// The reminders of a task due at `due`, as (kind key, moment) in time
    /// order: `before:<minutes>` and `overdue`. The key names a reminder
    /// within one due moment.
    public func reminders(due: Date, overdueEnabled: Bool) -> [(key: String, at: Date)] {
        var out = beforeMinutes.map { (key: "before:\($0)", at: due.addingTimeInterval(-Double($0) * 60)) }
        if overdue && overdueEnabled { out.append((key: "overdue", at: due)) }
        return out.sorted { $0.at < $1.at }
    }
}
