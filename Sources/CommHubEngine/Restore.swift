import CommHubDomain
import Foundation

/// An engine being rebuilt from a snapshot and the journal after it, as
/// plain values (no actors until it is complete, so replay runs at memory
/// speed). Replay skips what the snapshot already reflects, per entity:
/// a thread's events by the thread's own `lastSeq`, an agent's by the
/// agent's, the supervisor's by its watermark.
public struct RestoredEngine: Sendable {
    public var state: EngineState
    public var threads: [ThreadID: ThreadState]
    public var agents: [ContactID: AgentState]
    public var supervisorWatermark: UInt64
    /// The highest sequence number seen (snapshot or journal).
    public var lastSeq: UInt64
    /// The audit trail a snapshot of an older version carried (now in the store's `audit` table).
    public var legacyAudit: [AuditEntry] = []
    /// With the store's history holding every message: a thread is trimmed in
    /// replay as a thread actor is (`RecentMessageWindow.trimAt`), so a long
    /// journal tail does not hold every header.
    public var trimWindow: RecentMessageWindow?

    /// Replays into a store whose message index and history hold every
    /// message: the engine's id tables stay empty (`EngineState.recordsMessageIDs`)
    /// and threads keep about `window`'s recent messages.
    public mutating func replayIntoIndexedStore(window: RecentMessageWindow) {
        state.recordsMessageIDs = false
        trimWindow = window
    }

    public init() {
        state = EngineState()
        threads = [:]
        agents = [:]
        supervisorWatermark = 0
        lastSeq = 0
    }

    /// Makes room for about `events` more journal events, so the largest
    /// tables (idempotency keys and message → thread, one entry per message)
    /// are not rehashed at every doubling while a long journal replays.
    public mutating func reserve(events: Int) {
        guard state.recordsMessageIDs else { return }
        // Nearly every event of a long journal is a message.
        let messages = max(0, events) / 10 * 9
        state.external.reserveCapacity(state.external.count + messages)
        state.messageThread.reserveCapacity(state.messageThread.count + messages)
    }

    public mutating func replay(_ e: SequencedEvent) {
        lastSeq = max(lastSeq, e.seq)
        switch e.event {
        case .threadChanged(let t, _, _), .referenceAdded(let t, _), .deliveryStatusChanged(_, let t, _, _),
             .outboxReported(_, let t, _, _, _), .slaStepFired(let t, _, _, _, _), .slaClockSet(let t, _, _):
            applyToThread(t, e)
        case .messageAdded(let h, _, _):
            applyToThread(h.threadID, e)
        case .messageAnnotated(_, let t, .providerCopy, _):
            // The thread's message learns its provider id (and the idempotency table with it).
            applyToThread(t, e)
        case .dataErased(let erasure):
            replayErasure(e, erasure)
        case .threadOpened(let h):
            guard threads[h.id] == nil, e.seq > supervisorWatermark else { return }
            threads[h.id] = ThreadState(header: h, lastSeq: e.seq)
            state.apply(e)
        case .threadsMerged, .threadSplit, .csatCaptured:
            replayCase(e)
        default:
            guard e.seq > supervisorWatermark else { break }
            state.apply(e)
        }
        applyToAgents(e)
    }

    private mutating func applyToThread(_ t: ThreadID, _ e: SequencedEvent) {
        // One look-up, and the state is changed in place: copying it out would
        // share its message array with the table and make the append copy it.
        guard let i = threads.index(forKey: t), threads.values[i].applyIfNewer(e.event, seq: e.seq) else { return }
        if let window = trimWindow {
            let status = threads.values[i].header.status
            if threads.values[i].messages.count >= window.trimAt(status) {
                threads.values[i].trimMessages(keep: window.keep(status), durableThrough: .max)
            }
        }
        state.apply(e)
    }

    /// Events that change threads and the supervisor's own records at once:
    /// each thread takes them by its own `lastSeq`, the supervisor by its
    /// watermark (its part is idempotent where derived tables already
    /// reflect a thread restored from the snapshot).
    private mutating func replayCase(_ e: SequencedEvent) {
        func toThread(_ t: ThreadID) {
            if let i = threads.index(forKey: t) { _ = threads.values[i].applyIfNewer(e.event, seq: e.seq) }
        }
        switch e.event {
        case .threadsMerged(let m):
            toThread(m.merged)
            toThread(m.survivor.id)
        case .threadSplit(let s):
            toThread(s.source.id)
            if threads[s.newThread.id] == nil { threads[s.newThread.id] = ThreadState(split: s, seq: e.seq) }
        case .csatCaptured(let a):
            toThread(a.thread)
        default:
            break
        }
        if e.seq > supervisorWatermark { state.apply(e) }
    }

    private mutating func applyToAgents(_ e: SequencedEvent) {
        switch e.event {
        case .contactUpserted(let c):
            if agents[c.id] == nil { agents[c.id] = AgentState(contact: c, lastSeq: 0) }
            agents[c.id]!.apply(e.event, seq: e.seq, at: nil)
        case .presenceChanged(let id, _), .threadAssigned(_, _, let id?, _):
            agents[id]?.apply(e.event, seq: e.seq, at: nil)
        case .threadsRebalanced(let moves, _):
            var touched = Set<ContactID>()
            for m in moves {
                if let f = m.from { touched.insert(f) }
                if let t = m.to { touched.insert(t) }
            }
            for id in touched { agents[id]?.apply(e.event, seq: e.seq, at: nil) }
        case .messageAdded(let m, _, _):
            if let s = m.senderContactID { agents[s]?.apply(e.event, seq: e.seq, at: nil) }
        default:
            return
        }
    }
}
