import CommHubDomain
import CommHubStore
import Foundation

/// What an erasure (a customer's request, or retention) did in the engine:
/// the journaled event and what the store must shred next (bodies, keys,
/// files). Returned by `Supervisor.erase…`; `DurableEngine.erase…` finishes
/// the store side.
public struct ErasureOutcome: Sendable {
    public var erasure: DataErasure
    /// The erasure event's seq (its pending mark in the store is keyed by it).
    public var erasureSeq: UInt64
    /// The last seq the erasure wrote (acknowledge after it).
    public var seq: UInt64
    /// Every message whose body is deleted.
    public var messages: [MessageID]

    /// The anonymised counts that stay (what analytics still sees).
    public var threadCount: Int { erasure.threads.count }
    public var messageCount: Int { messages.count }
}

extension EngineState {
    /// `dataErased`: the customer, their orders and the tasks go from the
    /// directory; each thread becomes its skeleton in the matching tables
    /// (no references, no customer), so no new message is ever matched to the
    /// erased person; outgoing messages still queued for them are dropped.
    mutating func applyErasure(_ e: DataErasure) {
        index.erase(customer: e.customer, orderIDs: e.orders, threads: e.threads.map(\.header))
        for t in e.tasks { tasks[t] = nil }
        for skeleton in e.threads {
            if board.team[skeleton.header.id] == nil, board.assignee[skeleton.header.id] == nil {
                board.apply(.threadOpened(skeleton.header))
            }
            for m in skeleton.messages {
                messageThread[m.id] = m.threadID
                if outbox[m.id] != nil { removeFromOutbox(m.id) }
            }
        }
    }
}

extension ThreadState {
    /// The state of a thread that is only its skeleton.
    public init(skeleton: ThreadSkeleton, lastSeq: UInt64) {
        self.init(header: skeleton.header, lastSeq: lastSeq)
        messages = skeleton.messages
        messageSeqs = skeleton.messageSeqs
    }

    /// The skeleton of this thread as it stands.
    public func skeleton(reason: DataErasure.Reason) -> ThreadSkeleton {
        ThreadSkeleton(header: header, messages: messages, messageSeqs: messageSeqs, reason: reason)
    }
}

extension RestoredEngine {
    /// Replays an erasure: each thread becomes its skeleton, whether the
    /// snapshot held it (taken before the erasure, its record is skipped as
    /// unreadable) or not.
    mutating func replayErasure(_ e: SequencedEvent, _ erasure: DataErasure) {
        for skeleton in erasure.threads {
            let id = skeleton.header.id
            if let existing = threads[id], existing.lastSeq >= e.seq { continue }
            let known = threads[id] != nil
            threads[id] = ThreadState(skeleton: skeleton, lastSeq: e.seq)
            if !known {
                // Its earlier records (opening, assignment) are unreadable now: the skeleton stands for them.
                let h = skeleton.header
                state.index.restore(h)
                state.board.apply(.threadOpened(h))
                if h.assignedTeamID != nil || h.assignedToContactID != nil {
                    state.board.apply(.threadAssigned(thread: id, team: h.assignedTeamID, agent: h.assignedToContactID, reason: "restore"))
                }
                for (m, seq) in zip(skeleton.messages, skeleton.messageSeqs) {
                    state.messageThread[m.id] = id
                    lastSeq = max(lastSeq, seq)
                }
            }
        }
        state.apply(e)
    }
}

extension Supervisor {
    /// The threads that belong to a customer: linked to them or to one of their orders.
    func threadIDs(ofCustomer id: CustomerID, orders: Set<OrderID>) -> [ThreadID] {
        state.index.threads { row in row.customer == id || row.order.map(orders.contains) == true }
    }

    /// Erases a customer: journals the skeleton of each of their threads with
    /// the erasure (and an audit entry), then makes every thread actor hold
    /// only its skeleton. Their orders and the tasks about them go. Throws
    /// `.notFound` for a customer the directory does not hold.
    public func eraseCustomer(_ id: CustomerID, audit: AuditEntry) async throws -> ErasureOutcome {
        guard state.index.customers[id] != nil else { throw EngineError.notFound("customer", id) }
        let orders = Set(state.index.orders.values.filter { $0.customerID == id }.map(\.id))
        let threadIDs = threadIDs(ofCustomer: id, orders: orders)
        return try await erase(threadIDs, reason: .customerRequest, customer: id, orders: orders, audit: audit)
    }

    /// Expires the content of threads (retention): each keeps its skeleton.
    public func expireThreads(_ ids: [ThreadID], audit: AuditEntry) async throws -> ErasureOutcome {
        try await erase(ids, reason: .retention, customer: nil, orders: [], audit: audit)
    }

    private func erase(_ threadIDs: [ThreadID], reason: DataErasure.Reason, customer: CustomerID?, orders: Set<OrderID>,
                       audit: AuditEntry) async throws -> ErasureOutcome {
        try await settleHistory(threadIDs)
        let set = Set(threadIDs)
        var skeletons: [ThreadSkeleton] = []
        var messages: [MessageID] = []
        var providerIDs: [EngineState.ExternalKey] = []
        for t in threadIDs.sorted(by: { $0.uuid.uuidString < $1.uuid.uuidString }) {
            guard let s = await threadState(t) else { continue }
            var skeleton = s.skeleton(reason: reason)
            // The assignment lives on the board, and its events go with the thread's key: the skeleton carries it.
            skeleton.header.assignedTeamID = state.board.team[t]
            skeleton.header.assignedToContactID = state.board.assignee[t]
            skeletons.append(skeleton)
            messages += s.messages.map(\.id)
            providerIDs += s.messages.compactMap { m in
                m.channelID.flatMap { c in m.externalMessageID.map { EngineState.ExternalKey(channel: c, externalID: $0) } }
            }
        }
        let tasks = state.tasks.values.filter { task in
            task.threadID.map(set.contains) == true || task.orderID.map(orders.contains) == true
        }.map(\.id).sorted { $0.uuid.uuidString < $1.uuid.uuidString }
        let erasure = DataErasure(reason: reason, at: clock.now(), customer: customer, orders: orders.sorted { $0.uuid.uuidString < $1.uuid.uuidString },
                                  tasks: tasks, threads: skeletons)
        let events = try commit([.dataErased(erasure), .audited(audit)])
        let seq = events[0].seq
        // The provider ids went with the messages (a restore never rebuilds them: the records are unreadable).
        for k in providerIDs { state.external[k] = nil }
        for skeleton in skeletons {
            await actor(skeleton.header.id)?.becomeSkeleton(skeleton, seq: seq)
        }
        return ErasureOutcome(erasure: erasure, erasureSeq: seq, seq: events.last!.seq, messages: messages)
    }

    /// A thread's current state, from its actor or dormant.
    func threadState(_ id: ThreadID) async -> ThreadState? {
        guard let a = actor(id) else { return nil }
        return withHistory(await a.state)
    }

    /// Threads whose content a retention policy expires at `now`.
    public func expiredThreads(at now: Date, limit: Int) async -> [ThreadID] {
        let policy = state.retention
        guard !policy.rules.isEmpty else { return [] }
        var out: [ThreadID] = []
        for id in state.index.threads(where: { !$0.status.isOpen }) {
            guard out.count < limit else { break }
            if let s = await threadState(id), policy.expired(s.header, at: now) { out.append(id) }
        }
        return out
    }

    public func retentionPolicy() -> RetentionPolicy { state.retention }

    public func setRetention(_ p: RetentionPolicy, audit: AuditEntry) throws -> UInt64 {
        let problems = p.problems
        guard problems.isEmpty else { throw EngineError.invalid(problems.joined(separator: "; ")) }
        return try commit([.retentionChanged(p), .audited(audit)]).last!.seq
    }

    /// Everything held about one customer, for an export (bodies and files are read by the caller).
    public func customerRecord(_ id: CustomerID) async -> CustomerRecord? {
        guard let c = state.index.customers[id] else { return nil }
        let orders = state.index.orders.values.filter { $0.customerID == id }.sorted { $0.orderNumber < $1.orderNumber }
        let orderIDs = Set(orders.map(\.id))
        var threads: [ThreadView] = []
        for t in threadIDs(ofCustomer: id, orders: orderIDs) {
            if let v = await thread(t, history: true) { threads.append(v) }
        }
        threads.sort { $0.header.createdAt < $1.header.createdAt }
        let threadSet = Set(threads.map(\.header.id))
        let tasks = state.tasks.values.filter { task in
            task.threadID.map(threadSet.contains) == true || task.orderID.map(orderIDs.contains) == true
        }.sorted { $0.createdAt < $1.createdAt }
        let organization = c.organizationID.flatMap { state.index.organizations[$0] }
        return CustomerRecord(customer: c, organization: organization, orders: orders, threads: threads, tasks: tasks)
    }
}

/// What the directory and the threads hold about one customer (an export's content).
public struct CustomerRecord: Sendable {
    public var customer: Customer
    public var organization: Organization?
    public var orders: [Order]
    public var threads: [ThreadView]
    public var tasks: [InternalTask]
}

extension ThreadActor {
    /// After an erasure: the thread holds only its skeleton.
    func becomeSkeleton(_ skeleton: ThreadSkeleton, seq: UInt64) {
        replaceState(ThreadState(skeleton: skeleton, lastSeq: max(seq, state.lastSeq)))
    }
}

/// The store's part of erasure and retention: bodies, files and data keys
/// of a durable engine. Also the gate that keeps snapshots and erasures apart
/// (a snapshot written between an erasure's event and its key destruction
/// would seal the skeleton under a key about to be destroyed).
public final class StoreProtection: Sendable {
    public let writer: JournalWriter
    public let attachments: AttachmentStore?
    let gate = SerialWork()
    /// Writes a snapshot; called inside `gate` (the durable engine's own, without the gate).
    let snapshot: @Sendable () async throws -> Void

    init(writer: JournalWriter, attachments: AttachmentStore?, snapshot: @escaping @Sendable () async throws -> Void) {
        self.writer = writer
        self.attachments = attachments
        self.snapshot = snapshot
    }

    /// Bodies deleted, files no other thread uses shredded, the data keys of
    /// the customer and of each thread destroyed (their records in the
    /// journal, snapshots and backups made afterwards can no longer be
    /// opened), the KEK rolled, the pending mark cleared. Idempotent: a start
    /// after a crash runs it again.
    ///
    /// A merge or a split since the newest snapshot sealed under one of the
    /// erased keys would be unreadable on the next replay and take the
    /// *other* thread's part with it (the messages a split moved out, the
    /// messages a merge moved in): then a snapshot comes first, so replay
    /// starts after the erasure (its skeletons go under the system key).
    func shred(_ erasure: DataErasure, messages: [MessageID], seq: UInt64) async throws {
        if writer.replayNeedsKeys(of: erasure.scopes) { try await snapshot() }
        let threads = erasure.threads.map(\.header.id)
        let files = try await writer.releaseFiles(of: threads)
        try await writer.deleteBodies(messages)
        for f in files { try attachments?.remove(f) }
        try await writer.destroyKeys(erasure.scopes + files.map { DataScope.file($0) })
        try await writer.finishErasure(seq: seq)
    }
}

extension Engine {
    /// Erases a customer (`POST /api/gdpr/customers/{id}/erase`): the
    /// erasure event, durable, then the store's part (`StoreProtection.shred`).
    public func eraseCustomer(_ id: CustomerID, audit: AuditEntry) async throws -> ErasureOutcome {
        try await erasing { try await self.supervisor.eraseCustomer(id, audit: audit) }
    }

    /// Expires threads' content (retention), through the same path.
    public func expireThreads(_ ids: [ThreadID], audit: AuditEntry) async throws -> ErasureOutcome {
        try await erasing { try await self.supervisor.expireThreads(ids, audit: audit) }
    }

    private func erasing(_ decide: @escaping @Sendable () async throws -> ErasureOutcome) async throws -> ErasureOutcome {
        guard let p = protection else {
            let outcome = try await decide()
            try await durable(outcome.seq)
            return outcome
        }
        return try await p.gate.run {
            let outcome = try await decide()
            try await self.durable(outcome.seq)
            try await p.shred(outcome.erasure, messages: outcome.messages, seq: outcome.erasureSeq)
            return outcome
        }
    }
}

extension DurableEngine {
    /// Finishes what a crash interrupted: erasures whose keys are not all
    /// destroyed yet, and a KEK roll cut short. Run once at start, before serving.
    public func finishInterruptedProtectionWork() async throws {
        guard let p = engine.protection else { return }
        for (seq, erasure) in try writer.pendingErasures() {
            writer.resumeErasing(erasure.scopes)
            let messages = erasure.threads.flatMap { $0.messages.map(\.id) }
            try await p.gate.run { try await p.shred(erasure, messages: messages, seq: seq) }
        }
        try await writer.finishInterruptedRoll()
    }
}

extension Engine {
    /// Threads expired per run of `enforceRetention`, at most (the next run takes the rest).
    public static let retentionBatchThreads = 500

    /// Enforces the retention policy at the engine's clock: finished threads
    /// past their rule keep only their skeleton (through the erasure path),
    /// and audit entries older than the audit retention are deleted. Run on
    /// a schedule by `serve` and by the admin socket's `retention run`.
    /// Returns how many threads expired and audit entries were deleted.
    @discardableResult
    public func enforceRetention() async throws -> (threads: Int, auditEntries: Int) {
        let now = clock.now()
        var expired = 0
        let ids = await supervisor.expiredThreads(at: now, limit: Self.retentionBatchThreads)
        if !ids.isEmpty {
            let entry = AuditEntry(at: now, actorContactID: nil, actorTokenID: nil, action: "retention.expire", entity: "retention",
                                   entityID: "\(ids.count) threads", scope: .system, via: "retention")
            expired = try await expireThreads(ids, audit: entry).threadCount
        }
        var pruned = 0
        if let months = await supervisor.retentionPolicy().auditRetentionMonths,
           let cutoff = RetentionPolicy.monthsBefore(now, months), let store = protection?.writer {
            pruned = try await store.pruneAudit(before: cutoff)
        }
        return (expired, pruned)
    }
}
