import CommHubDomain
import CommHubEngine
import CommHubStore
import Foundation
import Logging

/// The store logs opens and commits at info; fixtures keep quiet.
let journalLogger: Logger = {
    var l = Logger(label: "commhub.bench.fixture")
    l.logLevel = .error
    return l
}()

public let benchChannel: ChannelID = entityID(6, 1)

/// The journal's typical event: an inbound WhatsApp message with its body
/// (about 160 characters), as `Supervisor.ingest` appends it.
public func inboundMessageEvent(_ i: Int, threads: Int = 10_000) -> EngineEvent {
    let thread: ThreadID = entityID(3, i % threads)
    let h = MessageHeader(id: entityID(7, i), threadID: thread, channelID: benchChannel, channelType: .whatsappBusiness,
                          messageType: .incoming, senderExternal: ExternalParty(name: "Klant \(i % threads)", waID: "3161\(1_000_000 + i % threads)"),
                          externalMessageID: "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQTk\(i)", deliveryStatus: .delivered,
                          createdAt: benchEpoch.addingTimeInterval(Double(i)))
    let body = MessageBody(messageContent: "Hallo, mijn laadpaal geeft sinds de update van gisteren een rode lamp en laadt de auto niet meer op. Wat moet ik doen? Groet, Klant \(i % threads)")
    return .messageAdded(header: h, body: body, responseDueAt: benchEpoch.addingTimeInterval(Double(i) + 3600))
}

/// Writes a journal as the engine would have: one team of 20 online people
/// and a WhatsApp channel, `threads` threads (opened + assigned: 2 events
/// each) and inbound messages on them until `events` events in total.
public func writeSyntheticJournal(directory: String, threads: Int, events: Int) async throws {
    let writer = try JournalWriter(directory: directory, options: JournalOptions(syncMode: .noSync), logger: journalLogger)
    // As a new store opened by `DurableEngine`: the writer indexes every message from the first
    // one, so the store is marked indexed (else a restore would first rebuild the index, the
    // one-time upgrade of a store written before it, and time that instead).
    try writer.buildMessageIndex([])
    let team = Team(id: entityID(1, 1), name: "support")
    var batch: [EngineEvent] = [.teamUpserted(team)]
    var agents: [ContactID] = []
    for i in 0..<20 {
        let c = Contact(id: entityID(2, i), name: "Agent \(i)", teams: [team.id], skills: ["ev"],
                        maxOpenThreads: 1_000_000, presence: .online)
        batch.append(.contactUpserted(c))
        agents.append(c.id)
    }
    batch.append(.channelUpserted(Channel(id: benchChannel, channelType: .whatsappBusiness, channelName: "WhatsApp",
                                          businessEntity: .chargecars,
                                          autoAssignmentRules: AutoAssignmentRules(defaultAssignee: "support"))))
    var written = 0
    func push(_ e: EngineEvent) async throws {
        batch.append(e)
        if batch.count >= 4096 {
            written += batch.count
            try writer.append(contentsOf: batch)
            batch.removeAll(keepingCapacity: true)
            try await writer.flush()
        }
    }
    for t in 0..<threads {
        var h = header(entityID(3, t), channel: .whatsappBusiness)
        h.externalReferences = [.whatsapp(business: "31850001234", customer: "+3161\(1_000_000 + t)")]
        try await push(.threadOpened(h))
        try await push(.threadAssigned(thread: h.id, team: team.id, agent: agents[t % agents.count], reason: "channel default_assignee"))
    }
    var i = 0
    while written + batch.count < events {
        try await push(inboundMessageEvent(i, threads: threads))
        i += 1
    }
    if !batch.isEmpty { try writer.append(contentsOf: batch) }
    try await writer.flush()
    writer.close()
}

