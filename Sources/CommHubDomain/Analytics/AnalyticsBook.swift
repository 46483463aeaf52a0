import Foundation

/// The dimensions one analytics fact is sliced by: the channel it happened
/// on, and the thread's team, person, brand and type at that moment.
public struct AnalyticsSlice: Hashable, Codable, Sendable {
    public var channel: ChannelType
    public var team: TeamID?
    public var agent: ContactID?
    public var brand: Brand?
    public var threadType: ThreadType

    public init(channel: ChannelType, team: TeamID? = nil, agent: ContactID? = nil, brand: Brand? = nil,
                threadType: ThreadType = .customerSupport) {
        self.channel = channel; self.team = team; self.agent = agent; self.brand = brand; self.threadType = threadType
    }
}

/// Counters and samples of one hour in one slice. Adding two tallies
/// (`merge`) is how a query sums hours and slices, so every KPI is a
/// projection of one summed tally (`KPI.figures`).
///
/// Response and resolution times are kept as exact samples (seconds), not
/// as a histogram: medians and p90s are then exact, and a recount from the
/// journal gives the very same numbers. Cost: 4 bytes per sample and
/// measure, a few megabytes for a year of ChargeCars traffic.
public struct AnalyticsTally: Codable, Sendable, Equatable {
    public var threadsOpened = 0
    public var inbound = 0
    /// Replies by people (`outgoing`), of which `templated` were sent from a template.
    public var outbound = 0
    public var templated = 0
    public var autoResponses = 0
    public var internalNotes = 0
    public var firstResponseSeconds: [Int32] = []
    public var firstResponseBusinessSeconds: [Int32] = []
    public var nextResponseSeconds: [Int32] = []
    public var nextResponseBusinessSeconds: [Int32] = []
    /// Response deadlines that ended (answered, or the thread closed) in time, and late.
    public var deadlinesMet = 0
    public var deadlinesMissed = 0
    /// Escalation-ladder steps reached (the step's name → count): the breaches per step.
    public var ladderSteps: [String: Int] = [:]
    public var resolutions = 0
    public var resolutionSeconds: [Int32] = []
    /// Customer and agent messages of the resolved episodes (for messages per resolution).
    public var messagesInResolutions = 0
    /// Resolutions with exactly one agent reply whose thread has not been reopened since.
    public var firstContactResolutions = 0
    public var escalations = 0
    /// Threads given to a person by routing, and of those, moved to someone else by a person.
    public var autoAssigned = 0
    public var reassignedAfterAuto = 0
    public var tasksCompleted = 0
    public var tasksCompletedOnTime = 0
    /// CSAT answers: count per score 1…5 (index 0 = score 1).
    public var csatScores: [Int] = [0, 0, 0, 0, 0]
    /// Inbound, and messages we sent (replies and auto-responses), per channel type (raw value):
    /// channel preference and cost survive summing slices of different channels.
    public var inboundPerChannel: [String: Int] = [:]
    public var sentPerChannel: [String: Int] = [:]

    public init() {}

    public var isEmpty: Bool { self == AnalyticsTally() }

    public mutating func merge(_ o: AnalyticsTally) {
        threadsOpened += o.threadsOpened; inbound += o.inbound; outbound += o.outbound; templated += o.templated
        autoResponses += o.autoResponses; internalNotes += o.internalNotes
        firstResponseSeconds += o.firstResponseSeconds; firstResponseBusinessSeconds += o.firstResponseBusinessSeconds
        nextResponseSeconds += o.nextResponseSeconds; nextResponseBusinessSeconds += o.nextResponseBusinessSeconds
        deadlinesMet += o.deadlinesMet; deadlinesMissed += o.deadlinesMissed
        for (k, v) in o.ladderSteps { ladderSteps[k, default: 0] += v }
        resolutions += o.resolutions; resolutionSeconds += o.resolutionSeconds
        messagesInResolutions += o.messagesInResolutions; firstContactResolutions += o.firstContactResolutions
        escalations += o.escalations; autoAssigned += o.autoAssigned; reassignedAfterAuto += o.reassignedAfterAuto
        tasksCompleted += o.tasksCompleted; tasksCompletedOnTime += o.tasksCompletedOnTime
        for i in 0..<5 { csatScores[i] += o.csatScores[i] }
        for (k, v) in o.inboundPerChannel { inboundPerChannel[k, default: 0] += v }
        for (k, v) in o.sentPerChannel { sentPerChannel[k, default: 0] += v }
    }
}

/// How long a span lasted in business time, per the calendars of the
/// channel and team. Injected, so the book stays a pure value; the
/// default counts wall time.
public protocol BusinessTimeMeasure: Sendable {
    func businessSeconds(from: Date, to: Date, channel: ChannelID?, team: TeamID?) -> Int
}

public struct WallTimeMeasure: BusinessTimeMeasure {
    public init() {}
    public func businessSeconds(from: Date, to: Date, channel: ChannelID?, team: TeamID?) -> Int {
        max(0, Int((to.timeIntervalSince(from)).rounded(.down)))
    }
}

/// The analytics read model: hour buckets of tallies per slice, plus open
/// threads per person sampled each hour. Maintained from committed events
/// only (`apply`, called from `EngineState.apply`, so live operation and
/// journal replay build the same book), kept in snapshots, and queried by
/// bucket range: a query reads the hours it asks for, never the threads or
/// the journal.
///
/// Time: hour buckets are whole UTC hours, which are whole Europe/Amsterdam
/// hours too (its offsets are whole hours); day buckets group them by
/// Amsterdam date at query time. Facts fall into the hour of their own
/// time (a message's `created_at`, a change's `at`); events without a
/// time of their own (assignments, task completions without
/// `completed_at`) use the newest time the book has seen.
///
/// Definitions (the recount in the tests uses the same ones):
/// - a *reply* is an `outgoing` message; auto-responses and notes are not;
/// - *first response*: the first inbound message of a thread to the first
///   reply; *next response*: a later inbound that found nobody waiting, to
///   the reply after it. The reply's hour and slice (sender as agent) count it;
/// - a *deadline* ends when the wait ends (reply, or resolve/close while
///   waiting): met when that is at or before the live `response_due_at`;
/// - a *resolution* is a change to `resolved` or `closed` from an open
///   status; its time runs from the start of the episode (opening, or the
///   last reopening) and its messages are the episode's inbound and replies;
/// - *first contact resolution*: a resolution after exactly one reply, in a
///   thread never reopened; a reopening takes back the FCR it had;
/// - *auto-assigned*: the first assignment to a person, made by routing
///   (any reason but `manual`); *reassigned*: a later `manual` assignment
///   of such a thread to another person (counted once per thread);
/// - a task is *on time* when completed at or before the end of its due
///   date (or its due time), Europe/Amsterdam; tasks without a due date are
///   on time.
public struct AnalyticsBook: Sendable {
    /// What queries read, apart from the per-thread bookkeeping: handed out
    /// by value, so a query runs off the supervisor at the cost of one copy
    /// of the hour table on the next change.
    public internal(set) var figures = AnalyticsFigures()
    /// Inbound messages per customer and channel (channel preference).
    var customerInbound: [CustomerID: [ChannelType: Int]] = [:]
    /// Per-thread facts at the handles of `ThreadHandles` (`FactsTable`).
    var threads = FactsTable()
    /// The handles of a book used on its own; empty once the engine gave the
    /// book the board's handles (`adopt`). A book takes its handles from one
    /// source only.
    var localHandles = LocalThreadHandles()
    var completedTasks: Set<TaskID> = []
    /// Threads in the order they closed, to forget them after the reopen
    /// window without scanning every thread (an entry whose thread reopened
    /// or closed again since is skipped).
    var closings: [Closing] = []
    var closingsHead = 0
    public internal(set) var now: Date = .distantPast

    struct Closing: Codable, Sendable, Equatable {
        var thread: ThreadID
        var at: Date
    }

    /// Resolved threads are forgotten this long after closing; a later
    /// reopening then counts as a new episode without FCR bookkeeping.
    public static let reopenWindowSeconds: TimeInterval = 30 * 86_400
    /// Hour tallies and workload samples older than this are dropped (two years).
    public static let retentionHours: Int32 = 2 * 366 * 24

    public init() {}

    public static func hour(of d: Date) -> Int32 {
        let h = (d.timeIntervalSince1970 / 3600).rounded(.down)
        return Int32(clamping: Int64(max(min(h, Double(Int32.max)), Double(Int32.min))))
    }

    public var threadCount: Int { threads.count }

    // MARK: Applying events

    /// Applies an event to a book used on its own (its own thread handles).
    public mutating func apply(_ event: EngineEvent, measure: some BusinessTimeMeasure = WallTimeMeasure()) {
        var handles = localHandles
        localHandles = LocalThreadHandles()  // moved out, so the table is not copied
        apply(event, measure: measure, handles: &handles)
        localHandles = handles
    }

    /// Gives a book decoded on its own (a snapshot's) the engine's handles.
    public mutating func adopt(handles: inout some ThreadHandles) {
        guard !localHandles.isEmpty || threads.count > 0 else { return }
        threads.rehandle { handles.threadHandle(creating: $0) }
        localHandles = LocalThreadHandles()
    }

    /// Applies an event, keeping per-thread facts at `handles`' handles (the
    /// assignment board's, in the engine: see `ThreadHandles`).
    public mutating func apply<H: ThreadHandles>(_ event: EngineEvent, measure: some BusinessTimeMeasure, handles: inout H) {
        switch event {
        case .threadOpened(let h):
            advance(to: h.createdAt, &handles)
            let slice = AnalyticsSlice(channel: h.channelType, team: h.assignedTeamID, agent: h.assignedToContactID,
                                       brand: h.businessEntity, threadType: h.threadType)
            threads[handles.threadHandle(creating: h.id)] = ThreadFacts(id: h.id, slice: slice, open: h.status.isOpen,
                                                                       customer: h.customerID, episodeStart: h.createdAt)
            add(hour(h.createdAt), slice) { $0.threadsOpened += 1 }
            if h.status.isOpen, let a = h.assignedToContactID { figures.openLoad[AnalyticsFigures.WorkloadKey(team: h.assignedTeamID, agent: a), default: 0] += 1 }
        case .threadChanged(let id, let change, let at):
            advance(to: at, &handles)
            changed(id, change, at: at, measure: measure, &handles)
        case .messageAdded(let m, let body, let due):
            advance(to: m.createdAt, &handles)
            message(m, body: body, due: due, measure: measure, &handles)
        case .threadAssigned(let id, let team, let agent, let reason):
            assign(id, team: team, agent: agent, manual: reason == "manual", handles)
        case .threadsRebalanced(let moves, _):
            rebalance(moves, handles)
        case .taskUpserted(let t):
            if let done = t.completedAt { advance(to: done, &handles) }
            task(t)
        case .slaStepFired(let thread, let step, _, _, let at):
            recordLadderStep(thread: thread, step: step.rawValue, at: at, &handles)
        case .templateAttached(let a):
            // Journaled with its message: a reply counts as sent from a template where the reply counted.
            if let f = facts(of: a.thread, handles), f.lastReply == a.message, let h = f.lastReplyHour, let slice = f.lastReplySlice {
                add(h, slice) { $0.templated += 1 }
            }
        case .csatCaptured(let a):
            advance(to: a.at, &handles)
            // The score's message starts no wait.
            if let th = handles.threadHandle(of: a.thread, hint: nil), var f = threads[th], f.waitingMessage == a.message {
                f.waitingSince = nil; f.dueAt = nil; f.waitingMessage = nil
                threads[th] = f
            }
            recordSatisfaction(thread: a.thread, score: a.score, agent: a.agent, at: a.at, &handles)
        default:
            break
        }
    }

    /// Records a CSAT answer (1…5) for a thread at `at`, in the slice of
    /// the agent who resolved it.
    public mutating func recordSatisfaction(thread: ThreadID, score: Int, agent: ContactID?, at: Date) {
        var handles = localHandles
        localHandles = LocalThreadHandles()
        recordSatisfaction(thread: thread, score: score, agent: agent, at: at, &handles)
        localHandles = handles
    }

    private mutating func recordSatisfaction<H: ThreadHandles>(thread: ThreadID, score: Int, agent: ContactID?, at: Date,
                                                              _ handles: inout H) {
        guard (1...5).contains(score) else { return }
        advance(to: at, &handles)
        var slice = facts(of: thread, handles)?.slice ?? AnalyticsSlice(channel: .internalComment)
        if let agent { slice.agent = agent }
        add(hour(at), slice) { $0.csatScores[score - 1] += 1 }
    }

    /// Records that a thread reached an escalation-ladder step (a breach of that step).
    public mutating func recordLadderStep(thread: ThreadID, step: String, at: Date) {
        var handles = localHandles
        localHandles = LocalThreadHandles()
        recordLadderStep(thread: thread, step: step, at: at, &handles)
        localHandles = handles
    }

    private mutating func recordLadderStep<H: ThreadHandles>(thread: ThreadID, step: String, at: Date, _ handles: inout H) {
        advance(to: at, &handles)
        guard let slice = facts(of: thread, handles)?.slice else { return }
        add(hour(at), slice) { $0.ladderSteps[step, default: 0] += 1 }
    }

    private func facts(of id: ThreadID, _ handles: some ThreadHandles) -> ThreadFacts? {
        handles.threadHandle(of: id, hint: nil).flatMap { threads[$0] }
    }

    private func hour(_ d: Date) -> Int32 { Self.hour(of: d) }

    private mutating func add(_ hour: Int32, _ slice: AnalyticsSlice, _ change: (inout AnalyticsTally) -> Void) {
        change(&figures.hours[hour, default: [:]][slice, default: AnalyticsTally()])
    }

    /// Moves the book's clock; when an hour ends, samples the workload and
    /// forgets threads closed longer than the reopen window.
    private mutating func advance<H: ThreadHandles>(to t: Date, _ handles: inout H) {
        guard t > now else { return }
        let h = hour(t)
        if let last = figures.sampledHour, h > last {
            figures.workloadSamples[last] = figures.openLoad
            // Both tables keep two years: the hour tallies grew without a bound before (one entry per
            // active hour and slice, forever); a query reaches back at most `retentionHours`.
            if let oldest = figures.workloadSamples.keys.min(), oldest <= h - Self.retentionHours {
                figures.workloadSamples = figures.workloadSamples.filter { $0.key > h - Self.retentionHours }
            }
            if let oldest = figures.hours.keys.min(), oldest <= h - Self.retentionHours {
                figures.hours = figures.hours.filter { $0.key > h - Self.retentionHours }
            }
            forgetClosed(before: t.addingTimeInterval(-Self.reopenWindowSeconds), handles)
        }
        figures.sampledHour = h
        now = t
    }

    private mutating func forgetClosed(before cutoff: Date, _ handles: some ThreadHandles) {
        while closingsHead < closings.count, closings[closingsHead].at <= cutoff {
            let c = closings[closingsHead]
            if let h = handles.threadHandle(of: c.thread, hint: nil), let f = threads[h], !f.open, f.closedAt == c.at {
                threads[h] = nil
            }
            closingsHead += 1
        }
        if closingsHead > 1024, closingsHead * 2 > closings.count {
            closings.removeFirst(closingsHead)
            closingsHead = 0
        }
    }

    private mutating func message<H: ThreadHandles>(_ m: MessageHeader, body: MessageBody?, due: Date?,
                                                    measure: some BusinessTimeMeasure, _ handles: inout H) {
        let th = handles.threadHandle(creating: m.threadID)
        var f = threads[th] ?? ThreadFacts(id: m.threadID, slice: AnalyticsSlice(channel: m.channelType), episodeStart: m.createdAt)
        var slice = f.slice
        slice.channel = m.channelType
        let h = hour(m.createdAt)
        switch m.messageType {
        case .incoming:
            add(h, slice) { $0.inbound += 1; $0.inboundPerChannel[m.channelType.rawValue, default: 0] += 1 }
            f.episodeMessages += 1
            if let c = f.customer { countPreference(c, m.channelType) }
            if f.waitingSince == nil {
                f.waitingSince = m.createdAt
                f.waitingMessage = m.id
                f.waitFirst = !f.everReplied
                f.dueAt = due
            } else if let due { f.dueAt = due }
        case .outgoing:
            if let sender = m.senderContactID { slice.agent = sender }
            add(h, slice) { $0.outbound += 1; $0.sentPerChannel[m.channelType.rawValue, default: 0] += 1 }
            f.setLastReply(m.id, hour: h, slice: slice)
            f.replies += 1
            f.everReplied = true
            f.episodeMessages += 1
            if let since = f.waitingSince {
                let wall = Int32(clamping: max(0, Int(m.createdAt.timeIntervalSince(since).rounded(.down))))
                let business = Int32(clamping: measure.businessSeconds(from: since, to: m.createdAt, channel: m.channelID, team: f.slice.team))
                let met = f.dueAt.map { m.createdAt <= $0 }
                let first = f.waitFirst
                add(h, slice) { t in
                    if first { t.firstResponseSeconds.append(wall); t.firstResponseBusinessSeconds.append(business) } else {
                        t.nextResponseSeconds.append(wall); t.nextResponseBusinessSeconds.append(business)
                    }
                    if let met { if met { t.deadlinesMet += 1 } else { t.deadlinesMissed += 1 } }
                }
                f.waitingSince = nil
                f.dueAt = nil
            }
        case .autoResponse:
            add(h, slice) { $0.autoResponses += 1; $0.sentPerChannel[m.channelType.rawValue, default: 0] += 1 }
        case .internalNote:
            add(h, slice) { $0.internalNotes += 1 }
        case .systemNotification:
            break
        }
        threads[th] = f
    }

    private mutating func changed<H: ThreadHandles>(_ id: ThreadID, _ c: ThreadChange, at: Date, measure: some BusinessTimeMeasure,
                                                    _ handles: inout H) {
        guard let th = handles.threadHandle(of: id, hint: nil), var f = threads[th] else { return }
        if let t = c.threadType { f.slice.threadType = t }
        if let cust = c.customerID { f.customer = cust }
        if c.clearResponseDue == true { f.dueAt = nil } else if let d = c.responseDueAt, f.waitingSince != nil { f.dueAt = d }
        if let s = c.status {
            let wasOpen = f.open
            if s == .escalated, wasOpen { add(hour(at), f.slice) { $0.escalations += 1 } }
            if wasOpen, !s.isOpen {
                // Resolution: the wait (if any) ends unanswered.
                let h = hour(at)
                if f.waitingSince != nil, let due = f.dueAt {
                    let met = at <= due
                    add(h, f.slice) { if met { $0.deadlinesMet += 1 } else { $0.deadlinesMissed += 1 } }
                }
                let seconds = Int32(clamping: max(0, Int(at.timeIntervalSince(f.episodeStart).rounded(.down))))
                let fcr = f.replies == 1 && !f.reopened
                let messages = f.episodeMessages
                add(h, f.slice) { t in
                    t.resolutions += 1; t.resolutionSeconds.append(seconds); t.messagesInResolutions += messages
                    if fcr { t.firstContactResolutions += 1 }
                }
                if fcr { f.setFCR(hour: h, slice: f.slice) }
                f.waitingSince = nil; f.dueAt = nil
                f.open = false
                f.closedAt = at
                if closings.last.map({ $0.at <= at }) ?? true { closings.append(Closing(thread: id, at: at)) }
                if let a = f.slice.agent { unload(AnalyticsFigures.WorkloadKey(team: f.slice.team, agent: a)) }
            } else if !wasOpen, s.isOpen {
                // Reopening: a new episode; an FCR counted before is taken back.
                if let h = f.fcrHour, let slice = f.fcrSlice { add(h, slice) { $0.firstContactResolutions -= 1 } }
                f.setFCR(hour: nil, slice: nil)
                f.reopened = true
                f.open = true
                f.closedAt = nil
                f.episodeStart = at
                f.episodeMessages = 0
                f.replies = 0
                if let a = f.slice.agent { figures.openLoad[AnalyticsFigures.WorkloadKey(team: f.slice.team, agent: a), default: 0] += 1 }
            }
        }
        threads[th] = f
    }

    /// Counts a customer's inbound message and keeps `figures.preferredChannel`
    /// (customers per most-used channel; ties go to the channel reached first) current.
    private mutating func countPreference(_ c: CustomerID, _ channel: ChannelType) {
        var counts = customerInbound[c] ?? [:]
        let before = counts.max { ($0.value, $1.key.rawValue) < ($1.value, $0.key.rawValue) }?.key
        counts[channel, default: 0] += 1
        let after = counts.max { ($0.value, $1.key.rawValue) < ($1.value, $0.key.rawValue) }?.key
        customerInbound[c] = counts
        if before != after {
            if let b = before { figures.preferredChannel[b, default: 0] -= 1 }
            if let a = after { figures.preferredChannel[a, default: 0] += 1 }
        }
    }

    private mutating func unload(_ k: AnalyticsFigures.WorkloadKey) {
        guard let n = figures.openLoad[k] else { return }
        figures.openLoad[k] = n > 1 ? n - 1 : nil
    }

    private mutating func assign(_ id: ThreadID, team: TeamID?, agent: ContactID?, manual: Bool, _ handles: some ThreadHandles) {
        guard let th = handles.threadHandle(of: id, hint: nil), var f = threads[th] else { return }
        var load = LoadChanges()
        let tally = Self.assign(&f, team: team, agent: agent, manual: manual, load: &load, openLoad: figures.openLoad)
        load.write(to: &figures.openLoad)
        threads[th] = f
        if let tally { count(tally) }
    }

    /// A rebalance: each moved thread's facts are found at the planner's
    /// handle (`ThreadMove.boardHint`, checked against the board; no id is
    /// hashed) and changed in place, and the open load of the few (team,
    /// person) keys involved is counted in `LoadChanges` and written once per
    /// key, not twice per move.
    private mutating func rebalance(_ moves: [ThreadMove], _ handles: some ThreadHandles) {
        var load = LoadChanges()
        for mv in moves {
            guard let h = handles.threadHandle(of: mv.thread, hint: mv.boardHint?.thread), let i = threads.slot(h) else { continue }
            let team = threads.facts[i].slice.team
            let tally = Self.assign(&threads.facts[i], team: team, agent: mv.to, manual: false, load: &load,
                                    openLoad: figures.openLoad, personHint: mv.boardHint?.to)
            if let tally { count(tally) }
            if load.isFull { load.write(to: &figures.openLoad) }
        }
        load.write(to: &figures.openLoad)
    }

    /// Open-load changes of one operation, per (team, person) key, applied
    /// step by step exactly as the table would be (a decrement at zero does
    /// nothing), then written back: a linear search over a few keys instead of
    /// two hash look-ups per moved thread.
    struct LoadChanges {
        private var keys: [AnalyticsFigures.WorkloadKey] = []
        /// The keys as integers, searched instead of `keys`: comparing two
        /// words per id is a fraction of the derived equality of optional UUIDs.
        private var packed: [PackedKey] = []
        private var values: [Int] = []
        /// The slots found last for a removal and for an addition: a drain
        /// removes from one person again and again.
        private var lastRemove = 0
        private var lastAdd = 0
        static let maxKeys = 64
        /// Slots by person hint; stale entries are caught by comparing the key.
        private var slotOfHint: [UInt8] = []
        static let maxHints: Int32 = 4096
        var isFull: Bool { keys.count >= Self.maxKeys }

        struct PackedKey: Equatable {
            var agent0: UInt64, agent1: UInt64, team0: UInt64, team1: UInt64, hasTeam: Bool

            init(_ k: AnalyticsFigures.WorkloadKey) {
                (agent0, agent1) = Self.words(k.agent.uuid)
                (team0, team1) = k.team.map { Self.words($0.uuid) } ?? (0, 0)
                hasTeam = k.team != nil
            }

            @inline(__always) static func words(_ u: UUID) -> (UInt64, UInt64) {
                withUnsafeBytes(of: u.uuid) { ($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                                               $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
            }
        }

        private mutating func slot(_ k: AnalyticsFigures.WorkloadKey, last: Int,
                                   in table: [AnalyticsFigures.WorkloadKey: Int]) -> Int {
            let p = PackedKey(k)
            if last < packed.count, packed[last] == p { return last }
            if let i = packed.firstIndex(of: p) { return i }
            keys.append(k)
            packed.append(p)
            values.append(table[k] ?? 0)
            return keys.count - 1
        }

        /// Adds one to a key; `hint` (the board's index of the person, from a
        /// planned move) finds the key's slot directly after its first use.
        mutating func add(_ k: AnalyticsFigures.WorkloadKey, hint: Int32? = nil, in table: [AnalyticsFigures.WorkloadKey: Int]) {
            if let hint, hint >= 0, hint < Self.maxHints {
                let h = Int(hint)
                if h < slotOfHint.count {
                    let s = Int(slotOfHint[h])
                    if s < packed.count, packed[s] == PackedKey(k) { values[s] += 1; return }
                } else {
                    slotOfHint.append(contentsOf: repeatElement(UInt8.max, count: h + 1 - slotOfHint.count))
                }
                lastAdd = slot(k, last: lastAdd, in: table)
                slotOfHint[h] = UInt8(lastAdd)  // below maxKeys (64)
            } else {
                lastAdd = slot(k, last: lastAdd, in: table)
            }
            values[lastAdd] += 1
        }

        mutating func remove(_ k: AnalyticsFigures.WorkloadKey, in table: [AnalyticsFigures.WorkloadKey: Int]) {
            lastRemove = slot(k, last: lastRemove, in: table)
            if values[lastRemove] > 0 { values[lastRemove] -= 1 }
        }

        mutating func write(to table: inout [AnalyticsFigures.WorkloadKey: Int]) {
            for (k, v) in zip(keys, values) { table[k] = v > 0 ? v : nil }
            keys.removeAll(keepingCapacity: true)
            packed.removeAll(keepingCapacity: true)
            values.removeAll(keepingCapacity: true)
            lastRemove = 0
            lastAdd = 0
        }
    }

    /// What an assignment adds to the current hour's tallies.
    private enum AssignmentTally {
        case autoAssigned(AnalyticsSlice)
        case reassignedAfterAuto(AnalyticsSlice)
    }

    private mutating func count(_ tally: AssignmentTally) {
        switch tally {
        case .autoAssigned(let slice): add(hour(now), slice) { $0.autoAssigned += 1 }
        case .reassignedAfterAuto(let slice): add(hour(now), slice) { $0.reassignedAfterAuto += 1 }
        }
    }

    /// One thread's assignment: its facts, its open-load change, and the tally it adds.
    private static func assign(_ f: inout ThreadFacts, team: TeamID?, agent: ContactID?, manual: Bool,
                               load: inout LoadChanges, openLoad: [AnalyticsFigures.WorkloadKey: Int],
                               personHint: Int32? = nil) -> AssignmentTally? {
        var tally: AssignmentTally?
        if f.open {
            if let a = f.slice.agent { load.remove(AnalyticsFigures.WorkloadKey(team: f.slice.team, agent: a), in: openLoad) }
            if let a = agent { load.add(AnalyticsFigures.WorkloadKey(team: team, agent: a), hint: personHint, in: openLoad) }
        }
        if let a = agent, !f.autoCounted, f.autoAgent == nil {
            if !manual {
                f.autoAgent = a
                f.autoCounted = true
                tally = .autoAssigned(AnalyticsSlice(channel: f.slice.channel, team: team, agent: a, brand: f.slice.brand,
                                                     threadType: f.slice.threadType))
            } else {
                f.autoCounted = true  // first given by a person: not part of routing accuracy
            }
        } else if manual, let a = agent, let auto = f.autoAgent, a != auto, !f.reassignedCounted {
            f.reassignedCounted = true
            tally = .reassignedAfterAuto(AnalyticsSlice(channel: f.slice.channel, team: f.slice.team, agent: auto,
                                                        brand: f.slice.brand, threadType: f.slice.threadType))
        }
        f.slice.team = team
        f.slice.agent = agent
        return tally
    }

    private mutating func task(_ t: InternalTask) {
        guard t.status == .completed, let done = t.completedAt, !completedTasks.contains(t.id) else { return }
        completedTasks.insert(t.id)
        let onTime = TaskDue.deadline(date: t.dueDate, time: t.dueTime).map { done <= $0 } ?? true
        let slice = AnalyticsSlice(channel: .internalTask, agent: t.assignedToContactID, threadType: .internalTask)
        add(hour(done), slice) { $0.tasksCompleted += 1; if onTime { $0.tasksCompletedOnTime += 1 } }
    }
}

/// The queryable part of the analytics book (see `AnalyticsBook`).
public struct AnalyticsFigures: Codable, Sendable, Equatable {
    public struct WorkloadKey: Hashable, Codable, Sendable {
        public var team: TeamID?
        public var agent: ContactID
    }
    public internal(set) var hours: [Int32: [AnalyticsSlice: AnalyticsTally]] = [:]
    /// Open threads per (team, person) at the end of each hour in which anything happened.
    public internal(set) var workloadSamples: [Int32: [WorkloadKey: Int]] = [:]
    /// Open threads per (team, person) now.
    public internal(set) var openLoad: [WorkloadKey: Int] = [:]
    /// The hour the book's clock is in.
    public internal(set) var sampledHour: Int32?
    /// Customers by the channel they write on most (all time).
    public internal(set) var preferredChannel: [ChannelType: Int] = [:]
    public init() {}
}

/// A task's due moment from its `due_date` (`YYYY-MM-DD`) and optional
/// `due_time` (`HH:MM`), Europe/Amsterdam; without a time, the end of the day.
public enum TaskDue {
    public static let zone = TimeZone(identifier: "Europe/Amsterdam")!

    public static func deadline(date: String?, time: String?) -> Date? {
        guard let date else { return nil }
        let d = date.split(separator: "-").compactMap { Int($0) }
        guard d.count == 3 else { return nil }
        var parts = DateComponents(timeZone: zone, year: d[0], month: d[1], day: d[2])
        if let time {
            let t = time.split(separator: ":").compactMap { Int($0) }
            guard t.count >= 2, (0...23).contains(t[0]), (0...59).contains(t[1]) else { return nil }
            parts.hour = t[0]; parts.minute = t[1]
        } else {
            parts.hour = 23; parts.minute = 59; parts.second = 59
        }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = zone
        return cal.date(from: parts)
    }
}
