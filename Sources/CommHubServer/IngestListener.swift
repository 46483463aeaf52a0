import CommHubDomain
import CommHubWire
import CommHubEngine
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Serves the gateway ingest protocol (`IngestProtocol`) on a TCP port
/// and/or a Unix socket. Each connection processes its frames in order and
/// answers each one after the journal commit that holds it; while a frame
/// waits for its commit the next ones are already being applied, so one
/// connection fills many group commits. Every connection is held to
/// `IngestLimits` (connection count, frame sizes, hello deadline, idle
/// timeout, frames in flight with back-pressure, stalled writes).
public struct IngestListener: Service {
    public enum Endpoint: Sendable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        case unix(path: String)
        public var description: String {
            switch self {
            case .tcp(let h, let p): "tcp://\(h):\(p)"
            case .unix(let p): "unix:\(p)"
            }
        }
    }

    let api: CommHubAPI
    let endpoint: Endpoint
    let limits: IngestLimits
    let logger: Logger
    let onBound: @Sendable (Endpoint) async -> Void
    let counters = IngestCounters()

    public init(engine: Engine, secrets: SecretBox, endpoint: Endpoint, limits: IngestLimits = IngestLimits(), logger: Logger,
                onBound: @escaping @Sendable (Endpoint) async -> Void = { _ in }) {
        precondition(limits.problems.isEmpty, "invalid ingest limits: \(limits.problems.joined(separator: "; "))")
        self.api = CommHubAPI(engine: engine, secrets: secrets, logger: logger)
        self.endpoint = endpoint
        self.limits = limits
        self.logger = logger
        self.onBound = onBound
    }

    /// What this listener has seen so far.
    public var stats: IngestListenerStats { counters.stats }

    public func run() async throws {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
        let wrap: @Sendable (any NIOCore.Channel) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel,
                                                            configuration: .init(isOutboundHalfClosureEnabled: true))
            }
        }
        let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        let bound: Endpoint
        switch endpoint {
        case .tcp(let host, let port):
            server = try await bootstrap.bind(host: host, port: port, childChannelInitializer: wrap)
            bound = .tcp(host: host, port: server.channel.localAddress?.port ?? port)
        case .unix(let path):
            server = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true,
                                              childChannelInitializer: wrap)
            _ = chmod(path, 0o600)
            bound = endpoint
        }
        logger.info("ingest listening", metadata: ["ingest.endpoint": "\(bound)"])
        await onBound(bound)
        try await acceptConnections(server) { await self.serve($0) }
    }

    /// One answer, written in request order after its commit.
    struct Pending: Sendable {
        var frame: IngestProtocol.Frame
        var durableSeq: UInt64?
        var close = false
        /// The payload bytes this answer holds in the in-flight window (nil: it holds none).
        var windowBytes: Int?
    }

    enum Part: Sendable { case reader, writer, watchdog }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        guard counters.open(limit: limits.maxConnections) else {
            await refuse(connection)
            return
        }
        defer { counters.close() }
        let session = IngestSession(limits: limits)
        let channel = connection.channel
        do {
            try await connection.executeThenClose { inbound, outbound in
                let (answers, continuation) = AsyncStream.makeStream(of: Pending.self)
                try await withThrowingTaskGroup(of: Part.self) { group in
                    group.addTask { try await writeAnswers(answers, to: outbound, session); return .writer }
                    group.addTask { await readFrames(inbound, into: continuation, session); return .reader }
                    group.addTask { await watch(session, continuation, channel); return .watchdog }
                    defer { continuation.finish() }
                    while let part = try await group.next() {
                        switch part {
                        case .reader: continuation.finish()  // the writer drains what is owed, then ends
                        case .writer: group.cancelAll()
                        case .watchdog: break  // it queued a closing frame or dropped the channel
                        }
                    }
                }
            }
        } catch {
            logger.debug("ingest connection ended", metadata: ["error": "\(error)"])
        }
        counters.abandoned(session.window.frames)
    }

    /// Over `maxConnections`: say so and close.
    private func refuse(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        logger.notice("ingest connection refused: too many connections",
                      metadata: ["ingest.endpoint": "\(endpoint)", "ingest.max_connections": "\(limits.maxConnections)"])
        let frame = Self.error(0, "too_many_connections",
                               "this listener serves at most \(limits.maxConnections) connections at once; close one or retry later")
        try? await connection.executeThenClose { _, outbound in
            try await outbound.write(ByteBuffer(bytes: frame.encoded()))
        }
    }

    /// Writes answers in order, each after its commit; ends after a closing answer.
    private func writeAnswers(_ answers: AsyncStream<Pending>, to outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
                              _ session: IngestSession) async throws {
        for await p in answers {
            var frame = p.frame
            if let seq = p.durableSeq {
                do {
                    try await api.engine.durable(seq)
                } catch {
                    frame = Self.error(p.frame.requestID, "not_stored", "the events could not be stored: \(error)")
                }
            }
            session.writeStarted()
            try await outbound.write(ByteBuffer(bytes: frame.encoded()))
            session.writeFinished()
            if let bytes = p.windowBytes {
                session.window.release(bytes: bytes)
                counters.answered()
            }
            if p.close { return }
        }
    }

    /// Reads frames until the client closes, a closing answer, or cancellation.
    /// Waits for the in-flight window before taking each frame: that wait is the back-pressure.
    private func readFrames(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, into answers: AsyncStream<Pending>.Continuation,
                            _ session: IngestSession) async {
        var reader = IngestProtocol.FrameReader()
        do {
            for try await chunk in inbound {
                session.noteRead()
                reader.append(chunk.readableBytesView)
                while true {
                    let frame: IngestProtocol.Frame?
                    do {
                        frame = try reader.next(maxFrameBytes: session.maxFrameBytes)
                    } catch {
                        answers.yield(Pending(frame: refusal(error, session), close: true))
                        return
                    }
                    guard let frame else { break }
                    try await session.window.acquire(bytes: frame.payload.count)
                    counters.read()
                    var answer = await handle(frame, session)
                    answer.windowBytes = frame.payload.count
                    answers.yield(answer)
                    if answer.close { return }
                }
            }
        } catch {
            logger.debug("ingest reading stopped", metadata: ["error": "\(error)"])
        }
    }

    private func refusal(_ error: IngestProtocol.FrameError, _ session: IngestSession) -> IngestProtocol.Frame {
        switch error {
        case .tooLarge where !session.authenticated:
            Self.error(0, "frame_too_large", "\(error); before hello succeeds frames are at most \(limits.maxFrameBytesBeforeHello) bytes")
        case .tooLarge:
            Self.error(0, "frame_too_large", "\(error); split the events over several frames")
        case .tooShort:
            Self.error(0, "bad_frame", "\(error)")
        }
    }

    /// Closes connections that miss the hello deadline, sit idle, or stop taking answers.
    private func watch(_ session: IngestSession, _ answers: AsyncStream<Pending>.Continuation, _ channel: any NIOCore.Channel) async {
        while true {
            do {
                try await Task.sleep(for: limits.tick)
            } catch {
                return
            }
            let verdict = session.verdict()
            guard verdict != .fine else { continue }
            counters.timedOut()
            logger.debug("ingest connection timed out", metadata: ["ingest.endpoint": "\(endpoint)", "ingest.reason": "\(verdict)"])
            switch verdict {
            case .helloLate:
                answers.yield(Pending(frame: Self.error(0, "hello_timeout",
                                                        "no successful hello within \(limits.helloDeadlineSeconds) s; connect again and send hello first"),
                                      close: true))
            case .idle:
                answers.yield(Pending(frame: Self.error(0, "idle_timeout",
                                                        "no frame for \(limits.idleTimeoutSeconds) s; connect again when there is something to send"),
                                      close: true))
            case .stalled, .fine:
                // The client has not read an answer for stalledWriteTimeoutSeconds: no frame could reach it.
                channel.close(promise: nil)
            }
            return
        }
    }

    private func handle(_ frame: IngestProtocol.Frame, _ session: IngestSession) async -> Pending {
        switch IngestProtocol.Kind(rawValue: frame.kind) {
        case .hello:
            guard let hello = try? WireJSON.decode([String: String].self, from: frame.payload, limits: .hello),
                  let secret = hello["token"],
                  let (token, contact) = await api.supervisor.authenticate(secretHash: TokenSecret.hash(secret)),
                  token.kind == .gateway || contact?.role == .admin else {
                return Pending(frame: Self.error(frame.requestID, "unauthorized", "hello needs a gateway or admin token"), close: true)
            }
            session.authenticate()
            return Pending(frame: .init(kind: .welcome, requestID: frame.requestID, payload: Array(#"{"protocol":1}"#.utf8)))
        case .ingest, .ingestCompact:
            guard session.authenticated else {
                return Pending(frame: Self.error(frame.requestID, "unauthorized", "send hello with a token first"), close: true)
            }
            return await ingest(frame)
        default:
            return Pending(frame: Self.error(frame.requestID, "bad_frame", "unknown frame kind \(frame.kind)"), close: true)
        }
    }

    private func ingest(_ frame: IngestProtocol.Frame) async -> Pending {
        let compact = frame.kind == IngestProtocol.Kind.ingestCompact.rawValue
        let events: [IngestItem]
        do {
            events = compact ? try IngestCompact.decode(frame.payload)
                : try WireJSON.decode(IngestBatch.self, from: frame.payload, limits: .ingestFrame).events
        } catch {
            let code = switch error {
            case is FieldRangeError: "invalid"
            case is CompactReader.Truncated: "bad_frame"
            default: "invalid_json"
            }
            return Pending(frame: Self.error(frame.requestID, code, WireJSON.describe(error)))
        }
        guard !events.isEmpty, events.count <= CommHubAPI.maxIngestBatch else {
            return Pending(frame: Self.error(frame.requestID, "invalid", "a frame carries 1 to \(CommHubAPI.maxIngestBatch) events"))
        }
        let outcomes = await api.ingest(events)
        let payload = compact ? IngestCompact.encode(outcomes)
            : (try? ContractJSON.sharedEncoder.encode(["results": outcomes])).map(Array.init) ?? []
        return Pending(frame: .init(kind: compact ? .resultsCompact : .results, requestID: frame.requestID, payload: payload),
                       durableSeq: outcomes.compactMap(\.seq).max())
    }

    static func error(_ id: UInt64, _ code: String, _ message: String) -> IngestProtocol.Frame {
        let body = JSONValue.object(["error": .object(["code": .string(code), "message": .string(message)])])
        let bytes = (try? JSONEncoder().encode(body)).map(Array.init) ?? []
        return .init(kind: .error, requestID: id, payload: bytes)
    }
}
