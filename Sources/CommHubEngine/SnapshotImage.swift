import CommHubDomain
import Foundation

/// The supervisor's part of a snapshot: the primary records (configuration,
/// directory, tasks, templates) and the assignment relation. Everything else
/// the supervisor holds (matching tables, loads, the idempotency table) is
/// derived from these and the thread states, and rebuilt on restore.
public struct SupervisorImage: Codable, Sendable {
    public struct Assignment: Codable, Sendable, Hashable {
        public var thread: ThreadID
        public var team: TeamID?
        public var agent: ContactID?
    }

    public var startSeq: UInt64
    public var watermark: UInt64
    public var channels: [Channel]
    public var teams: [Team]
    public var contacts: [Contact]
    public var rules: AutoAssignmentRules
    public var customers: [Customer]
    public var organizations: [Organization]
    public var orders: [Order]
    public var tasks: [InternalTask]
    public var templates: [Template]
    public var tokens: [APIToken]?
    /// Written by versions before the store's `audit` table; read once to fill it.
    public var audit: [AuditEntry]?
    public var assignments: Assignments
    /// Queued threads per team, in queue order.
    public var queues: [TeamID: [ThreadID]]
    /// Each team's members in round-robin order and the position picked
    /// last, so ties after a restore go where they would have gone live.
    /// Optional: older images restore members in contact order.
    public var roundRobin: [TeamID: RoundRobin]?
    /// The outbox with each message's stage, claim and error. Optional:
    /// older images rebuild it from the threads (pending outgoing messages queued).
    public var outbox: [OutboxEntry]?
    /// The analytics read model as of `watermark`. Optional: older images
    /// start an empty book (analytics then count from the upgrade on).
    public var analytics: AnalyticsBook?
    /// Workflow settings and task reminders sent. Optional: older images have none.
    public var workflow: WorkflowImage?
    /// What gateways keep per channel (secrets sealed). Optional: older images have none.
    public var gatewayStates: [ChannelGatewayState]?

    public struct ChannelGatewayState: Codable, Sendable, Hashable {
        public var channel: ChannelID
        public var state: GatewayState
    }
    /// Templates in use, merge and split links, satisfaction surveys
    /// (`SnapshotImage+Cases.swift`). Optional: older images have none.
    public var cases: CasesImage?
    /// The web app's records. Optional: older images have none.
    public var web: WebAccessState?

    /// The assignment relation, one entry per thread. Coded packed: a JSON
    /// string of base64 (version byte 1, a LEB128 count, then per entry the
    /// thread id and the optional team and agent ids), since a million JSON
    /// objects were a tenth of a 1M-thread restore. Images written before
    /// carry a JSON array of objects, which still decodes.
    public struct Assignments: Codable, Sendable, Hashable, Sequence {
        public var items: [Assignment]
        static let version: UInt8 = 1

        public init(_ items: [Assignment]) { self.items = items }
        public func makeIterator() -> IndexingIterator<[Assignment]> { items.makeIterator() }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let array = try? c.decode([Assignment].self) {
                items = array
                return
            }
            let packed = [UInt8](try c.decode(Data.self))
            var r = CompactReader(packed)
            guard try r.u8() == Self.version else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "unknown version of the packed assignments")
            }
            let n = try r.varint()
            guard n <= UInt64(packed.count) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "assignment count past the data")
            }
            items = []
            items.reserveCapacity(Int(n))
            for _ in 0..<n {
                items.append(Assignment(thread: try r.id(), team: try r.optionalID(), agent: try r.optionalID()))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var w = CompactWriter(capacity: 16 + items.count * 50)
            w.u8(Self.version)
            w.varint(UInt64(items.count))
            for a in items { w.id(a.thread); w.id(a.team); w.id(a.agent) }
            var c = encoder.singleValueContainer()
            try c.encode(Data(w.bytes))
        }
    }

    public struct RoundRobin: Codable, Sendable, Hashable {
        public var members: [ContactID]
        public var lastPicked: Int?
    }

    public init(state s: EngineState, startSeq: UInt64, watermark: UInt64) {
        self.startSeq = startSeq
        self.watermark = watermark
        channels = Array(s.channels.values)
        teams = Array(s.teams.values)
        contacts = Array(s.contacts.values)
        rules = s.rules
        customers = Array(s.index.customers.values)
        organizations = Array(s.index.organizations.values)
        orders = Array(s.index.orders.values)
        tasks = Array(s.tasks.values)
        templates = Array(s.templates.values)
        tokens = Array(s.tokens.values)
        audit = nil  // the trail lives in the store's audit table
        var teamOf = s.board.team.dictionary
        assignments = Assignments(s.board.assignee.map { (t, a) in
            Assignment(thread: t, team: teamOf.removeValue(forKey: t), agent: a)
        } + teamOf.map { Assignment(thread: $0.key, team: $0.value, agent: nil) })
        queues = s.board.teams.mapValues { Array($0.queue) }
        roundRobin = s.board.teams.mapValues { RoundRobin(members: $0.members, lastPicked: $0.lastPicked) }
        outbox = s.outbox.values.sorted { ($0.queuedAt, $0.message) < ($1.queuedAt, $1.message) }
        analytics = s.analytics
        workflow = WorkflowImage(s.workflow)
        gatewayStates = s.gatewayStates.map { ChannelGatewayState(channel: $0.key, state: $0.value) }.sorted { $0.channel < $1.channel }
        cases = CasesImage(s)
        web = s.web
    }
}

extension EngineState {
    /// Rebuilds the supervisor's state from a snapshot image and the thread
    /// states of the same snapshot. `messageIDs`: fill the provider-id and
    /// message → thread tables from the threads' messages (not when the
    /// store's message index answers for them: a restore then keeps none).
    public static func rebuilt(from image: SupervisorImage, threads: [ThreadID: ThreadState], messageIDs: Bool = true) -> EngineState {
        var s = EngineState()
        func apply(_ e: EngineEvent) { s.apply(SequencedEvent(seq: 0, event: e)) }
        for o in image.organizations { apply(.organizationUpserted(o)) }
        for c in image.customers { apply(.customerUpserted(c)) }
        for o in image.orders { apply(.orderUpserted(o)) }
        for c in image.channels { apply(.channelUpserted(c)) }
        for t in image.teams { apply(.teamUpserted(t)) }
        for c in image.contacts { apply(.contactUpserted(c)) }
        apply(.routingRulesChanged(image.rules))
        for t in image.tasks { apply(.taskUpserted(t)) }
        for t in image.templates { apply(.templateUpserted(t)) }
        for t in image.tokens ?? [] { apply(.tokenIssued(t)) }
        if let w = image.workflow {
            if let settings = w.settings { apply(.workflowSettingsChanged(settings)) }
            s.workflow.taskReminders = w.taskReminders
        }
        for g in image.gatewayStates ?? [] { s.gatewayStates[g.channel] = g.state }
        s.web = image.web ?? WebAccessState()
        // Sized once: growing million-entry tables by doubling rehashed every key again and again.
        let messages = messageIDs ? threads.values.reduce(0) { $0 + $1.messages.count } : 0
        s.messageThread.reserveCapacity(messages)
        s.external.reserveCapacity(messages)
        s.board.reserve(threads: threads.count)
        s.index.reserve(threads: threads.count)
        for t in threads.values {
            if t.header.status == .escalated { s.workflow.escalated.insert(t.id) }
            s.index.restore(t.header)
            s.board.apply(.threadOpened(t.header))
            for (m, seq) in zip(t.messages, t.messageSeqs) {
                if messageIDs { s.messageThread[m.id] = m.threadID }
                if image.outbox == nil, EngineState.entersOutbox(m), let channel = m.channelID {
                    s.outbox[m.id] = OutboxEntry(message: m.id, thread: m.threadID, channel: channel, queuedAt: m.createdAt, addedSeq: seq)
                }
                if messageIDs, let ext = m.externalMessageID, let ch = m.channelID {
                    s.external[ExternalKey(channel: ch, externalID: ext)] = MessageRef(thread: m.threadID, message: m.id, seq: seq)
                }
            }
        }
        var queued = Set<ThreadID>()
        for (team, list) in image.queues {
            for t in list where threads[t] != nil {
                s.board.apply(.threadAssigned(thread: t, team: team, agent: nil, reason: "restore"))
                queued.insert(t)
            }
        }
        for a in image.assignments where !queued.contains(a.thread) && threads[a.thread] != nil {
            if a.agent == nil {
                s.board.restoreTeam(a.team, for: a.thread)
            } else {
                s.board.apply(.threadAssigned(thread: a.thread, team: a.team, agent: a.agent, reason: "restore"))
            }
        }
        for (team, rr) in image.roundRobin ?? [:] {
            s.board.restoreRoundRobin(team: team, members: rr.members, lastPicked: rr.lastPicked)
        }
        for e in image.outbox ?? [] where threads[e.thread] != nil { s.outbox[e.message] = e }
        s.rebuildOutboxIndexes()
        // Replaces what the replayed tasks above fed into the book.
        s.analytics = image.analytics ?? AnalyticsBook()
        // The book decodes with handles of its own; it takes the board's (`s`
        // is captured by a closure above, so the board is swapped out rather
        // than passed beside the book).
        var board = AssignmentBoard()
        swap(&board, &s.board)
        s.analytics.adopt(handles: &board)
        swap(&board, &s.board)
        image.cases?.restore(into: &s)
        s.lastSeq = image.watermark
        return s
    }
}

extension AssignmentBoard {
    /// Restores a thread's team without a person and without queueing it.
    mutating func restoreTeam(_ team: TeamID?, for thread: ThreadID) {
        guard let team else { return }
        apply(.threadAssigned(thread: thread, team: team, agent: nil, reason: "restore"))
        // threadAssigned with no agent queues open threads; an unqueued one leaves the queue again.
        removeFromQueue(thread, team: team)
    }
}

extension EngineState {
    /// The outbox's derived indexes from its entries (after a restore).
    mutating func rebuildOutboxIndexes() {
        outboxReady = [:]
        outboxWaiting = []
        outboxClaimed = []
        for e in outbox.values.sorted(by: { ($0.queuedAt, $0.message) < ($1.queuedAt, $1.message) }) {
            switch e.stage {
            case .queued: outboxReady[e.channel, default: []].append(e.message)
            case .waiting: outboxWaiting.insert(e.message)
            case .claimed: outboxClaimed.insert(e.message)
            case .sent, .failed, .unknown: break
            }
        }
    }
}
