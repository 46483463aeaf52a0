import CommHubDomain
import Foundation

/// One thread's live state. It alone decides and journals changes to its
/// thread, so the order of a thread's events in the journal is the order
/// in which it applied them.
///
/// Thread actors run on their supervisor's executor: the supervisor calls
/// them on every message, and a call on the same executor costs no thread
/// switch. Each is still its own isolation domain.
public actor ThreadActor {
    public private(set) var state: ThreadState
    // The journal is the owner's (no existential per thread: 40 bytes × every open thread).
    private unowned let owner: Supervisor
    private var journal: any EventJournal { owner.journal }

    public init(state: ThreadState, owner: Supervisor) {
        self.state = state
        self.owner = owner
    }

    public nonisolated var unownedExecutor: UnownedSerialExecutor { owner.unownedExecutor }

    public var id: ThreadID { state.id }

    /// Journals and applies events, in order, all or none; returns them with
    /// their sequence numbers. Nothing is applied when the journal refuses them.
    @discardableResult
    public func record(_ events: [EngineEvent]) throws -> [SequencedEvent] {
        guard !events.isEmpty else { return [] }
        let seqs = try Supervisor.append(events, to: journal)
        var out: [SequencedEvent] = []
        out.reserveCapacity(events.count)
        for (seq, e) in zip(seqs, events) {
            state.apply(e, seq: seq)
            out.append(SequencedEvent(seq: seq, event: e))
        }
        trimMessages()
        return out
    }

    /// Keeps the recent messages only, with a store that holds the rest
    /// (`EngineConfiguration.recentMessagesPerThread`). Trims a quarter of
    /// the window at a time, so a busy thread does not shift its array on
    /// every message.
    private func trimMessages() {
        guard owner.messageIndex != nil else { return }
        let window = owner.configuration.recentWindow, status = state.header.status
        guard state.messages.count >= window.trimAt(status) else { return }
        state.trimMessages(keep: window.keep(status), durableThrough: journal.durableSeq)
    }

    /// Records an inbound message (see `ThreadState.eventsForInbound`).
    public func receive(_ m: InboundMessage, messageID: MessageID, channel: Channel, reopen: Bool,
                        links: MatchResult, policy: SLAPolicy) throws -> [SequencedEvent] {
        try record(state.eventsForInbound(m, messageID: messageID, channel: channel, reopen: reopen,
                                      links: links, policy: policy))
    }

    /// Applies a header change, with what it does to the response clock:
    /// escalation gives a 30-minute wall-clock deadline; `waiting_customer`
    /// pauses a running clock (no deadline while we wait for the customer);
    /// leaving it resumes the clock with the time it had left.
    public func change(_ change: ThreadChange, at: Date, policy: SLAPolicy) throws -> [SequencedEvent] {
        var c = change
        let progress = ThreadState.clockEffects(of: &c, on: state, at: at, policy: policy)
        // Drop fields that would not change anything, so the journal holds real changes only.
        if c.status == state.header.status { c.status = nil }
        if c.priority == state.header.priority { c.priority = nil }
        if c.threadType == state.header.threadType { c.threadType = nil }
        if c.threadSubject == state.header.threadSubject { c.threadSubject = nil }
        if c.tags == state.header.tags { c.tags = nil }
        guard !c.isEmpty else { return [] }
        var events: [EngineEvent] = [.threadChanged(thread: state.id, change: c, at: at)]
        if case .some(let p) = progress { events.append(.slaClockSet(thread: state.id, progress: p, at: at)) }
        return try record(events)
    }

    /// Adds a message written inside the company (outgoing answer, note,
    /// logged call); `statusAfter` changes the status with it, with what that
    /// does to the response clock when `policy` is given (see `change`).
    /// `also`: events journaled with it, all or none (the template it was written with).
    public func add(_ header: MessageHeader, body: MessageBody, statusAfter: ThreadStatus?,
                    policy: SLAPolicy? = nil, also: [EngineEvent] = []) throws -> [SequencedEvent] {
        let message = EngineEvent.messageAdded(header: header, body: body, responseDueAt: nil)
        var events: [EngineEvent] = [message]
        if let s = statusAfter, s != state.header.status {
            var c = ThreadChange(status: s)
            var progress: SLAProgress??
            if let policy {
                var after = state
                after.apply(message, seq: state.lastSeq &+ 1)
                progress = ThreadState.clockEffects(of: &c, on: after, at: header.createdAt, policy: policy)
            }
            events.append(.threadChanged(thread: state.id, change: c, at: header.createdAt))
            if case .some(let p) = progress { events.append(.slaClockSet(thread: state.id, progress: p, at: header.createdAt)) }
        }
        return try record(events + also)
    }

    /// Applies an event the supervisor journaled that concerns this thread
    /// and another one (a merge, a split); says whether it was newer than
    /// this state. Thread actors share the supervisor's executor, so the
    /// supervisor applies it to both before anything else runs.
    func applyJournaled(_ e: SequencedEvent) -> Bool {
        defer { trimMessages() }
        return state.applyIfNewer(e.event, seq: e.seq)
    }

    /// Replaces the state (an erasure leaves the skeleton).
    func replaceState(_ s: ThreadState) {
        state = s
        trimMessages()
    }

    public func message(_ id: MessageID) -> MessageHeader? {
        state.messages.last { $0.id == id }
    }

    /// The journal sequence number of a message of this thread.
    public func deliveryStatus(ofMessage id: MessageID) -> DeliveryStatus? {
        state.messages.last { $0.id == id }?.deliveryStatus
    }

    public func seq(ofMessage id: MessageID) -> UInt64? {
        state.messages.lastIndex { $0.id == id }.map { state.messageSeqs[$0] }
    }
}

/// An internal person's live state: their contact record (presence, teams,
/// skills, capacity) and their counters. The supervisor keeps a routing copy
/// of presence, skills and capacity in its `AssignmentBoard`, updated by the
/// same events, because assignment decisions must be synchronous.
public struct AgentState: Sendable, Hashable, Codable {
    public var contact: Contact
    public var assignedTotal: Int = 0
    public var movedAway: Int = 0
    public var messagesSent: Int = 0
    public var presenceSince: Date?
    public var lastSeq: UInt64

    public init(contact: Contact, lastSeq: UInt64) {
        self.contact = contact
        self.lastSeq = lastSeq
    }

    /// Replay: skips events this state already reflects (`seq <= lastSeq`).
    public mutating func apply(_ event: EngineEvent, seq: UInt64, at: Date?) {
        guard seq > lastSeq else { return }
        record(event, seq: seq, at: at)
    }

    /// Live: the supervisor hands each event over exactly once, but events of
    /// concurrent operations can arrive out of sequence order (the supervisor
    /// is reentrant at its awaits), so nothing may be skipped by `seq` here.
    mutating func record(_ event: EngineEvent, seq: UInt64, at: Date?) {
        let me = contact.id
        switch event {
        case .contactUpserted(let c) where c.id == me:
            contact = c
        case .presenceChanged(let id, let p) where id == me:
            contact.presence = p
            presenceSince = at ?? presenceSince
        case .threadAssigned(_, _, let agent, _) where agent == me:
            assignedTotal += 1
        case .threadsRebalanced(let moves, _):
            for m in moves {
                if m.to == me { assignedTotal += 1 }
                if m.from == me { movedAway += 1 }
            }
        case .messageAdded(let m, _, _) where m.senderContactID == me && m.messageType == .outgoing:
            messagesSent += 1
        default:
            return
        }
        lastSeq = max(lastSeq, seq)
    }
}

/// One internal person. Holds `AgentState`; the supervisor sends it the
/// events that concern the person.
///
/// Agent actors run on their supervisor's executor, like thread actors: the
/// supervisor hands each person their events synchronously, in the turn in
/// which it journals them (`Supervisor.deliverToAgents`), so a rebalance
/// costs no task switch per person and no person sees events out of order.
public actor AgentActor {
    public private(set) var state: AgentState
    private unowned let owner: Supervisor

    public init(state: AgentState, owner: Supervisor) {
        self.state = state
        self.owner = owner
    }

    public nonisolated var unownedExecutor: UnownedSerialExecutor { owner.unownedExecutor }

    public func apply(_ events: [SequencedEvent], at: Date) {
        for e in events { state.record(e.event, seq: e.seq, at: at) }
    }

    /// A rebalance's effect on this person, counted once for everyone it touched
    /// (the same counts `record` takes from the event's moves).
    func applyRebalance(assigned: Int, movedAway: Int, seq: UInt64) {
        state.assignedTotal += assigned
        state.movedAway += movedAway
        state.lastSeq = max(state.lastSeq, seq)
    }
}
