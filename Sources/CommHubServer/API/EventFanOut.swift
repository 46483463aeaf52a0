import CommHubDomain
import CommHubEngine
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// The live part of `/api/events`: one dispatcher reads the event bus, encodes
/// each event's frame once and decides its audience once, then hands the
/// batch to one `LoopWriter` per event loop, which writes the same
/// `ByteBuffer` to every subscriber channel on that loop and flushes each
/// channel once per batch.
///
/// Why this shape: Hummingbird gives each WebSocket a task and an actor-backed
/// `WebSocketOutboundWriter`; writing through it costs a task wake-up and an
/// actor hop per subscriber per event (24 µs per client, 35 ms p99 for 1,000
/// clients). The writer here instead writes `WebSocketFrame`s straight into the
/// connection's NIO channel on its own event loop (the same pipeline, the same
/// frame encoder, no per-subscriber task hop per event). The connection's task
/// stays only for what is per connection and rare: the handshake, the hello,
/// the `?since=` replay, catching up after a gap, and the resync of a slow
/// client (see `EventStream.streamPerLoop`).
///
/// Per event the dispatcher does the work that does not depend on the
/// subscriber: the shared frame and its `Audience` (the thread's committed
/// team and assignee), or for person-dependent events (rebalances, tasks,
/// workflow alerts, mentions) one frame per distinct person subscribed — not
/// per connection. The writers only compare the audience with each member's
/// contact.
final class EventFanOut: Sendable {
    private struct State {
        var writers: [ObjectIdentifier: LoopWriter] = [:]
        /// The distinct people subscribed (person-dependent frames are made once per person).
        var persons: [ContactID: (contact: Contact, connections: Int)] = [:]
        var dispatcher: Task<Void, Never>?
        var subscription: Subscription?
    }

    private let engine: Engine
    private let frames: FrameCache
    private let personalFrame: @Sendable (SequencedEvent, Contact) async throws -> JSONValue?
    private let logger: Logger
    let maxPendingFrameBytes: Int
    private let state = Mutex(State())

    /// Events the dispatcher may fall behind the bus before every member
    /// catches up on its own (from the bus's memory or the journal).
    static let dispatcherBufferEvents = 65_536
    /// Deliveries handed to the loops in one hop.
    static let maxBatchEvents = 256

    init(engine: Engine, frames: FrameCache, maxPendingFrameBytes: Int, logger: Logger,
         personalFrame: @escaping @Sendable (SequencedEvent, Contact) async throws -> JSONValue?) {
        self.engine = engine
        self.frames = frames
        self.maxPendingFrameBytes = maxPendingFrameBytes
        self.logger = logger
        self.personalFrame = personalFrame
    }

    deinit {
        // Cancelling the subscription wakes the dispatcher waiting for the next event.
        state.withLock { s in
            s.dispatcher?.cancel()
            s.subscription?.cancel()
        }
    }

    /// The writer of `loop` (made on first use; there is one per event loop, never removed).
    func writer(for loop: any EventLoop) -> LoopWriter {
        state.withLock { s in
            let key = ObjectIdentifier(loop)
            if let w = s.writers[key] { return w }
            let w = LoopWriter(eventLoop: loop, maxPendingFrameBytes: maxPendingFrameBytes)
            s.writers[key] = w
            if s.dispatcher == nil {
                let subscription = engine.bus.subscribe(capacity: Self.dispatcherBufferEvents)
                s.subscription = subscription
                s.dispatcher = startDispatcher(subscription)
            }
            return w
        }
    }

    /// Counts `contact` as subscribed until `leave`; call before the member is added to its writer.
    func join(_ contact: Contact) {
        state.withLock { s in s.persons[contact.id, default: (contact, 0)].connections += 1 }
    }

    func leave(_ contact: Contact) {
        state.withLock { s in
            guard let p = s.persons[contact.id] else { return }
            if p.connections <= 1 { s.persons[contact.id] = nil } else { s.persons[contact.id]?.connections -= 1 }
        }
    }

    private func startDispatcher(_ subscription: Subscription) -> Task<Void, Never> {
        Task { [weak self] in
            defer { subscription.cancel() }
            while !Task.isCancelled {
                let batch = await subscription.next(upTo: Self.maxBatchEvents)
                guard !batch.isEmpty, let self else { return }
                await self.dispatch(batch)
            }
        }
    }

    private func dispatch(_ batch: [BusDelivery]) async {
        let persons = state.withLock { $0.persons.values.map(\.contact) }
        var items: [FanOutItem] = []
        items.reserveCapacity(batch.count)
        for delivery in batch {
            switch delivery {
            case .event(let e):
                items.append(await item(for: e, persons: persons))
            case .resync(let from):
                // The dispatcher itself lost events: every member catches up on its own.
                logger.notice("event fan-out fell behind the bus; subscribers catch up", metadata: ["from": "\(from)"])
                items.append(FanOutItem(seq: from, payload: .gap))
            }
        }
        let writers = state.withLock { Array($0.writers.values) }
        let frozen = items
        for w in writers {
            w.eventLoop.execute { w.deliver(frozen) }
        }
    }

    private func item(for e: SequencedEvent, persons: [Contact]) async -> FanOutItem {
        if EventStream.isPersonal(e.event) {
            var perPerson: [ContactID: ByteBuffer] = [:]
            for c in persons {
                do {
                    guard let frame = try await personalFrame(e, c) else { continue }
                    perPerson[c.id] = ByteBuffer(string: try EventStream.encode(frame))
                } catch {
                    // Encoding does not fail for engine values; if it does, those members catch up from the journal.
                    logger.error("event frame cannot be encoded", metadata: ["seq": "\(e.seq)", "error": "\(error)"])
                    return FanOutItem(seq: e.seq, payload: .gap)
                }
            }
            return FanOutItem(seq: e.seq, payload: .personal(perPerson))
        }
        let shared = frames.frame(e.seq) { EventStream.sharedFrame(for: e) }
        if shared.failure != nil { return FanOutItem(seq: e.seq, payload: .gap) }
        guard let buffer = shared.buffer, let thread = shared.thread else { return FanOutItem(seq: e.seq, payload: .none) }
        let scope = engine.inbox.scope(of: thread)
        return FanOutItem(seq: e.seq, payload: .shared(buffer, Audience(team: scope?.team, assignee: scope?.assignee,
                                                                        known: scope != nil)))
    }
}

/// Who may see a shared frame, decided once per event from its thread's
/// committed team and assignee (the rule of `EventStream.visible`).
struct Audience: Sendable, Equatable {
    let team: TeamID?
    let assignee: ContactID?
    /// False when the inbox does not know the thread: only people who see all threads get it.
    let known: Bool

    func admits(_ c: Contact) -> Bool {
        if AccessPolicy.seesAllThreads(c.role) { return true }
        guard known else { return false }
        return assignee == c.id || (team.map(c.teams.contains) ?? false)
    }
}

/// One event as the writers see it: encoded once, with its audience.
struct FanOutItem: Sendable {
    enum Payload: Sendable {
        /// The same frame for everyone in the audience.
        case shared(ByteBuffer, Audience)
        /// A frame per person it concerns (absent: that person gets nothing).
        case personal([ContactID: ByteBuffer])
        /// Shown to nobody.
        case none
        /// Events from `seq` on were not delivered to the fan-out: members catch up on their own.
        case gap
    }

    let seq: UInt64
    let payload: Payload

    func buffer(for c: Contact) -> ByteBuffer? {
        switch payload {
        case .shared(let b, let audience): audience.admits(c) ? b : nil
        case .personal(let frames): frames[c.id]
        case .none, .gap: nil
        }
    }

    var byteCount: Int {
        switch payload {
        case .shared(let b, _): b.readableBytes
        case .personal(let frames): frames.values.reduce(0) { $0 + $1.readableBytes }
        case .none, .gap: 0
        }
    }
}

/// The subscribers of one event loop and the one writer that sends them
/// frames. All state is touched only on `eventLoop` (checked), which is why
/// it needs no lock.
final class LoopWriter: @unchecked Sendable {
    let eventLoop: any EventLoop
    let maxPendingFrameBytes: Int
    private var members: [ObjectIdentifier: FanOutMember] = [:]

    init(eventLoop: any EventLoop, maxPendingFrameBytes: Int) {
        self.eventLoop = eventLoop
        self.maxPendingFrameBytes = maxPendingFrameBytes
    }

    func add(_ m: FanOutMember) {
        eventLoop.preconditionInEventLoop()
        members[ObjectIdentifier(m)] = m
    }

    func remove(_ m: FanOutMember) {
        eventLoop.preconditionInEventLoop()
        members[ObjectIdentifier(m)] = nil
        m.finish()
    }

    var count: Int {
        eventLoop.preconditionInEventLoop()
        return members.count
    }

    /// Members written to in one turn of the loop; the rest of a batch goes
    /// to the next turn, so the loop's other connections (ingest, HTTP, the
    /// sockets of these clients) are served between slices instead of waiting
    /// for 5,000 writes. Each member still gets every batch in order: a later
    /// batch's slices are queued behind this one's.
    static let maxMembersPerTurn = 256

    func deliver(_ items: [FanOutItem]) {
        eventLoop.preconditionInEventLoop()
        deliver(items, to: Array(members.values), from: 0)
    }

    private func deliver(_ items: [FanOutItem], to targets: [FanOutMember], from start: Int) {
        let end = min(start + Self.maxMembersPerTurn, targets.count)
        for m in targets[start..<end] { m.take(items, maxPendingFrameBytes: maxPendingFrameBytes) }
        guard end < targets.count else { return }
        eventLoop.execute { self.deliver(items, to: targets, from: end) }
    }
}

/// One `/api/events` connection as its loop's writer sees it. Live, it is
/// written to directly; while its connection task replays (after `?since=`, a
/// gap or a resync) it queues what arrives, at most `maxPendingFrameBytes`.
/// Every field is touched only on the channel's event loop.
final class FanOutMember: @unchecked Sendable {
    enum Mode {
        /// The connection task is sending older events; live ones wait here (nil: the queue overflowed, catch up again).
        case joining(queue: [FanOutItem]?, bytes: Int)
        case live
        /// Needs its connection task: it missed events (`gap`) or its socket is full (`slow`).
        case behind(Trouble)
    }

    enum Trouble: Sendable, Equatable {
        case gap
        case slow
    }

    let channel: any NIOCore.Channel
    let contact: Contact
    private(set) var mode: Mode = .joining(queue: [], bytes: 0)
    /// The last event handled live (sent, or not for this person).
    private(set) var delivered: UInt64 = 0
    private var waiter: CheckedContinuation<Trouble?, Never>?
    private var finished = false

    init(channel: any NIOCore.Channel, contact: Contact) {
        self.channel = channel
        self.contact = contact
    }

    /// Bytes NIO holds for this socket that the kernel has not taken yet.
    var pendingBytes: Int {
        (try? channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes)) ?? 0
    }

    func take(_ items: [FanOutItem], maxPendingFrameBytes: Int) {
        guard !finished else { return }  // removed while a batch was being sliced
        switch mode {
        case .behind:
            return  // its connection task catches it up
        case .joining(let queue, let bytes):
            guard var queue else { return }
            var bytes = bytes
            for item in items {
                if case .gap = item.payload { queue.append(item); continue }
                guard let b = item.buffer(for: contact) else { continue }
                bytes += b.readableBytes
                queue.append(FanOutItem(seq: item.seq, payload: .personal([contact.id: b])))
            }
            // Over the bound the queue is dropped: the connection task reads those events again from the bus or journal.
            mode = bytes > maxPendingFrameBytes ? .joining(queue: nil, bytes: 0) : .joining(queue: queue, bytes: bytes)
        case .live:
            write(items, maxPendingFrameBytes: maxPendingFrameBytes)
        }
    }

    /// Writes what this person may see; at the bound (or a gap) stops and wakes the connection task.
    private func write(_ items: [FanOutItem], maxPendingFrameBytes: Int) {
        var pending = -1
        var wrote = false
        defer { if wrote { channel.flush() } }
        for item in items where item.seq > delivered {
            if case .gap = item.payload {
                fall(behind: .gap)
                return
            }
            guard let buffer = item.buffer(for: contact) else {
                delivered = item.seq
                continue
            }
            if pending < 0 { pending = pendingBytes }
            // One frame always fits an empty buffer, so a frame larger than the bound still goes out.
            if pending > 0, pending + buffer.readableBytes > maxPendingFrameBytes {
                fall(behind: .slow)
                return
            }
            channel.write(WebSocketFrame(fin: true, opcode: .text, data: buffer), promise: nil)
            pending += buffer.readableBytes
            wrote = true
            delivered = item.seq
        }
    }

    private func fall(behind trouble: Trouble) {
        mode = .behind(trouble)
        if let w = waiter {
            waiter = nil
            w.resume(returning: trouble)
        }
    }

    /// Back to queueing: the connection task is about to replay events after `seq`.
    func rejoin(at seq: UInt64) {
        delivered = seq
        mode = .joining(queue: [], bytes: 0)
    }

    /// After the connection task sent everything up to `seq`: writes the queued
    /// events after it and turns live. False when the queue overflowed meanwhile
    /// (the task catches up again from `seq`).
    func goLive(after seq: UInt64, maxPendingFrameBytes: Int) -> Bool {
        guard case .joining(let queue, _) = mode else { return true }
        delivered = seq
        guard let queue else {
            mode = .joining(queue: [], bytes: 0)
            return false
        }
        mode = .live
        write(queue, maxPendingFrameBytes: maxPendingFrameBytes)
        return true
    }

    /// Registers the connection task to be woken when this member falls behind;
    /// resumes at once with the trouble already there, or nil once finished.
    func awaitTrouble(_ c: CheckedContinuation<Trouble?, Never>) {
        if finished { return c.resume(returning: nil) }
        if case .behind(let t) = mode { return c.resume(returning: t) }
        waiter = c
    }

    func finish() {
        finished = true
        waiter?.resume(returning: nil)
        waiter = nil
    }
}
