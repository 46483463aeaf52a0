import CommHubDomain
import CommHubWire
import CommHubEngine
import CommHubStore
import CommHubGateway
import CommHubGateways
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
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
    let ingestService: IngestService
    let outbox: OutboxService
    /// A credential that exists only in this process's memory: the gateway
    /// `commhub serve` runs inside itself says hello with it (no token is stored for it).
    let embeddedGatewaySecret: String?
    /// TLS on a TCP endpoint: every connection must complete a handshake
    /// before a frame is read (plain TCP clients are refused in it).
    let tls: TLSCertificates?

    public init(engine: Engine, secrets: SecretBox, endpoint: Endpoint, limits: IngestLimits = IngestLimits(), logger: Logger,
                embeddedGatewaySecret: String? = nil, tls: TLSCertificates? = nil,
                onBound: @escaping @Sendable (Endpoint) async -> Void = { _ in }) {
        self.tls = tls
        precondition(limits.problems.isEmpty, "invalid ingest limits: \(limits.problems.joined(separator: "; "))")
        self.api = CommHubAPI(engine: engine, secrets: secrets, logger: logger)
        self.ingestService = IngestService(engine: engine)
        self.outbox = OutboxService(engine: engine)
        self.embeddedGatewaySecret = embeddedGatewaySecret
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
        let tlsContext: NIOSSLContext? = if case .tcp = endpoint { try tls?.serverContext() } else { nil }
        let wrap: @Sendable (any NIOCore.Channel) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                if let tlsContext {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext))
                }
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel,
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

    enum Part: Sendable { case reader, writer, watchdog, pusher }

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
                    group.addTask { await push(session, continuation); return .pusher }
                    defer { continuation.finish() }
                    while let part = try await group.next() {
                        switch part {
                        case .reader: continuation.finish()  // the writer drains what is owed, then ends
                        case .writer: group.cancelAll()
                        case .watchdog, .pusher: break  // it queued a closing frame or dropped the channel
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
                // Count first, then free the slot: the reader counts a frame only
                // after taking a slot, so the counter never shows more than the bound.
                counters.answered()
                session.window.release(bytes: bytes)
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
            return await hello(frame, session)
        case .ingest, .ingestCompact:
            guard session.authenticated else {
                return Pending(frame: Self.error(frame.requestID, "unauthorized", "send hello with a token first"), close: true)
            }
            return await ingest(frame)
        case .channels, .claim, .report, .attachmentPut, .attachmentGet, .gatewayStateGet, .gatewayStatePut:
            guard session.authenticated else {
                return Pending(frame: Self.error(frame.requestID, "unauthorized", "send hello with a token first"), close: true)
            }
            guard let gateway = session.gateway else {
                return Pending(frame: Self.error(frame.requestID, "forbidden", "channels and the outbox are for gateway tokens only"))
            }
            return await gatewayRequest(frame, gateway: gateway, session)
        default:
            return Pending(frame: Self.error(frame.requestID, "bad_frame", "unknown frame kind \(frame.kind)"), close: true)
        }
    }

    /// `hello`: a gateway token (or this process's embedded gateway) may use
    /// protocol 2; an admin token may ingest (protocol 1 answers for old clients).
    private func hello(_ frame: IngestProtocol.Frame, _ session: IngestSession) async -> Pending {
        guard let hello = try? WireJSON.decode(GatewayProtocol.Hello.self, from: frame.payload, limits: .hello) else {
            return Pending(frame: Self.error(frame.requestID, "unauthorized", "hello needs {\"token\":…}"), close: true)
        }
        let name = hello.gateway.map { String($0.prefix(100)) }
        let version = min(max(hello.protocol ?? IngestProtocol.version, 1), GatewayProtocol.version)
        if let embedded = embeddedGatewaySecret, WhatsAppVerificationRequest.constantTimeEquals(hello.token, embedded) {
            session.authenticate(gateway: name ?? "embedded")
        } else if let (token, contact) = api.engine.authentication.authenticate(secretHash: TokenSecret.hash(hello.token)),
                  token.kind == .gateway || contact?.role == .admin {
            session.authenticate(gateway: token.kind == .gateway ? (name ?? "gateway-\(token.id.description.prefix(8))") : nil)
        } else {
            return Pending(frame: Self.error(frame.requestID, "unauthorized", "hello needs a gateway or admin token"), close: true)
        }
        return Pending(frame: .init(kind: .welcome, requestID: frame.requestID, payload: Array(#"{"protocol":\#(version)}"#.utf8)))
    }

    /// Protocol 2 requests of a gateway connection: channels, claim, report.
    private func gatewayRequest(_ frame: IngestProtocol.Frame, gateway: String, _ session: IngestSession) async -> Pending {
        do {
            switch IngestProtocol.Kind(rawValue: frame.kind) {
            case .channels:
                // Subscribe first: a change committed while the set is read is pushed after it.
                let pushes = api.engine.bus.subscribe(capacity: Self.pushBufferEvents)
                let set: GatewayProtocol.ChannelSet
                do {
                    set = GatewayProtocol.ChannelSet(channels: try await gatewayChannels())
                } catch {
                    pushes.cancel()
                    throw error
                }
                session.subscribe(pushes)
                return Pending(frame: .init(kind: .channelSet, requestID: frame.requestID, payload: try Self.encode(set)))
            case .claim:
                let request = try WireJSON.decode(GatewayProtocol.ClaimRequest.self, from: frame.payload, limits: .ingestFrame)
                let claimed = try await outbox.claim(request, gateway: gateway)
                return Pending(frame: .init(kind: .claimed, requestID: frame.requestID,
                                            payload: try Self.encode(GatewayProtocol.Claimed(messages: claimed.messages))),
                               durableSeq: claimed.seq)
            case .attachmentPut:
                guard let files = api.engine.attachments else { throw EngineError(.unavailable, "this engine keeps no attachment store") }
                let (chunk, data) = try GatewayProtocol.AttachmentChunk.parse(frame.payload)
                guard let (stored, seq) = try await AttachmentService(engine: api.engine, store: files).receive(chunk, data: data) else {
                    return Pending(frame: .init(kind: .reportResult, requestID: frame.requestID,
                                                payload: try Self.encode(GatewayProtocol.ReportResult(status: "received", reason: nil))))
                }
                return Pending(frame: .init(kind: .attachmentStored, requestID: frame.requestID, payload: try Self.encode(stored)),
                               durableSeq: seq)
            case .attachmentGet:
                guard let files = api.engine.attachments else { throw EngineError(.unavailable, "this engine keeps no attachment store") }
                let range = try WireJSON.decode(GatewayProtocol.AttachmentRange.self, from: frame.payload, limits: .ingestFrame)
                let bytes = try AttachmentService(engine: api.engine, store: files).read(range)
                return Pending(frame: .init(kind: .attachmentData, requestID: frame.requestID, payload: bytes))
            case .gatewayStateGet, .gatewayStatePut:
                return try await gatewayState(frame)
            default:
                let report = try WireJSON.decode(GatewayProtocol.ReportFrame.self, from: frame.payload, limits: .ingestFrame)
                let (result, seq) = try await outbox.report(report, gateway: gateway)
                return Pending(frame: .init(kind: .reportResult, requestID: frame.requestID, payload: try Self.encode(result)),
                               durableSeq: seq)
            }
        } catch let e as EngineError {
            return Pending(frame: Self.error(frame.requestID, e.code.rawValue, e.message))
        } catch let e as StoreError where e.kind == .invalidArgument {
            // A file the store will never take (type, size, a broken upload): the gateway stops trying.
            return Pending(frame: Self.error(frame.requestID, "refused", e.detail ?? e.description))
        } catch let e as StoreError {
            return Pending(frame: Self.error(frame.requestID, "unavailable", e.detail ?? e.description))
        } catch {
            return Pending(frame: Self.error(frame.requestID, "invalid", WireJSON.describe(error)))
        }
    }

    /// Every channel with its secrets in clear, for a gateway's memory.
    private func gatewayChannels() async throws -> [GatewayProtocol.GatewayChannel] {
        try await api.supervisor.channelList().map(gatewayChannel)
    }

    private func gatewayChannel(_ c: CommHubDomain.Channel) throws -> GatewayProtocol.GatewayChannel {
        let secrets = try c.sealedSecrets.map(api.secrets.open) ?? [:]
        return GatewayProtocol.GatewayChannel(id: c.id, channelType: c.channelType, channelName: c.channelName, isActive: c.isActive,
                                              businessEntity: c.businessEntity, configuration: c.configuration, secrets: secrets)
    }

    /// Events a subscribed gateway is told about as they commit: channel
    /// changes, and channels that got a message to send. A gateway that fell
    /// behind gets the whole channel set again and a wake for every channel.
    /// Events a gateway's push stream buffers before it falls back to a full resend.
    static let pushBufferEvents = 4096

    private func push(_ session: IngestSession, _ answers: AsyncStream<Pending>.Continuation) async {
        var subscription = session.pushes
        while subscription == nil {
            // Only a gateway token's connection ever subscribes.
            if session.authenticated, session.gateway == nil { return }
            do { try await Task.sleep(for: .milliseconds(20)) } catch { return }
            subscription = session.pushes
        }
        guard let subscription else { return }
        defer { subscription.cancel() }
        let notices = api.engine.markRead.subscribe()
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await notice in notices {
                    guard let payload = try? Self.encode(notice) else { continue }
                    answers.yield(Pending(frame: .init(kind: .markRead, requestID: 0, payload: payload)))
                }
            }
            await pushEvents(subscription, answers)
            group.cancelAll()
        }
    }

    private func pushEvents(_ subscription: Subscription, _ answers: AsyncStream<Pending>.Continuation) async {
        await withTaskCancellationHandler {
            for await delivery in subscription {
                do {
                    switch delivery {
                    case .event(let e):
                        switch e.event {
                        case .channelUpserted(let c):
                            answers.yield(Pending(frame: .init(kind: .channelChanged, requestID: 0,
                                                               payload: try Self.encode(GatewayProtocol.ChannelChanged(channel: try gatewayChannel(c))))))
                        case .messageAdded(let h, _, _) where EngineState.entersOutbox(h):
                            answers.yield(Pending(frame: .init(kind: .outboxReady, requestID: 0,
                                                               payload: try Self.encode(GatewayProtocol.OutboxReady(channelID: h.channelID!)))))
                        default:
                            break
                        }
                    case .resync:
                        let channels = try await gatewayChannels()
                        answers.yield(Pending(frame: .init(kind: .channelSet, requestID: 0,
                                                           payload: try Self.encode(GatewayProtocol.ChannelSet(channels: channels)))))
                        for c in channels {
                            answers.yield(Pending(frame: .init(kind: .outboxReady, requestID: 0,
                                                               payload: try Self.encode(GatewayProtocol.OutboxReady(channelID: c.id)))))
                        }
                    }
                } catch {
                    logger.error("gateway push failed", metadata: ["error": "\(ErrorText.describe(error))"])
                }
            }
        } onCancel: {
            subscription.cancel()
        }
    }

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try ContractJSON.sharedEncoder.encode(value))
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
