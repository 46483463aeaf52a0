import CommHubDomain
import CommHubEngine
import Foundation

#if canImport(Glibc)
import Glibc
#endif

// Fixtures shared by the engine benchmarks. Each benchmark runs in its own
// process (package-benchmark spawns one per benchmark), so a fixture is
// built once in that benchmark's `setup` closure, outside measurement, and
// kept in a `Holder` for the iterations.

/// A slot for state built in `setup` and used by the measured closure.
/// Benchmarks run their iterations one after another, never concurrently.
public final class Holder<T>: @unchecked Sendable {
    public var value: T?
    public init() {}
    public var get: T {
        guard let value else { fatalError("fixture used before setup") }
        return value
    }
}

/// Deterministic pseudo-random numbers (SplitMix64), so every run builds the same data.
public struct SplitMix: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// An id built from a number, so fixtures are reproducible.
public func entityID<K>(_ kind: UInt8, _ n: Int) -> EntityID<K> {
    var bytes: uuid_t = (kind, 0x42, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 0)
    withUnsafeMutableBytes(of: &bytes) { raw in
        var v = UInt64(n).bigEndian
        withUnsafeBytes(of: &v) { raw.baseAddress!.advanced(by: 8).copyMemory(from: $0.baseAddress!, byteCount: 8) }
    }
    return EntityID<K>(UUID(uuid: bytes))
}

public let benchEpoch = Date(timeIntervalSince1970: 1_795_600_800) // 2026-11-25T08:00:00Z, as SimulatedClock

public func header(_ id: ThreadID, subject: String = "Laadpaal werkt niet", channel: ChannelType = .emailOutlook,
            priority: Priority = .normal, status: ThreadStatus = .open, skills: [String] = []) -> ThreadHeader {
    ThreadHeader(id: id, threadSubject: subject, priority: priority, status: status, businessEntity: .chargecars,
                 channelType: channel, createdAt: benchEpoch, requiredSkills: skills)
}

// MARK: Assignment boards

/// A board with one team: `source` holds `sourceThreads` open threads, the
/// other members hold `colleagueLoad` each and have room up to `colleagueCap`.
public struct DrainFixture {
    public var board: AssignmentBoard
    public var team: TeamID
    public var source: ContactID
    public var members: [ContactID]
}

public func makeDrainBoard(sourceThreads: Int = 500, colleagues: Int = 20, colleagueLoad: Int = 10,
                    colleagueCap: Int = 100) -> DrainFixture {
    var rng = SplitMix(seed: 1)
    var b = AssignmentBoard()
    let team = Team(id: entityID(1, 1), name: "support")
    b.apply(.teamUpserted(team))
    let source = Contact(id: entityID(2, 0), name: "source", teams: [team.id], skills: ["ev", "b2b"],
                         maxOpenThreads: 10_000, presence: .online)
    b.apply(.contactUpserted(source))
    var members = [source.id]
    for i in 1...colleagues {
        let c = Contact(id: entityID(2, i), name: "agent \(i)", teams: [team.id],
                        skills: i % 2 == 0 ? ["ev"] : ["b2b"], maxOpenThreads: colleagueCap, presence: .online)
        b.apply(.contactUpserted(c))
        members.append(c.id)
    }
    var n = 0
    func open(_ agent: ContactID, skills: [String]) {
        let h = header(entityID(3, n), skills: skills)
        n += 1
        b.apply(.threadOpened(h))
        b.apply(.threadAssigned(thread: h.id, team: team.id, agent: agent, reason: "fixture"))
    }
    // One thread in five needs the "ev" skill (half the colleagues have it).
    for _ in 0..<sourceThreads { open(source.id, skills: rng.next() % 5 == 0 ? ["ev"] : []) }
    for m in members.dropFirst() { for _ in 0..<colleagueLoad { open(m, skills: []) } }
    return DrainFixture(board: b, team: team.id, source: source.id, members: members)
}

/// One team of `agents` online members holding `threads` open threads with an
/// uneven load: the first 90% of members hold `busyLoad` each, the rest
/// (people who just came online) split the remainder.
public struct EvenOutFixture {
    public var board: AssignmentBoard
    public var team: TeamID
}

public func makeEvenOutBoard(agents: Int = 10_000, threads: Int = 1_000_000) -> EvenOutFixture {
    var b = AssignmentBoard()
    let team = Team(id: entityID(1, 1), name: "support")
    b.apply(.teamUpserted(team))
    var contacts: [Contact] = []
    contacts.reserveCapacity(agents)
    for i in 0..<agents {
        // Joined to the team only after the threads are assigned: `threadAssigned`
        // looks the assignee up in the member list (linear), which would make
        // building 1M assignments in a 10k-member team take minutes.
        let c = Contact(id: entityID(2, i), name: "agent \(i)", teams: [], maxOpenThreads: 1_000, presence: .online)
        b.apply(.contactUpserted(c))
        contacts.append(c)
    }
    let busy = agents * 9 / 10
    let mean = threads / agents
    let busyLoad = mean + mean / 9                // 111 for 100 per agent
    var n = 0
    for (i, c) in contacts.enumerated() {
        let load: Int
        if i < busy {
            load = busyLoad
        } else {
            let remaining = threads - busy * busyLoad
            let fresh = agents - busy
            load = remaining / fresh + ((i - busy) < remaining % fresh ? 1 : 0)
        }
        for _ in 0..<load {
            let id: ThreadID = entityID(3, n)
            n += 1
            b.apply(.threadOpened(header(id)))
            b.apply(.threadAssigned(thread: id, team: team.id, agent: c.id, reason: "fixture"))
        }
    }
    for var c in contacts {
        c.teams = [team.id]
        b.apply(.contactUpserted(c))
    }
    precondition(b.openThreads.count == threads, "built \(b.openThreads.count) threads")
    return EvenOutFixture(board: b, team: team.id)
}

/// The inverse of a rebalance, to put a board back between iterations.
public func inverse(_ moves: [ThreadMove]) -> EngineEvent {
    .threadsRebalanced(moves: moves.map { ThreadMove(thread: $0.thread, from: $0.to, to: $0.from) }, reason: "restore")
}

// MARK: Process memory

/// Resident set size of this process, from /proc/self/statm.
public func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

#if os(Linux)
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// Returns freed heap to the OS so RSS shows live memory only.
public func trimHeap() {
    #if os(Linux)
    _ = glibcMallocTrim(0)
    #endif
}
