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
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
    }
}

/// `GET /api/events`: committed events as JSON frames
/// `{"seq":N,"type":"message.created","data":{...}}`, filtered by what the
/// token may see. The token comes in the `Authorization` header or as the
/// first frame `{"token":"..."}` (browsers cannot set headers on a
/// WebSocket). `?since=SEQ` first replays every visible event after SEQ —
/// from the bus's memory, or from the journal when it is older — so a
/// client that reconnects misses nothing.
struct EventStream: Sendable {
    let engine: Engine
    let journal: JournalWriter?
    let logger: Logger
    /// Frames encoded once per event for every subscriber (see `FrameCache`).
    let frames = FrameCache()

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
                        try await stream(to: outbound, contact: contact, since: since)
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
        switch e.event {
        case .threadsRebalanced, .taskUpserted, .slaStepFired, .taskReminderFired, .webAccess(.mentioned), .webAccess(.mentionsSeen):
            // What these show depends on who asks (the visible moves, the task's assignee): encode per subscriber.
            guard let frame = try await frame(for: e, contact: contact) else { return }
            try await outbound.write(.text(try Self.encode(frame)))
        default:
            // Everything else is the same frame for everyone allowed to see its thread: encode once.
            let shared = frames.frame(e.seq) { Self.sharedFrame(for: e) }
            if let failure = shared.failure { throw FrameError(description: "cannot encode \(failure)") }
            guard let buffer = shared.buffer else { return }
            if let thread = shared.thread, !(await visible(thread, contact)) { return }
            // A text frame over the shared buffer: no copy of the JSON per subscriber.
            try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: buffer)))
        }
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
        switch e.event {
        case .threadsRebalanced(let moves, let reason):
            // One frame per visible move.
            let visible = await visibleMoves(moves, contact)
            guard !visible.isEmpty else { return nil }
            return .object(["seq": .number(Double(e.seq)), "type": .string("thread.assigned"),
                            "data": .object(["moves": try View.json(visible), "reason": .string(reason)])])
        case .taskUpserted(let t):
            guard let a = t.assignedToContactID else { return nil }
            if a != contact.id, !AccessPolicy.seesAllThreads(contact.role) {
                guard let th = t.threadID, await visible(th, contact) else { return nil }
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

    func visible(_ thread: ThreadID, _ c: Contact) async -> Bool {
        if AccessPolicy.seesAllThreads(c.role) { return true }
        guard let scope = engine.inbox.scope(of: thread) else { return false }
        return scope.assignee == c.id || (scope.team.map(c.teams.contains) ?? false)
    }

    func visibleMoves(_ moves: [ThreadMove], _ c: Contact) async -> [ThreadMove] {
        if AccessPolicy.seesAllThreads(c.role) { return moves }
        var out: [ThreadMove] = []
        for m in moves where m.from == c.id || m.to == c.id {
            out.append(m)
        }
        for m in moves where m.from != c.id && m.to != c.id {
            if await visible(m.thread, c) { out.append(m) }
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
