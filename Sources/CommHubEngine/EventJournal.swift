import CommHubDomain
import CommHubStore
import Synchronization

/// Where the engine writes its events. `append` is synchronous and never
/// waits for I/O: it gives the event its sequence number on the spot, so the
/// order of appends is the order of the journal. Callers are acknowledged
/// after `waitDurable` returns for the event's sequence number.
///
/// `append` throws when the journal cannot take the events (it is degraded,
/// stopped, or they cannot be encoded): the caller must then apply nothing,
/// so memory never holds what the journal did not take.
public protocol EventJournal: AnyObject, Sendable {
    func append(contentsOf events: [EngineEvent]) throws -> ClosedRange<UInt64>
    func waitDurable(_ seq: UInt64) async throws
    /// Like `waitDurable`, giving up after `timeout` (the event stays queued).
    func waitDurable(_ seq: UInt64, timeout: Duration?) async throws
    var lastAssignedSeq: UInt64 { get }
    /// Every event up to here is on stable storage (and in the store's message index).
    var durableSeq: UInt64 { get }
}

/// The LMDB group-commit journal of CommHubStore.
extension JournalWriter: EventJournal {}

/// A journal that keeps nothing: every event is "durable" on append and is
/// handed to the commit hook at once. For tests and benchmarks of the
/// in-memory engine; `serve` always uses the LMDB journal.
public final class MemoryJournal: EventJournal {
    private let state: Mutex<UInt64>
    private let onCommit: @Sendable ([SequencedEvent]) -> Void
    private let onAcknowledged: @Sendable ([SequencedEvent]) -> Void

    public init(startSeq: UInt64 = 0, onCommit: @escaping @Sendable ([SequencedEvent]) -> Void = { _ in },
                onAcknowledged: @escaping @Sendable ([SequencedEvent]) -> Void = { _ in }) {
        state = Mutex(startSeq)
        self.onCommit = onCommit
        self.onAcknowledged = onAcknowledged
    }

    public func append(contentsOf events: [EngineEvent]) throws -> ClosedRange<UInt64> {
        precondition(!events.isEmpty, "append(contentsOf:) needs at least one event")
        return state.withLock { seq in
            let first = seq + 1
            var batch: [SequencedEvent] = []
            batch.reserveCapacity(events.count)
            for e in events {
                seq += 1
                batch.append(SequencedEvent(seq: seq, event: e))
            }
            onCommit(batch)
            onAcknowledged(batch)
            return first...seq
        }
    }

    public func waitDurable(_ seq: UInt64) async throws {}
    public func waitDurable(_ seq: UInt64, timeout: Duration?) async throws {}

    public var lastAssignedSeq: UInt64 { state.withLock { $0 } }
    public var durableSeq: UInt64 { lastAssignedSeq }
}

/// Lets the journal's commit hook reach the engine, which is built after
/// the journal. Set once at start-up.
public final class CommitRelay: Sendable {
    /// The closures live in a struct field: a bare optional closure as the
    /// Mutex value is re-wrapped in reabstraction thunks on every
    /// `withLock` write-back, so each delivery got slower than the last.
    private struct Sink {
        var deliver: (@Sendable ([SequencedEvent]) -> Void)?
        var acknowledged: (@Sendable ([SequencedEvent]) -> Void)?
    }
    private let sink = Mutex(Sink(deliver: nil, acknowledged: nil))
    public init() {}
    /// `committed` runs before the journal's waiters resume (read models: an
    /// acknowledged caller reads its own write); `acknowledged` right after
    /// (fan-out to subscribers, which must not hold acknowledgements back).
    public func connect(committed: @escaping @Sendable ([SequencedEvent]) -> Void,
                        acknowledged: @escaping @Sendable ([SequencedEvent]) -> Void) {
        sink.withLock { $0 = Sink(deliver: committed, acknowledged: acknowledged) }
    }
    public func deliver(_ batch: [SequencedEvent]) {
        let s = sink.withLock { $0.deliver }
        s?(batch)
    }
    public func deliverAcknowledged(_ batch: [SequencedEvent]) {
        let s = sink.withLock { $0.acknowledged }
        s?(batch)
    }
}
