import CommHubDomain
import CommHubStore
import CommHubWire
import Foundation
import Logging
import Synchronization

/// The running engine: the supervisor with its thread and agent actors, the
/// journal, the inbox read model and the event bus. Committed batches flow
/// journal → read model → bus, in sequence order, before callers are
/// acknowledged, so a caller that was answered can read its own write.
public final class Engine: Sendable {
    public let supervisor: Supervisor
    public let inbox: InboxIndex
    /// Token → person, read by every request without an actor hop.
    public let authentication: AuthenticationIndex
    public let bus: EventBus
    public let journal: any EventJournal
    public let clock: any EngineClock
    public let configuration: EngineConfiguration
    public let bodies: any BodyReader
    /// The audit trail (the store's `audit` table, or memory for an in-memory engine).
    public let audit: any AuditReader
    /// Files of messages (nil for an in-memory engine without a data directory).
    public let attachments: AttachmentStore?
    /// Customer messages to mark read at the provider, for connected gateways (best effort).
    public let markRead = Broadcast<GatewayProtocol.MarkRead>()
    /// Messages already marked read, so opening a thread again sends nothing.
    private let markedRead = Mutex<Set<MessageID>>([])
    /// Bound of `markedRead`; past it the set starts over (a repeat mark is harmless).
    static let maxMarkedRead = 100_000

    /// True the first time it is asked for a message.
    public func markReadOnce(_ id: MessageID) -> Bool {
        markedRead.withLock { set in
            if set.count >= Self.maxMarkedRead { set.removeAll(keepingCapacity: true) }
            return set.insert(id).inserted
        }
    }
    public let startedAt: Date
    private let committed = CommitCounter()
    /// The store's part of erasure and retention (nil: an in-memory engine).
    private let protectionSlot = Mutex<StoreProtection?>(nil)
    public var protection: StoreProtection? { protectionSlot.withLock { $0 } }
    func install(_ p: StoreProtection) { protectionSlot.withLock { $0 = p } }
    private let rateSample: Mutex<(at: ContinuousClock.Instant, total: UInt64, rate: Double)>

    /// Builds an engine from a restored state. `relay` must be the relay the
    /// journal calls after each commit.
    public init(restored: RestoredEngine, journal: any EventJournal, messageIndex: (any MessageIndexReader)? = nil,
                relay: CommitRelay, bodies: any BodyReader,
                audit: (any AuditReader)? = nil, attachments: AttachmentStore? = nil, clock: any EngineClock,
                configuration: EngineConfiguration = EngineConfiguration(), logger: Logger) {
        self.attachments = attachments
        let inbox = InboxIndex()
        let authentication = AuthenticationIndex(restored: restored.state)
        let bus = EventBus(lastSeq: max(restored.lastSeq, journal.lastAssignedSeq))
        self.inbox = inbox
        self.authentication = authentication
        self.bus = bus
        self.journal = journal
        self.bodies = bodies
        let memoryAudit = audit == nil ? MemoryAudit() : nil
        self.audit = audit ?? memoryAudit!
        self.clock = clock
        self.configuration = configuration
        self.startedAt = clock.now()
        self.rateSample = Mutex((ContinuousClock.now, 0, 0))
        self.supervisor = Supervisor(restored: restored, journal: journal, messageIndex: messageIndex, clock: clock,
                                     configuration: configuration, logger: logger)
        Self.seed(inbox, from: restored)
        let memoryBodies = bodies as? MemoryBodies
        relay.connect(committed: { [committed] batch in
            memoryBodies?.file(batch)
            memoryAudit?.file(batch)
            inbox.apply(batch)
            authentication.apply(batch)
            committed.add(batch.count)
        }, acknowledged: { batch in
            // After the journal's waiters resumed: with 1,000 WebSocket
            // subscribers the fan-out queues 1,000 jobs, and acknowledgements
            // used to wait behind them.
            bus.publish(batch)
        })
    }

    /// An engine with an in-memory journal (tests, benchmarks, `loadtest --embedded`).
    public static func inMemory(clock: any EngineClock = SystemClock(), configuration: EngineConfiguration = EngineConfiguration(),
                                logger: Logger = Logger(label: "commhub.engine")) -> Engine {
        let relay = CommitRelay()
        let journal = MemoryJournal(onCommit: relay.deliver, onAcknowledged: relay.deliverAcknowledged)
        return Engine(restored: RestoredEngine(), journal: journal, relay: relay, bodies: MemoryBodies(), clock: clock,
                      configuration: configuration, logger: logger)
    }

    /// Fills the read model from restored threads.
    private static func seed(_ inbox: InboxIndex, from r: RestoredEngine) {
        var batch: [SequencedEvent] = []
        batch.reserveCapacity(4096)
        for t in r.threads.values {
            var h = t.header
            h.assignedTeamID = r.state.board.team[h.id]
            batch.append(SequencedEvent(seq: t.lastSeq, event: .threadOpened(h)))
            if let a = r.state.board.assignee[h.id] {
                batch.append(SequencedEvent(seq: t.lastSeq, event: .threadAssigned(thread: h.id, team: h.assignedTeamID, agent: a, reason: "restore")))
            }
            if batch.count >= 4096 {
                inbox.apply(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        inbox.apply(batch)
    }

    /// Acknowledges: waits until the journal holds everything up to `seq`.
    public func durable(_ seq: UInt64) async throws {
        try await journal.waitDurable(seq)
    }

    /// `durable`, giving up after `timeout` with `StoreError.notYetDurable`.
    public func durable(_ seq: UInt64, timeout: Duration) async throws {
        try await journal.waitDurable(seq, timeout: timeout)
    }

    /// Events committed since start.
    public var committedEvents: UInt64 { committed.value }

    /// Committed events per second since the previous call (at least 1 s apart).
    public func eventRate() -> Double {
        let total = committedEvents
        return rateSample.withLock { s in
            let now = ContinuousClock.now
            let elapsed = now - s.at
            if elapsed >= .seconds(1) {
                let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                s.rate = Double(total - s.total) / secs
                s = (now, total, s.rate)
            }
            return s.rate
        }
    }
}

/// Counts committed events (read by stats and metrics).
final class CommitCounter: Sendable {
    private let total = Atomic<UInt64>(0)
    func add(_ n: Int) { total.add(UInt64(n), ordering: .relaxed) }
    var value: UInt64 { total.load(ordering: .relaxed) }
}
