import ArgumentParser
import CommHubDomain
import CommHubEngine
import CommHubServer
import CommHubStore
import Foundation
import Logging

/// `commhub journal check|repair`: inspect and, explicitly, repair a damaged
/// journal of a stopped engine (see `JournalMaintenance`).
struct JournalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Check the journal for damage, or repair it (on a stopped engine).",
        subcommands: [Check.self, Repair.self])

    static var logger: Logger {
        var l = Logger(label: "commhub.journal")
        l.logLevel = .warning
        return l
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate every journal record (key, version, length, checksum, density) and list the damage.",
            discussion: "Exit status 0: no damage; 3: damage found. Read-only. On a running engine use `commhub admin journal check`.")
        @OptionGroup var dataOptions: DataOptions
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() async throws {
            let writer = try JournalMaintenance.open(dataDirectory: dataOptions.data, logger: JournalCommand.logger)
            defer { writer.close() }
            let report = try JournalMaintenance.report(writer)
            print(json ? AdminConsole.encode(report.json) : report.text)
            if !report.check.isClean { throw ExitCode(3) }
        }
    }

    struct Repair: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show, and with --confirm perform, the repair of a damaged journal.",
            discussion: """
            A damaged record becomes a void record under the same sequence number (its event is lost; numbers \
            are never handed out again), missing records become void records, malformed keys are deleted. \
            Without --confirm nothing changes. The repair is recorded in the store and in the audit trail.
            """)
        @OptionGroup var dataOptions: DataOptions
        @Flag(help: "Perform the repair shown (without it, a dry run).") var confirm = false

        func run() async throws {
            let writer = try JournalMaintenance.open(dataDirectory: dataOptions.data, logger: JournalCommand.logger)
            defer { writer.close() }
            let report = try JournalMaintenance.report(writer)
            print(report.text)
            guard !report.check.isClean else {
                print("nothing to repair")
                return
            }
            let who = ProcessInfo.processInfo.environment["USER"] ?? "uid \(getuid())"
            let repair = try await JournalMaintenance.repair(writer, confirm: confirm, operator: who)
            print("\(repair.applied ? "repaired" : "would repair") (\(repair.lostEvents) event(s) lost):")
            for a in repair.actions { print("  - \(a)") }
            if !repair.applied { print("dry run: nothing changed; run again with --confirm to repair") }
        }
    }
}
