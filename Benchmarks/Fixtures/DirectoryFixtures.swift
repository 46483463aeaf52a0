import CommHubDomain
import CommHubEngine
import Foundation
import Logging

// MARK: Inbox read model

/// An inbox read model holding `threads` threads with a realistic mix of
/// statuses, priorities, channels, assignees and response deadlines (about a
/// third overdue at `benchEpoch`), fed through `InboxIndex.apply` with the
/// same `.threadOpened` / `.threadAssigned` events the engine publishes.
public func makeInbox(threads: Int = 1_000_000, agents: Int = 2_000) -> (InboxIndex, [ContactID]) {
    var rng = SplitMix(seed: 7)
    let inbox = InboxIndex()
    let team: TeamID = entityID(1, 1)
    let people: [ContactID] = (0..<agents).map { entityID(2, $0) }
    let subjects = ["Laadpaal werkt niet", "Vraag over mijn bestelling", "Offerte thuislader", "Storing meterkast",
                    "Installatie inplannen", "Factuur klopt niet", "Zaptec Go geeft foutcode", "Retour aanvragen"]
    var batch: [SequencedEvent] = []
    batch.reserveCapacity(8192)
    var seq: UInt64 = 0
    for i in 0..<threads {
        let r = rng.next()
        let status: ThreadStatus = switch r % 100 {
        case 0..<50: .open
        case 50..<65: .inProgress
        case 65..<75: .waitingCustomer
        case 75..<80: .waitingInternal
        case 80..<82: .escalated
        case 82..<95: .resolved
        default: .closed
        }
        let priority: Priority = switch (r >> 8) % 100 {
        case 0..<2: .critical
        case 2..<7: .urgent
        case 7..<22: .high
        case 22..<82: .normal
        default: .low
        }
        let channel: ChannelType = switch (r >> 16) % 100 {
        case 0..<50: .emailOutlook
        case 50..<85: .whatsappBusiness
        case 85..<95: .sms
        default: .phoneCall
        }
        var h = header(entityID(3, i), subject: subjects[Int((r >> 24) % UInt64(subjects.count))],
                       channel: channel, priority: priority, status: status)
        h.assignedTeamID = team
        if status.isOpen, channel != .phoneCall {
            // Due from 2 days ago to 5 days ahead: about 30% overdue at benchEpoch.
            let offset = Double((r >> 32) % (7 * 86_400)) - 2 * 86_400
            h.responseDueAt = benchEpoch.addingTimeInterval(offset)
            h.awaitingResponseSince = benchEpoch.addingTimeInterval(offset - 3600)
        }
        h.updatedAt = benchEpoch.addingTimeInterval(-Double((r >> 40) % 86_400))
        seq += 1
        batch.append(SequencedEvent(seq: seq, event: .threadOpened(h)))
        seq += 1
        let who = people[Int((r >> 48) % UInt64(agents))]
        batch.append(SequencedEvent(seq: seq, event: .threadAssigned(thread: h.id, team: team, agent: who, reason: "fixture")))
        if batch.count >= 8192 {
            inbox.apply(batch)
            batch.removeAll(keepingCapacity: true)
        }
    }
    inbox.apply(batch)
    return (inbox, people)
}

// MARK: Thread matching

/// A matching directory of `count` customers (e-mail + mobile number), as
/// many orders (one per customer) and as many WhatsApp threads (one per
/// customer, linked to the customer and the order). The first 1% of the
/// threads were resolved a day ago, so a message on their chat reopens them.
public struct MatchFixture {
    public var index: MatchIndex
    public var matcher: ThreadMatcher
    public var channel: ChannelID
    public var count: Int
    public var resolved: Int
}

public let businessNumber = "31850001234"

public func customerPhone(_ i: Int) -> String { "+316\(10_000_000 + i)" }
public func customerEmail(_ i: Int) -> String { "klant\(i)@example.nl" }
public func orderNumber(_ i: Int) -> String { "\(500_000 + i)" }

public func makeMatchIndex(count: Int = 100_000) -> MatchFixture {
    var index = MatchIndex()
    for i in 0..<count {
        let c = Customer(id: entityID(4, i), name: "Klant \(i)", emails: [EmailAddress(customerEmail(i))!],
                         phones: [PhoneNumber(customerPhone(i))!])
        index.apply(.customerUpserted(c))
        index.apply(.orderUpserted(Order(id: entityID(5, i), orderNumber: orderNumber(i), customerID: c.id, brand: .chargecars)))
    }
    for i in 0..<count {
        var h = header(entityID(3, i), channel: .whatsappBusiness)
        h.customerID = entityID(4, i)
        h.orderID = entityID(5, i)
        h.externalReferences = [.whatsapp(business: businessNumber, customer: customerPhone(i))]
        index.apply(.threadOpened(h))
    }
    let resolved = count / 100
    for i in 0..<resolved {
        index.apply(.threadChanged(thread: entityID(3, i), change: ThreadChange(status: .resolved),
                                   at: benchEpoch.addingTimeInterval(-86_400)))
    }
    return MatchFixture(index: index, matcher: ThreadMatcher(), channel: entityID(6, 1), count: count, resolved: resolved)
}

extension MatchFixture {
    /// One inbound WhatsApp/e-mail message per matching rule, each aimed at a
    /// different part of the directory.
    public func message(for rule: MatchRule) -> InboundMessage {
        let at = benchEpoch
        switch rule {
        case .externalReference:
            // A reply on the chat of an open thread.
            let i = count / 2
            return InboundMessage(channelID: channel, externalMessageID: "wamid.ref",
                                  threadReference: .whatsapp(business: businessNumber, customer: customerPhone(i)),
                                  senderExternal: ExternalParty(name: "Klant", waID: String(customerPhone(i).dropFirst())),
                                  messageContent: "Hoi, is er al nieuws over de installatie?", receivedAt: at)
        case .orderNumber:
            // An e-mail from an unknown address naming a known order with an open thread.
            return InboundMessage(channelID: channel, externalMessageID: "mail.order",
                                  inReplyTo: ["<unknown-1@mail.example.nl>"],
                                  senderExternal: ExternalParty(name: "Installateur", email: "planning@installer.example.nl"),
                                  subject: "Vraag over bestelling \(orderNumber(count / 3))",
                                  messageContent: "Goedemiddag,\n\nWanneer kunnen we de laadpaal komen plaatsen?\n\nGroet",
                                  receivedAt: at)
        case .customerOpenThread:
            // A known customer writes from a new address-less conversation (new chat id, known e-mail).
            let i = count * 2 / 3
            return InboundMessage(channelID: channel, externalMessageID: "mail.customer",
                                  senderExternal: ExternalParty(name: "Klant", email: "Klant <\(customerEmail(i))>"),
                                  subject: "Nog een vraag", messageContent: "Kan ik de laadstroom zelf instellen?",
                                  receivedAt: at)
        case .reopened:
            // A message on the chat of a thread resolved yesterday.
            let i = resolved / 2
            return InboundMessage(channelID: channel, externalMessageID: "wamid.reopen",
                                  threadReference: .whatsapp(business: businessNumber, customer: customerPhone(i)),
                                  senderExternal: ExternalParty(waID: String(customerPhone(i).dropFirst())),
                                  messageContent: "Hij doet het toch weer niet", receivedAt: at)
        case .newThread:
            // Nobody we know, no order number: a new thread.
            return InboundMessage(channelID: channel, externalMessageID: "wamid.new",
                                  threadReference: .whatsapp(business: businessNumber, customer: "+31699999999"),
                                  senderExternal: ExternalParty(waID: "31699999999"),
                                  messageContent: "Goedendag, ik wil graag een offerte voor een thuislader.", receivedAt: at)
        }
    }
}

// MARK: In-memory engine

/// An in-memory engine with one WhatsApp channel routed to team "support"
/// of `agents` online people with plenty of room.
public struct EngineFixture {
    public var engine: Engine
    public var clock: SimulatedClock
    public var channel: Channel
    public var team: Team
    public var agents: [Contact]
}

public func makeEngine(agents: Int = 20, capacity: Int = 1_000_000) async throws -> EngineFixture {
    let clock = SimulatedClock(start: benchEpoch)
    let engine = makeInMemoryEngine(clock: clock)
    let sup = engine.supervisor
    let team = Team(id: entityID(1, 1), name: "support")
    _ = try await sup.upsertTeam(team)
    var people: [Contact] = []
    for i in 0..<agents {
        let c = Contact(id: entityID(2, i), name: "Agent \(i)", teams: [team.id], skills: ["ev"],
                        maxOpenThreads: capacity, presence: .online)
        _ = try await sup.upsertContact(c)
        people.append(c)
    }
    let channel = Channel(id: entityID(6, 1), channelType: .whatsappBusiness, channelName: "WhatsApp ChargeCars",
                          businessEntity: .chargecars,
                          autoAssignmentRules: AutoAssignmentRules(defaultAssignee: "support"))
    _ = try await sup.upsertChannel(channel)
    return EngineFixture(engine: engine, clock: clock, channel: channel, team: team, agents: people)
}

extension EngineFixture {
    /// An inbound WhatsApp message from customer number `n` (one chat per number).
    public func whatsapp(from n: Int, message m: Int) -> InboundMessage {
        let phone = customerPhone(n)
        return InboundMessage(channelID: channel.id, externalMessageID: "wamid.\(n).\(m)",
                              threadReference: .whatsapp(business: businessNumber, customer: phone),
                              senderExternal: ExternalParty(name: "Klant \(n)", waID: String(phone.dropFirst())),
                              messageContent: "Hallo, mijn laadpaal geeft een rode lamp. Wat moet ik doen?",
                              receivedAt: clock.now())
    }
}

/// An in-memory engine whose agent "Source" holds 500 open threads in a team
/// of 20 colleagues with 10 threads each and room up to 100
/// (`Rebalance.drain500.supervisor`, `BenchProfile drain500Supervisor`).
public func makeDrainEngine() async throws -> (EngineFixture, ContactID) {
    var f = try await makeEngine(agents: 20, capacity: 100)
    let sup = f.engine.supervisor
    let source = Contact(id: entityID(2, 999), name: "Source", teams: [f.team.id], skills: ["ev"],
                         maxOpenThreads: 10_000, presence: .online)
    _ = try await sup.upsertContact(source)
    for i in 0..<500 {
        _ = try await sup.createThread(header(entityID(3, i)), assignTo: source.id, team: f.team.id)
    }
    for (a, agent) in f.agents.enumerated() {
        for j in 0..<10 {
            _ = try await sup.createThread(header(entityID(3, 1000 + a * 10 + j)), assignTo: agent.id, team: f.team.id)
        }
    }
    f.agents.append(source)
    return (f, source.id)
}

/// status open + priority high + channel WhatsApp.
public func highWhatsApp() -> InboxFilter {
    var f = InboxFilter(statuses: [.open])
    f.priorities = [.high]
    f.channelTypes = [.whatsappBusiness]
    return f
}

/// A 50-member team for `choose`: loads 0–24 of a 25 cap, 80% online, half with skill "ev".
public func makeChoiceBoard() -> DrainFixture {
    var rng = SplitMix(seed: 3)
    var b = AssignmentBoard()
    let team = Team(id: entityID(1, 1), name: "support")
    b.apply(.teamUpserted(team))
    var members: [ContactID] = []
    var n = 0
    for i in 0..<50 {
        let c = Contact(id: entityID(2, i), name: "agent \(i)", teams: [team.id], skills: i % 2 == 0 ? ["ev", "b2b"] : ["b2b"],
                        maxOpenThreads: 25, presence: rng.next() % 5 == 0 ? .away : .online)
        b.apply(.contactUpserted(c))
        members.append(c.id)
        for _ in 0..<Int(rng.next() % 25) {
            let id: ThreadID = entityID(3, n)
            n += 1
            b.apply(.threadOpened(header(id)))
            b.apply(.threadAssigned(thread: id, team: team.id, agent: c.id, reason: "fixture"))
        }
    }
    return DrainFixture(board: b, team: team.id, source: members[0], members: members)
}

/// An in-memory engine (the journal commits at once) with quiet logs.
public func makeInMemoryEngine(clock: any EngineClock) -> Engine {
    var logger = Logger(label: "commhub.bench")
    logger.logLevel = .error
    return Engine.inMemory(clock: clock, logger: logger)
}
