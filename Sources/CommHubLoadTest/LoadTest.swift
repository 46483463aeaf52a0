import CommHubDomain
import CommHubEngine
import CommHubFixtures
import CommHubServer
import CommHubStore
import CommHubWire
import Crypto
import Foundation
import Histogram
import Hummingbird
import HummingbirdWSClient
import Logging
import Synchronization

/// Options of `commhub loadtest`.
public struct LoadTestOptions: Sendable {
    public enum Target: Sendable {
        /// Start an engine in this process (real LMDB in a temporary directory,
        /// real sockets on loopback) and drive it.
        case embedded(sync: SyncMode)
        /// Drive a running `commhub serve`.
        case remote(ingest: IngestListener.Endpoint, httpPort: Int?, httpHost: String)
    }

    public var target: Target = .embedded(sync: .full)
    public var token: String?
    /// Events per second across all connections (open loop); nil = as fast as acknowledged (closed loop).
    public var rate: Double?
    public var connections = 4
    /// Frames in flight per connection.
    public var pipeline = 16
    /// Events per frame.
    public var batch = 1
    public var duration: Duration = .seconds(10)
    public var warmup: Duration = .seconds(2)
    /// Distinct conversations; their popularity follows a Zipf law.
    public var conversations = 10_000
    public var zipfExponent = 1.1
    /// Share of events that are delivery-status updates (the rest are inbound messages).
    public var deliveryShare = 0.05
    /// Inbox queries per second over HTTP (0: none).
    public var queryRate: Double = 20
    /// Presence changes (HTTP) plus team rebalances (admin socket or the
    /// embedded engine) per second, alternating (0: none).
    public var operationsRate: Double = 2
    /// Embedded engine: seal journal records, bodies and snapshots (the
    /// default, as `serve` does); false stores them in the clear, only to
    /// measure what sealing costs (`Benchmarks/sealing-cost.sh`).
    public var sealRecords = true
    /// WebSocket clients of `/api/events` (a person's token: the admin's in
    /// embedded mode). Each receives every event it may see; the summary's
    /// `fanout` is the time from an event's ingest until a subscriber has it.
    /// With many subscribers give a `--rate`: each event is sent to all of them.
    public var subscribers = 0
    /// Admin socket of a running target, for rebalances in remote mode.
    public var adminSocket: String?
    /// Send JSON ingest frames instead of the compact binary ones.
    public var jsonFrames = false
    /// Embedded engine only: take a snapshot this often while the load runs,
    /// to measure what snapshots cost the traffic.
    public var snapshotEvery: Duration?
    public var progress = true
    public init() {}
}

/// What a load test measured. Latency is ingest-to-acknowledgement (the ack
/// comes after the journal commit); in open-loop mode it is measured from the
/// moment each frame was due, so a stalled server is not hidden
/// (coordinated omission corrected).
public struct LoadTestSummary: Codable, Sendable {
    public struct Latency: Codable, Sendable {
        public var count: UInt64
        public var p50Micros: UInt64
        public var p90Micros: UInt64
        public var p99Micros: UInt64
        public var p999Micros: UInt64
        public var maxMicros: UInt64
        public var meanMicros: Double
    }

    public var mode: String
    public var target: String
    public var connections: Int
    public var pipeline: Int
    public var batch: Int
    public var targetRate: Double?
    public var durationSeconds: Double
    public var eventsAcknowledged: UInt64
    public var framesAcknowledged: UInt64
    public var errors: UInt64
    public var eventsPerSecond: Double
    public var ingest: Latency
    public var queries: Latency
    /// Presence changes and rebalances.
    public var operations: Latency
    /// From ingest (when the frame was due) until a WebSocket subscriber received
    /// its `message.created`, over all subscribers; compare with `ingest`
    /// (until the ack) to see what the fan-out adds.
    public var fanout: Latency?
    public var subscribers: Int?
    /// Frames of `message.created` received across all subscribers.
    public var subscriberFrames: UInt64?
    public var engineRSSBytes: Int?
    public var snapshotsTaken: Int?
    /// Embedded engine: the journal writer's counters over the whole run (warm-up included).
    public var journal: JournalFigures?
    /// The first error seen, to say what went wrong when `errors` > 0.
    public var firstError: String?
    public var startedAt: String
}

/// What the embedded engine's journal writer did during a run.
public struct JournalFigures: Codable, Sendable {
    public var batches: UInt64
    public var eventsPerBatch: Double
    /// Mean wall time of a journal transaction, begin through commit (fsync included).
    public var commitMillisMean: Double

    init(_ s: JournalStats) {
        batches = s.batchesCommitted
        eventsPerBatch = s.averageBatchSize
        commitMillisMean = s.batchesCommitted == 0 ? 0 : Double(s.commitNanosTotal) / Double(s.batchesCommitted) / 1e6
    }
}

/// `commhub loadtest`: drives an engine through the gateway ingest
/// protocol (and HTTP inbox queries) with a realistic mix and reports
/// throughput and latency percentiles.
public enum LoadTest {
    public static func run(_ o: LoadTestOptions, logger: Logger) async throws -> LoadTestSummary {
        switch o.target {
        case .embedded(let sync):
            return try await runEmbedded(o, sync: sync, logger: logger)
        case .remote(let ingest, let httpPort, let httpHost):
            guard let token = o.token else { throw LoadTestError("--token is required against a running engine (an admin or gateway token)") }
            let api = httpPort.map { TargetAPI(host: httpHost, port: $0, token: token) }
            var channels: [Channel] = []
            if let api {
                let r = try await api.call(.GET, "/api/communication/channels")
                guard r.status == 200 else { throw LoadTestError("GET channels answered \(r.status): \(r.text)") }
                let items = try ContractJSON.sharedDecoder.decode(ChannelList.self, from: r.body).items
                    .map { Channel(id: $0.id, channelType: $0.channelType, channelName: $0.channelName, isActive: $0.isActive) }
                channels = items.filter { $0.isActive && [.emailOutlook, .whatsappBusiness, .sms].contains($0.channelType) }
            }
            guard !channels.isEmpty else { throw LoadTestError("no active mail, WhatsApp or SMS channel found on the target (give --http-port)") }
            let rebalance: (@Sendable () async throws -> Void)? = o.adminSocket.map { path in
                { @Sendable in
                    guard let api else { return }
                    let teams = try await api.call(.GET, "/api/teams")
                    guard teams.status == 200 else { throw LoadTestError("GET teams answered \(teams.status): \(teams.text)") }
                    guard let id = teams.items.randomElement()?["id"] as? String else { return }
                    let answer = try await offThePool { try AdminClient.send("rebalance team \(id)", to: path) }
                    guard answer.contains("\"ok\":true") else { throw LoadTestError("rebalance failed: \(answer)") }
                }
            }
            return try await drive(o, ingest: ingest, token: token, channels: channels, httpPort: httpPort, httpHost: httpHost,
                                   rss: { nil }, targetName: "\(ingest)", rebalance: rebalance)
        }
    }

    /// What every role's token sees of a channel (agents get no configuration).
    struct ChannelList: Decodable {
        struct Item: Decodable { var id: ChannelID; var channelType: ChannelType; var channelName: String; var isActive: Bool }
        var items: [Item]
    }

    static func runEmbedded(_ o: LoadTestOptions, sync: SyncMode, logger: Logger) async throws -> LoadTestSummary {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("commhub-loadtest-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var quiet = logger
        quiet.logLevel = .warning
        var jo = JournalOptions()
        jo.syncMode = sync
        jo.sealRecords = o.sealRecords
        // A key of this run only: nothing is written beside the scratch directory.
        let masterKey = SymmetricKey(size: .bits256)
        jo.masterKeys = MasterKeys(current: masterKey, source: .environment)
        let durable = try DurableEngine(directory: dir, clock: SystemClock(), options: jo, logger: quiet)
        let engine = durable.engine
        let token = "loadtest-" + UUID().uuidString
        _ = try await AdminBootstrap.ensure(engine, environment: ["COMMHUB_ADMIN_TOKEN": token], logger: quiet)
        let (channels, team) = try await seed(engine)
        let secrets = SecretBox(key: masterKey)
        let ports = PortBox()
        let listener = IngestListener(engine: engine, secrets: secrets, endpoint: .tcp(host: "127.0.0.1", port: 0), logger: quiet) {
            if case .tcp(_, let p) = $0 { ports.set(ingest: p) }
        }
        let httpOptions = HTTPOptions.unlimited
        var silent = quiet
        silent.logLevel = .critical  // the server is cancelled at the end; that is not an error here
        let app = buildHTTPApplication(engine: engine, durable: durable, secrets: secrets, options: httpOptions, logger: silent) {
            ports.set(http: $0)
        }
        return try await withThrowingTaskGroup(of: LoadTestSummary?.self) { group in
            group.addTask { try await listener.run(); return nil }
            group.addTask { try await app.runService(gracefulShutdownSignals: []); return nil }
            let (ingestPort, httpPort) = try await ports.wait()
            let snapshots = SnapshotTally()
            if let every = o.snapshotEvery {
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: every)
                        try await durable.snapshot()
                        snapshots.increment()
                    }
                    return nil
                }
            }
            var summary = try await drive(o, ingest: .tcp(host: "127.0.0.1", port: ingestPort), token: token, channels: channels,
                                          httpPort: httpPort, httpHost: "127.0.0.1",
                                          rss: { ProcessMemory.residentBytes() }, targetName: "embedded (sync \(sync))",
                                          rebalance: {
                                              let r = try await engine.supervisor.rebalance(team: team)
                                              if let seq = r.seq { try await engine.durable(seq) }
                                          })
            summary.mode = o.rate == nil ? "closed-loop" : "open-loop"
            if o.snapshotEvery != nil { summary.snapshotsTaken = snapshots.count }
            summary.journal = JournalFigures(durable.writer.stats)
            group.cancelAll()
            await durable.shutdown(snapshot: false)
            return summary
        }
    }

    /// A small company to send to: one channel per external type, a team (returned for rebalances), agents online.
    static func seed(_ engine: Engine) async throws -> ([Channel], TeamID) {
        let s = engine.supervisor
        let team = Team(name: "load")
        _ = try await s.upsertTeam(team)
        for i in 0..<20 {
            _ = try await s.upsertContact(Contact(name: "agent \(i)", role: .agent, teams: [team.id], maxOpenThreads: 10_000, presence: .online))
        }
        _ = try await s.setRoutingRules(AutoAssignmentRules(defaultAssignee: "load"))
        var out: [Channel] = []
        for (i, type) in [ChannelType.emailOutlook, .whatsappBusiness, .sms].enumerated() {
            let c = Channel(channelType: type, channelName: "load \(type.rawValue)", businessEntity: Brand.allCases[i],
                            configuration: ["phone_number_id": .string("100200300"), "from_number": .string("+3197010000000")])
            _ = try await s.upsertChannel(c)
            out.append(c)
        }
        try await engine.durable(engine.journal.lastAssignedSeq)
        return (out, team.id)
    }

    final class SnapshotTally: Sendable {
        private let n = Mutex(0)
        func increment() { n.withLock { $0 += 1 } }
        var count: Int { n.withLock { $0 } }
    }

    final class PortBox: Sendable {
        private let state = Mutex<(ingest: Int?, http: Int?)>((nil, nil))
        func set(ingest p: Int) { state.withLock { $0.ingest = p } }
        func set(http p: Int) { state.withLock { $0.http = p } }
        func wait() async throws -> (Int, Int) {
            for _ in 0..<500 {
                if case let (i?, h?) = state.withLock({ $0 }) { return (i, h) }
                try await Task.sleep(for: .milliseconds(10))
            }
            throw LoadTestError("embedded engine did not start listening")
        }
    }

    /// Shared tallies of all connections.
    final class Tally: Sendable {
        struct State {
            var ingest = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
            var queries = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
            var operations = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
            var fanout = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
            var subscriberFrames: UInt64 = 0
            var events: UInt64 = 0
            var frames: UInt64 = 0
            var errors: UInt64 = 0
            var measuring = false
        }
        let state = Mutex(State())
        /// The measuring window, set once the subscribers are connected.
        let window = Mutex<(ContinuousClock.Instant?, ContinuousClock.Instant?)>((nil, nil))
        private let subscribersBox = Mutex(0)
        private let firstErrorBox = Mutex<String?>(nil)
        func subscriberJoined() { subscribersBox.withLock { $0 += 1 } }
        func subscriberLeft() { subscribersBox.withLock { $0 -= 1 } }
        var connectedSubscribers: Int { subscribersBox.withLock { $0 } }
        /// Waits until `n` subscribers have their hello frame (or their task failed).
        let failedSubscribers = Mutex(0)
        func waitForSubscribers(_ n: Int) async throws {
            guard n > 0 else { return }
            let deadline = ContinuousClock.now + .seconds(60)
            while connectedSubscribers < n {
                if failedSubscribers.withLock({ $0 }) > 0 {
                    throw LoadTestError("a WebSocket subscriber failed: \(firstError ?? "?")")
                }
                if ContinuousClock.now > deadline {
                    throw LoadTestError("only \(connectedSubscribers) of \(n) WebSocket subscribers connected within 60 s")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        /// Keeps the first error message for the summary.
        func note(_ message: String) { firstErrorBox.withLock { if $0 == nil { $0 = message } } }
        var firstError: String? { firstErrorBox.withLock { $0 } }
    }

    static func drive(_ o: LoadTestOptions, ingest: IngestListener.Endpoint, token: String, channels: [Channel],
                      httpPort: Int?, httpHost: String, rss: @escaping @Sendable () -> Int?, targetName: String,
                      rebalance: (@Sendable () async throws -> Void)? = nil) async throws -> LoadTestSummary {
        let tally = Tally()
        let zipf = Zipf(count: max(1, o.conversations), exponent: o.zipfExponent)
        let run = String(UUID().uuidString.prefix(8)).lowercased()
        let epoch = ContinuousClock.now
        // Subscribers connect (and have their hello) before the clock starts.
        let subscribers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<max(0, o.subscribers) {
                    guard let httpPort else { throw LoadTestError("--subscribers needs the HTTP port of the target") }
                    group.addTask {
                        do {
                            try await subscriber(i, host: httpHost, port: httpPort, token: token, epoch: epoch, tally: tally)
                        } catch is CancellationError {
                        } catch {
                            tally.note("subscriber \(i): \(error)")
                            tally.failedSubscribers.withLock { $0 += 1 }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        do {
            try await tally.waitForSubscribers(o.subscribers)
        } catch {
            subscribers.cancel()
            throw error
        }
        let start = ContinuousClock.now
        let measureFrom = start + o.warmup
        let stopAt = measureFrom + o.duration
        tally.window.withLock { $0 = (measureFrom, stopAt) }
        let startedAt = Date().iso8601
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<max(1, o.connections) {
                group.addTask {
                    try await connection(c, o, ingest: ingest, token: token, channels: channels, zipf: zipf, run: run,
                                         epoch: epoch, tally: tally, measureFrom: measureFrom, stopAt: stopAt)
                }
            }
            if let httpPort, o.queryRate > 0 {
                group.addTask {
                    try await queries(o, host: httpHost, port: httpPort, token: token, tally: tally, measureFrom: measureFrom, stopAt: stopAt)
                }
            }
            if let httpPort, o.operationsRate > 0 {
                group.addTask {
                    try await operations(o, host: httpHost, port: httpPort, token: token, rebalance: rebalance, tally: tally,
                                         measureFrom: measureFrom, stopAt: stopAt)
                }
            }
            if o.progress {
                group.addTask {
                    var last: UInt64 = 0
                    while ContinuousClock.now < stopAt {
                        try await Task.sleep(for: .seconds(1))
                        let s = tally.state.withLock { ($0.events, $0.errors, $0.ingest.valueAtPercentile(99), $0.measuring) }
                        let phase = s.3 ? "measuring" : "warm-up"
                        let line = String(format: "\r[%@] acked %llu events (%llu/s), errors %llu, p99 %.2f ms   ",
                                          phase, s.0, s.0 - last, s.1, Double(s.2) / 1000)
                        FileHandle.standardError.write(Data(line.utf8))
                        last = s.0
                    }
                    FileHandle.standardError.write(Data("\n".utf8))
                }
            }
            try await group.waitForAll()
        }
        if o.subscribers > 0 {
            // Let the last events reach the subscribers, then hang up.
            try await Task.sleep(for: .milliseconds(500))
            let lost = o.subscribers - tally.connectedSubscribers
            if lost > 0 {
                tally.note("\(lost) WebSocket subscribers lost their connection")
                tally.state.withLock { $0.errors += UInt64(lost) }
            }
            subscribers.cancel()
            _ = await subscribers.result
        }
        let elapsed = Double(o.duration.components.seconds) + Double(o.duration.components.attoseconds) / 1e18
        return tally.state.withLock { s in
            var summary = LoadTestSummary(
                mode: o.rate == nil ? "closed-loop" : "open-loop", target: targetName, connections: o.connections,
                pipeline: o.pipeline, batch: o.batch, targetRate: o.rate, durationSeconds: elapsed,
                eventsAcknowledged: s.events, framesAcknowledged: s.frames, errors: s.errors,
                eventsPerSecond: Double(s.events) / elapsed, ingest: latency(s.ingest), queries: latency(s.queries),
                operations: latency(s.operations),
                engineRSSBytes: rss(), snapshotsTaken: nil, firstError: tally.firstError, startedAt: startedAt)
            if o.subscribers > 0 {
                summary.fanout = latency(s.fanout)
                summary.subscribers = o.subscribers
                summary.subscriberFrames = s.subscriberFrames
            }
            return summary
        }
    }

    /// One WebSocket client of `/api/events`. Every `message.created` carries the
    /// load test's external message id, which ends in the nanoseconds (since
    /// `epoch`) at which that message was due: the latency needs no shared table.
    static func subscriber(_ index: Int, host: String, port: Int, token: String, epoch: ContinuousClock.Instant,
                           tally: Tally) async throws {
        var config = WebSocketClientConfiguration()
        config.closeTimeout = .milliseconds(200)
        config.additionalHeaders[.authorization] = "Bearer \(token)"
        var logger = Logger(label: "loadtest.subscriber")
        logger.logLevel = .critical
        let needle = Array(#""external_message_id":"lt-"#.utf8)
        _ = try await WebSocketClient.connect(url: "ws://\(host):\(port)/api/events", configuration: config, logger: logger) { inbound, _, _ in
            var local = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
            var frames: UInt64 = 0
            var connected = false
            var window: (from: ContinuousClock.Instant, until: ContinuousClock.Instant)?
            defer {
                tally.state.withLock { s in
                    s.fanout.add(local)
                    s.subscriberFrames += frames
                }
                if connected { tally.subscriberLeft() }
            }
            for try await message in inbound.messages(maxSize: 1 << 22) {
                guard case .text(let text) = message else { continue }
                if !connected {
                    guard text.contains(#""type":"hello""#) else {
                        throw LoadTestError("/api/events refused: \(text.prefix(200))")
                    }
                    connected = true
                    tally.subscriberJoined()
                    continue
                }
                let now = ContinuousClock.now
                guard let due = dueNanos(text, needle: needle) else { continue }
                if window == nil, case let (from?, until?) = tally.window.withLock({ $0 }) { window = (from, until) }
                guard let window, now >= window.from, now <= window.until else { continue }
                let sent = epoch + .nanoseconds(due)
                _ = local.record(UInt64(max(0, (now - sent).nanosecondsValue / 1000)))
                frames += 1
            }
        }
    }

    /// The due time encoded at the end of a load-test external message id
    /// (`lt-run-connection-n-NANOS`), found without parsing the whole frame.
    static func dueNanos(_ text: String, needle: [UInt8]) -> Int64? {
        var text = text
        return text.withUTF8 { b -> Int64? in
            guard b.count >= needle.count else { return nil }
            var i = 0
            let last = b.count - needle.count
            while i <= last {
                if b[i] == needle[0] {
                    var j = 1
                    while j < needle.count, b[i + j] == needle[j] { j += 1 }
                    if j == needle.count { break }
                }
                i += 1
            }
            guard i <= last else { return nil }
            var k = i + needle.count
            var lastDash = -1
            while k < b.count, b[k] != UInt8(ascii: "\"") {
                if b[k] == UInt8(ascii: "-") { lastDash = k }
                k += 1
            }
            guard lastDash >= 0 else { return nil }
            var n: Int64 = 0
            for d in b[(lastDash + 1)..<k] {
                guard d >= 48, d <= 57 else { return nil }
                n = n * 10 + Int64(d - 48)
            }
            return n
        }
    }

    static func latency(_ h: Histogram<UInt64>) -> LoadTestSummary.Latency {
        .init(count: h.totalCount, p50Micros: h.valueAtPercentile(50), p90Micros: h.valueAtPercentile(90),
              p99Micros: h.valueAtPercentile(99), p999Micros: h.valueAtPercentile(99.9), maxMicros: h.max,
              meanMicros: h.totalCount > 0 ? (h.mean * 10).rounded() / 10 : 0)
    }

    /// One connection: keeps up to `pipeline` frames in flight; in open-loop
    /// mode frames are due at fixed intervals and latency counts from when they were due.
    ///
    /// Open loop (`--rate`): a sender and a receiver task, as a gateway runs
    /// them: a frame goes out when it is due even while answers are
    /// outstanding (one loop that blocked on the next answer sent late, and
    /// charged the server with the wait), and the sender sleeps to the due
    /// time with no timer tolerance (a tenth of the interval of tolerance was
    /// charged to the server too: up to 25 ms per frame at 500 events/s over
    /// 8 connections); the connections' due times are spread evenly over the
    /// interval. Closed loop: one loop that sends the next frame as soon as
    /// an answer frees the window (no hop between two tasks per frame, which
    /// cost the unpipelined run a fifth of its rate).
    static func connection(_ index: Int, _ o: LoadTestOptions, ingest: IngestListener.Endpoint, token: String,
                           channels: [Channel], zipf: Zipf, run: String, epoch: ContinuousClock.Instant, tally: Tally,
                           measureFrom: ContinuousClock.Instant, stopAt: ContinuousClock.Instant) async throws {
        try await IngestConnection.with(ingest, token: token) { conn in
            var frames = FrameSource(index: index, options: o, channels: channels, zipf: zipf, run: run)
            func send(_ items: [IngestItem]) async throws {
                if o.jsonFrames { try await conn.ingest(try items.map(jsonEvent)) } else { try await conn.ingestCompact(items) }
            }
            func record(_ frame: IngestProtocol.Frame, due: ContinuousClock.Instant, count: Int) {
                let done = ContinuousClock.now
                let micros = UInt64(max(0, (done - due).nanosecondsValue / 1000))
                let failed: UInt64 = switch IngestProtocol.Kind(rawValue: frame.kind) {
                case .results: errorCount(frame.payload)
                case .resultsCompact: UInt64((try? IngestCompact.decodeResults(frame.payload).filter { $0.status == "error" }.count) ?? count)
                default: UInt64(count)
                }
                if failed > 0 { tally.note("ingest frame answered: \(String(decoding: frame.payload.prefix(300), as: UTF8.self))") }
                tally.state.withLock { s in
                    if done >= measureFrom, done <= stopAt {
                        s.measuring = true
                        _ = s.ingest.record(micros)
                        s.events += UInt64(count) - failed
                        s.frames += 1
                        s.errors += failed
                    }
                }
            }
            guard let rate = o.rate else {
                var inFlight: [(due: ContinuousClock.Instant, events: Int)] = []
                var head = 0
                while true {
                    let now = ContinuousClock.now
                    if now < stopAt, inFlight.count - head < o.pipeline {
                        let items = frames.next(dueNanos: (now - epoch).nanosecondsValue)
                        try await send(items)
                        inFlight.append((now, items.count))
                        continue
                    }
                    guard head < inFlight.count else { return }
                    let frame = try await conn.receive()
                    record(frame, due: inFlight[head].due, count: inFlight[head].events)
                    head += 1
                    if head >= 1_024 { inFlight.removeFirst(head); head = 0 }
                }
            }
            let flight = InFlight()
            let (answers, answered) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    defer { answered.finish() }
                    while true {
                        let frame: IngestProtocol.Frame
                        do { frame = try await conn.receive() } catch { if Task.isCancelled { return }; throw error }
                        guard let (due, count) = flight.state.withLock({ f -> (ContinuousClock.Instant, Int)? in
                            guard f.head < f.due.count else { return nil }
                            let entry = f.due[f.head]
                            f.head += 1
                            f.answered += 1
                            if f.head >= 1_024 { f.due.removeFirst(f.head); f.head = 0 }
                            return entry
                        }) else { throw LoadTestError("an answer for no frame in flight") }
                        answered.yield()
                        record(frame, due: due, count: count)
                    }
                }
                let perConnRate = rate / Double(max(1, o.connections)) / Double(max(1, o.batch))
                let interval = Duration.nanoseconds(Int64(1e9 / max(perConnRate, 0.001)))
                // Connections take turns: connection i is due i/n of an interval after connection 0, so
                // frames arrive evenly spread instead of all connections' frames in one burst per interval
                // (a burst of 8 frames of 16 events queued behind each other: p50 8 ms at 500 events/s).
                var nextDue = ContinuousClock.now + interval * (Double(index) / Double(max(1, o.connections)))
                var signals = answers.makeAsyncIterator()
                while ContinuousClock.now < stopAt {
                    if ContinuousClock.now < nextDue { try await Task.sleep(until: nextDue, tolerance: .zero) }
                    // The window: wait for an answer while `pipeline` frames are out.
                    while flight.state.withLock({ $0.due.count - $0.head }) >= o.pipeline {
                        guard await signals.next() != nil else { return }
                    }
                    let items = frames.next(dueNanos: (nextDue - epoch).nanosecondsValue)
                    // In flight before it is written: the answer may come before `send` returns.
                    let events = items.count
                    let due = nextDue
                    flight.state.withLock { $0.due.append((due, events)); $0.sent += 1 }
                    try await send(items)
                    nextDue += interval
                }
                // Every answer in, then the receiver (blocked on the next one) is stopped.
                while flight.state.withLock({ $0.answered < $0.sent }) {
                    guard await signals.next() != nil else { break }
                }
                group.cancelAll()
                try await group.waitForAll()
            }
        }
    }

    /// The frames one connection sends: inbound messages over Zipf-popular
    /// conversations, and a share of delivery receipts for its recent ones.
    struct FrameSource {
        let index: Int
        let options: LoadTestOptions
        let channels: [Channel]
        let zipf: Zipf
        let run: String
        var rng: SplitMix
        var sent = 0
        var recentExternal: [(ChannelID, String)] = []

        init(index: Int, options: LoadTestOptions, channels: [Channel], zipf: Zipf, run: String) {
            self.index = index; self.options = options; self.channels = channels; self.zipf = zipf; self.run = run
            rng = SplitMix(seed: UInt64(index) &* 0x9E37_79B9 &+ 17)
        }

        mutating func next(dueNanos: Int64) -> [IngestItem] {
            var items: [IngestItem] = []
            for _ in 0..<max(1, options.batch) {
                sent += 1
                if !recentExternal.isEmpty, Double(rng.next() % 10_000) / 10_000 < options.deliveryShare {
                    let (ch, ext) = recentExternal[Int(rng.next() % UInt64(recentExternal.count))]
                    items.append(.delivery(channelID: ch, externalMessageID: ext, status: .read, at: nil))
                } else {
                    let conv = zipf.sample(&rng)
                    let m = message(conversation: conv, channels: channels, id: "lt-\(run)-\(index)-\(sent)-\(dueNanos)")
                    items.append(.message(m))
                    if recentExternal.count < 1000 { recentExternal.append((m.channelID, m.externalMessageID)) }
                    else { recentExternal[sent % 1000] = (m.channelID, m.externalMessageID) }
                }
            }
            return items
        }
    }

    /// One connection's frames sent and not answered yet, oldest first (`sent`, `answered` count frames).
    final class InFlight: Sendable {
        struct Frames {
            var due: [(due: ContinuousClock.Instant, events: Int)] = []
            var head = 0
            var sent = 0
            var answered = 0
        }
        let state = Mutex(Frames())
    }

    static func errorCount(_ payload: [UInt8]) -> UInt64 {
        // Cheap scan: each failed item carries "status":"error".
        let needle = Array(#""status":"error""#.utf8)
        var n: UInt64 = 0
        var i = 0
        while i + needle.count <= payload.count {
            if payload[i] == needle[0], Array(payload[i..<(i + needle.count)]) == needle { n += 1; i += needle.count } else { i += 1 }
        }
        return n
    }

    /// An inbound message of conversation `c`: the same conversation always
    /// comes from the same person on the same channel.
    static func message(conversation c: Int, channels: [Channel], id: String) -> InboundMessage {
        let channel = channels[c % channels.count]
        let phone = String(format: "+316%08d", 10_000_000 + c)
        var m = InboundMessage(channelID: channel.id, externalMessageID: id, senderExternal: ExternalParty(name: "Klant \(c)"),
                               messageContent: "Bericht \(id): mijn laadpaal (order #\(300_000 + c)) geeft een foutcode, kunt u helpen?",
                               receivedAt: Date())
        switch channel.channelType {
        case .emailOutlook:
            m.senderExternal.email = "klant\(c)@example.nl"
            m.subject = "Vraag over bestelling \(300_000 + c)"
            m.threadReference = ExternalReference(.outlookConversation, "conv-\(c)")
        case .whatsappBusiness:
            m.senderExternal.waID = String(phone.dropFirst())
            m.threadReference = ExternalReference(.whatsappChat, "100200300:\(phone)")
        default:
            m.senderExternal.phone = phone
            m.threadReference = ExternalReference(.smsChat, "+3197010000000:\(phone)")
        }
        return m
    }

    /// An ingest item as the JSON of `POST /api/ingest`.
    static func jsonEvent(_ item: IngestItem) throws -> JSONValue {
        switch item {
        case .message(let m):
            let data = try ContractJSON.sharedEncoder.encode(m)
            var o = try JSONDecoder().decode(JSONValue.self, from: data).objectValue ?? [:]  // plain: keys stay snake_case
            o["type"] = .string("message")
            return .object(o)
        case .delivery(let ch, let ext, let status, _, _):
            return .object(["type": .string("delivery_status"), "channel_id": .string(ch.description),
                            "external_message_id": .string(ext), "delivery_status": .string(status.rawValue)])
        case .reaction(let ch, let ext, let from, let emoji, _):
            return .object(["type": .string("reaction"), "channel_id": .string(ch.description), "external_message_id": .string(ext),
                            "from": .string(from), "emoji": emoji.map(JSONValue.string) ?? .null])
        case .mailbox:
            throw LoadTestError("the load test sends no mailbox items")
        }
    }

    /// Presence changes of random people over HTTP, alternating with team
    /// rebalances, timed like queries.
    static func operations(_ o: LoadTestOptions, host: String, port: Int, token: String,
                           rebalance: (@Sendable () async throws -> Void)?, tally: Tally,
                           measureFrom: ContinuousClock.Instant, stopAt: ContinuousClock.Instant) async throws {
        let api = TargetAPI(host: host, port: port, token: token)
        let contacts = try await api.call(.GET, "/api/contacts")
        guard contacts.status == 200 else { throw LoadTestError("GET contacts answered \(contacts.status): \(contacts.text)") }
        let people = contacts.items.filter { ($0["role"] as? String) == "agent" }.compactMap { $0["id"] as? String }
        guard !people.isEmpty else { return }
        let interval = Duration.nanoseconds(Int64(1e9 / o.operationsRate))
        var next = ContinuousClock.now + interval
        var i = 0
        var rng = SplitMix(seed: 99)
        while next < stopAt {
            try await Task.sleep(until: next, tolerance: .zero)
            let t0 = ContinuousClock.now
            var failed = false
            if i % 2 == 1, let rebalance {
                do { try await rebalance() } catch { failed = true; tally.note("rebalance failed: \(error)") }
            } else {
                let who = people[Int(rng.next() % UInt64(people.count))]
                let presence = rng.next() % 2 == 0 ? "away" : "online"
                let r = try await api.call(.PUT, "/api/contacts/\(who)", json: .object(["presence": .string(presence)]))
                failed = r.status != 200
                if failed { tally.note("presence change answered \(r.status): \(r.text)") }
            }
            let micros = UInt64((ContinuousClock.now - next).nanosecondsValue / 1000)
            i += 1
            tally.state.withLock { s in
                if t0 >= measureFrom {
                    _ = s.operations.record(micros)
                    if failed { s.errors += 1 }
                }
            }
            next += interval
        }
    }

    static func queries(_ o: LoadTestOptions, host: String, port: Int, token: String, tally: Tally,
                        measureFrom: ContinuousClock.Instant, stopAt: ContinuousClock.Instant) async throws {
        let api = TargetAPI(host: host, port: port, token: token)
        let paths = ["/api/communication/threads?limit=50", "/api/communication/threads?priority=high,urgent&limit=50",
                     "/api/communication/threads?channel_type=whatsapp_business&overdue=true", "/api/communication/threads?q=laadpaal&limit=20"]
        let interval = Duration.nanoseconds(Int64(1e9 / o.queryRate))
        var next = ContinuousClock.now
        var i = 0
        while next < stopAt {
            try await Task.sleep(until: next, tolerance: .zero)
            let t0 = ContinuousClock.now
            let path = paths[i % paths.count]
            let r = try await api.call(.GET, path)
            let micros = UInt64((ContinuousClock.now - next).nanosecondsValue / 1000)
            i += 1
            tally.state.withLock { s in
                if t0 >= measureFrom {
                    _ = s.queries.record(micros)
                    if r.status != 200 { s.errors += 1 }
                }
            }
            next += interval
        }
    }
}

/// Samples conversation numbers with Zipf-distributed popularity.
struct Zipf: Sendable {
    let cdf: [Double]
    init(count: Int, exponent: Double) {
        var c: [Double] = []
        c.reserveCapacity(count)
        var total = 0.0
        for k in 1...count {
            total += 1 / pow(Double(k), exponent)
            c.append(total)
        }
        cdf = c.map { $0 / total }
    }

    func sample(_ rng: inout SplitMix) -> Int {
        let u = Double(rng.next() >> 11) / Double(1 << 53)
        var lo = 0
        var hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cdf[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

public struct LoadTestError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

extension Duration {
    var nanosecondsValue: Int64 {
        let c = components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
}
