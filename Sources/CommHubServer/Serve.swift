import CommHubDomain
import CommHubEngine
import CommHubGateway
import CommHubStore
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization

/// Everything `commhub serve` needs to know.
public struct ServeOptions: Sendable {
    public var dataDirectory: String
    public var http = HTTPOptions()
    /// Default: `<data>/admin.sock`.
    public var adminSocket: String?
    /// Gateway ingest protocol on TCP (nil: off) and on a Unix socket (default `<data>/ingest.sock`).
    public var ingestHost = "127.0.0.1"
    /// The certificate and key of `--tls-cert`/`--tls-key`: HTTPS, TLS on
    /// the TCP ingest port (required there), reloaded on SIGHUP.
    public var tls: TLSCertificates?
    public var ingestPort: Int? = 7070
    public var ingestSocket: String?
    public var simulatedClock = false
    /// Runs the workflow timers every second (`WorkflowTimerService`); off,
    /// they run only through the admin socket (`timers`, `clock advance`).
    public var workflowTimers = true
    /// Where a simulated clock starts (default: now).
    public var clockStart: Date?
    /// Fills an engine that holds no threads with demo data (`--demo`; the
    /// command sets it to `DemoCompany.seed` from CommHubFixtures, so this
    /// library carries no fake customers). nil: a new data directory starts
    /// empty, and production never gets fake customers.
    public var seedDemo: (@Sendable (Engine) async throws -> Void)?
    /// Run one gateway inside this process (default); false with `--no-gateway`.
    public var embeddedGateway = true
    /// Bounds of the ingest listeners (connections, frame sizes, deadlines).
    public var ingestLimits = IngestLimits()
    /// Snapshot when this much time passed and something changed…
    public var snapshotInterval: Duration = .seconds(300)
    /// …or as soon as this many events were journaled since the last one.
    public var snapshotEveryEvents: UInt64 = 1_000_000
    public var keepSnapshots = 3
    public var syncMode: SyncMode = .full
    /// Prices per message sent for the cost KPI (`--message-prices`).
    public var messagePrices = ChannelPrices.defaults
    /// `EngineConfiguration.recentMessageIDs` (`--recent-message-ids`).
    public var recentMessageIDs = EngineConfiguration().recentMessageIDs
    /// `EngineConfiguration.recentMessagesPerThread` (`--recent-messages-per-thread`).
    public var recentMessagesPerThread = EngineConfiguration().recentMessagesPerThread
    /// `EngineConfiguration.recentMessagesPerResolvedThread` (`--recent-messages-per-resolved-thread`).
    public var recentMessagesPerResolvedThread = EngineConfiguration().recentMessagesPerResolvedThread
    /// Called once HTTP listens, with its port (tests use port 0).
    public var onReady: (@Sendable (Int) async -> Void)?

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    public var adminSocketPath: String { adminSocket ?? (dataDirectory as NSString).appendingPathComponent("admin.sock") }
    public var ingestSocketPath: String { ingestSocket ?? (dataDirectory as NSString).appendingPathComponent("ingest.sock") }
    public var storeDirectory: String { (dataDirectory as NSString).appendingPathComponent("lmdb") }
}

/// `commhub serve`: restore, then serve HTTP and the admin socket until
/// SIGTERM/SIGINT; on the way out HTTP stops first, then the admin socket,
/// then a final snapshot is written and the journal closed.
public enum CommHubServe {
    public static func run(_ o: ServeOptions, logger: Logger) async throws {
        try FileManager.default.createDirectory(atPath: o.dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        // Owner only, also for a directory an older version (or a person) made with the umask's 0755.
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: o.dataDirectory)
        let simulated = o.simulatedClock ? SimulatedClock(start: o.clockStart ?? Date()) : nil
        let clock: any EngineClock = simulated ?? SystemClock()
        var journalOptions = JournalOptions()
        journalOptions.syncMode = o.syncMode
        var configuration = EngineConfiguration()
        configuration.messagePrices = o.messagePrices
        configuration.recentMessageIDs = o.recentMessageIDs
        configuration.recentMessagesPerThread = o.recentMessagesPerThread
        configuration.recentMessagesPerResolvedThread = o.recentMessagesPerResolvedThread
        let durable = try await LegacyStoreSealing.open(storeDirectory: o.storeDirectory, logger: logger) {
            try DurableEngine(directory: o.storeDirectory, clock: clock, configuration: configuration,
                              options: journalOptions, keepSnapshots: o.keepSnapshots, logger: logger)
        }
        let engine = durable.engine
        // Erasures and a key roll a crash cut short are finished before anything is served.
        try await durable.finishInterruptedProtectionWork()
        if let seedDemo = o.seedDemo, await engine.supervisor.threadCount == 0 {
            try await seedDemo(engine)
            let count = await engine.supervisor.threadCount
            logger.info("demo company seeded", metadata: ["engine.threads": "\(count)"])
        }
        MetricsBootstrap.once(o.http.metricsRegistry)
        // The same master keys the store loaded (and a rotation in progress's next key).
        let secrets = SecretBox(masters: durable.writer.masterKeys)
        let rotation = KeyRotation(durable: durable, secrets: secrets, dataDirectory: o.dataDirectory, logger: logger)
        await rotation.installReseal()
        try await rotation.resumeIfInterrupted()
        if let token = try await AdminBootstrap.ensure(engine, logger: logger) {
            FileHandle.standardOutput.write(Data("""
            First admin token (shown once, only its hash is kept; set COMMHUB_ADMIN_TOKEN to choose your own):
              \(token)

            """.utf8))
        }
        let dataDirectory = o.dataDirectory
        let console = AdminConsole(engine: engine, simulatedClock: simulated, snapshot: {
            let info = try await durable.snapshot()
            return .object(["id": .number(Double(info.id)), "start_seq": .number(Double(info.startSeq)),
                            "end_seq": .number(Double(info.endSeq)), "records": .number(Double(info.recordCount)),
                            "bytes": .number(Double(info.byteCount))])
        }, export: { target in
            try await Backup.export(durable, dataDirectory: dataDirectory, to: target)
        }, journal: durable.writer, keys: { words in
            guard let first = words.first else { return rotation.status }
            guard first.lowercased() == "rotate" else { throw EngineError.invalid("try 'keys' or 'keys rotate [NEW_KEY_FILE]'") }
            return try await rotation.rotate(newKeyFile: words.dropFirst().first, via: "admin_socket")
        })
        let admin = AdminSocketService(path: o.adminSocketPath, console: console, logger: logger)
        let snapshots = SnapshotScheduler(durable: durable, interval: o.snapshotInterval,
                                          everyEvents: o.snapshotEveryEvents, logger: logger)
        let adminPath = o.adminSocketPath
        // The embedded gateway speaks the same protocol as a separate one, over
        // the Unix socket, with a credential that exists only in this process.
        let embeddedSecret = o.embeddedGateway ? TokenSecret.generate() : nil
        let gateway = embeddedSecret.map {
            Gateway(endpoint: .unix(path: o.ingestSocketPath), token: $0, name: "embedded", logger: logger)
        }
        let http = buildHTTPApplication(engine: engine, durable: durable, secrets: secrets, options: o.http,
                                        logger: logger, webhooks: gateway?.webhooks) { port in
            let line = "CommHub serving \(o.http.tls == nil ? "http" : "https")://\(o.http.host):\(port)  admin socket \(adminPath)  data \(o.dataDirectory)\n"
            FileHandle.standardOutput.write(Data(line.utf8))
            await o.onReady?(port)
        }
        var ingest: [any Service] = [IngestListener(engine: engine, secrets: secrets, endpoint: .unix(path: o.ingestSocketPath),
                                                    limits: o.ingestLimits, logger: logger, embeddedGatewaySecret: embeddedSecret)]
        if let port = o.ingestPort {
            ingest.append(IngestListener(engine: engine, secrets: secrets, endpoint: .tcp(host: o.ingestHost, port: port),
                                         limits: o.ingestLimits, logger: logger, tls: o.tls) { bound in
                FileHandle.standardOutput.write(Data("CommHub ingest \(bound)\(o.tls == nil ? "" : " (TLS required)")\n".utf8))
            })
        }
        let leases = OutboxLeaseWatch(engine: engine, logger: logger)
        let retention = RetentionSchedule(engine: engine, logger: logger)
        let push = PushNotifier(engine: engine, secrets: secrets, options: o.http.web, logger: logger)
        let reload: [any Service] = o.tls.map { [TLSReloadOnHangup(certificates: [$0], logger: logger)] } ?? []
        let workflow: [any Service] = o.workflowTimers ? [WorkflowTimerService(engine: engine, logger: logger)] : []
        let gateways: [any Service] = gateway.map { [GatewayService(gateway: $0)] } ?? []
        // Services stop in reverse order: HTTP, the gateway and ingest first, the snapshots last.
        let group = ServiceGroup(configuration: .init(
            services: ([snapshots, admin, leases, retention, push] + reload + workflow + ingest + gateways + [http]).map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            logger.error("service failed", metadata: ["error": "\(error)"])
            await durable.shutdown()
            throw error
        }
        await durable.shutdown()
        logger.info("stopped cleanly")
    }
}

/// swift-metrics may be bootstrapped once per process.
enum MetricsBootstrap {
    private static let done = Mutex(false)
    static func once(_ registry: PrometheusCollectorRegistry) {
        let first = done.withLock { d -> Bool in defer { d = true }; return !d }
        if first { MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry)) }
    }
}

/// Takes snapshots periodically (time and journal-size triggers).
struct SnapshotScheduler: Service {
    let durable: DurableEngine
    let interval: Duration
    let everyEvents: UInt64
    let logger: Logger

    func run() async throws {
        // Cancelled (sleep throws) as soon as graceful shutdown begins.
        try? await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        var lastSeq = durable.writer.lastAssignedSeq
        var lastAt = ContinuousClock.now
        let tick = min(interval, .seconds(1))
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: tick)
            } catch {
                return
            }
            let seq = durable.writer.lastAssignedSeq
            let due = (seq > lastSeq && ContinuousClock.now - lastAt >= interval) || seq - lastSeq >= everyEvents
            guard due else { continue }
            do {
                try await durable.snapshot()
                lastSeq = seq
                lastAt = ContinuousClock.now
            } catch {
                logger.error("periodic snapshot failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Turns outbox claims whose lease ran out into `unknown` (see
/// `Supervisor.expireLeases`), once a second on the engine's clock (a
/// simulated clock's `clock advance` takes effect at the next tick).
public struct OutboxLeaseWatch: Service {
    let engine: Engine
    let logger: Logger
    public static let tick: Duration = .seconds(1)

    public init(engine: Engine, logger: Logger) {
        self.engine = engine
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: Self.tick) } catch { return }
                let expired = await engine.supervisor.expireLeases()
                if expired > 0 { logger.notice("outbox leases expired", metadata: ["outbox.unknown": "\(expired)"]) }
            }
        }
    }
}
