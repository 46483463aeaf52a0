import CommHubDomain
import CommHubServer
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import Synchronization
import Testing

/// A client of `/api/events` that collects every frame it receives.
final class EventsClient: Sendable {
    private let frames = Mutex<[JSONValue]>([])
    private let closed = Mutex(false)
    private let task = Mutex<Task<Void, Never>?>(nil)

    private init() {}

    /// Connects with the token in the header, or (`firstFrame`) as the first frame.
    static func connect(port: Int, token: String, since: UInt64? = nil, firstFrame: Bool = false) -> EventsClient {
        let c = EventsClient()
        var config = WebSocketClientConfiguration()
        config.closeTimeout = .milliseconds(200)
        if !firstFrame { config.additionalHeaders[.authorization] = "Bearer \(token)" }
        let url = "ws://127.0.0.1:\(port)/api/events" + (since.map { "?since=\($0)" } ?? "")
        let task = Task {
            do {
                _ = try await WebSocketClient.connect(url: url, configuration: config, logger: Harness.logger) { inbound, outbound, _ in
                    if firstFrame { try await outbound.write(.text(#"{"token":\#(q(token))}"#)) }
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        guard case .text(let s) = message,
                              let v = try? JSONDecoder().decode(JSONValue.self, from: Data(s.utf8)) else { continue }
                        c.frames.withLock { $0.append(v) }
                    }
                }
            } catch {}
            c.closed.withLock { $0 = true }
        }
        c.task.withLock { $0 = task }
        return c
    }

    var all: [JSONValue] { frames.withLock { $0 } }
    var events: [JSONValue] { all.filter { $0["type"]?.string != "hello" } }
    var isClosed: Bool { closed.withLock { $0 } }

    /// Waits (up to `seconds`) until `condition` holds for the frames received so far.
    @discardableResult
    func wait(_ what: String, seconds: Double = 10, until condition: ([JSONValue]) -> Bool) async throws -> [JSONValue] {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            let f = all
            if condition(f) { return f }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting for \(what); frames: \(all.map { "\($0["type"]?.string ?? "?")#\($0["seq"]?.int ?? -1)" })")
        return all
    }

    func disconnect() async {
        guard let task = task.withLock({ $0 }) else { return }
        task.cancel()
        await task.value
    }
}

extension JSONValue {
    var seq: Int { self["seq"]?.int ?? -1 }
    var type: String { self["type"]?.string ?? "" }
    /// The thread an event frame is about.
    var threadID: String? { self["data"]?["thread_id"]?.string ?? (type.hasPrefix("thread.") ? self["data"]?["id"]?.string : nil) }
}

@Suite("Events WebSocket") struct EventStreamTests {
    @Test func filteredLiveEventsAndResumeWithoutLoss() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let port = live.port

            // A manager sees everything; the agent of team A only team A's threads.
            let manager = EventsClient.connect(port: port, token: w.token(.manager))
            let agent = EventsClient.connect(port: port, token: w.token(.agent))
            let hello = try await agent.wait("hello") { $0.contains { $0.type == "hello" } }
            #expect(hello.first?.type == "hello")
            try await manager.wait("hello") { $0.contains { $0.type == "hello" } }

            let visible = try await w.ingest(http, channel: w.emailChannel, externalID: "ws-1", subject: "Zichtbaar")
            let hidden = try await w.ingest(http, channel: w.whatsappChannel, externalID: "ws-2", subject: "Onzichtbaar")
            let visible2 = try await w.ingest(http, channel: w.emailChannel, externalID: "ws-3", subject: "Ook zichtbaar")
            let hiddenThread = hidden["thread_id"]!.string!
            let got = try await agent.wait("message.created of ws-3") { frames in
                frames.contains { $0.type == "message.created" && $0["data"]?["id"]?.string == visible2["message_id"]?.string }
            }
            let createdFrames = got.filter { $0.type == "message.created" }
            #expect(createdFrames.compactMap { $0["data"]?["id"]?.string } == [visible["message_id"]!.string!, visible2["message_id"]!.string!])
            #expect(createdFrames.first?["data"]?["thread_id"]?.string == visible["thread_id"]?.string)
            #expect(createdFrames.first?["data"]?["message_type"]?.string == "incoming")
            #expect(createdFrames.first?["seq"]?.int == visible["seq"]?.int)
            #expect(!got.contains { $0.threadID == hiddenThread }, "nothing about another team's thread reaches the agent")
            try await manager.wait("the hidden thread's message") { $0.contains { $0.type == "message.created" && $0.threadID == hiddenThread } }

            // Disconnect; more happens meanwhile.
            let lastSeen = UInt64(agent.events.map(\.seq).max()!)
            await agent.disconnect()
            var expectedMessages: [String] = []
            let note = try created(await http.post("/api/communication/messages", w.adminToken,
                #"{"thread_id":"\#(visible["thread_id"]!.string!)","message_type":"internal_note","message_content":"intern"}"#))
            expectedMessages.append(note.id)
            for i in 0..<5 {
                let r = try await w.ingest(http, channel: w.emailChannel, externalID: "ws-later-\(i)", subject: "Later \(i)")
                expectedMessages.append(r["message_id"]!.string!)
                _ = try await w.ingest(http, channel: w.whatsappChannel, externalID: "ws-hidden-\(i)", subject: "Verborgen \(i)")
            }
            try ok(await http.put("/api/communication/threads/\(visible["thread_id"]!.string!)", w.adminToken, #"{"priority":"urgent"}"#))
            _ = try created(await http.post("/api/tasks", w.adminToken,
                #"{"task_title":"Voor Anna","assigned_to_contact_id":"\#(w.agentA)"}"#))
            let end = live.env.lastSeq
            #expect(end > lastSeen)

            // Reconnect with ?since= and the token as the first frame: every missed visible event, in order.
            let resumed = EventsClient.connect(port: port, token: w.token(.agent), since: lastSeen, firstFrame: true)
            let frames = try await resumed.wait("the missed events") { f in f.contains { $0.type == "task.assigned" } }
            let first = try #require(frames.first)
            #expect(first.type == "hello" && first.seq == Int(lastSeen))
            let missed = resumed.events
            let seqs = missed.map(\.seq)
            #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count, "in order, once each")
            #expect(seqs.allSatisfy { $0 > Int(lastSeen) })
            #expect(missed.filter { $0.type == "message.created" }.compactMap { $0["data"]?["id"]?.string } == expectedMessages)
            #expect(missed.contains { $0.type == "thread.updated" && $0["data"]?["priority"]?.string == "urgent" })
            #expect(missed.contains { $0.type == "task.assigned" && $0["data"]?["assigned_to_contact_id"]?.string == w.agentA })
            #expect(!missed.contains { $0.type == "message.created" && ($0["data"]?["subject"]?.string ?? "").hasPrefix("Verborgen") })

            // No gap: what the agent got is exactly what the manager got about threads the agent may see.
            try await manager.wait("everything up to \(end)") { $0.contains { $0.type == "task.assigned" } }
            let visibleThreads = Set(try await http.all("/api/communication/threads?status=all", w.token(.agent), limit: 500).items.ids)
            let managerView = manager.events.filter { $0.seq > Int(lastSeen) && $0.type != "task.assigned" }
                .filter { $0.threadID.map(visibleThreads.contains) ?? false }
            #expect(missed.filter { $0.type != "task.assigned" }.map(\.seq) == managerView.map(\.seq))
            let managerSeqs = manager.events.map(\.seq)
            #expect(managerSeqs == managerSeqs.sorted() && Set(managerSeqs).count == managerSeqs.count)

            // Live events keep flowing after the replay.
            let more = try await w.ingest(http, channel: w.emailChannel, externalID: "ws-after-resume")
            try await resumed.wait("live event after resume") { $0.contains { $0["data"]?["id"]?.string == more["message_id"]?.string } }

            await resumed.disconnect()
            await manager.disconnect()
        }
    }

    /// The bound on a slow subscriber, over real loopback sockets: a client
    /// that stops reading is dropped to a resync (the server stops queueing
    /// frames for it at `maxPendingFrameBytes`) while a fast client gets
    /// every event; when it reads again it gets a `resync` frame and live
    /// events after it.
    @Test func aSubscriberThatStopsReadingIsDroppedToResyncWhileAFastOneGetsEverything() async throws {
        let bound = 1 << 20
        var options = HTTPOptions.unlimited
        options.events.maxPendingFrameBytes = bound
        try await Harness.run(options: options) { live in
            let w = try await World.seed(live.http)
            let fast = EventsClient.connect(port: live.port, token: w.token(.manager))
            try await fast.wait("hello") { $0.contains { $0.type == "hello" } }
            let slow = try await RawSocket.tcp(port: live.port, receiveBufferBytes: 4096)
            defer { slow.close() }
            await slow.send(Array(("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Authorization: Bearer \(w.token(.manager))\r\n\r\n").utf8))
            let opened = await slow.read { webSocketTexts($0).contains { $0.contains(#""type":"hello""#) } }
            #expect(String(decoding: opened.bytes.prefix(12), as: UTF8.self) == "HTTP/1.1 101")

            // The slow client reads nothing more while 2,000 messages with long subjects (their frames and
            // those of their new threads about 10 MB, more than the kernel's socket buffers take: Linux grows
            // a loopback send buffer to 4 MB) are published, in bursts a reading client keeps up with.
            let count = 2_000
            let subject = String(repeating: "Laadpaal ", count: 110)
            for batch in 0..<(count / 20) {
                let events = (0..<20).map { World.inbound(channel: w.emailChannel, externalID: "slow-\(batch)-\($0)", subject: subject) }
                try ok(await live.http.post("/api/ingest", w.gatewayToken, #"{"events":[\#(events.joined(separator: ","))]}"#))
            }
            let all = try await fast.wait("all \(count) messages", seconds: 60) { $0.filter { $0.type == "message.created" }.count >= count }
            #expect(all.filter { $0.type == "message.created" }.count == count, "the fast client gets every event")
            #expect(!all.contains { $0.type == "resync" })

            // Reading again: what the sockets held, then a resync frame, then live events after its seq.
            let marker = Array("slow-after".utf8)
            let resyncType = Array(#""type":"resync""#.utf8)
            let resumed = await slow.read(seconds: 30) { firstIndex(of: resyncType, in: Array($0.suffix(64 * 1024))) != nil }
            _ = try await w.ingest(live.http, channel: w.emailChannel, externalID: "slow-after")
            let rest = await slow.read(seconds: 30) { firstIndex(of: marker, in: Array($0.suffix(64 * 1024))) != nil }
            let frames = webSocketTexts(opened.bytes + resumed.bytes + rest.bytes)
                .compactMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
            let resync = try #require(frames.firstIndex { $0.type == "resync" },
                                      "the slow client was dropped to a resync; it got \(frames.filter { $0.type == "message.created" }.count) messages, \(opened.bytes.count + resumed.bytes.count + rest.bytes.count) bytes")
            #expect(frames[resync]["reload"] == .bool(true))
            #expect(frames[resync]["reason"]?.string?.contains("\(bound) bytes behind") == true)
            let before = frames[..<resync].filter { $0.type == "message.created" }
            #expect(before.count < count, "the server stopped queueing at the bound: \(before.count) of \(count) got through before the resync")
            #expect(before.map(\.seq) == before.map(\.seq).sorted())
            #expect(before.last.map { $0.seq <= frames[resync].seq } ?? true)
            let after = frames[(resync + 1)...].filter { $0.type == "message.created" }
            #expect(after.map { $0["data"]?["external_message_id"]?.string } == ["slow-after"], "live events follow the resync")
            #expect(after.allSatisfy { $0.seq > frames[resync].seq })
            await fast.disconnect()
        }
    }

    @Test func refusesWithoutAValidToken() async throws {
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            for token in ["chub_nope", w.gatewayToken] {
                let c = EventsClient.connect(port: live.port, token: token, firstFrame: true)
                let frames = try await c.wait("the refusal") { $0.contains { $0["error"] != nil } }
                #expect(frames.first?["error"]?["code"]?.string == "unauthorized")
                try await c.wait("close", seconds: 5) { _ in c.isClosed }
                await c.disconnect()
            }
            // A since that is not a number is not upgraded.
            let r = try await live.http.call(.get, "/api/events?since=abc", headers: [
                .connection: "Upgrade", .upgrade: "websocket", .secWebSocketVersion: "13", .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==",
            ])
            #expect(r.status != 101)
        }
    }
}

/// The text frames of a server-to-client WebSocket byte stream (after the HTTP response head); a partial last frame is left out.
func webSocketTexts(_ bytes: [UInt8]) -> [String] {
    let head = Array("\r\n\r\n".utf8)
    guard let end = firstIndex(of: head, in: bytes) else { return [] }
    var i = end + 4
    var out: [String] = []
    while i + 2 <= bytes.count {
        let opcode = bytes[i] & 0x0F
        var length = Int(bytes[i + 1] & 0x7F)
        var p = i + 2
        if length == 126 {
            guard p + 2 <= bytes.count else { break }
            length = Int(bytes[p]) << 8 | Int(bytes[p + 1])
            p += 2
        } else if length == 127 {
            guard p + 8 <= bytes.count else { break }
            length = bytes[p..<(p + 8)].reduce(0) { $0 << 8 | Int($1) }
            p += 8
        }
        guard p + length <= bytes.count else { break }
        if opcode == 1 { out.append(String(decoding: bytes[p..<(p + length)], as: UTF8.self)) }
        i = p + length
    }
    return out
}

func firstIndex(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
    guard !needle.isEmpty, bytes.count >= needle.count else { return nil }
    for i in 0...(bytes.count - needle.count) where bytes[i] == needle[0] && bytes[i..<(i + needle.count)].elementsEqual(needle) {
        return i
    }
    return nil
}
