import AsyncHTTPClient
import CommHubServer
import CommHubStandIns
import Crypto
import Foundation
import NIOCore
import Synchronization
import Testing

/// `commhub keys rotate` against real processes: a rotation while WhatsApp
/// webhooks keep arriving loses no acknowledged message, leaves one KEK
/// that only the new master key opens, and keeps every channel secret
/// usable across a kill -9; a rotation killed at each of its steps finishes
/// at the next start; with the key in `COMMHUB_MASTER_KEY` the operator's
/// new key file takes over and the old key no longer opens the store.
@Suite(.serialized) struct KeyRotationProcessTests {
    typealias G = GatewayProcessTests
    static let token = "chub_key-rotation-admin-token-0123456789"

    // MARK: Files

    static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    static func keyFiles(_ data: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: data + "/lmdb")) ?? []).filter { $0.hasPrefix("kek-") }.sorted()
    }

    /// Whether the base64 master key `key` opens the KEK file (magic, generation, AES-GCM box; see `KeyRing`).
    static func opens(_ key: String, kek path: String) -> Bool {
        guard let raw = Data(base64Encoded: key), let file = FileManager.default.contents(atPath: path), file.count > 8 else { return false }
        let bytes = Array(file)
        var aad = Array("commhub.kek".utf8)
        aad += bytes[4..<8]
        guard let box = try? AES.GCM.SealedBox(combined: bytes[8...]) else { return false }
        return (try? AES.GCM.open(box, using: SymmetricKey(data: raw), authenticating: aad)) != nil
    }

    /// `commhub <args>` to the end; its status and output.
    static func run(_ args: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self))
    }

    static func answer(_ text: String) -> [String: Any] {
        let line = text.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? ""
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
    }

    /// The store after a finished rotation: one KEK, opened by `master` and not by `old`, no rotation files left.
    static func expectRotated(_ data: String, master: String, old: String) {
        let keks = keyFiles(data)
        #expect(keks.count == 1, "one KEK generation is left: \(keks)")
        if let kek = keks.first {
            #expect(opens(master, kek: data + "/lmdb/" + kek), "the new master key opens the KEK")
            #expect(!opens(old, kek: data + "/lmdb/" + kek), "the old master key opens nothing")
        }
        for leftover in ["master.key.next", "master.key.old", "master.key.rotation"] {
            #expect(!FileManager.default.fileExists(atPath: data + "/" + leftover), "\(leftover) is gone")
        }
    }

    // MARK: Tests

    @Test func aRotationWhileWebhooksArriveLosesNothingAndSecretsStillWork() async throws {
        let meta = WhatsAppStandIn.make()
        try await meta.start()
        let rig = try await G.Rig()
        do {
            let channel = try await rig.channel(meta, phoneNumberID: "106540352242922", name: "WhatsApp laderthuis")
            try await rig.startGateway()
            let oldKey = try #require(Self.read(rig.dir + "/master.key"))

            // Webhooks one after another while the rotation runs beside them.
            let acknowledged = Mutex<[String]>([])
            let started = Mutex(false)
            let ingest = Task {
                for i in 0..<80 {
                    let text = "bericht \(i) tijdens rotatie"
                    _ = try await rig.inbound("wamid.rot\(i)", from: "3161234\(String(format: "%04d", i))", phoneNumberID: "106540352242922", text: text)
                    acknowledged.withLock { $0.append(text) }
                    if i == 10 { started.withLock { $0 = true } }
                }
            }
            try await G.until("ingest is under way") { started.withLock { $0 } }
            let dir = rig.dir
            let (status, output) = try await offThePool { try Self.run(["keys", "rotate", "--data", dir]) }
            #expect(status == 0, "\(output)")
            let answer = Self.answer(output)
            #expect(answer["ok"] as? Bool == true, "\(output)")
            #expect((answer["secrets_resealed"] as? Int ?? 0) >= 1, "the channel's secrets were re-sealed: \(output)")
            try await ingest.value
            let newKey = try #require(Self.read(rig.dir + "/master.key"))
            #expect(newKey != oldKey, "master.key holds a new key")
            Self.expectRotated(rig.dir, master: newKey, old: oldKey)

            // kill -9, restart: every acknowledged message is there, the
            // sealed secrets open (their names are listed), a reply is sent
            // with the access token, and a signed webhook is accepted.
            rig.server.kill9()
            try await rig.restartEngine()
            let c = try await rig.engineAPI.call(.GET, "/api/communication/channels/\(channel)")
            #expect(c.status == 200, "\(c)")
            #expect(Set(c.json["secrets_set"] as? [String] ?? []) == ["access_token", "app_secret", "verify_token"], "\(c)")
            let list = try await rig.engineAPI.call(.GET, "/api/communication/threads?status=all&limit=200")
            let threads = (list.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            var texts: Set<String> = []
            for t in threads {
                let thread = try await rig.engineAPI.call(.GET, "/api/communication/threads/\(t)")
                for m in thread.json["messages"] as? [[String: Any]] ?? [] { if let s = m["message_content"] as? String { texts.insert(s) } }
            }
            let missing = acknowledged.withLock { $0 }.filter { !texts.contains($0) }
            #expect(missing.isEmpty, "acknowledged messages lost across the rotation and kill -9: \(missing)")
            #expect(acknowledged.withLock { $0.count } == 80)

            try await G.until("the gateway reconnects") { (try? await rig.gatewayHTTP.call(.GET, "/healthz").status) == 200 }
            let thread = try await rig.inbound("wamid.after", from: "31699999999", phoneNumberID: "106540352242922", text: "na de rotatie")
            _ = try await rig.answer(thread, "Dank u, we bellen morgen")
            try await G.until("the reply reaches the provider with the access token") {
                meta.whatsappSends.contains { $0.header("authorization") == "Bearer EAAG-106540352242922" }
            }

            let audit = try await rig.engineAPI.call(.GET, "/api/audit?entity=master_key")
            let actions = (audit.json["items"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
            #expect(actions.contains("keys.rotate"), "the rotation is in the audit trail: \(audit)")
        } catch {
            Issue.record("\(error)\n\(rig.server.log.suffix(2000))")
        }
        await rig.shutdown()
        try await meta.stop()
    }

    @Test(arguments: KeyRotation.failpointSteps)
    func aRotationKilledAtAStepFinishesAtTheNextStart(step: String) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("commhub-rot-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var server = try ServerProcess(data: dir, token: Self.token, environment: [KeyRotation.failpointVariable: step])
        do {
            try await server.waitReady()
            var api = Fetch(client: http, base: "http://127.0.0.1:\(server.httpPort)", token: Self.token)
            let ch = try await api.call(.POST, "/api/communication/channels", json: [
                "channel_type": "whatsapp_business", "channel_name": "WhatsApp chargecars", "business_entity": "chargecars",
                "configuration": ["phone_number_id": "1065400001", "app_secret": G.appSecret, "verify_token": G.verifyToken,
                                  "access_token": "EAAG-rotation"],
            ] as [String: Any])
            let channel = try #require(ch.json["id"] as? String, "\(ch)")
            let cu = try await api.call(.POST, "/api/directory", json: [
                "customers": [["id": UUID().uuidString.lowercased(), "name": "Fenna Rotatie", "emails": ["fenna@example.nl"]]],
            ] as [String: Any])
            #expect(cu.status == 200, "\(cu)")
            let oldKey = try #require(Self.read(dir + "/master.key"))

            // The CLI waits on the admin socket while the server stops at the step.
            let cli = Process()
            cli.executableURL = URL(fileURLWithPath: ServerProcess.binary)
            cli.arguments = ["keys", "rotate", "--data", dir]
            cli.standardOutput = FileHandle.nullDevice
            cli.standardError = FileHandle.nullDevice
            try cli.run()
            defer { if cli.isRunning { cli.terminate() } }
            let first = server
            try await G.until("the rotation reaches \(step)", seconds: 60) { first.log.contains("key rotation stopped at failpoint \(step)") }
            let staged = Self.read(dir + "/master.key.next")
            #expect(staged != nil || step == "new-key-in-place", "the next key is staged before anything uses it")
            server.kill9()

            server = try ServerProcess(data: dir, token: Self.token)
            try await server.waitReady()
            api = Fetch(client: http, base: "http://127.0.0.1:\(server.httpPort)", token: Self.token)
            let newKey = try #require(Self.read(dir + "/master.key"))
            #expect(newKey != oldKey, "the rotation finished at the start")
            if let staged { #expect(newKey == staged, "the staged key became the master key") }
            Self.expectRotated(dir, master: newKey, old: oldKey)
            let c = try await api.call(.GET, "/api/communication/channels/\(channel)")
            #expect(Set(c.json["secrets_set"] as? [String] ?? []) == ["access_token", "app_secret", "verify_token"], "\(c)")
            let person = try await api.call(.GET, "/api/customers?q=Fenna")
            #expect((person.json["items"] as? [[String: Any]])?.first?["name"] as? String == "Fenna Rotatie", "\(person)")
            #expect(server.terminate() == 0)
            // And again from the files alone: nothing needs the old key.
            let again = try ServerProcess(data: dir, token: Self.token)
            try await again.waitReady()
            #expect(again.terminate() == 0)
        } catch {
            Issue.record("\(step): \(error)\n\(server.log.suffix(2000))")
            server.kill9()
        }
        try await http.shutdown()
    }

    @Test func withTheKeyInTheEnvironmentTheNewKeyFileTakesOver() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("commhub-rot-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let oldKey = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        let data = dir + "/data"
        let server = try ServerProcess(data: data, token: Self.token, environment: ["COMMHUB_MASTER_KEY": oldKey])
        do {
            try await server.waitReady()
            #expect(!FileManager.default.fileExists(atPath: data + "/master.key"), "the key lives in the environment only")
            let (refused, refusal) = try await offThePool { try Self.run(["admin", "--data", data, "keys", "rotate"]) }
            #expect(refused != 0 && refusal.contains("--new-key"), "without a file for the new key the rotation is refused: \(refusal)")
            let file = dir + "/new-master.key"
            let (status, output) = try await offThePool { try Self.run(["keys", "rotate", "--data", data, "--new-key", file]) }
            #expect(status == 0, "\(output)")
            #expect((Self.answer(output)["next_step"] as? String ?? "").contains("COMMHUB_MASTER_KEY"), "\(output)")
            let newKey = try #require(Self.read(file), "the new key's file was created")
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            Self.expectRotated(data, master: newKey, old: oldKey)
            #expect(!FileManager.default.fileExists(atPath: data + "/master.key"), "the new key is not copied into the data directory")
            #expect(server.terminate() == 0)

            let stale = try ServerProcess(data: data, token: Self.token, environment: ["COMMHUB_MASTER_KEY": oldKey])
            await #expect(throws: (any Error).self) { try await stale.waitReady(timeout: .seconds(30)) }
            #expect(stale.log.contains("set COMMHUB_MASTER_KEY to the new key"), "\(stale.log.suffix(600))")
            let fresh = try ServerProcess(data: data, token: Self.token, environment: ["COMMHUB_MASTER_KEY": newKey])
            try await fresh.waitReady()
            #expect(fresh.terminate() == 0)
        } catch {
            Issue.record("\(error)\n\(server.log.suffix(2000))")
        }
    }
}
