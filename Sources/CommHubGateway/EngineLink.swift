import CommHubDomain
import CommHubWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Where a gateway finds its engine: the ingest protocol on TCP or a Unix socket.
public enum EngineEndpoint: Sendable, CustomStringConvertible, Equatable {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// `tcp://HOST:PORT` or `unix:PATH`.
    public init?(_ text: String) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { return nil }
            self = .unix(path: path)
        } else if text.hasPrefix("tcp://"), let colon = text.dropFirst(6).lastIndex(of: ":"),
                  let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) {
            let host = String(text.dropFirst(6)[..<colon])
            guard !host.isEmpty else { return nil }
            self = .tcp(host: host, port: port)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .tcp(let h, let p): "tcp://\(h):\(p)"
        case .unix(let p): "unix:\(p)"
        }
    }
}

/// Why a request to the engine did not get an answer.
public struct EngineUnavailable: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// The engine will never take this file (its type or size, or a broken
/// upload): trying again cannot help. The engine's `error` frame code is `invalid` or `refused`.
public struct AttachmentRefused: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// A gateway's one authenticated connection to the engine (ingest protocol 2).
///
/// It says hello with the gateway token, asks for the channel configuration
/// (kept in `ChannelDirectory`, in memory only) and keeps it current from
/// the engine's pushes, and carries requests — ingest, claim, report — each
/// answered by request id. When the engine goes away every waiting request
/// fails at once with `EngineUnavailable` (webhooks answer 503, so
/// providers retry), and the link reconnects with jittered exponential
/// backoff until it is cancelled.
public actor EngineLink {
    public let endpoint: EngineEndpoint
    private let token: String
    public let gatewayName: String
    private let logger: Logger
    public let directory: ChannelDirectory
    private var outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>?
    /// A request waiting for its answer; `timer` writes the frame, then gives up after the timeout.
    private struct Waiter {
        let continuation: CheckedContinuation<IngestProtocol.Frame, any Error>
        var timer: Task<Void, Never>?
    }
    private var waiting: [UInt64: Waiter] = [:]
    private var nextID: UInt64 = 1
    private var onOutboxReady: @Sendable (ChannelID) -> Void = { _ in }
    private var onConnected: @Sendable () -> Void = {}
    private var onMarkRead: @Sendable (GatewayProtocol.MarkRead) -> Void = { _ in }
    private var connections = 0

    /// Requests waiting for an answer, at most; beyond it a request fails at once.
    public static let maxWaitingRequests = 10_000
    /// Reconnect backoff bounds.
    public static let minBackoff: Duration = .milliseconds(100)
    public static let maxBackoff: Duration = .seconds(5)

    /// TLS to a TCP endpoint (`commhub gateway --engine-tls`): the engine's
    /// certificate is checked against these trust roots and the host name.
    private let tls: NIOSSLContext?

    public init(endpoint: EngineEndpoint, token: String, gatewayName: String, directory: ChannelDirectory, logger: Logger,
                tls: NIOSSLContext? = nil) {
        self.tls = tls
        self.endpoint = endpoint
        self.token = token
        self.gatewayName = gatewayName
        self.directory = directory
        self.logger = logger
    }

    /// What to do when the engine says a channel has messages to claim, and after every (re)connect.
    public func setHandlers(outboxReady: @escaping @Sendable (ChannelID) -> Void, connected: @escaping @Sendable () -> Void,
                            markRead: @escaping @Sendable (GatewayProtocol.MarkRead) -> Void = { _ in }) {
        onOutboxReady = outboxReady
        onConnected = connected
        onMarkRead = markRead
    }

    public var isConnected: Bool { outbound != nil }
    /// Successful connections so far (tests watch reconnects).
    public var connectionCount: Int { connections }

    /// Connects, serves the connection, and reconnects until cancelled.
    public func run() async {
        var backoff = Self.minBackoff
        while !Task.isCancelled {
            do {
                try await connectAndServe()
                backoff = Self.minBackoff
            } catch is CancellationError {
                break
            } catch {
                logger.notice("engine link down", metadata: ["engine": "\(endpoint)", "error": "\(error)"])
            }
            disconnected("the engine connection closed")
            guard !Task.isCancelled else { break }
            let jitter = Double.random(in: 0.5...1.0)
            try? await Task.sleep(for: backoff * jitter)
            backoff = min(Self.maxBackoff, backoff * 2)
        }
        disconnected("the gateway is stopping")
    }

    private func connectAndServe() async throws {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
        let tlsContext: NIOSSLContext? = if case .tcp = endpoint { tls } else { nil }
        // SNI and the name check take a host name; an IP address (v4 or v6) is checked against the certificate's IP entries.
        let serverName: String? = if case .tcp(let host, _) = endpoint, (try? SocketAddress(ipAddress: host, port: 0)) == nil { host } else { nil }
        let wrap: @Sendable (any NIOCore.Channel) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> = { ch in
            ch.eventLoop.makeCompletedFuture {
                if let tlsContext {
                    try ch.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tlsContext, serverHostname: serverName))
                }
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch)
            }
        }
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        switch endpoint {
        case .tcp(let host, let port): channel = try await bootstrap.connect(host: host, port: port, channelInitializer: wrap)
        case .unix(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: wrap)
        }
        try await channel.executeThenClose { inbound, outbound in
            var frames = FrameReader(inbound)
            let hello = GatewayProtocol.Hello(token: token, gateway: gatewayName, protocol: GatewayProtocol.version)
            try await outbound.write(ByteBuffer(bytes: IngestProtocol.Frame(kind: .hello, requestID: 0,
                                                                            payload: try Self.encode(hello)).encoded()))
            guard let welcome = try await frames.next(), welcome.kind == IngestProtocol.Kind.welcome.rawValue else {
                throw EngineUnavailable(description: "the engine refused the gateway's hello (is the token a gateway token?)")
            }
            self.outbound = outbound
            connections += 1
            logger.info("engine link up", metadata: ["engine": "\(endpoint)", "gateway": "\(gatewayName)"])
            // The channel set's answer is read by the loop below, so ask beside it.
            async let subscribed: Void = subscribeChannels()
            do {
                while let frame = try await frames.next() { receive(frame) }
            } catch {
                disconnected("the engine connection failed: \(error)")
                try? await subscribed
                throw error
            }
            disconnected("the engine closed the connection")
            try? await subscribed
        }
    }

    private func subscribeChannels() async throws {
        let answer = try await request(.channels, payload: Array("{}".utf8), timeout: .seconds(30))
        guard answer.kind == IngestProtocol.Kind.channelSet.rawValue else {
            throw EngineUnavailable(description: "the engine did not send the channels: \(String(decoding: answer.payload, as: UTF8.self))")
        }
        logger.info("channels loaded", metadata: ["channels": "\(directory.all.count)"])
        onConnected()
    }

    private func receive(_ frame: IngestProtocol.Frame) {
        // The channel set is applied here, in frame order, so that a change
        // pushed right after it can never be overwritten by it.
        if frame.kind == IngestProtocol.Kind.channelSet.rawValue,
           let set = try? ContractJSON.sharedDecoder.decode(GatewayProtocol.ChannelSet.self, from: Data(frame.payload)) {
            directory.replace(set.channels)
            if frame.requestID == 0 { for c in set.channels { onOutboxReady(c.id) } }
        }
        if frame.requestID != 0 {
            if let w = waiting.removeValue(forKey: frame.requestID) {
                w.timer?.cancel()
                w.continuation.resume(returning: frame)
            }
            return
        }
        switch IngestProtocol.Kind(rawValue: frame.kind) {
        case .channelChanged:
            if let c = try? ContractJSON.sharedDecoder.decode(GatewayProtocol.ChannelChanged.self, from: Data(frame.payload)) {
                directory.upsert(c.channel)
                onOutboxReady(c.channel.id)
            }
        case .outboxReady:
            if let r = try? ContractJSON.sharedDecoder.decode(GatewayProtocol.OutboxReady.self, from: Data(frame.payload)) {
                onOutboxReady(r.channelID)
            }
        case .markRead:
            if let r = try? ContractJSON.sharedDecoder.decode(GatewayProtocol.MarkRead.self, from: Data(frame.payload)) {
                onMarkRead(r)
            }
        default:
            logger.notice("engine link: unexpected pushed frame", metadata: ["kind": "\(frame.kind)"])
        }
    }

    private func disconnected(_ why: String) {
        outbound = nil
        let failing = waiting
        waiting = [:]
        for (_, w) in failing {
            w.timer?.cancel()
            w.continuation.resume(throwing: EngineUnavailable(description: why))
        }
    }

    /// Sends one request and waits (at most `timeout`) for its answer.
    public func request(_ kind: IngestProtocol.Kind, payload: [UInt8], timeout: Duration) async throws -> IngestProtocol.Frame {
        guard let outbound else { throw EngineUnavailable(description: "the engine is not connected") }
        guard waiting.count < Self.maxWaitingRequests else {
            throw EngineUnavailable(description: "\(Self.maxWaitingRequests) requests already wait for the engine")
        }
        let id = nextID
        nextID += 1
        let frame = IngestProtocol.Frame(kind: kind, requestID: id, payload: payload)
        return try await withCheckedThrowingContinuation { c in
            waiting[id] = Waiter(continuation: c, timer: nil)
            waiting[id]?.timer = Task { await self.send(frame, id: id, outbound: outbound, timeout: timeout) }
        }
    }

    /// Writes the frame, then waits out the timeout (cancelled when the answer comes).
    private func send(_ frame: IngestProtocol.Frame, id: UInt64, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
                      timeout: Duration) async {
        do {
            try await outbound.write(ByteBuffer(bytes: frame.encoded()))
        } catch {
            fail(id, "could not write to the engine: \(error)")
            return
        }
        do {
            try await Task.sleep(for: timeout)
        } catch {
            return  // answered
        }
        fail(id, "the engine did not answer within \(timeout)")
    }

    private func fail(_ id: UInt64, _ why: String) {
        waiting.removeValue(forKey: id)?.continuation.resume(throwing: EngineUnavailable(description: why))
    }

    /// Largest file a gateway hands to the engine (the engine enforces its own limit too).
    public static let maxAttachmentBytes = 64 << 20

    /// Puts a file into the engine's attachment store, in chunks over this
    /// connection; with a `target`, the engine records it as that message's
    /// attachment (the message was ingested first). Returns where it is.
    public func storeAttachment(_ bytes: [UInt8], fileName: String, contentType: String,
                                target: GatewayProtocol.AttachmentTarget?) async throws -> GatewayProtocol.StoredAttachment {
        guard bytes.count <= Self.maxAttachmentBytes else {
            throw EngineUnavailable(description: "a file of \(bytes.count) bytes is over the \(Self.maxAttachmentBytes)-byte limit")
        }
        let upload = UUID()
        var offset = 0
        repeat {
            let end = min(bytes.count, offset + GatewayProtocol.AttachmentChunk.maxChunkBytes)
            let header = GatewayProtocol.AttachmentChunk(uploadID: upload, offset: offset, totalBytes: bytes.count,
                                                         fileName: fileName, contentType: contentType,
                                                         last: end == bytes.count, target: target)
            let answer = try await request(.attachmentPut, payload: try GatewayProtocol.AttachmentChunk.frame(header, bytes[offset..<end]),
                                           timeout: .seconds(60))
            // `invalid` (the store refused the type, size or upload) and `refused` are for good; others may pass later.
            if answer.kind == IngestProtocol.Kind.error.rawValue, let code = Self.errorCode(answer.payload), code == "invalid" || code == "refused" {
                throw AttachmentRefused(description: "the engine refused the file: \(String(decoding: answer.payload.prefix(400), as: UTF8.self))")
            }
            if header.last {
                guard answer.kind == IngestProtocol.Kind.attachmentStored.rawValue else {
                    throw EngineUnavailable(description: "the engine refused the file: \(String(decoding: answer.payload.prefix(400), as: UTF8.self))")
                }
                return try ContractJSON.sharedDecoder.decode(GatewayProtocol.StoredAttachment.self, from: Data(answer.payload))
            }
            guard answer.kind == IngestProtocol.Kind.attachmentStored.rawValue || answer.kind == IngestProtocol.Kind.reportResult.rawValue else {
                throw EngineUnavailable(description: "the engine refused a chunk: \(String(decoding: answer.payload.prefix(400), as: UTF8.self))")
            }
            offset = end
        } while true
    }

    /// The `code` of an `error` frame's `{"error":{"code","message"}}`.
    static func errorCode(_ payload: [UInt8]) -> String? {
        guard let v = try? JSONDecoder().decode(JSONValue.self, from: Data(payload)) else { return nil }
        return v.objectValue?["error"]?.objectValue?["code"]?.stringValue
    }

    /// Reads a stored attachment from the engine (for outgoing media), in chunks.
    public func fetchAttachment(sha256: String, sizeBytes: Int) async throws -> [UInt8] {
        guard (0...Self.maxAttachmentBytes).contains(sizeBytes) else {
            throw EngineUnavailable(description: "a file of \(sizeBytes) bytes is over the \(Self.maxAttachmentBytes)-byte limit")
        }
        var out: [UInt8] = []
        out.reserveCapacity(sizeBytes)
        while out.count < sizeBytes {
            let range = GatewayProtocol.AttachmentRange(sha256: sha256, offset: out.count,
                                                        length: min(GatewayProtocol.AttachmentChunk.maxChunkBytes, sizeBytes - out.count))
            let answer = try await request(.attachmentGet, payload: try Self.encode(range), timeout: .seconds(60))
            guard answer.kind == IngestProtocol.Kind.attachmentData.rawValue, !answer.payload.isEmpty else {
                throw EngineUnavailable(description: "the engine has no file \(sha256): \(String(decoding: answer.payload.prefix(300), as: UTF8.self))")
            }
            out += answer.payload
        }
        return out
    }

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try ContractJSON.sharedEncoder.encode(value))
    }
}

/// Frames off a NIO inbound stream.
struct FrameReader {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var buffer: [UInt8] = []
    private var ready: [IngestProtocol.Frame] = []

    init(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) { iterator = inbound.makeAsyncIterator() }

    mutating func next() async throws -> IngestProtocol.Frame? {
        while ready.isEmpty {
            guard let chunk = try await iterator.next() else { return nil }
            buffer += chunk.readableBytesView
            ready += try IngestProtocol.drain(&buffer)
        }
        return ready.removeFirst()
    }
}
