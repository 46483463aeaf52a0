import CLMDB
import CommHubDomain
import Dispatch
import Foundation
import Logging
import Synchronization

/// How hard a commit pushes data to stable storage. See `StoreFormat` for
/// the exact LMDB flags.
public enum SyncMode: Sendable, Hashable {
    /// Default. fsync of data pages and of the meta page on every commit:
    /// an acknowledged batch survives power loss.
    case full
    /// `MDB_NOMETASYNC`: one fsync per commit, the meta page is synced with
    /// the next commit. Power loss may undo the last committed batch
    /// (database integrity is kept) — acknowledged events can be lost.
    case noMetaSync
    /// `MDB_NOSYNC`: no fsync. Power loss or an OS crash may lose any recent
    /// batches (and on file systems that reorder writes, corrupt the
    /// database); a process crash loses nothing. Tests and benchmarks only.
    case noSync

    var envFlags: UInt32 {
        switch self {
        case .full: 0
        case .noMetaSync: UInt32(MDB_NOMETASYNC)
        case .noSync: UInt32(MDB_NOSYNC)
        }
    }
}

/// Tuning of a `JournalWriter`.
public struct JournalOptions: Sendable {
    public var syncMode: SyncMode
    /// Initial LMDB map size (virtual address space, not disk). Default 64 GiB.
    public var mapSize: Int
    /// The map grows (doubling) on `MDB_MAP_FULL` up to this; beyond it writes
    /// fail with `.mapFull`. Default 1 TiB.
    public var maxMapSize: Int
    public var maxReaders: UInt32
    /// At most this many events per journal transaction.
    public var maxBatchEvents: Int
    /// At most about this many record bytes per journal transaction (a single
    /// larger event still gets its own transaction).
    public var maxBatchBytes: Int
    /// Size of snapshot chunks (each written in its own transaction).
    /// Chunks, prune steps and other maintenance take turns with journal
    /// commits on the writer thread, so one step is what an acknowledgement
    /// can wait behind: 1 MiB (a few milliseconds with its fsync) keeps a
    /// snapshot from showing in the ingest latency as 4 MiB did.
    public var snapshotChunkBytes: Int
    /// Records (journal) or chunks (snapshots) deleted per transaction when
    /// pruning or repairing; also the step of index builds and erasures.
    /// 1,000 (about a millisecond), for the same reason.
    public var deleteBatch: Int
    /// Appended events not yet committed, at most: beyond it `append` refuses
    /// (`.unavailable`), so a disk slower than the traffic pushes back instead
    /// of filling memory.
    public var maxPendingEvents: Int = 1_000_000
    /// Largest journal payload of one event (the JSON events, encoded at append).
    public var maxEventBytes: Int = 4 << 20
    /// Longest pause between attempts when a commit fails (disk full, I/O error).
    public var maxRetryBackoff: Duration = .seconds(5)
    /// Seal journal records, bodies, audit rows and snapshot records with
    /// AES-GCM under the data key of their scope (`KeyRing`). Off only to
    /// measure what sealing costs (benchmarks) and to write a store as older
    /// versions did (tests of the migration); records written with it off
    /// are in the clear.
    public var sealRecords = true
    /// The master keys. nil: `MasterKeys.load` for the data directory that
    /// holds the store directory (`COMMHUB_MASTER_KEY` or `<data>/master.key`).
    public var masterKeys: MasterKeys?

    public init(syncMode: SyncMode = .full, mapSize: Int = 64 << 30, maxMapSize: Int = 1 << 40,
                maxReaders: UInt32 = 126, maxBatchEvents: Int = 4096, maxBatchBytes: Int = 8 << 20,
                snapshotChunkBytes: Int = 1 << 20, deleteBatch: Int = 1_000) {
        self.syncMode = syncMode; self.mapSize = mapSize; self.maxMapSize = maxMapSize
        self.maxReaders = maxReaders; self.maxBatchEvents = max(1, maxBatchEvents)
        self.maxBatchBytes = max(1, maxBatchBytes); self.snapshotChunkBytes = max(16, snapshotChunkBytes)
        self.deleteBatch = max(1, deleteBatch)
    }
}

/// Whether the journal takes writes.
public enum JournalHealth: Sendable, Equatable {
    case ok
    /// A commit failed and is being retried; appends are refused meanwhile.
    case degraded(StoreError, since: Date)
    /// The journal stopped for good (see `JournalWriter.State.poisoned`); restart to recover.
    case stopped(StoreError)
}

/// Counters of the writer, for `/metrics` and the admin socket.
public struct JournalStats: Sendable, Hashable {
    /// Journal transactions committed (each is one group commit).
    public var batchesCommitted: UInt64 = 0
    /// Events committed (void records not included).
    public var eventsCommitted: UInt64 = 0
    /// Journal record and body bytes put (not counting LMDB page overhead).
    public var bytesWritten: UInt64 = 0
    /// Events in the most recent committed batch.
    public var lastBatchSize: Int = 0
    /// Wall time spent in journal transactions, begin through commit (incl. fsync).
    public var commitNanosTotal: UInt64 = 0
    /// Snapshot/prune/maintenance transactions run on the writer thread.
    public var jobsRun: UInt64 = 0
    public var durableSeq: UInt64 = 0
    public var lastAssignedSeq: UInt64 = 0
    public var mapSize: Int = 0
    public var mapGrowths: Int = 0
    /// Failed commit attempts (each retried until it succeeds).
    public var commitRetries: UInt64 = 0

    public var averageBatchSize: Double {
        batchesCommitted == 0 ? 0 : Double(eventsCommitted) / Double(batchesCommitted)
    }
}

/// The write side of the store: a group-commit journal, plus the body table
/// and snapshots, all written by ONE dedicated OS thread.
///
/// - `append` is synchronous and never does I/O: it assigns the next sequence
///   number under a mutex, queues the event and wakes the writer thread.
/// - The writer takes everything pending (bounded by `maxBatchEvents` /
///   `maxBatchBytes`), encodes it, writes it in one LMDB transaction with
///   `MDB_APPEND`, commits (the fsync), calls `onCommit`, then resumes the
///   `waitDurable` callers of that batch.
/// - Snapshot chunks, snapshot headers and pruning are "jobs": small write
///   transactions run by the same thread, interleaved one job per journal batch.
///
/// Recovery: open, load a snapshot, `replay(after:)` (which refuses damaged
/// records), then append. `checkJournal` and `repairJournal` deal with damage.
/// Always `close()`: the writer thread keeps the journal alive until then.
public final class JournalWriter: Sendable {
    struct Job: Sendable {
        enum Progress { case done, again }
        let name: String
        let run: @Sendable (LMDBEnvironment) throws -> Progress
        let completion: @Sendable (Result<Void, StoreError>) -> Void
    }

    struct State: ~Copyable {
        var nextSeq: UInt64
        /// `nextSeq` when the journal was opened (or last repaired): seqs ≥ this were appended by this process.
        var sessionFirstSeq: UInt64
        var pending: [Queued] = []
        var pendingHead = 0
        /// Sequence number of `pending[pendingHead]`.
        var firstPendingSeq: UInt64
        /// Every seq ≤ this is committed; the journal is dense through it.
        var durableSeq: UInt64
        var waiters: [UInt64: [Waiter]] = [:]
        var nextWaiterID: UInt64 = 0
        /// The commit failure being retried (disk full, I/O error), and since
        /// when: appends are refused meanwhile, so memory never runs ahead of
        /// what the journal can take.
        var degraded: (error: StoreError, since: Date)?
        var jobs: [Job] = []
        var jobsHead = 0
        var writerSleeping = false
        var closing = false
        /// Appends with seq ≥ this arrived after close began and are not written.
        var closedAtSeq: UInt64 = .max
        var stopped = false
        /// Set when an event the engine already applied cannot be journaled
        /// (it cannot be encoded): memory and journal would differ, so nothing
        /// more is written or accepted, and every later seq fails with this
        /// error. A restart restores the journal's state.
        var poisoned: StoreError?
        var stats = JournalStats()
        var nextSnapshotID: UInt64
        var snapshotsInProgress: Set<UInt64> = []
    }

    /// An appended event waiting for its group commit.
    struct Queued: Sendable {
        let event: EngineEvent
        /// The journal payload, for events encoded at append (those without a compact form).
        let payload: [UInt8]?
    }

    /// A caller of `waitDurable`; the id lets a timeout take exactly this one out.
    struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    struct Prepared {
        let seq: UInt64
        let event: EngineEvent
        /// The `EventCodec` payload, sealed in the commit transaction under `scope`'s key.
        let payload: [UInt8]
        /// The data scope the record (and its body, audit row) is sealed under; nil: written in the clear.
        let scope: DataScope?
        /// The message body, encoded, for the body table.
        let body: (key: [UInt8], value: [UInt8])?
        /// A change to a stored body, applied in the same transaction (`messageAnnotated`).
        var annotation: (key: [UInt8], annotation: MessageAnnotation)?
        /// An audit entry for the `audit` table (`audited`), keyed by this seq, written in the same transaction.
        var audit: AuditEntry?
        /// Attachment files this event makes a thread refer to (`KeyRing` file references).
        var fileRefs: [(sha256: String, thread: ThreadID)] = []
        /// An erasure: its pending mark is written with it (`StoreFormat.metaErasurePrefix`).
        var erasure = false
        var size: Int { payload.count + KeyRing.envelopeOverhead + StoreFormat.recordHeaderSize + (body?.value.count ?? 0) + 256 }
    }

    let env: LMDBEnvironment
    /// The data keys and the KEK (see `KeyRing`).
    let keys: KeyRing
    /// Scopes of erasures journaled whose keys are not destroyed yet
    /// (`destroyKeys` removes them): their later events are sealed under
    /// the system key. Written by the writer thread, read there too.
    let erasingScopes = Mutex<Set<[UInt8]>>([])
    /// Records that carry more than one thread's data (merges, splits)
    /// sealed under a thread's key since the newest snapshot began; see
    /// `replayNeedsKeys(of:)`.
    let crossThreadSeals: Mutex<CrossThreadSeals>
    let options: JournalOptions
    let logger: Logger
    let onCommit: @Sendable ([SequencedEvent]) -> Void
    let onAcknowledged: @Sendable ([SequencedEvent]) -> Void
    let state: Mutex<State>
    /// Key destruction, KEK rolls and protected copies, one at a time.
    let keyWork = SerialWork()
    private let wakeup = DispatchSemaphore(value: 0)
    /// Cuts a commit retry's backoff short when `close()` begins.
    private let retrySignal = DispatchSemaphore(value: 0)
    private let stoppedSignal = DispatchSemaphore(value: 0)
    private let closeOnce = Mutex(false)
    private let writerThreadID = Atomic<UInt>(0)

    /// Opens (or creates) the store in `directory` and starts the writer
    /// thread. Sequence numbers continue after the last one in the journal.
    ///
    /// - Parameter onCommit: called on the writer thread after each journal
    ///   commit with the committed events in sequence order (as appended, i.e.
    ///   `messageAdded` still carries its body), before that batch's waiters
    ///   resume. Keep it short and non-blocking; never call `close()` from it.
    /// - Parameter onAcknowledged: called on the writer thread with the same
    ///   events right after their waiters resumed: for work that must not
    ///   delay acknowledgements (the event bus's fan-out to subscribers).
    public init(directory: String, options: JournalOptions = JournalOptions(),
                logger: Logger = Logger(label: "commhub.store"),
                onCommit: @escaping @Sendable ([SequencedEvent]) -> Void = { _ in },
                onAcknowledged: @escaping @Sendable ([SequencedEvent]) -> Void = { _ in }) throws {
        self.options = options
        self.logger = logger
        self.onCommit = onCommit
        self.onAcknowledged = onAcknowledged
        let env = try LMDBEnvironment(path: directory, mapSize: options.mapSize, maxMapSize: options.maxMapSize,
                                      maxReaders: options.maxReaders, envFlags: options.syncMode.envFlags,
                                      logger: logger)
        self.env = env
        do {
            let masters = try options.masterKeys ?? MasterKeys.load(dataDirectory: (directory as NSString).deletingLastPathComponent)
            keys = try KeyRing(directory: directory, masters: masters)
            try Self.prepareProtection(env, keys, sealing: options.sealRecords)
        } catch {
            env.close()
            throw error
        }
        let headerDecoder = JSONDecoder()
        headerDecoder.dateDecodingStrategy = .secondsSince1970
        let (last, pruned, maxSnapshot, snapshotEnd, snapshotStart) = try env.read { txn -> (UInt64, UInt64, UInt64, UInt64, UInt64) in
            let last = try txn.withCursor(env.dbs.journal) { c in
                try c.get(MDB_LAST).flatMap { StoreFormat.seq(fromKey: $0.key) } ?? 0
            }
            let pruned = try Self.readPrunedThrough(txn, env)
            var maxID: UInt64 = 0
            try txn.withCursor(env.dbs.snapshots) { c in
                if let e = try c.get(MDB_LAST), let parts = StoreFormat.chunkKeyParts(e.key) { maxID = parts.id }
            }
            var endSeq: UInt64 = 0, startSeq: UInt64 = 0
            try txn.withCursor(env.dbs.meta) { c in
                var e = try c.seek(Array(StoreFormat.metaSnapshotPrefix.utf8))
                while let entry = e {
                    let key = String(decoding: entry.key, as: UTF8.self)
                    guard key.hasPrefix(StoreFormat.metaSnapshotPrefix) else { break }
                    if let id = UInt64(key.dropFirst(StoreFormat.metaSnapshotPrefix.count)) { maxID = max(maxID, id) }
                    if let info = try? headerDecoder.decode(SnapshotInfo.self, from: Data(entry.value)), info.valid {
                        endSeq = max(endSeq, info.endSeq)
                        startSeq = max(startSeq, info.startSeq)
                    }
                    e = try c.get(MDB_NEXT)
                }
            }
            return (last, pruned, maxID, endSeq, startSeq)
        }
        // Sequence numbers are never handed out twice: every number a snapshot
        // reflects was committed, so numbering continues after the highest of
        // the journal's last record, the pruned mark and every snapshot's end,
        // whatever happened to the journal's tail.
        let durable = max(last, pruned, snapshotEnd)
        if snapshotEnd > max(last, pruned) {
            logger.error("journal ends before the newest snapshot; numbering continues after the snapshot", metadata: [
                "journal.last_seq": "\(last)", "snapshot.end_seq": "\(snapshotEnd)"])
        }
        var s = State(nextSeq: durable + 1, sessionFirstSeq: durable + 1, firstPendingSeq: durable + 1, durableSeq: durable,
                      nextSnapshotID: maxSnapshot + 1)
        s.stats.durableSeq = durable
        s.stats.lastAssignedSeq = durable
        state = Mutex(s)
        // What the journal holds after the newest snapshot began was written by an earlier process: unknown here.
        crossThreadSeals = Mutex(CrossThreadSeals(unknownThrough: last > snapshotStart ? last : 0))
        logger.info("journal opened", metadata: ["path": "\(directory)", "lastSeq": "\(durable)",
                                                 "mapSize": "\(env.mapSize)", "sync": "\(options.syncMode)"])
        let thread = Thread { [self] in
            writerThreadID.store(currentThreadToken(), ordering: .relaxed)
            run()
        }
        thread.name = "commhub.journal.writer"
        thread.stackSize = 4 << 20
        thread.start()
    }

    static func readPrunedThrough(_ txn: LMDBTxn, _ env: LMDBEnvironment) throws -> UInt64 {
        try txn.get(env.dbs.meta, Array(StoreFormat.metaPrunedThroughKey.utf8))
            .flatMap { UInt64(String(decoding: $0, as: UTF8.self)) } ?? 0
    }

    // MARK: - Appending

    /// Assigns the next sequence number to `event` and queues it for the
    /// next group commit. Never blocks on I/O.
    ///
    /// Throws — and then the caller must not apply the event — when the
    /// journal cannot take it: an event without a compact form that cannot be
    /// encoded (it is encoded here, on the caller's thread, so that failure
    /// is known before anything changes), the journal is degraded (a commit
    /// is being retried), stopped, closing, or `maxPendingEvents` behind.
    @discardableResult
    public func append(_ event: EngineEvent) throws -> UInt64 {
        try append(contentsOf: [event]).lowerBound
    }

    /// Appends several events with consecutive sequence numbers, all or none
    /// (one lock). `events` must not be empty.
    @discardableResult
    public func append(contentsOf events: [EngineEvent]) throws -> ClosedRange<UInt64> {
        precondition(!events.isEmpty, "append(contentsOf:) needs at least one event")
        let queued = try events.map(queue)
        let (result, wake) = state.withLock { s -> (Result<UInt64, StoreError>, Bool) in
            if let refusal = Self.refusal(s, adding: queued.count, options: options) { return (.failure(refusal), false) }
            let first = s.nextSeq
            s.nextSeq += UInt64(queued.count)
            if s.pendingHead == s.pending.count { s.firstPendingSeq = first }
            s.pending.append(contentsOf: queued)
            let wake = s.writerSleeping
            s.writerSleeping = false
            return (.success(first), wake)
        }
        if wake { wakeup.signal() }
        let first = try result.get()
        return first...(first + UInt64(queued.count) - 1)
    }

    /// Why the journal cannot take `count` more events now, or nil.
    private static func refusal(_ s: borrowing State, adding count: Int, options: JournalOptions) -> StoreError? {
        if s.closing { return StoreError(.closed, operation: "append") }
        if let p = s.poisoned {
            return StoreError(.unavailable, operation: "append", detail: "the journal stopped: \(p.detail ?? p.description)")
        }
        if let d = s.degraded {
            return StoreError(.unavailable, operation: "append", detail:
                "the journal cannot write since \(d.since) (\(d.error.description)); it retries, nothing new is accepted meanwhile")
        }
        if s.pending.count - s.pendingHead + count > options.maxPendingEvents {
            return StoreError(.unavailable, operation: "append", detail:
                "more than \(options.maxPendingEvents) events wait for the disk; try again shortly")
        }
        return nil
    }

    /// Encodes, here and now, the events that have no compact form (JSON:
    /// configuration, tasks, templates, audit entries), so that an event that
    /// cannot be journaled is refused before the engine applies it. Compact
    /// events are encoded on the writer thread; their encoding cannot fail
    /// for values that passed the input bounds.
    private func queue(_ event: EngineEvent) throws -> Queued {
        if EventCodec.hasCompactForm(event) { return Queued(event: event, payload: nil) }
        let payload: [UInt8]
        do {
            payload = try EventCodec().encodeForJournal(event)
        } catch {
            throw StoreError(.encodingFailed, operation: "append", detail: "\(event.name) cannot be journaled: \(ErrorText.describe(error))")
        }
        guard payload.count <= options.maxEventBytes else {
            throw StoreError(.encodingFailed, operation: "append", detail:
                "\(event.name) is \(payload.count) bytes in the journal; at most \(options.maxEventBytes)")
        }
        return Queued(event: event, payload: payload)
    }

    /// Returns once the batch holding `seq` is committed (immediately if it
    /// already is). Throws the error that stopped the journal, `.closed`, or
    /// `.invalidArgument` for a seq never assigned. With a `timeout`, throws
    /// `.notYetDurable` when the commit has not happened by then — the event
    /// stays queued and is written when the journal recovers. Not
    /// cancellable otherwise: it resumes when the batch resolves.
    public func waitDurable(_ seq: UInt64) async throws {
        try await waitDurable(seq, timeout: nil)
    }

    public func waitDurable(_ seq: UInt64, timeout: Duration?) async throws {
        if seq == 0 { return }
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            let (immediate, waiterID) = state.withLock { s -> (Result<Void, StoreError>?, UInt64?) in
                if seq <= s.durableSeq { return (.success(()), nil) }
                if let p = s.poisoned { return (.failure(p), nil) }
                if seq >= s.nextSeq {
                    return (.failure(StoreError(.invalidArgument, operation: "waitDurable",
                                                detail: "seq \(seq) was never assigned (last is \(s.nextSeq - 1))")), nil)
                }
                if s.stopped || seq >= s.closedAtSeq {
                    return (.failure(StoreError(.closed, operation: "waitDurable", detail: "seq \(seq)")), nil)
                }
                let id = s.nextWaiterID
                s.nextWaiterID += 1
                s.waiters[seq, default: []].append(Waiter(id: id, continuation: c))
                return (nil, id)
            }
            if let immediate {
                c.resume(with: immediate)
            } else if let timeout, let waiterID {
                expire(waiter: waiterID, seq: seq, after: timeout)
            }
        }
    }

    private func expire(waiter id: UInt64, seq: UInt64, after timeout: Duration) {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            let expired = state.withLock { s -> (CheckedContinuation<Void, any Error>, String)? in
                guard var list = s.waiters[seq], let i = list.firstIndex(where: { $0.id == id }) else { return nil }
                let w = list.remove(at: i)
                s.waiters[seq] = list.isEmpty ? nil : list
                return (w.continuation, s.degraded.map { "; the journal is retrying: \($0.error.description)" } ?? "")
            }
            guard let (c, why) = expired else { return }
            c.resume(throwing: StoreError(.notYetDurable, operation: "waitDurable",
                                          detail: "seq \(seq) is not on disk after \(timeout)\(why)"))
        }
    }

    /// Changes the largest size the map may grow to while serving: a journal
    /// degraded by "map full at its maximum" recovers on its next retry.
    public func setMaxMapSize(_ bytes: Int) {
        env.setMaxMapSize(bytes)
    }

    /// Whether the journal takes writes: ok, degraded (a commit is being
    /// retried, appends are refused) or stopped (see `poisoned`).
    public var health: JournalHealth {
        state.withLock { s in
            if let p = s.poisoned { return .stopped(p) }
            if let d = s.degraded { return .degraded(d.error, since: d.since) }
            return .ok
        }
    }

    /// Waits until everything appended so far is durable.
    public func flush() async throws {
        try await waitDurable(lastAssignedSeq)
    }

    /// Highest seq such that it and everything before it is committed.
    public var durableSeq: UInt64 { state.withLock { $0.durableSeq } }
    /// The last sequence number handed out by `append`.
    public var lastAssignedSeq: UInt64 { state.withLock { $0.nextSeq - 1 } }

    public var stats: JournalStats {
        var s = state.withLock { s in
            var st = s.stats
            st.durableSeq = s.durableSeq
            st.lastAssignedSeq = s.nextSeq - 1
            return st
        }
        s.mapSize = env.mapSize
        s.mapGrowths = env.mapGrowths
        return s
    }

    /// Flushes what was appended, stops the writer thread and closes the
    /// environment. Idempotent; blocks the caller until done. Queued
    /// snapshot/prune jobs that did not start fail with `.closed`.
    public func close() {
        precondition(!isWriterThread, "JournalWriter.close() called from the writer thread (e.g. in onCommit)")
        closeOnce.withLock { closed in
            guard !closed else { return }
            closed = true
            let wake = state.withLock { s -> Bool in
                s.closing = true
                s.closedAtSeq = s.nextSeq
                let w = s.writerSleeping
                s.writerSleeping = false
                return w
            }
            if wake { wakeup.signal() }
            retrySignal.signal()
            stoppedSignal.wait()
            env.close()
            logger.info("journal closed", metadata: ["path": "\(env.path)"])
        }
    }

    deinit {
        // Only reachable once the writer thread has exited (it retains self).
        env.close()
    }

    var isWriterThread: Bool {
        writerThreadID.load(ordering: .relaxed) == currentThreadToken()
    }

    // MARK: - Jobs (non-journal writes on the writer thread)

    /// Queues a job; if the writer is closing, completes it with `.closed`
    /// (on the calling thread).
    func submit(_ job: Job) {
        if !trySubmit(job) { job.completion(.failure(StoreError(.closed, operation: job.name))) }
    }

    /// Queues a job; false (and the completion is NOT called) if the writer is closing.
    func trySubmit(_ job: Job) -> Bool {
        let (accepted, wake) = state.withLock { s -> (Bool, Bool) in
            if s.closing { return (false, false) }
            s.jobs.append(job)
            let w = s.writerSleeping
            s.writerSleeping = false
            return (true, w)
        }
        if wake { wakeup.signal() }
        return accepted
    }

    /// Runs `work` as a job on the writer thread and waits for it.
    func perform<R: Sendable>(_ name: String, _ work: @escaping @Sendable (LMDBEnvironment) throws -> R) async throws -> R {
        let box = ResultBox<R>()
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            submit(Job(name: name, run: { env in
                box.value = try work(env)
                return .done
            }, completion: { c.resume(with: $0) }))
        }
        return box.value!
    }

    /// Like `perform` for multi-step jobs: `step` runs (in its own
    /// transactions) until it returns `.done`; other work is interleaved
    /// between steps.
    func performSteps(_ name: String, _ step: @escaping @Sendable (LMDBEnvironment) throws -> Job.Progress) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            submit(Job(name: name, run: step, completion: { c.resume(with: $0) }))
        }
    }

    /// `perform` for synchronous callers (recovery): blocks the calling thread.
    func performBlocking<R: Sendable>(_ name: String, _ work: @escaping @Sendable (LMDBEnvironment) throws -> R) throws -> R {
        precondition(!isWriterThread, "performBlocking on the writer thread would deadlock")
        let box = ResultBox<R>()
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox<Result<Void, StoreError>>()
        submit(Job(name: name, run: { env in
            box.value = try work(env)
            return .done
        }, completion: { r in
            result.value = r
            done.signal()
        }))
        done.wait()
        try result.value!.get()
        return box.value!
    }

    // MARK: - Writer thread

    private enum Work {
        case sleep
        case exit(jobs: [Job], waiters: [Waiter])
        case work(batch: (first: UInt64, events: [Queued])?, job: Job?)
    }

    private func run() {
        while true {
            let work = state.withLock { s -> Work in
                var batch: (first: UInt64, events: [Queued])?
                let available = s.pending.count - s.pendingHead
                if available > 0 {
                    let n = min(available, options.maxBatchEvents)
                    batch = (s.firstPendingSeq, Array(s.pending[s.pendingHead..<(s.pendingHead + n)]))
                    s.pendingHead += n
                    s.firstPendingSeq += UInt64(n)
                    if s.pendingHead == s.pending.count {
                        s.pending.removeAll(keepingCapacity: s.pending.capacity <= 65_536)
                        s.pendingHead = 0
                    } else if s.pendingHead >= 65_536 {
                        s.pending.removeFirst(s.pendingHead)
                        s.pendingHead = 0
                    }
                }
                var job: Job?
                if !s.closing, s.jobsHead < s.jobs.count {
                    job = s.jobs[s.jobsHead]
                    s.jobsHead += 1
                    if s.jobsHead == s.jobs.count { s.jobs.removeAll(keepingCapacity: true); s.jobsHead = 0 }
                }
                if batch == nil && job == nil {
                    if s.closing {
                        s.stopped = true
                        let jobs = Array(s.jobs[s.jobsHead...])
                        s.jobs = []; s.jobsHead = 0
                        let waiters = s.waiters.values.flatMap { $0 }
                        s.waiters = [:]
                        return .exit(jobs: jobs, waiters: waiters)
                    }
                    s.writerSleeping = true
                    return .sleep
                }
                return .work(batch: batch, job: job)
            }
            switch work {
            case .sleep:
                wakeup.wait()
            case .exit(let jobs, let waiters):
                for job in jobs { job.completion(.failure(StoreError(.closed, operation: job.name))) }
                for w in waiters { w.continuation.resume(throwing: StoreError(.closed, operation: "waitDurable")) }
                stoppedSignal.signal()
                return
            case .work(let batch, let job):
                if let batch { process(first: batch.first, events: batch.events) }
                if let job { runJob(job) }
            }
        }
    }

    private func runJob(_ job: Job) {
        let outcome: Result<Job.Progress, StoreError>
        do {
            outcome = .success(try job.run(env))
        } catch {
            outcome = .failure(error as? StoreError ?? StoreError(.invalidState, operation: job.name, detail: "\(ErrorText.describe(error))"))
        }
        let requeued = state.withLock { s -> Bool in
            s.stats.jobsRun += 1
            if case .success(.again) = outcome, !s.closing {
                s.jobs.append(job)
                return true
            }
            return false
        }
        switch outcome {
        case .success(.done): job.completion(.success(()))
        case .success(.again): if !requeued { job.completion(.failure(StoreError(.closed, operation: job.name))) }
        case .failure(let e):
            logger.error("store job failed", metadata: ["job": "\(job.name)", "error": "\(e)"])
            job.completion(.failure(e))
        }
    }

    static func bodyKey(_ id: MessageID) -> [UInt8] {
        withUnsafeBytes(of: id.uuid.uuid) { Array($0) }
    }

    /// Encodes a batch: bodies for the body table, journal payloads (encoded
    /// at append, or the compact form encoded now), and the scope each is
    /// sealed under in the commit transaction.
    private func prepare(first: UInt64, events: [Queued]) throws -> [Prepared] {
        let codec = EventCodec()
        var out = [Prepared]()
        out.reserveCapacity(events.count)
        for (i, q) in events.enumerated() {
            let seq = first + UInt64(i)
            do {
                var journalled = q.event
                var body: (key: [UInt8], value: [UInt8])?
                var refs: [(sha256: String, thread: ThreadID)] = []
                if case .messageAdded(let header, let b?, let due) = q.event {
                    body = (Self.bodyKey(header.id), try codec.encodeBody(b))
                    journalled = .messageAdded(header: header, body: nil, responseDueAt: due)
                    refs = b.attachments.compactMap { a in a.sha256.map { ($0, header.threadID) } }
                }
                let payload = try q.payload ?? codec.encodeForJournal(journalled)
                guard payload.count <= Int(UInt32.max) - KeyRing.envelopeOverhead else {
                    throw StoreError(.encodingFailed, operation: "journal.encode", detail: "event of \(payload.count) bytes")
                }
                var prepared = Prepared(seq: seq, event: q.event, payload: payload,
                                        scope: options.sealRecords ? DataScope.of(q.event) : nil, body: body)
                prepared.fileRefs = refs
                if case .messageAnnotated(let m, let t, let a, _) = q.event {
                    prepared.annotation = (Self.bodyKey(m), a)
                    if case .attachment(_, let file) = a, let sha = file.sha256 { prepared.fileRefs.append((sha, t)) }
                }
                if case .audited(let entry) = q.event { prepared.audit = entry }
                if case .dataErased = q.event { prepared.erasure = true }
                out.append(prepared)
            } catch {
                throw StoreError(.encodingFailed, operation: "journal.encode", detail: "seq \(seq) \(q.event.name): \(ErrorText.describe(error))")
            }
        }
        return out
    }

    private func process(first: UInt64, events: [Queued]) {
        let range = first...(first + UInt64(events.count) - 1)
        if let poison = state.withLock({ $0.poisoned }) {
            resolve(range, poison: poison)
            return
        }
        let prepared: [Prepared]
        do {
            prepared = try prepare(first: first, events: events)
        } catch {
            // The engine applied these events already; writing the others
            // would leave a hole, and dropping this one would make memory
            // differ from the journal. Stop: a restart restores the journal's truth.
            let e = error as? StoreError ?? StoreError(.encodingFailed, operation: "journal.encode", detail: "\(ErrorText.describe(error))")
            logger.critical("journal: an applied event cannot be encoded; the journal stops taking writes",
                            metadata: ["journal.seqs": "\(range)", "error": "\(e.detail ?? "")"])
            stop(with: StoreError(.encodingFailed, operation: "journal.encode",
                                  detail: "stopped at seq \(first): \(e.detail ?? ""); restart CommHub to restore the journal's state"))
            resolve(range, poison: state.withLock { $0.poisoned! })
            return
        }
        var i = 0
        while i < prepared.count {
            var j = i + 1
            var bytes = prepared[i].size
            while j < prepared.count, bytes + prepared[j].size <= options.maxBatchBytes {
                bytes += prepared[j].size
                j += 1
            }
            commit(prepared[i..<j])
            i = j
        }
    }

    private func stop(with error: StoreError) {
        state.withLock { s in if s.poisoned == nil { s.poisoned = error } }
    }

    /// Writes `group` in one transaction, retrying until it succeeds. A
    /// commit fails for reasons outside the events (disk full, map at its
    /// maximum, an I/O error); the events are already applied in memory and
    /// may be acknowledged only once written, so they are never dropped:
    /// the journal turns degraded (appends refused, `health` says why),
    /// waits with exponential backoff, and tries again. Only closing ends
    /// the retries; the group's callers then get `.closed`.
    private func commit(_ group: ArraySlice<Prepared>) {
        let journal = env.dbs.journal, bodies = env.dbs.bodies, audit = env.dbs.audit
        var attempt = 0
        var lastLogged: ContinuousClock.Instant?
        while true {
            if let poison = state.withLock({ $0.poisoned }) {
                resolve(group.first!.seq...group.last!.seq, poison: poison)
                return
            }
            let start = DispatchTime.now().uptimeNanoseconds
            do {
                let (created, erasing, crossSeals) = try env.write("journal.commit") { txn -> (KeyRing.Pending, Set<[UInt8]>, [([UInt8], UInt64)]) in
                    // Keys created here exist only if this transaction commits (the body may run again after map growth).
                    var pending = KeyRing.Pending()
                    var erasing = erasingScopes.withLock { $0 }
                    var crossSeals: [([UInt8], UInt64)] = []
                    for p in group {
                        let key = try p.scope.map { scope in
                            // After an erasure and until its keys are destroyed, events of its
                            // scopes (a late receipt on a skeleton thread) go under the system
                            // key: under the scope's key they would be destroyed with it.
                            let bytes = scope.bytes
                            if erasing.contains(bytes) { return try keys.sealingKey(.system, txn, env, &pending) }
                            if DataScope.carriesSeveralThreads(p.event), case .thread = scope { crossSeals.append((bytes, p.seq)) }
                            return try keys.sealingKey(bytes: bytes, txn, env, &pending)
                        }
                        if p.erasure, case .dataErased(let erasure) = p.event {
                            for scope in erasure.scopes { erasing.insert(scope.bytes) }
                        }
                        if let body = p.body {
                            let value = try key.map { [StoreFormat.sealedBodyMarker] + (try KeyRing.seal(body.value, with: $0, aad: StoreFormat.bodyAAD(body.key))) } ?? body.value
                            try txn.put(bodies, body.key, value, "mdb_put(bodies)")
                        }
                        if let patch = p.annotation { try annotate(txn, patch.key, patch.annotation, sealWith: key) }
                        if let entry = p.audit {
                            try txn.put(audit, StoreFormat.seqKey(p.seq), try Self.encodeAuditRow(entry, seq: p.seq, key: key), "mdb_put(audit)")
                        }
                        for ref in p.fileRefs { try Self.putFileRef(txn, env, sha256: ref.sha256, thread: ref.thread) }
                        // History rows and moved bodies go under the key of the thread they belong to
                        // (a split's moved messages: the new thread's).
                        func threadKey(_ thread: ThreadID) throws -> DataKey? {
                            guard options.sealRecords else { return nil }
                            let bytes = DataScope.thread(thread).bytes
                            return try keys.sealingKey(bytes: erasing.contains(bytes) ? DataScope.system.bytes : bytes, txn, env, &pending)
                        }
                        let envelope = try key.map { (keyID: $0.id, bytes: try KeyRing.seal(p.payload, with: $0, aad: StoreFormat.journalAAD(p.seq))) }
                        // A new message's history row reuses the record's envelope (one seal instead of two).
                        try indexMessages(txn, p.event, seq: p.seq, rowKey: threadKey, sealedRecord: envelope)
                        try moveBodies(txn, p.event, sealWith: threadKey)
                        let record = envelope.map { StoreFormat.frameRecord($0.bytes, version: StoreFormat.sealedRecordVersion) }
                            ?? StoreFormat.frameRecord(p.payload)
                        if p.erasure { try markErasurePending(txn, seq: p.seq, payload: p.payload, &pending) }
                        // "MDB_APPEND - append the given key/data pair to the end of the
                        // database. This option allows fast bulk loading when keys are
                        // already known to be in the correct order. Loading unsorted keys
                        // with this flag will cause a MDB_KEYEXIST error."
                        try txn.put(journal, StoreFormat.seqKey(p.seq), record, flags: UInt32(MDB_APPEND), "mdb_put(journal)")
                    }
                    return (pending, erasing, crossSeals)
                }
                keys.publish(created)
                erasingScopes.withLock { $0.formUnion(erasing) }
                if !crossSeals.isEmpty {
                    crossThreadSeals.withLock { for (scope, seq) in crossSeals { $0.seqs[scope] = max($0.seqs[scope] ?? 0, seq) } }
                }
                if attempt > 0 {
                    state.withLock { $0.degraded = nil }
                    logger.notice("journal writes again", metadata: ["journal.attempts": "\(attempt + 1)",
                                                                     "journal.seqs": "\(group.first!.seq)...\(group.last!.seq)"])
                }
                resolve(group, nanos: DispatchTime.now().uptimeNanoseconds - start)
                return
            } catch {
                let e = error as? StoreError ?? StoreError(.lmdb, operation: "journal.commit", detail: "\(ErrorText.describe(error))")
                attempt += 1
                let closing = state.withLock { s -> Bool in
                    s.stats.commitRetries += 1
                    if s.degraded == nil { s.degraded = (e, Date()) } else { s.degraded!.error = e }
                    return s.closing
                }
                if closing {
                    // Never write a later batch over this hole: stop, and let the exit path answer everyone.
                    stop(with: StoreError(.closed, operation: "journal.commit", detail: "closed while retrying: \(e)"))
                    resolve(group.first!.seq...group.last!.seq, poison: state.withLock { $0.poisoned! })
                    return
                }
                if lastLogged.map({ ContinuousClock.now - $0 > .seconds(30) }) ?? true {
                    lastLogged = .now
                    logger.error("journal commit failed; retrying, new events are refused meanwhile", metadata: [
                        "journal.seqs": "\(group.first!.seq)...\(group.last!.seq)", "journal.attempt": "\(attempt)",
                        "error": "\(e)"])
                }
                let backoff = min(options.maxRetryBackoff, .milliseconds(20) * (1 << min(attempt, 16)))
                let seconds = Double(backoff.components.seconds) + Double(backoff.components.attoseconds) / 1e18
                _ = retrySignal.wait(timeout: .now() + seconds)
            }
        }
    }

    /// Patches a stored body with an annotation (inside the journal
    /// transaction: body and event commit together), sealed again under the
    /// thread's current key. A message without a stored body keeps none; a
    /// body that does not open or decode (its key was destroyed) is left as
    /// it is (the event still records the annotation).
    func annotate(_ txn: LMDBTxn, _ key: [UInt8], _ annotation: MessageAnnotation, sealWith dataKey: DataKey?) throws {
        let bodies = env.dbs.bodies
        guard let raw = try txn.get(bodies, key) else { return }
        let codec = EventCodec()
        guard let plain = try? openBody(raw, key: key), let body = try? codec.decodeBody(plain) else { return }
        let encoded = try codec.encodeBody(body.applying(annotation))
        let value = try dataKey.map { [StoreFormat.sealedBodyMarker] + (try KeyRing.seal(encoded, with: $0, aad: StoreFormat.bodyAAD(key))) } ?? encoded
        try txn.put(bodies, key, value, "mdb_put(bodies annotation)")
    }

    /// A merge or a split moved messages to another thread: their bodies go
    /// under that thread's key and the thread refers to their files, in the
    /// event's own commit. Erasing the thread they left (a merged thread
    /// expires first) then destroys nothing that moved.
    func moveBodies(_ txn: LMDBTxn, _ event: EngineEvent, sealWith threadKey: (ThreadID) throws -> DataKey?) throws {
        let moved: [MessageHeader]
        switch event {
        case .threadsMerged(let m): moved = m.messages
        case .threadSplit(let s): moved = s.messages
        default: return
        }
        let bodies = env.dbs.bodies, codec = EventCodec()
        for h in moved {
            let key = Self.bodyKey(h.id)
            guard let raw = try txn.get(bodies, key), let plain = try openBody(raw, key: key) else { continue }
            if let body = try? codec.decodeBody(plain) {
                for a in body.attachments { if let sha = a.sha256 { try Self.putFileRef(txn, env, sha256: sha, thread: h.threadID) } }
            }
            guard let dataKey = try threadKey(h.threadID) else { continue }
            let value = [StoreFormat.sealedBodyMarker] + (try KeyRing.seal(plain, with: dataKey, aad: StoreFormat.bodyAAD(key)))
            try txn.put(bodies, key, value, "mdb_put(bodies move)")
        }
    }

    /// A stored body's encoded bytes: opened when sealed, nil when its key was destroyed.
    func openBody(_ raw: [UInt8], key: [UInt8]) throws -> [UInt8]? {
        guard raw.first == StoreFormat.sealedBodyMarker else { return raw }
        let envelope = Array(raw.dropFirst())
        guard let id = KeyRing.keyID(ofEnvelope: envelope) else { throw StoreError(.corrupted, operation: "body", detail: "sealed body too short") }
        guard let dataKey = try keys.openingKey(id, env) else { return nil }
        do {
            return try KeyRing.open(envelope, with: dataKey, aad: StoreFormat.bodyAAD(key))
        } catch {
            throw StoreError(.corrupted, operation: "body", detail: "a sealed body does not open under its key \(id)")
        }
    }

    /// After a commit: `onCommit`, then advance `durableSeq`, then resume
    /// waiters, then `onAcknowledged`.
    private func resolve(_ group: ArraySlice<Prepared>, nanos: UInt64) {
        var committed = [SequencedEvent]()
        committed.reserveCapacity(group.count)
        var bytes = 0
        for p in group {
            bytes += p.size
            committed.append(SequencedEvent(seq: p.seq, event: p.event))
        }
        onCommit(committed)
        let range = group.first!.seq...group.last!.seq
        let resume = state.withLock { s -> [Waiter] in
            s.durableSeq = range.upperBound
            s.stats.batchesCommitted += 1
            s.stats.eventsCommitted += UInt64(committed.count)
            s.stats.bytesWritten += UInt64(bytes)
            s.stats.lastBatchSize = committed.count
            s.stats.commitNanosTotal += nanos
            return Self.takeWaiters(&s, range)
        }
        for w in resume { w.continuation.resume() }
        onAcknowledged(committed)
    }

    private func resolve(_ range: ClosedRange<UInt64>, poison: StoreError) {
        let resume = state.withLock { s in Self.takeWaiters(&s, range) }
        for w in resume { w.continuation.resume(throwing: poison) }
    }

    private static func takeWaiters(_ s: inout State, _ range: ClosedRange<UInt64>) -> [Waiter] {
        var out: [Waiter] = []
        if s.waiters.isEmpty { return out }
        if UInt64(s.waiters.count) <= UInt64(range.count) {
            for seq in s.waiters.keys where range.contains(seq) {
                out.append(contentsOf: s.waiters.removeValue(forKey: seq)!)
            }
        } else {
            for seq in range {
                if let ws = s.waiters.removeValue(forKey: seq) { out.append(contentsOf: ws) }
            }
        }
        return out
    }
}

/// A slot written by one thread before a happens-before edge (semaphore,
/// continuation resume) and read after it.
final class ResultBox<T>: @unchecked Sendable {
    var value: T?
    init() {}
}

/// An identity of the calling OS thread (for deadlock preconditions only).
func currentThreadToken() -> UInt {
    #if canImport(Darwin)
    return UInt(bitPattern: pthread_self())
    #else
    return UInt(pthread_self())
    #endif
}
