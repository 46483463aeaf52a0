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

extension CommHubAPI {
    /// `GET /api/analytics/{kpi}`: one of the owner's KPIs (`KPI`) over
    /// `from`…`to` (ISO 8601; default the last 7 days up to now) in `hour`
    /// or `day` buckets (Europe/Amsterdam days), filtered by `channel_type`,
    /// `team_id`, `agent`, `business_entity`, `thread_type`, optionally
    /// grouped by one of those (`group_by`). `format=csv` (or
    /// `Accept: text/csv`) gives the same rows as CSV.
    ///
    /// Who sees what: managers, admins and executives everything; team
    /// leaders their own teams; agents their own figures (`agent` is forced
    /// to them). Figures come from the analytics read model, summed off the
    /// supervisor: a request reads the hour buckets of its range only.
    func registerKPIs(_ api: RouterGroup<APIContext>) {
        api.get("analytics/:kpi") { request, context in
            let who = try require(.readThreads, context)
            let name = context.parameters.get("kpi") ?? ""
            guard let kpi = KPI(rawValue: name) else {
                throw APIError.notFound("no KPI '\(name)'; known: overview, \(KPI.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var q = try analyticsQuery(request)
            try narrow(&q, for: who)
            let figures = await supervisor.analyticsFigures()
            let answer = figures.answer(q)
            let prices = engine.configuration.messagePrices
            let rows = answer.cells.map { c in
                (c.bucketStart, c.group, kpi.figures(c.tally, workload: c.workload, prices: prices))
            }
            let latestWorkload = answer.latestWorkload
            let total = kpi.figures(answer.total, workload: kpi == .workload ? latestWorkload : [:], prices: prices)
            let wantsCSV = request.query("format") == "csv"
                || (request.query("format") == nil && (request.headers[.accept] ?? "").contains("text/csv"))
            if let f = request.query("format"), f != "csv", f != "json" {
                throw APIError.badRequest("format must be json or csv")
            }
            if wantsCSV { return Self.csv(kpi: kpi, rows: rows, columns: total.map(\.0)) }
            func object(_ values: [(String, Double?)]) -> JSONValue {
                .object(Dictionary(values.map { ($0.0, $0.1.map(JSONValue.number) ?? .null) }, uniquingKeysWith: { a, _ in a }))
            }
            var out: [String: JSONValue] = [
                "kpi": .string(kpi.rawValue),
                "from": .string(q.from.iso8601), "to": .string(q.to.iso8601),
                "bucket": .string(q.bucket.rawValue),
                "group_by": q.groupBy.map { .string($0.rawValue) } ?? .null,
                "series": .array(rows.map { r in
                    .object(["bucket_start": .string(r.0.iso8601), "group": .string(r.1), "values": object(r.2)])
                }),
                "total": object(total),
            ]
            if let t = kpi.target {
                out["target"] = .object(["figure": .string(t.figure), "value": .number(t.value),
                                         "direction": .string(t.atLeast ? "at_least" : "at_most")])
            }
            if kpi == .cost {
                out["prices_cents_per_message"] = .object(Dictionary(uniqueKeysWithValues:
                    prices.centsPerMessage.map { ($0.key.rawValue, JSONValue.number($0.value)) }))
            }
            if kpi == .channelPreference {
                out["customers_by_preferred_channel"] = .object(Dictionary(uniqueKeysWithValues:
                    figures.preferredChannel.filter { $0.value > 0 }.map { ($0.key.rawValue, JSONValue.number(Double($0.value))) }))
            }
            return try JSONResponse.make(JSONValue.object(out))
        }
    }

    /// The query of a request, every parameter range-checked.
    func analyticsQuery(_ request: Request) throws -> AnalyticsQuery {
        func date(_ name: String) throws -> Date? {
            guard let raw = request.query(name), !raw.isEmpty else { return nil }
            guard let d = Date(iso8601: raw) else { throw APIError.badRequest("\(name) must be an ISO 8601 time such as 2026-11-25T00:00:00Z") }
            return d
        }
        func choice<E: RawRepresentable>(_ name: String, _: E.Type, _ known: [String]) throws -> E? where E.RawValue == String {
            guard let raw = request.query(name), !raw.isEmpty else { return nil }
            guard let v = E(rawValue: raw) else { throw APIError.badRequest("\(name) must be one of \(known.joined(separator: ", "))") }
            return v
        }
        let to = try date("to") ?? engine.clock.now()
        let from = try date("from") ?? to.addingTimeInterval(-7 * 86_400)
        var q = AnalyticsQuery(from: from, to: to)
        q.bucket = try choice("bucket", AnalyticsQuery.Bucket.self, ["hour", "day"]) ?? .day
        q.channel = try choice("channel_type", ChannelType.self, ChannelType.allCases.map(\.rawValue))
        q.brand = try choice("business_entity", Brand.self, Brand.allCases.map(\.rawValue))
        q.threadType = try choice("thread_type", ThreadType.self, ThreadType.allCases.map(\.rawValue))
        q.groupBy = try choice("group_by", AnalyticsQuery.Dimension.self, AnalyticsQuery.Dimension.allCases.map(\.rawValue))
        if let t = try request.uuidQuery("team_id", TeamKind.self) { q.teams = [t] }
        q.agent = try request.uuidQuery("agent", ContactKind.self)
        if let problem = q.problem { throw APIError.badRequest(problem) }
        return q
    }

    /// Narrows a query to what the caller may see: a team leader's teams, an agent's own figures.
    func narrow(_ q: inout AnalyticsQuery, for who: Identity) throws {
        guard let role = who.role else { throw APIError.forbidden("this token cannot read analytics") }
        if AccessPolicy.allows(role, .readAllAnalytics) { return }
        if AccessPolicy.allows(role, .readAnalytics) {
            let mine = Set(who.contact?.teams ?? [])
            if let asked = q.teams {
                guard asked.isSubset(of: mine) else { throw APIError.forbidden("no access to the analytics of team \(asked.first!)") }
            } else {
                q.teams = mine
            }
            return
        }
        guard let me = who.contactID else { throw APIError.forbidden("this token cannot read analytics") }
        if let asked = q.agent, asked != me { throw APIError.forbidden("agents see their own figures only") }
        q.agent = me
    }

    /// One CSV row per bucket and group: `bucket_start,group,<figures…>`;
    /// empty cells where a figure has no value (no samples).
    static func csv(kpi: KPI, rows: [(Date, String, [(String, Double?)])], columns: [String]) -> Response {
        var text = "bucket_start,group," + columns.joined(separator: ",") + "\r\n"
        for (start, group, values) in rows {
            text += start.iso8601 + "," + group + ","
            text += values.map { $0.1.map { v in v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) } ?? "" }
                .joined(separator: ",")
            text += "\r\n"
        }
        return Response(status: .ok,
                        headers: [.contentType: "text/csv; charset=utf-8",
                                  .contentDisposition: "attachment; filename=\"\(kpi.rawValue).csv\""],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
