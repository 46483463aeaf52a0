import CommHubDomain
import Foundation

/// The supervisor's workflow state, part of `EngineState`: the journaled
/// workflow settings, each channel's and team's business calendar (parsed
/// once, when the channel or team is stored), and which task reminders went
/// out. Changed only by `apply`, live and on replay alike.
///
/// The escalation ladder's own state is not here: it belongs to each thread
/// (`ThreadState.sla`), so a thread's ladder replays with its thread.
public struct WorkflowState: Sendable {
    /// Set by `PUT /api/workflow-settings`; nil until then (the engine's `EngineConfiguration.sla` applies).
    public var settings: WorkflowSettings?
    var channelCalendars: [ChannelID: BusinessCalendar] = [:]
    var teamCalendars: [TeamID: BusinessCalendar] = [:]
    /// Reminders sent per task, for its due moment at the time.
    public var taskReminders: [TaskID: TaskReminderRecord] = [:]
    /// Threads whose status is `escalated` (the daily digest lists them without visiting every thread).
    public var escalated: Set<ThreadID> = []

    public init() {}

    mutating func apply(_ event: EngineEvent) {
        switch event {
        case .workflowSettingsChanged(let s):
            settings = s
        case .channelUpserted(let c):
            channelCalendars[c.id] = c.configuration["business_hours"].flatMap { try? BusinessHoursSpec.calendar($0) }
        case .teamUpserted(let t):
            teamCalendars[t.id] = t.businessHours.flatMap { try? BusinessHoursSpec.calendar($0) }
        case .threadOpened(let h):
            if h.status == .escalated { escalated.insert(h.id) }
        case .threadChanged(let t, let c, _):
            if let st = c.status { if st == .escalated { escalated.insert(t) } else { escalated.remove(t) } }
        case .taskReminderFired(let task, let key, let due, _, _):
            if taskReminders[task]?.due != due { taskReminders[task] = TaskReminderRecord(due: due, fired: []) }
            taskReminders[task]!.fired.insert(key)
        default:
            return
        }
    }

    /// The calendar of a channel's own `business_hours`, if it sets them.
    public func calendar(channel: ChannelID?) -> BusinessCalendar? { channel.flatMap { channelCalendars[$0] } }
    /// The calendar of a team's own `business_hours`, if it sets them.
    public func calendar(team: TeamID?) -> BusinessCalendar? { team.flatMap { teamCalendars[$0] } }
}

/// The reminders of one task that went out for its due moment `due`.
public struct TaskReminderRecord: Codable, Sendable, Hashable {
    public var due: Date
    /// `before:<minutes>`, `overdue`.
    public var fired: Set<String>

    public func hasFired(_ key: String, due: Date) -> Bool { self.due == due && fired.contains(key) }
}

/// The workflow part of a snapshot's supervisor image.
public struct WorkflowImage: Codable, Sendable {
    public var settings: WorkflowSettings?
    public var taskReminders: [TaskID: TaskReminderRecord]

    init(_ w: WorkflowState) {
        settings = w.settings
        taskReminders = w.taskReminders
    }
}
