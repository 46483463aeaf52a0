import CommHubDomain
import CommHubServer
import CommHubStore
import Foundation
import Logging
import Testing

/// Damaged data directories against the real `commhub` binary: start-up
/// refuses with a message that says what and what to do, never deletes
/// anything by itself, and `commhub journal check|repair` take it from there.
@Suite struct DamageTests {
    static let token = CrashTests.token  // CrashTests.createChannels uses it

    static func tempDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("commhub-damage-\(UUID().uuidString)").path
    }

    /// Runs `commhub ARGS` to completion; returns its exit status, how it ended, and its output.
    static func run(_ arguments: [String]) throws -> (status: Int32, reason: Process.TerminationReason, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["COMMHUB_ADMIN_TOKEN"] = token
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, p.terminationReason, String(decoding: data, as: UTF8.self))
    }

    /// A served data directory with 20 acknowledged messages, then killed (no final snapshot).
    static func servedAndKilled(_ dir: String) async throws -> [String] {
        let server = try ServerProcess(data: dir, token: token)
        try await server.waitReady()
        let http = HTTPTestClient(port: server.httpPort)
        let channels = try await CrashTests.createChannels(http)
        var ids: [String] = []
        for i in 0..<20 {
            let id = "dmg-\(i)"
            let event = CrashTests.event(id, conversation: i % 4, channels: channels)
            let r = try await http.request("POST", "/api/ingest", token: token,
                                     body: Array(try ContractJSON.encoder().encode(JSONValue.object(["events": .array([event])]))))
            #expect(r.status == 200, "\(r.text)")
            ids.append(id)
        }
        server.kill9()
        return ids
    }

    static func seq(ofMessage external: String, store: String) throws -> UInt64 {
        let w = try JournalWriter(directory: store)
        defer { w.close() }
        var found: UInt64?
        try w.replay(after: 0) { e in
            if case .messageAdded(let h, _, _) = e.event, h.externalMessageID == external { found = e.seq }
        }
        return try #require(found)
    }

    @Test func serveRefusesDamageAndTheExplicitRepairIsShownFirstAndAudited() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ids = try await Self.servedAndKilled(dir)
        let store = dir + "/lmdb"
        let victim = try Self.seq(ofMessage: "dmg-7", store: store)
        do {
            let w = try JournalWriter(directory: store)
            var raw = try #require(try w.rawJournalRecord(seq: victim))
            raw[raw.count - 1] ^= 0xFF
            try await w.injectRawJournalRecordForTesting(seq: victim, bytes: raw)
            w.close()
        }
        // serve refuses, naming the record and the commands, and exits (no crash, no deletion).
        let refused = try Self.run(["serve", "--data", dir, "--http-port", "0", "--ingest-port", "0", "--no-demo"])
        #expect(refused.reason == .exit && refused.status != 0)
        #expect(refused.output.contains("journal record seq \(victim) is damaged"), "\(refused.output)")
        #expect(refused.output.contains("commhub journal repair"))
        // check lists it and exits 3.
        let check = try Self.run(["journal", "check", "--data", dir])
        #expect(check.status == 3)
        #expect(check.output.contains("journal record seq \(victim) is damaged"))
        #expect(check.output.contains("restore needs it"))
        // repair without --confirm shows the plan and changes nothing.
        let dry = try Self.run(["journal", "repair", "--data", dir])
        #expect(dry.status == 0)
        #expect(dry.output.contains("would repair") && dry.output.contains("void seq \(victim)"))
        #expect(try Self.run(["journal", "check", "--data", dir]).status == 3, "a dry run changed the journal")
        // with --confirm it repairs; serve starts; every other acknowledged message is there.
        let done = try Self.run(["journal", "repair", "--data", dir, "--confirm"])
        #expect(done.status == 0 && done.output.contains("repaired"), "\(done.output)")
        #expect(try Self.run(["journal", "check", "--data", dir]).status == 0)
        let server = try ServerProcess(data: dir, token: Self.token)
        try await server.waitReady()
        let http = HTTPTestClient(port: server.httpPort)
        let threads = try await http.request("GET", "/api/communication/threads?status=all&limit=500", token: Self.token)
        let list = try #require(try threads.json() as? [String: Any])
        var seen = Set<String>()
        for item in list["items"] as? [[String: Any]] ?? [] {
            let id = item["id"] as? String ?? ""
            let detail = try await http.request("GET", "/api/communication/threads/\(id)", token: Self.token).text
            for m in ids where detail.contains("\"\(m)\"") { seen.insert(m) }
        }
        #expect(seen == Set(ids).subtracting(["dmg-7"]))
        // The repair is in the audit trail.
        let audit = try await http.request("GET", "/api/audit?entity=journal", token: Self.token)
        #expect(audit.text.contains("journal.repair") && audit.text.contains("void seq \(victim)"), "\(audit.text)")
        #expect(server.terminate() == 0)
    }

    @Test func aSecondEngineOnTheSameDataDirectoryIsRefused() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(data: dir, token: Self.token)
        try await server.waitReady()
        let second = try Self.run(["serve", "--data", dir, "--http-port", "0", "--ingest-port", "0", "--no-demo",
                                   "--admin-socket", dir + "/second.sock"])
        #expect(second.status != 0)
        #expect(second.output.contains("in use by another process"), "\(second.output)")
        let repair = try Self.run(["journal", "repair", "--data", dir])
        #expect(repair.status != 0 && repair.output.contains("in use by another process"))
        #expect(server.terminate() == 0)
    }

    /// A data.mdb cut short used to kill start-up with SIGBUS and no message.
    @Test func aTruncatedDataFileIsRefusedWithAMessage() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await Self.servedAndKilled(dir)
        let file = dir + "/lmdb/data.mdb"
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        let handle = try #require(FileHandle(forWritingAtPath: file))
        try handle.truncate(atOffset: UInt64(size / 3))
        try handle.close()
        let refused = try Self.run(["serve", "--data", dir, "--http-port", "0", "--ingest-port", "0", "--no-demo"])
        #expect(refused.reason == .exit, "killed by a signal: \(refused.output)")
        #expect(refused.status != 0)
        #expect(refused.output.contains("data.mdb") && refused.output.contains("cut short"), "\(refused.output)")
        // An empty file is refused too (LMDB would silently start an empty store over it).
        let empty = try #require(FileHandle(forWritingAtPath: file))
        try empty.truncate(atOffset: 0)
        try empty.close()
        let refusedEmpty = try Self.run(["journal", "check", "--data", dir])
        #expect(refusedEmpty.status != 0 && refusedEmpty.output.contains("is empty"), "\(refusedEmpty.output)")
    }

    /// An existing data directory made with looser permissions is tightened at start.
    @Test func startTightensPermissionsOfAnExistingDataDirectory() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await Self.servedAndKilled(dir)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir + "/lmdb")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir + "/lmdb/data.mdb")
        let server = try ServerProcess(data: dir, token: Self.token)
        try await server.waitReady()
        let fm = FileManager.default
        #expect((try fm.attributesOfItem(atPath: dir + "/lmdb")[.posixPermissions] as? Int) == 0o700)
        #expect((try fm.attributesOfItem(atPath: dir + "/lmdb/data.mdb")[.posixPermissions] as? Int) == 0o600)
        #expect(server.terminate() == 0)
    }
}
