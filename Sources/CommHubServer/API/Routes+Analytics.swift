import CommHubDomain
import CommHubEngine
import Foundation
import Hummingbird

extension CommHubAPI {
    /// `GET /api/analytics/overview`: the live KPIs a manager watches —
    /// threads by status, priority, channel and brand, overdue and
    /// unassigned open threads, queue depths and the load of every person.
    /// Managers, admins and executives see everything; team leaders see
    /// their own teams (`team_id` narrows further).
    func registerAnalytics(_ api: RouterGroup<APIContext>) {
        api.get("analytics/overview") { request, context in
            let who = try require(.readAnalytics, context)
            var teams = await supervisor.teamIDs()
            if let c = who.contact, !AccessPolicy.allows(c.role, .readAllAnalytics) { teams = Set(c.teams) }
            if let t = try request.uuidQuery("team_id", TeamKind.self) {
                guard teams.contains(t) else { throw APIError.forbidden("no access to the analytics of team \(t)") }
                teams = [t]
            }
            let all = AccessPolicy.allows(who.role ?? .agent, .readAllAnalytics) && request.query("team_id") == nil
            let figures = engine.inbox.figures(teams: all ? nil : teams, now: engine.clock.now())
            func object<E: ContractEnum>(_ counts: [E: Int]) -> JSONValue {
                .object(Dictionary(uniqueKeysWithValues: E.allCases.map { ($0.rawValue, JSONValue.number(Double(counts[$0] ?? 0))) }))
            }
            let queues = await supervisor.teamWorkloads(teams).map { t -> JSONValue in
                var o: [String: JSONValue] = [:]
                o["team_id"] = .string(t.id.description)
                o["team"] = .string(t.name)
                o["queue_depth"] = .number(Double(t.queueDepth))
                o["members_online"] = .number(Double(t.membersOnline))
                o["open_threads_assigned"] = .number(Double(t.openThreadsAssigned))
                o["capacity_free"] = .number(Double(t.capacityFree))
                return .object(o)
            }
            let people = await supervisor.people(inTeams: teams).map { p -> JSONValue in
                .object(["contact_id": .string(p.contact.id.description), "name": .string(p.contact.name),
                         "presence": .string(p.contact.presence.rawValue),
                         "open_threads": .number(Double(p.load)),
                         "max_open_threads": .number(Double(p.contact.maxOpenThreads))])
            }
            return try JSONResponse.make(JSONValue.object([
                "generated_at": .string(engine.clock.now().iso8601),
                "threads_total": .number(Double(figures.total)),
                "threads_by_status": object(figures.byStatus),
                "open_by_priority": object(figures.openByPriority),
                "open_by_channel_type": object(figures.openByChannel),
                "open_by_business_entity": object(figures.openByBrand),
                "open_by_thread_type": object(figures.openByType),
                "open_overdue": .number(Double(figures.overdue)),
                "open_unassigned": .number(Double(figures.unassigned)),
                "teams": .array(queues),
                "people": .array(people),
            ]))
        }
    }
}
