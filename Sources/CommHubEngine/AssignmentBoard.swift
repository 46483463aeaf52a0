import CommHubDomain
import DequeModule
import HeapModule

/// The supervisor's ledger of who handles what: the thread↔agent relation,
/// each agent's open-thread load, each team's queue of threads waiting for
/// capacity, and a routing copy of the presence, skills and capacity of
/// every agent. A value type: every decision and every rebalance plan is a
/// plain function of it, testable without actors; `apply` is the only
/// mutation and is shared by live operation and journal replay.
///
/// Inside, threads and people have dense integer handles: a thread's id is
/// hashed once, where it enters the board, and after that its row
/// (assignee, team, requirements, openness, place in its person's list)
/// is an array element. A person holds their open threads as a list of
/// handles with O(1) removal (the last one takes the freed place). Plans
/// carry the handles they used (`ThreadMove.boardHint`), so applying a
/// rebalance the board just planned hashes no ids at all; a move without a
/// hint (journal replay) or with a stale one is found by its id instead.
/// Handles are never reused, so a hint whose id matches is always right.
///
/// The id-keyed tables of the first version (`assignee`, `team`, `needs`,
/// `openThreads`, `agents`) remain as read-only views for queries, snapshots
/// and tests.
public struct AssignmentBoard: Sendable {
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

    /// A person as routing sees them, with the handles of the open threads they hold.
    struct Person: Sendable {
        var id: ContactID
        /// False for an id named as assignee but never upserted as a contact: the
        /// assignment stays readable, but such a person holds no threads and is not
        /// listed among the agents (as before handles, when only contacts had slots).
        var isAgent: Bool
        var presence: Presence
        var skills: Set<String>
        var teams: [TeamID]
        var maxOpenThreads: Int
        /// Handles of the open threads this person handles, in no particular order.
        var held: [UInt32]
    }

    /// One thread's place on the board, at its handle.
    struct ThreadRow: Sendable {
        static let nobody: Int32 = -1
        static let notHeld: UInt32 = .max
        /// Index in `people`, or `nobody`.
        var assignee: Int32 = nobody
        /// Index in `teamIDs`, or -1.
        var team: Int32 = -1
        /// Index in `needsTable`; 0 is "no requirements".
        var needs: UInt32 = 0
        /// Position in the assignee's `held` list, or `notHeld`.
        var heldAt: UInt32 = notHeld
        var open = false
    }

    // Threads by handle.
    /// Thread id → handle, keyed through `threadIDs` (`HandleIndex`: 16 bytes a thread, not 40).
    fileprivate var handleOf = HandleIndex<ThreadID>()
    fileprivate var threadIDs: [ThreadID] = []
    private var rows: [ThreadRow] = []
    private var openCount = 0
    // People by index (never removed, so indices stay valid).
    private var people: [Person] = []
    private var personIndex: [ContactID: Int32] = [:]
    // Teams named by threads, whether or not the team exists (yet).
    private var teamIDs: [TeamID] = []
    private var teamIndex: [TeamID: Int32] = [:]
    // Distinct requirements (a handful: teams' skill sets), index 0 = none. Grows
    // with distinct skill lists ever seen on a thread, which headers bound.
    private var needsTable: [Needs] = [Needs()]
    private var needsIndex: [Needs: UInt32] = [Needs(): 0]

    public private(set) var teams: [TeamID: TeamSlot] = [:]

    public init() {}

    // MARK: Views by id

    /// Threads and their assignee (absent = waiting in a queue or unrouted).
    /// Kept for closed threads too: a reopened thread goes back to its person.
    public var assignee: Assignees { Assignees(handleOf: handleOf, rows: rows, threadIDs: threadIDs, people: people) }
    /// The team each routed thread belongs to.
    public var team: ThreadTeams { ThreadTeams(handleOf: handleOf, rows: rows, threadIDs: threadIDs, teamIDs: teamIDs) }
    /// Requirements of threads that have any.
    public var needs: ThreadNeeds { ThreadNeeds(handleOf: handleOf, rows: rows, threadIDs: threadIDs, table: needsTable) }
    /// Open threads (assigned or queued); resolved and closed threads leave it.
    public var openThreads: OpenThreads { OpenThreads(handleOf: handleOf, rows: rows, threadIDs: threadIDs, count: openCount) }
    /// The people who are contacts, with their routing data and open threads.
    public var agents: Agents { Agents(people: people, personIndex: personIndex, threadIDs: threadIDs) }

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
            guard id != excluding, let p = personIndex[id], people[Int(p)].isAgent else { return nil }
            let a = people[Int(p)]
            return AgentCandidate(id: id, presence: a.presence, skills: a.skills,
                                  openThreads: a.held.count + (pending[id] ?? 0),
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
    /// hands over). Threads are grouped by (team, needs); each thread of a
    /// group goes to the least (load, rotation distance) of its candidates,
    /// picked level by level up to `levelCandidates` and from a heap above
    /// (`levelPicks`, `heapPicks`); a drain reads the board without copying
    /// it and hashes only the members' ids.
    public func planDrain(agent: ContactID, queueLeftovers: Bool) -> [ThreadMove] {
        guard let source = personIndex[agent], people[Int(source)].isAgent else { return [] }
        let held = people[Int(source)].held
        struct Group { var team: Int32; var needs: UInt32; var threads: [UInt32] }
        // Few distinct groups (teams × skill sets): a linear search on two integers.
        var groups: [Group] = []
        for h in held {
            let r = rows[Int(h)]
            if let k = groups.firstIndex(where: { $0.team == r.team && $0.needs == r.needs }) {
                groups[k].threads.append(h)
            } else {
                var threads: [UInt32] = []
                threads.reserveCapacity(held.count)
                threads.append(h)
                groups.append(Group(team: r.team, needs: r.needs, threads: threads))
            }
        }
        // Stable order of groups and threads, so a plan is reproducible. Groups go by
        // their team's id text (none first), compared as the id's words: lowercase hex
        // sorts as the bytes do, without making the text.
        let ordered = groups.map { g -> (name: (Bool, UInt64, UInt64), group: Group) in
            guard g.team >= 0 else { return ((false, 0, 0), g) }
            let w = teamIDs[Int(g.team)].words
            return ((true, w.0.bigEndian, w.1.bigEndian), g)
        }.sorted { a, b in
            if a.name != b.name { return (a.name.0 ? 1 : 0, a.name.1, a.name.2) < (b.name.0 ? 1 : 0, b.name.1, b.name.2) }
            return a.group.threads.count < b.group.threads.count
        }
        // Load planned for a person by earlier groups, written back when a candidate leaves a group.
        var planned: [Int32: Int] = [:]
        var moves: [ThreadMove] = []
        moves.reserveCapacity(held.count)
        for (_, group) in ordered {
            // The candidates; each thread goes to the least (load, distance), by levels
            // for a team of a few dozen, from a heap above (no two members share a distance).
            var slots: [Slot] = []
            let needs = needsTable[Int(group.needs)]
            if group.team >= 0, let teamSlot = teams[teamIDs[Int(group.team)]] {
                for (i, id) in teamSlot.members.enumerated() where id != agent {
                    guard let p = personIndex[id] else { continue }
                    let a = people[Int(p)]
                    guard a.isAgent, a.presence == .online else { continue }
                    if needs.skillMatching, !needs.skills.allSatisfy(a.skills.contains) { continue }
                    let added = planned[p] ?? 0
                    let load = a.held.count + added
                    guard load < a.maxOpenThreads else { continue }
                    let slot = Slot(load: load, distance: AgentPicker.roundRobinDistance(i, after: teamSlot.lastPicked),
                                    person: p, added: added, capacity: a.maxOpenThreads)
                    slots.append(slot)
                }
            }
            // Sorted on the ids' words, as the ids sort.
            var threads = group.threads.map { h -> IDOrder in
                let w = threadIDs[Int(h)].words
                return IDOrder(high: w.0.bigEndian, low: w.1.bigEndian, handle: h)
            }
            threads.sort()
            let picks = slots.count > Self.levelCandidates ? Self.heapPicks(&slots, threads.count)
                : Self.levelPicks(&slots, threads.count)
            for (n, h) in threads.lazy.map(\.handle).enumerated() {
                let best = picks[n]
                if best >= 0 {
                    moves.append(ThreadMove(thread: threadIDs[Int(h)], from: agent, to: people[Int(slots[best].person)].id,
                                            boardHint: .init(thread: h, to: slots[best].person)))
                } else if queueLeftovers {
                    moves.append(ThreadMove(thread: threadIDs[Int(h)], from: agent, to: nil,
                                            boardHint: .init(thread: h, to: ThreadRow.nobody)))
                }
            }
            for slot in slots { planned[slot.person] = slot.added }
        }
        return moves
    }

    /// Above this many candidates a drain picks from a heap instead of by levels.
    static let levelCandidates = 64

    /// The candidate (index in `slots`) of each of `n` threads, or -1: the
    /// least (load, distance) each time, the picked one's load one up. By
    /// levels: while the least load is L, every candidate that started at or
    /// below L and has room above L holds exactly L, so level L gives one
    /// thread to each of them in distance order, and the next level follows.
    /// The same picks as the heap's, in O((n + members) · members) with no
    /// per-thread search (a drain of 500 threads to 20 people: 25 levels).
    static func levelPicks(_ slots: inout [Slot], _ n: Int) -> [Int] {
        var picks: [Int] = []
        picks.reserveCapacity(n)
        let order = slots.indices.sorted { slots[$0].distance < slots[$1].distance }
        let start = order.map { slots[$0].load }
        let capacity = order.map { slots[$0].capacity }
        var level = start.min() ?? 0
        while picks.count < n {
            var took = false
            for (k, c) in order.enumerated() where start[k] <= level && level < capacity[k] {
                picks.append(c)
                took = true
                if picks.count == n { break }
            }
            if took { level += 1; continue }
            // Nobody at this level: the next level at which someone with room starts, if any.
            guard let next = zip(start, capacity).lazy.filter({ $0.0 > level && $0.0 < $0.1 }).map(\.0).min() else { break }
            level = next
        }
        for c in picks {
            slots[c].load += 1
            slots[c].added += 1
        }
        picks.append(contentsOf: repeatElement(-1, count: n - picks.count))
        return picks
    }

    /// `levelPicks` from a heap of the candidates' keys (for large teams).
    static func heapPicks(_ slots: inout [Slot], _ n: Int) -> [Int] {
        var heap = Heap(slots.indices.filter { slots[$0].load < slots[$0].capacity }.map { Keyed(key: slots[$0].key, slot: $0) })
        var picks: [Int] = []
        picks.reserveCapacity(n)
        while picks.count < n, let k = heap.popMin() {
            picks.append(k.slot)
            slots[k.slot].load += 1
            slots[k.slot].added += 1
            if slots[k.slot].load < slots[k.slot].capacity { heap.insert(Keyed(key: slots[k.slot].key, slot: k.slot)) }
        }
        picks.append(contentsOf: repeatElement(-1, count: n - picks.count))
        return picks
    }

    /// A candidate's key and place, for the heap.
    struct Keyed: Comparable {
        var key: UInt64
        var slot: Int
        static func < (a: Keyed, b: Keyed) -> Bool { a.key < b.key }
        static func == (a: Keyed, b: Keyed) -> Bool { a.key == b.key }
    }

    /// A thread in id order (a plan's order does not depend on handles).
    struct IDOrder: Comparable {
        var high: UInt64
        var low: UInt64
        var handle: UInt32
        static func < (a: IDOrder, b: IDOrder) -> Bool { a.high != b.high ? a.high < b.high : a.low < b.low }
        static func == (a: IDOrder, b: IDOrder) -> Bool { a.high == b.high && a.low == b.low }
    }

    /// A candidate in a drain: least load first, then round-robin order.
    struct Slot: Comparable {
        var load: Int
        var distance: Int
        var person: Int32
        /// Threads planned for this person so far, this group and earlier ones.
        var added: Int
        var capacity: Int
        static func < (a: Slot, b: Slot) -> Bool { (a.load, a.distance) < (b.load, b.distance) }
        /// (load, distance) as one integer, in the same order.
        var key: UInt64 { UInt64(UInt32(clamping: load)) << 32 | UInt64(UInt32(clamping: distance)) }
        static func == (a: Slot, b: Slot) -> Bool { a.load == b.load && a.distance == b.distance }
    }

    /// Evens out the open-thread load of a team's online members: threads
    /// move from members above their fair share to members below it, until
    /// no one carries more than one thread above another (as far as skills
    /// and capacity allow). Only threads of this team move.
    /// Cost: O(members · log members + moves · skill checks); the threads
    /// are visited through their handles, without hashing.
    public func planEvenOut(team teamID: TeamID) -> [ThreadMove] {
        guard let slot = teams[teamID], let teamHandle = teamIndex[teamID] else { return [] }
        struct Member { var person: Int32; var load: Int; var target: Int; var skills: Set<String> }
        var members: [Member] = []
        members.reserveCapacity(slot.members.count)
        for id in slot.members {
            guard let p = personIndex[id], people[Int(p)].isAgent, people[Int(p)].presence == .online else { continue }
            members.append(Member(person: p, load: people[Int(p)].held.count, target: 0, skills: people[Int(p)].skills))
        }
        guard members.count > 1 else { return [] }
        members.sort { $0.load > $1.load }
        let total = members.reduce(0) { $0 + $1.load }
        let base = total / members.count
        let extra = total % members.count
        for i in members.indices {
            let cap = people[Int(members[i].person)].maxOpenThreads
            members[i].target = min(base + (i < extra ? 1 : 0), max(cap, 0))
        }
        var receivers = members.indices.filter { members[$0].load < members[$0].target }
        var moves: [ThreadMove] = []
        for d in members.indices where members[d].load > members[d].target {
            guard !receivers.isEmpty else { break }
            let donor = people[Int(members[d].person)]
            for h in donor.held where rows[Int(h)].team == teamHandle {
                guard members[d].load > members[d].target, !receivers.isEmpty else { break }
                let n = rows[Int(h)].needs
                let need = n == 0 ? nil : needsTable[Int(n)]
                guard let ri = receivers.firstIndex(where: { r in
                    need.map { !$0.skillMatching || $0.skills.allSatisfy(members[r].skills.contains) } ?? true
                }) else { continue }
                let r = receivers[ri]
                let receiver = members[r].person
                moves.append(ThreadMove(thread: threadIDs[Int(h)], from: donor.id, to: people[Int(receiver)].id,
                                        boardHint: .init(thread: h, to: receiver)))
                members[d].load -= 1
                members[r].load += 1
                if members[r].load >= members[r].target { receivers.remove(at: ri) }
            }
        }
        return moves
    }

    /// What a rebalance does to each person it names: threads received
    /// (`to`) and threads moved away (`from`), one entry per person in order
    /// of first appearance. The people are found through the moves' hints
    /// (and runs of the same `from`), so a plan's tally hashes nothing per move.
    public func tally(_ moves: [ThreadMove]) -> [(person: ContactID, assigned: Int, movedAway: Int)] {
        var out: [(person: ContactID, assigned: Int, movedAway: Int)] = []
        var slotOfPerson = [Int32](repeating: -1, count: people.count)  // people known to the board
        var slotOfID: [ContactID: Int] = [:]                             // ids the board never saw
        func slot(_ id: ContactID, index: Int32?) -> Int {
            if let index, slotOfPerson[Int(index)] >= 0 { return Int(slotOfPerson[Int(index)]) }
            if index == nil, let k = slotOfID[id] { return k }
            out.append((id, 0, 0))
            if let index { slotOfPerson[Int(index)] = Int32(out.count - 1) } else { slotOfID[id] = out.count - 1 }
            return out.count - 1
        }
        func index(of id: ContactID, hint: Int32?) -> Int32? {
            if let hint, hint >= 0, Int(hint) < people.count, people[Int(hint)].id == id { return hint }
            return personIndex[id]
        }
        var lastFrom: (id: ContactID, slot: Int)?
        for m in moves {
            if let from = m.from {
                if let last = lastFrom, last.id == from {
                    out[last.slot].movedAway += 1
                } else {
                    let k = slot(from, index: index(of: from, hint: nil))
                    out[k].movedAway += 1
                    lastFrom = (from, k)
                }
            }
            if let to = m.to {
                out[slot(to, index: index(of: to, hint: m.boardHint?.to))].assigned += 1
            }
        }
        return out
    }

    // MARK: Mutation (events only)

    /// Applies an event. The same code runs live and on replay.
    public mutating func apply(_ event: EngineEvent) {
        switch event {
        case .teamUpserted(let t):
            if teams[t.id] == nil {
                teams[t.id] = TeamSlot(team: t, members: [], queue: [], lastPicked: nil)
                // Agents that named this team before it existed join now.
                for a in people.filter(\.isAgent).sorted(by: { $0.id < $1.id }) where a.teams.contains(t.id) {
                    teams[t.id]!.members.append(a.id)
                }
            } else {
                teams[t.id]!.team = t
            }
        case .contactUpserted(let c):
            upsertAgent(c)
        case .presenceChanged(let id, let presence):
            if let p = personIndex[id], people[Int(p)].isAgent { people[Int(p)].presence = presence }
        case .threadOpened(let h):
            let handle = handle(creating: h.id)
            if h.status.isOpen { setOpen(handle, true) }
            setNeeds(Needs(skills: h.requiredSkills.map { $0.lowercased() }), at: handle)
        case .threadAssigned(let thread, let t, let agent, _):
            let h = handle(creating: thread)
            if let t { rows[Int(h)].team = teamHandle(creating: t) }
            if let agent {
                assign(h, to: person(creating: agent))
            } else {
                move(h, to: ThreadRow.nobody)
                if rows[Int(h)].open { enqueue(h) }
            }
        case .threadsRebalanced(let moves, _):
            // Each move: its row and the two people's lists, found by handle.
            for m in moves {
                let h = handle(of: m)
                let to = m.to.map { person(of: $0, hint: m.boardHint) } ?? ThreadRow.nobody
                move(h, to: to)
                if to == ThreadRow.nobody, rows[Int(h)].open { enqueue(h) }
            }
        case .threadChanged(let thread, let change, _):
            guard let status = change.status else { return }
            if status.isOpen {
                let h = handle(creating: thread)
                guard !rows[Int(h)].open else { return }
                setOpen(h, true)
                // A reopened thread goes back to its previous person when they still exist.
                let a = rows[Int(h)].assignee
                if a != ThreadRow.nobody, people[Int(a)].isAgent {
                    hold(h, by: a)
                } else if let t = teamID(of: h) {
                    rows[Int(h)].assignee = ThreadRow.nobody
                    teams[t]?.queue.append(thread)
                }
            } else {
                guard let h = handleOf.find(thread, idAt: { threadIDs[Int($0)] }), rows[Int(h)].open else { return }
                setOpen(h, false)
                release(h)
                if let t = teamID(of: h) { removeFromQueue(thread, team: t) }
            }
        default:
            return
        }
    }

    /// Makes room for `n` threads (snapshot restore).
    mutating func reserve(threads n: Int) {
        let ids = threadIDs
        handleOf.reserve(n) { ids[Int($0)] }
        threadIDs.reserveCapacity(n)
        rows.reserveCapacity(n)
    }

    /// A thread's requirements; most threads have none, and then the table
    /// holds only the empty entry, so skip hashing the id.
    @inline(__always)
    func needsOf(_ thread: ThreadID) -> Needs {
        guard needsTable.count > 1, let h = handleOf.find(thread, idAt: { threadIDs[Int($0)] }) else { return Needs() }
        return needsTable[Int(rows[Int(h)].needs)]
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

    // MARK: Handles

    fileprivate mutating func handle(creating thread: ThreadID) -> UInt32 {
        if let h = handleOf.find(thread, idAt: { threadIDs[Int($0)] }) { return h }
        let h = UInt32(threadIDs.count)
        threadIDs.append(thread)
        let ids = threadIDs
        handleOf.insert(thread, handle: h) { ids[Int($0)] }
        rows.append(ThreadRow())
        return h
    }

    /// The handle of a move's thread: the planner's hint when it names this thread.
    private mutating func handle(of m: ThreadMove) -> UInt32 {
        if let hint = m.boardHint, Int(hint.thread) < threadIDs.count, threadIDs[Int(hint.thread)] == m.thread {
            return hint.thread
        }
        return handle(creating: m.thread)
    }

    private mutating func person(creating id: ContactID) -> Int32 {
        if let p = personIndex[id] { return p }
        let p = Int32(people.count)
        personIndex[id] = p
        people.append(Person(id: id, isAgent: false, presence: .offline, skills: [], teams: [], maxOpenThreads: 0, held: []))
        return p
    }

    /// The index of a move's new person: the planner's hint when it names them.
    private mutating func person(of id: ContactID, hint: ThreadMove.BoardHint?) -> Int32 {
        if let p = hint?.to, p >= 0, Int(p) < people.count, people[Int(p)].id == id { return p }
        return person(creating: id)
    }

    private mutating func teamHandle(creating t: TeamID) -> Int32 {
        if let i = teamIndex[t] { return i }
        let i = Int32(teamIDs.count)
        teamIndex[t] = i
        teamIDs.append(t)
        return i
    }

    private func teamID(of h: UInt32) -> TeamID? {
        let t = rows[Int(h)].team
        return t < 0 ? nil : teamIDs[Int(t)]
    }

    // MARK: Rows and lists

    private mutating func setOpen(_ h: UInt32, _ open: Bool) {
        guard rows[Int(h)].open != open else { return }
        rows[Int(h)].open = open
        openCount += open ? 1 : -1
    }

    /// Records the routing requirements of a thread (from its header).
    private mutating func setNeeds(_ n: Needs, at h: UInt32) {
        if let i = needsIndex[n] {
            rows[Int(h)].needs = i
        } else {
            let i = UInt32(needsTable.count)
            needsTable.append(n)
            needsIndex[n] = i
            rows[Int(h)].needs = i
        }
    }

    /// Puts an open thread in its person's list.
    private mutating func hold(_ h: UInt32, by p: Int32) {
        guard rows[Int(h)].heldAt == ThreadRow.notHeld else { return }
        rows[Int(h)].heldAt = UInt32(people[Int(p)].held.count)
        people[Int(p)].held.append(h)
    }

    /// Takes a thread out of its person's list: the last entry takes its place.
    private mutating func release(_ h: UInt32) {
        let at = rows[Int(h)].heldAt
        guard at != ThreadRow.notHeld else { return }
        let p = Int(rows[Int(h)].assignee)
        let last = people[p].held.removeLast()
        if last != h {
            people[p].held[Int(at)] = last
            rows[Int(last)].heldAt = at
        }
        rows[Int(h)].heldAt = ThreadRow.notHeld
    }

    /// Gives a thread to a person (or to nobody); an open thread joins an agent's list.
    private mutating func move(_ h: UInt32, to p: Int32) {
        release(h)
        rows[Int(h)].assignee = p
        if p != ThreadRow.nobody, rows[Int(h)].open, people[Int(p)].isAgent { hold(h, by: p) }
    }

    /// Queues a thread in its team, once.
    private mutating func enqueue(_ h: UInt32) {
        guard let t = teamID(of: h), teams[t]?.queue.contains(threadIDs[Int(h)]) == false else { return }
        teams[t]?.queue.append(threadIDs[Int(h)])
    }

    private mutating func assign(_ h: UInt32, to p: Int32) {
        let team = teamID(of: h)
        if let team { removeFromQueue(threadIDs[Int(h)], team: team) }
        move(h, to: p)
        if let team, let order = teams[team]?.members.firstIndex(of: people[Int(p)].id) { teams[team]!.lastPicked = order }
    }

    private mutating func upsertAgent(_ c: Contact) {
        let skills = Set(c.skills.map { $0.lowercased() })
        let p = Int(person(creating: c.id))
        let before = people[p].isAgent ? people[p].teams : []
        for t in before where !c.teams.contains(t) { teams[t]?.members.removeAll { $0 == c.id } }
        for t in c.teams where !before.contains(t) { teams[t]?.members.append(c.id) }
        people[p].isAgent = true
        people[p].skills = skills
        people[p].teams = c.teams
        people[p].maxOpenThreads = c.maxOpenThreads
        people[p].presence = c.presence
    }
}

// MARK: - Shared thread handles

/// The board's handles are the engine's thread handles: the analytics book
/// keeps its facts at them (`EngineState.apply`), so one id hash per thread
/// serves both, and a planned move reaches both by its hint.
extension AssignmentBoard: ThreadHandles {
    public mutating func threadHandle(creating thread: ThreadID) -> UInt32 { handle(creating: thread) }

    public func threadHandle(of thread: ThreadID, hint: UInt32?) -> UInt32? {
        if let hint, Int(hint) < threadIDs.count, threadIDs[Int(hint)] == thread { return hint }
        return handleOf.find(thread, idAt: { threadIDs[Int($0)] })
    }
}

// MARK: - Views by id

extension AssignmentBoard {
    /// One person's routing data and open threads, as the board holds them.
    public struct AgentSlot: Sendable, Hashable {
        public var id: ContactID
        public var presence: Presence
        public var skills: Set<String>
        public var teams: [TeamID]
        public var maxOpenThreads: Int
        public var load: Int { held.count }
        /// The person's open threads (built on each use).
        public var open: Set<ThreadID> { Set(held.map { threadIDs[Int($0)] }) }
        let held: [UInt32]
        let threadIDs: [ThreadID]

        init(_ p: Person, threadIDs: [ThreadID]) {
            id = p.id; presence = p.presence; skills = p.skills; teams = p.teams
            maxOpenThreads = p.maxOpenThreads; held = p.held; self.threadIDs = threadIDs
        }

        public static func == (a: Self, b: Self) -> Bool {
            a.id == b.id && a.presence == b.presence && a.skills == b.skills && a.teams == b.teams
                && a.maxOpenThreads == b.maxOpenThreads && a.open == b.open
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(id)
            hasher.combine(load)
        }
    }

    /// The agents by contact id.
    public struct Agents: Sendable, Equatable {
        let people: [Person]
        let personIndex: [ContactID: Int32]
        let threadIDs: [ThreadID]

        public subscript(_ id: ContactID) -> AgentSlot? {
            guard let p = personIndex[id], people[Int(p)].isAgent else { return nil }
            return AgentSlot(people[Int(p)], threadIDs: threadIDs)
        }

        public var values: [AgentSlot] { people.filter(\.isAgent).map { AgentSlot($0, threadIDs: threadIDs) } }
        public var count: Int { people.reduce(0) { $0 + ($1.isAgent ? 1 : 0) } }
        public var dictionary: [ContactID: AgentSlot] { Dictionary(uniqueKeysWithValues: values.map { ($0.id, $0) }) }

        public static func == (a: Self, b: Self) -> Bool { a.dictionary == b.dictionary }
    }

    /// Thread → assignee.
    public struct Assignees: Sendable, Equatable, Sequence {
        let handleOf: HandleIndex<ThreadID>
        let rows: [ThreadRow]
        let threadIDs: [ThreadID]
        let people: [Person]

        public subscript(_ thread: ThreadID) -> ContactID? {
            guard let h = handleOf.find(thread, idAt: { threadIDs[Int($0)] }) else { return nil }
            let p = rows[Int(h)].assignee
            return p == ThreadRow.nobody ? nil : people[Int(p)].id
        }

        public var dictionary: [ThreadID: ContactID] {
            var out: [ThreadID: ContactID] = [:]
            for (h, r) in rows.enumerated() where r.assignee != ThreadRow.nobody { out[threadIDs[h]] = people[Int(r.assignee)].id }
            return out
        }

        public var count: Int { rows.reduce(0) { $0 + ($1.assignee == ThreadRow.nobody ? 0 : 1) } }
        public func makeIterator() -> Dictionary<ThreadID, ContactID>.Iterator { dictionary.makeIterator() }
        public static func == (a: Self, b: Self) -> Bool { a.dictionary == b.dictionary }
    }

    /// Thread → team.
    public struct ThreadTeams: Sendable, Equatable, Sequence {
        let handleOf: HandleIndex<ThreadID>
        let rows: [ThreadRow]
        let threadIDs: [ThreadID]
        let teamIDs: [TeamID]

        public subscript(_ thread: ThreadID) -> TeamID? {
            guard let h = handleOf.find(thread, idAt: { threadIDs[Int($0)] }) else { return nil }
            let t = rows[Int(h)].team
            return t < 0 ? nil : teamIDs[Int(t)]
        }

        public var dictionary: [ThreadID: TeamID] {
            var out: [ThreadID: TeamID] = [:]
            for (h, r) in rows.enumerated() where r.team >= 0 { out[threadIDs[h]] = teamIDs[Int(r.team)] }
            return out
        }

        public func makeIterator() -> Dictionary<ThreadID, TeamID>.Iterator { dictionary.makeIterator() }
        public static func == (a: Self, b: Self) -> Bool { a.dictionary == b.dictionary }
    }

    /// Thread → requirements, for threads that have any.
    public struct ThreadNeeds: Sendable, Equatable {
        let handleOf: HandleIndex<ThreadID>
        let rows: [ThreadRow]
        let threadIDs: [ThreadID]
        let table: [Needs]

        public subscript(_ thread: ThreadID) -> Needs? {
            guard let h = handleOf.find(thread, idAt: { threadIDs[Int($0)] }) else { return nil }
            let n = rows[Int(h)].needs
            return n == 0 ? nil : table[Int(n)]
        }

        public var isEmpty: Bool { !rows.contains { $0.needs != 0 } }

        public var dictionary: [ThreadID: Needs] {
            var out: [ThreadID: Needs] = [:]
            for (h, r) in rows.enumerated() where r.needs != 0 { out[threadIDs[h]] = table[Int(r.needs)] }
            return out
        }

        public static func == (a: Self, b: Self) -> Bool { a.dictionary == b.dictionary }
    }

    /// The open threads.
    public struct OpenThreads: Sendable, Equatable, Sequence {
        let handleOf: HandleIndex<ThreadID>
        let rows: [ThreadRow]
        let threadIDs: [ThreadID]
        public let count: Int

        public func contains(_ thread: ThreadID) -> Bool { handleOf.find(thread, idAt: { threadIDs[Int($0)] }).map { rows[Int($0)].open } ?? false }
        public var isEmpty: Bool { count == 0 }
        public var set: Set<ThreadID> {
            var out = Set<ThreadID>(minimumCapacity: count)
            for (h, r) in rows.enumerated() where r.open { out.insert(threadIDs[h]) }
            return out
        }

        public func makeIterator() -> Set<ThreadID>.Iterator { set.makeIterator() }
        public static func == (a: Self, b: Self) -> Bool { a.set == b.set }
    }
}
