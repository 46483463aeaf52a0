import CommHubEngine
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The admin socket: a Unix domain socket (mode 0600) that answers one JSON
/// line per command line, for `socat - UNIX-CONNECT:PATH` and
/// `commhub admin CMD`. Each connection may send many commands; a command
/// without a trailing newline is answered when the client closes its side.
public struct AdminSocketService: Service {
    public let path: String
    public let console: AdminConsole
    public let logger: Logger
    /// Longest accepted command line.
    static let maxLine = 16 * 1024

    public init(path: String, console: AdminConsole, logger: Logger) {
        self.path = path
        self.console = console
        self.logger = logger
    }

    public func run() async throws {
        // Half-closure: `echo stats | socat - UNIX-CONNECT:…` shuts its write side
        // right after the command and still waits for the answer.
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        guard chmod(path, 0o600) == 0 else {
            throw EngineError(.unavailable, "cannot restrict admin socket \(path) to mode 0600 (errno \(errno))")
        }
        logger.info("admin socket listening", metadata: ["admin.path": "\(path)"])
        defer { unlink(path) }
        try await acceptConnections(server) { await self.serve($0) }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var pending: [UInt8] = []
                for try await var chunk in inbound {
                    pending += chunk.readBytes(length: chunk.readableBytes) ?? []
                    while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = String(decoding: pending[..<nl], as: UTF8.self)
                        pending.removeSubrange(...nl)
                        if try await answer(line, outbound) == false { return }
                    }
                    if pending.count > Self.maxLine {
                        try await outbound.write(ByteBuffer(string: AdminConsole.errorLine("too_long", "command longer than \(Self.maxLine) bytes") + "\n"))
                        return
                    }
                }
                if !pending.isEmpty {
                    _ = try await answer(String(decoding: pending, as: UTF8.self), outbound)
                }
            }
        } catch {
            logger.debug("admin connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// Answers one line; false when the client asked to quit.
    private func answer(_ raw: String, _ out: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> Bool {
        let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if line.isEmpty { return true }
        if line == "quit" || line == "exit" { return false }
        let reply = await console.handle(line)
        try await out.write(ByteBuffer(string: reply + "\n"))
        return true
    }
}

/// Accepts connections until graceful shutdown, serving each in its own
/// child task; the end of the accept loop at shutdown is a normal end.
func acceptConnections(_ server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>,
                       _ serve: @escaping @Sendable (NIOAsyncChannel<ByteBuffer, ByteBuffer>) async -> Void) async throws {
    do {
        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await serve(connection) }
                    }
                }
            }
        }
    } catch is CancellationError {
        // Graceful shutdown cancels the accept loop.
    }
}
