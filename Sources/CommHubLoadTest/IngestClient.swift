import CommHubDomain
import CommHubServer
import CommHubWire
import Foundation
import NIOCore
import NIOPosix

/// A client connection for the gateway ingest protocol, driven by one task:
/// `send` frames (pipelined, as many as the caller wants in flight), then
/// `receive` the answers in order.
public final class IngestConnection: @unchecked Sendable {
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var buffer: [UInt8] = []
    private var ready: [IngestProtocol.Frame] = []
    private var nextID: UInt64 = 1

    init(inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
    }

    /// Connects, says hello with `token`, runs `body`, closes.
    public static func with<T: Sendable>(_ endpoint: IngestListener.Endpoint, token: String,
                                         _ body: (IngestConnection) async throws -> T) async throws -> T {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        let wrap: @Sendable (any NIOCore.Channel) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> = { ch in
            ch.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch) }
        }
        switch endpoint {
        case .tcp(let host, let port): channel = try await bootstrap.connect(host: host, port: port, channelInitializer: wrap)
        case .unix(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: wrap)
        }
        return try await channel.executeThenClose { inbound, outbound in
            let c = IngestConnection(inbound: inbound, outbound: outbound)
            let hello = try JSONEncoder().encode(["token": token])
            _ = try await c.send(.hello, Array(hello))
            let answer = try await c.receive()
            guard answer.kind == IngestProtocol.Kind.welcome.rawValue else {
                throw IngestClientError(answer: String(decoding: answer.payload, as: UTF8.self))
            }
            return try await body(c)
        }
    }

    /// Sends one frame; returns its request id.
    @discardableResult
    public func send(_ kind: IngestProtocol.Kind, _ payload: [UInt8]) async throws -> UInt64 {
        let id = nextID
        nextID += 1
        try await outbound.write(ByteBuffer(bytes: IngestProtocol.Frame(kind: kind, requestID: id, payload: payload).encoded()))
        return id
    }

    /// Sends a batch of ingest items (`{"events":[...]}` JSON).
    @discardableResult
    public func ingest(_ events: [JSONValue]) async throws -> UInt64 {
        try await send(.ingest, Array(try ContractJSON.sharedEncoder.encode(JSONValue.object(["events": .array(events)]))))
    }

    /// Sends a batch of ingest items in the compact binary form.
    @discardableResult
    func ingestCompact(_ items: [IngestItem]) async throws -> UInt64 {
        try await send(.ingestCompact, try IngestCompact.encode(items))
    }

    /// The next answer, in request order.
    public func receive() async throws -> IngestProtocol.Frame {
        while ready.isEmpty {
            guard let chunk = try await inbound.next() else { throw IngestClientError(answer: "connection closed by the server") }
            buffer += chunk.readableBytesView
            ready += try IngestProtocol.drain(&buffer)
        }
        return ready.removeFirst()
    }
}

public struct IngestClientError: Error, CustomStringConvertible {
    public let answer: String
    public var description: String { "ingest server answered: \(answer)" }
}
