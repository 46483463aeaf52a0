import CommHubServer
import Foundation
import Testing

/// Every released format's golden data directory (Snapshots/v*/) must
/// restore, with a current binary, to exactly what the API showed when it
/// was made (expected.json), field by field.
@Suite struct GoldenTests {
    static var snapshotsFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Snapshots")
    }

    static var versions: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: snapshotsFolder.path)) ?? [])
            .filter { $0.hasPrefix("v") }.sorted()
    }

    @Test func everyReleasedFormatHasAGoldenDirectory() {
        #expect(Self.versions.contains("v1"))
    }

    @Test(arguments: GoldenTests.versions)
    func goldenDirectoryRestoresFieldByField(_ version: String) async throws {
        let source = Self.snapshotsFolder.appendingPathComponent(version)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("commhub-golden-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        // Work on a copy: the golden files are never written.
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source.appendingPathComponent("lmdb"), to: work.appendingPathComponent("lmdb"))
        try FileManager.default.copyItem(at: source.appendingPathComponent("master.key"), to: work.appendingPathComponent("master.key"))
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("expected.json"))) as! [String: Any]

        // No gateway: the golden data's pending answers must stay as they were restored, not be delivered.
        // A recent-id window of 16: the golden messages' provider ids must come from the store's
        // message index, which the first start builds for a store written before it.
        let server = try ServerProcess(data: work.path, token: "golden-admin-token",
                                       extra: ["--snapshot-interval", "3600", "--no-gateway", "--recent-message-ids", "16"])
        defer { server.kill9() }
        try await server.waitReady()
        let http = HTTPTestClient(port: server.httpPort)
        for (path, want) in expected.sorted(by: { $0.key < $1.key }) {
            let r = try await http.request("GET", path, token: "golden-admin-token")
            #expect(r.status == 200, "\(version) \(path): \(r.status) \(r.text)")
            let got = try r.json()
            let differences = Self.diff(want, got, path: path)
            #expect(differences.isEmpty, "\(version) differs:\n\(differences.prefix(20).joined(separator: "\n"))")
        }
        // Every provider id the golden data holds is still known: a provider's retry is a duplicate of its message.
        let known = Self.incomingMessages(in: expected)
        #expect(!known.isEmpty, "\(version): the golden data has inbound messages")
        for m in known {
            let retry: [String: Any] = ["events": [["type": "message", "channel_id": m.channel, "external_message_id": m.external,
                                                    "sender_external": ["email": "retry@example.nl"], "message_content": "retry",
                                                    "received_at": "2026-11-27T10:00:00Z"]]]
            let r = try await http.request("POST", "/api/ingest", token: "golden-admin-token",
                                           body: Array(try JSONSerialization.data(withJSONObject: retry)))
            let result = ((try? r.json() as? [String: Any])?["results"] as? [[String: Any]])?.first
            #expect(result?["status"] as? String == "duplicate" && result?["message_id"] as? String == m.id,
                    "\(version): a retry of \(m.external) is not the duplicate of \(m.id): \(r.text)")
        }
        // The golden stores predate encryption at rest: the first start sealed
        // them in place and compacted the file, so the customer's address the
        // golden data holds in the clear is in no file of the data directory.
        #expect(Self.filesContaining("jan@example.nl", under: work.path).isEmpty,
                "\(version): records written before encryption are still readable in the clear")
        #expect(!FileManager.default.fileExists(atPath: work.path + "/lmdb.sealing"), "the upgrade finished")
    }

    /// Inbound messages with a provider id anywhere in the expected answers (thread views), each once.
    static func incomingMessages(in json: Any) -> [(id: String, channel: String, external: String)] {
        var out: [String: (id: String, channel: String, external: String)] = [:]
        func walk(_ v: Any) {
            if let o = v as? [String: Any] {
                if o["message_type"] as? String == "incoming", let id = o["id"] as? String, let c = o["channel_id"] as? String,
                   let e = o["external_message_id"] as? String {
                    out[id] = (id, c, e)
                }
                o.values.forEach(walk)
            } else if let a = v as? [Any] {
                a.forEach(walk)
            }
        }
        walk(json)
        return out.values.sorted { $0.id < $1.id }
    }

    static func filesContaining(_ text: String, under dir: String) -> [String] {
        let needle = Data(text.utf8)
        let files = FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String } ?? []
        return files.filter { name in
            guard let data = FileManager.default.contents(atPath: dir + "/" + name) else { return false }
            return data.range(of: needle) != nil
        }
    }

    /// Fields the API added after a golden directory was made: present now, absent from its expected.json.
    /// (A message's delivery, since the outbox: an outgoing message restored as pending is `queued`;
    /// a thread's WhatsApp customer-service windows, derived from its inbound WhatsApp messages;
    /// a thread's merge and split links and its satisfaction survey, null for every thread before them.)
    static let viewAdditions: Set<String> = [
        "metadata.delivery_stage", "metadata.delivery_attempts", ".whatsapp_windows", ".whatsapp_window_ends_at",
        // A task's overdue flag (workflow), derived from its due date and the clock.
        ".overdue",
        ".merged_into_thread_id", ".split_from_thread_id", ".csat_score", ".csat_scored_at", ".csat_agent_contact_id",
        ".csat_requested_at",
        // A thread view's flag for messages older than its newest 200.
        ".messages_truncated",
    ]

    /// Field-by-field differences between two JSON values.
    static func diff(_ a: Any, _ b: Any, path: String) -> [String] {
        switch (a, b) {
        case let (x as [String: Any], y as [String: Any]):
            var out: [String] = []
            for k in Set(x.keys).union(y.keys).sorted() {
                if x[k] == nil, viewAdditions.contains(where: { "\(path).\(k)".hasSuffix($0) }) { continue }
                guard let xv = x[k] else { out.append("\(path).\(k): unexpected \(y[k]!)"); continue }
                guard let yv = y[k] else { out.append("\(path).\(k): missing (was \(xv))"); continue }
                out += diff(xv, yv, path: "\(path).\(k)")
            }
            return out
        case let (x as [Any], y as [Any]):
            guard x.count == y.count else { return ["\(path): \(x.count) items, now \(y.count)"] }
            return zip(x, y).enumerated().flatMap { diff($1.0, $1.1, path: "\(path)[\($0)]") }
        default:
            return (a as? NSObject) == (b as? NSObject) ? [] : ["\(path): \(a) → \(b)"]
        }
    }
}
