import CommHubDomain
import CommHubEngine
import CommHubStore
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// The request context of the WebSocket router.
public struct EventsContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// The connection, which the fan-out writes frames into directly (see `EventFanOut`).
    public let channel: any NIOCore.Channel
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

/// How `/api/events` delivers live events, and the bound on a slow client.
public struct EventStreamOptions: Sendable {
    public enum FanOut: String, Sendable, CaseIterable {
        /// One writer per event loop writes each encoded frame to all its subscribers (`EventFanOut`).
        case perEventLoop = "per-event-loop"
        /// The previous design: a task per subscriber forwarding each event through Hummingbird's
        /// writer. Kept only so a benchmark can measure both in one run (`Benchmarks/fanout.sh`).
        case perSubscriberTask = "per-subscriber-task"
    }

    public var fanOut = FanOut.perEventLoop
    /// Bytes of frames a subscriber's socket may hold unsent in the server
    /// (beyond what the kernel took) before it is dropped to a resync. The
    /// frame payloads are shared between subscribers, so this bounds how far
    /// a client may lag more than what it costs; 4 MiB is a few thousand
    /// message frames, enough for a burst (a bulk import) to a client that keeps reading.
    public var maxPendingFrameBytes = 4 << 20
    public init() {}

    public var problems: [String] {
        (4_096...(1 << 30)).contains(maxPendingFrameBytes)
            ? [] : ["the WebSocket pending-frame bound must be 4096 to 1073741824 bytes"]
    }
}

/// `GET /api/events`: committed events as JSON frames
/// `{"seq":N,"type":"message.created","data":{...}}`, filtered by what the
/// token may see. The token comes in the `Authorization` header or as the
/// first frame `{"token":"..."}` (browsers cannot set headers on a
/// WebSocket). `?since=SEQ` first replays every visible event after SEQ —
/// from the bus's memory, or from the journal when it is older — so a
/// client that reconnects misses nothing.
///
/// Live events go through `EventFanOut` (one writer per event loop, see
/// there); a subscriber whose socket holds more than
/// `EventStreamOptions.maxPendingFrameBytes` unsent is dropped to a resync:
/// nothing more is written to it until its socket drains, then it gets a
/// `resync` frame (`reload: true`) and live events after that frame's `seq`.
/// A client that never reads again is closed by the WebSocket ping timeout.
struct EventStream: Sendable {
    let engine: Engine
    let journal: JournalWriter?
    let logger: Logger
    let options: EventStreamOptions
    /// Frames encoded once per event for every subscriber (see `FrameCache`).
    let frames: FrameCache
    let fanOut: EventFanOut

    init(engine: Engine, journal: JournalWriter?, logger: Logger, options: EventStreamOptions = .init()) {
        self.engine = engine
        self.journal = journal
        self.logger = logger
        self.options = options
        let frames = FrameCache()
        self.frames = frames
        fanOut = EventFanOut(engine: engine, frames: frames, maxPendingFrameBytes: options.maxPendingFrameBytes,
                             logger: logger) { [engine] e, contact in
            try await EventStream.personalFrame(for: e, contact: contact, engine: engine)
        }
    }

    func register(on router: Router<EventsContext>) {
        router.ws("/api/events") { request, _ in
            if let s = request.uri.queryParameters.get("since"), UInt64(s) == nil {
                return .dontUpgrade
            }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let request = context.request
            var iterator = inbound.messages(maxSize: 16 * 1024).makeAsyncIterator()
            var secret = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            // The web app's session cookie (from CommHub's own page) stands in for a token.
            let sessionContact = secret == nil
                ? WebSessionAuth.webSocketContact(request, tokens: engine.authentication, now: engine.clock.now()) : nil
            if secret == nil, sessionContact == nil, case .text(let first)? = try await iterator.next(),
               let obj = try? JSONDecoder().decode([String: String].self, from: Data(first.utf8)) {
                secret = obj["token"]
            }
            let tokenContact = secret.flatMap { s -> Contact? in
                guard let (token, contact) = engine.authentication.authenticate(secretHash: TokenSecret.hash(s)),
                      token.kind == .person else { return nil }
                return contact
            }
            guard let contact = sessionContact ?? tokenContact else {
                try await outbound.write(.text(#"{"error":{"code":"unauthorized","message":"send a person's token in the Authorization header or as {\"token\":\"...\"}"}}"#))
                try await outbound.close(.policyViolation, reason: "unauthorized")
                return
            }
            let since = request.uri.queryParameters.get("since").flatMap(UInt64.init)
            // Stream until either side ends: the client's frames are read (and
            // ignored) beside the stream, so a closed socket never holds a
            // subscription or blocks graceful shutdown, and a stream that fails
            // closes the socket instead of leaving a silent connection open.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        switch options.fanOut {
                        case .perEventLoop:
                            try await streamPerLoop(channel: context.requestContext.channel, contact: contact, since: since)
                        case .perSubscriberTask:
                            try await stream(to: outbound, contact: contact, since: since)
                        }
                    } catch is CancellationError {
                    } catch {
                        // The close frame makes the client answer with its own, which ends the reading below.
                        logger.notice("event stream ended", metadata: ["error": "\(error)"])
                        try? await outbound.close(.unexpectedServerError, reason: "event stream failed; reconnect with ?since=")
                    }
                }
                while try await iterator.next() != nil {}
                group.cancelAll()
            }
        }
    }

    /// How many missed events a reconnecting client is sent from the
    /// journal; further behind, it gets a reload frame instead (replaying a
    /// day of traffic into one socket helps nobody).
    static let maxCatchUpEvents: UInt64 = 50_000
    /// Events buffered per subscriber before it is dropped to a resync.
    static let subscriberBufferEvents = 8192

    private func stream(to outbound: WebSocketOutboundWriter, contact: Contact, since: UInt64?) async throws {
        // Without `since`, start from the bus's position read before subscribing, so an
        // event committed in between is replayed rather than skipped. A `since` beyond
        // the last event (another engine's number, or a forged one) cannot be continued.
        let current = engine.bus.lastSeq
        let start = min(since ?? current, current)
        let subscription = engine.bus.subscribe(since: start, capacity: Self.subscriberBufferEvents)
        defer { subscription.cancel() }
        var delivered = start
        try await outbound.write(.text(#"{"type":"hello","seq":\#(delivered)}"#))
        if let since, since > current {
            try await sendReload(outbound, seq: current, reason: "since=\(since) is beyond the last event (\(current)) of this server")
        }
        try await withTaskCancellationHandler {
            try await forward(subscription, to: outbound, contact: contact, delivered: &delivered)
        } onCancel: {
            subscription.cancel()
        }
    }

    /// The stream of one connection with the per-loop fan-out: this task
    /// sends the hello and whatever the client missed, then leaves the live
    /// events to its loop's writer and sleeps until the writer reports a gap
    /// or a full socket.
    private func streamPerLoop(channel: any NIOCore.Channel, contact: Contact, since: UInt64?) async throws {
        let loop = channel.eventLoop
        let writer = fanOut.writer(for: loop)
        let member = FanOutMember(channel: channel, contact: contact)
        fanOut.join(contact)
        defer { fanOut.leave(contact) }
        // Added (queueing) before the bus position is read: nothing committed from here on can be missed.
        try await loop.submit { writer.add(member) }.get()
        do {
            try await runMember(member, since: since)
            try? await loop.submit { writer.remove(member) }.get()
        } catch {
            try? await loop.submit { writer.remove(member) }.get()
            throw error
        }
    }

    private func runMember(_ member: FanOutMember, since: UInt64?) async throws {
        let channel = member.channel
        let loop = channel.eventLoop
        let bound = options.maxPendingFrameBytes
        let current = engine.bus.lastSeq
        var delivered = min(since ?? current, current)
        try await write([ByteBuffer(string: #"{"type":"hello","seq":\#(delivered)}"#)], to: channel)
        if let since, since > current {
            try await write([try Self.reloadFrame(seq: current, reason: "since=\(since) is beyond the last event (\(current)) of this server")],
                            to: channel)
        }
        while !Task.isCancelled {
            delivered = try await catchUp(member, from: delivered)
            let caughtUp = delivered
            guard try await loop.submit({ member.goLive(after: caughtUp, maxPendingFrameBytes: bound) }).get() else {
                continue  // more arrived during the replay than the queue may hold: replay again
            }
            switch await trouble(of: member) {
            case nil:
                return
            case .gap?:
                delivered = try await loop.submit { () -> UInt64 in
                    member.rejoin(at: member.delivered)
                    return member.delivered
                }.get()
            case .slow?:
                delivered = try await dropToResync(member)
            }
        }
    }

    /// Waits (cancellably) until the member's loop writer needs this task; nil once the connection ends.
    private func trouble(of member: FanOutMember) async -> FanOutMember.Trouble? {
        let loop = member.channel.eventLoop
        return await withTaskCancellationHandler {
            await withCheckedContinuation { c in loop.execute { member.awaitTrouble(c) } }
        } onCancel: {
            loop.execute { member.finish() }
        }
    }

    /// How often a dropped subscriber's socket is checked for having drained.
    static let drainPollMilliseconds = 50

    /// A subscriber whose socket holds more than `maxPendingFrameBytes`
    /// unsent gets nothing more until it has read half of that; then a
    /// `resync` frame (reload its state through the API), and live events
    /// after that frame's `seq`. Returns that `seq`.
    private func dropToResync(_ member: FanOutMember) async throws -> UInt64 {
        let loop = member.channel.eventLoop
        let bound = options.maxPendingFrameBytes
        logger.notice("event subscriber too slow; dropped to resync",
                      metadata: ["events.contact_id": "\(member.contact.id)", "events.max_pending_frame_bytes": "\(bound)"])
        while try await loop.submit({ member.pendingBytes }).get() > bound / 2 {
            try await Task.sleep(for: .milliseconds(Self.drainPollMilliseconds))
        }
        let frame = { @Sendable (seq: UInt64) in
            try Self.reloadFrame(seq: seq, reason: "this connection fell more than \(bound) bytes behind; reload, then follow the events after seq")
        }
        let bus = engine.bus
        return try await loop.submit { () -> UInt64 in
            // On the loop, so no live frame can slip between the resync frame and the queue.
            let upTo = bus.lastSeq
            member.rejoin(at: upTo)
            member.channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, data: try frame(upTo)), promise: nil)
            return upTo
        }.get()
    }

    /// Sends `member` the events after `delivered` up to the bus's last one —
    /// from the bus's memory, else from the journal (at most
    /// `maxCatchUpEvents`), else a reload frame — and returns where it stands.
    private func catchUp(_ member: FanOutMember, from delivered: UInt64) async throws -> UInt64 {
        let upTo = engine.bus.lastSeq
        guard upTo > delivered else { return delivered }
        let channel = member.channel
        let missed: [SequencedEvent]
        if let retained = engine.bus.retained(after: delivered, upTo: upTo) {
            missed = retained
        } else {
            switch readJournal(after: delivered, upTo: upTo) {
            case .events(let events):
                missed = events
            case .reload(let reason):
                try await write([try Self.reloadFrame(seq: upTo, reason: reason)], to: channel)
                return upTo
            }
        }
        var chunk: [ByteBuffer] = []
        for e in missed where e.seq > delivered {
            if let b = try await encodedFrame(e, for: member.contact) { chunk.append(b) }
            if chunk.count == Self.maxCatchUpChunkFrames {
                try await write(chunk, to: channel)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        try await write(chunk, to: channel)
        return upTo
    }

    /// Frames written per loop hop while catching up; the next chunk waits until the socket took this one.
    static let maxCatchUpChunkFrames = 256

    private enum JournalRead {
        case events([SequencedEvent])
        case reload(reason: String)
    }

    private func readJournal(after delivered: UInt64, upTo: UInt64) -> JournalRead {
        guard let journal else { return .reload(reason: "this server keeps no journal to replay from") }
        guard upTo - delivered <= Self.maxCatchUpEvents else {
            return .reload(reason: "\(upTo - delivered) events were missed; more than \(Self.maxCatchUpEvents) are not replayed")
        }
        var missed: [SequencedEvent] = []
        do {
            try journal.replay(after: delivered) { e in
                if e.seq <= upTo { missed.append(e) }
            }
        } catch {
            logger.notice("event stream cannot replay from the journal", metadata: ["since": "\(delivered)", "error": "\(error)"])
            return .reload(reason: "the journal no longer holds the events after \(delivered)")
        }
        return .events(missed)
    }

    /// Writes text frames on the connection's loop, flushes, and waits until the socket took the last.
    private func write(_ buffers: [ByteBuffer], to channel: any NIOCore.Channel) async throws {
        guard let last = buffers.last else { return }
        let done = channel.eventLoop.makePromise(of: Void.self)
        channel.eventLoop.execute {
            for b in buffers.dropLast() { channel.write(WebSocketFrame(fin: true, opcode: .text, data: b), promise: nil) }
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, data: last), promise: done)
        }
        try await done.futureResult.get()
    }

    static func reloadFrame(seq: UInt64, reason: String) throws -> ByteBuffer {
        let frame = JSONValue.object(["type": .string("resync"), "seq": .number(Double(seq)), "reload": .bool(true),
                                      "reason": .string(reason)])
        return ByteBuffer(string: try encode(frame))
    }

    /// Tells the client that the events up to `seq` will not be sent and it
    /// must reload its state through the API; frames after this one follow `seq`.
    private func sendReload(_ outbound: WebSocketOutboundWriter, seq: UInt64, reason: String) async throws {
        let frame = JSONValue.object(["type": .string("resync"), "seq": .number(Double(seq)), "reload": .bool(true),
                                      "reason": .string(reason)])
        try await outbound.write(.text(try Self.encode(frame)))
    }

    private func forward(_ subscription: Subscription, to outbound: WebSocketOutboundWriter, contact: Contact,
                         delivered: inout UInt64) async throws {
        for await item in subscription {
            switch item {
            case .event(let e):
                guard e.seq > delivered else { continue }
                try await send(e, outbound, contact)
                delivered = e.seq
            case .resync:
                try await catchUp(outbound, contact: contact, delivered: &delivered)
            }
        }
    }

    /// Sends what the client missed from the journal, or — when the journal no
    /// longer holds it (pruned behind the oldest snapshot), cannot be read, or
    /// it is more than `maxCatchUpEvents` — a reload frame.
    private func catchUp(_ outbound: WebSocketOutboundWriter, contact: Contact, delivered: inout UInt64) async throws {
        let upTo = engine.bus.lastSeq
        guard upTo > delivered else { return }
        guard let journal else {
            try await sendReload(outbound, seq: upTo, reason: "this server keeps no journal to replay from")
            delivered = upTo
            return
        }
        guard upTo - delivered <= Self.maxCatchUpEvents else {
            try await sendReload(outbound, seq: upTo, reason: "\(upTo - delivered) events were missed; more than \(Self.maxCatchUpEvents) are not replayed")
            delivered = upTo
            return
        }
        var missed: [SequencedEvent] = []
        do {
            try journal.replay(after: delivered) { e in
                if e.seq <= upTo { missed.append(e) }
            }
        } catch {
            logger.notice("event stream cannot replay from the journal", metadata: ["since": "\(delivered)", "error": "\(error)"])
            try await sendReload(outbound, seq: upTo, reason: "the journal no longer holds the events after \(delivered)")
            delivered = upTo
            return
        }
        for e in missed where e.seq > delivered {
            try await send(e, outbound, contact)
            delivered = e.seq
        }
    }

    private func send(_ e: SequencedEvent, _ outbound: WebSocketOutboundWriter, _ contact: Contact) async throws {
        guard let buffer = try await encodedFrame(e, for: contact) else { return }
        // A text frame over the buffer: a shared frame is not copied per subscriber.
        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: buffer)))
    }

    /// Whether what an event shows depends on who asks (the visible moves, the task's assignee, the recipients).
    static func isPersonal(_ event: EngineEvent) -> Bool {
        switch event {
        case .threadsRebalanced, .taskUpserted, .slaStepFired, .taskReminderFired, .webAccess(.mentioned), .webAccess(.mentionsSeen):
            true
        default:
            false
        }
    }

    /// The frame `contact` gets for `e`, or nil when they get none.
    func encodedFrame(_ e: SequencedEvent, for contact: Contact) async throws -> ByteBuffer? {
        if Self.isPersonal(e.event) {
            // Encoded per subscriber.
            guard let frame = try await frame(for: e, contact: contact) else { return nil }
            return ByteBuffer(string: try Self.encode(frame))
        }
        // Everything else is the same frame for everyone allowed to see its thread: encoded once.
        let shared = frames.frame(e.seq) { Self.sharedFrame(for: e) }
        if let failure = shared.failure { throw FrameError(description: "cannot encode \(failure)") }
        guard let buffer = shared.buffer else { return nil }
        if let thread = shared.thread, !visible(thread, contact) { return nil }
        return buffer
    }

    /// The JSON text of a frame. Frames are built from engine values whose
    /// free-form JSON is bounded where it enters, so encoding does not fail;
    /// if it ever does, the error travels up and ends the stream with a close
    /// frame (the client reconnects with `?since=`) — never a silent `{}`.
    static func encode(_ frame: JSONValue) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(frame), as: UTF8.self)
    }

    /// The frame of an event whose content does not depend on the subscriber.
    static func sharedFrame(for e: SequencedEvent) -> FrameCache.Frame {
        let type: String
        let data: JSONValue
        let thread: ThreadID
        do {
            switch e.event {
            case .messageAdded(let h, _, _):
                type = "message.created"; thread = h.threadID
                data = try View.json(h)
            case .deliveryStatusChanged(let m, let t, let s, let at):
                type = "message.updated"; thread = t
                data = .object(["id": .string(m.description), "thread_id": .string(t.description),
                                "delivery_status": .string(s.rawValue), "at": .string(at.iso8601)])
            case .threadOpened(let h):
                type = "thread.updated"; thread = h.id
                data = try View.json(h)
            case .threadChanged(let t, let c, let at):
                type = "thread.updated"; thread = t
                var o = try View.json(c).objectValue ?? [:]
                o["id"] = .string(t.description)
                o["at"] = .string(at.iso8601)
                data = .object(o)
            case .messageAnnotated(let m, let t, let annotation, let at):
                type = "message.updated"; thread = t
                let what: String = switch annotation {
                case .attachment: "attachment"
                case .reaction: "reaction"
                case .deliveryError: "delivery_error"
                case .providerCopy: "provider_message_id"
                case .removedAtProvider: "removed_at_provider"
                }
                data = .object(["id": .string(m.description), "thread_id": .string(t.description),
                                "changed": .string(what), "at": .string(at.iso8601)])
            case .outboxReported(let m, let t, _, let report, let at):
                type = "message.updated"; thread = t
                data = .object(["id": .string(m.description), "thread_id": .string(t.description),
                                "delivery": .string(report.name), "at": .string(at.iso8601)])
            case .threadsMerged(let m):
                type = "thread.merged"; thread = m.survivor.id
                data = .object(["merged_thread_id": .string(m.merged.description), "survivor_thread_id": .string(m.survivor.id.description),
                                "messages": .number(Double(m.messages.count)), "at": .string(m.at.iso8601)])
            case .threadSplit(let sp):
                type = "thread.split"; thread = sp.source.id
                data = .object(["source_thread_id": .string(sp.source.id.description), "new_thread_id": .string(sp.newThread.id.description),
                                "from_message_id": sp.messages.first.map { .string($0.id.description) } ?? .null,
                                "messages": .number(Double(sp.messages.count)), "at": .string(sp.at.iso8601)])
            case .csatCaptured(let a):
                type = "thread.updated"; thread = a.thread
                data = .object(["id": .string(a.thread.description), "csat_score": .number(Double(a.score)), "at": .string(a.at.iso8601)])
            case .threadAssigned(let t, let team, let agent, let reason):
                type = "thread.assigned"; thread = t
                data = .object(["id": .string(t.description), "team_id": team.map { .string($0.description) } ?? .null,
                                "assigned_to_contact_id": agent.map { .string($0.description) } ?? .null,
                                "reason": .string(reason)])
            default:
                return FrameCache.Frame(thread: nil, text: nil)
            }
            let text = try encode(.object(["seq": .number(Double(e.seq)), "type": .string(type), "data": data]))
            return FrameCache.Frame(thread: thread, text: text)
        } catch {
            return FrameCache.Frame(failure: "\(e.event.name) seq \(e.seq): \(error)")
        }
    }

    /// The frame of an event whose content depends on the subscriber (a
    /// rebalance shows only the moves this person may see; a task goes to its
    /// assignee and whoever sees its thread), or nil when this person sees nothing.
    func frame(for e: SequencedEvent, contact: Contact) async throws -> JSONValue? {
        try await Self.personalFrame(for: e, contact: contact, engine: engine)
    }

    static func personalFrame(for e: SequencedEvent, contact: Contact, engine: Engine) async throws -> JSONValue? {
        func visible(_ thread: ThreadID, _ c: Contact) -> Bool { Self.visible(thread, c, engine: engine) }
        func visibleMoves(_ moves: [ThreadMove], _ c: Contact) -> [ThreadMove] { Self.visibleMoves(moves, c, engine: engine) }
        switch e.event {
        case .threadsRebalanced(let moves, let reason):
            // One frame per visible move.
            let visible = visibleMoves(moves, contact)
            guard !visible.isEmpty else { return nil }
            return .object(["seq": .number(Double(e.seq)), "type": .string("thread.assigned"),
                            "data": .object(["moves": try View.json(visible), "reason": .string(reason)])])
        case .taskUpserted(let t):
            guard let a = t.assignedToContactID else { return nil }
            if a != contact.id, !AccessPolicy.seesAllThreads(contact.role) {
                guard let th = t.threadID, visible(th, contact) else { return nil }
            }
            return .object(["seq": .number(Double(e.seq)), "type": .string("task.assigned"), "data": try View.json(t)])
        case .slaStepFired, .taskReminderFired:
            return await WorkflowFrames.frame(for: e, contact: contact, engine: engine)
        case .webAccess(.mentioned(let list)):
            // Only the person mentioned hears of it (their notification).
            let mine = list.filter { $0.contactID == contact.id }
            guard !mine.isEmpty else { return nil }
            return .object(["seq": .number(Double(e.seq)), "type": .string("mention.created"),
                            "data": .object(["mentions": try View.json(mine)])])
        case .webAccess(.mentionsSeen(let who, let thread, let at)):
            guard who == contact.id else { return nil }
            return .object(["seq": .number(Double(e.seq)), "type": .string("mention.seen"),
                            "data": .object(["thread_id": .string(thread.description), "at": .string(at.iso8601)])])
        default:
            return nil  // shared by all subscribers: `sharedFrame(for:)`
        }
    }

    func visible(_ thread: ThreadID, _ c: Contact) -> Bool { Self.visible(thread, c, engine: engine) }

    static func visible(_ thread: ThreadID, _ c: Contact, engine: Engine) -> Bool {
        let scope = engine.inbox.scope(of: thread)
        return Audience(team: scope?.team, assignee: scope?.assignee, known: scope != nil).admits(c)
    }

    static func visibleMoves(_ moves: [ThreadMove], _ c: Contact, engine: Engine) -> [ThreadMove] {
        if AccessPolicy.seesAllThreads(c.role) { return moves }
        var out: [ThreadMove] = []
        for m in moves where m.from == c.id || m.to == c.id {
            out.append(m)
        }
        for m in moves where m.from != c.id && m.to != c.id {
            if visible(m.thread, c, engine: engine) { out.append(m) }
        }
        return out
    }
}

struct FrameError: Error, CustomStringConvertible {
    let description: String
}

/// The encoded client frames of recent events, shared by all WebSocket
/// subscribers: the first subscriber to send an event encodes it, the others
/// reuse the buffer and only check whether they may see its thread. Without
/// it a fan-out to 1,000 clients encodes the same JSON 1,000 times. A
/// direct-mapped ring by sequence number: an evicted or raced slot is just
/// encoded again, never wrong.
final class FrameCache: Sendable {
    struct Frame: Sendable {
        /// The thread whose visibility decides who gets the frame.
        let thread: ThreadID?
        /// The encoded JSON, one buffer every subscriber's frame shares;
        /// nil: this event is not shown to clients.
        let buffer: ByteBuffer?

        /// Why the event could not be encoded (see `EventStream.encode`).
        let failure: String?

        init(thread: ThreadID?, text: String?) {
            self.thread = thread
            buffer = text.map { ByteBuffer(string: $0) }
            failure = nil
        }

        init(failure: String) {
            thread = nil
            buffer = nil
            self.failure = failure
        }
    }

    private let slots: Mutex<[(seq: UInt64, frame: Frame)?]>
    private let mask: Int

    init(capacity: Int = 4096) {
        let size = max(1, capacity).nextPowerOfTwo
        mask = size - 1
        slots = Mutex(Array(repeating: nil, count: size))
    }

    func frame(_ seq: UInt64, make: () -> Frame) -> Frame {
        let i = Int(truncatingIfNeeded: seq) & mask
        if let hit = slots.withLock({ $0[i] }), hit.seq == seq { return hit.frame }
        let made = make()
        slots.withLock { $0[i] = (seq, made) }
        return made
    }
}

extension Int {
    fileprivate var nextPowerOfTwo: Int {
        var n = 1
        while n < self { n <<= 1 }
        return n
    }
}
