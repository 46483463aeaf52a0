import CommHubDomain
import CommHubEngine
import Crypto
import Foundation
import Testing

/// Requests that used to stop the process, and a resume that used to hang,
/// over the real server on loopback.
@Suite("One-request crashes")
struct OneRequestCrashTests {
    /// `since + 1` overflowed in the event bus once an event was committed:
    /// any person's token could stop the server.
    @Test func eventsSinceBeyondTheLastEventAsksForAReloadAndTheServerLives() async throws {
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            let c = EventsClient.connect(port: live.port, token: w.token(.agent), since: UInt64.max)
            let frames = try await c.wait("hello and a reload frame") { $0.contains { $0["type"]?.string == "resync" } }
            let hello = try #require(frames.first { $0["type"]?.string == "hello" })
            #expect(hello["seq"]?.int == Int(live.env.lastSeq))
            let resync = try #require(frames.first { $0["type"]?.string == "resync" })
            #expect(resync["reload"] == .bool(true))
            #expect(resync["reason"]?.string?.contains("beyond the last event") == true)
            // Still alive, and the stream goes on with live events.
            let r = try await w.ingest(live.http, channel: w.emailChannel, externalID: "after-huge-since")
            try await c.wait("a live event after the reload frame") {
                $0.contains { $0["data"]?["id"]?.string == r["message_id"]?.string }
            }
            #expect(try await live.http.get("/healthz", nil).status == 200)
            await c.disconnect()
        }
    }

    /// `cursor=-1` indexed the audit list out of range: a read-only token could stop the server.
    @Test func auditCursorsFromOutsideAreRangeCheckedForEveryReadingRole() async throws {
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            for token in [w.adminToken, w.token(.manager), w.token(.executive)] {
                for cursor in ["-1", "-9223372036854775808", "abc", "99999999999999999999"] {
                    let r = try await live.http.get("/api/audit?cursor=\(cursor)", token)
                    #expect(r.status == 400 && r.isErrorShape, "cursor \(cursor): \(r)")
                }
                // Past the end is an empty page, not a crash.
                let end = try await live.http.get("/api/audit?cursor=1000000", token)
                #expect(end.status == 200 && end.items.isEmpty, "\(end)")
            }
            #expect(try await live.http.get("/healthz", nil).status == 200)
        }
    }

    /// A client resuming from before the pruned journal got `hello` and then
    /// nothing, forever. It now gets an explicit reload frame, then live events.
    @Test func resumeFromBeforeThePrunedJournalGetsAReloadFrame() async throws {
        let root = try Harness.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = SimulatedClock()
        let key = SymmetricKey(size: .bits256)
        let env1 = try await Harness.open(root: root, clock: clock, key: key)
        let world = try await Harness.serve(env1) { live in
            let w = try await World.seed(live.http)
            // Four snapshots with traffic between them: the journal before the oldest kept one is pruned.
            for round in 0..<4 {
                _ = try await w.ingest(live.http, channel: w.emailChannel, externalID: "prune-\(round)")
                try await live.env.durable.snapshot()
            }
            return w
        }
        await env1.durable.shutdown(snapshot: false)
        let env2 = try await Harness.open(root: root, clock: clock, key: key)
        try await Harness.serve(env2) { live in
            let c = EventsClient.connect(port: live.port, token: world.token(.manager), since: 1)
            let frames = try await c.wait("a reload frame") { $0.contains { $0["type"]?.string == "resync" } }
            let resync = try #require(frames.first { $0["type"]?.string == "resync" })
            #expect(resync["reload"] == .bool(true))
            #expect(resync["reason"]?.string?.contains("journal no longer holds") == true, "\(resync)")
            #expect(resync["seq"]?.int == Int(live.env.lastSeq))
            let r = try await world.ingest(live.http, channel: world.emailChannel, externalID: "after-reload")
            try await c.wait("a live event after the reload frame") {
                $0.contains { $0["data"]?["id"]?.string == r["message_id"]?.string }
            }
            await c.disconnect()
        }
        await env2.durable.shutdown(snapshot: false)
    }

    /// A value the journal cannot encode (JSON nested deeper than the encoder
    /// goes) was applied in memory, stored a task the journal never held, and
    /// broke every later snapshot. The journal now refuses it at append, and
    /// the engine applies nothing.
    @Test func aChangeTheJournalCannotTakeIsNeverApplied() async throws {
        try await Harness.run { live in
            let supervisor = live.engine.supervisor
            var deep = JSONValue.string("x")
            for _ in 0..<600 { deep = .object(["n": deep]) }
            let task = InternalTask(taskTitle: "deep", reminderSettings: ["r": deep], createdAt: Date())
            let before = live.env.lastSeq
            do {
                _ = try await supervisor.upsertTask(task)
                Issue.record("a task that cannot be journaled was accepted")
            } catch let e as EngineError {
                #expect(e.code == .invalid)
                #expect(!e.message.contains("\"n\""), "the error must not print the value")
            }
            #expect(await supervisor.task(task.id) == nil)
            #expect(live.env.lastSeq == before, "no sequence number was used")
            let info = try await live.env.durable.snapshot()
            #expect(info.endSeq >= before)
            let w = try await World.seed(live.http)
            #expect(try await live.http.get("/api/tasks", w.adminToken).status == 200)
        }
    }
}
