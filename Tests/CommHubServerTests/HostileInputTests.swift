import CommHubDomain
@testable import CommHubServer
import Foundation
import Testing

/// Hostile request bodies through the real server over loopback: JSON the
/// contract does not allow (duplicate keys, deep nesting, oversized
/// values) and numbers, dates and lengths outside their bounds. Every
/// refusal names the field and changes nothing (no event gets a sequence number).
@Suite("Hostile input") struct HostileInputTests {
    // MARK: Strict JSON

    @Test func duplicateKeysDeepNestingAndOversizedValuesAreRefusedNamingThePath() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            let deep = String(repeating: #"{"a":"#, count: 507) + "1" + String(repeating: "}", count: 507)
            let cases: [(String, String, String, Int, [String])] = [
                ("duplicate key at the top", "/api/communication/threads", #"{"thread_subject":"a","thread_subject":"b"}"#, 400,
                 ["'thread_subject' appears twice", "body"]),
                ("duplicate key by another spelling", "/api/communication/threads", #"{"thread_subject":"a","threadSubject":"b"}"#, 400,
                 ["thread_subject", "threadSubject"]),
                ("duplicate key escaped", "/api/communication/threads", #"{"thread_subject":"a","thread_\u0073ubject":"b"}"#, 400,
                 ["appears twice"]),
                ("duplicate key inside free-form JSON", "/api/tasks", #"{"task_title":"t","reminder_settings":{"at":"09:00","at":"10:00"}}"#, 400,
                 ["'at' appears twice in reminder_settings"]),
                ("reminder_settings 507 deep (the issue)", "/api/tasks", #"{"task_title":"t","reminder_settings":\#(deep)}"#, 400,
                 ["reminder_settings.a.a", "32 levels"]),
                ("reminder_settings over the stored bound", "/api/tasks",
                 #"{"task_title":"t","reminder_settings":\#(String(repeating: #"{"a":"#, count: 17) + "1" + String(repeating: "}", count: 17))}"#,
                 422, ["reminder_settings", "16 levels"]),
                ("metadata over 64 KiB", "/api/communication/messages",
                 #"{"thread_id":"\#(w.threadA)","message_type":"internal_note","message_content":"x","metadata":{"blob":"\#(String(repeating: "x", count: 70_000))"}}"#,
                 422, ["metadata", "65536 bytes"]),
                ("escalation_rules nested in an array bomb", "/api/communication/channels",
                 #"{"channel_type":"sms","channel_name":"S","escalation_rules":{"x":\#(String(repeating: "[", count: 40) + String(repeating: "]", count: 40))}}"#,
                 400, ["escalation_rules.x", "32 levels"]),
                ("too many directory records in one array", "/api/directory",
                 #"{"organizations":[\#(Array(repeating: "{}", count: 10_001).joined(separator: ","))]}"#, 400, ["organizations", "10000 elements"]),
                ("a number too long", "/api/contacts", #"{"name":"x","max_open_threads":1\#(String(repeating: "0", count: 100))}"#, 400,
                 ["max_open_threads", "64 characters"]),
                ("trailing garbage", "/api/communication/threads", #"{"thread_subject":"a"} {"#, 400, ["not valid JSON"]),
            ]
            let before = live.env.lastSeq
            for (name, path, body, status, mentions) in cases {
                let r = try await http.post(path, admin, body)
                #expect(r.status == status, "\(name): \(r)")
                #expect(r.isErrorShape, "\(name): \(r)")
                for m in mentions { #expect(r.errorMessage?.contains(m) == true, "\(name): should mention \(m): \(r)") }
            }
            #expect(live.env.lastSeq == before, "nothing changed")
        }
    }

    /// The issue's storage breakage: whatever free-form JSON is accepted can
    /// be journaled, audited, listed and snapshotted.
    @Test func acceptedFreeFormJSONAtItsBoundsIsStoredAuditedAndSnapshotted() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let deepest = String(repeating: #"{"a":"#, count: FreeFormJSON.maxDepth) + #""x""# + String(repeating: "}", count: FreeFormJSON.maxDepth)
            let task = try created(await http.post("/api/tasks", w.token(.agent), #"{"task_title":"diep","reminder_settings":\#(deepest)}"#))
            #expect(task.json["reminder_settings"] != nil)
            let audit = try ok(await http.get("/api/audit?entity=task&entity_id=\(task.id)", w.adminToken))
            #expect(audit.items.count == 1)
            try ok(await http.get("/api/tasks", w.adminToken))
            _ = try await live.env.durable.snapshot()
        }
    }

    // MARK: Numbers, dates and text from outside

    @Test func numbersDatesAndLengthsAreRangeChecked() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            let ingest = { (received: String) in
                #"{"events":[\#(World.inbound(channel: w.emailChannel, externalID: "r-" + received, receivedAt: received))]}"#
            }
            let cases: [(String, String, String, Int, [String])] = [
                ("response_sla_hours 1e-300 (the issue)", "/api/communication/channels",
                 #"{"channel_type":"sms","channel_name":"S","response_sla_hours":1e-300}"#, 422, ["response_sla_hours", "0.1", "720"]),
                ("response_sla_hours 1e300", "/api/communication/channels",
                 #"{"channel_type":"sms","channel_name":"S","response_sla_hours":1e300}"#, 422, ["response_sla_hours", "720"]),
                ("escalation_after_hours negative", "/api/communication/channels",
                 #"{"channel_type":"sms","channel_name":"S","auto_assignment_rules":{"escalation_after_hours":-2}}"#, 422,
                 ["auto_assignment_rules.escalation_after_hours"]),
                ("max_open_threads negative", "/api/contacts", #"{"name":"X","max_open_threads":-1}"#, 422, ["max_open_threads", "0", "10000"]),
                ("max_open_threads beyond Int", "/api/contacts", #"{"name":"X","max_open_threads":1e40}"#, 400, ["whole-number"]),
                ("negative attachment size", "/api/communication/messages",
                 #"{"thread_id":"\#(w.threadA)","message_type":"internal_note","message_content":"x","attachments":[{"file_name":"a","content_type":"b","size_bytes":-5}]}"#,
                 422, ["attachments[0].size_bytes", "0 to"]),
                ("call of minus a second", "/api/communication/messages",
                 #"{"thread_id":"\#(w.threadA)","message_type":"outgoing","call":{"direction":"inbound","duration_seconds":-1}}"#,
                 422, ["call.duration_seconds", "86400"]),
                ("too many tags", "/api/communication/threads",
                 #"{"thread_subject":"x","tags":[\#((0..<51).map { "\"t\($0)\"" }.joined(separator: ","))]}"#, 422, ["tags", "50"]),
                ("ingest from 1999", "/api/ingest", ingest("1999-12-31T23:59:59Z"), 400, ["events[0].received_at", "2000-01-01"]),
                ("ingest from 2100", "/api/ingest", ingest("2100-01-01T00:00:00Z"), 400, ["events[0].received_at", "2100-01-01"]),
                ("ingest with a negative attachment size", "/api/ingest",
                 #"{"events":[\#(World.inbound(channel: w.emailChannel, externalID: "neg").replacingOccurrences(of: #""attachments":[]"#, with: #""attachments":[{"file_name":"a","content_type":"b","size_bytes":-1}]"#))]}"#,
                 422, ["events[0].attachments[0].size_bytes"]),
                ("ingest with an empty external id", "/api/ingest",
                 #"{"events":[\#(World.inbound(channel: w.emailChannel, externalID: ""))]}"#, 422, ["events[0].external_message_id"]),
                ("task due in 1900", "/api/tasks", #"{"task_title":"x","due_date":"1900-01-01"}"#, 422, ["due_date", "2000-01-01"]),
            ]
            let before = live.env.lastSeq
            for (name, path, body, status, mentions) in cases {
                let token = path == "/api/ingest" ? w.gatewayToken : admin
                let r = try await http.post(path, token, body)
                #expect(r.status == status, "\(name): \(r)")
                for m in mentions { #expect(r.errorMessage?.contains(m) == true, "\(name): should mention \(m): \(r)") }
            }
            for query in ["/api/audit?since=1900-01-01T00:00:00Z", "/api/communication/threads?q=\(String(repeating: "x", count: 201))"] {
                let r = try await http.get(query, admin)
                #expect(r.status == 400, "\(query): \(r)")
            }
            #expect(live.env.lastSeq == before, "nothing changed")
        }
    }
}
