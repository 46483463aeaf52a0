import CommHubDomain
import CommHubEngine
import CommHubLoadTest
import CommHubServer
import Foundation
import Logging
import Synchronization
import Testing

/// What the pushers sent and what the server acknowledged.
final class Book: Sendable {
    struct Ack: Hashable, Sendable { var thread: String; var message: String; var seq: UInt64 }
    struct Sent: Sendable { var conversation: Int; var event: JSONValue; var order: Int }
    struct State {
        var sent: [String: Sent] = [:]
        var acked: [String: Ack] = [:]
        var count = 0
    }
    let state = Mutex(State())

    func send(_ id: String, conversation: Int, event: JSONValue) {
        state.withLock { s in
            s.count += 1
            s.sent[id] = Sent(conversation: conversation, event: event, order: s.count)
        }
    }

    func ack(_ id: String, _ a: Ack) { _ = state.withLock { $0.acked[id] = a } }
}

@Suite struct CrashTests {
    static let token = "crash-test-admin-token"
    static let conversations = 30

    /// Starts `commhub serve`, pushes pipelined ingest traffic, kills it with
    /// SIGKILL at a random moment (also while snapshots are written), restarts
    /// it, and proves that every acknowledged message is there exactly once,
    /// in the thread its conversation belongs to, and that the restored state
    /// equals a replay of the acknowledged input by a fresh engine.
    /// CRASH_ROUNDS sets the number of rounds (default 20; 1000 for a soak).
    @Test func killNineLosesNothingAcknowledged() async throws {
        let rounds = Int(ProcessInfo.processInfo.environment["CRASH_ROUNDS"] ?? "") ?? 20
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("commhub-crash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let book = Book()
        var channels: [Channel] = []
        var previousIDs: [String] = []
        var usedSnapshot = false
        var rng = SystemRandomNumberGenerator()

        for round in 0...rounds {
            let server = try ServerProcess(data: dir, token: Self.token,
                                           // A recent-id window of 16: most acknowledged ids are found again
                                           // through the store's message index, across every kill -9.
                                           extra: ["--snapshot-interval", "1", "--snapshot-events", "400", "--recent-message-ids", "16"])
            try await server.waitReady()
            let http = HTTPTestClient(port: server.httpPort)
            if round == 0 {
                channels = try await Self.createChannels(http)
                // One snapshot for certain, so later restarts restore from a snapshot plus the
                // journal even when a slow machine never reaches the periodic trigger.
                let answer = try AdminClient.send("snapshot", to: dir + "/admin.sock")
                #expect(answer.contains("\"ok\":true"), "\(answer)")
            }
            let health = try await http.request("GET", "/healthz")
            if health.text.contains("\"snapshot_id\":") && !health.text.contains("\"snapshot_id\":null") { usedSnapshot = true }

            // Everything sent before the kill: acknowledged ones must be there exactly once.
            let toCheck = round == rounds ? Array(book.state.withLock { $0.sent.keys }) : previousIDs
            try await Self.verify(toCheck, book: book, server: server)
            if round == rounds {
                try await Self.verifyThreads(book: book, http: http, channels: channels)
                _ = server.terminate()
                break
            }

            // Push from two pipelined connections; kill -9 after a random delay.
            let before = Set(book.state.withLock { $0.sent.keys })
            let killAfter = Duration.milliseconds(Int.random(in: 40...450, using: &rng))
            let endpoint = IngestListener.Endpoint.tcp(host: "127.0.0.1", port: server.ingestPort)
            let channelsNow = channels
            await withTaskGroup(of: Void.self) { group in
                for c in 0..<2 {
                    group.addTask {
                        try? await Self.push(endpoint, connection: c, round: round, channels: channelsNow, book: book)
                    }
                }
                if round % 3 == 1 {
                    // Now and then a snapshot on demand, racing the kill.
                    group.addTask {
                        try? await Task.sleep(for: killAfter / 2)
                        _ = try? AdminClient.send("snapshot", to: dir + "/admin.sock")
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: killAfter)
                    server.kill9()
                }
            }
            previousIDs = Array(Set(book.state.withLock { $0.sent.keys }).subtracting(before))
        }
        let totals = book.state.withLock { ($0.sent.count, $0.acked.count) }
        #expect(totals.0 > 0 && totals.0 == totals.1, "every message sent is acknowledged after recovery")
        #expect(usedSnapshot, "at least one restart restored from a snapshot")
    }

    static func createChannels(_ http: HTTPTestClient) async throws -> [Channel] {
        _ = try await http.json("POST", "/api/teams", token: token, ["name": "crash"])
        _ = try await http.json("PUT", "/api/routing-rules", token: token, ["default_assignee": "crash"])
        var out: [Channel] = []
        for (type, brand) in [("email_outlook", "chargecars"), ("whatsapp_business", "laderthuis"), ("sms", "zaptecshop")] {
            let r = try await http.json("POST", "/api/communication/channels", token: token,
                                  ["channel_type": type, "channel_name": "crash \(type)", "business_entity": brand])
            guard r.status == 201 else { throw ProcessFailure("channel create failed: \(r.status) \(r.text)") }
            out.append(try ContractJSON.decoder().decode(Channel.self, from: Data(r.body)))
        }
        return out
    }

    static func event(_ id: String, conversation c: Int, channels: [Channel]) -> JSONValue {
        let channel = channels[c % channels.count]
        let ref: (String, String) = switch channel.channelType {
        case .emailOutlook: ("outlook_conversation_id", "crash-conv-\(c)")
        case .whatsappBusiness: ("whatsapp_chat_id", "biz:+3161000\(String(format: "%04d", c))")
        default: ("sms_chat_id", "+3197000:+3162000\(String(format: "%04d", c))")
        }
        return .object([
            "type": .string("message"), "channel_id": .string(channel.id.description), "external_message_id": .string(id),
            "message_content": .string("bericht \(id) van gesprek \(c)"), "received_at": .string("2026-11-25T10:00:00Z"),
            "sender_external": .object(["name": .string("Klant \(c)")]),
            "thread_reference": .object(["kind": .string(ref.0), "value": .string(ref.1)]),
        ])
    }

    static func push(_ endpoint: IngestListener.Endpoint, connection: Int, round: Int, channels: [Channel], book: Book) async throws {
        try await IngestConnection.with(endpoint, token: token) { conn in
            var inFlight: [[String]] = []
            var n = 0
            var rng = SystemRandomNumberGenerator()
            while true {
                while inFlight.count < 8 {
                    var ids: [String] = []
                    var events: [JSONValue] = []
                    for _ in 0..<Int.random(in: 1...4, using: &rng) {
                        n += 1
                        let id = "r\(round)-c\(connection)-\(n)"
                        let conv = Int.random(in: 0..<conversations, using: &rng)
                        let e = event(id, conversation: conv, channels: channels)
                        book.send(id, conversation: conv, event: e)
                        ids.append(id)
                        events.append(e)
                    }
                    try await conn.ingest(events)
                    inFlight.append(ids)
                }
                let frame = try await conn.receive()
                let ids = inFlight.removeFirst()
                try record(frame, ids: ids, book: book)
            }
        }
    }

    struct Results: Decodable {
        struct Item: Decodable { var status: String; var threadID: String?; var messageID: String?; var seq: UInt64? }
        var results: [Item]
    }

    static func record(_ frame: IngestProtocol.Frame, ids: [String], book: Book) throws {
        guard frame.kind == IngestProtocol.Kind.results.rawValue else {
            throw ProcessFailure("ingest error: \(String(decoding: frame.payload, as: UTF8.self))")
        }
        let r = try ContractJSON.decoder().decode(Results.self, from: Data(frame.payload))
        for (id, item) in zip(ids, r.results) {
            guard let t = item.threadID, let m = item.messageID, let s = item.seq else {
                throw ProcessFailure("ingest item failed: \(item.status)")
            }
            book.ack(id, .init(thread: t, message: m, seq: s))
        }
    }

    /// Re-sends `ids`: an acknowledged one must come back as a duplicate with
    /// the same thread, message and sequence number; an unacknowledged one
    /// may have been stored (duplicate) or lost (created now).
    static func verify(_ ids: [String], book: Book, server: ServerProcess) async throws {
        guard !ids.isEmpty else { return }
        let endpoint = IngestListener.Endpoint.tcp(host: "127.0.0.1", port: server.ingestPort)
        let snapshot = book.state.withLock { $0 }
        let ordered = ids.sorted { snapshot.sent[$0]!.order < snapshot.sent[$1]!.order }
        try await IngestConnection.with(endpoint, token: token) { conn in
            for chunk in stride(from: 0, to: ordered.count, by: 200).map({ Array(ordered[$0..<min($0 + 200, ordered.count)]) }) {
                try await conn.ingest(chunk.map { snapshot.sent[$0]!.event })
                let frame = try await conn.receive()
                let r = try ContractJSON.decoder().decode(Results.self, from: Data(frame.payload))
                for (id, item) in zip(chunk, r.results) {
                    if let ack = snapshot.acked[id] {
                        #expect(item.status == "duplicate", "acknowledged \(id) is missing after kill -9")
                        #expect(item.threadID == ack.thread && item.messageID == ack.message && item.seq == ack.seq,
                                "acknowledged \(id) changed identity after kill -9")
                    } else {
                        book.ack(id, .init(thread: item.threadID!, message: item.messageID!, seq: item.seq!))
                    }
                }
            }
        }
    }

    /// Every conversation is one thread holding exactly its messages, once
    /// each; and a fresh engine replaying the acknowledged input in sequence
    /// order reaches the same threads.
    static func verifyThreads(book: Book, http: HTTPTestClient, channels: [Channel]) async throws {
        let s = book.state.withLock { $0 }
        var byConversation: [Int: [String]] = [:]
        for (id, sent) in s.sent { byConversation[sent.conversation, default: []].append(id) }

        // The replay: same channels and routing, acknowledged input in journal order.
        let replay = Engine.inMemory(clock: SimulatedClock())
        _ = try await replay.supervisor.upsertTeam(Team(name: "crash"))
        _ = try await replay.supervisor.setRoutingRules(AutoAssignmentRules(defaultAssignee: "crash"))
        for c in channels { _ = try await replay.supervisor.upsertChannel(c) }
        var replayThread: [String: ThreadID] = [:]
        for id in s.acked.keys.sorted(by: { s.acked[$0]!.seq < s.acked[$1]!.seq }) {
            let data = try JSONEncoder().encode(s.sent[id]!.event)
            let m = try ContractJSON.decoder().decode(InboundMessage.self, from: data)
            replayThread[id] = try await replay.supervisor.ingest(m).threadID
        }

        for (conv, ids) in byConversation {
            let threads = Set(ids.compactMap { s.acked[$0]?.thread })
            #expect(threads.count == 1, "conversation \(conv) is spread over \(threads.count) threads")
            guard let thread = threads.first else { continue }
            let r = try await http.request("GET", "/api/communication/threads/\(thread)", token: token)
            #expect(r.status == 200)
            let obj = try r.json() as! [String: Any]
            // The thread view carries the newest 200: every message comes page by page from the list.
            var messages: [[String: Any]] = []
            var cursor: String?
            repeat {
                let page = try await http.request("GET", "/api/communication/messages?thread_id=\(thread)&limit=500"
                                                  + (cursor.map { "&cursor=\($0)" } ?? ""), token: token)
                #expect(page.status == 200)
                let list = try page.json() as! [String: Any]
                messages += list["items"] as! [[String: Any]]
                cursor = list["next_cursor"] as? String
            } while cursor != nil
            let external = messages.compactMap { $0["external_message_id"] as? String }
            #expect(external.count == Set(external).count, "a message is stored twice in conversation \(conv)")
            #expect(Set(external) == Set(ids), "conversation \(conv) holds other messages than were sent")
            #expect(obj["message_count"] as? Int == ids.count)

            let replayed = Set(ids.compactMap { replayThread[$0] })
            #expect(replayed.count == 1)
            if let rt = replayed.first, let v = await replay.supervisor.thread(rt) {
                #expect(v.messages.count == messages.count, "replay of the acknowledged input differs for conversation \(conv)")
                #expect(v.header.status.rawValue == obj["status"] as? String)
                #expect(v.header.threadType.rawValue == obj["thread_type"] as? String)
                #expect(v.header.priority.rawValue == obj["priority"] as? String)
                #expect(v.messages.map(\.externalMessageID) == messages.map { $0["external_message_id"] as? String },
                        "message order differs from the replay in conversation \(conv)")
            }
        }
    }

    /// SIGTERM: HTTP stops, the journal is flushed and a final snapshot
    /// written; the next start replays nothing and has everything.
    @Test func gracefulShutdownWritesFinalSnapshot() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("commhub-term-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try ServerProcess(data: dir, token: Self.token)
        try await first.waitReady()
        let http = HTTPTestClient(port: first.httpPort)
        let channels = try await Self.createChannels(http)
        let book = Book()
        try await IngestConnection.with(.tcp(host: "127.0.0.1", port: first.ingestPort), token: Self.token) { conn in
            for i in 0..<50 {
                let id = "term-\(i)"
                let e = Self.event(id, conversation: i % 7, channels: channels)
                book.send(id, conversation: i % 7, event: e)
                try await conn.ingest([e])
                try Self.record(try await conn.receive(), ids: [id], book: book)
            }
        }
        #expect(first.terminate() == 0, "serve exits 0 on SIGTERM")

        let second = try ServerProcess(data: dir, token: Self.token)
        try await second.waitReady()
        let health = try await HTTPTestClient(port: second.httpPort).request("GET", "/healthz").json() as! [String: Any]
        let restore = health["restore"] as! [String: Any]
        #expect(restore["replayed_events"] as? Int == 0, "a clean stop leaves nothing to replay")
        #expect(restore["snapshot_id"] is Int)
        try await Self.verify(Array(book.state.withLock { $0.sent.keys }), book: book, server: second)
        _ = second.terminate()
    }
}
