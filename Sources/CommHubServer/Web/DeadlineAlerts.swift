import CommHubDomain
import CommHubEngine
import Foundation

/// SLA alerts and task reminders for Web Push: what fell due on the
/// engine's clock (real or simulated) since the last look. No engine event
/// marks "this thread is now overdue" — time passing changes nothing in the
/// journal — so `PushNotifier` looks every `checkIntervalSeconds` and asks
/// this for the notes of the interval `(after, upTo]`.
///
/// - A thread whose response falls due alerts its assignee; while nobody has
///   it, its team's leaders (they are the ones who hand it out).
/// - A task reminds its assignee `taskReminderLeadSeconds` before it is due.
///
/// Bound: at most `maxAlertsPerCheck` notes per look. A clock that jumps (a
/// restore of an old backup, a simulated day) would otherwise flood every
/// phone; the rest is logged as skipped, the inbox still shows it all.
public struct DeadlineAlerts: Sendable {
    let engine: Engine
    /// Real seconds between two looks at the engine's clock.
    public static let checkIntervalSeconds: Double = 15
    /// A task's reminder comes this long before it is due.
    public static let taskReminderLeadSeconds: Double = 15 * 60
    public static let maxAlertsPerCheck = 100
    /// Tasks without a time are due at the start of the working day.
    static let defaultDueTime = "09:00"
    /// The company's day and time zone (due dates are Amsterdam dates).
    static let zone = TimeZone(identifier: "Europe/Amsterdam")!

    /// The moment a task is due: its date at its time (09:00 without one) in
    /// Amsterdam; nil without a date or for a date or time that is not one.
    public static func dueMoment(date: String?, time: String?) -> Date? {
        guard let date else { return nil }
        let d = date.split(separator: "-").compactMap { Int($0) }
        let t = (time ?? defaultDueTime).split(separator: ":").compactMap { Int($0) }
        guard d.count == 3, t.count >= 2, (1...9_999).contains(d[0]), (1...12).contains(d[1]), (1...31).contains(d[2]),
              (0...23).contains(t[0]), (0...59).contains(t[1]) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = DateComponents(year: d[0], month: d[1], day: d[2], hour: t[0], minute: t[1])
        guard let moment = calendar.date(from: parts), calendar.component(.day, from: moment) == d[2] else { return nil }
        return moment
    }

    /// Whether a task's reminder moment lies in `(after, upTo]`.
    public static func remindsBetween(_ task: InternalTask, after: Date, upTo: Date) -> Bool {
        guard task.status != .completed, task.status != .cancelled, task.assignedToContactID != nil,
              let due = dueMoment(date: task.dueDate, time: task.dueTime) else { return false }
        let remind = due.addingTimeInterval(-taskReminderLeadSeconds)
        return remind > after && remind <= upTo
    }

    /// The notes for `(after, upTo]`, and how many were left out by the bound.
    public func notes(after: Date, upTo: Date) async -> (notes: [(ContactID, PushNote)], skipped: Int) {
        guard upTo > after else { return ([], 0) }
        let s = engine.supervisor
        var out: [(ContactID, PushNote)] = []
        let due = engine.inbox.fallingDue(after: after, upTo: upTo, limit: Self.maxAlertsPerCheck)
        var skipped = due.total - due.threads.count
        let people = await s.contactList()
        for d in due.threads {
            let subject = await s.thread(d.thread)?.header.threadSubject ?? ""
            let note = PushNote(title: "Response overdue: \(subject)", body: "The response time of this thread has passed.",
                                url: "/#/thread/\(d.thread)", tag: "sla-\(d.thread)", urgent: true)
            if let a = d.assignee {
                out.append((a, note))
            } else if let team = d.team {
                for p in people where p.teams.contains(team) && p.role == .teamLeader { out.append((p.id, note)) }
            }
        }
        let tasks = await s.tasks { Self.remindsBetween($0, after: after, upTo: upTo) }
            .sorted { ($0.dueDate ?? "", $0.dueTime ?? "", $0.id) < ($1.dueDate ?? "", $1.dueTime ?? "", $1.id) }
        let room = max(0, Self.maxAlertsPerCheck - out.count)
        skipped += max(0, tasks.count - room)
        for task in tasks.prefix(room) {
            guard let a = task.assignedToContactID else { continue }
            out.append((a, PushNote(title: "Task due soon: \(task.taskTitle)",
                                    body: [task.dueDate, task.dueTime].compactMap { $0 }.joined(separator: " "),
                                    url: task.threadID.map { "/#/thread/\($0)" } ?? "/#/tasks", tag: "task-\(task.id)", urgent: false)))
        }
        return (out, skipped)
    }
}
