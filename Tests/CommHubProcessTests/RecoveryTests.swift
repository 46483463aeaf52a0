import CommHubDomain
import CommHubEngine
import CommHubLoadTest
import CommHubServer
import CommHubStore
import Foundation
import Logging
import Testing

/// Restore paths of `DurableEngine` on real LMDB files: a corrupt newest
/// snapshot falls back to the previous one, garbage after the last valid
/// journal record is cut, and the restored engine equals the one that wrote.
@Suite struct RecoveryTests {
    static func tempDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("commhub-recovery-\(UUID().uuidString)").path
    }

    static var quiet: Logger {
        var l = Logger(label: "test")
        l.logLevel = .critical
        return l
    }

    /// Writes some traffic; returns the thread ids and message count.
    static func traffic(_ engine: Engine, from: Int, count: Int, channel: Channel) async throws -> Set<ThreadID> {
        var threads = Set<ThreadID>()
        for i in from..<(from + count) {
            let m = InboundMessage(channelID: channel.id, externalMessageID: "m\(i)",
                                   threadReference: ExternalReference(.smsChat, "+3197:+316\(i % 5)"),
                                   senderExternal: ExternalParty(phone: "+316\(i % 5)"), messageContent: "bericht \(i)",
                                   receivedAt: Date(timeIntervalSince1970: 1_795_600_800 + Double(i)))
            let r = try await engine.supervisor.ingest(m)
            try await engine.durable(r.seq)
            threads.insert(r.threadID)
        }
        return threads
    }

    static func setup(_ engine: Engine) async throws -> Channel {
        _ = try await engine.supervisor.upsertTeam(Team(name: "t"))
        _ = try await engine.supervisor.upsertContact(Contact(name: "a", teams: [], presence: .online))
        let c = Channel(channelType: .sms, channelName: "sms", businessEntity: .chargecars)
        _ = try await engine.supervisor.upsertChannel(c)
        return c
    }

    static func fingerprint(_ engine: Engine) async -> [String] {
        var out: [String] = []
        let page = engine.inbox.page(InboxFilter(statuses: []), limit: 500, cursor: nil)
        for h in await engine.supervisor.headers(page.threadIDs) {
            let v = await engine.supervisor.thread(h.id)!
            out.append("\(h.id) \(h.status) \(h.messageCount) \(v.messages.map { $0.externalMessageID ?? "" })")
        }
        return out.sorted()
    }

    @Test func corruptNewestSnapshotFallsBackToThePreviousOne() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var before: [String] = []
        var newest: UInt64 = 0
        do {
            let d = try DurableEngine(directory: dir, clock: SystemClock(), logger: Self.quiet)
            let channel = try await Self.setup(d.engine)
            _ = try await Self.traffic(d.engine, from: 0, count: 20, channel: channel)
            try await d.snapshot()
            _ = try await Self.traffic(d.engine, from: 20, count: 20, channel: channel)
            newest = try await d.snapshot().id
            _ = try await Self.traffic(d.engine, from: 40, count: 5, channel: channel)
            before = await Self.fingerprint(d.engine)
            // Damage the newest snapshot's first chunk.
            try await d.writer.injectRawSnapshotChunkForTesting(snapshotID: newest, chunkIndex: 0, bytes: Array(repeating: 0xAB, count: 64))
            await d.shutdown(snapshot: false)
        }
        let restored = try DurableEngine(directory: dir, clock: SystemClock(), logger: Self.quiet)
        #expect(restored.restoreReport.snapshotsSkipped == 1)
        #expect(restored.restoreReport.snapshotID != nil && restored.restoreReport.snapshotID != newest)
        #expect(await Self.fingerprint(restored.engine) == before)
        await restored.shutdown(snapshot: false)
    }

    /// Flips one payload byte of the record under `seq` (its checksum no longer matches).
    static func damage(_ dir: String, seq: UInt64) async throws {
        let w = try JournalWriter(directory: dir, logger: Self.quiet)
        defer { w.close() }
        var raw = try #require(try w.rawJournalRecord(seq: seq))
        raw[raw.count - 1] ^= 0x5A
        try await w.injectRawJournalRecordForTesting(seq: seq, bytes: raw)
    }

    /// The seq of the `messageAdded` event of provider message `external`.
    static func seq(ofMessage external: String, in dir: String) throws -> UInt64 {
        let w = try JournalWriter(directory: dir, logger: Self.quiet)
        defer { w.close() }
        var found: UInt64?
        try w.replay(after: try w.checkJournal().prunedThrough) { e in
            if case .messageAdded(let h, _, _) = e.event, h.externalMessageID == external { found = e.seq }
        }
        return try #require(found)
    }

    /// A damaged record that restore needs stops start-up with a message that
    /// names it; nothing is deleted; the explicit repair voids that record only,
    /// and everything acknowledged after it is still there.
    @Test func damageInTheMiddleRefusesStartAndRepairVoidsOnlyTheDamagedRecord() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var last: UInt64 = 0
        do {
            let d = try DurableEngine(directory: dir, clock: SystemClock(), logger: Self.quiet)
            let channel = try await Self.setup(d.engine)
            _ = try await Self.traffic(d.engine, from: 0, count: 30, channel: channel)
            last = d.writer.lastAssignedSeq
            await d.shutdown(snapshot: false)
        }
        let victim = try Self.seq(ofMessage: "m12", in: dir)
        try await Self.damage(dir, seq: victim)
        do {
            _ = try DurableEngine(directory: dir, clock: SystemClock(), logger: Self.quiet)
            Issue.record("the engine started on a damaged journal")
        } catch let e as JournalDamageError {
            #expect(e.description.contains("journal record seq \(victim) is damaged"))
            #expect(e.description.contains("commhub journal repair"))
            #expect(e.check.lastSeq == last, "every record after the damage is still there")
        }
        // Refusing changed nothing; the operator repairs explicitly.
        do {
            let w = try JournalWriter(directory: dir, logger: Self.quiet)
            defer { w.close() }
            #expect(try w.checkJournal().damage.map(\.seq) == [victim])
            let repair = try w.repairJournal(apply: true)
            #expect(repair.lostEvents == 1)
        }
        let restored = try DurableEngine(directory: dir, clock: SystemClock(), logger: Self.quiet)
        let messages = await Self.fingerprint(restored.engine).joined(separator: " ")
        for i in 0..<30 where i != 12 { #expect(messages.contains("\"m\(i)\""), "m\(i) was acknowledged and must survive") }
        #expect(!messages.contains("\"m12\""))
        #expect(restored.restoreReport.voidRecords == 1)
        // Numbering continues after the last record: nothing is numbered twice.
        let seq = try await restored.engine.supervisor.upsertOrganization(Organization(name: "na", kind: .partner))
        #expect(seq == last + 1)
        try await restored.engine.durable(seq)
        await restored.shutdown(snapshot: false)
    }

    /// Damage below the newest snapshot: restore does not need the record, so
    /// the engine starts, and it neither reuses sequence numbers nor forgets a
    /// provider message acknowledged after the damage (a re-send is a duplicate).
    @Test func damageBeforeTheSnapshotNeverReusesSeqsOrForgetsAcknowledgedMessages() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var channel: Channel!
        var last: UInt64 = 0
        do {
            let d = try DurableEngine(directory: dir, clock: SystemClock(), logger: Self.quiet)
            channel = try await Self.setup(d.engine)
            _ = try await Self.traffic(d.engine, from: 0, count: 10, channel: channel)
            try await d.snapshot()
            _ = try await Self.traffic(d.engine, from: 10, count: 10, channel: channel)
            try await d.snapshot()
            _ = try await Self.traffic(d.engine, from: 20, count: 10, channel: channel)
            last = d.writer.lastAssignedSeq
            await d.shutdown(snapshot: false)
        }
        // Between the two snapshots: kept in the journal, not needed to restore from the newest.
        try await Self.damage(dir, seq: try Self.seq(ofMessage: "m15", in: dir))
        let restored = try DurableEngine(directory: dir, clock: SystemClock(), logger: Self.quiet)
        defer { Task { await restored.shutdown(snapshot: false) } }
        let again = InboundMessage(channelID: channel.id, externalMessageID: "m25",
                                   threadReference: ExternalReference(.smsChat, "+3197:+3160"),
                                   senderExternal: ExternalParty(phone: "+3160"), messageContent: "bericht 25",
                                   receivedAt: Date(timeIntervalSince1970: 1_795_600_825))
        #expect(try await restored.engine.supervisor.ingest(again).duplicate)
        let seq = try await restored.engine.supervisor.upsertOrganization(Organization(name: "na", kind: .partner))
        #expect(seq == last + 1)
        try await restored.engine.durable(seq)
        #expect(try restored.writer.checkJournal().damageCount == 1, "the check still reports the old damage")
    }
}

/// A few seconds of `commhub loadtest` against an embedded engine: it
/// completes, with zero errors and a well-formed summary.
@Suite struct LoadTestSmoke {
    /// Runs `commhub loadtest ARGS --quiet --json FILE` and returns its summary.
    func loadtest(_ arguments: [String]) throws -> LoadTestSummary {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("lt-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        p.arguments = ["loadtest"] + arguments + ["--quiet", "--json", json.path]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return try ContractJSON.decoder().decode(LoadTestSummary.self, from: Data(contentsOf: json))
    }

    @Test func loadtestCompletesWithoutErrors() async throws {
        let summary = try loadtest(["--duration", "3", "--warmup", "1", "--connections", "2", "--pipeline", "4",
                                    "--query-rate", "5", "--operations-rate", "4"])
        #expect(summary.errors == 0)
        #expect(summary.eventsAcknowledged > 0)
        #expect(summary.ingest.count == summary.framesAcknowledged)
        #expect(summary.ingest.p50Micros <= summary.ingest.p99Micros && summary.ingest.p99Micros <= summary.ingest.maxMicros)
        #expect(summary.queries.count > 0)
        #expect(summary.operations.count > 0, "presence changes and rebalances ran beside the ingest")
        #expect(summary.fanout == nil)
        let journal = try #require(summary.journal, "an embedded run reports its journal writer's figures")
        #expect(journal.batches > 0 && journal.eventsPerBatch >= 1)
        // Every acknowledged event was committed in one of the batches (the warm-up's too).
        #expect(Double(journal.batches) * journal.eventsPerBatch >= Double(summary.eventsAcknowledged))
        #expect(journal.commitMillisMean > 0)
    }

    /// Open loop with WebSocket subscribers: every subscriber gets the
    /// `message.created` frames, and the fan-out latency is reported.
    @Test func loadtestWithSubscribers() async throws {
        let summary = try loadtest(["--duration", "2", "--warmup", "1", "--rate", "200", "--connections", "2",
                                    "--subscribers", "5", "--query-rate", "0", "--operations-rate", "0"])
        #expect(summary.errors == 0, "\(summary.firstError ?? "")")
        #expect(summary.subscribers == 5)
        let fanout = try #require(summary.fanout)
        // Each of the 5 subscribers sees most of the messages acknowledged in the window.
        #expect(fanout.count > summary.eventsAcknowledged * 5 / 2)
        #expect(summary.subscriberFrames == fanout.count)
        #expect(fanout.p50Micros <= fanout.p99Micros && fanout.p99Micros <= fanout.maxMicros)
    }
}
