import CommHubDomain
import CommHubEngine
@testable import CommHubServer
import CommHubWire
import Crypto
import Foundation
import Testing

/// Token checks through the real server, answered by the engine's
/// authentication read model: a revocation or a role change applies the
/// moment the request that made it is answered, on HTTP, the WebSocket and
/// the ingest `hello` alike, and tokens survive a restart from the journal
/// and from a snapshot.
@Suite("Authentication") struct AuthenticationTests {
    /// Says hello on the server's ingest socket; the kind of the answer frame.
    static func hello(_ live: Live, _ token: String) async throws -> IngestProtocol.Kind? {
        let s = try await RawSocket.unix(path: live.env.root + "/ingest.sock")
        defer { s.close() }
        await s.send(ListenerHarness.frame(.hello, 1, #"{"token":\#(q(token)),"protocol":2}"#))
        let answer = await s.read(seconds: 10) { !ingestFrames($0).isEmpty }
        return ingestFrames(answer.bytes).first.flatMap { IngestProtocol.Kind(rawValue: $0.kind) }
    }

    /// Opens `/api/events`; whether the server said hello (true) or refused (false).
    static func events(_ live: Live, _ token: String) async throws -> Bool {
        let c = EventsClient.connect(port: live.port, token: token)
        // A refusal is an error frame, or the connection closed without a hello (an upgrade refused).
        let frames = try await c.wait("hello or refusal", seconds: 30) { f in
            f.contains { $0.type == "hello" || $0["error"] != nil } || c.isClosed
        }
        await c.disconnect()
        return frames.contains { $0.type == "hello" }
    }

    @Test func aRevokedTokenStopsWorkingWhenTheRevocationIsAnswered() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            // Many rounds: the answer to DELETE must never come before the check sees it.
            for round in 0..<20 {
                let issued = try created(await http.post("/api/contacts/\(w.agentB)/tokens", admin, #"{"label":"r\#(round)"}"#)).json
                let secret = try #require(issued["token"]?.string)
                #expect(try await http.get("/api/communication/threads", secret).status == 200, "round \(round): a new token works at once")
                #expect(try await http.delete("/api/tokens/\(issued["id"]!.string!)", admin).status == 204)
                let after = try await http.get("/api/communication/threads", secret)
                #expect(after.status == 401 && after.errorMessage == "unknown or revoked token", "round \(round): \(after)")
            }
            // The WebSocket: works, then refused after revocation.
            let ws = try created(await http.post("/api/contacts/\(w.agentB)/tokens", admin, "{}")).json
            #expect(try await Self.events(live, ws["token"]!.string!))
            #expect(try await http.delete("/api/tokens/\(ws["id"]!.string!)", admin).status == 204)
            #expect(try await !Self.events(live, ws["token"]!.string!))

            // A gateway token: ingest hello and HTTP ingest work, then both refuse.
            let gw = try created(await http.post("/api/gateway-tokens", admin, #"{"label":"revoked gateway"}"#)).json
            let gwSecret = gw["token"]!.string!
            #expect(try await Self.hello(live, gwSecret) == .welcome)
            #expect(try await http.post("/api/ingest", gwSecret, World.inbound(channel: w.emailChannel, externalID: "gw-1").wrappedInEvents).status == 200)
            #expect(try await http.delete("/api/tokens/\(gw["id"]!.string!)", admin).status == 204)
            #expect(try await Self.hello(live, gwSecret) == .error)
            #expect(try await http.post("/api/ingest", gwSecret, World.inbound(channel: w.emailChannel, externalID: "gw-2").wrappedInEvents).status == 401)
            // Other tokens are untouched.
            #expect(try await Self.hello(live, w.gatewayToken) == .welcome)
            #expect(try await http.get("/api/communication/threads", w.token(.agent)).status == 200)
        }
    }

    @Test func aRoleOrTeamChangeAppliesWhenItIsAnswered() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            let agent = w.token(.agent)
            for round in 0..<5 {
                #expect(try await http.get("/api/tokens", agent).status == 403, "round \(round)")
                try ok(await http.put("/api/contacts/\(w.agentA)", admin, #"{"role":"admin"}"#))
                #expect(try await http.get("/api/tokens", agent).status == 200, "round \(round): the new role applies at once")
                try ok(await http.put("/api/contacts/\(w.agentA)", admin, #"{"role":"agent"}"#))
            }
            #expect(try await http.get("/api/tokens", agent).status == 403)
            // Teams decide which threads an agent sees.
            #expect(try await http.get("/api/communication/threads/\(w.threadA)", agent).status == 200)
            #expect(try await http.get("/api/communication/threads/\(w.threadB)", agent).status == 404)
            try ok(await http.put("/api/contacts/\(w.agentA)", admin, #"{"teams":["\#(w.teamB)"]}"#))
            #expect(try await http.get("/api/communication/threads/\(w.threadA)", agent).status == 404)
            #expect(try await http.get("/api/communication/threads/\(w.threadB)", agent).status == 200)
            // A person's own presence change is seen by their next request (the identity carries the person).
            try ok(await http.put("/api/contacts/\(w.agentA)", agent, #"{"presence":"online"}"#))
            #expect(try ok(await http.get("/api/contacts/\(w.agentA)", agent)).json["presence"]?.string == "online")
        }
    }

    @Test func tokensRolesAndRevocationsSurviveRestartFromJournalAndSnapshot() async throws {
        let root = try Harness.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = SimulatedClock()
        let key = SymmetricKey(size: .bits256)
        struct Tokens: Sendable { var w: World; var promoted: String; var revoked: String }

        let env1 = try await Harness.open(root: root, clock: clock, key: key)
        let t = try await Harness.serve(env1) { live in
            let http = live.http
            let w = try await World.seed(http)
            let promoted = try created(await http.post("/api/contacts/\(w.agentA2)/tokens", w.adminToken, "{}")).json["token"]!.string!
            let revoked = try created(await http.post("/api/contacts/\(w.agentB)/tokens", w.adminToken, "{}")).json
            #expect(try await http.delete("/api/tokens/\(revoked["id"]!.string!)", w.adminToken).status == 204)
            #expect(try await http.get("/api/analytics/overview", promoted).status == 403)
            try ok(await http.put("/api/contacts/\(w.agentA2)", w.adminToken, #"{"role":"manager"}"#))
            return Tokens(w: w, promoted: promoted, revoked: revoked["token"]!.string!)
        }
        await env1.durable.shutdown(snapshot: false)

        @Sendable func check(_ live: Live, _ what: String) async throws {
            let http = live.http
            #expect(try await http.get("/api/analytics/overview", t.promoted).status == 200, "\(what): the promotion holds")
            #expect(try await http.get("/api/communication/threads", t.revoked).status == 401, "\(what): the revocation holds")
            #expect(try await http.get("/api/communication/threads", t.w.token(.agent)).status == 200, "\(what)")
            #expect(try await http.get("/api/tokens", t.w.token(.agent)).status == 403, "\(what)")
            #expect(try await Self.hello(live, t.w.gatewayToken) == .welcome, "\(what): the gateway token")
            #expect(try await Self.events(live, t.w.token(.manager)), "\(what): the WebSocket")
            #expect(live.engine.authentication.liveTokens == 9, "\(what): the admin's, six people's, the gateway's, the promoted agent's")
        }
        let env2 = try await Harness.open(root: root, clock: clock, key: key)
        #expect(env2.durable.restoreReport.snapshotID == nil)
        try await Harness.serve(env2) { try await check($0, "journal restart") }
        await env2.durable.shutdown(snapshot: true)

        let env3 = try await Harness.open(root: root, clock: clock, key: key)
        #expect(env3.durable.restoreReport.snapshotID != nil && env3.durable.restoreReport.replayedEvents == 0)
        try await Harness.serve(env3) { try await check($0, "snapshot restart") }
        await env3.durable.shutdown(snapshot: false)
    }
}
