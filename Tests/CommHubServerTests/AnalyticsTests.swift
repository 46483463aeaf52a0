import CommHubDomain
import Foundation
import Testing

/// `GET /api/analytics/overview` counts what the inbox holds, within what
/// the caller may see.
@Suite("Analytics")
struct AnalyticsTests {
    @Test func overviewCountsAndScopes() async throws {
        try await Harness.run { live in
            let http = live.http
            let w = try await World.seed(http)
            let admin = w.adminToken
            // Team A: the seeded thread plus two more, one urgent; team B: the seeded thread.
            _ = try await w.thread(http, team: w.teamA, #""priority":"urgent""#)
            _ = try await w.thread(http, team: w.teamA)
            let all = try ok(await http.get("/api/analytics/overview", admin)).json
            #expect(all["threads_total"]?.int == 4)
            #expect(all["threads_by_status"]?["open"]?.int == 4)
            #expect(all["open_by_priority"]?["urgent"]?.int == 1)
            #expect(all["open_by_priority"]?["normal"]?.int == 3)
            #expect(all["open_unassigned"]?.int == 4, "nobody is online, so every thread waits")
            #expect(all["teams"]?.array?.count == 2)
            let teamA = all["teams"]?.array?.first { $0["team_id"]?.string == w.teamA }
            #expect(teamA?["queue_depth"]?.int == 3)

            // A team leader sees their own team only, and may not ask for another.
            let lead = try ok(await http.get("/api/analytics/overview", w.token(.teamLeader))).json
            #expect(lead["threads_total"]?.int == 3)
            #expect(lead["teams"]?.array?.map { $0["team_id"]?.string } == [w.teamA])
            let other = try await http.get("/api/analytics/overview?team_id=\(w.teamB)", w.token(.teamLeader))
            #expect(other.status == 403)
            // A manager may narrow to one team; an agent may not read analytics.
            let b = try ok(await http.get("/api/analytics/overview?team_id=\(w.teamB)", w.token(.manager))).json
            #expect(b["threads_total"]?.int == 1)
            #expect(try await http.get("/api/analytics/overview", w.token(.agent)).status == 403)
            #expect(try await http.get("/api/analytics/overview", w.token(.executive)).status == 200)
        }
    }
}
