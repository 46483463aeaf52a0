import ArgumentParser
import CommHubDomain
import CommHubEngine
import CommHubFixtures
import CommHubGateway
import CommHubLoadTest
import CommHubServer
import CommHubStore
import Foundation
import Logging

/// The `commhub` command: serve the engine, talk to a running one, manage snapshots.
@main
struct CommHub: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commhub",
        abstract: "CommHub: one live inbox for every customer and partner conversation.",
        subcommands: [Serve.self, Admin.self, LoadTestCommand.self, SnapshotCommand.self, Restore.self, JournalCommand.self, GatewayCommand.self, KeysCommand.self],
        defaultSubcommand: Serve.self)
}

struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory (journal, snapshots, admin socket). Env: COMMHUB_DATA.")
    var data: String = ProcessInfo.processInfo.environment["COMMHUB_DATA"] ?? "commhub-data"
}

/// `--ingest-port`: a TCP port or `off`. Decided contract: `off` turns the
/// TCP listener off (the Unix socket stays); `-1` is accepted as `off`
/// because earlier help texts offered it; anything else must be 0…65535
/// (0 picks a free port).
enum IngestPortSetting: Equatable, CustomStringConvertible {
    case off
    case port(Int)

    init(_ argument: String) throws {
        switch argument.lowercased() {
        case "off", "none", "-1":
            self = .off
        default:
            guard let n = Int(argument), (0...65_535).contains(n) else {
                throw ValidationError("--ingest-port must be off or a port from 0 to 65535 (0 picks a free one); got '\(argument)'")
            }
            self = .port(n)
        }
    }

    var description: String {
        switch self {
        case .off: "off"
        case .port(let p): String(p)
        }
    }
}

/// A range check for a command-line number, with a message that says the range.
func checkOption<T: Comparable>(_ value: T, _ range: ClosedRange<T>, _ name: String, unit: String = "") throws {
    guard range.contains(value) else {
        throw ValidationError("\(name) must be from \(range.lowerBound) to \(range.upperBound)\(unit.isEmpty ? "" : " " + unit); got \(value)")
    }
}

/// Like `checkOption`, for seconds and rates given as decimals: finite and in range.
func checkOption(_ value: Double, _ range: ClosedRange<Double>, _ name: String, unit: String = "") throws {
    guard value.isFinite, range.contains(value) else {
        throw ValidationError("\(name) must be a number from \(range.lowerBound) to \(range.upperBound)\(unit.isEmpty ? "" : " " + unit); got \(value)")
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore the engine from its data directory and serve HTTP and the admin socket.")

    @OptionGroup var dataOptions: DataOptions
    @Option(help: "HTTP address to listen on.") var httpHost = "127.0.0.1"
    @Option(help: "HTTP port, 0 to 65535 (0 picks a free one).") var httpPort = 8080
    @Option(help: "Admin socket path (default: <data>/admin.sock).") var adminSocket: String?
    @Option(parsing: .unconditional,
            help: "TCP port of the gateway ingest protocol: 0 to 65535 (0 picks a free one), or off (-1 also means off). The Unix socket is always served.",
            transform: { try IngestPortSetting($0) })
    var ingestPort: IngestPortSetting = .port(7070)
    @Option(help: "Unix socket of the gateway ingest protocol (default: <data>/ingest.sock).") var ingestSocket: String?
    @Option(help: "Address of the TCP ingest port. Other than loopback it needs --tls-cert/--tls-key (the port then requires TLS), or --ingest-plaintext.")
    var ingestHost = "127.0.0.1"
    @Flag(help: "Allow a plain-TCP ingest port on a non-loopback --ingest-host (only inside a private network or behind a TLS-terminating proxy).")
    var ingestPlaintext = false
    @Flag(help: "Fill an empty engine with the demo company (a new data directory starts empty otherwise).") var demo = false
    @Flag(help: "Do not seed the demo company (the default; kept for scripts that pass it).") var noDemo = false
    @Flag(help: "Run no gateway inside this process: separate `commhub gateway` processes serve webhooks and deliver.")
    var noGateway = false
    @Flag(help: "Run on a clock that only moves with 'clock advance' on the admin socket.") var simulatedClock = false
    @Flag(help: "Run the workflow timers (SLA ladder, follow-up tasks, task reminders, digests) only when asked: 'timers' or 'clock advance' on the admin socket.")
    var noWorkflowTimers = false
    @Option(help: "With --simulated-clock: the time it starts at (ISO 8601, e.g. 2026-11-27T16:00:00Z; default now).")
    var clockStart: String?
    @Option(help: "Seconds between periodic snapshots (when something changed), 1 to 604800.") var snapshotInterval = 300
    @Option(help: "Also snapshot after this many journaled events, 1 to 10000000000.") var snapshotEvents: UInt64 = 1_000_000
    @Option(help: "Snapshots to keep, 1 to 100.") var keepSnapshots = 3
    @Option(help: "Journal sync: full (fsync every group commit), nometasync, nosync (benchmarks only).")
    var sync = "full"
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @Option(help: "Seconds an HTTP connection may go without progress (idle between requests, or a stalled body) before it is closed, 1 to 86400.")
    var httpIdleTimeout: Double = 60
    @Option(help: "Seconds the first request head of an HTTP connection may take (then 408), 1 to 86400.")
    var httpRequestHeadTimeout: Double = 30
    @Option(help: "Largest HTTP request head in bytes (then 431), 1024 to 1048576.") var httpMaxHeaderBytes = 16 * 1024
    @Option(help: "HTTP connections open at once, WebSockets included (more wait to be accepted), 1 to 1000000.")
    var httpMaxConnections = 10_000
    @Option(help: "PEM certificate chain: serve HTTPS on --http-port and require TLS on the TCP ingest port (with --tls-key; both reloaded on SIGHUP). Without it, plain HTTP (loopback, or behind a TLS proxy).")
    var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert.") var tlsKey: String?
    @Option(help: "Price per message sent, in euro cents, per channel type, for the cost KPI: whatsapp_business=8,sms=7 (the default).")
    var messagePrices: String?
    @Option(help: "The web app's public address, e.g. https://commhub.chargecars.nl (Entra redirect URL, invite links; https makes cookies Secure). Default: from each request's Host.")
    var publicURL: String?
    @Option(help: "Hours a web app sign-in lasts, 1 to 8784.") var sessionHours: Double = 7 * 24
    @Option(help: "Contact URI push services may write to about Web Push problems (RFC 8292), mailto: or https:.")
    var pushContact = "mailto:webpush@chargecars.nl"
    @Option(help: "Bytes of event frames a WebSocket subscriber may leave unread in the server before it is dropped to a resync, 4096 to 1073741824.")
    var eventsMaxPendingBytes = EventStreamOptions().maxPendingFrameBytes
    @Option(name: .customLong("recent-message-ids"), help: "Recent provider message ids (and message → thread entries) kept in memory per generation, at most two generations; older ones are read from the store's message index. 16 to 16777216.")
    var recentMessageIDs = EngineConfiguration().recentMessageIDs
    @Option(help: "Message headers each thread keeps in memory (the newest); older ones are read from the store's history when a view lists them. 4 to 1000000.")
    var recentMessagesPerThread = EngineConfiguration().recentMessagesPerThread
    @Option(help: "The same for a resolved or closed thread, besides each channel's last incoming message (which every thread keeps). 0 to 1000000.")
    var recentMessagesPerResolvedThread = EngineConfiguration().recentMessagesPerResolvedThread
    // Benchmarks only: the previous per-subscriber-task fan-out, to measure both in one run (Benchmarks/fanout.sh).
    @Option(help: .hidden) var eventFanOut = EventStreamOptions.FanOut.perEventLoop.rawValue

    func validate() throws {
        try checkOption(eventsMaxPendingBytes, 4_096...(1 << 30), "--events-max-pending-bytes", unit: "bytes")
        try checkOption(recentMessageIDs, EngineConfiguration.recentMessageIDsRange, "--recent-message-ids")
        try checkOption(recentMessagesPerThread, EngineConfiguration.recentMessagesPerThreadRange, "--recent-messages-per-thread")
        try checkOption(recentMessagesPerResolvedThread, EngineConfiguration.recentMessagesPerResolvedThreadRange,
                        "--recent-messages-per-resolved-thread")
        guard EventStreamOptions.FanOut(rawValue: eventFanOut) != nil else {
            throw ValidationError("--event-fan-out must be per-event-loop or per-subscriber-task")
        }
        if let messagePrices { _ = try Self.prices(messagePrices) }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        try checkOption(httpPort, 0...65_535, "--http-port")
        guard !ingestHost.isEmpty else { throw ValidationError("--ingest-host must not be empty") }
        if case .port = ingestPort, tlsCert == nil, !ingestPlaintext, !Self.isLoopback(ingestHost) {
            throw ValidationError("--ingest-host \(ingestHost) is not loopback: gateway tokens and messages would cross the network in clear. "
                + "Give --tls-cert and --tls-key (the port then requires TLS), or --ingest-plaintext inside a private network or behind a TLS proxy")
        }
        if let c = clockStart {
            guard simulatedClock else { throw ValidationError("--clock-start needs --simulated-clock") }
            guard let d = Date(iso8601: c), d.timeIntervalSince1970 > 946_684_800, d.timeIntervalSince1970 < 4_102_444_800 else {
                throw ValidationError("--clock-start must be an ISO 8601 time from 2000 to 2099, such as 2026-11-27T16:00:00Z")
            }
        }
        try checkOption(snapshotInterval, 1...604_800, "--snapshot-interval", unit: "seconds")
        try checkOption(snapshotEvents, 1...10_000_000_000, "--snapshot-events")
        try checkOption(keepSnapshots, 1...100, "--keep-snapshots")
        guard ["full", "nometasync", "nosync"].contains(sync) else { throw ValidationError("--sync must be full, nometasync or nosync") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical")
        }
        guard !httpHost.isEmpty else { throw ValidationError("--http-host must not be empty") }
        try checkOption(httpIdleTimeout, 1...86_400, "--http-idle-timeout", unit: "seconds")
        try checkOption(httpRequestHeadTimeout, 1...86_400, "--http-request-head-timeout", unit: "seconds")
        try checkOption(httpMaxConnections, 1...1_000_000, "--http-max-connections")
        try checkOption(httpMaxHeaderBytes, 1_024...(1 << 20), "--http-max-header-bytes")
        try checkOption(sessionHours, 1...8_784, "--session-hours", unit: "hours")
        var web = WebAppOptions()
        web.publicURL = publicURL
        if let problem = web.problems.first { throw ValidationError("--public-url: \(problem)") }
        guard pushContact.hasPrefix("mailto:") || pushContact.hasPrefix("https://") else {
            throw ValidationError("--push-contact must be a mailto: or https: URI")
        }
    }

    func run() async throws {
        var logger = Logger(label: "commhub")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var o = ServeOptions(dataDirectory: dataOptions.data)
        o.http.host = httpHost
        o.http.port = httpPort
        o.http.idleTimeoutSeconds = httpIdleTimeout
        o.http.requestHeadTimeoutSeconds = httpRequestHeadTimeout
        o.http.maxConnections = httpMaxConnections
        o.http.maxHeaderBytes = httpMaxHeaderBytes
        o.http.events.maxPendingFrameBytes = eventsMaxPendingBytes
        o.http.events.fanOut = EventStreamOptions.FanOut(rawValue: eventFanOut) ?? .perEventLoop
        o.http.web.publicURL = publicURL
        o.http.web.sessionLifetimeSeconds = sessionHours * 3600
        o.http.web.pushContact = pushContact
        o.adminSocket = adminSocket
        switch ingestPort {
        case .off: o.ingestPort = nil
        case .port(let p): o.ingestPort = p
        }
        o.ingestSocket = ingestSocket
        o.ingestHost = ingestHost
        if demo && !noDemo {
            o.seedDemo = {
                try await DemoCompany.seed($0)
                try await DemoSignIn.seed($0)  // every demo person signs in with DemoSignIn.password
            }
        }
        o.embeddedGateway = !noGateway
        o.simulatedClock = simulatedClock
        o.workflowTimers = !noWorkflowTimers
        o.clockStart = clockStart.flatMap(Date.init(iso8601:))
        o.snapshotInterval = .seconds(snapshotInterval)
        o.snapshotEveryEvents = snapshotEvents
        o.keepSnapshots = keepSnapshots
        if let messagePrices { o.messagePrices = try Self.prices(messagePrices) }
        o.recentMessageIDs = recentMessageIDs
        o.recentMessagesPerThread = recentMessagesPerThread
        o.recentMessagesPerResolvedThread = recentMessagesPerResolvedThread
        if let tlsCert, let tlsKey {
            do {
                let certificates = try TLSCertificates(certificate: tlsCert, key: tlsKey)
                o.tls = certificates
                o.http.tls = certificates.serverConfiguration
            } catch let e as TLSCertificates.Problem {
                throw ValidationError(e.description)
            }
        }
        switch sync {
        case "nometasync": o.syncMode = .noMetaSync
        case "nosync": o.syncMode = .noSync
        default: o.syncMode = .full
        }
        try await CommHubServe.run(o, logger: logger)
    }
}

extension Serve {
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// `type=cents,…`: every type a channel type, every price 0…10000 cents.
    static func prices(_ text: String) throws -> ChannelPrices {
        var out: [ChannelType: Double] = [:]
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let type = ChannelType(rawValue: kv[0]) else {
                throw ValidationError("--message-prices: '\(part)' is not channel_type=cents (types: \(ChannelType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let cents = Double(kv[1]), cents.isFinite, (0...10_000).contains(cents) else {
                throw ValidationError("--message-prices: the price of \(kv[0]) must be 0 to 10000 cents")
            }
            out[type] = cents
        }
        return ChannelPrices(centsPerMessage: out)
    }
}

struct Admin: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send one command to a running engine's admin socket and print the JSON answer.",
        discussion: "Examples: commhub admin stats; commhub admin rebalance team technical; commhub admin clock advance 5h. 'commhub admin help' lists all commands.")

    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Admin socket path (default: <data>/admin.sock).") var socket: String?
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments.") var command: [String] = []

    func run() throws {
        let path = socket ?? (dataOptions.data as NSString).appendingPathComponent("admin.sock")
        let line = command.isEmpty ? "help" : command.joined(separator: " ")
        let answer = try AdminClient.send(line, to: path)
        print(answer)
        if answer.hasPrefix("{\"error\"") || answer.contains("\"ok\":false") { throw ExitCode(1) }
    }
}

struct LoadTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Drive an engine through the gateway ingest protocol and HTTP; report throughput and latency.",
        discussion: """
        Without --target an engine is started in this process (real LMDB files in a temporary directory, real \
        loopback sockets). With --target tcp://HOST:PORT or unix:PATH a running `commhub serve` is driven \
        (give --token and --http-port so channels can be found and inbox queries sent).
        """)

    @Option(help: "tcp://HOST:PORT or unix:PATH of a running engine's ingest protocol; omit for an embedded engine.")
    var target: String?
    @Option(help: "Admin or gateway token of the target.") var token: String?
    @Option(help: "HTTP port of the target (channels, inbox queries).") var httpPort: Int?
    @Option(help: "HTTP host of the target.") var httpHost = "127.0.0.1"
    @Option(help: "Events per second (open loop). Omit for closed loop (as fast as acknowledged).") var rate: Double?
    @Option(help: "Connections.") var connections = 4
    @Option(help: "Frames in flight per connection.") var pipeline = 16
    @Option(help: "Events per frame.") var batch = 1
    @Option(help: "Measured seconds.") var duration: Double = 10
    @Option(help: "Warm-up seconds (not measured).") var warmup: Double = 2
    @Option(help: "Distinct conversations (Zipf popularity).") var conversations = 10_000
    @Option(help: "Inbox queries per second over HTTP (0: none).") var queryRate: Double = 20
    @Option(help: "Presence changes and team rebalances per second, alternating (0: none).") var operationsRate: Double = 2
    @Option(help: "Admin socket of the target, for rebalances against a running engine.") var adminSocket: String?
    @Option(help: "WebSocket clients of /api/events measuring ingest-to-subscriber latency (needs a person's --token against a running engine; combine with --rate).")
    var subscribers = 0
    @Option(help: "Embedded engine journal sync: full, nometasync, nosync.") var sync = "full"
    @Option(help: "Write the summary as JSON to this file.") var json: String?
    @Flag(help: "Send JSON ingest frames instead of compact binary ones.") var jsonFrames = false
    @Flag(help: "Embedded engine: keep records in the clear, only to measure what sealing costs (Benchmarks/sealing-cost.sh).")
    var plainRecords = false
    @Option(help: "Embedded engine: take a snapshot every this many seconds during the run.") var snapshotEvery: Double?
    @Flag(help: "No progress line.") var quiet = false

    func validate() throws {
        if let httpPort { try checkOption(httpPort, 1...65_535, "--http-port") }
        if let rate { try checkOption(rate, 0.1...10_000_000, "--rate", unit: "events per second") }
        // The embedded listener serves at most IngestLimits().maxConnections at once.
        try checkOption(connections, 1...IngestLimits().maxConnections, "--connections")
        try checkOption(pipeline, 1...IngestLimits().maxFramesInFlight, "--pipeline")
        try checkOption(batch, 1...IngestBatch.maxEvents, "--batch")
        try checkOption(duration, 0.1...86_400, "--duration", unit: "seconds")
        try checkOption(warmup, 0...3_600, "--warmup", unit: "seconds")
        try checkOption(conversations, 1...10_000_000, "--conversations")
        try checkOption(queryRate, 0...100_000, "--query-rate", unit: "per second")
        try checkOption(operationsRate, 0...10_000, "--operations-rate", unit: "per second")
        try checkOption(subscribers, 0...20_000, "--subscribers")
        if let snapshotEvery { try checkOption(snapshotEvery, 0.1...86_400, "--snapshot-every", unit: "seconds") }
    }

    func run() async throws {
        var o = LoadTestOptions()
        if let target {
            let http = httpPort
            if target.hasPrefix("tcp://"), let colon = target.dropFirst(6).lastIndex(of: ":"),
               let port = Int(target[target.index(after: colon)...]), (1...65_535).contains(port) {
                o.target = .remote(ingest: .tcp(host: String(target.dropFirst(6)[..<colon]), port: port), httpPort: http, httpHost: httpHost)
            } else if target.hasPrefix("unix:") {
                o.target = .remote(ingest: .unix(path: String(target.dropFirst(5))), httpPort: http, httpHost: httpHost)
            } else {
                throw ValidationError("--target must be tcp://HOST:PORT (port 1 to 65535) or unix:PATH")
            }
        } else {
            switch sync {
            case "full": o.target = .embedded(sync: .full)
            case "nometasync": o.target = .embedded(sync: .noMetaSync)
            case "nosync": o.target = .embedded(sync: .noSync)
            default: throw ValidationError("--sync must be full, nometasync or nosync")
            }
        }
        o.token = token
        o.rate = rate
        o.connections = connections
        o.pipeline = pipeline
        o.batch = batch
        o.duration = .milliseconds(Int64(duration * 1000))
        o.warmup = .milliseconds(Int64(warmup * 1000))
        o.conversations = conversations
        o.queryRate = queryRate
        o.operationsRate = operationsRate
        o.adminSocket = adminSocket
        o.subscribers = subscribers
        o.progress = !quiet
        o.jsonFrames = jsonFrames
        o.sealRecords = !plainRecords
        o.snapshotEvery = snapshotEvery.map { .milliseconds(Int64($0 * 1000)) }
        var logger = Logger(label: "commhub.loadtest")
        logger.logLevel = .warning
        let summary = try await LoadTest.run(o, logger: logger)
        let encoder = ContractJSON.encoder(pretty: true)
        let data = try encoder.encode(summary)
        print(String(decoding: data, as: UTF8.self))
        if let json { try data.write(to: URL(fileURLWithPath: json)) }
        if summary.eventsAcknowledged == 0 { throw ExitCode(2) }
    }
}

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Snapshots and hot backups.",
        subcommands: [Export.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a consistent hot copy of the data directory to DIR (the engine may keep serving).",
            discussion: "Through the admin socket when the engine runs (it snapshots, then copies with mdb_env_copy2 and compaction); otherwise directly from the files.")
        @OptionGroup var dataOptions: DataOptions
        @Argument(help: "Target directory (must not exist or be empty).") var directory: String

        func run() async throws {
            let socket = (dataOptions.data as NSString).appendingPathComponent("admin.sock")
            let target = URL(fileURLWithPath: directory).standardizedFileURL.path
            if FileManager.default.fileExists(atPath: socket), let answer = try? AdminClient.send("export \(target)", to: socket) {
                print(answer)
                if answer.contains("\"ok\":false") { throw ExitCode(1) }
                return
            }
            var logger = Logger(label: "commhub")
            logger.logLevel = .warning
            try await Backup.export(dataDirectory: dataOptions.data, to: target, logger: logger)
            print("{\"ok\":true,\"exported_to\":\"\(target)\"}")
        }
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prepare a standby data directory from an exported copy; then `commhub serve --data NEWDIR` brings it up.")
    @Option(help: "The exported copy (from `commhub snapshot export`).") var from: String
    @Option(help: "The new data directory (must not exist or be empty).") var data: String

    func run() async throws {
        var logger = Logger(label: "commhub")
        logger.logLevel = .warning
        let report = try await Backup.restore(from: from, to: data, logger: logger)
        print(report)
    }
}

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "The master key: its status, and rotation.",
        subcommands: [Status.self, Rotate.self], defaultSubcommand: Status.self)

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Where the master key comes from, whether a rotation is in progress, the KEK generations (needs a running engine).")
        @OptionGroup var dataOptions: DataOptions
        func run() async throws {
            let answer = try AdminClient.send("keys", to: (dataOptions.data as NSString).appendingPathComponent("admin.sock"))
            print(answer)
            if answer.contains("\"ok\":false") { throw ExitCode(1) }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move every data key and stored secret under a new master key.",
            discussion: """
            Through the admin socket while the engine runs (ingest and the API go on); directly on the files when it does not.
            With master.key in the data directory a new key is made (or taken from --new-key) and replaces it.
            With COMMHUB_MASTER_KEY, --new-key names the file for the new key (created when missing); set
            COMMHUB_MASTER_KEY to it after the rotation. An interrupted rotation finishes at the next start.
            """)
        @OptionGroup var dataOptions: DataOptions
        @Option(name: .customLong("new-key"), help: "File holding (or to receive) the new key, 32 bytes base64 or hex.") var newKey: String?

        func run() async throws {
            let socket = (dataOptions.data as NSString).appendingPathComponent("admin.sock")
            let file = newKey.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            if FileManager.default.fileExists(atPath: socket), let answer = try? AdminClient.send("keys rotate" + (file.map { " " + $0 } ?? ""), to: socket) {
                print(answer)
                if answer.contains("\"ok\":false") { throw ExitCode(1) }
                return
            }
            var logger = Logger(label: "commhub")
            logger.logLevel = .warning
            let data = dataOptions.data
            let durable = try DurableEngine(directory: (data as NSString).appendingPathComponent("lmdb"), clock: SystemClock(),
                                            logger: logger)
            do {
                try await durable.finishInterruptedProtectionWork()
                let rotation = KeyRotation(durable: durable, secrets: SecretBox(masters: durable.writer.masterKeys),
                                           dataDirectory: data, logger: logger)
                await rotation.installReseal()
                // A rotation already in progress keeps its staged key (the file is then not read).
                let answer = try await rotation.rotate(newKeyFile: file, via: "cli")
                var object = answer.objectValue ?? [:]
                object["ok"] = .bool(true)
                print(AdminConsole.encode(.object(object)))
            } catch {
                await durable.shutdown()
                throw error
            }
            await durable.shutdown()
        }
    }
}
