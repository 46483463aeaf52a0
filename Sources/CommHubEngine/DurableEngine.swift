import CommHubDomain
import CommHubStore
import Foundation
import Logging
import Synchronization

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
    private let snapshots = SingleFlight<SnapshotInfo>()

    /// What start-up did, for logs, `/healthz` and the admin socket.
    public struct RestoreReport: Sendable, Hashable {
        public var snapshotID: UInt64?
        public var snapshotStartSeq: UInt64
        public var snapshotsSkipped: Int
        public var replayedEvents: Int
        /// Void records passed over (seqs left by a repair).
        public var voidRecords: Int
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
        /// A compact thread whose response clock has progress (`ThreadState.sla`), appended as JSON.
        case compactThreadSLA = 5
        /// A customer, an order, a task: each its own record, sealed under
        /// the key of the person or thread it is about (the supervisor image
        /// then leaves them out), so erasing them shreds their snapshot copies too.
        case customer = 6
        case order = 7
        case task = 8
    }

    public init(directory: String, clock: any EngineClock, configuration: EngineConfiguration = EngineConfiguration(),
                options: JournalOptions = JournalOptions(), keepSnapshots: Int = 3, logger: Logger) throws {
        let started = ContinuousClock.now
        let relay = CommitRelay()
        let writer = try JournalWriter(directory: directory, options: options, logger: logger, onCommit: relay.deliver,
                                       onAcknowledged: relay.deliverAcknowledged)
        do {
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
                    logger.error("snapshot unreadable, trying an older one", metadata: ["snapshot.id": "\(info.id)", "error": "\(ErrorText.describe(error))"])
                    restored = RestoredEngine()
                }
            }
            let startSeq = used?.startSeq ?? 0
            // A store whose index holds every message (all but those written before it):
            // replay fills no id tables and keeps recent messages only (see `RestoredEngine`).
            let indexed = try writer.messageIndexBuilt()
            if indexed { restored.replayIntoIndexedStore(window: configuration.recentWindow) }
            restored.reserve(events: Int(clamping: writer.lastAssignedSeq &- min(startSeq, writer.lastAssignedSeq)))
            let replay: ReplayReport
            // A store from before the `audit` table: fill it once from the snapshot's trail and the replay.
            let indexAudit = try !writer.auditIndexed()
            var replayedAudit: [(seq: UInt64, entry: AuditEntry)] = []
            do {
                replay = try writer.replay(after: startSeq) { e in
                    if indexAudit, case .audited(let entry) = e.event { replayedAudit.append((e.seq, entry)) }
                    restored.replay(e)
                }
            } catch let e as StoreError where e.kind == .corrupted || e.kind == .journalGap {
                // Damage in what restore needs: refuse to start, say exactly what and what to do.
                let check = try writer.checkJournal(after: startSeq)
                guard !check.isClean else { throw e }
                throw JournalDamageError(check: check, snapshot: used, storeDirectory: directory)
            }
            if indexAudit {
                try writer.indexAudit(snapshotEntries: restored.legacyAudit, replayed: replayedAudit)
                logger.notice("audit trail moved into the store's audit table",
                              metadata: ["audit.entries": "\(restored.legacyAudit.count + replayedAudit.count)"])
            }
            restored.legacyAudit = []
            if try !writer.messageIndexBuilt() {
                let entries = Self.messageIndexEntries(restored)
                try writer.buildMessageIndex(entries)
                logger.notice("message index built from the restored engine (once, for a store written before it)",
                              metadata: ["messages.indexed": "\(entries.count)"])
            }
            // Every restored id is durable and in the store's message index: memory keeps only what comes next;
            // every restored message is in the store's history: threads keep their recent ones.
            restored.state.external.removeAll()
            restored.state.messageThread.removeAll()
            restored.state.recordsMessageIDs = true
            let window = configuration.recentWindow
            for i in restored.threads.values.indices {
                let status = restored.threads.values[i].header.status
                if restored.threads.values[i].messages.count >= window.trimAt(status) {
                    restored.threads.values[i].trimMessages(keep: window.keep(status), durableThrough: .max)
                }
            }
            self.writer = writer
            self.keepSnapshots = keepSnapshots
            self.logger = logger
            // Files live beside the store: <data>/attachments next to <data>/lmdb.
            let files = try AttachmentStore(root: ((directory as NSString).deletingLastPathComponent as NSString)
                .appendingPathComponent("attachments"), keys: options.sealRecords ? writer : nil)
            self.engine = Engine(restored: restored, journal: writer, messageIndex: writer, relay: relay, bodies: writer, audit: writer, attachments: files,
                                 clock: clock, configuration: configuration, logger: logger)
            let ms = Int((ContinuousClock.now - started).nanoseconds / 1_000_000)
            restoreReport = RestoreReport(snapshotID: used?.id, snapshotStartSeq: startSeq, snapshotsSkipped: skipped,
                                          replayedEvents: replay.applied, voidRecords: replay.voided,
                                          lastSeq: max(restored.lastSeq, writer.lastAssignedSeq),
                                          threads: restored.threads.count, milliseconds: ms)
            // Erasures snapshot through it inside their gate (see `StoreProtection.shred`).
            engine.install(StoreProtection(writer: writer, attachments: files) { [weak self] in
                guard let self else { throw EngineError(.unavailable, "the engine is closed") }
                _ = try await self.writeSnapshot()
            })
            logger.info("engine restored", metadata: [
                "snapshot.id": "\(used?.id ?? 0)", "journal.replayed": "\(replay.applied)",
                "engine.threads": "\(restored.threads.count)", "restore.ms": "\(ms)"])
        } catch {
            writer.close()
            throw error
        }
    }

    /// Every message of a restored engine and the provider ids that name it,
    /// for `JournalWriter.buildMessageIndex`.
    static func messageIndexEntries(_ r: RestoredEngine) -> [JournalWriter.MessageIndexEntry] {
        var byMessage: [MessageID: JournalWriter.MessageIndexEntry] = [:]
        for t in r.threads.values {
            for (m, seq) in zip(t.messages, t.messageSeqs) {
                var h = m
                h.threadID = t.id
                byMessage[m.id] = JournalWriter.MessageIndexEntry(header: h, seq: seq, providerIDs: [])
            }
        }
        r.state.external.forEach { key, ref in
            guard var e = byMessage[ref.message] else { return }
            e.providerIDs.append((key.channel, key.externalID, ref.seq == 0 ? e.seq : ref.seq))
            byMessage[ref.message] = e
        }
        return Array(byMessage.values)
    }

    private static func load(_ info: SnapshotInfo, from writer: JournalWriter) throws -> RestoredEngine {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .deferredToDate
        var image: SupervisorImage?
        var threads: [ThreadID: ThreadState] = [:]
        threads.reserveCapacity(Int(clamping: info.recordCount))  // nearly every record is a thread
        var agents: [ContactID: AgentState] = [:]
        var customers: [Customer] = [], orders: [Order] = [], tasks: [InternalTask] = []
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
            case .compactThread, .compactThreadSLA:
                let t = try ThreadState.readCompact(Array(record.dropFirst()), withSLA: kind == .compactThreadSLA)
                threads[t.id] = t
            case .agent:
                let a = try decoder.decode(AgentState.self, from: json)
                agents[a.contact.id] = a
            case .customer: customers.append(try decoder.decode(Customer.self, from: json))
            case .order: orders.append(try decoder.decode(Order.self, from: json))
            case .task: tasks.append(try decoder.decode(InternalTask.self, from: json))
            }
        }
        guard var image else { throw EngineError(.unavailable, "snapshot \(info.id) has no supervisor image") }
        image.customers += customers
        image.orders += orders
        image.tasks += tasks
        var r = RestoredEngine()
        // With the store's message index built, the ids stay in the store (see `MessageIndex.swift`).
        r.state = EngineState.rebuilt(from: image, threads: threads, messageIDs: try !writer.messageIndexBuilt())
        r.threads = threads
        r.agents = agents
        r.supervisorWatermark = image.watermark
        r.legacyAudit = image.audit ?? []
        r.lastSeq = max(image.watermark, threads.values.map(\.lastSeq).max() ?? 0, info.endSeq)
        return r
    }

    /// Writes a snapshot while traffic continues: the supervisor's image,
    /// then each thread and agent as its actor holds it, each with the
    /// sequence number it reflects. Valid once the journal is durable
    /// through every event it reflects; older snapshots beyond
    /// `keepSnapshots` and the journal before the oldest kept are dropped.
    ///
    /// One at a time: a request while a snapshot is being written waits for
    /// that one and gets its result (twenty concurrent admin `snapshot`
    /// commands write one snapshot, not twenty copies of the engine).
    @discardableResult
    public func snapshot() async throws -> SnapshotInfo {
        try await snapshots.run {
            // Never between an erasure's event and its key destruction (see `StoreProtection`).
            guard let gate = self.engine.protection?.gate else { return try await self.writeSnapshot() }
            return try await gate.run { try await self.writeSnapshot() }
        }
    }

    private func writeSnapshot() async throws -> SnapshotInfo {
        let startSeq = writer.lastAssignedSeq
        let sources = await engine.supervisor.snapshotSources()
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .deferredToDate
        let out = writer.beginSnapshot(startSeq: startSeq)
        do {
            func put(_ kind: RecordKind, _ value: some Encodable, scope: DataScope = .system) throws {
                var bytes: [UInt8] = [kind.rawValue]
                bytes += try encoder.encode(value)
                try out.append(bytes, scope: scope)
            }
            var image = SupervisorImage(state: sources.state, startSeq: startSeq, watermark: sources.watermark)
            let (customers, orders, tasks) = (image.customers, image.orders, image.tasks)
            image.customers = []
            image.orders = []
            image.tasks = []
            try put(.supervisor, image)
            for c in customers { try put(.customer, c, scope: .customer(c.id)) }
            for o in orders { try put(.order, o, scope: DataScope.of(.orderUpserted(o))) }
            for t in tasks { try put(.task, t, scope: DataScope.of(.taskUpserted(t))) }
            var endSeq = max(startSeq, sources.watermark)
            for (i, t) in sources.threads.enumerated() {
                let s = await t.state
                endSeq = max(endSeq, s.lastSeq)
                try out.append(try s.compactRecord(kind: (s.sla == nil ? RecordKind.compactThread : .compactThreadSLA).rawValue), scope: .thread(s.id))
                // Back-pressure: let the writer thread catch up instead of buffering the whole snapshot.
                if i % 20_000 == 19_999 { try await out.waitForChunks() }
            }
            for (i, s) in sources.dormant.enumerated() {
                endSeq = max(endSeq, s.lastSeq)
                try out.append(try s.compactRecord(kind: (s.sla == nil ? RecordKind.compactThread : .compactThreadSLA).rawValue), scope: .thread(s.id))
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
            // Never the coder's own text: it carries the value it failed on (the whole engine image).
            throw EngineError(.unavailable, "snapshot failed: \(ErrorText.describe(error))")
        }
    }

    /// Flushes the journal, writes a final snapshot and closes the store.
    public func shutdown(snapshot takeSnapshot: Bool = true) async {
        if takeSnapshot {
            do { try await snapshot() } catch { logger.error("final snapshot failed", metadata: ["error": "\(ErrorText.describe(error))"]) }
        }
        try? await writer.flush()
        writer.close()
    }
}

/// Start-up found damage in the part of the journal that restore needs, and
/// refused to start. An LMDB commit is atomic, so a committed record is never
/// torn: a record that fails its checksum is damage, and every record after
/// it was acknowledged to someone. Nothing is deleted by itself; the message
/// names the records, what restore depends on, and the commands to run.
public struct JournalDamageError: Error, CustomStringConvertible, Sendable {
    public let check: JournalCheck
    /// The snapshot restore would start from (nil: a full replay).
    public let snapshot: SnapshotInfo?
    public let storeDirectory: String

    public var description: String {
        var lines = ["The journal in \(storeDirectory) is damaged, and CommHub does not start on damage it needs "
            + "(it never deletes committed records by itself):"]
        for d in check.damage.prefix(20) { lines.append("  - \(d)") }
        if check.damageCount > 20 { lines.append("  - … and \(check.damageCount - 20) more places") }
        if let snapshot {
            lines.append("Restore starts from snapshot \(snapshot.id), which reflects every event through seq "
                + "\(snapshot.startSeq), and needs every journal record after it (through seq \(check.lastSeq)).")
        } else {
            lines.append("No intact snapshot precedes the damage: restore replays the journal from its start (through seq \(check.lastSeq)).")
        }
        let lost = check.damage.reduce(UInt64(0)) { $0 + $1.lostEvents }
        if let first = check.damage.first(where: { $0.seq != nil })?.seq, check.lastSeq > first {
            lines.append("The damaged records hold \(lost) event(s); \(check.lastSeq - first) committed record(s) follow the first "
                + "(seqs \(first + 1)–\(check.lastSeq)). They were acknowledged and are intact, but what the damaged events "
                + "did (a thread opened, a message, an assignment) would be missing under them.")
        }
        let data = (storeDirectory as NSString).deletingLastPathComponent
        lines.append("What to do: `commhub journal check --data \(data)` lists the damage; "
            + "`commhub journal repair --data \(data)` shows what a repair would do, and with `--confirm` replaces "
            + "the damaged records by void records (their events are lost, sequence numbers are never reused, the "
            + "repair is recorded in the store). Or restore the data directory from a backup.")
        return lines.joined(separator: "\n")
    }
}

/// Runs one job at a time; callers arriving while it runs share its result
/// instead of starting their own.
final class SingleFlight<Value: Sendable>: Sendable {
    private let running = Mutex<Task<Value, any Error>?>(nil)

    func run(_ job: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let task = running.withLock { current -> Task<Value, any Error> in
            if let current { return current }
            let task = Task { try await job() }
            current = task
            return task
        }
        defer { running.withLock { if $0 == task { $0 = nil } } }
        return try await task.value
    }
}
