import CommHubDomain
import CommHubStore
import Foundation
import Logging

/// Engine-wide settings that routing and matching read.
public struct EngineConfiguration: Sendable {
    public var matcher: ThreadMatcher
    public var sla: SLAPolicy
    /// Largest accepted message body (text + HTML), in bytes.
    public var maxMessageBytes: Int
    /// Claims of one outgoing message before a `retry_after` counts as failed.
    public var outboxMaxAttempts: Int
    /// Prices per message sent, for the cost KPI (`serve --message-prices`).
    public var messagePrices = ChannelPrices.defaults
    /// Entries per generation of the recent provider-id and message → thread
    /// tables (`RecentIndex`; memory holds at most two generations, the
    /// store's message index every id). Only with a store (`serve
    /// --recent-message-ids`); `recentMessageIDsRange` bounds it.
    public var recentMessageIDs = 131_072
    public static let recentMessageIDsRange = 16...(1 << 24)
    /// Message headers a thread actor keeps in memory (the newest); older
    /// ones are read from the store's history when a view asks for them
    /// (`Supervisor.thread(_:history:)`). Only with a store (`serve
    /// --recent-messages-per-thread`).
    public var recentMessagesPerThread = 32
    public static let recentMessagesPerThreadRange = 4...1_000_000
    /// The same for a resolved or closed thread, besides each channel's last
    /// incoming message, which every thread keeps (the reply window, the
    /// channel of an answer). Such a thread is mostly history: a customer
    /// who writes again within the reopen window reopens it, and its view
    /// reads the store as any long thread's does. `serve
    /// --recent-messages-per-resolved-thread`.
    public var recentMessagesPerResolvedThread = 0
    public static let recentMessagesPerResolvedThreadRange = 0...1_000_000

    /// The in-memory message windows of open and of resolved or closed threads.
    public var recentWindow: RecentMessageWindow {
        RecentMessageWindow(open: recentMessagesPerThread, resolved: recentMessagesPerResolvedThread)
    }

    public init(matcher: ThreadMatcher = ThreadMatcher(), sla: SLAPolicy = SLAPolicy(), maxMessageBytes: Int = 1 << 20,
                outboxMaxAttempts: Int = 5) {
        self.matcher = matcher
        self.sla = sla
        self.maxMessageBytes = maxMessageBytes
        self.outboxMaxAttempts = max(1, outboxMaxAttempts)
    }
}

/// The result of ingesting one inbound message.
public struct IngestResult: Sendable, Hashable {
    public var threadID: ThreadID
    public var messageID: MessageID
    public var seq: UInt64
    public var duplicate: Bool
    public var rule: MatchRule?
}

/// The outcome of a rebalance, with how long the engine spent on it.
public struct RebalanceReport: Sendable, Hashable {
    public var moves: [ThreadMove]
    public var seq: UInt64?
    public var nanoseconds: Int64
}

/// A thread as views show it: the actor's state joined with the board's assignment.
public struct ThreadView: Sendable, Hashable {
    public var header: ThreadHeader
    public var messages: [MessageHeader]
}

/// What one request reads of a thread: its header and newest messages
/// (`ThreadViewLimits.latestMessages`), whether older ones were left out,
/// and the messages the thread holds in memory, which always include each
/// channel's last incoming one (the WhatsApp window, the recipient).
public struct ThreadPage: Sendable, Hashable {
    public var view: ThreadView
    public var olderLeftOut: Bool
    public var held: [MessageHeader]
}

/// How much of a thread one request reads.
public enum ThreadViewLimits {
    /// Messages in a thread view (`GET /communication/threads/{id}`, the
    /// admin socket's `thread`); older ones are listed page by page.
    public static let latestMessages = 200
    /// Stored rows one page of `GET /communication/messages?thread_id=` examines.
    public static let pageScanRows = 2_000
}

/// Routes inbound messages to thread actors and threads to agents. Owns the
/// registries of actors and the `EngineState` (directory, matching tables,
/// assignment board). Every operation decides synchronously on its own
/// state, journals the resulting events, lets the thread actor record its
/// part, then projects the thread's events back into its state.
public actor Supervisor {
    /// The whole state, for the engine itself and `@testable` tests. Other
    /// modules ask the named queries (`Supervisor+Queries.swift`): a copy of
    /// exactly what they need, not the whole state across the actor boundary.
    var state: EngineState
    /// Thread actors, created on first use.
    var threads: [ThreadID: ThreadActor] = [:]
    /// Restored threads not touched since the restore: plain states, turned
    /// into actors on first use (a restored engine does not build a million
    /// actors before it can serve).
    private var dormant: [ThreadID: ThreadState]
    private var agents: [ContactID: AgentActor] = [:]
    /// Restored people whose actor is not made yet: an agent actor runs on this
    /// supervisor's executor, so it is made after `init`, on first use.
    private var restingAgents: [ContactID: AgentState]
    nonisolated let journal: any EventJournal
    /// The store's index of every message (nil: an in-memory engine, which keeps every id in `state`).
    nonisolated let messageIndex: (any MessageIndexReader)?
    let clock: any EngineClock
    public let configuration: EngineConfiguration
    let logger: Logger
    /// Sequence number of the last event the supervisor itself journaled.
    /// Supervisor events are applied in sequence order, so every one up to
    /// here is in `state`: the watermark a snapshot of `state` reflects.
    private(set) var lastCommittedSeq: UInt64
    /// Provider receipts that came before the send report naming their message's provider id.
    var earlyReceipts = EarlyDeliveryReports()
    /// Workflow timers: ladder steps, follow-ups, task reminders, digests (`Supervisor+SLA.swift`).
    var timers: TimerQueue
    /// Re-seals a secret sealed under an older master key (`Supervisor+Secrets.swift`); nil: secrets are taken as given.
    var secretReseal: (@Sendable (Data) throws -> Data?)?

    public init(restored: RestoredEngine, journal: any EventJournal, messageIndex: (any MessageIndexReader)? = nil,
                clock: any EngineClock, configuration: EngineConfiguration, logger: Logger) {
        self.state = restored.state
        self.journal = journal
        self.messageIndex = messageIndex
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        self.lastCommittedSeq = restored.lastSeq
        self.dormant = restored.threads
        self.timers = Self.initialTimers(state: restored.state, threads: restored.threads, configuration: configuration,
                                         now: clock.now())
        self.restingAgents = restored.agents
    }

    /// The actor of a person, making it for a restored one.
    private func agentActor(_ id: ContactID) -> AgentActor? {
        if let a = agents[id] { return a }
        guard let s = restingAgents.removeValue(forKey: id) else { return nil }
        let a = AgentActor(state: s, owner: self)
        agents[id] = a
        return a
    }

    // MARK: Thread actors

    /// The actor of a thread, waking a dormant one.
    func actor(_ id: ThreadID) -> ThreadActor? {
        if let a = threads[id] { return a }
        guard let s = dormant.removeValue(forKey: id) else { return nil }
        let a = ThreadActor(state: s, owner: self)
        threads[id] = a
        return a
    }

    func exists(_ id: ThreadID) -> Bool { threads[id] != nil || dormant[id] != nil }

    /// Starts the actor of a thread made from others (a split).
    func adopt(_ s: ThreadState) -> ThreadActor {
        let a = ThreadActor(state: s, owner: self)
        threads[s.id] = a
        return a
    }

    // MARK: Journal helpers

    /// Journals events decided by the supervisor itself and applies them:
    /// all or none. When the journal refuses them nothing is applied and the
    /// operation fails with `.unavailable`.
    @discardableResult
    func commit(_ events: [EngineEvent]) throws -> [SequencedEvent] {
        guard !events.isEmpty else { return [] }
        let seqs = try Self.append(events, to: journal)
        var out: [SequencedEvent] = []
        out.reserveCapacity(events.count)
        for (seq, e) in zip(seqs, events) {
            let s = SequencedEvent(seq: seq, event: e)
            state.apply(s)
            lastCommittedSeq = s.seq
            updateTimers(afterCommitting: e)
            out.append(s)
        }
        rotateRecentMessageIDs()
        return out
    }

    /// `journal.append`, with the journal's refusal as an engine error.
    nonisolated static func append(_ events: [EngineEvent], to journal: any EventJournal) throws -> ClosedRange<UInt64> {
        do {
            return try journal.append(contentsOf: events)
        } catch let e as StoreError where e.kind == .encodingFailed {
            throw EngineError.invalid("the change cannot be stored: \(e.detail ?? e.description)")
        } catch let e as StoreError {
            throw EngineError(.unavailable, "nothing was changed: \(e.detail ?? e.description)")
        } catch {
            throw EngineError(.unavailable, "nothing was changed: \(ErrorText.describe(error))")
        }
    }

    /// Projects events a thread actor recorded into the supervisor's state.
    func project(_ events: [SequencedEvent]) {
        for e in events { state.apply(e) }
        rotateRecentMessageIDs()
        countTemplateSends(in: events)
    }

    /// Hands the events that concern people to their agent actors.
    func notifyAgents(_ events: [SequencedEvent]) async {
        deliverToAgents(events)
    }

    /// Hands the events that concern people to their agent actors, in this
    /// turn: the actors run on this executor, so each delivery is a plain call
    /// (`assumeIsolated`), every person receives events in the order the
    /// supervisor produced them, and operations cannot interleave between a
    /// commit and its delivery. A rebalance is counted once for all the people
    /// it touches, instead of each person scanning every move.
    func deliverToAgents(_ events: [SequencedEvent]) {
        guard !events.isEmpty else { return }
        let now = clock.now()
        func deliver(_ e: SequencedEvent, to id: ContactID) {
            agentActor(id)?.assumeIsolated { $0.apply([e], at: now) }
        }
        for e in events {
            switch e.event {
            case .contactUpserted(let c): deliver(e, to: c.id)
            case .presenceChanged(let id, _): deliver(e, to: id)
            case .threadAssigned(_, _, let a?, _): deliver(e, to: a)
            case .threadsRebalanced(let moves, _):
                for t in state.board.tally(moves) {
                    agentActor(t.person)?.assumeIsolated { $0.applyRebalance(assigned: t.assigned, movedAway: t.movedAway, seq: e.seq) }
                }
            case .messageAdded(let m, _, _) where m.messageType == .outgoing:
                if let s = m.senderContactID { deliver(e, to: s) }
            default: continue
            }
        }
    }

    // MARK: Configuration and directory

    public func upsertChannel(_ c: Channel) throws -> UInt64 {
        var c = c
        if let sealed = c.sealedSecrets, let again = try secretReseal?(sealed) { c.sealedSecrets = again }
        return try commit([.channelUpserted(c)]).last!.seq
    }

    public func upsertTeam(_ t: Team) async throws -> UInt64 {
        let events = try commit([.teamUpserted(t)]) + drainQueue(t.id)
        await notifyAgents(events)
        return events.last!.seq
    }

    /// Creates or updates an internal person; capacity or team changes may
    /// let queued threads flow to them.
    public func upsertContact(_ c: Contact) async throws -> UInt64 {
        let events = try contactEvents(c)
        await notifyAgents(events)
        return events.last!.seq
    }

    /// Journals a person's profile and lets their teams' queues flow to
    /// them; the caller notifies the agents (synchronous, so a caller can
    /// combine it with more changes before its first suspension).
    func contactEvents(_ c: Contact) throws -> [SequencedEvent] {
        for t in c.teams where state.teams[t] == nil { throw EngineError.notFound("team", t) }
        guard c.maxOpenThreads >= 0 else { throw EngineError.invalid("max_open_threads must be 0 or more") }
        if agentActor(c.id) == nil { agents[c.id] = AgentActor(state: AgentState(contact: c, lastSeq: 0), owner: self) }
        var events = try commit([.contactUpserted(c)])
        for t in c.teams { events += try drainQueue(t) }
        return events
    }

    public func upsertCustomer(_ c: Customer) throws -> UInt64 {
        if let o = c.organizationID, state.index.organizations[o] == nil { throw EngineError.notFound("organization", o) }
        return try commit([.customerUpserted(c)]).last!.seq
    }

    public func upsertOrganization(_ o: Organization) throws -> UInt64 {
        try commit([.organizationUpserted(o)]).last!.seq
    }

    public func upsertOrder(_ o: Order) throws -> UInt64 {
        if let c = o.customerID, state.index.customers[c] == nil { throw EngineError.notFound("customer", c) }
        if let g = o.organizationID, state.index.organizations[g] == nil { throw EngineError.notFound("organization", g) }
        return try commit([.orderUpserted(o)]).last!.seq
    }

    public func setRoutingRules(_ r: AutoAssignmentRules) throws -> UInt64 {
        let errors = r.validationErrors()
        guard errors.isEmpty else { throw EngineError.invalid(errors.joined(separator: "; ")) }
        return try commit([.routingRulesChanged(r)]).last!.seq
    }

    // MARK: Presence and rebalancing

    /// Changes a person's presence. Going offline hands their open threads to
    /// colleagues (or the team queue) in teams that hand over; coming online
    /// lets the queues flow to them.
    public func setPresence(_ id: ContactID, _ presence: Presence) async throws -> [SequencedEvent] {
        let events = try presenceEvents(id, presence)
        await notifyAgents(events)
        return events
    }

    /// `setPresence` without notifying the agents (the caller does).
    func presenceEvents(_ id: ContactID, _ presence: Presence) throws -> [SequencedEvent] {
        guard let contact = state.contacts[id] else { throw EngineError.notFound("contact", id) }
        guard contact.presence != presence else { return [] }
        var events = try commit([.presenceChanged(contact: id, presence: presence)])
        if presence == .offline {
            let moves = state.board.planDrain(agent: id, queueLeftovers: true).filter { m in
                state.board.team[m.thread].flatMap { state.teams[$0]?.handOverOnOffline } ?? true
            }
            if !moves.isEmpty { events += try commit([.threadsRebalanced(moves: moves, reason: "\(contact.name) went offline")]) }
        }
        for t in contact.teams { events += try drainQueue(t) }
        return events
    }

    /// Moves an agent's open threads to colleagues: one event, all or nothing.
    public func rebalance(agent id: ContactID) async throws -> RebalanceReport {
        guard state.contacts[id] != nil else { throw EngineError.notFound("contact", id) }
        return try await rebalance(reason: "rebalance agent") { $0.planDrain(agent: id, queueLeftovers: false) }
    }

    /// Evens out a team's load: one event, all or nothing.
    public func rebalance(team id: TeamID) async throws -> RebalanceReport {
        guard state.teams[id] != nil else { throw EngineError.notFound("team", id) }
        return try await rebalance(reason: "rebalance team") { $0.planEvenOut(team: id) }
    }

    /// Plans on the board, journals the moves as one event and tells the
    /// people concerned, in one step; the report times the engine's part
    /// (plan + journal + apply + notify).
    private func rebalance(reason: String, plan: (AssignmentBoard) -> [ThreadMove]) async throws -> RebalanceReport {
        let start = ContinuousClock.now
        let moves = plan(state.board)
        let events = moves.isEmpty ? [] : try commit([.threadsRebalanced(moves: moves, reason: reason)])
        deliverToAgents(events)
        let elapsed = ContinuousClock.now - start
        return RebalanceReport(moves: moves, seq: events.last?.seq, nanoseconds: elapsed.nanoseconds)
    }

    /// Assigns queued threads of a team to people who have room now.
    func drainQueue(_ team: TeamID) throws -> [SequencedEvent] {
        let plan = state.board.planQueueDrain(team: team)
        guard !plan.isEmpty else { return [] }
        return try commit(plan.map { .threadAssigned(thread: $0.0, team: team, agent: $0.1, reason: "queue") })
    }

    // MARK: Inbound traffic

    /// Ingests one normalised inbound message: idempotent on (channel,
    /// external message id), matched to a thread, routed when new. The caller
    /// acknowledges after `journal.waitDurable(result.seq)`.
    public func ingest(_ m: InboundMessage) async throws -> IngestResult {
        let key = EngineState.ExternalKey(channel: m.channelID, externalID: m.externalMessageID)
        if let ref = try knownMessage(key) {
            var seq = ref.seq
            if seq == 0 { seq = await actor(ref.thread)?.seq(ofMessage: ref.message) ?? journal.lastAssignedSeq }
            return IngestResult(threadID: ref.thread, messageID: ref.message, seq: seq, duplicate: true, rule: nil)
        }
        guard let channel = state.channels[m.channelID] else { throw EngineError.notFound("channel", m.channelID) }
        guard channel.isActive else { throw EngineError(.conflict, "channel \(channel.channelName) is not active") }
        guard !m.externalMessageID.isEmpty else { throw EngineError.invalid("external_message_id must not be empty") }
        guard m.messageContent.utf8.count + (m.messageHtml?.utf8.count ?? 0) <= configuration.maxMessageBytes else {
            throw EngineError.invalid("message is larger than \(configuration.maxMessageBytes) bytes")
        }

        var match = configuration.matcher.match(m, brand: channel.businessEntity, in: state.index)
        // A reply to a thread with customer, order and organisation comes back
        // with the thread's own links (`completeLinks`): no directory look-up ran,
        // and no customer is created from the sender's address either (decided:
        // the thread already has its customer; issue 17).
        if match.customerID == nil { match.customerID = try mailCustomer(for: m.senderExternal, channel: channel) }
        if let answered = try await captureSatisfaction(m, channel: channel, match: match, key: key) { return answered }
        let messageID = MessageID()
        var early: [SequencedEvent] = []
        let threadID: ThreadID
        var reopen = false
        switch match.decision {
        case .existing(let id):
            threadID = state.threadLinks.survivor(of: id)
        case .reopen(let id):
            threadID = state.threadLinks.survivor(of: id)
            reopen = !AutoReplyDetection.isAutomatic(m)  // an out-of-office reply reopens nothing
        case .new:
            let subject = m.subject.flatMap { $0.isEmpty ? nil : $0 } ?? Self.subjectLine(from: m.messageContent)
            let decision = RoutingPlanner.plan(subject: m.subject, body: m.messageContent, requestedType: nil,
                                               requestedPriority: nil, channelRules: channel.autoAssignmentRules,
                                               globalRules: state.rules)
            let header = ThreadHeader(
                threadSubject: subject, threadType: decision.threadType, priority: decision.priority,
                businessEntity: channel.businessEntity, channelType: channel.channelType, orderID: match.orderID,
                customerID: match.customerID, customerOrganizationID: match.organizationID,
                createdAt: m.receivedAt, externalReferences: ThreadState.references(of: m),
                requiredSkills: decision.skillMatching ? decision.requiredSkills : [])
            early = try open(header, routing: decision)
            threadID = header.id
        }
        guard let actor = actor(threadID) else { throw EngineError(.unavailable, "thread \(threadID) has no actor") }
        state.external[key] = EngineState.MessageRef(thread: threadID, message: messageID, seq: 0)
        let events: [SequencedEvent]
        do {
            events = try await actor.receive(m, messageID: messageID, channel: channel, reopen: reopen, links: match,
                                             policy: slaPolicy(channel: channel.id, team: state.board.team[threadID]))
        } catch {
            state.external[key] = nil  // not recorded: a retry must not look like a duplicate
            await notifyAgents(early)
            throw error
        }
        project(events)
        updateTimers(threadID, after: events)
        if reopen { early += (try? drainIfNeeded(threadID)) ?? [] }
        let answered = await autoRespond(to: m, channel: channel, thread: threadID, actor: actor)
        await notifyAgents(early + answered)
        return IngestResult(threadID: threadID, messageID: messageID, seq: max(events.last!.seq, answered.last?.seq ?? 0),
                            duplicate: false, rule: match.rule)
    }

    /// Ingests a batch in order in one visit to the supervisor (saves two
    /// actor hops per message against calling `ingest` for each).
    public func ingest(batch: [InboundMessage]) async -> [Result<IngestResult, EngineError>] {
        var out: [Result<IngestResult, EngineError>] = []
        out.reserveCapacity(batch.count)
        for m in batch {
            do {
                out.append(.success(try await ingest(m)))
            } catch let e as EngineError {
                out.append(.failure(e))
            } catch {
                out.append(.failure(EngineError(.unavailable, "\(ErrorText.describe(error))")))
            }
        }
        return out
    }

    private func drainIfNeeded(_ thread: ThreadID) throws -> [SequencedEvent] {
        // A reopened thread whose person is gone waits in its team queue; see if someone can take it.
        guard state.board.assignee[thread] == nil, let t = state.board.team[thread] else { return [] }
        return try drainQueue(t)
    }

    /// Opens a thread: journals it, starts its actor, routes it.
    func open(_ header: ThreadHeader, routing: RoutingDecision, assignTo: ContactID? = nil) throws -> [SequencedEvent] {
        var events = try commit([.threadOpened(header)])
        threads[header.id] = ThreadActor(state: ThreadState(header: header, lastSeq: events[0].seq), owner: self)
        let team = routing.team.flatMap { state.board.teamID(named: $0) } ?? header.assignedTeamID
        if let assignTo {
            events += try commit([.threadAssigned(thread: header.id, team: team, agent: assignTo, reason: "manual")])
        } else if let team {
            let needs = AssignmentBoard.Needs(skills: header.requiredSkills, skillMatching: true)
            let agent = state.board.choose(team: team, needs: needs)
            events += try commit([.threadAssigned(thread: header.id, team: team, agent: agent,
                                              reason: agent == nil ? "queued: nobody free (\(routing.reason))" : routing.reason)])
        } else {
            logger.notice("thread has no team to route to", metadata: ["thread.id": "\(header.id)", "routing.reason": "\(routing.reason)"])
        }
        return events
    }

    /// Delivery status reported by a provider for one of our messages. A
    /// report that does not move the message forward (a repeat, or a late
    /// `delivered` after `read`) changes nothing and journals nothing: nil.
    /// A person setting a status through the API (`setDelivery`) may go back.
    ///
    /// `failure`: the provider's code and title for a `failed` or `bounced`
    /// report — kept with the message, shown in the thread as a notice, and
    /// a task for the assignee (as when a gateway reports a failed send).
    public func updateDelivery(channel: ChannelID, externalMessageID: String, status: DeliveryStatus, at: Date,
                               failure: (code: String?, title: String?)? = nil) async throws -> UInt64? {
        let key = EngineState.ExternalKey(channel: channel, externalID: externalMessageID)
        guard let ref = try knownMessage(key) else {
            // Perhaps ours, its send report still on the way: held for a while, applied when it names this id.
            earlyReceipts.hold(key, .init(status: status, at: at, failureCode: failure?.code, failureTitle: failure?.title,
                                          heldAt: clock.now()))
            throw EngineError(.notFound, "no message with external_message_id \(externalMessageID) on channel \(channel) "
                + "(held \(Int(EarlyDeliveryReports.lifetime / 60)) minutes in case its send report is still on its way)")
        }
        guard let actor = actor(ref.thread) else { throw EngineError.notFound("thread", ref.thread) }
        if let current = await deliveryStatus(of: ref.message, in: actor), !status.advances(from: current) { return nil }
        var events = try await actor.record(
            [.deliveryStatusChanged(message: ref.message, thread: ref.thread, status: status, at: at)]
                + (status == .failed || status == .bounced
                    ? [.messageAnnotated(message: ref.message, thread: ref.thread,
                                         annotation: .deliveryError(code: failure?.code, title: failure?.title), at: at)]
                    : []))
        project(events)
        if status == .failed || status == .bounced {
            let what = [failure?.code.map { "(\($0))" }, failure?.title].compactMap { $0 }.joined(separator: " ")
            events += try await deliveryNotice(ref.message, thread: ref.thread, actor, clock.now(), title: "Delivery failed",
                text: "The provider reported the message \(status.rawValue)\(what.isEmpty ? "" : ": " + what). Change it and send it again, or reach the customer another way.")
            await notifyAgents(events)
        }
        return events.last!.seq
    }

    public func setDelivery(message: MessageID, status: DeliveryStatus, at: Date) async throws -> UInt64 {
        guard let thread = try knownThread(ofMessage: message) else { throw EngineError.notFound("message", message) }
        return try await setDelivery(message: message, thread: thread, status: status, at: at)
    }

    private func setDelivery(message: MessageID, thread: ThreadID, status: DeliveryStatus, at: Date) async throws -> UInt64 {
        guard let actor = actor(thread) else { throw EngineError.notFound("thread", thread) }
        let events = try await actor.record([.deliveryStatusChanged(message: message, thread: thread, status: status, at: at)])
        project(events)
        return events.last!.seq
    }

    // MARK: Threads through the API

    /// Creates a thread by hand (API). Routed like an inbound one unless assigned.
    public func createThread(_ draft: ThreadHeader, assignTo: ContactID?, team: TeamID?) async throws -> [SequencedEvent] {
        if let a = assignTo, state.contacts[a] == nil { throw EngineError.notFound("contact", a) }
        if let t = team, state.teams[t] == nil { throw EngineError.notFound("team", t) }
        if let c = draft.customerID, state.index.customers[c] == nil { throw EngineError.notFound("customer", c) }
        if let o = draft.orderID, state.index.orders[o] == nil { throw EngineError.notFound("order", o) }
        guard !exists(draft.id) else { throw EngineError(.conflict, "thread \(draft.id) exists") }
        var header = draft
        header.assignedTeamID = team
        let decision = RoutingPlanner.plan(subject: header.threadSubject, body: "", requestedType: header.threadType,
                                           requestedPriority: header.priority, channelRules: nil, globalRules: state.rules)
        var routing = decision
        if let team { routing.team = team.description }
        let events = try open(header, routing: routing, assignTo: assignTo)
        await notifyAgents(events)
        return events
    }

    /// Changes header fields and/or the assignment of a thread.
    public func updateThread(_ id: ThreadID, change: ThreadChange, assignTo: ContactID??, team: TeamID?) async throws -> [SequencedEvent] {
        guard let actor = actor(id) else { throw EngineError.notFound("thread", id) }
        if case .some(.some(let a)) = assignTo, state.contacts[a] == nil { throw EngineError.notFound("contact", a) }
        if let t = team, state.teams[t] == nil { throw EngineError.notFound("team", t) }
        let now = clock.now()
        let current = await actor.state
        var events = try await actor.change(change, at: now, policy: slaPolicy(channel: Self.waitChannel(current),
                                                                             team: state.board.team[id]))
        project(events)
        updateTimers(id, after: events)
        if assignTo != nil || team != nil {
            let agent: ContactID? = assignTo ?? state.board.assignee[id]
            let targetTeam = team ?? state.board.team[id]
            if agent != state.board.assignee[id] || targetTeam != state.board.team[id] {
                events += try commit([.threadAssigned(thread: id, team: targetTeam, agent: agent, reason: "manual")])
            }
        }
        if let s = change.status, !s.isOpen, let t = state.board.team[id] {
            events += try drainQueue(t)
        } else if let t = state.board.team[id], change.status?.isOpen == true {
            events += try drainQueue(t)
        }
        events += await satisfactionSurveys(after: events)
        await notifyAgents(events)
        return events
    }

    /// Adds a message from inside the company: an outgoing answer (goes to
    /// the outbox as `pending`), an internal note, a logged phone call.
    public func addMessage(_ header: MessageHeader, body: MessageBody, statusAfter: ThreadStatus? = nil) async throws -> [SequencedEvent] {
        try await addMessage(header, body: body, statusAfter: statusAfter, also: [])
    }

    /// `addMessage` with `also`: events journaled with the message, all or none (the template it was written with).
    func addMessage(_ header: MessageHeader, body: MessageBody, statusAfter: ThreadStatus?,
                    also: [EngineEvent]) async throws -> [SequencedEvent] {
        guard let actor = actor(header.threadID) else { throw EngineError.notFound("thread", header.threadID) }
        guard body.messageContent.utf8.count + (body.messageHtml?.utf8.count ?? 0) <= configuration.maxMessageBytes else {
            throw EngineError.invalid("message is larger than \(configuration.maxMessageBytes) bytes")
        }
        var policy: SLAPolicy?
        if statusAfter != nil { policy = slaPolicy(channel: Self.waitChannel(await actor.state), team: state.board.team[header.threadID]) }
        var events = try await actor.add(header, body: body, statusAfter: statusAfter, policy: policy, also: also)
        project(events)
        updateTimers(header.threadID, after: events)
        events += await callbackTask(for: header, body: body)
        events += await satisfactionSurveys(after: events)
        await notifyAgents(events)
        return events
    }

    // MARK: Tasks and templates (stored here until their own workflow lands)

    public func upsertTask(_ t: InternalTask) throws -> UInt64 {
        if let th = t.threadID, !exists(th) { throw EngineError.notFound("thread", th) }
        if let a = t.assignedToContactID, state.contacts[a] == nil { throw EngineError.notFound("contact", a) }
        do { _ = try TaskReminderSettings(t.reminderSettings) } catch { throw EngineError.invalid(error.description) }
        return try commit([.taskUpserted(withResponseTarget(t))]).last!.seq
    }

    public func upsertTemplate(_ t: Template) throws -> UInt64 {
        try commit([.templateUpserted(t)]).last!.seq
    }

    // MARK: Tokens and audit

    public func issueToken(_ t: APIToken) throws -> UInt64 {
        if let c = t.contactID, state.contacts[c] == nil { throw EngineError.notFound("contact", c) }
        guard state.tokenByHash[t.secretHash] == nil else { throw EngineError(.conflict, "token already exists") }
        return try commit([.tokenIssued(t)]).last!.seq
    }

    public func revokeToken(_ id: TokenID) throws -> UInt64 {
        guard let t = state.tokens[id] else { throw EngineError.notFound("token", id) }
        guard t.revokedAt == nil else { throw EngineError(.conflict, "token \(id) is already revoked") }
        return try commit([.tokenRevoked(token: id, at: clock.now())]).last!.seq
    }

    /// Records an audit entry; returns its sequence number (acknowledge after it).
    @discardableResult
    public func audit(_ entry: AuditEntry) throws -> UInt64 {
        try commit([.audited(entry)]).last!.seq
    }

    // MARK: Views

    /// A thread's header and messages: its recent messages, or with
    /// `history` every message (older ones from the store's history).
    public func thread(_ id: ThreadID, history: Bool = false) async -> ThreadView? {
        if history { return await settledState(id).map { view(withHistory($0)) } }
        if let d = dormant[id] { return view(d) }
        guard let actor = threads[id] else { return nil }
        return view(await actor.state)
    }

    /// A thread's header and its newest `messages` messages (from the
    /// store's history where the thread no longer holds them), and whether
    /// older ones were left out: what one request may read of a thread.
    public func thread(_ id: ThreadID, latest messages: Int) async -> ThreadPage? {
        guard let s = await settledState(id) else { return nil }
        let (latest, truncated) = withLatestHistory(s, count: messages)
        return ThreadPage(view: view(latest), olderLeftOut: truncated, held: s.messages)
    }

    /// A thread's state once the store's history rows agree with it: right
    /// after a merge or split of the thread, its rows move only at their commit.
    func settledState(_ id: ThreadID) async -> ThreadState? {
        let s: ThreadState
        if let d = dormant[id] {
            s = d
        } else if let actor = threads[id] {
            s = await actor.state
        } else {
            return nil
        }
        if s.lastSeq > journal.durableSeq, (try? await settleHistory([id])) != nil, let actor = threads[id] {
            return await actor.state
        }
        return s
    }

    /// Headers of several threads, in the given order (for an inbox page).
    public func headers(_ ids: [ThreadID]) async -> [ThreadHeader] {
        var out: [ThreadHeader] = []
        out.reserveCapacity(ids.count)
        for id in ids {
            if let s = dormant[id] {
                out.append(view(s).header)
            } else if let actor = threads[id] {
                out.append(view(await actor.state).header)
            }
        }
        return out
    }

    private func view(_ s: ThreadState) -> ThreadView {
        var h = s.header
        h.assignedToContactID = state.board.assignee[h.id]
        h.assignedTeamID = state.board.team[h.id] ?? h.assignedTeamID
        return ThreadView(header: h, messages: s.messages)
    }

    public func agentState(_ id: ContactID) async -> AgentState? {
        if let resting = restingAgents[id] { return resting }
        return await agents[id]?.state
    }

    public var threadCount: Int { threads.count + dormant.count }
    public var agentCount: Int { agents.count + restingAgents.count }

    /// Copies of every thread and agent state, each with the sequence number it
    /// reflects, for a fuzzy snapshot. Traffic continues between the copies.
    func snapshotSources() -> (state: EngineState, watermark: UInt64, threads: [ThreadActor],
                               dormant: [ThreadState], agents: [AgentActor]) {
        for id in Array(restingAgents.keys) { _ = agentActor(id) }
        return (state, lastCommittedSeq, Array(threads.values), Array(dormant.values), Array(agents.values))
    }

    static func subjectLine(from body: String) -> String {
        var bytes = body
        if let line = bytes.withUTF8(asciiSubjectLine) { return line }
        // The first non-empty line, without splitting the whole body.
        let start = body.firstIndex { !$0.isNewline } ?? body.endIndex
        let line = String(body[start..<(body[start...].firstIndex(where: \.isNewline) ?? body.endIndex)])
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return "(no subject)" }
        return trimmed.count > 80 ? String(trimmed.prefix(77)) + "..." : trimmed
    }

    /// `subjectLine` on bytes when the first non-empty line is ASCII (a
    /// newline is a grapheme cluster of its own, so the line ends where the
    /// Character path ends it); nil otherwise. Spaces and tabs are what
    /// Foundation's `.whitespaces` trims among ASCII (`SubjectLineOracleTests`).
    static func asciiSubjectLine(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        @inline(__always) func newline(_ x: UInt8) -> Bool { x &- 0x0A < 4 }  // LF, VT, FF, CR
        @inline(__always) func blank(_ x: UInt8) -> Bool { x == 0x20 || x == 0x09 }
        var lo = 0
        while lo < b.count, newline(b[lo]) { lo += 1 }
        var hi = lo
        while hi < b.count, !newline(b[hi]) {
            guard b[hi] < 0x80 else { return nil }
            hi += 1
        }
        while lo < hi, blank(b[lo]) { lo += 1 }
        while hi > lo, blank(b[hi - 1]) { hi -= 1 }
        if lo == hi { return "(no subject)" }
        if hi - lo > 80 { return String(decoding: UnsafeBufferPointer(rebasing: b[lo..<(lo + 77)]), as: UTF8.self) + "..." }
        return String(decoding: UnsafeBufferPointer(rebasing: b[lo..<hi]), as: UTF8.self)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let c = components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
}
