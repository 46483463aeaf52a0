import CommHubDomain
import CommHubEngine
import CommHubWire
import Foundation
import Hummingbird

extension CommHubAPI {
    static let maxIngestBatch = IngestBatch.maxEvents

    func registerIngest(_ api: RouterGroup<APIContext>) {
        api.post("ingest") { request, context in
            let who = try context.caller()
            guard who.isGateway || who.role == .admin else {
                throw APIError.forbidden("only gateway tokens (or admins) may push to /api/ingest")
            }
            let batch = try await request.decodeJSON(IngestBatch.self, context: context)
            guard !batch.events.isEmpty else { throw APIError(.unprocessableContent, "invalid", "events must not be empty") }
            guard batch.events.count <= Self.maxIngestBatch else {
                throw APIError(.contentTooLarge, "too_large", "at most \(Self.maxIngestBatch) events per batch")
            }
            let outcomes = await ingest(batch.events)
            let maxSeq = outcomes.compactMap(\.seq).max()
            if let maxSeq { try await durable(maxSeq) }
            // When every item failed the batch is an error: the contract's error
            // body (the first item's error) plus the per-item results.
            var body: [String: JSONValue] = ["results": try View.json(outcomes)]
            if outcomes.allSatisfy({ $0.status == "error" }), let first = outcomes.first?.error {
                body["error"] = .object(["code": .string(first.code),
                                         "message": .string(outcomes.count == 1 ? first.message : "every event failed; first: \(first.message)")])
                return try JSONResponse.make(JSONValue.object(body), status: .unprocessableContent)
            }
            return try JSONResponse.make(JSONValue.object(body))
        }
    }

    /// Applies ingest items in order; one bad item does not stop the others.
    /// Consecutive messages go to the supervisor as one batch.
    /// Applies ingest items through the engine's one ingest use case and
    /// answers in the contract's shape (a status text per item).
    func ingest(_ items: [IngestItem]) async -> [IngestOutcome] {
        await IngestService(engine: engine).ingest(items).map(IngestOutcome.init)
    }

    func registerAudit(_ api: RouterGroup<APIContext>) {
        api.get("audit") { request, context in
            _ = try require(.readAudit, context)
            var since: Date?
            if let s = request.query("since") {
                guard let d = Date(iso8601: s) else { throw APIError.badRequest("since must be an ISO 8601 time such as 2026-11-25T10:30:00Z") }
                guard WireDates.contains(d) else { throw APIError.badRequest("since must be inside \(WireDates.rangeText)") }
                since = d
            }
            let actor = try request.uuidQuery("actor", ContactKind.self)
            // The cursor is a key this server gave out as next_cursor (a journal sequence number).
            var after: UInt64 = 0
            if let raw = request.query("cursor") {
                guard let n = UInt64(raw) else {
                    throw APIError.badRequest("cursor '\(raw.prefix(40))' is not one this server gave out")
                }
                after = n
            }
            let query = AuditQuery(entity: request.query("entity"), entityID: request.query("entity_id"), actor: actor, since: since)
            let limit = try request.limit()
            let audit = engine.audit
            // Read from LMDB off the request's executor.
            let page = try await Task.detached { try audit.auditPage(after: after, limit: limit, matches: query.matches) }.value
            return try JSONResponse.list(page.entries.map(\.entry), next: page.next.map(String.init))
        }
    }
}

extension IngestOutcome {
    /// The contract's answer for one typed outcome.
    init(_ o: IngestItemOutcome) {
        switch o {
        case .created(let r), .duplicate(let r):
            self.init(status: o.status, threadID: r.threadID, messageID: r.messageID, seq: r.seq, rule: r.rule?.rawValue)
        case .updated(let seq):
            self.init(status: o.status, seq: seq)
        case .unchanged:
            self.init(status: o.status)
        case .ignored(let reason):
            self.init(status: o.status, error: APIErrorBody(code: "not_found", message: reason))
        case .failed(let e):
            self.init(status: o.status, error: APIErrorBody(code: e.code.rawValue, message: e.message))
        }
    }
}
