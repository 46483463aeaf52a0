import CommHubServer
import Foundation
import Synchronization

/// A real `commhub serve` child process, for crash and shutdown tests.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let data: String
    private let output = OutputBox()
    private(set) var httpPort = 0
    private(set) var ingestPort = 0

    static var binary: String {
        if let b = ProcessInfo.processInfo.environment["COMMHUB_BIN"] { return b }
        // Tests/CommHubProcessTests/ServerProcess.swift → package root
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/commhub").path
    }

    /// `workflowTimers`: off by default, so that tests reading state that
    /// was written days ago see it as it was written (the SLA ladder of an
    /// old thread would fire at start); the workflow tests turn them on.
    init(data: String, token: String, demo: Bool = false, workflowTimers: Bool = false, extra: [String] = [],
         environment: [String: String] = [:]) throws {
        self.data = data
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--data", data, "--http-port", "0", "--ingest-port", "0", demo ? "--demo" : "--no-demo",
                             "--log-level", "warning"] + (workflowTimers ? [] : ["--no-workflow-timers"]) + extra
        var env = ProcessInfo.processInfo.environment
        env["COMMHUB_ADMIN_TOKEN"] = token
        env.merge(environment) { _, new in new }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let box = output
        pipe.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            if !d.isEmpty { box.append(String(decoding: d, as: UTF8.self)) }
        }
        try process.run()
    }

    var log: String { output.text }

    /// A test that fails early must not leave a server behind.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Waits until HTTP and ingest listen (their lines on stdout).
    func waitReady(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = log
            if let h = Self.port(after: "CommHub serving http://127.0.0.1:", in: text)
                ?? Self.port(after: "CommHub serving https://127.0.0.1:", in: text),
               let i = Self.port(after: "CommHub ingest tcp://127.0.0.1:", in: text) {
                httpPort = h
                ingestPort = i
                return
            }
            if !process.isRunning { throw ProcessFailure("server exited early:\n\(text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ProcessFailure("server not ready in time:\n\(log)")
    }

    static func port(after marker: String, in text: String) -> Int? {
        guard let r = text.range(of: marker) else { return nil }
        return Int(text[r.upperBound...].prefix { $0.isNumber })
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Collects a child's output from the pipe's handler thread.
final class OutputBox: Sendable {
    private let state = Mutex("")
    func append(_ s: String) { state.withLock { $0 += s } }
    var text: String { state.withLock { $0 } }
}
