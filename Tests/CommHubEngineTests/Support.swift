import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

/// An in-memory engine on a simulated clock, with helpers to build the
/// directory and push traffic through the supervisor's public API.
struct World {
    let clock: SimulatedClock
    let engine: Engine
    /// Every committed event, in order (subscribed before the first one).
    let tap: Subscription
    var sup: Supervisor { engine.supervisor }

    init(configuration: EngineConfiguration = EngineConfiguration()) {
        clock = SimulatedClock()
        engine = Engine.inMemory(clock: clock, configuration: configuration)
        tap = engine.bus.subscribe(capacity: 1 << 20)
    }

    // MARK: Directory

    @discardableResult
    func team(_ name: String, handOver: Bool = true) async -> Team {
        let t = Team(name: name, handOverOnOffline: handOver)
        _ = try! await sup.upsertTeam(t)  // the in-memory journal never refuses
        return t
    }

    @discardableResult
    func agent(_ name: String, _ teams: [Team], skills: [String] = [], max: Int = 25,
               presence: Presence = .online) async throws -> Contact {
        let c = Contact(name: name, email: "\(name.lowercased())@chargecars.nl", teams: teams.map(\.id), skills: skills,
                        maxOpenThreads: max, presence: presence)
        _ = try await sup.upsertContact(c)
        return c
    }

    @discardableResult
    func channel(_ type: ChannelType = .emailOutlook, brand: Brand? = .chargecars, rules: AutoAssignmentRules? = nil,
                 name: String? = nil) async -> Channel {
        let c = Channel(channelType: type, channelName: name ?? "\(type.rawValue) \(brand?.rawValue ?? "-")",
                        businessEntity: brand, autoAssignmentRules: rules)
        _ = try! await sup.upsertChannel(c)  // the in-memory journal never refuses
        return c
    }

    func rules(_ r: AutoAssignmentRules) async throws {
        _ = try await sup.setRoutingRules(r)
    }

    // MARK: Traffic

    @discardableResult
    func ingest(_ channel: Channel, ref: ExternalReference? = nil, inReplyTo: [String] = [], messageID: String? = nil,
                from party: ExternalParty = ExternalParty(email: "onbekend@example.nl"), subject: String? = nil,
                body: String = "Hallo", externalID: String = UUID().uuidString) async throws -> IngestResult {
        try await sup.ingest(InboundMessage(
            channelID: channel.id, externalMessageID: externalID, threadReference: ref, inReplyTo: inReplyTo,
            internetMessageID: messageID, senderExternal: party, subject: subject, messageContent: body,
            receivedAt: clock.now()))
    }

    func header(_ id: ThreadID) async throws -> ThreadHeader {
        try #require(await sup.thread(id)).header
    }

    func set(_ id: ThreadID, _ status: ThreadStatus) async throws {
        _ = try await sup.updateThread(id, change: ThreadChange(status: status), assignTo: nil, team: nil)
    }

    func presence(_ c: Contact, _ p: Presence) async throws -> [SequencedEvent] {
        try await sup.setPresence(c.id, p)
    }

    func assignee(_ id: ThreadID) async -> ContactID? { await sup.state.board.assignee[id] }

    func load(_ c: Contact) async -> Int { await sup.state.board.agents[c.id]?.load ?? -1 }

    func loads(_ people: Contact...) async -> [Int] {
        let board = await sup.state.board
        return people.map { board.agents[$0.id]?.load ?? -1 }
    }

    func queue(_ t: Team) async -> [ThreadID] { Array(await sup.state.board.teams[t.id]?.queue ?? []) }

    /// Everything committed so far, in order.
    func events() async -> [SequencedEvent] {
        var out: [SequencedEvent] = []
        while tap.buffered > 0 {
            guard case .event(let e)? = await tap.next() else { Issue.record("tap overflowed"); break }
            out.append(e)
        }
        return out
    }
}

/// "Every open thread has exactly one owner": it is in exactly one agent's
/// open set (the one the board names as assignee) or waits in exactly one
/// team queue; no agent holds a thread that is not open or not theirs.
func checkAssignmentInvariant(_ s: EngineState, sourceLocation: SourceLocation = #_sourceLocation) {
    let b = s.board
    var holders: [ThreadID: [ContactID]] = [:]
    for a in b.agents.values { for t in a.open { holders[t, default: []].append(a.id) } }
    var queued: [ThreadID: [TeamID]] = [:]
    for slot in b.teams.values { for t in slot.queue { queued[t, default: []].append(slot.team.id) } }
    for t in b.openThreads {
        let h = holders[t] ?? [], q = queued[t] ?? []
        if let a = b.assignee[t] {
            #expect(h == [a] && q.isEmpty, "thread \(t): assignee \(a), held by \(h), queued in \(q)", sourceLocation: sourceLocation)
        } else {
            #expect(h.isEmpty && q.count == 1, "unassigned thread \(t): held by \(h), queued in \(q)", sourceLocation: sourceLocation)
            #expect(q.first == b.team[t], "thread \(t) waits in the wrong queue", sourceLocation: sourceLocation)
        }
    }
    for (t, h) in holders where !b.openThreads.contains(t) {
        Issue.record("closed thread \(t) still held by \(h)", sourceLocation: sourceLocation)
    }
    for (t, q) in queued where !b.openThreads.contains(t) || b.assignee[t] != nil {
        Issue.record("thread \(t) queued in \(q) but closed or assigned", sourceLocation: sourceLocation)
    }
}

extension Array where Element == SequencedEvent {
    func count(named name: String) -> Int { filter { $0.event.name == name }.count }
}
