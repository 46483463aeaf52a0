import CommHubDomain
import CommHubEngine

/// What `measureEngineMemory` found.
public struct EngineMemoryReading: Sendable {
    public var threads: Int
    public var residentBefore: Int
    public var residentAfter: Int
    public var inboxRows: Int
    public var bytesPerThread: Int { (residentAfter - residentBefore) / max(threads, 1) }
}

/// Engine memory per open thread: an in-memory engine (50 teams of 20
/// online people) gets `threads` threads through `Supervisor.createThread`,
/// each routed by the real auto-assignment path (least loaded member of its
/// team). RSS is read from /proc/self/statm before and after, the heap
/// trimmed first. Threads carry no messages, so no bodies. Shared by
/// `Memory.engine1MOpenThreads` and `BenchProfile memory`.
public func measureEngineMemory(threads: Int) async throws -> EngineMemoryReading {
    let engine = makeInMemoryEngine(clock: SimulatedClock(start: benchEpoch))
    let sup = engine.supervisor
    var teams: [Team] = []
    for t in 0..<50 {
        let team = Team(id: entityID(1, t), name: "team \(t)")
        _ = try await sup.upsertTeam(team)
        teams.append(team)
        for i in 0..<20 {
            _ = try await sup.upsertContact(Contact(id: entityID(2, t * 100 + i), name: "Agent \(t).\(i)",
                                                    teams: [team.id], maxOpenThreads: 1_000_000, presence: .online))
        }
    }
    trimHeap()
    let before = residentBytes()
    let subjects = ["Laadpaal werkt niet", "Vraag over mijn bestelling 500123", "Offerte thuislader",
                    "Installatie inplannen voor volgende week"]
    for i in 0..<threads {
        let h = header(entityID(3, i), subject: subjects[i % subjects.count],
                       channel: i % 3 == 0 ? .whatsappBusiness : .emailOutlook,
                       priority: i % 10 == 0 ? .high : .normal)
        _ = try await sup.createThread(h, assignTo: nil, team: teams[i % teams.count].id)
    }
    trimHeap()
    let after = residentBytes()
    let reading = EngineMemoryReading(threads: await sup.threadCount, residentBefore: before, residentAfter: after,
                                      inboxRows: engine.inbox.count)
    withExtendedLifetime(engine) {}
    return reading
}
