import Foundation

/// The rungs of the escalation ladder, in order. The names are the
/// contract's (`sla.alert` `step`); the first two are at the policy's
/// `reminderFractions` (75% and 90% by default) whatever those are set to.
public enum SLAStep: String, ContractEnum {
    /// A reminder to the assignee.
    case reminder75 = "reminder_75"
    /// An alert to the team leader.
    case teamLeader90 = "team_leader_90"
    /// At the deadline: escalated, priority up a step, an `escalate` task,
    /// reassignment per the rule, a new 30-minute deadline.
    case managerEscalation = "manager_escalation"
    /// Long overdue: an alert to the executives.
    case executive24h = "executive_24h"

    public var ordinal: Int { Self.allCases.firstIndex(of: self)! }
    public var bit: UInt8 { 1 << UInt8(ordinal) }
}

/// What one customer wait's response clock holds beyond the plain case.
///
/// A *wait* runs from a customer's message that finds nobody owing them an
/// answer until our answer (or resolution). In the plain case its clock
/// started at the message and is due at the thread's `response_due_at`, in
/// business time; nothing else needs storing, so most threads carry no
/// `SLAProgress`. It exists once something happened in the wait: a ladder
/// step fired, the clock was paused (`waiting_customer`) or resumed, or the
/// deadline became a wall-clock one (escalation).
public struct SLAProgress: Codable, Sendable, Hashable {
    /// The wait it belongs to: the thread's `awaiting_response_since` when
    /// the wait began. Progress of an earlier wait is ignored.
    public var waitStart: Date
    /// Ladder steps fired in this wait, one bit per `SLAStep`.
    public var fired: UInt8
    /// The current run of the clock, when it is not the plain one.
    public var run: Run?
    /// Seconds left (business or wall, as the run counts) while paused; nil while running.
    public var pausedRemainingSeconds: Double?
    /// The first deadline of this wait that passed unanswered: the executive alert counts from it.
    public var missedDeadline: Date?

    /// A run of the clock: since `startedAt`, against `budgetSeconds` of
    /// which `consumedSeconds` were used before (a resumed clock).
    public struct Run: Codable, Sendable, Hashable {
        public var startedAt: Date
        public var budgetSeconds: Double
        public var consumedSeconds: Double
        /// Wall-clock seconds (an escalated thread's 30 minutes) instead of business time.
        public var wallClock: Bool

        public init(startedAt: Date, budgetSeconds: Double, consumedSeconds: Double = 0, wallClock: Bool) {
            self.startedAt = startedAt; self.budgetSeconds = budgetSeconds
            self.consumedSeconds = consumedSeconds; self.wallClock = wallClock
        }

        /// When `elapsed` seconds of the budget are used: `startedAt` when they already were.
        public func moment(elapsed: Double, calendar: BusinessCalendar) -> Date {
            let left = elapsed - consumedSeconds
            guard left > 0 else { return startedAt }
            return wallClock ? startedAt.addingTimeInterval(left) : calendar.adding(businessSeconds: left, to: startedAt)
        }

        /// Seconds of the budget left at `now` (never below zero).
        public func remaining(at now: Date, calendar: BusinessCalendar) -> Double {
            let used = wallClock ? max(0, now.timeIntervalSince(startedAt)) : calendar.businessSeconds(from: startedAt, to: now)
            return max(0, budgetSeconds - consumedSeconds - used)
        }

        /// The deadline of this run.
        public func due(calendar: BusinessCalendar) -> Date { moment(elapsed: budgetSeconds, calendar: calendar) }
    }

    public init(waitStart: Date, fired: UInt8 = 0, run: Run? = nil, pausedRemainingSeconds: Double? = nil,
                missedDeadline: Date? = nil) {
        self.waitStart = waitStart; self.fired = fired; self.run = run
        self.pausedRemainingSeconds = pausedRemainingSeconds; self.missedDeadline = missedDeadline
    }

    public func hasFired(_ step: SLAStep) -> Bool { fired & step.bit != 0 }
    public var isPaused: Bool { pausedRemainingSeconds != nil }
}

/// A wait's clock as the ladder sees it: when it began, its live deadline,
/// and its progress (nil in the plain case).
public struct SLAClock: Sendable, Hashable {
    public var waitStart: Date
    public var due: Date
    public var progress: SLAProgress?

    public init(waitStart: Date, due: Date, progress: SLAProgress?) {
        self.waitStart = waitStart; self.due = due; self.progress = progress
    }

    /// The running clock's run: the stored one, or the plain one (from the
    /// wait's start to `due` in business time).
    public func run(calendar: BusinessCalendar) -> SLAProgress.Run {
        progress?.run ?? SLAProgress.Run(startedAt: waitStart, budgetSeconds: calendar.businessSeconds(from: waitStart, to: due),
                                         wallClock: false)
    }
}

/// When each step of the escalation ladder is due, for one wait. Pure: the
/// engine's timers ask it for the next step and fire what is due.
///
/// Rules (each step at most once per wait, in order):
/// - `reminder_75` and `team_leader_90` when the first and second of
///   `reminderFractions` of the deadline's budget are used (business time,
///   or wall time for an escalated deadline);
/// - `manager_escalation` at the deadline, or — when the thread's routing
///   rule sets `escalation_after_hours` — once that many business hours of
///   the wait are used, whichever the rule says;
/// - `executive_24h` `executiveAfterOverdueHours` (wall clock) after the
///   first deadline of the wait that passed unanswered.
/// Once a step fired, earlier steps that have not are skipped: an
/// escalation makes the 75% reminder pointless. The escalation's new
/// 30-minute deadline belongs to the same wait and starts no second ladder.
public struct SLALadder: Sendable, Hashable {
    public var reminderFractions: [Double]
    public var executiveAfterOverdueHours: Double
    public var escalationAfterHours: Double?

    public init(reminderFractions: [Double] = [0.75, 0.9], executiveAfterOverdueHours: Double = 24,
                escalationAfterHours: Double? = nil) {
        self.reminderFractions = reminderFractions
        self.executiveAfterOverdueHours = executiveAfterOverdueHours
        self.escalationAfterHours = escalationAfterHours
    }

    /// The moment of `step` for `clock`, or nil when the ladder has no such step (fewer fractions).
    public func moment(_ step: SLAStep, clock: SLAClock, calendar: BusinessCalendar) -> Date? {
        switch step {
        case .reminder75, .teamLeader90:
            let i = step == .reminder75 ? 0 : 1
            guard reminderFractions.indices.contains(i) else { return nil }
            let run = clock.run(calendar: calendar)
            return run.moment(elapsed: reminderFractions[i] * run.budgetSeconds, calendar: calendar)
        case .managerEscalation:
            let run = clock.run(calendar: calendar)
            if let hours = escalationAfterHours, !run.wallClock {
                return run.moment(elapsed: hours * 3600, calendar: calendar)
            }
            return clock.due
        case .executive24h:
            return (clock.progress?.missedDeadline ?? clock.due).addingTimeInterval(executiveAfterOverdueHours * 3600)
        }
    }

    /// The next step to fire and its moment: among the steps after the last
    /// one fired, the earliest (the lower step on a tie); nil when none is left.
    public func next(_ clock: SLAClock, calendar: BusinessCalendar) -> (step: SLAStep, at: Date)? {
        let fired = clock.progress?.fired ?? 0
        let highest = SLAStep.allCases.lastIndex { fired & $0.bit != 0 } ?? -1
        var best: (step: SLAStep, at: Date)?
        for step in SLAStep.allCases where step.ordinal > highest {
            guard let at = moment(step, clock: clock, calendar: calendar) else { continue }
            if best == nil || at < best!.at { best = (step, at) }
        }
        return best
    }

    /// A moment no step of a wait that began at `waitStart` with at least
    /// `minimumBudgetSeconds` of business time can come before: what the
    /// timers schedule without doing calendar arithmetic (business time
    /// never runs faster than the wall clock).
    public func earliestPossible(waitStart: Date, minimumBudgetSeconds: Double) -> Date {
        var fractions = reminderFractions.prefix(2).map { $0 * minimumBudgetSeconds }
        fractions.append(minimumBudgetSeconds)
        if let h = escalationAfterHours { fractions.append(h * 3600) }
        return waitStart.addingTimeInterval(max(0, fractions.min() ?? 0))
    }

    /// What is wrong with a list of reminder fractions, or nil.
    public static func problem(reminderFractions f: [Double]) -> String? {
        guard f.count <= 2 else { return "reminder_fractions has at most two values (the reminder and the team leader's alert)" }
        guard f.allSatisfy({ $0 > 0 && $0 < 1 }) else { return "reminder_fractions must lie between 0 and 1 (0.75 is 75%)" }
        guard zip(f, f.dropFirst()).allSatisfy({ $0 < $1 }) else { return "reminder_fractions must increase (0.75, 0.9)" }
        return nil
    }
}
