import CommHubDomain
@testable import CommHubEngine
import CommHubStore
import Foundation
import Logging
import Testing

/// Idempotency beyond the recent window, on real LMDB files: with a
/// recent-id window of 16, every provider id the engine ever acknowledged
/// is still known — from the store's message index — after hundreds of
/// newer messages, after merges and splits moved its message, after a send
/// report or Outlook's copy named it, and after restarts; an erasure's
/// provider ids go with its content, as in the engine's own table.
@Suite("Message index: idempotency for every id ever seen", .timeLimit(.minutes(3)))
struct MessageIndexTests {
    static let window = 16

    struct Site {
        let directory = NSTemporaryDirectory() + "commhub-index-" + UUID().uuidString.lowercased()
        let clock = SimulatedClock(start: Date(timeIntervalSince1970: 1_800_000_000))

        func open() throws -> DurableEngine {
            var configuration = EngineConfiguration()
            configuration.recentMessageIDs = MessageIndexTests.window
            var options = JournalOptions(syncMode: .noSync, mapSize: 64 << 20)
            options.maxBatchEvents = 64
            return try DurableEngine(directory: directory, clock: clock, configuration: configuration, options: options, logger: logger())
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    static func whatsApp() -> Channel {
        var c = Channel(channelType: .whatsappBusiness, channelName: "wa", businessEntity: .chargecars)
        c.isActive = true
        return c
    }

    static func inbound(_ c: Channel, _ id: String, chat: Int, at: Date) -> InboundMessage {
        InboundMessage(channelID: c.id, externalMessageID: id,
                       threadReference: ExternalReference(.whatsappChat, "1055:+3161234\(String(format: "%04d", chat))"),
                       senderExternal: ExternalParty(name: "Klant \(chat)", waID: "3161234\(String(format: "%04d", chat))"),
                       messageContent: "Bericht \(id)", receivedAt: at)
    }

    /// Enough newer messages (on other chats) to push every earlier id out of memory.
    static func flood(_ sup: Supervisor, _ c: Channel, _ tag: String, at: Date) async throws {
        for i in 0..<(window * 12) {
            let r = try await sup.ingest(inbound(c, "\(tag)-\(i)", chat: 1000 + i % 50, at: at))
            try await sup.journal.waitDurable(r.seq)  // as a gateway's acknowledgement waits
        }
    }

    @Test func everyAcknowledgedIdIsKnownAfterTheWindowMovedOnAndAfterRestarts() async throws {
        let site = Site()
        defer { site.remove() }
        let c = Self.whatsApp()
        var durable = try site.open()
        var sup = durable.engine.supervisor
        _ = try await sup.upsertChannel(c)
        let now = site.clock.now()

        // Inbound on three chats; one outgoing answer that a gateway reports sent with the provider's id.
        let a = try await sup.ingest(Self.inbound(c, "wamid.a", chat: 1, at: now))
        let b = try await sup.ingest(Self.inbound(c, "wamid.b", chat: 2, at: now))
        let b2 = try await sup.ingest(Self.inbound(c, "wamid.b2", chat: 2, at: now))
        let d = try await sup.ingest(Self.inbound(c, "wamid.d", chat: 3, at: now))
        let answer = MessageHeader(threadID: a.threadID, channelID: c.id, channelType: .whatsappBusiness, messageType: .outgoing,
                                   deliveryStatus: .pending, createdAt: now)
        _ = try await sup.addMessage(answer, body: MessageBody(messageContent: "Komt goed"))
        let claims = try await sup.claimOutgoing(channels: [c.id], gateway: "gw", max: 1, lease: .seconds(60))
        #expect(claims.map(\.message.id) == [answer.id])
        _ = try await sup.reportOutgoing(message: answer.id, gateway: "gw", attempt: claims[0].entry.attempts,
                                         report: .sent(providerMessageID: "wamid.out"))
        // Thread of chat 3 merged into chat 1's; chat 2's last message split off into its own thread.
        _ = try await sup.mergeThread(d.threadID, into: a.threadID, by: nil)
        let split = try await sup.splitThread(b.threadID, from: b2.messageID, by: nil)
        let splitThread = try #require(await sup.threadOf(message: b2.messageID))
        #expect(splitThread != b.threadID, "\(split)")

        try await Self.flood(sup, c, "first", at: now)
        let counts = await sup.recentMessageIDCounts()
        #expect(counts.rotations > 0, "the window never moved on: the test proves nothing")
        #expect(counts.external < Self.window * 12, "memory holds \(counts.external) recent ids")
        #expect(await sup.state.external[EngineState.ExternalKey(channel: c.id, externalID: "wamid.a")] == nil,
                "wamid.a is still in memory: the look-ups below would not reach the store")

        func expectKnown(_ label: String) async throws {
            let again = try await sup.ingest(Self.inbound(c, "wamid.a", chat: 1, at: now))
            #expect(again.duplicate && again.messageID == a.messageID && again.threadID == a.threadID && again.seq == a.seq, "\(label): \(again)")
            let merged = try await sup.ingest(Self.inbound(c, "wamid.d", chat: 3, at: now))
            #expect(merged.duplicate && merged.messageID == d.messageID && merged.threadID == a.threadID,
                    "\(label): a merged message names the survivor: \(merged)")
            let moved = try await sup.ingest(Self.inbound(c, "wamid.b2", chat: 2, at: now))
            #expect(moved.duplicate && moved.messageID == b2.messageID && moved.threadID == splitThread,
                    "\(label): a split message names its new thread: \(moved)")
            #expect(await sup.message(channel: c.id, externalID: "wamid.out")?.message == answer.id,
                    "\(label): the provider's id of a sent answer")
            #expect(await sup.threadOf(message: answer.id) == a.threadID, "\(label): the thread of an old message")
        }
        try await expectKnown("after the window moved on")

        // A receipt for the old answer still finds it.
        let receipt = try await sup.updateDelivery(channel: c.id, externalMessageID: "wamid.out", status: .delivered, at: now)
        #expect(receipt != nil)

        // Restart from the journal, then from a snapshot, and push the window on again each time.
        await durable.shutdown(snapshot: false)
        durable = try site.open()
        sup = durable.engine.supervisor
        #expect(await sup.recentMessageIDCounts().external == 0, "a restore keeps no id in memory")
        try await expectKnown("after a restart (journal)")
        _ = try await durable.snapshot()
        await durable.shutdown(snapshot: true)
        durable = try site.open()
        sup = durable.engine.supervisor
        try await Self.flood(sup, c, "second", at: now)
        try await expectKnown("after a restart (snapshot) and more traffic")

        // Retention expires chat 2's thread: its provider ids go with its content (a retry is new), in memory and in the store.
        let audit = AuditEntry(at: now, actorContactID: nil, actorTokenID: nil, action: "retention.expire", entity: "thread",
                               entityID: b.threadID.description)
        _ = try await durable.engine.expireThreads([b.threadID], audit: audit)
        try await Self.flood(sup, c, "third", at: now)
        let retried = try await sup.ingest(Self.inbound(c, "wamid.b", chat: 2, at: now))
        #expect(!retried.duplicate, "an expired thread's provider id is still known: \(retried)")
        await durable.shutdown(snapshot: false)
    }

    /// An engine without a store (in memory) keeps every id and never rotates.
    @Test func anInMemoryEngineKeepsEveryID() async throws {
        var configuration = EngineConfiguration()
        configuration.recentMessageIDs = Self.window
        let engine = Engine.inMemory(clock: SimulatedClock(), configuration: configuration)
        let c = Self.whatsApp()
        _ = try await engine.supervisor.upsertChannel(c)
        try await Self.flood(engine.supervisor, c, "x", at: Date())
        let counts = await engine.supervisor.recentMessageIDCounts()
        #expect(counts.rotations == 0 && counts.external == Self.window * 12)
    }

    /// The window's rule: a generation is dropped only once it is durable.
    @Test func aGenerationIsDroppedOnlyWhenDurable() {
        var index = RecentIndex<MessageID, ThreadID>()
        let ids = (0..<10).map { _ in MessageID() }
        for id in ids[0..<4] { index[id] = ThreadID() }
        var rotated = index.rotate(limit: 4, assignedThrough: 4, durableThrough: 0)
        #expect(rotated)  // the first generation has nothing before it
        for id in ids[4..<8] { index[id] = ThreadID() }
        rotated = index.rotate(limit: 4, assignedThrough: 8, durableThrough: 3)
        #expect(!rotated, "entries up to seq 4 are not durable yet")
        #expect(index.count == 8 && index[ids[0]] != nil)
        rotated = index.rotate(limit: 4, assignedThrough: 8, durableThrough: 4)
        #expect(rotated)
        #expect(index[ids[0]] == nil && index[ids[4]] != nil && index.count == 4)
        index[ids[5]] = nil
        #expect(index[ids[5]] == nil, "a removal reaches the older generation")
    }
}
