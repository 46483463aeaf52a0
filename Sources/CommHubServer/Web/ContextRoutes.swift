import CommHubDomain
import CommHubEngine
import Foundation
import Hummingbird

/// What the thread view's side panel and the order view show: the customer,
/// organisation and order of a thread with the customer's other threads on
/// any channel; and everything about one order across customers and
/// channels (threads, internal notes, tasks — the owner's "order comments").
/// Only threads the caller may see are listed.
extension CommHubAPI {
    /// Most threads listed in a side panel or an order view.
    static let maxContextThreads = 200

    func registerContext(_ api: RouterGroup<APIContext>) {
        api.get("communication/threads/:id/context") { _, context in
            let who = try require(.readThreads, context)
            let v = try await visibleThread(try context.id("id", ThreadKind.self), who, history: true)
            let h = v.header
            var o: [String: JSONValue] = ["thread_id": .string(h.id.description)]
            let customer = await h.customerID.asyncMap { await supervisor.customer($0) } ?? nil
            o["customer"] = try customer.map(View.json) ?? .null
            let orgID = h.customerOrganizationID ?? customer?.organizationID
            o["customer_organization"] = try (await orgID.asyncMap { await supervisor.organization($0) } ?? nil).map(View.json) ?? .null
            o["partner_organization"] = try (await h.partnerOrganizationID.asyncMap { await supervisor.organization($0) } ?? nil)
                .map(View.json) ?? .null
            o["order"] = try (await h.orderID.asyncMap { await supervisor.order($0) } ?? nil).map(View.json) ?? .null
            var others: [ThreadHeader] = []
            if let c = h.customerID {
                var f = scoped(InboxFilter(statuses: []), who)
                f.customer = c
                others = await supervisor.headers(engine.inbox.page(f, limit: Self.maxContextThreads, cursor: nil).threadIDs)
                    .filter { $0.id != h.id }
            }
            o["customer_threads"] = try View.json(others)
            return try JSONResponse.make(JSONValue.object(o))
        }
        api.get("orders/:number/activity") { _, context in
            let who = try require(.readThreads, context)
            let number = context.parameters.get("number") ?? ""
            guard number.count <= 64, let order = await supervisor.order(number: number) else {
                throw APIError.notFound("no order with number \(number.prefix(64))")
            }
            var f = scoped(InboxFilter(statuses: []), who)
            f.order = order.id
            let threads = await supervisor.headers(engine.inbox.page(f, limit: Self.maxContextThreads, cursor: nil).threadIDs)
            let ids = Set(threads.map(\.id))
            // Internal notes of those threads, newest first, with their text.
            var notes: [(Date, JSONValue)] = []
            for t in threads {
                guard let view = await supervisor.thread(t.id) else { continue }
                for m in view.messages where m.messageType == .internalNote {
                    notes.append((m.createdAt, try View.message(m, body: try engine.bodies.body(for: m.id))))
                }
            }
            notes.sort { $0.0 > $1.0 }
            let orderID = order.id
            var tasks = await supervisor.tasks { t in t.orderID == orderID || (t.threadID.map(ids.contains) ?? false) }
            if let c = who.contact, !AccessPolicy.seesAllThreads(c.role) {
                tasks = tasks.filter { t in t.assignedToContactID == c.id || t.createdByContactID == c.id || (t.threadID.map(ids.contains) ?? false) }
            }
            tasks.sort { ($0.dueDate ?? "9999", $0.createdAt) < ($1.dueDate ?? "9999", $1.createdAt) }
            let customer = await order.customerID.asyncMap { await supervisor.customer($0) } ?? nil
            return try JSONResponse.make(JSONValue.object([
                "order": try View.json(order), "customer": try customer.map(View.json) ?? .null,
                "threads": try View.json(threads), "notes": .array(notes.map(\.1)), "tasks": try View.json(tasks),
            ]))
        }
    }

    /// A filter limited to what the caller may see.
    func scoped(_ filter: InboxFilter, _ who: Identity) -> InboxFilter {
        var f = filter
        if let c = who.contact, !AccessPolicy.seesAllThreads(c.role) {
            f.scopeTeams = Set(c.teams)
            f.scopeContact = c.id
        }
        return f
    }
}
