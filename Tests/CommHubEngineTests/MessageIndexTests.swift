import CommHubDomain
@testable import CommHubEngine
@testable import CommHubStore
import CommHubWire
import Dispatch
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

        func open(recentMessagesPerThread: Int? = nil) throws -> DurableEngine {
            var configuration = EngineConfiguration()
            configuration.recentMessageIDs = MessageIndexTests.window
            if let recentMessagesPerThread { configuration.recentMessagesPerThread = recentMessagesPerThread }
            var options = JournalOptions(syncMode: .noSync, mapSize: 64 << 20)
            options.maxBatchEvents = 64
            return try DurableEngine(directory: directory, clock: clock, configuration: configuration, options: options, logger: logger())
        }

        /// The engine opened, with a WhatsApp channel.
        func started(recentMessagesPerThread: Int? = nil) async throws -> (DurableEngine, Channel) {
            let durable = try open(recentMessagesPerThread: recentMessagesPerThread)
            let c = MessageIndexTests.whatsApp()
            _ = try await durable.engine.supervisor.upsertChannel(c)
            return (durable, c)
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
        var (durable, c) = try await site.started()
        var sup = durable.engine.supervisor
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

    /// One scenario on an in-memory engine (every message in memory) and on
    /// the store with 4 recent messages per thread: after status reports on
    /// old messages, a merge, a split from an old message and an erasure,
    /// and after restarts, every thread lists the same messages in both.
    /// (Erasing a split's source or a merged thread is the next test's.)
    @Test func threadsKeepTheirRecentMessagesAndListEveryOneFromTheStore() async throws {
        let site = Site()
        defer { site.remove() }
        var configuration = EngineConfiguration()
        configuration.recentMessagesPerThread = 4
        configuration.recentMessageIDs = Self.window
        let memory = Engine.inMemory(clock: site.clock, configuration: configuration)
        var options = JournalOptions(syncMode: .noSync, mapSize: 64 << 20)
        options.maxBatchEvents = 64
        func openDurable() throws -> DurableEngine {
            try DurableEngine(directory: site.directory, clock: site.clock, configuration: configuration, options: options, logger: logger())
        }
        var durable = try openDurable()
        let c = Self.whatsApp()
        let now = site.clock.now()
        let answers = (0..<6).map { _ in MessageID() }

        /// The scenario on one engine: the threads of chats 1, 2 and 3, and the thread split off chat 2.
        func play(_ engine: Engine) async throws -> [String: ThreadID] {
            let sup = engine.supervisor
            _ = try await sup.upsertChannel(c)
            var threads: [String: ThreadID] = [:]
            for i in 0..<12 {
                for chat in 1...4 {
                    let r = try await sup.ingest(Self.inbound(c, "wamid.\(chat).\(i)", chat: chat, at: now.addingTimeInterval(Double(i * 10 + chat))))
                    try await sup.journal.waitDurable(r.seq)
                    threads["chat\(chat)"] = r.threadID
                }
                if i < answers.count {
                    let h = MessageHeader(id: answers[i], threadID: threads["chat1"]!, channelID: c.id, channelType: .whatsappBusiness,
                                          messageType: .outgoing, deliveryStatus: .pending, createdAt: now.addingTimeInterval(Double(i * 10 + 5)))
                    let e = try await sup.addMessage(h, body: MessageBody(messageContent: "Antwoord \(i)"))
                    let claims = try await sup.claimOutgoing(channels: [c.id], gateway: "gw", max: 1, lease: .seconds(60))
                    let r = try await sup.reportOutgoing(message: answers[i], gateway: "gw", attempt: claims[0].entry.attempts,
                                                         report: .sent(providerMessageID: "wamid.out.\(i)"))
                    _ = (e, r)
                }
            }
            // Receipts for the oldest answers, long out of the window by now.
            _ = try await sup.updateDelivery(channel: c.id, externalMessageID: "wamid.out.0", status: .read, at: now.addingTimeInterval(500))
            _ = try await sup.updateDelivery(channel: c.id, externalMessageID: "wamid.out.1", status: .delivered, at: now.addingTimeInterval(500))
            _ = try await sup.setDelivery(message: answers[2], status: .failed, at: now.addingTimeInterval(501))
            _ = try await sup.mergeThread(threads["chat3"]!, into: threads["chat1"]!, by: nil)
            let from = try #require(await sup.message(channel: c.id, externalID: "wamid.2.3")?.message)
            let split = try await sup.splitThread(threads["chat2"]!, from: from, by: nil)
            threads["split"] = split.thread
            let audit = AuditEntry(at: now, actorContactID: nil, actorTokenID: nil, action: "retention.expire", entity: "thread",
                                   entityID: threads["chat4"]!.description)
            _ = try await engine.expireThreads([threads["chat4"]!], audit: audit)
            return threads
        }

        /// Every thread's messages, keyed by provider id (or own id), with what reports changed.
        func listing(_ engine: Engine, _ threads: [String: ThreadID]) async -> [String: [String]] {
            var out: [String: [String]] = [:]
            for (name, id) in threads {
                let v = await engine.supervisor.thread(id, history: true)
                out[name] = (v?.messages ?? []).map { m in
                    "\(m.externalMessageID ?? (answers.contains(m.id) ? "answer" : m.messageType.rawValue)) \(m.messageType.rawValue) "
                        + "\(m.deliveryStatus.rawValue) read:\(m.readAt != nil) subject:\(m.subject ?? "-")"
                }.sorted()
                out[name + ".count"] = ["\(v?.header.messageCount ?? -1)"]
            }
            return out
        }

        let inMemory = try await play(memory)
        let expected = await listing(memory, inMemory)
        let stored = try await play(durable.engine)
        let recent = await durable.engine.supervisor.thread(stored["chat1"]!)!.messages.count
        #expect(recent <= 5, "the thread keeps \(recent) messages in memory")
        let got = await listing(durable.engine, stored)
        #expect(got == expected, "\(Self.difference(got, expected))")
        #expect(expected["chat1"]!.count > 20 && expected["split"]!.count > 5, "\(expected)")

        await durable.shutdown(snapshot: false)
        durable = try openDurable()
        let journalled = await listing(durable.engine, stored)
        #expect(journalled == expected, "after a restart from the journal: \(Self.difference(journalled, expected))")
        _ = try await durable.snapshot()
        await durable.shutdown(snapshot: true)
        durable = try openDurable()
        let snapshotted = await listing(durable.engine, stored)
        #expect(snapshotted == expected, "after a restart from a snapshot: \(Self.difference(snapshotted, expected))")
        await durable.shutdown(snapshot: false)
    }

    /// A split is journaled under its source's key and a merge under the
    /// merged thread's, yet each record also carries the other thread's
    /// messages. Retention expires exactly those threads first (a merged
    /// thread is closed at once; a split's source is the older case), so
    /// their keys are destroyed while the split-off thread and the survivor
    /// live on. Every later replay must still rebuild those two: from the
    /// records of this process and, after a restart, of an earlier one.
    @Test func erasingASplitsSourceOrAMergedThreadKeepsTheOtherThreadAcrossReplays() async throws {
        let site = Site()
        defer { site.remove() }
        var (durable, c) = try await site.started()
        var sup = durable.engine.supervisor
        let now = site.clock.now()
        var threads: [Int: ThreadID] = [:]
        for (chat, count) in [(1, 6), (2, 4), (3, 3)] {
            for i in 0..<count {
                let r = try await sup.ingest(Self.inbound(c, "wamid.\(chat).\(i)", chat: chat, at: now.addingTimeInterval(Double(chat * 100 + i))))
                try await sup.journal.waitDurable(r.seq)
                threads[chat] = r.threadID
            }
        }
        let (source, survivor, merged) = (threads[1]!, threads[2]!, threads[3]!)
        let from = try #require(await sup.message(channel: c.id, externalID: "wamid.1.3")?.message)
        // The writer held busy: the split, the merge and the erasure are planned before either move is committed,
        // so the store still lists the moved messages under the threads they left.
        let writerHeld = DispatchSemaphore(value: 0)
        let writer = durable.writer
        let hold = Task { try await writer.perform("test.hold") { _ in writerHeld.wait() } }
        try await Task.sleep(for: .milliseconds(20))
        let split = try await sup.splitThread(source, from: from, by: nil).thread
        _ = try await sup.mergeThread(merged, into: survivor, by: nil)
        let release = Task { try await Task.sleep(for: .milliseconds(300)); writerHeld.signal() }

        func listing(_ sup: Supervisor, _ id: ThreadID) async -> [String] {
            (await sup.thread(id, history: true)?.messages ?? []).compactMap(\.externalMessageID).sorted()
        }
        func expire(_ engine: Engine, _ ids: [ThreadID]) async throws {
            let audit = AuditEntry(at: now, actorContactID: nil, actorTokenID: nil, action: "retention.expire", entity: "thread",
                                   entityID: "\(ids.count) threads")
            _ = try await engine.expireThreads(ids, audit: audit)
        }
        try await expire(durable.engine, [source, merged])
        _ = try await (hold.value, release.value)
        let expected = (split: ["wamid.1.3", "wamid.1.4", "wamid.1.5"],
                        survivor: ["wamid.2.0", "wamid.2.1", "wamid.2.2", "wamid.2.3", "wamid.3.0", "wamid.3.1", "wamid.3.2"])
        #expect(await listing(sup, split) == expected.split)
        #expect(await listing(sup, survivor) == expected.survivor)
        #expect(try !durable.writer.hasDataKey(.thread(source)) && !durable.writer.hasDataKey(.thread(merged)), "the erased keys are destroyed")
        #expect(await listing(sup, source).isEmpty)
        await durable.shutdown(snapshot: false)
        durable = try site.open()
        sup = durable.engine.supervisor
        #expect(await listing(sup, split) == expected.split, "the split-off thread after a replay")
        #expect(await listing(sup, survivor) == expected.survivor, "the survivor after a replay")
        #expect(await listing(sup, source).isEmpty, "the erased source stays erased")
        #expect(await listing(sup, merged).isEmpty, "the erased merged thread stays erased")

        // A split journaled by an earlier process, its source erased after a restart.
        for id in expected.split + expected.survivor {
            let m = await sup.message(channel: c.id, externalID: id)?.message
            #expect(m != nil, "\(id) is still known (a retry is a duplicate)")
            #expect(try m.flatMap { try durable.writer.body(for: $0) } != nil, "\(id) keeps its body \(durable.restoreReport.replayedEvents)")
        }
        let from2 = try #require(await sup.message(channel: c.id, externalID: "wamid.1.4")?.message)
        let split2 = try await sup.splitThread(split, from: from2, by: nil).thread
        await durable.shutdown(snapshot: false)
        durable = try site.open()
        sup = durable.engine.supervisor
        try await expire(durable.engine, [split])
        await durable.shutdown(snapshot: false)
        durable = try site.open()
        sup = durable.engine.supervisor
        #expect(await listing(sup, split2) == ["wamid.1.4", "wamid.1.5"], "a split of an earlier process after its source was erased")
        #expect(await listing(sup, survivor) == expected.survivor)
        await durable.shutdown(snapshot: false)
    }

    /// A thread keeps its recent messages and, however old, the customer's
    /// last message on each channel: a run of answers must not push it out
    /// (the next answer's recipient, WhatsApp's window and the CSAT and SLA
    /// channel are read from it). The full listing stays in journal order.
    @Test func aRunOfAnswersKeepsTheCustomersLastMessageInMemory() async throws {
        let site = Site()
        defer { site.remove() }
        let (durable, c) = try await site.started(recentMessagesPerThread: 4)
        let sup = durable.engine.supervisor
        let now = site.clock.now()
        let quoted = try await sup.ingest(Self.inbound(c, "wamid.quoted", chat: 7, at: now.addingTimeInterval(-60)))
        let first = try await sup.ingest(Self.inbound(c, "wamid.in", chat: 7, at: now))
        #expect(quoted.threadID == first.threadID)
        for i in 0..<12 {
            let h = MessageHeader(id: MessageID(), threadID: first.threadID, channelID: c.id, channelType: .whatsappBusiness,
                                  messageType: .outgoing, deliveryStatus: .pending, createdAt: now.addingTimeInterval(Double(i + 1)))
            let e = try await sup.addMessage(h, body: MessageBody(messageContent: "Antwoord \(i)"))
            try await sup.journal.waitDurable(e.last!.seq)
        }
        let recent = try #require(await sup.thread(first.threadID))
        #expect(recent.messages.count <= 6, "\(recent.messages.count) messages in memory")
        #expect(recent.messages.first?.externalMessageID == "wamid.in", "the customer's message stays in memory")
        #expect(WhatsAppWindow.isOpen(recent.messages, channel: c.id, at: now.addingTimeInterval(3600)))
        let full = try #require(await sup.thread(first.threadID, history: true))
        #expect(full.messages.count == 14)
        #expect(full.messages.map(\.createdAt) == full.messages.map(\.createdAt).sorted(), "the listing is in journal order")

        // An answer quoting the customer's older message: the gateway gets the quote and the recipient.
        let answer = MessageHeader(id: MessageID(), threadID: first.threadID, channelID: c.id, channelType: .whatsappBusiness,
                                   messageType: .outgoing, deliveryStatus: .pending, createdAt: now.addingTimeInterval(100))
        _ = try await sup.addMessage(answer, body: MessageBody(messageContent: "Zie hierboven",
                                                               metadata: ["reply_to_message_id": .string(quoted.messageID.description)]))
        let claimed = try await OutboxService(engine: durable.engine)
            .claim(.init(channelIDs: [c.id], max: 20, leaseSeconds: 60), gateway: "gw").messages
        let out = try #require(claimed.first { $0.messageID == answer.id })
        #expect(out.replyTo?.externalMessageID == "wamid.quoted", "\(String(describing: out.replyTo))")
        #expect(out.lastInbound?.externalMessageID == "wamid.in")
        #expect(out.recipient?.waID == "31612340007", "\(String(describing: out.recipient))")
        await durable.shutdown(snapshot: false)
    }

    /// A resolved thread is mostly history: it keeps in memory only each
    /// channel's last incoming message (the reply window), lists every message
    /// from the store, reopens when the customer writes again, and is trimmed
    /// the same way after a restart from the journal and from a snapshot.
    @Test func aResolvedThreadKeepsOnlyItsLastIncomingMessageInMemory() async throws {
        let site = Site()
        defer { site.remove() }
        var (durable, c) = try await site.started(recentMessagesPerThread: 16)
        var sup = durable.engine.supervisor
        let now = site.clock.now()
        var thread: ThreadID?
        for i in 0..<12 {
            let r = try await sup.ingest(Self.inbound(c, "wamid.r.\(i)", chat: 9, at: now.addingTimeInterval(Double(i))))
            thread = r.threadID
            let h = MessageHeader(id: MessageID(), threadID: r.threadID, channelID: c.id, channelType: .whatsappBusiness,
                                  messageType: .outgoing, deliveryStatus: .pending, createdAt: now.addingTimeInterval(Double(i) + 0.5))
            let e = try await sup.addMessage(h, body: MessageBody(messageContent: "Antwoord \(i)"))
            try await sup.journal.waitDurable(e.last!.seq)
        }
        let id = try #require(thread)
        let before = try #require(await sup.thread(id, history: true)).messages.map(\.id)
        #expect(before.count == 24)
        #expect(try #require(await sup.thread(id)).messages.count > 12, "an open thread keeps its recent window")

        let resolved = try await sup.updateThread(id, change: ThreadChange(status: .resolved), assignTo: nil, team: nil)
        try await sup.journal.waitDurable(resolved.last!.seq)
        func inMemory(_ sup: Supervisor) async throws -> [MessageHeader] { try #require(await sup.thread(id)).messages }
        var kept = try await inMemory(sup)
        #expect(kept.map(\.externalMessageID) == ["wamid.r.11"], "\(kept.map(\.externalMessageID))")
        #expect(WhatsAppWindow.isOpen(kept, channel: c.id, at: now.addingTimeInterval(3600)), "the reply window still counts")
        #expect(try #require(await sup.thread(id, history: true)).messages.map(\.id) == before, "every message is listed from the store")

        // Restarts: from the journal, then from a snapshot.
        await durable.shutdown(snapshot: false)
        durable = try site.open(recentMessagesPerThread: 16)
        sup = durable.engine.supervisor
        kept = try await inMemory(sup)
        #expect(kept.map(\.externalMessageID) == ["wamid.r.11"], "after replay: \(kept.map(\.externalMessageID))")
        #expect(try #require(await sup.thread(id, history: true)).messages.map(\.id) == before)
        _ = try await durable.snapshot()
        await durable.shutdown(snapshot: true)
        durable = try site.open(recentMessagesPerThread: 16)
        sup = durable.engine.supervisor
        kept = try await inMemory(sup)
        #expect(kept.map(\.externalMessageID) == ["wamid.r.11"], "after a snapshot: \(kept.map(\.externalMessageID))")

        // The customer writes again within the reopen window: the same thread opens and grows its window again.
        let again = try await sup.ingest(Self.inbound(c, "wamid.r.again", chat: 9, at: now.addingTimeInterval(600)))
        try await sup.journal.waitDurable(again.seq)
        #expect(again.threadID == id)
        let reopened = try #require(await sup.thread(id, history: true))
        #expect(reopened.header.status.isOpen)
        #expect(reopened.messages.map(\.id) == before + [again.messageID])
        #expect(try await inMemory(sup).map(\.externalMessageID) == ["wamid.r.11", "wamid.r.again"])
        await durable.shutdown(snapshot: false)
    }

    /// What one request reads of a long thread is bounded: a view holds the newest messages (and
    /// says older ones exist), and pages walk every message in journal order, each reading only its
    /// own stored rows; a filter that matches rarely answers short pages with a cursor.
    @Test func aLongThreadIsReadPageByPage() async throws {
        let site = Site()
        defer { site.remove() }
        let (durable, c) = try await site.started(recentMessagesPerThread: 4)
        let sup = durable.engine.supervisor
        let now = site.clock.now()
        let first = try await sup.ingest(Self.inbound(c, "wamid.first", chat: 7, at: now))
        for i in 0..<60 {
            if i == 30 {
                let mid = try await sup.ingest(Self.inbound(c, "wamid.mid", chat: 7, at: now.addingTimeInterval(Double(i) + 0.5)))
                #expect(mid.threadID == first.threadID)
            }
            let h = MessageHeader(id: MessageID(), threadID: first.threadID, channelID: c.id, channelType: .whatsappBusiness,
                                  messageType: .outgoing, deliveryStatus: .pending, createdAt: now.addingTimeInterval(Double(i + 1)))
            let e = try await sup.addMessage(h, body: MessageBody(messageContent: "Antwoord \(i)"))
            try await sup.journal.waitDurable(e.last!.seq)
        }
        let all = try #require(await sup.thread(first.threadID, history: true)).messages
        #expect(all.count == 62)

        let latest = try #require(await sup.thread(first.threadID, latest: 10))
        #expect(latest.view.messages.map(\.id) == all.suffix(10).map(\.id))
        #expect(latest.olderLeftOut)
        #expect(latest.held.count < 10, "the thread holds few messages: the rest come from the store")
        #expect(latest.held.contains { $0.externalMessageID == "wamid.mid" }, "the window's inbound message stays held")
        let whole = try #require(await sup.thread(first.threadID, latest: 62))
        #expect(whole.view.messages.map(\.id) == all.map(\.id) && !whole.olderLeftOut)
        #expect(try #require(await sup.thread(first.threadID, latest: 61)).olderLeftOut)

        func walk(limit: Int, scan: Int, _ include: @escaping @Sendable (MessageHeader) -> Bool) async throws -> (ids: [MessageID], pages: Int, empty: Int) {
            var after: UInt64 = 0, ids: [MessageID] = [], pages = 0, empty = 0
            while true {
                let page = try #require(await sup.messagePage(thread: first.threadID, after: after, limit: limit, scan: scan, include: include))
                pages += 1
                if page.messages.isEmpty { empty += 1 }
                #expect(page.messages.count <= limit)
                ids += page.messages.map(\.id)
                guard let next = page.next else { return (ids, pages, empty) }
                #expect(next > after, "a cursor moves forward")
                after = next
                if pages > 100 { Issue.record("paging does not end"); return (ids, pages, empty) }
            }
        }
        let paged = try await walk(limit: 7, scan: 9) { _ in true }
        #expect(paged.ids == all.map(\.id), "pages list every message once, in journal order")
        let inbound = try await walk(limit: 50, scan: 9) { $0.messageType == .incoming }
        #expect(inbound.ids == all.filter { $0.messageType == .incoming }.map(\.id))
        #expect(inbound.pages >= 62 / 9 && inbound.empty > 0, "a rare filter answers short pages: \(inbound)")
        let exact = try await walk(limit: 62, scan: 1_000) { _ in true }
        #expect(exact.ids.count == 62 && exact.pages == 1, "a page that ends the thread has no cursor")
        #expect(await sup.messagePage(thread: ThreadID(), after: 0, limit: 5, scan: 5) { _ in true } == nil)
        await durable.shutdown(snapshot: false)
    }

    /// A gateway claims an answer the moment it enters the outbox, before
    /// its commit put the body in the store: the claim must carry the text
    /// (it read no body and sent an empty message).
    @Test func aClaimRightAfterTheAnswerCarriesItsText() async throws {
        let site = Site()
        defer { site.remove() }
        let (durable, c) = try await site.started()
        let sup = durable.engine.supervisor
        let now = site.clock.now()
        let inbound = try await sup.ingest(Self.inbound(c, "wamid.q", chat: 9, at: now))
        try await sup.journal.waitDurable(inbound.seq)
        let writerHeld = DispatchSemaphore(value: 0)
        let writer = durable.writer
        let hold = Task { try await writer.perform("test.hold") { _ in writerHeld.wait() } }
        try await Task.sleep(for: .milliseconds(20))
        let answer = MessageHeader(id: MessageID(), threadID: inbound.threadID, channelID: c.id, channelType: .whatsappBusiness,
                                   messageType: .outgoing, deliveryStatus: .pending, createdAt: now.addingTimeInterval(1))
        _ = try await sup.addMessage(answer, body: MessageBody(messageContent: "We komen morgen langs."))
        let release = Task { try await Task.sleep(for: .milliseconds(200)); writerHeld.signal() }
        let claimed = try await OutboxService(engine: durable.engine)
            .claim(.init(channelIDs: [c.id], max: 5, leaseSeconds: 60), gateway: "gw").messages
        _ = try await (hold.value, release.value)
        #expect(claimed.first { $0.messageID == answer.id }?.messageContent == "We komen morgen langs.")
        await durable.shutdown(snapshot: false)
    }

    /// A queued answer whose body is gone (erased, a damaged store) fails for good at its claim:
    /// the gateway is never handed an empty text to send.
    @Test func aClaimedMessageWithoutItsBodyFailsInsteadOfSendingNothing() async throws {
        let site = Site()
        defer { site.remove() }
        let (durable, c) = try await site.started()
        let sup = durable.engine.supervisor
        let now = site.clock.now()
        let inbound = try await sup.ingest(Self.inbound(c, "wamid.b", chat: 9, at: now))
        var answers: [MessageID] = []
        for text in ["Eerste antwoord", "Tweede antwoord"] {
            let answer = MessageHeader(id: MessageID(), threadID: inbound.threadID, channelID: c.id, channelType: .whatsappBusiness,
                                       messageType: .outgoing, deliveryStatus: .pending,
                                       createdAt: now.addingTimeInterval(Double(answers.count + 1)))
            let added = try await sup.addMessage(answer, body: MessageBody(messageContent: text))
            try await sup.journal.waitDurable(added.map(\.seq).max() ?? 0)
            answers.append(answer.id)
        }
        let lost = JournalWriter.bodyKey(answers[0])
        let removed = try await durable.writer.perform("test.lose body") { env in
            try env.write("test.lose body") { txn in try txn.delete(env.dbs.bodies, lost, "mdb_del(test)") }
        }
        #expect(removed)
        let claim = try await OutboxService(engine: durable.engine)
            .claim(.init(channelIDs: [c.id], max: 5, leaseSeconds: 60), gateway: "gw")
        #expect(claim.messages.map(\.messageID) == [answers[1]])
        #expect(claim.messages.first?.messageContent == "Tweede antwoord")
        let seq = try #require(claim.seq)
        try await sup.journal.waitDurable(seq)
        let entry = await sup.outboxEntry(answers[0])
        #expect(entry?.stage == .failed)
        #expect(entry?.errorCode == OutboxService.bodyUnavailable)
        await durable.shutdown(snapshot: false)
    }

    /// A new message's history row is its journal record's envelope (sealed once for both), read back as the
    /// header; a status report rewrites it as a header row; a row copied under another thread's key is refused.
    @Test func aNewMessagesRowIsItsRecordsEnvelopeAndStaysWithItsThread() async throws {
        let site = Site()
        defer { site.remove() }
        let (durable, c) = try await site.started()
        let sup = durable.engine.supervisor
        let now = site.clock.now()
        let first = try await sup.ingest(Self.inbound(c, "wamid.e.1", chat: 11, at: now))
        let other = try await sup.ingest(Self.inbound(c, "wamid.e.2", chat: 12, at: now.addingTimeInterval(1)))
        try await sup.journal.waitDurable(other.seq)
        let writer = durable.writer
        func row(_ t: ThreadID, _ seq: UInt64) async throws -> [UInt8]? {
            try await writer.perform("test.read row") { env in
                try env.read { txn in try txn.get(env.dbs.threadMessages, MessageHistoryFormat.key(thread: t, seq: seq)) }
            }
        }
        let raw = try #require(try await row(first.threadID, first.seq))
        #expect(raw.first == MessageHistoryFormat.recordEnvelopeMarker)
        let stored = try #require(try writer.historyMessages(thread: first.threadID).first)
        #expect(stored.header.id == first.messageID && stored.header.externalMessageID == "wamid.e.1")

        // A row moved under another thread's key (same seq, so the envelope still opens) is refused.
        let forged = MessageHistoryFormat.key(thread: other.threadID, seq: first.seq)
        try await writer.perform("test.forge row") { env in
            try env.write("test.forge row") { txn in try txn.put(env.dbs.threadMessages, forged, raw, "mdb_put(test)") }
        }
        #expect(throws: StoreError.self) { try writer.historyMessages(thread: other.threadID) }
        try await writer.perform("test.unforge row") { env in
            try env.write("test.unforge row") { txn in _ = try txn.delete(env.dbs.threadMessages, forged, "mdb_del(test)") }
        }

        // A later change to the message rewrites its row as a header row.
        _ = try await sup.setDelivery(message: first.messageID, status: .read, at: now.addingTimeInterval(5))
        try await sup.journal.waitDurable(sup.journal.lastAssignedSeq)
        #expect(try await row(first.threadID, first.seq)?.first == MessageHistoryFormat.sealedMarker)
        #expect(try writer.historyMessages(thread: first.threadID).first?.header.deliveryStatus == .read)
        await durable.shutdown(snapshot: false)
    }

    static func difference(_ got: [String: [String]], _ want: [String: [String]]) -> String {
        want.keys.sorted().compactMap { k -> String? in
            let g = Set(got[k] ?? []), w = Set(want[k] ?? [])
            guard g != w || got[k]?.count != want[k]?.count else { return nil }
            return "\(k): missing \(w.subtracting(g).sorted()), extra \(g.subtracting(w).sorted()), counts \(got[k]?.count ?? 0)/\(want[k]?.count ?? 0)"
        }.joined(separator: "; ")
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
