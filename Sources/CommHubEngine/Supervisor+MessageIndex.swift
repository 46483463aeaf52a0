import CommHubDomain
import CommHubStore
import Foundation

/// Look-ups of message ids that reach beyond the recent window: the
/// supervisor's `external` and `messageThread` tables hold recent entries
/// (`RecentIndex`, at most two generations of `recentMessageIDs`); the
/// store's message index holds every message ever committed. A provider's
/// retry after a month is still a duplicate.
extension Supervisor {
    /// The message a provider id names on a channel: recent ones from
    /// memory, older ones from the store. Throws when the store cannot be
    /// read (a caller then refuses rather than take a duplicate as new).
    func knownMessage(_ key: EngineState.ExternalKey) throws -> EngineState.MessageRef? {
        if let ref = state.external[key] { return ref }
        guard let messageIndex else { return nil }
        do {
            return try messageIndex.indexedMessage(channel: key.channel, externalID: key.externalID)
                .map { EngineState.MessageRef(thread: $0.thread, message: $0.message, seq: $0.seq) }
        } catch {
            logger.error("message index unreadable", metadata: ["error": "\(ErrorText.describe(error))"])
            throw EngineError(.unavailable, "the message index cannot be read now; try again")
        }
    }

    /// The thread a message belongs to (a merge or a split moves it with its message, in memory and in the index).
    func knownThread(ofMessage id: MessageID) throws -> ThreadID? {
        if let t = state.messageThread[id] { return t }
        guard let messageIndex else { return nil }
        do {
            return try messageIndex.indexedThread(of: id)?.thread
        } catch {
            logger.error("message index unreadable", metadata: ["error": "\(ErrorText.describe(error))"])
            throw EngineError(.unavailable, "the message index cannot be read now; try again")
        }
    }

    /// Starts a new generation of the recent-id tables when one is full and
    /// the generation it drops is durable (the store's index has it). Only
    /// with a store index; an in-memory engine keeps every id.
    func rotateRecentMessageIDs() {
        guard messageIndex != nil else { return }
        let limit = configuration.recentMessageIDs
        guard state.external.count >= limit || state.messageThread.count >= limit else { return }
        let assigned = journal.lastAssignedSeq, durable = journal.durableSeq
        state.external.rotate(limit: limit, assignedThrough: assigned, durableThrough: durable)
        state.messageThread.rotate(limit: limit, assignedThrough: assigned, durableThrough: durable)
    }

    /// Sizes of the recent-id tables, for the admin socket and tests.
    public func recentMessageIDCounts() -> (external: Int, messageThread: Int, rotations: Int) {
        (state.external.count, state.messageThread.count, state.external.rotations + state.messageThread.rotations)
    }

    /// Waits until every event of these threads is durable, so their rows
    /// in the store's history are current: a merge or a split moves rows
    /// only in its commit, and until then the store still lists the moved
    /// messages under the thread they left. Merges, splits and erasures
    /// call it before they read the states they plan from (an erasure
    /// planned from a stale row would delete a message that had moved to a
    /// thread it does not erase). A thread that takes new events all the
    /// while is waited for at most `settleRounds` commits; a stale row can
    /// only come from a move, and moves go through this actor.
    func settleHistory(_ ids: [ThreadID]) async throws {
        guard messageIndex != nil else { return }
        for _ in 0..<Self.settleRounds {
            var last: UInt64 = 0
            for id in ids {
                if let a = threads[id] { last = max(last, await a.state.lastSeq) }
            }
            if journal.durableSeq >= last { return }
            try await journal.waitDurable(last)
        }
    }

    static let settleRounds = 8

    /// `s` with every message: the stored ones older than what it holds
    /// first (in journal order), then its own. A store that cannot be read
    /// leaves the recent ones (logged).
    func withHistory(_ s: ThreadState) -> ThreadState {
        merged(s) { index, live in try index.historyMessages(thread: s.id, excluding: live, after: 0, limit: .max) }
    }

    /// `s` with at most its newest `count` messages (reading only that many
    /// stored rows), and whether older ones were left out.
    func withLatestHistory(_ s: ThreadState, count: Int) -> (state: ThreadState, truncated: Bool) {
        var full = merged(s) { index, live in try index.latestHistoryMessages(thread: s.id, excluding: live, count: count + 1) }
        guard full.messages.count > count else { return (full, false) }
        full.messages.removeFirst(full.messages.count - count)
        full.messageSeqs.removeFirst(full.messageSeqs.count - count)
        return (full, true)
    }

    /// Merges `s`'s own messages with stored rows (`read` leaves out the
    /// seqs `s` holds) in journal order: the state keeps its recent messages
    /// and each channel's last incoming one (`ThreadState.trimMessages`),
    /// which may be older than rows read here.
    private func merged(_ s: ThreadState,
                        _ read: (any MessageIndexReader, Set<UInt64>) throws -> [(header: MessageHeader, seq: UInt64)]) -> ThreadState {
        guard let messageIndex else { return s }
        do {
            let older = try read(messageIndex, Set(s.messageSeqs))
            guard !older.isEmpty else { return s }
            var full = s
            full.messages = []
            full.messages.reserveCapacity(older.count + s.messages.count)
            full.messageSeqs = []
            full.messageSeqs.reserveCapacity(older.count + s.messages.count)
            var o = 0
            for (m, seq) in zip(s.messages, s.messageSeqs) {
                while o < older.count, older[o].seq < seq {
                    full.messages.append(older[o].header)
                    full.messageSeqs.append(older[o].seq)
                    o += 1
                }
                full.messages.append(m)
                full.messageSeqs.append(seq)
            }
            for row in older[o...] {
                full.messages.append(row.header)
                full.messageSeqs.append(row.seq)
            }
            return full
        } catch {
            logger.error("message history unreadable", metadata: ["thread.id": "\(s.id)", "error": "\(ErrorText.describe(error))"])
            return s
        }
    }

    /// One page of a thread's messages in journal order: those with a seq
    /// above `after` that `include` keeps, at most `limit`, and the cursor
    /// (a seq) to go on from. A page examines at most `scan` stored rows, so
    /// a filter that matches rarely returns a short (even empty) page with a
    /// cursor rather than read the whole thread in one request.
    public func messagePage(thread id: ThreadID, after: UInt64, limit: Int, scan: Int,
                            include: @Sendable (MessageHeader) -> Bool) async -> (messages: [MessageHeader], next: UInt64?)? {
        guard let s = await settledState(id) else { return nil }
        var stored: [(header: MessageHeader, seq: UInt64)] = []
        if let messageIndex {
            do {
                stored = try messageIndex.historyMessages(thread: id, excluding: Set(s.messageSeqs), after: after, limit: scan)
            } catch {
                logger.error("message history unreadable", metadata: ["thread.id": "\(id)", "error": "\(ErrorText.describe(error))"])
            }
        }
        // Rows past the last stored one read may have unread stored rows before them.
        let cut = stored.count == scan ? stored.last!.seq : UInt64.max
        var all = stored.filter { $0.seq <= cut }
        for (m, seq) in zip(s.messages, s.messageSeqs) where seq > after && seq <= cut { all.append((m, seq)) }
        all.sort { $0.seq < $1.seq }
        var out: [MessageHeader] = []
        for (i, row) in all.enumerated() where include(row.header) {
            out.append(row.header)
            if out.count == limit {
                return (out, i + 1 < all.count || cut != .max ? row.seq : nil)
            }
        }
        return (out, cut != .max ? cut : nil)
    }

    /// One message's header: from its thread's recent messages, else from
    /// the store's history (an answer quoting an old message).
    public func messageHeader(_ id: MessageID) async -> MessageHeader? {
        if let t = try? knownThread(ofMessage: id), let actor = threads[t],
           let m = await actor.state.messages.last(where: { $0.id == id }) {
            return m
        }
        return (try? messageIndex?.historyMessage(id))??.header
    }

    /// A message's delivery status: from its thread's recent messages, else from the store's history.
    func deliveryStatus(of message: MessageID, in actor: ThreadActor) async -> DeliveryStatus? {
        if let s = await actor.deliveryStatus(ofMessage: message) { return s }
        return (try? messageIndex?.historyMessage(message))??.header.deliveryStatus
    }
}
