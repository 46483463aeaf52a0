import CommHubDomain
import Foundation

/// What one pass over the due workflow timers did.
public struct TimerRun: Sendable, Hashable {
    public var timersDue = 0
    public var slaSteps = 0
    public var tasksCreated = 0
    public var taskReminders = 0
    public var digests = 0
    /// Whether more timers were due than one pass takes (`Supervisor.maxTimersPerTurn`).
    public var more = false

    public static func + (a: TimerRun, b: TimerRun) -> TimerRun {
        TimerRun(timersDue: a.timersDue + b.timersDue, slaSteps: a.slaSteps + b.slaSteps,
                 tasksCreated: a.tasksCreated + b.tasksCreated, taskReminders: a.taskReminders + b.taskReminders,
                 digests: a.digests + b.digests, more: b.more)
    }
}

/// What a thread actor needs to fire a ladder step: everything the
/// supervisor knows (calendar, people, rules), decided before the call.
struct SLAFireContext: Sendable {
    var policy: SLAPolicy
    var ladder: SLALadder
    var recipients: [SLAStep: [ContactID]]
    /// Who the step went to, in words, for the timeline.
    var recipientText: [SLAStep: String]
    /// What the manager escalation does beyond the thread itself (reassignment), in words.
    var escalationNote: String
}

// The SLA clock and the escalation ladder (README "SLA model"). The ladder's
// state is each thread's (`ThreadState.sla`, journaled through the thread
// actor); the supervisor keeps only the timers, derived from the threads.
extension Supervisor {
    /// Most timers handled in one turn of the supervisor; the rest wait for
    /// the next turn (the ticking service runs again at once), so a restore
    /// with a million overdue threads never blocks the engine in one go.
    public static let maxTimersPerTurn = 2_000

    // MARK: Policy and calendars

    /// The SLA targets in force: the journaled workflow settings, or the
    /// engine's configuration until someone sets them.
    var basePolicy: SLAPolicy { state.workflow.settings?.policy ?? configuration.sla }

    /// The task rules in force (defaults until the workflow settings are set).
    var taskRules: WorkflowSettings.TaskRules { state.workflow.settings?.taskRules ?? WorkflowSettings.TaskRules() }

    /// The calendar of a thread's deadlines: its channel's `business_hours`,
    /// else its team's, else the engine's default.
    func calendar(channel: ChannelID?, team: TeamID?) -> BusinessCalendar {
        state.workflow.calendar(channel: channel) ?? state.workflow.calendar(team: team) ?? basePolicy.calendar
    }

    /// The policy for deadlines of a thread on `channel` in `team`.
    func slaPolicy(channel: ChannelID?, team: TeamID?) -> SLAPolicy {
        var p = basePolicy
        p.calendar = calendar(channel: channel, team: team)
        return p
    }

    /// The channel whose message began the current wait (its calendar and rules apply).
    static func waitChannel(_ s: ThreadState) -> ChannelID? {
        guard let start = s.header.awaitingResponseSince else { return nil }
        return s.messages.first { $0.messageType == .incoming && $0.createdAt >= start }?.channelID
            ?? s.messages.last { $0.messageType == .incoming }?.channelID
    }

    /// The thread's routing rule's `escalation_after_hours` and `escalation_to`
    /// (channel rules, then the global ones; per thread type when a rule says so).
    func escalationRule(_ h: ThreadHeader, channel: ChannelID?) -> (afterHours: Double?, to: String?) {
        let d = RoutingPlanner.plan(subject: nil, body: "", requestedType: h.threadType, requestedPriority: h.priority,
                                    channelRules: channel.flatMap { state.channels[$0]?.autoAssignmentRules },
                                    globalRules: state.rules)
        return (d.escalationAfterHours, d.escalationTo)
    }

    /// The earliest any ladder step can come after a run starts, for timers
    /// scheduled without calendar arithmetic: the smallest reminder fraction
    /// of the smallest budget, or the smallest `escalation_after_hours`.
    func minimumLadderOffset() -> TimeInterval {
        Self.minimumLadderOffset(policy: basePolicy, channels: state.channels.values, rules: state.rules)
    }

    static func minimumLadderOffset(policy: SLAPolicy, channels: some Sequence<Channel>, rules: AutoAssignmentRules) -> TimeInterval {
        var hours = [policy.emailBusinessHours, policy.chatBusinessHours, policy.escalatedMinutes / 60]
        var escalation: [Double] = rules.escalationAfterHours.map { [$0] } ?? []
        for c in channels {
            if let o = c.responseSlaHours, o > 0 { hours.append(o) }
            if let e = c.autoAssignmentRules?.escalationAfterHours { escalation.append(e) }
        }
        let fraction = min(policy.reminderFractions.first ?? 1, 1)
        return max(0, min(fraction * (hours.min() ?? 1), escalation.min() ?? .infinity) * 3600)
    }

    // MARK: Timers after changes

    /// Keeps a thread's timers in step with events just recorded on it (no
    /// calendar arithmetic here: a lower bound goes in, and the exact moment
    /// is computed when it comes up).
    func updateTimers(_ thread: ThreadID, after events: [SequencedEvent]) {
        for e in events {
            switch e.event {
            case .messageAdded(let m, _, let due) where m.threadID == thread:
                switch m.messageType {
                case .incoming:
                    timers.cancel(.followUp(thread))
                    if due != nil { timers.scheduleNoLater(.sla(thread), at: m.createdAt.addingTimeInterval(minimumLadderOffset())) }
                case .outgoing where m.channelType.isExternal:
                    timers.cancel(.sla(thread))
                    if taskRules.followUp.enabled, let h = taskRules.followUp.afterBusinessHours {
                        timers.schedule(.followUp(thread), at: m.createdAt.addingTimeInterval(h * 3600))
                    }
                default:
                    break
                }
            case .threadChanged(let t, let c, let at) where t == thread:
                if let s = c.status, !s.isOpen {
                    timers.cancel(.sla(thread))
                    timers.cancel(.followUp(thread))
                } else if c.responseDueAt != nil {
                    timers.scheduleNoLater(.sla(thread), at: at)
                }
                if c.status == .waitingCustomer, taskRules.followUp.enabled {
                    // Waiting for the customer only now: the follow-up rule looks (and computes its moment) at once.
                    timers.scheduleNoLater(.followUp(thread), at: at)
                }
            case .slaClockSet(let t, let p, let at) where t == thread && p?.isPaused != true:
                timers.scheduleNoLater(.sla(thread), at: at)
            default:
                continue
            }
        }
    }

    /// The timers of a restored engine, from its state alone (no actors yet).
    static func initialTimers(state: EngineState, threads: [ThreadID: ThreadState], configuration: EngineConfiguration,
                              now: Date) -> TimerQueue {
        let policy = state.workflow.settings?.policy ?? configuration.sla
        let offset = minimumLadderOffset(policy: policy, channels: state.channels.values, rules: state.rules)
        let followUp = state.workflow.settings?.taskRules.followUp ?? WorkflowSettings.TaskRules().followUp
        var items: [(TimerKey, Date)] = []
        for (id, s) in threads {
            if let clock = s.slaClock {
                let run = clock.progress?.run
                let start = run?.startedAt ?? clock.waitStart
                items.append((.sla(id), start.addingTimeInterval(max(0, offset - (run?.consumedSeconds ?? 0)))))
            }
            if followUp.enabled, let hours = followUp.afterBusinessHours, s.header.status == .waitingCustomer,
               let last = s.messages.last(where: { $0.channelType.isExternal && $0.messageType != .systemNotification }),
               last.messageType == .outgoing {
                items.append((.followUp(id), last.createdAt.addingTimeInterval(hours * 3600)))
            }
        }
        for t in state.tasks.values where TaskSchedule.isPending(t.status) && t.dueDate != nil {
            items.append((.task(t.id), .distantPast))  // computed exactly when it comes up
        }
        for c in state.contacts.values where c.dailyDigestHour != nil {
            items.append((.digest(c.id), .distantPast))
        }
        var q = TimerQueue()
        q.load(items)
        return q
    }

    // MARK: Running timers

    /// Handles the timers due now: up to `limit` of them, each once.
    public func runTimers(limit: Int = Supervisor.maxTimersPerTurn) async -> TimerRun {
        let now = clock.now()
        let due = timers.popDue(at: now, limit: max(1, limit))
        var run = TimerRun(timersDue: due.count, more: due.count >= limit)
        for key in due {
            switch key {
            case .sla(let t): run.slaSteps += await fireLadder(t, now: now)
            case .followUp(let t): run.tasksCreated += await followUpDue(t, now: now)
            case .task(let t): run.taskReminders += taskRemindersDue(t, now: now)
            case .digest(let c): run.digests += await digestDue(c, now: now)
            }
        }
        return run
    }

    /// Runs every timer due now, turn after turn (each turn bounded by
    /// `maxTimersPerTurn`, with other work let in between).
    public func runDueTimers() async -> TimerRun {
        var total = TimerRun()
        repeat {
            total = total + (await runTimers())
            if total.more { await Task.yield() }
        } while total.more
        return total
    }

    /// The number of pending workflow timers (for `stats` and tests).
    public var timerCount: Int { timers.count }

    /// When `key` is due next, if it is scheduled (tests, the admin socket).
    public func timerMoment(_ key: TimerKey) -> Date? { timers.moment(of: key) }

    /// Fires the ladder steps of a thread that are due, in order, each in
    /// its own journal append with the step first; schedules the next one.
    func fireLadder(_ thread: ThreadID, now: Date) async -> Int {
        guard let actor = actor(thread) else { return 0 }
        var fired = 0
        for _ in SLAStep.allCases {
            let s = await actor.state
            guard let clock = s.slaClock else { return fired }
            let context = fireContext(for: s)
            guard let next = context.ladder.next(clock, calendar: context.policy.calendar) else { return fired }
            guard next.at <= now else {
                timers.schedule(.sla(thread), at: next.at)
                return fired
            }
            do {
                let events = try await actor.fireSLAStep(next.step, waitStart: clock.waitStart, now: now, context: context)
                guard !events.isEmpty else { continue }  // the thread changed meanwhile: look again
                project(events)
                var all = events
                if next.step == .managerEscalation { all += escalationEffects(s, events: events, now: now) }
                updateTimers(thread, after: all)
                await notifyAgents(all)
                fired += 1
                logger.info("sla step fired", metadata: ["thread.id": "\(thread)", "sla.step": "\(next.step.rawValue)"])
            } catch {
                logger.error("sla step could not be journaled; retrying in a minute",
                             metadata: ["thread.id": "\(thread)", "error": "\(ErrorText.describe(error))"])
                timers.schedule(.sla(thread), at: now.addingTimeInterval(60))
                return fired
            }
        }
        // Every pass of the loop was used (a step skipped because the thread changed meanwhile):
        // look again on the next turn rather than lose the thread's timer.
        timers.scheduleNoLater(.sla(thread), at: now)
        return fired
    }

    /// Calendar, ladder and recipients for a thread's ladder, from the supervisor's state.
    func fireContext(for s: ThreadState) -> SLAFireContext {
        let h = s.header
        let channel = Self.waitChannel(s)
        let team = state.board.team[h.id] ?? h.assignedTeamID
        let policy = slaPolicy(channel: channel, team: team)
        let rule = escalationRule(h, channel: channel)
        let ladder = SLALadder(reminderFractions: policy.reminderFractions,
                               executiveAfterOverdueHours: policy.executiveAfterOverdueHours,
                               escalationAfterHours: rule.afterHours)
        let assignee = state.board.assignee[h.id]
        let leaders = teamLeaders(team)
        let managers = people(withRole: .manager, preferring: team)
        let target = escalationTarget(rule.to, thread: h.id, team: team)
        var recipients: [SLAStep: [ContactID]] = [:]
        recipients[.reminder75] = assignee.map { [$0] } ?? leaders
        recipients[.teamLeader90] = leaders.isEmpty ? managers : leaders
        recipients[.managerEscalation] = unique(managers + (target.person.map { [$0] } ?? []) + (assignee.map { [$0] } ?? []))
        recipients[.executive24h] = people(withRole: .executive, preferring: nil)
        var text: [SLAStep: String] = [:]
        for (step, list) in recipients { text[step] = names(list) }
        return SLAFireContext(policy: policy, ladder: ladder, recipients: recipients, recipientText: text,
                              escalationNote: target.note)
    }

    /// A team's leaders: its `leader_id`, else its members with the team_leader role.
    func teamLeaders(_ team: TeamID?) -> [ContactID] {
        guard let team else { return [] }
        if let l = state.teams[team]?.leaderID, state.contacts[l] != nil { return [l] }
        return (state.board.teams[team]?.members ?? []).filter { state.contacts[$0]?.role == .teamLeader }
    }

    /// People of a role: those in `team` when there are any, else everyone with it; by name.
    func people(withRole role: ContactRole, preferring team: TeamID?) -> [ContactID] {
        let all = state.contacts.values.filter { $0.role == role }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
        if let team {
            let inTeam = all.filter { $0.teams.contains(team) }
            if !inTeam.isEmpty { return inTeam.map(\.id) }
        }
        return all.map(\.id)
    }

    func names(_ ids: [ContactID]) -> String {
        let list = ids.compactMap { state.contacts[$0]?.name }
        return list.isEmpty ? "nobody (no such person is configured)" : list.joined(separator: ", ")
    }

    func unique(_ ids: [ContactID]) -> [ContactID] {
        var seen = Set<ContactID>()
        return ids.filter { seen.insert($0).inserted }
    }

    /// Where the manager escalation sends a thread: `escalation_to` names a
    /// team (id or name: the least-loaded free member, else its queue), a
    /// person (contact id) or a role (`manager`, `team_leader`, `executive`,
    /// `admin`: the least-loaded such person, in the thread's team first).
    func escalationTarget(_ reference: String?, thread: ThreadID, team: TeamID?) -> (team: TeamID?, person: ContactID?, note: String) {
        guard let reference, !reference.isEmpty else { return (nil, nil, "The routing rule names no escalation_to; the assignment stays.") }
        if let t = state.board.teamID(named: reference) {
            let person = state.board.choose(team: t, needs: state.board.needsOf(thread))
            let name = state.teams[t]?.name ?? reference
            return (t, person, "Reassigned to team \(name)" + (person.flatMap { state.contacts[$0]?.name }.map { " (\($0))" } ?? " (in its queue: nobody free)") + ".")
        }
        if let id = ContactID(reference), let c = state.contacts[id] {
            return (team, id, "Reassigned to \(c.name).")
        }
        let roleName = reference.lowercased().split(separator: "_").last.map(String.init) == "manager" ? "manager" : reference.lowercased()
        if let role = ContactRole(rawValue: roleName) ?? ContactRole(rawValue: reference.lowercased()) {
            let candidates = people(withRole: role, preferring: team)
            let person = candidates.min { (state.board.agents[$0]?.load ?? 0, 0) < (state.board.agents[$1]?.load ?? 0, 1) }
            if let person, let c = state.contacts[person] {
                return (state.board.team[thread] ?? team, person, "Reassigned to \(c.name) (\(role.rawValue)).")
            }
            return (nil, nil, "escalation_to '\(reference)': nobody has the role \(role.rawValue); the assignment stays.")
        }
        return (nil, nil, "escalation_to '\(reference)' names no team, person or role; the assignment stays.")
    }

    /// After the thread recorded a manager escalation: the reassignment and
    /// the `escalate` task (one id per wait, so it is made once).
    func escalationEffects(_ before: ThreadState, events: [SequencedEvent], now: Date) -> [SequencedEvent] {
        let h = before.header
        let team = state.board.team[h.id] ?? h.assignedTeamID
        let target = escalationTarget(escalationRule(h, channel: Self.waitChannel(before)).to, thread: h.id, team: team)
        var out: [EngineEvent] = []
        if target.team != nil || target.person != nil {
            let t = target.team ?? team
            if t != state.board.team[h.id] || target.person != state.board.assignee[h.id] {
                out.append(.threadAssigned(thread: h.id, team: t, agent: target.person, reason: "escalation: \(target.note)"))
            }
        }
        let rules = taskRules
        let waitStart = h.awaitingResponseSince ?? now
        let taskID = Self.derivedTaskID("escalate", h.id.description, waitStart.timeIntervalSince1970.description)
        if rules.escalate.enabled, state.tasks[taskID] == nil {
            let managers = people(withRole: .manager, preferring: team)
            let owner = target.person ?? managers.first ?? state.board.assignee[h.id]
            let due = Self.newDeadline(in: events) ?? now.addingTimeInterval(basePolicy.escalatedMinutes * 60)
            let cal = calendar(channel: nil, team: team)
            let fields = TaskSchedule.dueFields(due, calendar: cal)
            let deadline = h.responseDueAt.map { " (due \(Self.localText($0, cal)))" } ?? ""
            out.append(.taskUpserted(InternalTask(
                id: taskID, taskTitle: "Escalated: \(h.threadSubject)",
                taskDescription: "The customer's message waits for an answer past its deadline\(deadline). "
                    + "Answer the customer or hand the thread to someone who can. \(target.note)",
                taskType: .escalate, priority: Self.raised(h.priority), assignedToContactID: owner, threadID: h.id,
                orderID: h.orderID, dueDate: fields.date, dueTime: fields.time, createdAt: now)))
        }
        guard !out.isEmpty else { return [] }
        do {
            return try commit(out)
        } catch {
            logger.error("escalation effects not journaled", metadata: ["thread.id": "\(h.id)", "error": "\(ErrorText.describe(error))"])
            return []
        }
    }

    static func newDeadline(in events: [SequencedEvent]) -> Date? {
        for e in events {
            if case .threadChanged(_, let c, _) = e.event, let d = c.responseDueAt { return d }
        }
        return nil
    }

    /// One priority step up (critical stays critical).
    static func raised(_ p: Priority) -> Priority {
        switch p {
        case .low: .normal
        case .normal: .high
        case .high: .urgent
        case .urgent, .critical: .critical
        }
    }

    /// `2026-11-25 14:30` in the calendar's time zone.
    static func localText(_ d: Date, _ cal: BusinessCalendar) -> String {
        "\(cal.localDate(of: d)) \(BusinessHoursSpec.clock(cal.localMinutes(of: d)))"
    }

    /// A stable id for a task the engine makes by itself, from what it is
    /// about, so that making it again (after a restart, on a repeated timer)
    /// finds the one already made.
    static func derivedTaskID(_ parts: String...) -> TaskID {
        var bytes = [UInt8](repeating: 0, count: 16)
        // FNV-1a over the parts, spread over 16 bytes (two 64-bit lanes).
        var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x8422_2325_cbf2_9ce4
        for p in parts {
            for byte in p.utf8 {
                a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
                b = (b ^ UInt64(byte)) &* 0x100_0000_01b3 &+ 0x9e37_79b9_7f4a_7c15
            }
            a = (a ^ 0x1f) &* 0x100_0000_01b3
        }
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: a >> (8 * UInt64(i)))
            bytes[8 + i] = UInt8(truncatingIfNeeded: b >> (8 * UInt64(i)))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8 (custom)
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        let uuid = UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        return TaskID(uuid)
    }
}

extension ThreadActor {
    /// Fires ladder step `step` of the wait that began at `waitStart`, if it
    /// is still that wait's next step and due at `now`: the `slaStepFired`
    /// record first, then the timeline notice, then — for the manager
    /// escalation — status, priority, the new deadline and the clock, all in
    /// one journal append. Empty when the thread changed meanwhile.
    func fireSLAStep(_ step: SLAStep, waitStart: Date, now: Date, context: SLAFireContext) throws -> [SequencedEvent] {
        guard let clock = state.slaClock, clock.waitStart == waitStart,
              let next = context.ladder.next(clock, calendar: context.policy.calendar), next.step == step, next.at <= now
        else { return [] }
        let h = state.header
        let cal = context.policy.calendar
        let recipients = context.recipients[step] ?? []
        var events: [EngineEvent] = [.slaStepFired(thread: h.id, step: step, deadline: clock.due, recipients: recipients, at: now)]
        let due = Supervisor.localText(clock.due, cal)
        let who = context.recipientText[step] ?? ""
        var text: String
        switch step {
        case .reminder75:
            text = "SLA reminder (\(Int((context.ladder.reminderFractions.first ?? 0.75) * 100))% of the response time used): "
                + "the answer is due at \(due) (\(cal.timeZoneIdentifier)). Sent to \(who)."
        case .teamLeader90:
            let f = context.ladder.reminderFractions.dropFirst().first ?? 0.9
            text = "SLA alert to the team leader (\(Int(f * 100))% used): the answer is due at \(due). Sent to \(who)."
        case .managerEscalation:
            let newDue = now.addingTimeInterval(context.policy.escalatedMinutes * 60)
            let raised = Supervisor.raised(h.priority)
            var change = ThreadChange(responseDueAt: newDue)
            if h.status != .escalated { change.status = .escalated }
            if raised != h.priority { change.priority = raised }
            var p = clock.progress ?? SLAProgress(waitStart: waitStart)
            p.fired |= step.bit
            if clock.due <= now, p.missedDeadline == nil { p.missedDeadline = clock.due }
            p.run = .init(startedAt: now, budgetSeconds: context.policy.escalatedMinutes * 60, wallClock: true)
            p.pausedRemainingSeconds = nil
            events.append(.threadChanged(thread: h.id, change: change, at: now))
            events.append(.slaClockSet(thread: h.id, progress: p, at: now))
            text = "Escalated to the manager: the response deadline \(due) "
                + (clock.due <= now ? "passed unanswered" : "is near (escalation_after_hours)")
                + ". Priority \(h.priority.rawValue) → \(raised.rawValue); new deadline \(Supervisor.localText(newDue, cal)). "
                + "\(context.escalationNote) Sent to \(who)."
        case .executive24h:
            let missed = clock.progress?.missedDeadline ?? clock.due
            text = "Executive alert: the customer has waited \(Int(context.ladder.executiveAfterOverdueHours)) hours past the "
                + "deadline \(Supervisor.localText(missed, cal)). Sent to \(who)."
        }
        let notice = MessageHeader(threadID: h.id, channelID: nil, channelType: .internalComment,
                                   messageType: .systemNotification, deliveryStatus: .delivered, createdAt: now)
        let body = MessageBody(messageContent: text, metadata: [
            "kind": .string("sla"), "step": .string(step.rawValue), "deadline": .string(clock.due.iso8601),
            "recipients": .array(recipients.map { .string($0.description) }),
        ])
        // The notice goes after the step and before the rest: the step record is always first.
        events.insert(.messageAdded(header: notice, body: body, responseDueAt: nil), at: 1)
        return try record(events)
    }
}
