import Foundation
import Testing

/// The `commhub` command line as a user types it: the real binary.
@Suite("Command line") struct CommandLineTests {
    /// Runs `commhub args…`; returns its exit status (nil when still running at `seconds`, then it is killed) and output.
    static func run(_ args: [String], seconds: Double = 30, stopWhen marker: String? = nil) async throws -> (status: Int32?, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        process.arguments = args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let box = OutputBox()
        pipe.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            if !d.isEmpty { box.append(String(decoding: d, as: UTF8.self)) }
        }
        try process.run()
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while process.isRunning, ContinuousClock.now < deadline {
            if let marker, box.text.contains(marker) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard !process.isRunning else {
            // Still serving: give it a moment to print anything else, then stop it.
            try await Task.sleep(for: .milliseconds(300))
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            return (nil, box.text)
        }
        process.waitUntilExit()
        try await Task.sleep(for: .milliseconds(50))
        return (process.terminationStatus, box.text)
    }

    @Test(arguments: [["--ingest-port", "off"], ["--ingest-port", "-1"], ["--ingest-port=-1"]])
    func ingestPortOffServesWithoutTCPIngest(_ ingest: [String]) async throws {
        let data = NSTemporaryDirectory() + "commhub-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: data) }
        let r = try await Self.run(["serve", "--data", data, "--http-port", "0", "--no-demo", "--log-level", "warning"] + ingest,
                                   stopWhen: "CommHub serving http://")
        #expect(r.status == nil, "it serves: \(r.output)")
        #expect(r.output.contains("CommHub serving http://"), "\(r.output)")
        #expect(!r.output.contains("CommHub ingest tcp://"), "no TCP ingest listener: \(r.output)")
    }

    /// Backup's refusals (their own error type since the load tester moved out) reach the user as sentences.
    @Test func restoreAndExportRefuseWrongDirectoriesSayingWhatToGive() async throws {
        let root = NSTemporaryDirectory() + "commhub-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/not-an-export", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/full", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/full/file"))
        let restore = try await Self.run(["restore", "--from", root + "/not-an-export", "--data", root + "/standby"])
        #expect(restore.status != nil && restore.status != 0, "\(restore.output)")
        #expect(restore.output.contains("is not an export (no lmdb/data.mdb): give the directory `commhub snapshot export` wrote"),
                "\(restore.output)")
        #expect(!FileManager.default.fileExists(atPath: root + "/standby"), "a refused restore creates nothing")
        let export = try await Self.run(["snapshot", "export", "--data", root + "/no-engine", root + "/full"])
        #expect(export.status != nil && export.status != 0, "\(export.output)")
        #expect(export.output.contains("is not empty: give a new or empty directory"), "\(export.output)")
    }

    @Test func outOfRangeOptionsAreRefusedSayingTheRange() async throws {
        let cases: [([String], String)] = [
            (["serve", "--ingest-port", "70000"], "--ingest-port must be off or a port from 0 to 65535"),
            (["serve", "--ingest-port", "-2"], "--ingest-port must be off or a port from 0 to 65535"),
            (["serve", "--http-port", "65536"], "--http-port must be from 0 to 65535"),
            (["serve", "--keep-snapshots", "0"], "--keep-snapshots must be from 1 to 100"),
            (["serve", "--snapshot-interval", "0"], "--snapshot-interval must be from 1 to 604800 seconds"),
            (["serve", "--snapshot-events", "0"], "--snapshot-events must be from 1 to"),
            (["serve", "--http-idle-timeout", "nan"], "--http-idle-timeout must be a number from 1.0 to 86400.0"),
            (["serve", "--http-max-header-bytes", "10"], "--http-max-header-bytes must be from 1024 to 1048576"),
            (["serve", "--log-level", "loud"], "--log-level must be"),
            (["serve", "--recent-messages-per-resolved-thread", "2000000"], "--recent-messages-per-resolved-thread must be from 0 to 1000000"),
            (["loadtest", "--connections", "100000"], "--connections must be from 1 to 256"),
            (["loadtest", "--duration", "inf"], "--duration must be a number"),
            (["loadtest", "--rate", "0"], "--rate must be a number"),
            (["loadtest", "--batch", "1001"], "--batch must be from 1 to 1000"),
            (["loadtest", "--target", "tcp://127.0.0.1:99999"], "port 1 to 65535"),
        ]
        for (args, message) in cases {
            let r = try await Self.run(args, seconds: 20)
            #expect(r.status != nil && r.status != 0, "\(args) must exit with an error: \(r.output)")
            #expect(r.output.contains(message), "\(args): \(r.output)")
        }
    }
}
