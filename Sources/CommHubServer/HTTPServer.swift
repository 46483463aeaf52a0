import CommHubDomain
import CommHubEngine
import CommHubGateway
import CommHubStore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import Prometheus

/// HTTP settings of `serve`.
public struct HTTPOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Requests per second per token (sustained) and burst.
    public var tokenRate: Double = 200
    public var tokenBurst: Double = 400
    /// Requests per second per client address (before authentication) and burst.
    public var addressRate: Double = 400
    public var addressBurst: Double = 800
    /// Seconds a connection may go without progress before it is closed:
    /// between requests, and while a request (its body) is being read.
    public var idleTimeoutSeconds: Double = 60
    /// Seconds the first request head of a connection may take to arrive;
    /// then 408 and close (slow or silent clients).
    public var requestHeadTimeoutSeconds: Double = 30
    /// Connections open at once (WebSocket subscribers included); beyond it
    /// the server stops accepting until one closes (clients wait in the
    /// kernel's accept queue).
    public var maxConnections = 10_000
    /// Largest request head (each header field, and all of them together), in bytes; larger gets 431 and close.
    public var maxHeaderBytes = 16 * 1024
    /// Most header fields in one request; more gets 400 and close.
    public var maxHeaderFields = 100
    /// Where `/metrics` reads from. `serve` bootstraps swift-metrics with a
    /// Prometheus factory on this registry, so HTTP metrics (by route
    /// template) appear beside the engine's; tests leave the default.
    public var metricsRegistry = PrometheusCollectorRegistry()
    /// The web app at `/` and its sign-in.
    public var web = WebAppOptions()
    /// Serve HTTPS with this certificate chain and key (`--tls-cert`, `--tls-key`); nil: plain HTTP
    /// (on loopback, or behind a reverse proxy that terminates TLS).
    public var tls: TLSConfiguration?
    /// The `/api/events` fan-out and its bound on a slow subscriber.
    public var events = EventStreamOptions()
    public init() {}

    /// Problems with these settings (ports, rates, timeouts, sizes), for the command line to report.
    public var problems: [String] {
        var out: [String] = []
        if !(0...65_535).contains(port) { out.append("the HTTP port must be 0 to 65535") }
        for (name, v) in [("token rate", tokenRate), ("token burst", tokenBurst), ("address rate", addressRate),
                          ("address burst", addressBurst)] where !(v.isFinite && v > 0 && v <= 1e9) {
            out.append("the \(name) must be more than 0 and at most 1e9")
        }
        if !(1...1_000_000).contains(maxConnections) { out.append("the HTTP connection limit must be 1 to 1000000") }
        for (name, v) in [("idle timeout", idleTimeoutSeconds), ("request head timeout", requestHeadTimeoutSeconds)]
            where !(v.isFinite && v > 0 && v <= 86_400) {
            out.append("the HTTP \(name) must be more than 0 and at most 86400 seconds")
        }
        if !(1_024...(1 << 20)).contains(maxHeaderBytes) { out.append("the HTTP header limit must be 1024 to 1048576 bytes") }
        if !(1...10_000).contains(maxHeaderFields) { out.append("the HTTP header field count must be 1 to 10000") }
        return out + web.problems + events.problems
    }

    /// Any free port on loopback and rate limits no test or load test trips
    /// (traffic generators that must measure the engine, not the limiter).
    public static var unlimited: HTTPOptions {
        var o = HTTPOptions()
        o.port = 0
        o.tokenRate = 1e9
        o.tokenBurst = 1e9
        o.addressRate = 1e9
        o.addressBurst = 1e9
        o.maxConnections = 1_000_000
        o.web.passwordHashCost = 4
        o.web.allowLoopbackPushEndpoints = true
        return o
    }
}

/// Builds the HTTP application: `/healthz`, `/metrics`, the `/api` of
/// API.md behind bearer tokens and rate limits, and the `/api/events`
/// WebSocket.
///
/// `webhooks`: the provider webhooks of the gateway `serve` runs inside
/// itself, served on the same port; nil with `--no-gateway` (separate
/// `commhub gateway` processes serve them).
public func buildHTTPApplication(engine: Engine, durable: DurableEngine?, secrets: SecretBox, options: HTTPOptions,
                                 logger: Logger, webhooks: WebhookRoutes? = nil,
                                 onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
    -> some ApplicationProtocol {
    precondition(options.problems.isEmpty, "invalid HTTP options: \(options.problems.joined(separator: "; "))")
    let routers = buildRouters(engine: engine, durable: durable, secrets: secrets, options: options, logger: logger,
                               webhooks: webhooks)
    let plain = HTTPServerBuilder.guardedHTTP1WebSocketUpgrade(webSocketRouter: routers.events, options: options)
    // `serve` checked the certificate and key by building a TLS context before it got here (`TLSFiles`).
    let server = options.tls.map { try! HTTPServerBuilder.tls(plain, tlsConfiguration: $0) } ?? plain
    return Application(
        router: routers.http,
        server: server,
        configuration: .init(address: .hostname(options.host, port: options.port), serverName: "CommHub",
                             availableConnectionsDelegate: MaximumAvailableConnections(options.maxConnections, logger: logger)),
        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? options.port) },
        logger: logger)
}

/// Every route the server answers: the HTTP router and the WebSocket
/// router of `/api/events`. Separate from the application so that the
/// contract test can list the registered routes (`Router.routes`) and
/// compare them with the OpenAPI document.
func buildRouters(engine: Engine, durable: DurableEngine?, secrets: SecretBox, options: HTTPOptions, logger: Logger,
                  webhooks: WebhookRoutes? = nil) -> (http: Router<APIContext>, events: Router<EventsContext>) {
    let router = Router(context: APIContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ErrorMiddleware())
    let metrics = EngineMetrics(engine: engine, journal: durable?.writer, registry: options.metricsRegistry)

    router.get("/healthz") { _, _ -> Response in
        // 200 while the journal takes writes; 503 with the reason while it is
        // degraded (a commit is being retried: disk full, I/O error) or stopped.
        var fields: [String: JSONValue] = [
            "status": .string("ok"),
            "last_seq": .number(Double(engine.journal.lastAssignedSeq)),
            "threads": .number(Double(engine.inbox.count)),
        ]
        var status = HTTPResponse.Status.ok
        if let writer = durable?.writer {
            switch writer.health {
            case .ok:
                fields["journal"] = .object(["state": .string("ok"), "durable_seq": .number(Double(writer.durableSeq))])
            case .degraded(let error, let since):
                status = .serviceUnavailable
                fields["status"] = .string("degraded")
                fields["journal"] = .object(["state": .string("degraded"), "since": .string(since.iso8601),
                                             "error": .string(error.description),
                                             "durable_seq": .number(Double(writer.durableSeq)),
                                             "message": .string("writes are refused until the journal can commit again; it retries by itself")])
            case .stopped(let error):
                status = .serviceUnavailable
                fields["status"] = .string("failed")
                fields["journal"] = .object(["state": .string("stopped"), "error": .string(error.description),
                                             "message": .string("restart CommHub; it restores from the journal")])
            }
        }
        if let link = webhooks?.link {
            fields["gateway"] = .object(["embedded": .bool(true), "connected": .bool(await link.isConnected)])
        }
        if let r = durable?.restoreReport {
            fields["restore"] = .object([
                "snapshot_id": r.snapshotID.map { .number(Double($0)) } ?? .null,
                "replayed_events": .number(Double(r.replayedEvents)),
                "void_records": .number(Double(r.voidRecords)),
                "milliseconds": .number(Double(r.milliseconds)),
            ])
        }
        return try JSONResponse.make(JSONValue.object(fields), status: status)
    }
    router.get("/metrics") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                 body: .init(byteBuffer: ByteBuffer(bytes: await metrics.render())))
    }

    let api = CommHubAPI(engine: engine, secrets: secrets, logger: logger)
    let limits = RateLimitMiddleware(perToken: RateLimiter(ratePerSecond: options.tokenRate, burst: options.tokenBurst),
                                     perAddress: RateLimiter(ratePerSecond: options.addressRate, burst: options.addressBurst))
    let group = router.group("api")
        .add(middleware: limits)  // per address (no identity yet)
        .add(middleware: AuthMiddleware(tokens: engine.authentication, clock: engine.clock))
        .add(middleware: limits)  // per token
    api.register(on: group)
    webhooks?.register(on: router.group("webhooks").add(middleware: limits))  // provider-signed, no bearer token
    // The web app: the page at `/` and its files, sign-in under /auth (no token yet: the address limit), its /api routes.
    WebApp(api: api, options: options.web, logger: logger)
        .register(router: router, auth: router.group("auth").add(middleware: limits), apiGroup: group)
    OpenAPIContract.register(on: router.group().add(middleware: limits))  // the contract, readable without a token

    let wsRouter = Router(context: EventsContext.self)
    EventStream(engine: engine, journal: durable?.writer, logger: logger, options: options.events).register(on: wsRouter)
    return (router, wsRouter)
}

/// `/metrics` in Prometheus text format: engine and journal figures read at scrape time.
final class EngineMetrics: Sendable {
    let engine: Engine
    let journal: JournalWriter?
    let registry: PrometheusCollectorRegistry
    let threads: Gauge
    let committed: Gauge
    let lastSeq: Gauge
    let subscribers: Gauge
    let rss: Gauge
    let batches: Gauge
    let avgBatch: Gauge
    let byStatus: [ThreadStatus: Gauge]

    init(engine: Engine, journal: JournalWriter?, registry: PrometheusCollectorRegistry) {
        self.engine = engine
        self.journal = journal
        self.registry = registry
        threads = registry.makeGauge(name: "commhub_threads", help: "Threads in the engine")
        committed = registry.makeGauge(name: "commhub_events_committed", help: "Events committed since start")
        lastSeq = registry.makeGauge(name: "commhub_journal_last_seq", help: "Last journal sequence number")
        subscribers = registry.makeGauge(name: "commhub_event_subscribers", help: "Event bus subscribers")
        rss = registry.makeGauge(name: "commhub_resident_memory_bytes", help: "Resident memory of the process")
        batches = registry.makeGauge(name: "commhub_journal_batches_committed", help: "Group commits since start")
        avgBatch = registry.makeGauge(name: "commhub_journal_average_batch_events", help: "Events per group commit")
        var s: [ThreadStatus: Gauge] = [:]
        for st in ThreadStatus.allCases {
            s[st] = registry.makeGauge(name: "commhub_threads_by_status", labels: [("status", st.rawValue)],
                                       help: "Threads by status")
        }
        byStatus = s
    }

    func render() async -> [UInt8] {
        threads.set(Double(engine.inbox.count))
        committed.set(Double(engine.committedEvents))
        lastSeq.set(Double(engine.journal.lastAssignedSeq))
        subscribers.set(Double(engine.bus.subscriberCount))
        rss.set(Double(ProcessMemory.residentBytes()))
        if let stats = journal?.stats {
            batches.set(Double(stats.batchesCommitted))
            avgBatch.set(stats.averageBatchSize)
        }
        let counts = engine.inbox.countsByStatus()
        for (st, g) in byStatus { g.set(Double(counts[st] ?? 0)) }
        return registry.emitToBuffer()
    }
}
