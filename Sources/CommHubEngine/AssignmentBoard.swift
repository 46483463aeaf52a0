import CommHubDomain
import DequeModule
import HeapModule

/// The supervisor's ledger of who handles what: the thread↔agent relation,
/// each agent's open-thread load, each team's queue of threads waiting for
/// capacity, and a routing copy of the presence, skills and capacity of
/// every agent. A value type: every decision and every rebalance plan is a
/// plain function of it, testable without actors; `apply` is the only
/// mutation and is shared by live operation and journal replay.
public struct AssignmentBoard: Sendable {
    public struct AgentSlot: Sendable, Hashable {
        public var id: ContactID
        public var presence: Presence
        public var skills: Set<String>
        public var teams: [TeamID]
        public var maxOpenThreads: Int
        public var open: Set<ThreadID>
        public var load: Int { open.count }
    }

    public struct TeamSlot: Sendable {
        public var team: Team
        /// Members in a stable order (join order); index = round-robin position.
        public var members: [ContactID]
        public var queue: Deque<ThreadID>
        public var lastPicked: Int?
    }

    /// What a thread needs from whoever handles it.
    public struct Needs: Sendable, Hashable {
        public var skills: [String]
        public var skillMatching: Bool
        public init(skills: [String] = [], skillMatching: Bool = true) {
            self.skills = skills
            self.skillMatching = skillMatching
        }
    }

    public private(set) var agents: [ContactID: AgentSlot] = [:]
    public private(set) var teams: [TeamID: TeamSlot] = [:]
    /// Open threads and their assignee (absent = waiting in a queue or unrouted).
    public private(set) var assignee: [ThreadID: ContactID] = [:]
    /// The team each routed thread belongs to.
    public private(set) var team: [ThreadID: TeamID] = [:]
    /// Requirements of threads that have any, kept for queueing and moves.
    public private(set) var needs: [ThreadID: Needs] = [:]
    /// Open threads (assigned or queued); resolved and closed threads leave the board.
    public private(set) var openThreads: Set<ThreadID> = []

    public init() {}

    // MARK: Queries

    public func queueDepth(_ team: TeamID) -> Int { teams[team]?.queue.count ?? 0 }

    public func teamID(named reference: String) -> TeamID? {
        if let id = TeamID(reference), teams[id] != nil { return id }
        let lower = reference.lowercased()
        if let exact = teams.values.first(where: { $0.team.name.lowercased() == lower }) { return exact.team.id }
        // By slug (`customer_service_team` for "Customer service"); the first by name if two teams share one.
        return teams.values.filter { TeamReferenceMatch.names(reference, $0.team.name) }
            .min { $0.team.name < $1.team.name }?.team.id
    }

    /// Chooses a person in `team` for a thread with `needs`, or nil when
    /// nobody can take it. `pending` adds planned but not yet applied load.
    public func choose(team: TeamID, needs: Needs, excluding: ContactID? = nil,
                       pending: [ContactID: Int] = [:], lastPicked: Int?? = nil) -> ContactID? {
        guard let slot = teams[team] else { return nil }
        let candidates = slot.members.enumerated().lazy.compactMap { (i, id) -> AgentCandidate? in
            guard id != excluding, let a = agents[id] else { return nil }
            return AgentCandidate(id: id, presence: a.presence, skills: a.skills,
                                  openThreads: a.load + (pending[id] ?? 0),
                                  maxOpenThreads: a.maxOpenThreads, order: i)
        }
        return AgentPicker.pick(candidates, requiredSkills: needs.skills, skillMatching: needs.skillMatching,
                                lastOrder: lastPicked ?? slot.lastPicked)?.id
    }

    /// Threads of a queue that can be assigned now, in queue order, with their new assignee.
    public func planQueueDrain(team: TeamID) -> [(ThreadID, ContactID)] {
        guard let slot = teams[team], !slot.queue.isEmpty else { return [] }
        var pending: [ContactID: Int] = [:]
        var last = slot.lastPicked
        var out: [(ThreadID, ContactID)] = []
        for thread in slot.queue {
            let n = needsOf(thread)
            guard let agent = choose(team: team, needs: n, pending: pending, lastPicked: .some(last)) else { continue }
            out.append((thread, agent))
            pending[agent, default: 0] += 1
            last = slot.members.firstIndex(of: agent)
        }
        return out
    }

    /// Moves every open thread of `agent` to colleagues in the thread's team:
    /// each to the least-loaded colleague who is online, has the skills and
    /// room, ties in round-robin order from the team's last pick. Threads
    /// nobody can take stay with the agent, or go back to the team queue
    /// when `queueLeftovers` is set (an agent going offline in a team that
    /// hands over). Threads are grouped by (team, needs); each group keeps
    /// its candidates in a heap of (load, rotation distance), so a drain
    /// costs O(members + threads · log members) and reads the board without
    /// copying it.
    public func planDrain(agent: ContactID, queueLeftovers: Bool) -> [ThreadMove] {
        guard let slot = agents[agent] else { return [] }
        struct Group: Hashable { var team: TeamID?; var needs: Needs }
        // Few distinct groups (teams × skill sets): a linear search beats hashing the key per thread.
        var groupKeys: [Group] = []
        var groupThreads: [[ThreadID]] = []
        for thread in slot.open {
            let g = Group(team: team[thread], needs: needsOf(thread))
            if let k = groupKeys.firstIndex(of: g) {
                groupThreads[k].append(thread)
            } else {
                groupKeys.append(g)
                groupThreads.append([thread])
            }
        }
        let groups = zip(groupKeys, groupThreads).map { (key: $0, value: $1) }
        var planned: [ContactID: Int] = [:]
        var moves: [ThreadMove] = []
        moves.reserveCapacity(slot.open.count)
        // Stable order of groups and threads, so a plan is reproducible.
        for (group, threads) in groups.sorted(by: { ($0.key.team?.description ?? "", $0.value.count) < ($1.key.team?.description ?? "", $1.value.count) }) {
            var heap = Heap<Slot>()
            if let t = group.team, let teamSlot = teams[t] {
                for (i, id) in teamSlot.members.enumerated() where id != agent {
                    guard let a = agents[id], a.presence == .online else { continue }
                    if group.needs.skillMatching, !group.needs.skills.allSatisfy(a.skills.contains) { continue }
                    let load = a.load + (planned[id] ?? 0)
                    guard load < a.maxOpenThreads else { continue }
                    heap.insert(Slot(load: load, distance: AgentPicker.roundRobinDistance(i, after: teamSlot.lastPicked),
                                     id: id, capacity: a.maxOpenThreads))
                }
            }
            // Stable order (a plan must be reproducible), sorted on the ids' words.
            let ordered = threads.map { t -> (UInt64, UInt64, ThreadID) in
                let w = t.words
                return (w.0.bigEndian, w.1.bigEndian, t)
            }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
            for (_, _, thread) in ordered {
                if var best = heap.popMin() {
                    moves.append(ThreadMove(thread: thread, from: agent, to: best.id))
                    planned[best.id, default: 0] += 1
                    best.load += 1
                    if best.load < best.capacity { heap.insert(best) }
                } else if queueLeftovers {
                    moves.append(ThreadMove(thread: thread, from: agent, to: nil))
                }
            }
        }
        return moves
    }

    /// A candidate in a drain: least load first, then round-robin order.
    struct Slot: Comparable {
        var load: Int
        var distance: Int
        var id: ContactID
        var capacity: Int
        static func < (a: Slot, b: Slot) -> Bool { (a.load, a.distance) < (b.load, b.distance) }
        static func == (a: Slot, b: Slot) -> Bool { a.load == b.load && a.distance == b.distance }
    }

    /// Evens out the open-thread load of a team's online members: threads
    /// move from members above their fair share to members below it, until
    /// no one carries more than one thread above another (as far as skills
    /// and capacity allow). Only threads of this team move.
    /// Cost: O(members · log members + moves · skill checks).
    public func planEvenOut(team teamID: TeamID) -> [ThreadMove] {
        guard let slot = teams[teamID] else { return [] }
        struct Member { var id: ContactID; var load: Int; var target: Int; var skills: Set<String> }
        var members: [Member] = []
        members.reserveCapacity(slot.members.count)
        for id in slot.members {
            guard let a = agents[id], a.presence == .online else { continue }
            members.append(Member(id: id, load: a.load, target: 0, skills: a.skills))
        }
        guard members.count > 1 else { return [] }
        members.sort { $0.load > $1.load }
        let total = members.reduce(0) { $0 + $1.load }
        let base = total / members.count
        let extra = total % members.count
        for i in members.indices {
            let cap = agents[members[i].id]!.maxOpenThreads
            members[i].target = min(base + (i < extra ? 1 : 0), max(cap, 0))
        }
        var receivers = members.indices.filter { members[$0].load < members[$0].target }
        var moves: [ThreadMove] = []
        for d in members.indices where members[d].load > members[d].target {
            guard !receivers.isEmpty else { break }
            for thread in agents[members[d].id]!.open where team[thread] == teamID {
                guard members[d].load > members[d].target, !receivers.isEmpty else { break }
                let need = needs.isEmpty ? nil : needs[thread]
                guard let ri = receivers.firstIndex(where: { r in
                    need.map { !$0.skillMatching || $0.skills.allSatisfy(members[r].skills.contains) } ?? true
                }) else { continue }
                let r = receivers[ri]
                moves.append(ThreadMove(thread: thread, from: members[d].id, to: members[r].id))
                members[d].load -= 1
                members[r].load += 1
                if members[r].load >= members[r].target { receivers.remove(at: ri) }
            }
        }
        return moves
    }

    // MARK: Mutation (events only)

    /// Applies an event. The same code runs live and on replay.
    public mutating func apply(_ event: EngineEvent) {
        switch event {
        case .teamUpserted(let t):
            if teams[t.id] == nil {
                teams[t.id] = TeamSlot(team: t, members: [], queue: [], lastPicked: nil)
                // Agents that named this team before it existed join now.
                for a in agents.values.sorted(by: { $0.id < $1.id }) where a.teams.contains(t.id) {
                    teams[t.id]!.members.append(a.id)
                }
            } else {
                teams[t.id]!.team = t
            }
        case .contactUpserted(let c):
            upsertAgent(c)
        case .presenceChanged(let id, let presence):
            agents[id]?.presence = presence
        case .threadOpened(let h):
            if h.status.isOpen { openThreads.insert(h.id) }
            setNeeds(Needs(skills: h.requiredSkills.map { $0.lowercased() }), for: h.id)
        case .threadAssigned(let thread, let t, let agent, _):
            if let t { team[thread] = t }
            if let agent {
                assign(thread, team: team[thread], agent: agent)
            } else {
                move(thread, to: nil)
                if let t = team[thread], openThreads.contains(thread), teams[t]?.queue.contains(thread) == false {
                    teams[t]?.queue.append(thread)
                }
            }
        case .threadsRebalanced(let moves, _):
            // A rebalance moves many threads between a few people: their slots
            // are found once (indices stay valid while only values change), and
            // each move costs one assignee update and the two set operations.
            var slots = SlotCache()
            for m in moves {
                let old = m.to.map { assignee.updateValue($0, forKey: m.thread) } ?? assignee.removeValue(forKey: m.thread)
                // A person's set holds only open threads, so finding the thread there
                // answers "is it open" without probing the million-entry set.
                var open: Bool?
                if let old, let i = slots.index(of: old, in: agents) {
                    if agents.values[i].open.remove(m.thread) != nil { open = true }
                }
                if let to = m.to {
                    if open ?? openThreads.contains(m.thread), let i = slots.index(of: to, in: agents) {
                        agents.values[i].open.insert(m.thread)
                    }
                } else if let t = team[m.thread], teams[t]?.queue.contains(m.thread) == false {
                    teams[t]?.queue.append(m.thread)
                }
            }
        case .threadChanged(let thread, let change, _):
            guard let status = change.status else { return }
            if status.isOpen {
                guard !openThreads.contains(thread) else { return }
                openThreads.insert(thread)
                // A reopened thread goes back to its previous person when they still exist.
                if let a = assignee[thread], agents[a] != nil {
                    agents[a]!.open.insert(thread)
                } else if let t = team[thread] {
                    assignee[thread] = nil
                    teams[t]?.queue.append(thread)
                }
            } else {
                guard openThreads.remove(thread) != nil else { return }
                if let a = assignee[thread] { agents[a]?.open.remove(thread) }
                if let t = team[thread], let i = teams[t]?.queue.firstIndex(of: thread) {
                    teams[t]!.queue.remove(at: i)
                }
            }
        default:
            return
        }
    }

    /// Makes room for `n` threads (snapshot restore).
    mutating func reserve(threads n: Int) {
        assignee.reserveCapacity(n)
        team.reserveCapacity(n)
        openThreads.reserveCapacity(n)
    }

    /// The agents' table indices met during one rebalance, searched linearly
    /// (a handful of people) instead of hashing their ids per move.
    struct SlotCache {
        private var ids: [ContactID] = []
        private var indices: [Dictionary<ContactID, AgentSlot>.Index] = []

        mutating func index(of id: ContactID, in agents: [ContactID: AgentSlot]) -> Dictionary<ContactID, AgentSlot>.Index? {
            if let k = ids.firstIndex(of: id) { return indices[k] }
            guard let i = agents.index(forKey: id) else { return nil }
            if ids.count < 64 {
                ids.append(id)
                indices.append(i)
            }
            return i
        }
    }

    /// A thread's requirements; most threads have none, and then the table is
    /// often empty, so skip hashing the id.
    @inline(__always)
    func needsOf(_ thread: ThreadID) -> Needs {
        needs.isEmpty ? Needs() : needs[thread] ?? Needs()
    }

    /// Records the routing requirements of a thread (from its header).
    mutating func setNeeds(_ n: Needs, for thread: ThreadID) {
        if n.skills.isEmpty && n.skillMatching { needs[thread] = nil } else { needs[thread] = n }
    }

    /// Restores a team's round-robin order and last pick (snapshot restore).
    mutating func restoreRoundRobin(team t: TeamID, members: [ContactID], lastPicked: Int?) {
        guard let current = teams[t]?.members else { return }
        let known = Set(current)
        let ordered = members.filter(known.contains)
        let listed = Set(ordered)
        teams[t]!.members = ordered + current.filter { !listed.contains($0) }
        teams[t]!.lastPicked = lastPicked.flatMap { $0 < teams[t]!.members.count ? $0 : nil }
    }

    mutating func removeFromQueue(_ thread: ThreadID, team t: TeamID) {
        if let i = teams[t]?.queue.firstIndex(of: thread) { teams[t]!.queue.remove(at: i) }
    }

    private mutating func upsertAgent(_ c: Contact) {
        let skills = Set(c.skills.map { $0.lowercased() })
        if var a = agents[c.id] {
            let removed = a.teams.filter { !c.teams.contains($0) }
            for t in removed { teams[t]?.members.removeAll { $0 == c.id } }
            for t in c.teams where !a.teams.contains(t) { teams[t]?.members.append(c.id) }
            a.skills = skills
            a.teams = c.teams
            a.maxOpenThreads = c.maxOpenThreads
            a.presence = c.presence
            agents[c.id] = a
        } else {
            agents[c.id] = AgentSlot(id: c.id, presence: c.presence, skills: skills, teams: c.teams,
                                     maxOpenThreads: c.maxOpenThreads, open: [])
            for t in c.teams { teams[t]?.members.append(c.id) }
        }
    }

    private mutating func assign(_ thread: ThreadID, team t: TeamID?, agent: ContactID) {
        if let t, let i = teams[t]?.queue.firstIndex(of: thread) { teams[t]!.queue.remove(at: i) }
        move(thread, to: agent)
        if let t, let order = teams[t]?.members.firstIndex(of: agent) { teams[t]!.lastPicked = order }
    }

    private mutating func move(_ thread: ThreadID, to agent: ContactID?) {
        if let old = assignee[thread] { agents[old]?.open.remove(thread) }
        assignee[thread] = agent
        if let agent, openThreads.contains(thread) { agents[agent]?.open.insert(thread) }
    }
}
