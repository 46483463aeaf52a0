import CommHubDomain
import CommHubEngine
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
        _ = await engine.supervisor.upsertTeam(Team(name: "t"))
        _ = try await engine.supervisor.upsertContact(Contact(name: "a", teams: [], presence: .online))
        let c = Channel(channelType: .sms, channelName: "sms", businessEntity: .chargecars)
        _ = await engine.supervisor.upsertChannel(c)
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

    @Test func garbageAfterTheLastRecordIsCutAndNothingAcknowledgedIsLost() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var before: [String] = []
        var last: UInt64 = 0
        do {
            let d = try DurableEngine(directory: dir, clock: SystemClock(), logger: Self.quiet)
            let channel = try await Self.setup(d.engine)
            _ = try await Self.traffic(d.engine, from: 0, count: 30, channel: channel)
            before = await Self.fingerprint(d.engine)
            last = d.writer.lastAssignedSeq
            await d.shutdown(snapshot: false)
        }
        do {
            // A torn record (length says more than there is) and garbage after it.
            let w = try JournalWriter(directory: dir, logger: Self.quiet)
            try await w.injectRawJournalRecordForTesting(seq: last + 1, bytes: [1, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 42])
            try await w.injectRawJournalRecordForTesting(seq: last + 2, bytes: Array("garbage".utf8))
            w.close()
        }
        let restored = try DurableEngine(directory: dir, clock: SystemClock(), logger: Self.quiet)
        #expect(restored.restoreReport.droppedTailSeqs == [last + 1, last + 2])
        #expect(await Self.fingerprint(restored.engine) == before)
        // It continues: new events get the sequence numbers after the cut.
        let seq = await restored.engine.supervisor.upsertOrganization(Organization(name: "na", kind: .partner))
        #expect(seq == last + 1)
        try await restored.engine.durable(seq)
        await restored.shutdown(snapshot: false)
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
