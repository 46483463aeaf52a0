import CommHubWire
import CommHubEngine
import Foundation
import Synchronization

/// The bounds of one ingest listener, and what happens at each:
///
/// - `maxConnections`: one more connection gets an `error` frame
///   `too_many_connections` and is closed at once.
/// - `maxFrameBytesBeforeHello`: a larger frame before `hello` succeeded
///   gets `frame_too_large` and the connection is closed, as soon as its
///   length prefix arrives (nothing of it is buffered).
/// - `maxFrameBytes`: the same after `hello`.
/// - `helloDeadlineSeconds`: no successful `hello` by then → `hello_timeout`, closed.
/// - `idleTimeoutSeconds`: no frame for that long while no answer is owed →
///   `idle_timeout`, closed (gateways reconnect).
/// - `maxFramesInFlight` / `maxBytesInFlight`: frames read but not yet
///   answered, per connection. At the bound the server stops reading that
///   connection (TCP back-pressure reaches the client) until answers are
///   written, so a client that pipelines and never reads holds at most
///   this much, never more.
/// - `stalledWriteTimeoutSeconds`: an answer the client has not taken for
///   that long (its receive window stays shut) → the connection is dropped
///   without a frame (none could reach it), and what it held is freed.
public struct IngestLimits: Sendable, Equatable {
    public var maxConnections = 256
    public var maxFrameBytesBeforeHello = IngestProtocol.maxFrameBeforeHello
    public var maxFrameBytes = IngestProtocol.maxFrame
    public var helloDeadlineSeconds: Double = 10
    public var idleTimeoutSeconds: Double = 300
    public var maxFramesInFlight = 256
    public var maxBytesInFlight = 16 << 20
    public var stalledWriteTimeoutSeconds: Double = 60

    public init() {}

    /// Problems with these bounds, for a command line or configuration to report.
    public var problems: [String] {
        var out: [String] = []
        if !(1...100_000).contains(maxConnections) { out.append("maxConnections must be 1 to 100000") }
        if !(IngestProtocol.headerSize...IngestProtocol.maxFrame).contains(maxFrameBytesBeforeHello) {
            out.append("maxFrameBytesBeforeHello must be \(IngestProtocol.headerSize) to \(IngestProtocol.maxFrame)")
        }
        if !(IngestProtocol.headerSize...IngestProtocol.maxFrame).contains(maxFrameBytes) {
            out.append("maxFrameBytes must be \(IngestProtocol.headerSize) to \(IngestProtocol.maxFrame)")
        }
        for (name, v) in [("helloDeadlineSeconds", helloDeadlineSeconds), ("idleTimeoutSeconds", idleTimeoutSeconds),
                          ("stalledWriteTimeoutSeconds", stalledWriteTimeoutSeconds)] where !(v.isFinite && v > 0 && v <= 86_400) {
            out.append("\(name) must be more than 0 and at most 86400")
        }
        if !(1...100_000).contains(maxFramesInFlight) { out.append("maxFramesInFlight must be 1 to 100000") }
        if !(maxFrameBytes...(1 << 34)).contains(maxBytesInFlight) { out.append("maxBytesInFlight must be maxFrameBytes to 16 GiB") }
        return out
    }

    /// The watchdog's tick: often enough to keep every deadline within a quarter of itself.
    var tick: Duration {
        let smallest = min(helloDeadlineSeconds, idleTimeoutSeconds, stalledWriteTimeoutSeconds)
        return .milliseconds(Int64(max(10, min(1_000, smallest * 250))))
    }
}

/// What one listener has seen, for tests, `/metrics` and the admin socket.
public struct IngestListenerStats: Sendable, Equatable {
    public var connectionsOpen = 0
    public var connectionsRefused = 0
    /// Closed for a missed hello deadline, idleness or a client that stopped reading.
    public var connectionsTimedOut = 0
    public var framesRead = 0
    public var framesAnswered = 0
    /// Frames read and not yet answered, over all connections.
    public var framesInFlight = 0
}

/// The listener's shared counters (one lock, touched once per frame).
final class IngestCounters: Sendable {
    private let state = Mutex(IngestListenerStats())

    var stats: IngestListenerStats { state.withLock { $0 } }

    /// Counts a new connection unless `limit` are open.
    func open(limit: Int) -> Bool {
        state.withLock { s in
            guard s.connectionsOpen < limit else {
                s.connectionsRefused += 1
                return false
            }
            s.connectionsOpen += 1
            return true
        }
    }

    func close() { state.withLock { $0.connectionsOpen -= 1 } }
    func timedOut() { state.withLock { $0.connectionsTimedOut += 1 } }
    func read() { state.withLock { $0.framesRead += 1; $0.framesInFlight += 1 } }
    func answered() { state.withLock { $0.framesAnswered += 1; $0.framesInFlight -= 1 } }
    /// Frames read whose answers will never be written (the connection ended).
    func abandoned(_ n: Int) { if n > 0 { state.withLock { $0.framesInFlight -= n } } }
}

/// The frames one connection has read and not yet answered: `acquire`
/// waits (so the reader stops reading) while the bound is reached,
/// `release` frees a slot when an answer is written.
final class InFlightWindow: Sendable {
    private struct Waiter {
        var continuation: CheckedContinuation<Void, any Error>
        var bytes: Int
    }

    private struct State {
        var frames = 0
        var bytes = 0
        var waiter: Waiter?
        var cancelled = false

        /// One frame more fits when both bounds allow it; a single frame
        /// larger than the byte bound passes when nothing else is in flight.
        mutating func take(_ n: Int, _ limits: IngestLimits) -> Bool {
            guard frames < limits.maxFramesInFlight, frames == 0 || bytes + n <= limits.maxBytesInFlight else { return false }
            frames += 1
            bytes += n
            return true
        }
    }

    private let state = Mutex(State())
    private let limits: IngestLimits

    init(limits: IngestLimits) { self.limits = limits }

    var frames: Int { state.withLock { $0.frames } }

    func acquire(bytes: Int) async throws {
        if state.withLock({ $0.take(bytes, limits) }) { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let verdict: Bool? = state.withLock { s in
                    if s.cancelled { return false }
                    if s.take(bytes, limits) { return true }
                    s.waiter = Waiter(continuation: c, bytes: bytes)
                    return nil
                }
                switch verdict {
                case true?: c.resume()
                case false?: c.resume(throwing: CancellationError())
                case nil: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { s -> Waiter? in
                s.cancelled = true
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    func release(bytes: Int) {
        let waiter = state.withLock { s -> Waiter? in
            precondition(s.frames > 0, "released a frame that was never acquired")
            s.frames -= 1
            s.bytes -= bytes
            guard let w = s.waiter, s.take(w.bytes, limits) else { return nil }
            s.waiter = nil
            return w
        }
        waiter?.continuation.resume()
    }
}

/// One connection's clock: when it opened, last read, whether hello
/// succeeded, whether an answer is stuck in the socket. The watchdog reads
/// it to decide deadlines; reader and writer update it.
final class IngestSession: Sendable {
    enum Verdict: Equatable { case fine, helloLate, idle, stalled }

    private struct State {
        var openedAt: ContinuousClock.Instant
        var lastReadAt: ContinuousClock.Instant
        var authenticated = false
        var writeStartedAt: ContinuousClock.Instant?
        /// Set at hello for gateway tokens: the name claims are made under.
        var gateway: String?
        /// The gateway asked for channels: it gets pushes (from this bus
        /// subscription, made before the channel set was read) and no idle timeout.
        var pushes: Subscription?
    }

    let window: InFlightWindow
    private let limits: IngestLimits
    private let state: Mutex<State>

    init(limits: IngestLimits, now: ContinuousClock.Instant = .now) {
        self.limits = limits
        self.window = InFlightWindow(limits: limits)
        self.state = Mutex(State(openedAt: now, lastReadAt: now))
    }

    var authenticated: Bool { state.withLock { $0.authenticated } }
    func authenticate(gateway: String? = nil) {
        state.withLock { s in
            s.authenticated = true
            s.gateway = gateway
        }
    }
    /// The gateway name of a gateway-token connection (nil for admin tokens).
    var gateway: String? { state.withLock { $0.gateway } }
    var pushes: Subscription? { state.withLock { $0.pushes } }
    /// Keeps the first subscription; a second `channels` request cancels its own.
    func subscribe(_ s: Subscription) {
        let spare = state.withLock { st -> Subscription? in
            if st.pushes == nil { st.pushes = s; return nil }
            return s
        }
        spare?.cancel()
    }
    func noteRead(_ now: ContinuousClock.Instant = .now) { state.withLock { $0.lastReadAt = now } }
    func writeStarted(_ now: ContinuousClock.Instant = .now) { state.withLock { $0.writeStartedAt = now } }
    func writeFinished() { state.withLock { $0.writeStartedAt = nil } }

    /// The largest frame the reader may take next.
    var maxFrameBytes: Int { authenticated ? limits.maxFrameBytes : limits.maxFrameBytesBeforeHello }

    func verdict(now: ContinuousClock.Instant = .now) -> Verdict {
        let inFlight = window.frames
        return state.withLock { s in
            if let w = s.writeStartedAt, now - w > .seconds(limits.stalledWriteTimeoutSeconds) { return .stalled }
            if !s.authenticated { return now - s.openedAt > .seconds(limits.helloDeadlineSeconds) ? .helloLate : .fine }
            if inFlight == 0, s.pushes == nil, now - s.lastReadAt > .seconds(limits.idleTimeoutSeconds) { return .idle }
            return .fine
        }
    }
}
