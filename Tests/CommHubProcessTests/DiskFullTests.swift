import CommHubDomain
import CommHubServer
import Foundation
import Testing

/// A real full disk: the data directory on a small tmpfs, filled by another
/// file. Needs `mount` (root, as in this project's CI); skipped elsewhere.
@Suite struct DiskFullTests {
    /// Whether this machine lets the test mount a tmpfs.
    static let canMount: Bool = {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("commhub-mount-probe-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard (try? shell("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe])) == 0 else { return false }
        _ = try? shell("/bin/umount", [probe])
        return true
    }()

    @discardableResult
    static func shell(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Writes zeros into `path` until the file system is full.
    static func fill(_ path: String) {
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let h = FileHandle(forWritingAtPath: path) else { return }
        let chunk = Data(count: 64 << 10)
        while (try? h.write(contentsOf: chunk)) != nil {}
        try? h.close()
    }

    static func message(_ id: String, _ channel: Channel, size: Int) throws -> [UInt8] {
        var event = CrashTests.event(id, conversation: 1, channels: [channel])
        if case .object(var o) = event {
            o["message_content"] = .string(String(repeating: "vol ", count: size / 4))
            event = .object(o)
        }
        return Array(try ContractJSON.encoder().encode(JSONValue.object(["events": .array([event])])))
    }

    @Test(.enabled(if: DiskFullTests.canMount))
    func aFullDiskRefusesNewWritesHoldsTheAcceptedOneAndRecoversByItself() async throws {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("commhub-full-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(try Self.shell("/bin/mount", ["-t", "tmpfs", "-o", "size=24m", "tmpfs", mountPoint]) == 0)
        defer {
            _ = try? Self.shell("/bin/umount", ["-l", mountPoint])
            try? FileManager.default.removeItem(atPath: mountPoint)
        }
        let data = mountPoint + "/data"
        let filler = mountPoint + "/filler"
        let token = CrashTests.token
        let server = try ServerProcess(data: data, token: token)
        try await server.waitReady()
        let http = HTTPTestClient(port: server.httpPort)
        let channel = try await CrashTests.createChannels(http)[2]
        #expect(try await http.request("POST", "/api/ingest", token: token, body: Self.message("before", channel, size: 1000)).status == 200)

        Self.fill(filler)
        // A large message needs new pages: its commit fails, and it waits (applied, not acknowledged).
        let accepted = Task {
            try await HTTPTestClient(port: server.httpPort).request("POST", "/api/ingest", token: token,
                                                             body: try Self.message("during", channel, size: 600_000))
        }
        var health = try await http.request("GET", "/healthz")
        let deadline = ContinuousClock.now + .seconds(8)
        while health.status == 200, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            health = try await http.request("GET", "/healthz")
        }
        #expect(health.status == 503 && health.text.contains("\"degraded\""), "\(health.text)")
        // New writes are refused at once, with nothing applied.
        let refused = try await http.request("POST", "/api/ingest", token: token, body: Self.message("refused", channel, size: 1000))
        #expect(refused.text.contains("unavailable"), "\(refused.status) \(refused.text)")

        // Space comes back: the waiting commit goes through by itself and its caller gets 200.
        try FileManager.default.removeItem(atPath: filler)
        let answer = try await accepted.value
        #expect(answer.status == 200, "\(answer.text)")
        health = try await http.request("GET", "/healthz")
        #expect(health.status == 200, "\(health.text)")
        #expect(try await http.request("POST", "/api/ingest", token: token, body: Self.message("after", channel, size: 1000)).status == 200)

        // Across kill -9: everything acknowledged is there, the refused one is not.
        server.kill9()
        let again = try ServerProcess(data: data, token: token)
        try await again.waitReady()
        let client = HTTPTestClient(port: again.httpPort)
        let retry = { (id: String) async throws -> String in
            let r = try await client.request("POST", "/api/ingest", token: token, body: Self.message(id, channel, size: 1000))
            return (try? JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
                .flatMap { ($0["results"] as? [[String: Any]])?.first?["status"] as? String } ?? r.text
        }
        #expect(try await retry("before") == "duplicate")
        #expect(try await retry("during") == "duplicate")
        #expect(try await retry("after") == "duplicate")
        #expect(try await retry("refused") == "created", "the refused message was never applied")
        #expect(again.terminate() == 0)
    }
}
