import CommHubDomain
import Foundation

/// A team as lists show it: the team, its members and its queue depth.
public struct TeamSummary: Sendable, Hashable {
    public var team: Team
    public var members: [ContactID]
    public var queueDepth: Int
}

/// A team's load right now (analytics, admin socket).
public struct TeamWorkload: Sendable, Hashable {
    public var id: TeamID
    public var name: String
    /// The first threads waiting for capacity, oldest first (as many as asked for).
    public var queueHead: [ThreadID]
    public var queueDepth: Int
    public var membersOnline: Int
    public var openThreadsAssigned: Int
    /// Free places of the online members (capacity minus load, never below 0 each).
    public var capacityFree: Int
}

/// A person with their open-thread load (analytics, admin socket).
public struct PersonWorkload: Sendable, Hashable {
    public var contact: Contact
    /// Open threads assigned to them.
    public var load: Int
}

/// Read-only questions the API, the admin socket and start-up ask the
/// supervisor: copies of what they need, never the whole state. Lists come
/// sorted as callers show them, with the id as the tie-break, so a page is
/// stable.
extension Supervisor {
    // MARK: Channels

    /// Every channel, by name.
    public func channelList() -> [Channel] {
        state.channels.values.sorted { ($0.channelName, $0.id) < ($1.channelName, $1.id) }
    }

    public func channel(_ id: ChannelID) -> Channel? { state.channels[id] }

    // MARK: People, teams, tokens, rules

    /// Every person, by name.
    public func contactList() -> [Contact] {
        state.contacts.values.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    public func contact(_ id: ContactID) -> Contact? { state.contacts[id] }

    /// Every token (revoked ones too), oldest first.
    public func tokenList() -> [APIToken] {
        state.tokens.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    /// Whether some person with the admin role holds a live token.
    public func hasLiveAdminToken() -> Bool {
        state.tokens.values.contains { t in
            t.revokedAt == nil && t.kind == .person && t.contactID.flatMap { state.contacts[$0]?.role } == .admin
        }
    }

    public func team(_ id: TeamID) -> Team? { state.teams[id] }

    public func teamIDs() -> Set<TeamID> { Set(state.teams.keys) }

    /// A team by id or (case-insensitive) name.
    public func teamID(named reference: String) -> TeamID? { state.board.teamID(named: reference) }

    /// Every team by name, with members and queue depth.
    public func teamList() -> [TeamSummary] {
        state.teams.values.sorted { ($0.name, $0.id) < ($1.name, $1.id) }.map { t in
            TeamSummary(team: t, members: state.board.teams[t.id]?.members ?? [], queueDepth: state.board.queueDepth(t.id))
        }
    }

    public func routingRules() -> AutoAssignmentRules { state.rules }

    // MARK: Workload

    /// The load of the given teams (all when nil), by team id, with the
    /// first `queueHead` queued threads of each.
    public func teamWorkloads(_ teams: Set<TeamID>? = nil, queueHead: Int = 0) -> [TeamWorkload] {
        let ids = teams.map { $0.filter { state.board.teams[$0] != nil } } ?? Set(state.board.teams.keys)
        return ids.sorted().compactMap { id -> TeamWorkload? in
            guard let slot = state.board.teams[id] else { return nil }
            let members = slot.members.compactMap { state.board.agents[$0] }
            let online = members.filter { $0.presence == .online }
            return TeamWorkload(id: id, name: slot.team.name, queueHead: Array(slot.queue.prefix(max(0, queueHead))), queueDepth: slot.queue.count,
                                membersOnline: online.count, openThreadsAssigned: members.reduce(0) { $0 + $1.load },
                                capacityFree: online.reduce(0) { $0 + max(0, $1.maxOpenThreads - $1.load) })
        }
    }

    /// People in any of the given teams (everyone when nil), by name, with their load.
    public func people(inTeams teams: Set<TeamID>? = nil) -> [PersonWorkload] {
        state.contacts.values
            .filter { c in teams.map { !Set(c.teams).isDisjoint(with: $0) } ?? true }
            .sorted { ($0.name, $0.id) < ($1.name, $1.id) }
            .map { PersonWorkload(contact: $0, load: state.board.agents[$0.id]?.load ?? 0) }
    }

    public func person(_ id: ContactID) -> PersonWorkload? {
        state.contacts[id].map { PersonWorkload(contact: $0, load: state.board.agents[id]?.load ?? 0) }
    }

    /// The open threads assigned to a person.
    public func openThreads(of id: ContactID) -> Set<ThreadID> { state.board.agents[id]?.open ?? [] }

    // MARK: Directory

    /// Customers whose name, e-mail or phone contains `text` (lower case;
    /// every customer when nil or empty), by name.
    public func customers(matching text: String?) -> [Customer] {
        let q = text?.lowercased() ?? ""
        return state.index.customers.values.filter { c in
            q.isEmpty || c.name.lowercased().contains(q) || c.emails.contains { $0.normalized.contains(q) }
                || c.phones.contains { $0.e164.contains(q) }
        }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    public func customer(_ id: CustomerID) -> Customer? { state.index.customers[id] }
    public func order(_ id: OrderID) -> Order? { state.index.orders[id] }
    public func order(number: String) -> Order? { state.index.order(number: number) }

    // MARK: Tasks and templates

    public func task(_ id: TaskID) -> InternalTask? { state.tasks[id] }

    /// The tasks `include` keeps (it runs on the supervisor's executor: keep it a plain filter).
    public func tasks(where include: @Sendable (InternalTask) -> Bool) -> [InternalTask] {
        state.tasks.values.filter(include)
    }

    /// The tasks of a thread, oldest first.
    public func tasks(ofThread id: ThreadID) -> [InternalTask] {
        state.tasks.values.filter { $0.threadID == id }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func template(_ id: TemplateID) -> Template? { state.templates[id] }

    /// The templates `include` keeps, by name.
    public func templates(where include: @Sendable (Template) -> Bool) -> [Template] {
        state.templates.values.filter(include).sorted { ($0.templateName, $0.id) < ($1.templateName, $1.id) }
    }

    // MARK: Messages and the outbox

    /// The outbox entry of a message, if it is one a gateway delivers.
    public func outboxEntry(_ id: MessageID) -> OutboxEntry? { state.outbox[id] }

    /// The outbox entries of several messages (those that have one), in one visit.
    public func outboxEntries(_ ids: [MessageID]) -> [MessageID: OutboxEntry] {
        var out: [MessageID: OutboxEntry] = [:]
        for id in ids { if let e = state.outbox[id] { out[id] = e } }
        return out
    }

    /// The messages in the outbox (not yet delivered), grouped by thread.
    public func outboxByThread() -> [ThreadID: Set<MessageID>] {
        var out: [ThreadID: Set<MessageID>] = [:]
        for (m, e) in state.outbox { out[e.thread, default: []].insert(m) }
        return out
    }

    /// The thread a message belongs to.
    public func threadOf(message id: MessageID) -> ThreadID? { try? knownThread(ofMessage: id) }
}

extension Supervisor {
    /// The message a provider id names on a channel.
    public func message(channel: ChannelID, externalID: String) -> (thread: ThreadID, message: MessageID)? {
        (try? knownMessage(EngineState.ExternalKey(channel: channel, externalID: externalID)))?.map { ($0.thread, $0.message) }
    }

    /// Records something learnt about a message after it was recorded (a file
    /// that followed it, a reaction, a provider's failure reason), through its
    /// thread so the thread's events stay in order. The stored body is patched
    /// in the same journal transaction.
    public func annotate(_ message: MessageID, _ annotation: MessageAnnotation) async throws -> UInt64 {
        guard let thread = try knownThread(ofMessage: message), let actor = actor(thread) else {
            throw EngineError.notFound("message", message)
        }
        let events = try await actor.record([.messageAnnotated(message: message, thread: thread, annotation: annotation,
                                                               at: clock.now())])
        project(events)
        return events.last!.seq
    }
}

extension Supervisor {
    /// The analytics figures as of now, by value: the caller sums them off
    /// this actor (the next change here copies the hour table once).
    public func analyticsFigures() -> AnalyticsFigures { state.analytics.figures }
}
