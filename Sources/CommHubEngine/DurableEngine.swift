import CommHubDomain
import CommHubStore
import Foundation
import Logging

/// An engine whose events go to the LMDB journal, with snapshots and
/// restore. Start-up: cut a corrupt journal tail, load the newest snapshot
/// that reads back intact (falling back to older ones, then to a full
/// replay), replay the journal after it, and only then serve.
public final class DurableEngine: Sendable {
    public let engine: Engine
    public let writer: JournalWriter
    public let restoreReport: RestoreReport
    private let logger: Logger
    public let keepSnapshots: Int

    /// What start-up did, for logs, `/healthz` and the admin socket.
    public struct RestoreReport: Sendable, Hashable {
        public var snapshotID: UInt64?
        public var snapshotStartSeq: UInt64
        public var snapshotsSkipped: Int
        public var replayedEvents: Int
        public var droppedTailSeqs: [UInt64]
        public var lastSeq: UInt64
        public var threads: Int
        public var milliseconds: Int
    }

    /// Snapshot record kinds (first byte of each record). 1–3 are JSON;
    /// 4 is a thread in the compact form (written since the compact journal
    /// payloads; kind 2 is still read).
    enum RecordKind: UInt8 {
        case supervisor = 1
        case thread = 2
        case agent = 3
        case compactThread = 4
    }

    public init(directory: String, clock: any EngineClock, configuration: EngineConfiguration = EngineConfiguration(),
                options: JournalOptions = JournalOptions(), keepSnapshots: Int = 3, logger: Logger) throws {
        let started = ContinuousClock.now
        let relay = CommitRelay()
        let writer = try JournalWriter(directory: directory, options: options, logger: logger, onCommit: relay.deliver,
                                       onAcknowledged: relay.deliverAcknowledged)
        do {
            let repair = try writer.repairTail()
            if !repair.isClean {
                logger.warning("cut a corrupt journal tail", metadata: [
                    "journal.dropped": "\(repair.droppedCount)", "journal.first_dropped": "\(repair.firstDroppedSeq ?? 0)",
                    "journal.reason": "\(repair.reason ?? "")"])
            }
            var restored = RestoredEngine()
            var used: SnapshotInfo?
            var skipped = 0
            for info in try writer.snapshots() {
                do {
                    restored = try Self.load(info, from: writer)
                    used = info
                    break
                } catch {
                    skipped += 1
                    logger.error("snapshot unreadable, trying an older one", metadata: ["snapshot.id": "\(info.id)", "error": "\(error)"])
                    restored = RestoredEngine()
                }
            }
            let startSeq = used?.startSeq ?? 0
            restored.reserve(events: Int(clamping: writer.lastAssignedSeq &- min(startSeq, writer.lastAssignedSeq)))
            let replay = try writer.replay(after: startSeq) { restored.replay($0) }
            self.writer = writer
            self.keepSnapshots = keepSnapshots
            self.logger = logger
            self.engine = Engine(restored: restored, journal: writer, relay: relay, bodies: writer, clock: clock,
                                 configuration: configuration, logger: logger)
            let ms = Int((ContinuousClock.now - started).nanoseconds / 1_000_000)
            restoreReport = RestoreReport(snapshotID: used?.id, snapshotStartSeq: startSeq, snapshotsSkipped: skipped,
                                          replayedEvents: replay.applied, droppedTailSeqs: repair.droppedSeqs,
                                          lastSeq: max(restored.lastSeq, writer.lastAssignedSeq),
                                          threads: restored.threads.count, milliseconds: ms)
            logger.info("engine restored", metadata: [
                "snapshot.id": "\(used?.id ?? 0)", "journal.replayed": "\(replay.applied)",
                "engine.threads": "\(restored.threads.count)", "restore.ms": "\(ms)"])
        } catch {
            writer.close()
            throw error
        }
    }

    private static func load(_ info: SnapshotInfo, from writer: JournalWriter) throws -> RestoredEngine {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .deferredToDate
        var image: SupervisorImage?
        var threads: [ThreadID: ThreadState] = [:]
        threads.reserveCapacity(Int(clamping: info.recordCount))  // nearly every record is a thread
        var agents: [ContactID: AgentState] = [:]
        try writer.readSnapshot(info) { record in
            guard let first = record.first, let kind = RecordKind(rawValue: first) else {
                throw EngineError(.unavailable, "unknown record kind in snapshot \(info.id)")
            }
            var json: Data { Data(record.dropFirst()) }
            switch kind {
            case .supervisor: image = try decoder.decode(SupervisorImage.self, from: json)
            case .thread:
                let t = try decoder.decode(ThreadState.self, from: json)
                threads[t.id] = t
            case .compactThread:
                let t = try ThreadState.readCompact(Array(record.dropFirst()))
                threads[t.id] = t
            case .agent:
                let a = try decoder.decode(AgentState.self, from: json)
                agents[a.contact.id] = a
            }
        }
        guard let image else { throw EngineError(.unavailable, "snapshot \(info.id) has no supervisor image") }
        var r = RestoredEngine()
        r.state = EngineState.rebuilt(from: image, threads: threads)
        r.threads = threads
        r.agents = agents
        r.supervisorWatermark = image.watermark
        r.lastSeq = max(image.watermark, threads.values.map(\.lastSeq).max() ?? 0, info.endSeq)
        return r
    }

    /// Writes a snapshot while traffic continues: the supervisor's image,
    /// then each thread and agent as its actor holds it, each with the
    /// sequence number it reflects. Valid once the journal is durable
    /// through every event it reflects; older snapshots beyond
    /// `keepSnapshots` and the journal before the oldest kept are dropped.
    @discardableResult
    public func snapshot() async throws -> SnapshotInfo {
        let startSeq = writer.lastAssignedSeq
        let sources = await engine.supervisor.snapshotSources()
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .deferredToDate
        let out = writer.beginSnapshot(startSeq: startSeq)
        do {
            func put(_ kind: RecordKind, _ value: some Encodable) throws {
                var bytes: [UInt8] = [kind.rawValue]
                bytes += try encoder.encode(value)
                out.append(bytes)
            }
            try put(.supervisor, SupervisorImage(state: sources.state, startSeq: startSeq, watermark: sources.watermark))
            var endSeq = max(startSeq, sources.watermark)
            for (i, t) in sources.threads.enumerated() {
                let s = await t.state
                endSeq = max(endSeq, s.lastSeq)
                out.append(try s.compactRecord(kind: RecordKind.compactThread.rawValue))
                // Back-pressure: let the writer thread catch up instead of buffering the whole snapshot.
                if i % 20_000 == 19_999 { try await out.waitForChunks() }
            }
            for (i, s) in sources.dormant.enumerated() {
                endSeq = max(endSeq, s.lastSeq)
                out.append(try s.compactRecord(kind: RecordKind.compactThread.rawValue))
                if i % 20_000 == 19_999 { try await out.waitForChunks() }
            }
            for a in sources.agents {
                let s = await a.state
                endSeq = max(endSeq, s.lastSeq)
                try put(.agent, s)
            }
            let info = try await out.finish(endSeq: endSeq)
            try await writer.pruneSnapshots(keep: keepSnapshots)
            logger.info("snapshot written", metadata: ["snapshot.id": "\(info.id)", "snapshot.start_seq": "\(startSeq)",
                                                       "snapshot.threads": "\(sources.threads.count + sources.dormant.count)"])
            return info
        } catch {
            out.abort()
            throw error
        }
    }

    /// Flushes the journal, writes a final snapshot and closes the store.
    public func shutdown(snapshot takeSnapshot: Bool = true) async {
        if takeSnapshot {
            do { try await snapshot() } catch { logger.error("final snapshot failed", metadata: ["error": "\(error)"]) }
        }
        try? await writer.flush()
        writer.close()
    }
}
