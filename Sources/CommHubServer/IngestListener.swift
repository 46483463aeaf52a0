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
/// connection fills many group commits.
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
    let logger: Logger
    let onBound: @Sendable (Endpoint) async -> Void

    public init(engine: Engine, secrets: SecretBox, endpoint: Endpoint, logger: Logger,
                onBound: @escaping @Sendable (Endpoint) async -> Void = { _ in }) {
        self.api = CommHubAPI(engine: engine, secrets: secrets, logger: logger)
        self.endpoint = endpoint
        self.logger = logger
        self.onBound = onBound
    }

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

    /// One answer waiting for its commit.
    struct Pending: Sendable {
        var frame: IngestProtocol.Frame
        var durableSeq: UInt64?
        var close = false
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                let (answers, continuation) = AsyncStream.makeStream(of: Pending.self)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // Writer: answers in order, each after its commit.
                    group.addTask {
                        for await p in answers {
                            if let seq = p.durableSeq {
                                do {
                                    try await api.engine.durable(seq)
                                } catch {
                                    let f = Self.error(p.frame.requestID, "not_stored", "the events could not be stored: \(error)")
                                    try await outbound.write(ByteBuffer(bytes: f.encoded()))
                                    continue
                                }
                            }
                            try await outbound.write(ByteBuffer(bytes: p.frame.encoded()))
                            if p.close { return }
                        }
                    }
                    defer { continuation.finish() }
                    var buffer: [UInt8] = []
                    var authenticated = false
                    reading: for try await chunk in inbound {
                        buffer += chunk.readableBytesView
                        let frames: [IngestProtocol.Frame]
                        do {
                            frames = try IngestProtocol.drain(&buffer)
                        } catch {
                            continuation.yield(Pending(frame: Self.error(0, "bad_frame", "\(error)"), close: true))
                            break reading
                        }
                        for frame in frames {
                            let answer = await handle(frame, authenticated: &authenticated)
                            continuation.yield(answer)
                            if answer.close { break reading }
                        }
                    }
                    continuation.finish()
                    try await group.waitForAll()
                }
            }
        } catch {
            logger.debug("ingest connection ended", metadata: ["error": "\(error)"])
        }
    }

    private func handle(_ frame: IngestProtocol.Frame, authenticated: inout Bool) async -> Pending {
        switch IngestProtocol.Kind(rawValue: frame.kind) {
        case .hello:
            guard let hello = try? JSONDecoder().decode([String: String].self, from: Data(frame.payload)),
                  let secret = hello["token"],
                  let (token, contact) = await api.supervisor.authenticate(secretHash: TokenSecret.hash(secret)),
                  token.kind == .gateway || contact?.role == .admin else {
                return Pending(frame: Self.error(frame.requestID, "unauthorized", "hello needs a gateway or admin token"), close: true)
            }
            authenticated = true
            return Pending(frame: .init(kind: .welcome, requestID: frame.requestID, payload: Array(#"{"protocol":1}"#.utf8)))
        case .ingest, .ingestCompact:
            guard authenticated else {
                return Pending(frame: Self.error(frame.requestID, "unauthorized", "send hello with a token first"), close: true)
            }
            let compact = frame.kind == IngestProtocol.Kind.ingestCompact.rawValue
            let events: [IngestItem]
            do {
                events = compact ? try IngestCompact.decode(frame.payload)
                    : try ContractJSON.sharedDecoder.decode(IngestBatch.self, from: Data(frame.payload)).events
            } catch {
                return Pending(frame: Self.error(frame.requestID, compact ? "bad_frame" : "invalid_json",
                                                 compact ? "\(error)" : ContractJSON.describe(error)))
            }
            guard !events.isEmpty, events.count <= CommHubAPI.maxIngestBatch else {
                return Pending(frame: Self.error(frame.requestID, "invalid", "a frame carries 1 to \(CommHubAPI.maxIngestBatch) events"))
            }
            let outcomes = await api.ingest(events)
            let payload = compact ? IngestCompact.encode(outcomes)
                : (try? ContractJSON.sharedEncoder.encode(["results": outcomes])).map(Array.init) ?? []
            return Pending(frame: .init(kind: compact ? .resultsCompact : .results, requestID: frame.requestID, payload: payload),
                           durableSeq: outcomes.compactMap(\.seq).max())
        default:
            return Pending(frame: Self.error(frame.requestID, "bad_frame", "unknown frame kind \(frame.kind)"), close: true)
        }
    }

    static func error(_ id: UInt64, _ code: String, _ message: String) -> IngestProtocol.Frame {
        let body = JSONValue.object(["error": .object(["code": .string(code), "message": .string(message)])])
        let bytes = (try? JSONEncoder().encode(body)).map(Array.init) ?? []
        return .init(kind: .error, requestID: id, payload: bytes)
    }
}
