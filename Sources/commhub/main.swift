import ArgumentParser
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
        subcommands: [Serve.self, Admin.self],
        defaultSubcommand: Serve.self)
}

struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory (journal, snapshots, admin socket). Env: COMMHUB_DATA.")
    var data: String = ProcessInfo.processInfo.environment["COMMHUB_DATA"] ?? "commhub-data"
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore the engine from its data directory and serve HTTP and the admin socket.")

    @OptionGroup var dataOptions: DataOptions
    @Option(help: "HTTP address to listen on.") var httpHost = "127.0.0.1"
    @Option(help: "HTTP port (0 picks a free one).") var httpPort = 8080
    @Option(help: "Admin socket path (default: <data>/admin.sock).") var adminSocket: String?
    @Flag(help: "Fill a new engine with the demo company (default when the data directory is new).") var demo = false
    @Flag(help: "Never seed the demo company.") var noDemo = false
    @Flag(help: "Run on a clock that only moves with 'clock advance' on the admin socket.") var simulatedClock = false
    @Option(help: "Seconds between periodic snapshots (when something changed).") var snapshotInterval = 300
    @Option(help: "Also snapshot after this many journaled events.") var snapshotEvents: UInt64 = 1_000_000
    @Option(help: "Snapshots to keep.") var keepSnapshots = 3
    @Option(help: "Journal sync: full (fsync every group commit), nometasync, nosync (benchmarks only).")
    var sync = "full"
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"

    func run() async throws {
        var logger = Logger(label: "commhub")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var o = ServeOptions(dataDirectory: dataOptions.data)
        o.http.host = httpHost
        o.http.port = httpPort
        o.adminSocket = adminSocket
        o.demo = demo ? true : (noDemo ? false : nil)
        o.simulatedClock = simulatedClock
        o.snapshotInterval = .seconds(max(1, snapshotInterval))
        o.snapshotEveryEvents = max(1, snapshotEvents)
        o.keepSnapshots = max(1, keepSnapshots)
        switch sync {
        case "full": o.syncMode = .full
        case "nometasync": o.syncMode = .noMetaSync
        case "nosync": o.syncMode = .noSync
        default: throw ValidationError("--sync must be full, nometasync or nosync")
        }
        try await CommHubServe.run(o, logger: logger)
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
