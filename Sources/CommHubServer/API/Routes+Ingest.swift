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
    func ingest(_ items: [IngestItem]) async -> [IngestOutcome] {
        var out: [IngestOutcome] = []
        out.reserveCapacity(items.count)
        var i = 0
        while i < items.count {
            var messages: [InboundMessage] = []
            while i < items.count, case .message(let m) = items[i] {
                messages.append(m)
                i += 1
            }
            if !messages.isEmpty {
                for r in await supervisor.ingest(batch: messages) {
                    switch r {
                    case .success(let r):
                        out.append(IngestOutcome(status: r.duplicate ? "duplicate" : "created", threadID: r.threadID,
                                                 messageID: r.messageID, seq: r.seq, rule: r.rule?.rawValue))
                    case .failure(let e):
                        out.append(IngestOutcome(status: "error", error: APIErrorBody(code: e.code.rawValue, message: e.message)))
                    }
                }
                continue
            }
            guard case .delivery(let channel, let ext, let status, let at) = items[i] else { continue }
            i += 1
            do {
                if let seq = try await supervisor.updateDelivery(channel: channel, externalMessageID: ext, status: status,
                                                                 at: at ?? engine.clock.now()) {
                    out.append(IngestOutcome(status: "updated", seq: seq))
                } else {
                    out.append(IngestOutcome(status: "unchanged"))  // a repeated or late report
                }
            } catch let e as EngineError {
                out.append(IngestOutcome(status: "error", error: APIErrorBody(code: e.code.rawValue, message: e.message)))
            } catch {
                out.append(IngestOutcome(status: "error", error: APIErrorBody(code: "failed", message: "\(error)")))
            }
        }
        return out
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
            let after = request.query("cursor").flatMap(Int.init) ?? 0
            let page = await supervisor.auditTrail(entity: request.query("entity"), entityID: request.query("entity_id"),
                                                   actor: actor, since: since, limit: try request.limit(), after: after)
            return try JSONResponse.list(page.entries, next: page.next.map(String.init))
        }
    }
}
