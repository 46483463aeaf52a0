import CommHubDomain
import CommHubEngine
@testable import CommHubServer
import Crypto
import Foundation
import Testing

/// A real ingest listener on loopback (TCP or a Unix socket) over a real
/// data directory, for tests that act as hostile gateways.
enum ListenerHarness {
    static func run<T: Sendable>(limits: IngestLimits = IngestLimits(), unix: Bool = false,
                                 _ body: @Sendable (TestEnv, IngestListener, IngestListener.Endpoint) async throws -> T) async throws -> T {
        let root = try Harness.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let env = try await Harness.open(root: root, clock: SimulatedClock(), key: SymmetricKey(size: .bits256))
        let endpoint: IngestListener.Endpoint = unix ? .unix(path: root + "/ingest.sock") : .tcp(host: "127.0.0.1", port: 0)
        let (bound, announce) = AsyncStream.makeStream(of: IngestListener.Endpoint.self)
        let listener = IngestListener(engine: env.engine, secrets: env.secrets, endpoint: endpoint, limits: limits,
                                      logger: Harness.logger) { announce.yield($0) }
        do {
            let value = try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await listener.run(); return nil }
                var it = bound.makeAsyncIterator()
                guard let ep = await it.next() else { throw RawSocket.Failure(description: "the listener did not bind") }
                let value = try await body(env, listener, ep)
                group.cancelAll()
                return value
            }
            await env.durable.shutdown(snapshot: false)
            return value
        } catch {
            await env.durable.shutdown(snapshot: false)
            throw error
        }
    }

    static func connect(_ endpoint: IngestListener.Endpoint) async throws -> RawSocket {
        switch endpoint {
        case .tcp(_, let port): try await RawSocket.tcp(port: port)
        case .unix(let path): try await RawSocket.unix(path: path)
        }
    }

    static func frame(_ kind: IngestProtocol.Kind, _ id: UInt64, _ payload: String) -> [UInt8] {
        IngestProtocol.Frame(kind: kind, requestID: id, payload: Array(payload.utf8)).encoded()
    }

    static func hello(_ id: UInt64 = 1) -> [UInt8] { frame(.hello, id, #"{"token":"\#(Harness.adminToken)"}"#) }

    /// Connects and says hello; fails the test unless the server welcomes.
    static func welcomed(_ endpoint: IngestListener.Endpoint) async throws -> RawSocket {
        let s = try await connect(endpoint)
        await s.send(hello())
        let answer = await s.read(seconds: 10) { !ingestFrames($0).isEmpty }
        try #require(ingestFrames(answer.bytes).first?.kind == IngestProtocol.Kind.welcome.rawValue, "no welcome: \(answer)")
        return s
    }
}

/// Gateways that misbehave: each bound of `IngestLimits` is reached over a
/// real socket, and the test checks what the server does at it.
@Suite("Hostile ingest clients") struct HostileIngestTests {
    @Test func anOversizedFrameBeforeHelloIsRefusedAtItsLengthPrefix() async throws {
        try await ListenerHarness.run { _, listener, endpoint in
            let s = try await ListenerHarness.connect(endpoint)
            defer { s.close() }
            // Only the length prefix of a 4 MiB frame: refused before any of it is buffered.
            await s.send([0x00, 0x40, 0x00, 0x00])
            let answer = await s.readToEnd()
            let frames = ingestFrames(answer.bytes)
            #expect(answer.closed, "the server closes the connection")
            #expect(frames.count == 1 && frames[0].errorCode == "frame_too_large", "\(frames.map(\.text))")
            #expect(frames.first?.text.contains("\(IngestProtocol.maxFrameBeforeHello)") == true)
            try await eventually("the connection is gone") { listener.stats.connectionsOpen == 0 }
        }
    }

    @Test func aFrameAtTheBoundBeforeHelloIsStillRead() async throws {
        try await ListenerHarness.run { _, _, endpoint in
            let s = try await ListenerHarness.connect(endpoint)
            defer { s.close() }
            // Exactly maxFrameBeforeHello bytes: read, and refused only for what it says (no valid token).
            let padding = String(repeating: " ", count: IngestProtocol.maxFrameBeforeHello - IngestProtocol.headerSize - 13)
            let bytes = ListenerHarness.frame(.hello, 7, #"{"token":"x"}"# + padding)
            #expect(bytes.count == IngestProtocol.maxFrameBeforeHello)
            await s.send(bytes)
            let frames = ingestFrames(await s.readToEnd().bytes)
            #expect(frames.map(\.errorCode) == ["unauthorized"])
            #expect(frames.first?.requestID == 7)
        }
    }

    @Test func noHelloWithinTheDeadlineClosesTheConnection() async throws {
        let limits: IngestLimits = {
            var limits = IngestLimits()
            limits.helloDeadlineSeconds = 0.3
            return limits
        }()
        try await ListenerHarness.run(limits: limits) { _, listener, endpoint in
            let silent = try await ListenerHarness.connect(endpoint)
            defer { silent.close() }
            let partial = try await ListenerHarness.connect(endpoint)
            defer { partial.close() }
            await partial.send(Array(ListenerHarness.hello().prefix(20)))  // a hello that never completes
            for s in [silent, partial] {
                let answer = await s.readToEnd(seconds: 10)
                #expect(answer.closed)
                #expect(ingestFrames(answer.bytes).map(\.errorCode) == ["hello_timeout"])
            }
            try await eventually("both are counted and gone") {
                listener.stats.connectionsTimedOut == 2 && listener.stats.connectionsOpen == 0
            }
        }
    }

    @Test func anIdleConnectionIsClosedAfterTheIdleTimeout() async throws {
        let limits: IngestLimits = {
            var limits = IngestLimits()
            limits.idleTimeoutSeconds = 0.3
            return limits
        }()
        try await ListenerHarness.run(limits: limits) { _, listener, endpoint in
            let s = try await ListenerHarness.welcomed(endpoint)
            defer { s.close() }
            let answer = await s.readToEnd(seconds: 10)
            #expect(answer.closed)
            #expect(ingestFrames(answer.bytes).map(\.errorCode) == ["idle_timeout"])
            try await eventually("it is gone") { listener.stats.connectionsOpen == 0 }
        }
    }

    @Test func connectionsOverTheLimitAreToldAndClosed() async throws {
        let limits: IngestLimits = {
            var limits = IngestLimits()
            limits.maxConnections = 2
            return limits
        }()
        try await ListenerHarness.run(limits: limits) { _, listener, endpoint in
            let first = try await ListenerHarness.welcomed(endpoint)
            let second = try await ListenerHarness.connect(endpoint)  // holds a slot without hello
            defer { second.close() }
            try await eventually("two are open") { listener.stats.connectionsOpen == 2 }
            let third = try await ListenerHarness.connect(endpoint)
            defer { third.close() }
            let answer = await third.readToEnd()
            #expect(answer.closed)
            let frames = ingestFrames(answer.bytes)
            #expect(frames.map(\.errorCode) == ["too_many_connections"])
            #expect(frames.first?.text.contains("at most 2 connections") == true)
            #expect(listener.stats.connectionsRefused == 1)
            // A slot freed is a slot to use again.
            first.close()
            try await eventually("the first one is gone") { listener.stats.connectionsOpen == 1 }
            let fourth = try await ListenerHarness.welcomed(endpoint)
            fourth.close()
        }
    }

    /// The issue's 545 MB: a client that pipelines and never reads. The
    /// server stops reading it once `maxFramesInFlight` answers are owed
    /// (and the socket buffers between them are full), so what it holds is
    /// bounded; when the client reads again, every answer arrives in order.
    @Test func aClientThatPipelinesAndNeverReadsIsHeldAtTheBound() async throws {
        let limits: IngestLimits = {
            var limits = IngestLimits()
            limits.maxFramesInFlight = 8
            limits.stalledWriteTimeoutSeconds = 120
            return limits
        }()
        let total = 20_000
        try await ListenerHarness.run(limits: limits, unix: true) { _, listener, endpoint in
            let s = try await ListenerHarness.connect(endpoint)
            defer { s.close() }
            // Frames the server answers without touching the engine (an empty batch is refused).
            var bytes = ListenerHarness.hello()
            for id in 2...UInt64(total + 1) { bytes += ListenerHarness.frame(.ingest, id, #"{"events":[]}"#) }
            let payload = bytes
            let sender = Task { await s.send(payload) }  // blocks once the server stops reading
            var lastRead = -1
            var stableSince = ContinuousClock.now
            var maxInFlight = 0
            try await eventually("the server stops reading", seconds: 60) {
                let stats = listener.stats
                maxInFlight = max(maxInFlight, stats.framesInFlight)
                if stats.framesRead != lastRead {
                    lastRead = stats.framesRead
                    stableSince = .now
                }
                return stats.framesInFlight == limits.maxFramesInFlight && ContinuousClock.now - stableSince > .milliseconds(500)
            }
            let held = listener.stats
            #expect(maxInFlight <= limits.maxFramesInFlight, "never more than the bound unanswered")
            #expect(held.framesInFlight == limits.maxFramesInFlight)
            #expect(held.framesRead < total, "the server stopped reading (read \(held.framesRead) of \(total + 1))")

            // The client reads again: every answer, in order, and nothing is left owed.
            let answers = await s.read(seconds: 60) { ingestFrames($0).count == total + 1 }
            let frames = ingestFrames(answers.bytes)
            #expect(frames.count == total + 1)
            #expect(frames.map(\.requestID) == Array(1...UInt64(total + 1)), "answers keep the request order")
            #expect(frames.dropFirst().allSatisfy { $0.errorCode == "invalid" })
            _ = await sender.value
            try await eventually("nothing is owed") { listener.stats.framesInFlight == 0 }
        }
    }

    /// A client that stops reading for good: once an answer has waited
    /// `stalledWriteTimeoutSeconds` for it, the server drops the connection
    /// and frees what it held, although the client never reads or closes.
    @Test func aClientThatStopsReadingIsDroppedAndWhatItHeldIsFreed() async throws {
        let limits: IngestLimits = {
            var limits = IngestLimits()
            limits.maxFramesInFlight = 8
            limits.stalledWriteTimeoutSeconds = 0.5
            return limits
        }()
        try await ListenerHarness.run(limits: limits, unix: true) { _, listener, endpoint in
            let s = try await ListenerHarness.connect(endpoint)
            defer { s.close() }
            // More than the socket buffers and NIO's inbound buffer can take, so the sender is still blocked when the server drops it.
            var bytes = ListenerHarness.hello()
            for id in 2...UInt64(100_001) { bytes += ListenerHarness.frame(.ingest, id, #"{"events":[]}"#) }
            let payload = bytes
            let sender = Task { await s.send(payload) }
            try await eventually("the server reaches the bound", seconds: 60) { listener.stats.framesInFlight == limits.maxFramesInFlight }
            try await eventually("the server drops the connection", seconds: 30) {
                listener.stats.connectionsOpen == 0 && listener.stats.framesInFlight == 0
            }
            #expect(listener.stats.connectionsTimedOut == 1)
            #expect(await sender.value == false, "the client's sending fails: the server closed")
        }
    }

    @Test func compactFramesWithImpossibleDatesAreRefusedAndTheConnectionLives() async throws {
        try await ListenerHarness.run { env, _, endpoint in
            let channel = Channel(channelType: .emailOutlook, channelName: "mail")
            try await env.engine.durable(await env.engine.supervisor.upsertChannel(channel))
            let s = try await ListenerHarness.welcomed(endpoint)
            defer { s.close() }
            func message(_ at: Date, size: Int = 10) -> IngestItem {
                .message(InboundMessage(channelID: channel.id, externalMessageID: "m-\(UUID())", senderExternal: ExternalParty(name: "Jan"),
                                        messageContent: "hallo", attachments: [Attachment(fileName: "a.pdf", contentType: "application/pdf", sizeBytes: size)],
                                        receivedAt: at))
            }
            let cases: [(IngestItem, String)] = [
                (message(Date(timeIntervalSinceReferenceDate: .nan)), "events[0].received_at"),
                (message(Date(timeIntervalSinceReferenceDate: .infinity)), "events[0].received_at"),
                (message(Date(timeIntervalSinceReferenceDate: -.infinity)), "events[0].received_at"),
                (message(Date(timeIntervalSince1970: 946_684_799)), "events[0].received_at"),  // 1999-12-31T23:59:59Z
                (message(Date(timeIntervalSince1970: 4_102_444_800)), "events[0].received_at"),  // 2100-01-01T00:00:00Z
                (.delivery(channelID: channel.id, externalMessageID: "x", status: .read, at: Date(timeIntervalSinceReferenceDate: .nan)),
                 "events[0].at"),
                (message(Date(), size: -1), "events[0].attachments[0].size_bytes"),
            ]
            let before = env.lastSeq
            for (i, (item, field)) in cases.enumerated() {
                await s.send(IngestProtocol.Frame(kind: .ingestCompact, requestID: UInt64(10 + i), payload: try IngestCompact.encode([item])).encoded())
                let answer = ingestFrames(await s.read { !ingestFrames($0).isEmpty }.bytes)
                #expect(answer.first?.errorCode == "invalid", "\(field): \(answer.map(\.text))")
                #expect(answer.first?.text.contains(field) == true, "\(field): \(answer.map(\.text))")
                #expect(answer.first?.requestID == UInt64(10 + i))
            }
            #expect(env.lastSeq == before, "nothing stored")
            // The connection is still usable.
            await s.send(IngestProtocol.Frame(kind: .ingestCompact, requestID: 99, payload: try IngestCompact.encode([message(Date())])).encoded())
            let ok = ingestFrames(await s.read { !ingestFrames($0).isEmpty }.bytes)
            #expect(ok.first?.kind == IngestProtocol.Kind.resultsCompact.rawValue)
            #expect(try IngestCompact.decodeResults(ok.first?.payload ?? []).map(\.status) == ["created"])
        }
    }

    @Test func jsonFramesAreHeldToStrictJSON() async throws {
        try await ListenerHarness.run { env, _, endpoint in
            let s = try await ListenerHarness.welcomed(endpoint)
            defer { s.close() }
            let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
            let cases: [(String, String, String)] = [
                (#"{"events":[],"events":[{"type":"message"}]}"#, "invalid_json", "'events' appears twice"),
                (#"{"events":[{"type":"delivery_status","channel_id":"\#(UUID())","external_message_id":"a","external_message_id":"b","delivery_status":"read"}]}"#,
                 "invalid_json", "events[0]"),
                (#"{"events":[\#(deep)]}"#, "invalid_json", "32 levels"),
                (#"{"events":[{"type":"delivery_status","channel_id":"\#(UUID())","external_message_id":"a","delivery_status":"read","at":"1970-01-01T00:00:00Z"}]}"#,
                 "invalid_json", "events[0].at"),
            ]
            let before = env.lastSeq
            for (i, (json, code, mention)) in cases.enumerated() {
                await s.send(ListenerHarness.frame(.ingest, UInt64(20 + i), json))
                let answer = ingestFrames(await s.read { !ingestFrames($0).isEmpty }.bytes)
                #expect(answer.first?.errorCode == code, "\(mention): \(answer.map(\.text))")
                #expect(answer.first?.text.contains(mention) == true, "\(mention): \(answer.map(\.text))")
            }
            #expect(env.lastSeq == before)
        }
    }
}
