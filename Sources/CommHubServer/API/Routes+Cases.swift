import CommHubDomain
import CommHubWire
import CommHubEngine
import Foundation
import Hummingbird

extension CommHubAPI {
    /// Merging and splitting threads (`Supervisor.mergeThread`, `splitThread`).
    func registerCases(_ api: RouterGroup<APIContext>) {
        // The thread in the path joins `into` (its survivor); answers the survivor as GET shows it.
        api.post("communication/threads/:id/merge") { request, context in
            let who = try require(.writeThreads, context)
            let id = try context.id("id", ThreadKind.self)
            let merged = try await visibleThread(id, who)
            let body = try await request.decodeJSON(MergeThreadRequest.self, context: context)
            let survivor = try await visibleThread(body.into, who)
            let change = try await mapped { try await supervisor.mergeThread(id, into: body.into, by: who.contactID) }
            try await durable(change.events.last!.seq)
            let after = await supervisor.thread(body.into)!
            try await audit(context, "thread.merge", "thread", id.description, before: merged.header,
                            after: JSONValue.object(["merged_into_thread_id": .string(body.into.description)]))
            try await audit(context, "thread.merge", "thread", body.into.description, before: survivor.header, after: after.header)
            return try JSONResponse.make(try await detail(body.into))
        }
        // The message and the ones after it leave for a new thread; answers the new thread (201).
        api.post("communication/threads/:id/split") { request, context in
            let who = try require(.writeThreads, context)
            let id = try context.id("id", ThreadKind.self)
            let source = try await visibleThread(id, who)
            let body = try await request.decodeJSON(SplitThreadRequest.self, context: context)
            let change = try await mapped { try await supervisor.splitThread(id, from: body.fromMessageID, by: who.contactID) }
            try await durable(change.events.last!.seq)
            let new = await supervisor.thread(change.thread)!
            let after = await supervisor.thread(id)!
            try await audit(context, "thread.split", "thread", id.description, before: source.header, after: after.header)
            try await audit(context, "thread.split", "thread", change.thread.description, before: CommHubAPI.none, after: new.header)
            return try JSONResponse.make(try await detail(change.thread), status: .created)
        }
    }

    /// Where a merged or split thread went, and its satisfaction survey, for the thread's detail.
    func caseFields(_ v: ThreadView) async -> [String: JSONValue] {
        let id = v.header.id
        var o: [String: JSONValue] = [:]
        o["merged_into_thread_id"] = await supervisor.survivor(of: id).map { .string($0.description) } ?? .null
        o["split_from_thread_id"] = await supervisor.splitSource(of: id).map { .string($0.description) } ?? .null
        let csat = await supervisor.satisfaction(id)
        o["csat_score"] = csat?.score.map { .number(Double($0)) } ?? .null
        o["csat_scored_at"] = csat?.answeredAt.map { .string($0.iso8601) } ?? .null
        o["csat_agent_contact_id"] = csat?.request.agent.map { .string($0.description) } ?? .null
        o["csat_requested_at"] = csat.map { .string($0.request.at.iso8601) } ?? .null
        return o
    }

    /// Writing to a merged thread is refused: its conversation continues in the survivor.
    func refuseIfMerged(_ id: ThreadID) async throws {
        if let s = await supervisor.survivor(of: id) {
            throw APIError.conflict("thread \(id) was merged into \(s); write to that thread")
        }
    }
}
