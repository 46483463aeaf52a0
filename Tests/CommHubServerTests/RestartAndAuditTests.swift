import CommHubDomain
import CommHubEngine
import CommHubStore
import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Restart and audit") struct RestartAndAuditTests {
    /// Everything the API shows, for before/after comparisons.
    static func dump(_ http: HTTP) async throws -> [String: JSONValue] {
        let admin = Harness.adminToken
        var out: [String: JSONValue] = [:]
        let threads = try await http.all("/api/communication/threads?status=all", admin, limit: 500).items
        out["threads"] = .array(threads)
        for id in threads.ids.sorted() {
            out["thread \(id)"] = try ok(await http.get("/api/communication/threads/\(id)", admin)).json
        }
        for path in ["/api/tasks?limit=500", "/api/templates", "/api/communication/channels", "/api/contacts", "/api/teams",
                     "/api/tokens", "/api/routing-rules", "/api/customers?limit=500", "/api/audit?limit=500",
                     "/api/communication/messages?delivery_status=pending,sent,failed,bounced&limit=500"] {
            out[path] = try ok(await http.get(path, admin)).json
        }
        return out
    }

    static func expectSame(_ a: [String: JSONValue], _ b: [String: JSONValue], _ label: String) {
        #expect(a.keys.sorted() == b.keys.sorted(), "\(label): different entities")
        func items(_ v: JSONValue?) -> [JSONValue]? { v?.array ?? v?["items"]?.array }
        func text(_ v: JSONValue?) -> String {
            guard let v, let d = try? ContractJSON.encoder().encode(v) else { return "nil" }
            return String(decoding: d, as: UTF8.self)
        }
        for k in a.keys.sorted() where a[k] != b[k] {
            if let x = items(a[k]), let y = items(b[k]), x.count == y.count, x.ids.count == x.count {
                let bx = Dictionary(uniqueKeysWithValues: x.map { ($0["id"]!.string!, $0) })
                let by = Dictionary(uniqueKeysWithValues: y.map { ($0["id"]!.string!, $0) })
                for (id, v) in bx where by[id] != v {
                    Issue.record("\(label): \(k) item \(id) differs\nbefore: \(text(v))\nafter:  \(text(by[id]))")
                }
                if bx == by {
                    Issue.record("\(label): \(k) lists the same items in another order")
                }
            } else {
                Issue.record("\(label): \(k) differs\nbefore: \(text(a[k]).prefix(3000))\nafter:  \(text(b[k]).prefix(3000))")
            }
        }
    }

    struct Phase1: Sendable {
        var w: World
        var dump: [String: JSONValue]
        var lastSeq: UInt64
        var acked: [String]
        var revoked: String
        var seedSeq: UInt64
    }

    @Test func restartKeepsEverythingFromJournalAndSnapshot() async throws {
        let root = try Harness.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = SimulatedClock()
        let key = SymmetricKey(size: .bits256)

        // 1. Traffic, then a shutdown without a snapshot: only the journal carries it.
        let env1 = try await Harness.open(root: root, clock: clock, key: key, sync: .full)
        let p1 = try await Harness.serve(env1) { live in
            let http = live.http
            let w = try await World.seed(http)
            let seedSeq = live.env.lastSeq
            // Concurrent ingest: every acknowledged message must survive.
            let acked = try await withThrowingTaskGroup(of: [String].self) { group in
                for g in 0..<4 {
                    group.addTask {
                        var ids: [String] = []
                        for i in 0..<10 {
                            let events = (0..<3).map { k in
                                World.inbound(channel: g % 2 == 0 ? w.emailChannel : w.whatsappChannel, externalID: "r-\(g)-\(i)-\(k)",
                                              subject: "Bericht \(g)-\(i)", text: "Inhoud \(g)-\(i)-\(k) met é en 😀",
                                              email: "klant\(g)@example.nl")
                            }
                            let r = try await TestClient.withClient(host: "127.0.0.1", port: live.port) { c in
                                try await HTTP(oneOff: c).post("/api/ingest", w.gatewayToken, #"{"events":[\#(events.joined(separator: ","))]}"#)
                            }
                            try #require(r.status == 200, "\(r)")
                            ids += r.json["results"]!.array!.compactMap { $0["message_id"]?.string }
                        }
                        return ids
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(acked.count == 120)
            let thread = try #require(try await http.get("/api/communication/threads?limit=1", w.adminToken).ids.first)
            try created(await http.post("/api/communication/messages", w.token(.agent), #"""
                {"thread_id":"\#(w.threadA)","message_type":"outgoing","channel_id":"\#(w.emailChannel)",
                 "message_content":"Antwoord met een lange tekst \#(String(repeating: "lorem ipsum ", count: 200))",
                 "message_html":"<p>Antwoord</p>","metadata":{"source":"test"}}
                """#))
            try ok(await http.put("/api/communication/threads/\(thread)", w.token(.manager),
                                  #"{"status":"waiting_internal","tags":["restart"],"assigned_to_contact_id":"\#(w.agentA2)"}"#))
            try created(await http.post("/api/tasks", w.token(.agent), #"{"task_title":"Na herstart","due_date":"2026-12-24","due_time":"08:15"}"#))
            try created(await http.post("/api/templates", w.adminToken,
                #"{"template_name":"Herstart","template_category":"follow_up","channel_type":"sms","message_template":"Hoi {{naam}}"}"#))
            try created(await http.post("/api/communication/channels", w.adminToken,
                #"{"channel_type":"sms","channel_name":"SMS","configuration":{"auth_token":"sms-key-123","from":"CommHub"}}"#))
            try ok(await http.put("/api/routing-rules", w.adminToken, #"{"default_assignee":"Team B"}"#))
            try ok(await http.post("/api/directory", w.adminToken,
                #"{"customers":[{"id":"\#(UUID())","name":"Herstart Klant","emails":["h@example.nl"],"phones":[]}]}"#))
            let revoked = try created(await http.post("/api/contacts/\(w.agentB)/tokens", w.adminToken, "{}")).json
            #expect(try await http.delete("/api/tokens/\(revoked["id"]!.string!)", w.adminToken).status == 204)
            return Phase1(w: w, dump: try await Self.dump(http), lastSeq: live.env.lastSeq, acked: acked,
                          revoked: revoked["token"]!.string!, seedSeq: seedSeq)
        }
        await env1.durable.shutdown(snapshot: false)

        // 2. Restore from the journal alone.
        let env2 = try await Harness.open(root: root, clock: clock, key: key)
        #expect(env2.durable.restoreReport.snapshotID == nil)
        #expect(env2.durable.restoreReport.replayedEvents == Int(p1.lastSeq))
        #expect(env2.lastSeq == p1.lastSeq, "the admin token already exists: bootstrap writes nothing")
        let p2 = try await Harness.serve(env2) { live in
            let http = live.http
            let w = p1.w
            // A client resuming right after the restart, before anything new happens, gets what it missed.
            let resumed = EventsClient.connect(port: live.port, token: w.token(.manager), since: p1.seedSeq)
            let frames = try await resumed.wait("the 120 messages from before the restart") { f in
                Set(f.filter { $0.type == "message.created" }.compactMap { $0["data"]?["id"]?.string }).isSuperset(of: p1.acked)
            }
            #expect(frames.first?.type == "hello" && frames.first?.seq == Int(p1.seedSeq))
            let seqs = resumed.events.map(\.seq)
            #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count && (seqs.first ?? 0) > Int(p1.seedSeq))
            await resumed.disconnect()
            Self.expectSame(p1.dump, try await Self.dump(http), "journal-only restart")
            let messageIDs = Set(p1.dump.values.flatMap { $0["messages"]?.ids ?? [] })
            #expect(p1.acked.allSatisfy(messageIDs.contains), "every acknowledged message survived")
            // Tokens: live ones work, the revoked one does not.
            #expect(try await http.get("/api/communication/threads", w.token(.agent)).status == 200)
            #expect(try await http.post("/api/ingest", w.gatewayToken, World.inbound(channel: w.emailChannel, externalID: "r-0-0-0").wrappedInEvents)
                .json["results"]?[0]?["status"]?.string == "duplicate", "idempotency survives a restart")
            #expect(try await http.get("/api/communication/threads", p1.revoked).status == 401)
            let health = try ok(await http.get("/healthz", nil)).json
            #expect(health["restore"]?["replayed_events"]?.int == Int(p1.lastSeq))
            // More changes, then a shutdown with a snapshot.
            try created(await http.post("/api/communication/messages", w.token(.agent),
                #"{"thread_id":"\#(w.threadA)","message_type":"internal_note","message_content":"na de eerste herstart"}"#))
            _ = try await w.ingest(http, channel: w.emailChannel, externalID: "after-restart-1", subject: "Na herstart")
            return (try await Self.dump(http), live.env.lastSeq)
        }
        await env2.durable.shutdown(snapshot: true)

        // 3. Restore from the snapshot (nothing left to replay).
        let env3 = try await Harness.open(root: root, clock: clock, key: key)
        #expect(env3.durable.restoreReport.snapshotID != nil)
        #expect(env3.durable.restoreReport.replayedEvents == 0)
        #expect(env3.lastSeq == p2.1)
        try await Harness.serve(env3) { live in
            Self.expectSame(p2.0, try await Self.dump(live.http), "snapshot restart")
            // The sealed channel secret still opens with the key.
            let channels = try ok(await live.http.get("/api/communication/channels", Harness.adminToken)).items
            #expect(channels.first { $0["channel_name"]?.string == "SMS" }?["secrets_set"]?.array == [.string("auth_token")])
        }
        await env3.durable.shutdown(snapshot: false)
    }

    @Test func mutationsAreAudited() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let agent = w.token(.agent)
            let rid: HTTPFields = [.init("X-Request-ID")!: "req-audit-42"]
            let createdThread = try await http.call(.post, "/api/communication/threads", token: agent,
                                                    body: .json(#"{"thread_subject":"Audit mij"}"#), headers: rid)
            #expect(createdThread.status == 201)
            #expect(createdThread.headers[.init("X-Request-ID")!] == "req-audit-42", "X-Request-ID is echoed")
            let thread = createdThread.id
            live.env.clock.advance(by: 60)
            let mark = Date(timeIntervalSince1970: 1_795_600_800 + 30).iso8601
            let updated = try await http.call(.put, "/api/communication/threads/\(thread)", token: agent,
                                              body: .json(#"{"priority":"high","status":"in_progress"}"#),
                                              headers: [.init("X-Request-ID")!: "req-audit-43"])
            #expect(updated.status == 200)
            // Without a request id, one is made up, returned and recorded.
            let noted = try await http.post("/api/communication/messages", agent,
                #"{"thread_id":"\#(thread)","message_type":"internal_note","message_content":"notitie"}"#)
            let generated = try #require(noted.headers[.init("X-Request-ID")!])
            #expect(UUID(uuidString: generated) != nil)

            let trail = try ok(await http.get("/api/audit?entity=thread&entity_id=\(thread)", w.token(.executive))).items
            #expect(trail.map { $0["action"]?.string ?? "" } == ["thread.create", "thread.update"])
            let create = trail[0], update = trail[1]
            #expect(create["actor_contact_id"]?.string == w.agentA)
            #expect(create["actor_token_id"]?.string != nil)
            #expect(create["request_id"]?.string == "req-audit-42")
            #expect(create["entity"]?.string == "thread" && create["entity_id"]?.string == thread)
            #expect(create["before"] == nil || create["before"]?.isNull == true)
            #expect(create["after"]?["thread_subject"]?.string == "Audit mij")
            #expect(create["at"]?.string?.hasSuffix("Z") == true)
            #expect(update["request_id"]?.string == "req-audit-43")
            #expect(update["before"]?["priority"]?.string == "normal" && update["after"]?["priority"]?.string == "high")
            #expect(update["before"]?["status"]?.string == "open" && update["after"]?["status"]?.string == "in_progress")
            let messageAudit = try ok(await http.get("/api/audit?entity=message", w.adminToken)).items
            #expect(messageAudit.last?["request_id"]?.string == generated)
            #expect(messageAudit.last?["action"]?.string == "message.create")

            // Filters: actor, since; pagination covers every entry once.
            let byAgent = try ok(await http.get("/api/audit?actor=\(w.agentA)", w.adminToken)).items
            #expect(byAgent.count == 3 && byAgent.allSatisfy { $0["actor_contact_id"]?.string == w.agentA })
            let since = try ok(await http.get("/api/audit?since=\(mark)", w.adminToken)).items
            #expect(since.map { $0["action"]?.string ?? "" } == ["thread.update", "message.create"])
            let all = try ok(await http.get("/api/audit?limit=500", w.adminToken)).items
            #expect(all.count > 20, "seeding through the API is audited too")
            let actions = Set(all.compactMap { $0["action"]?.string })
            for a in ["team.create", "contact.create", "token.issue", "channel.create", "thread.create", "thread.update", "message.create"] {
                #expect(actions.contains(a), "\(a) audited")
            }
            let paged = try await http.all("/api/audit", w.adminToken, limit: 7)
            #expect(paged.items == all)
            // A refused request leaves no audit entry.
            _ = try await http.put("/api/communication/threads/\(thread)", w.token(.executive), #"{"priority":"low"}"#)
            #expect(try ok(await http.get("/api/audit?limit=500", w.adminToken)).items.count == all.count)
        }
    }
}
