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
    public var snapshotChunkBytes: Int
    /// Records (journal) or chunks (snapshots) deleted per transaction when pruning or repairing.
    public var deleteBatch: Int

    public init(syncMode: SyncMode = .full, mapSize: Int = 64 << 30, maxMapSize: Int = 1 << 40,
                maxReaders: UInt32 = 126, maxBatchEvents: Int = 4096, maxBatchBytes: Int = 8 << 20,
                snapshotChunkBytes: Int = 4 << 20, deleteBatch: Int = 10_000) {
        self.syncMode = syncMode; self.mapSize = mapSize; self.maxMapSize = maxMapSize
        self.maxReaders = maxReaders; self.maxBatchEvents = max(1, maxBatchEvents)
        self.maxBatchBytes = max(1, maxBatchBytes); self.snapshotChunkBytes = max(16, snapshotChunkBytes)
        self.deleteBatch = max(1, deleteBatch)
    }
}

/// Counters of the writer, for `/metrics` and the admin socket.
public struct JournalStats: Sendable, Hashable {
    /// Journal transactions committed (each is one group commit).
    public var batchesCommitted: UInt64 = 0
    /// Events committed (void records not included).
    public var eventsCommitted: UInt64 = 0
    /// Sequence numbers voided because their commit failed or they could not be encoded.
    public var eventsVoided: UInt64 = 0
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
/// Recovery: open, `repairTail()`, load a snapshot, `replay(after:)`, then append.
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
        var pending: [EngineEvent] = []
        var pendingHead = 0
        /// Sequence number of `pending[pendingHead]`.
        var firstPendingSeq: UInt64
        /// Every seq ≤ this is resolved on disk (committed or voided); the journal is dense through it.
        var durableSeq: UInt64
        var waiters: [UInt64: [CheckedContinuation<Void, any Error>]] = [:]
        /// Seqs ≤ durableSeq whose event was voided, with the reason.
        var failures: [UInt64: StoreError] = [:]
        var jobs: [Job] = []
        var jobsHead = 0
        var writerSleeping = false
        var closing = false
        /// Appends with seq ≥ this arrived after close began and are not written.
        var closedAtSeq: UInt64 = .max
        var stopped = false
        /// Set when a voided seq could not even be recorded: nothing more is written
        /// (that would leave a gap); every later seq fails with this error.
        var poisoned: StoreError?
        var stats = JournalStats()
        var nextSnapshotID: UInt64
        var snapshotsInProgress: Set<UInt64> = []
    }

    struct Prepared {
        let seq: UInt64
        let event: EngineEvent
        let record: [UInt8]
        let body: (key: [UInt8], value: [UInt8])?
        /// Set when the event could not be encoded; `record` is then the void record.
        let failure: StoreError?
        var size: Int { record.count + (body?.value.count ?? 0) }
    }

    let env: LMDBEnvironment
    let options: JournalOptions
    let logger: Logger
    let onCommit: @Sendable ([SequencedEvent]) -> Void
    let onAcknowledged: @Sendable ([SequencedEvent]) -> Void
    let state: Mutex<State>
    private let wakeup = DispatchSemaphore(value: 0)
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
        let (last, pruned, maxSnapshot) = try env.read { txn -> (UInt64, UInt64, UInt64) in
            let last = try txn.withCursor(env.dbs.journal) { c in
                try c.get(MDB_LAST).flatMap { StoreFormat.seq(fromKey: $0.key) } ?? 0
            }
            let pruned = try Self.readPrunedThrough(txn, env)
            var maxID: UInt64 = 0
            try txn.withCursor(env.dbs.snapshots) { c in
                if let e = try c.get(MDB_LAST), let parts = StoreFormat.chunkKeyParts(e.key) { maxID = parts.id }
            }
            try txn.withCursor(env.dbs.meta) { c in
                var e = try c.seek(Array(StoreFormat.metaSnapshotPrefix.utf8))
                while let entry = e {
                    let key = String(decoding: entry.key, as: UTF8.self)
                    guard key.hasPrefix(StoreFormat.metaSnapshotPrefix) else { break }
                    if let id = UInt64(key.dropFirst(StoreFormat.metaSnapshotPrefix.count)) { maxID = max(maxID, id) }
                    e = try c.get(MDB_NEXT)
                }
            }
            return (last, pruned, maxID)
        }
        let durable = max(last, pruned)
        var s = State(nextSeq: durable + 1, sessionFirstSeq: durable + 1, firstPendingSeq: durable + 1, durableSeq: durable,
                      nextSnapshotID: maxSnapshot + 1)
        s.stats.durableSeq = durable
        s.stats.lastAssignedSeq = durable
        state = Mutex(s)
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
    /// next group commit. Never blocks on I/O. After `close()` the event is
    /// dropped and `waitDurable` for it throws `.closed`.
    @discardableResult
    public func append(_ event: EngineEvent) -> UInt64 {
        let (seq, wake, dropped) = state.withLock { s -> (UInt64, Bool, Bool) in
            let seq = s.nextSeq
            s.nextSeq += 1
            if s.closing { return (seq, false, true) }
            if s.pendingHead == s.pending.count { s.firstPendingSeq = seq }
            s.pending.append(event)
            let wake = s.writerSleeping
            s.writerSleeping = false
            return (seq, wake, false)
        }
        if wake { wakeup.signal() }
        if dropped { logger.warning("journal append after close dropped", metadata: ["seq": "\(seq)"]) }
        return seq
    }

    /// Appends several events with consecutive sequence numbers (one lock).
    /// `events` must not be empty.
    @discardableResult
    public func append(contentsOf events: [EngineEvent]) -> ClosedRange<UInt64> {
        precondition(!events.isEmpty, "append(contentsOf:) needs at least one event")
        let (first, wake, dropped) = state.withLock { s -> (UInt64, Bool, Bool) in
            let first = s.nextSeq
            s.nextSeq += UInt64(events.count)
            if s.closing { return (first, false, true) }
            if s.pendingHead == s.pending.count { s.firstPendingSeq = first }
            s.pending.append(contentsOf: events)
            let wake = s.writerSleeping
            s.writerSleeping = false
            return (first, wake, false)
        }
        if wake { wakeup.signal() }
        let range = first...(first + UInt64(events.count) - 1)
        if dropped { logger.warning("journal append after close dropped", metadata: ["seqs": "\(range)"]) }
        return range
    }

    /// Returns once the batch holding `seq` is committed (immediately if it
    /// already is). Throws the `StoreError` that made that batch fail
    /// (the event was then NOT journalled; its seq is a void record), or
    /// `.closed`, or `.invalidArgument` for a seq never assigned. Not
    /// cancellable: it resumes when the batch resolves (commits are short).
    public func waitDurable(_ seq: UInt64) async throws {
        if seq == 0 { return }
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            let immediate = state.withLock { s -> Result<Void, StoreError>? in
                if seq <= s.durableSeq {
                    if let f = s.failures[seq] { return .failure(f) }
                    return .success(())
                }
                if let p = s.poisoned { return .failure(p) }
                if seq >= s.nextSeq {
                    return .failure(StoreError(.invalidArgument, operation: "waitDurable",
                                               detail: "seq \(seq) was never assigned (last is \(s.nextSeq - 1))"))
                }
                if s.stopped || seq >= s.closedAtSeq {
                    return .failure(StoreError(.closed, operation: "waitDurable", detail: "seq \(seq)"))
                }
                s.waiters[seq, default: []].append(c)
                return nil
            }
            if let immediate { c.resume(with: immediate) }
        }
    }

    /// Waits until everything appended so far is durable.
    public func flush() async throws {
        try await waitDurable(lastAssignedSeq)
    }

    /// Highest seq such that it and everything before it is committed (or voided).
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
        case exit(jobs: [Job], waiters: [CheckedContinuation<Void, any Error>])
        case work(batch: (first: UInt64, events: [EngineEvent])?, job: Job?)
    }

    private func run() {
        while true {
            let work = state.withLock { s -> Work in
                var batch: (first: UInt64, events: [EngineEvent])?
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
                for w in waiters { w.resume(throwing: StoreError(.closed, operation: "waitDurable")) }
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
            outcome = .failure(error as? StoreError ?? StoreError(.invalidState, operation: job.name, detail: "\(error)"))
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

    private func prepare(first: UInt64, events: [EngineEvent]) -> [Prepared] {
        let codec = EventCodec()
        var out = [Prepared]()
        out.reserveCapacity(events.count)
        for (i, event) in events.enumerated() {
            let seq = first + UInt64(i)
            do {
                var journalled = event
                var body: (key: [UInt8], value: [UInt8])?
                if case .messageAdded(let header, let b?, let due) = event {
                    body = (Self.bodyKey(header.id), try codec.encodeBody(b))
                    journalled = .messageAdded(header: header, body: nil, responseDueAt: due)
                }
                let payload = try codec.encodeForJournal(journalled)
                guard payload.count <= Int(UInt32.max) else {
                    throw StoreError(.encodingFailed, operation: "journal.encode", detail: "event of \(payload.count) bytes")
                }
                out.append(Prepared(seq: seq, event: event, record: StoreFormat.frameRecord(payload), body: body, failure: nil))
            } catch {
                let e = error as? StoreError
                    ?? StoreError(.encodingFailed, operation: "journal.encode", detail: "seq \(seq) \(event.name): \(error)")
                logger.error("journal: event could not be encoded, seq voided", metadata: ["seq": "\(seq)", "error": "\(e)"])
                out.append(Prepared(seq: seq, event: event, record: StoreFormat.voidRecord, body: nil, failure: e))
            }
        }
        return out
    }

    private func process(first: UInt64, events: [EngineEvent]) {
        if let poison = state.withLock({ $0.poisoned }) {
            resolve(first...(first + UInt64(events.count) - 1), poison: poison)
            return
        }
        let prepared = prepare(first: first, events: events)
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

    /// Writes `group` in one transaction. On failure, retries each event
    /// alone so one oversized event does not fail its neighbours; an event
    /// that still fails is journalled as a void record.
    private func commit(_ group: ArraySlice<Prepared>) {
        if let poison = state.withLock({ $0.poisoned }) {
            resolve(group.first!.seq...group.last!.seq, poison: poison)
            return
        }
        let journal = env.dbs.journal, bodies = env.dbs.bodies
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            try env.write("journal.commit") { txn in
                for p in group {
                    if let body = p.body { try txn.put(bodies, body.key, body.value, "mdb_put(bodies)") }
                    // "MDB_APPEND - append the given key/data pair to the end of the
                    // database. This option allows fast bulk loading when keys are
                    // already known to be in the correct order. Loading unsorted keys
                    // with this flag will cause a MDB_KEYEXIST error."
                    try txn.put(journal, StoreFormat.seqKey(p.seq), p.record, flags: UInt32(MDB_APPEND), "mdb_put(journal)")
                }
            }
            let nanos = DispatchTime.now().uptimeNanoseconds - start
            resolve(group, voided: [:], nanos: nanos)
        } catch {
            let e = error as? StoreError ?? StoreError(.lmdb, operation: "journal.commit", detail: "\(error)")
            if group.count > 1 {
                logger.warning("journal batch failed, retrying events one by one",
                               metadata: ["seqs": "\(group.first!.seq)...\(group.last!.seq)", "error": "\(e)"])
                for k in group.indices { commit(group[k...k]) }
                return
            }
            let p = group.first!
            logger.error("journal: event could not be committed, seq voided",
                         metadata: ["seq": "\(p.seq)", "event": "\(p.event.name)", "error": "\(e)"])
            do {
                try env.write("journal.void") { txn in
                    try txn.put(journal, StoreFormat.seqKey(p.seq), StoreFormat.voidRecord,
                                flags: UInt32(MDB_APPEND), "mdb_put(journal void)")
                }
                resolve(group, voided: [p.seq: e], nanos: DispatchTime.now().uptimeNanoseconds - start)
            } catch {
                let ve = error as? StoreError ?? StoreError(.lmdb, operation: "journal.void", detail: "\(error)")
                logger.critical("journal: cannot record a void seq; journal stops writing to stay dense",
                                metadata: ["seq": "\(p.seq)", "error": "\(ve)"])
                let poison = StoreError(e.kind, code: e.code, operation: e.operation,
                                        detail: "journal stopped at seq \(p.seq): \(e.detail ?? "") (void record failed: \(ve))")
                state.withLock { $0.poisoned = poison }
                resolve(p.seq...p.seq, poison: poison)
            }
        }
    }

    /// After a commit: `onCommit`, then advance `durableSeq`, then resume
    /// waiters, then `onAcknowledged`.
    private func resolve(_ group: ArraySlice<Prepared>, voided: [UInt64: StoreError], nanos: UInt64) {
        var committed = [SequencedEvent]()
        committed.reserveCapacity(group.count)
        var failures = voided
        var bytes = 0
        for p in group {
            bytes += p.size
            if let f = p.failure { failures[p.seq] = f; continue }
            if voided[p.seq] != nil { continue }
            committed.append(SequencedEvent(seq: p.seq, event: p.event))
        }
        if !committed.isEmpty { onCommit(committed) }
        let range = group.first!.seq...group.last!.seq
        let resume = state.withLock { s -> [(CheckedContinuation<Void, any Error>, Result<Void, StoreError>)] in
            s.durableSeq = range.upperBound
            for (seq, f) in failures { s.failures[seq] = f }
            s.stats.batchesCommitted += 1
            s.stats.eventsCommitted += UInt64(committed.count)
            s.stats.eventsVoided += UInt64(failures.count)
            s.stats.bytesWritten += UInt64(bytes)
            s.stats.lastBatchSize = committed.count
            s.stats.commitNanosTotal += nanos
            return Self.takeWaiters(&s, range).map { w in (w.cont, failures[w.seq].map { .failure($0) } ?? .success(())) }
        }
        for (c, r) in resume { c.resume(with: r) }
        if !committed.isEmpty { onAcknowledged(committed) }
    }

    private func resolve(_ range: ClosedRange<UInt64>, poison: StoreError) {
        let resume = state.withLock { s in Self.takeWaiters(&s, range) }
        for w in resume { w.cont.resume(throwing: poison) }
    }

    private static func takeWaiters(_ s: inout State, _ range: ClosedRange<UInt64>)
        -> [(seq: UInt64, cont: CheckedContinuation<Void, any Error>)] {
        var out: [(seq: UInt64, cont: CheckedContinuation<Void, any Error>)] = []
        if s.waiters.isEmpty { return out }
        if UInt64(s.waiters.count) <= UInt64(range.count) {
            for seq in s.waiters.keys where range.contains(seq) {
                for c in s.waiters.removeValue(forKey: seq)! { out.append((seq, c)) }
            }
        } else {
            for seq in range {
                if let cs = s.waiters.removeValue(forKey: seq) { for c in cs { out.append((seq, c)) } }
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
