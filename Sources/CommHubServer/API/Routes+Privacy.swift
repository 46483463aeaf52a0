import CommHubDomain
import CommHubEngine
import CommHubStore
import CommHubWire
import Foundation
import Hummingbird

/// GDPR: `GET /api/gdpr/customers/{id}/export` (everything held about one
/// person, one tar archive) and `POST /api/gdpr/customers/{id}/erase`
/// (crypto-shredding: see `StoreProtection`). Admins only; both are audited.
extension CommHubAPI {
    /// Audit entries an export carries, at most (a person with more is a
    /// data-quality problem; the archive says it was cut in `manifest.json`).
    static let maxExportAuditEntries = 100_000

    func registerPrivacy(_ api: RouterGroup<APIContext>) {
        api.get("gdpr/customers/:id/export") { request, context in
            _ = try require(.personalData, context)
            let id = try context.id("id", CustomerKind.self)
            guard let record = await supervisor.customerRecord(id) else { throw APIError.notFound("no customer with id \(id)") }
            let archive = try await exportArchive(record)
            try await audit(context, "customer.export", "customer", id.description, before: CommHubAPI.none,
                            after: ["threads": record.threads.count, "bytes": archive.count])
            let headers: HTTPFields = [
                .contentType: "application/x-tar",
                .contentLength: String(archive.count),
                .contentDisposition: "attachment; filename=\"customer-\(id).tar\"",
                .cacheControl: "no-store",
            ]
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: archive)))
        }

        api.post("gdpr/customers/:id/erase") { request, context in
            _ = try require(.personalData, context)
            let id = try context.id("id", CustomerKind.self)
            let who = context.identity
            // The entry names the customer's id only: what was erased is not written again.
            let entry = AuditEntry(at: engine.clock.now(), actorContactID: who?.contactID, actorTokenID: who?.token.id,
                                   action: "customer.erase", entity: "customer", entityID: id.description,
                                   requestID: context.requestID, scope: .system)
            let outcome = try await mapped { try await engine.eraseCustomer(id, audit: entry) }
            return try JSONResponse.make(ErasureAnswer(
                customerID: id.description, threadsErased: outcome.threadCount, messagesErased: outcome.messageCount,
                ordersRemoved: outcome.erasure.orders.count, tasksRemoved: outcome.erasure.tasks.count, seq: outcome.seq))
        }
    }

    /// `GET /api/retention` (readers of configuration) and `PUT /api/retention`
    /// (admins): how long the content of finished threads is kept per brand
    /// and channel type, and how long the audit trail is kept.
    func registerRetention(_ api: RouterGroup<APIContext>) {
        api.get("retention") { _, context in
            _ = try require(.readChannelConfiguration, context)
            return try JSONResponse.make(await supervisor.retentionPolicy())
        }
        api.put("retention") { request, context in
            _ = try require(.writeConfiguration, context)
            let policy = try await request.decodeJSON(RetentionPolicy.self, context: context)
            let before = await supervisor.retentionPolicy()
            let problems = policy.problems
            guard problems.isEmpty else { throw APIError(.unprocessableContent, "invalid", problems.joined(separator: "; ")) }
            let who = context.identity
            let entry = AuditEntry(at: engine.clock.now(), actorContactID: who?.contactID, actorTokenID: who?.token.id,
                                   action: "retention.update", entity: "retention", entityID: "policy",
                                   before: try View.json(before), after: try View.json(policy), requestID: context.requestID,
                                   scope: .system)
            let seq = try await mapped { try await supervisor.setRetention(policy, audit: entry) }
            try await durable(seq)
            return try JSONResponse.make(policy)
        }
    }

    struct ErasureAnswer: Encodable {
        var customerID: String
        var threadsErased: Int
        var messagesErased: Int
        var ordersRemoved: Int
        var tasksRemoved: Int
        var seq: UInt64

        enum CodingKeys: String, CodingKey {
            case customerID = "customer_id", threadsErased = "threads_erased", messagesErased = "messages_erased"
            case ordersRemoved = "orders_removed", tasksRemoved = "tasks_removed", seq
        }
    }

    /// The archive: `manifest.json`, `customer.json` (with organisation),
    /// `orders.json`, `tasks.json`, `audit.json`, and per thread
    /// `threads/<id>/thread.json`, `messages.json` (with bodies) and
    /// `attachments/<sha256>` (the files, as received).
    func exportArchive(_ r: CustomerRecord) async throws -> [UInt8] {
        var tar = TarArchive(modified: engine.clock.now())
        func file(_ name: String, _ value: some Encodable) throws {
            let data = try ContractJSON.sharedEncoder.encode(value)
            try tar.addFile(name, Array(data))
        }
        do {
            try tar.addDirectory("threads")
            var threadIDs = Set<String>(), messageIDs = Set<String>(), files = 0
            for t in r.threads {
                let dir = "threads/\(t.header.id)"
                threadIDs.insert(t.header.id.description)
                try tar.addDirectory(dir)
                try file(dir + "/thread.json", t.header)
                var messages: [JSONValue] = []
                var shas = Set<String>()
                for m in t.messages {
                    messageIDs.insert(m.id.description)
                    let body = try engine.bodies.body(for: m.id)
                    messages.append(try View.message(m, body: body))
                    for a in body?.attachments ?? [] { if let sha = a.sha256 { shas.insert(sha) } }
                }
                try file(dir + "/messages.json", messages)
                if let store = engine.attachments, !shas.isEmpty {
                    try tar.addDirectory(dir + "/attachments")
                    for sha in shas.sorted() {
                        guard let size = store.size(sha) else { continue }
                        try tar.addFile(dir + "/attachments/" + sha, try store.read(sha, offset: 0, length: size))
                        files += 1
                    }
                }
            }
            try file("customer.json", ExportedCustomer(customer: r.customer, organization: r.organization))
            try file("orders.json", r.orders)
            try file("tasks.json", r.tasks)
            let ids = (customer: r.customer.id.description, orders: Set(r.orders.map(\.id.description)),
                       tasks: Set(r.tasks.map(\.id.description)), threads: threadIDs, messages: messageIDs)
            let audit = engine.audit
            let limit = Self.maxExportAuditEntries
            let (entries, cut) = try await Task.detached { () -> ([AuditEntry], Bool) in
                var out: [AuditEntry] = []
                var after: UInt64 = 0
                while true {
                    let page = try audit.auditPage(after: after, limit: 1000) { e in
                        switch e.entity {
                        case "customer": e.entityID == ids.customer
                        case "thread": ids.threads.contains(e.entityID)
                        case "message": ids.messages.contains(e.entityID)
                        case "order": ids.orders.contains(e.entityID)
                        case "task": ids.tasks.contains(e.entityID)
                        default: false
                        }
                    }
                    out += page.entries.map { var e = $0.entry; e.scope = nil; return e }
                    if out.count >= limit { return (Array(out.prefix(limit)), true) }
                    guard let next = page.next else { return (out, false) }
                    after = next
                }
            }.value
            try file("audit.json", entries)
            try file("manifest.json", ExportManifest(customerID: r.customer.id.description, exportedAt: engine.clock.now(),
                                                     threads: r.threads.count, messages: messageIDs.count, files: files,
                                                     orders: r.orders.count, tasks: r.tasks.count, auditEntries: entries.count,
                                                     auditCut: cut))
        } catch let e as TarArchive.TooLarge {
            throw APIError(.contentTooLarge, "too_large", "\(e.description); ask the operator for an export from the data directory")
        }
        return tar.finished()
    }

    struct ExportedCustomer: Encodable {
        var customer: Customer
        var organization: Organization?
    }

    struct ExportManifest: Encodable {
        var customerID: String
        var exportedAt: Date
        var threads: Int
        var messages: Int
        var files: Int
        var orders: Int
        var tasks: Int
        var auditEntries: Int
        /// More audit entries exist than `maxExportAuditEntries`.
        var auditCut: Bool
    }
}
