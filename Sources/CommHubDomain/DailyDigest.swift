import Foundation

/// The daily e-mail digest of one person's pending work: their open
/// threads (overdue ones first), the tasks due today or overdue, and the
/// escalated threads they should know about. Pure: the engine gathers the
/// items and sends the text through the outbox.
public struct DailyDigest: Sendable, Hashable {
    /// A thread line.
    public struct ThreadItem: Sendable, Hashable {
        public var id: ThreadID
        public var subject: String
        public var priority: Priority
        public var status: ThreadStatus
        public var responseDueAt: Date?

        public init(id: ThreadID, subject: String, priority: Priority, status: ThreadStatus, responseDueAt: Date?) {
            self.id = id; self.subject = subject; self.priority = priority; self.status = status; self.responseDueAt = responseDueAt
        }
    }

    /// A task line.
    public struct TaskItem: Sendable, Hashable {
        public var id: TaskID
        public var title: String
        public var taskType: TaskType
        public var priority: Priority
        public var dueDate: String?
        public var dueTime: String?
        public var overdue: Bool

        public init(id: TaskID, title: String, taskType: TaskType, priority: Priority, dueDate: String?, dueTime: String?,
                    overdue: Bool) {
            self.id = id; self.title = title; self.taskType = taskType; self.priority = priority
            self.dueDate = dueDate; self.dueTime = dueTime; self.overdue = overdue
        }
    }

    public var personName: String
    /// The local date the digest is for (`YYYY-MM-DD`).
    public var date: String
    public var openThreads: [ThreadItem]
    public var overdueThreads: [ThreadItem]
    public var escalatedThreads: [ThreadItem]
    public var tasksDue: [TaskItem]
    /// Lines listed per section at most; the rest is counted.
    public static let maxLinesPerSection = 25

    public init(personName: String, date: String, openThreads: [ThreadItem], overdueThreads: [ThreadItem],
                escalatedThreads: [ThreadItem], tasksDue: [TaskItem]) {
        self.personName = personName; self.date = date; self.openThreads = openThreads
        self.overdueThreads = overdueThreads; self.escalatedThreads = escalatedThreads; self.tasksDue = tasksDue
    }

    /// `Dagelijks overzicht 2026-11-27`: the mail's subject, and how the engine knows the day's digest went.
    public static func subject(date: String) -> String { "Dagelijks overzicht \(date)" }
    public var subject: String { Self.subject(date: date) }

    /// The mail's text (Dutch, as the team reads it).
    public func text(calendar: BusinessCalendar) -> String {
        var lines = ["Goedemorgen \(personName),", "",
                     "Je overzicht voor \(date): \(openThreads.count) open gesprek(ken), \(overdueThreads.count) over tijd, "
                        + "\(tasksDue.count) taak/taken vandaag of over tijd, \(escalatedThreads.count) geëscaleerd.", ""]
        func section(_ title: String, _ items: [String]) {
            lines.append("\(title) (\(items.count))")
            if items.isEmpty { lines.append("  — niets") }
            for item in items.prefix(Self.maxLinesPerSection) { lines.append("  • \(item)") }
            if items.count > Self.maxLinesPerSection { lines.append("  … en nog \(items.count - Self.maxLinesPerSection)") }
            lines.append("")
        }
        func due(_ d: Date?) -> String {
            d.map { " — antwoord uiterlijk \(calendar.localDate(of: $0)) \(BusinessHoursSpec.clock(calendar.localMinutes(of: $0)))" } ?? ""
        }
        func thread(_ t: ThreadItem) -> String { "[\(t.priority.rawValue)] \(t.subject)\(due(t.responseDueAt)) (\(t.id))" }
        section("Over tijd", overdueThreads.map(thread))
        section("Geëscaleerd", escalatedThreads.map(thread))
        section("Taken vandaag of over tijd", tasksDue.map { t in
            let when = [t.dueDate, t.dueTime].compactMap { $0 }.joined(separator: " ")
            return "[\(t.priority.rawValue)] \(t.title) (\(t.taskType.rawValue)\(when.isEmpty ? "" : ", " + when)\(t.overdue ? ", over tijd" : ""))"
        })
        section("Open gesprekken", openThreads.map(thread))
        lines.append("Dit overzicht komt elke dag; zet daily_digest_hour op null om het uit te zetten.")
        return lines.joined(separator: "\n")
    }
}
