import CommHubDomain
import CommHubEngine
@testable import CommHubServer
import CommHubStore
import Crypto
import Foundation
import HTTPTypes
import NIOCore
import Testing

/// GDPR export and erasure over the real server and real LMDB files, and
/// encryption at rest checked on the bytes of the data directory.
@Suite("Data protection")
struct DataProtectionTests {
    /// Personal data of the person who is erased: every string must be gone.
    static let name = "Xanthippe Vrolijk-Quast"
    static let email = "xanthippe.quast@voorbeeld.nl"
    static let phone = "+31687654321"
    static let text = "Mijn laadpaal code is ZEBRA-7731-GEHEIM"
    static let fileText = "ATTACHMENT-BYTES-QWERTY-991-PRIVE"
    static let orderNumber = "CC-ORDER-55117"
    static let taskTitle = "Bel Xanthippe terug over ZEBRA"
    /// Another customer, who stays.
    static let otherText = "Andere klant blijft LEESBAAR-4242"

    static var secrets: [String] { [name, email, phone, String(phone.dropFirst()), text, fileText, orderNumber, taskTitle] }

    /// Every file under `root` (journal, snapshots, keys, attachments) and the
    /// needles found in its raw bytes.
    static func rawHits(_ root: String, _ needles: [String]) -> [String] {
        var hits: [String] = []
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: root) else { return ["cannot walk \(root)"] }
        for case let rel as String in walker {
            let path = root + "/" + rel
            var dir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &dir), !dir.boolValue, let data = fm.contents(atPath: path) else { continue }
            for n in needles where data.range(of: Data(n.utf8)) != nil { hits.append("\(rel): \(n)") }
        }
        return hits
    }

    /// Seeds a customer with an order, two inbound messages, an agent's
    /// note with a file and a task; and another customer. Returns the ids.
    static func seedPerson(_ http: HTTP, _ w: World) async throws -> (customer: String, thread: String, otherThread: String) {
        let admin = Harness.adminToken
        let customer = UUID().uuidString.lowercased()
        let order = UUID().uuidString.lowercased()
        try ok(await http.post("/api/directory", admin, #"""
            {"customers":[{"id":"\#(customer)","name":"\#(name)","emails":["\#(email)"],"phones":["\#(phone)"]}],
             "orders":[{"id":"\#(order)","order_number":"\#(orderNumber)","customer_id":"\#(customer)","brand":"chargecars"}]}
            """#))
        let first = try await w.ingest(http, channel: w.emailChannel, externalID: "p-1", subject: "Vraag over \(orderNumber)",
                                       text: text, email: email)
        let thread = try #require(first["thread_id"]?.string)
        _ = try await w.ingest(http, channel: w.emailChannel, externalID: "p-2", subject: "Re: Vraag", text: text + " (nogmaals)", email: email)
        let file = try await http.call(.post, "/api/attachments?file_name=notitie.txt", token: admin,
                                       body: .bytes(ByteBuffer(string: fileText)), headers: [.contentType: "text/plain"])
        try #require(file.status == 201, "\(file)")
        let sha = try #require(file.json["sha256"]?.string)
        try created(await http.post("/api/communication/messages", admin, #"""
            {"thread_id":"\#(thread)","message_type":"internal_note","message_content":"Notitie voor \#(name)",
             "attachments":[{"file_name":"notitie.txt","content_type":"text/plain","size_bytes":\#(fileText.utf8.count),"sha256":"\#(sha)"}]}
            """#))
        try created(await http.post("/api/tasks", admin, #"{"task_title":"\#(taskTitle)","thread_id":"\#(thread)"}"#))
        let other = try await w.ingest(http, channel: w.emailChannel, externalID: "o-1", subject: "Andere vraag", text: otherText,
                                       email: "andere.klant@voorbeeld.nl")
        return (customer, thread, try #require(other["thread_id"]?.string))
    }

    /// Reads the entries of a ustar archive (name → bytes).
    static func untar(_ bytes: [UInt8]) -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        var pos = 0
        while pos + 512 <= bytes.count {
            let header = Array(bytes[pos..<(pos + 512)])
            if header.allSatisfy({ $0 == 0 }) { break }
            var name = String(decoding: header[0..<100].prefix { $0 != 0 }, as: UTF8.self)
            let prefix = String(decoding: header[345..<500].prefix { $0 != 0 }, as: UTF8.self)
            if !prefix.isEmpty { name = prefix + "/" + name }
            let sizeText = String(decoding: header[124..<136].prefix { $0 != 0 && $0 != 32 }, as: UTF8.self)
            let size = Int(sizeText, radix: 8) ?? 0
            out[name] = Array(bytes[(pos + 512)..<min(bytes.count, pos + 512 + size)])
            pos += 512 + (size + 511) / 512 * 512
        }
        return out
    }

    @Test("export holds the person's directory entry, threads, bodies, files, tasks and audit entries; admins only")
    func exportIsComplete() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let ids = try await Self.seedPerson(http, w)
            let denied = try await http.get("/api/gdpr/customers/\(ids.customer)/export", w.tokens[.manager])
            #expect(denied.status == 403)
            #expect(try await http.get("/api/gdpr/customers/\(UUID())/export", Harness.adminToken).status == 404)

            let (head, body) = try await http.exec("/api/gdpr/customers/\(ids.customer)/export", .get,
                                                   [.authorization: "Bearer \(Harness.adminToken)"], nil)
            #expect(head.status.code == 200, "\(String(buffer: body).prefix(400))")
            #expect(head.headerFields[.contentType] == "application/x-tar")
            let entries = Self.untar(Array(body.readableBytesView))
            func text(_ name: String) -> String { String(decoding: entries[name] ?? [], as: UTF8.self) }
            #expect(text("customer.json").contains(Self.name) && text("customer.json").contains(Self.email))
            #expect(text("orders.json").contains(Self.orderNumber))
            #expect(text("tasks.json").contains(Self.taskTitle))
            #expect(entries["threads/\(ids.thread)/"] != nil, "directory entries for threads")
            let messages = text("threads/\(ids.thread)/messages.json")
            #expect(messages.contains(Self.text) && messages.contains("nogmaals") && messages.contains("Notitie voor"))
            let files = entries.filter { $0.key.hasPrefix("threads/\(ids.thread)/attachments/") && !$0.key.hasSuffix("/") }
            #expect(files.values.map { String(decoding: $0, as: UTF8.self) } == [Self.fileText])
            #expect(text("audit.json").contains("message.create") && text("audit.json").contains("task.create"))
            // Nothing about anyone else.
            #expect(entries["threads/\(ids.otherThread)/thread.json"] == nil)
            #expect(!entries.values.contains { String(decoding: $0, as: UTF8.self).contains(Self.otherText) })
            let manifest = text("manifest.json")
            #expect(manifest.contains(#""threads":1"#) && manifest.contains(#""messages":3"#) && manifest.contains(#""files":1"#))
            // The export itself is in the trail.
            let trail = try await http.get("/api/audit?entity=customer&entity_id=\(ids.customer)", Harness.adminToken)
            #expect(trail.items.contains { $0["action"]?.string == "customer.export" })
        }
    }

    @Test("erasure: no byte of the person in the data directory, counts kept, skeleton left, no re-link, old snapshot brings nothing back")
    func erasureShredsEverything() async throws {
        let root = try Harness.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = SimulatedClock()
        let key = SymmetricKey(size: .bits256)
        let env = try await Harness.open(root: root, clock: clock, key: key)
        let (ids, before) = try await Harness.serve(env) { live -> ((customer: String, thread: String, otherThread: String), JSONValue) in
            let http = live.http
            let w = try await World.seed(http)
            let ids = try await Self.seedPerson(http, w)
            // Encryption at rest: already before the erasure, nothing is in the clear.
            #expect(Self.rawHits(root, Self.secrets + [Self.otherText]) == [])
            return (ids, try await ok(http.get("/api/analytics/overview", Harness.adminToken)).json)
        }
        // A snapshot from before the erasure.
        let early = try await env.durable.snapshot()

        let after = try await Harness.serve(env) { live -> JSONValue in
            let http = live.http
            let w = World.reusing(Harness.adminToken)
            #expect(try await http.post("/api/gdpr/customers/\(ids.customer)/erase", w.tokens[.manager] ?? "x", "{}").status != 200)
            let erased = try await ok(http.post("/api/gdpr/customers/\(ids.customer)/erase", Harness.adminToken, "{}"))
            #expect(erased.json["threads_erased"]?.int == 1)
            #expect(erased.json["messages_erased"]?.int == 3)
            #expect(try await http.post("/api/gdpr/customers/\(ids.customer)/erase", Harness.adminToken, "{}").status == 404)

            // The thread stays, as a skeleton.
            let thread = try await ok(http.get("/api/communication/threads/\(ids.thread)", Harness.adminToken)).json
            #expect(thread["thread_subject"]?.string == ThreadSkeleton.erasedSubject)
            #expect(thread["customer_id"] == nil || thread["customer_id"] == .null)
            let messages = try await http.get("/api/communication/messages?thread_id=\(ids.thread)", Harness.adminToken)
            #expect(messages.items.count == 3)
            #expect(!messages.text.contains(Self.text) && !messages.text.contains(Self.email))
            // Nothing in the directory.
            let customers = try await http.get("/api/customers?q=Xanthippe", Harness.adminToken)
            #expect(customers.items.isEmpty)
            // The other customer is untouched.
            let other = try await http.get("/api/communication/messages?thread_id=\(ids.otherThread)", Harness.adminToken)
            #expect(other.text.contains(Self.otherText))
            return try await ok(http.get("/api/analytics/overview", Harness.adminToken)).json
        }
        #expect(Self.counts(before) == Self.counts(after), "anonymised counts survive the erasure")
        try await env.durable.snapshot()
        await env.durable.shutdown(snapshot: false)

        // Raw bytes: nothing.
        #expect(Self.rawHits(root, Self.secrets) == [])

        // With the master key: nothing readable either, in the journal or the old snapshot.
        do {
            let writer = try JournalWriter(directory: TestEnv.storeDirectory(root), options: JournalOptions(syncMode: .noSync, mapSize: 256 << 20),
                                           logger: Harness.logger)
            defer { writer.close() }
            var leaked: [String] = []
            // Records before the oldest snapshot are pruned: the rest of the journal, then the snapshot.
            try writer.replay(after: early.startSeq) { e in
                let json = String(decoding: (try? JSONEncoder().encode(e.event)) ?? Data(), as: UTF8.self)
                for s in Self.secrets where json.contains(s) { leaked.append("seq \(e.seq) \(e.event.name): \(s)") }
            }
            #expect(leaked == [])
            let old = try #require(try writer.snapshots().first { $0.id == early.id })
            let skipped = try writer.readSnapshot(old) { record in
                let text = String(decoding: record, as: UTF8.self)
                for s in Self.secrets where text.contains(s) { leaked.append("snapshot \(old.id): \(s)") }
            }
            #expect(leaked == [])
            #expect(skipped > 0, "the person's records are in the old snapshot, sealed under destroyed keys")
            #expect(try writer.hasDataKey(.customer(try #require(CustomerID(ids.customer)))) == false)
            // Make the newest snapshot unreadable: the next start must fall back to the one from before the erasure.
            let newest = try #require(try writer.snapshots().first)
            #expect(newest.id != early.id)
            try await writer.injectRawSnapshotChunkForTesting(snapshotID: newest.id, chunkIndex: 0, bytes: [1, 2, 3])
        }
        let again = try await Harness.open(root: root, clock: clock, key: key)
        #expect(again.durable.restoreReport.snapshotID == early.id)
        try await Harness.serve(again) { live in
            let http = live.http
            let thread = try await ok(http.get("/api/communication/threads/\(ids.thread)", Harness.adminToken)).json
            #expect(thread["thread_subject"]?.string == ThreadSkeleton.erasedSubject)
            let messages = try await http.get("/api/communication/messages?thread_id=\(ids.thread)", Harness.adminToken)
            #expect(messages.items.count == 3 && !messages.text.contains(Self.text))
            #expect(try await http.get("/api/customers?q=Xanthippe", Harness.adminToken).items.isEmpty)
            let restored = try await ok(http.get("/api/analytics/overview", Harness.adminToken)).json
            #expect(Self.counts(restored) == Self.counts(after), "\(Self.counts(restored))\n\(Self.counts(after))")

            // A new message from the same address is never matched to the erased person or their thread.
            let w = World.reusing(Harness.adminToken)
            let channel = try #require(await live.engine.supervisor.channelList().first { $0.channelType == .emailOutlook })
            var ww = w
            ww.emailChannel = channel.id.description
            ww.gatewayToken = try await created(http.post("/api/gateway-tokens", Harness.adminToken, #"{"label":"gw2"}"#)).json["token"]!.string!
            let fresh = try await ww.ingest(http, channel: ww.emailChannel, externalID: "p-3", subject: "Re: Vraag over \(Self.orderNumber)",
                                            text: "nieuw", email: Self.email)
            #expect(fresh["thread_id"]?.string != ids.thread)
            let freshThread = try await ok(http.get("/api/communication/threads/\(fresh["thread_id"]!.string!)", Harness.adminToken)).json
            #expect(freshThread["customer_id"] == nil || freshThread["customer_id"] == .null)
        }
        await again.durable.shutdown(snapshot: false)
    }

    @Test("retention on a simulated clock: closed threads past their brand and channel rule keep only their skeleton; the audit trail has its own")
    func retentionExpiresOnTheClock() async throws {
        try await Harness.run { live in
            let http = live.http
            let admin = Harness.adminToken
            let w = try await World.seed(http)
            let clock = live.env.clock
            func thread(_ r: JSONValue) throws -> String { try #require(r["thread_id"]?.string) }
            let mail = try thread(try await w.ingest(http, channel: w.emailChannel, externalID: "r-1", subject: "Oud", text: "VERLOOPT-MAIL-1"))
            let whatsapp = try thread(try await w.ingest(http, channel: w.whatsappChannel, externalID: "r-2", subject: "Ander merk", text: "BLIJFT-WA-2"))
            let open = try thread(try await w.ingest(http, channel: w.emailChannel, externalID: "r-3", subject: "Open", text: "BLIJFT-OPEN-3",
                                                     email: "iemand.anders@voorbeeld.nl"))
            for t in [mail, whatsapp] {
                try ok(await http.put("/api/communication/threads/\(t)", admin, #"{"status":"resolved"}"#))
            }
            // Bad input changes nothing.
            let bad = try await http.put("/api/retention", admin, #"{"rules":[{"business_entity":"chargecars","keep_closed_threads_months":0}]}"#)
            #expect(bad.status == 422 && bad.isErrorShape, "\(bad)")
            #expect(try await http.put("/api/retention", w.token(.manager), #"{"rules":[]}"#).status == 403)
            let rule = #"{"business_entity":"chargecars","channel_type":"email_outlook","keep_closed_threads_months":1}"#
            try ok(await http.put("/api/retention", admin, #"{"rules":[\#(rule)]}"#))
            let policy = try await ok(http.get("/api/retention", admin)).json
            #expect(policy["rules"]?.array?.count == 1)

            _ = clock.advance(by: 20 * 86_400)
            #expect(try await live.engine.enforceRetention().threads == 0, "20 days: within the month")
            _ = clock.advance(by: 20 * 86_400)
            #expect(try await live.engine.enforceRetention().threads == 1, "40 days: past the month")
            #expect(try await live.engine.enforceRetention().threads == 0, "a skeleton never expires again")

            let expired = try await ok(http.get("/api/communication/threads/\(mail)", admin)).json
            #expect(expired["thread_subject"]?.string == ThreadSkeleton.expiredSubject)
            let gone = try await http.get("/api/communication/messages?thread_id=\(mail)", admin)
            #expect(gone.items.count == 1 && !gone.text.contains("VERLOOPT-MAIL-1"))
            #expect(try await http.get("/api/communication/messages?thread_id=\(whatsapp)", admin).text.contains("BLIJFT-WA-2"))
            #expect(try await http.get("/api/communication/messages?thread_id=\(open)", admin).text.contains("BLIJFT-OPEN-3"))
            #expect(try live.env.durable.writer.hasDataKey(.thread(try #require(ThreadID(mail)))) == false)

            // The audit trail: its own retention.
            let before = try await http.get("/api/audit?limit=500", admin).items.count
            try ok(await http.put("/api/retention", admin, #"{"rules":[\#(rule)],"audit_retention_months":1}"#))
            _ = clock.advance(by: 40 * 86_400)
            let run = try await live.engine.enforceRetention()
            #expect(run.auditEntries >= before, "every entry older than a month")
            let left = try await http.get("/api/audit?limit=500", admin).items
            #expect(left.count < before)
            let cutoff = clock.now().addingTimeInterval(-32 * 86_400)
            #expect(left.allSatisfy { ($0["at"]?.string.flatMap { Date(iso8601: $0) } ?? .distantPast) > cutoff })
        }
    }

    @Test("admin-socket commands that change state leave an audit entry; reading ones do not")
    func adminSocketCommandsAreAudited() async throws {
        try await Harness.run { live in
            let w = try await World.seed(live.http)
            let console = AdminConsole(engine: live.engine, journal: live.env.durable.writer)
            _ = await console.handle("stats")
            let answer = await console.handle("presence \(w.agentA) away")
            #expect(answer.contains(#""ok":true"#), "\(answer)")
            _ = await console.handle("presence \(w.agentA) nonsense")
            let trail = try await live.http.get("/api/audit?entity=admin_socket", Harness.adminToken)
            #expect(trail.items.count == 1, "\(trail)")
            #expect(trail.items.first?["action"]?.string == "admin.presence")
            #expect(trail.items.first?["entity_id"]?.string == "\(w.agentA) away")
        }
    }

    /// The overview's counts (what analytics reads), without times.
    static func counts(_ v: JSONValue) -> String {
        let o = v.objectValue ?? [:]
        let keys: Set<String> = ["threads_total", "threads_by_status", "open_by_priority", "open_by_channel_type",
                                 "open_by_business_entity", "open_by_thread_type", "open_unassigned", "teams", "people"]
        let kept = o.filter { k, _ in keys.contains(k) }
        return String(decoding: (try? JSONEncoder.sorted.encode(JSONValue.object(kept))) ?? Data(), as: UTF8.self)
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return e
    }
}

extension World {
    /// A world whose only token is the admin's (a test continuing on a reopened server).
    static func reusing(_ admin: String) -> World {
        var w = World()
        w.tokens[.admin] = admin
        return w
    }
}
