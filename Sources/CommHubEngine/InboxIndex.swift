import CommHubDomain
import Foundation
import Synchronization

/// What the inbox asks for. Empty sets and nil mean "any".
public struct InboxFilter: Sendable, Hashable {
    public var statuses: Set<ThreadStatus>
    public var priorities: Set<Priority> = []
    public var threadTypes: Set<ThreadType> = []
    public var channelTypes: Set<ChannelType> = []
    public var brands: Set<Brand> = []
    public var assignee: ContactID?
    public var unassignedOnly = false
    public var teams: Set<TeamID> = []
    public var customer: CustomerID?
    public var order: OrderID?
    public var overdueAt: Date?
    public var text: String?
    /// Access scope: when set, only threads of these teams or assigned to `scopeContact`.
    public var scopeTeams: Set<TeamID>?
    public var scopeContact: ContactID?

    /// Open statuses, the inbox default.
    public static let openStatuses: Set<ThreadStatus> = Set(ThreadStatus.allCases.filter(\.isOpen))

    public init(statuses: Set<ThreadStatus> = InboxFilter.openStatuses) {
        self.statuses = statuses
    }
}

/// One page of thread ids, most urgent first.
public struct InboxPage: Sendable, Hashable {
    public var threadIDs: [ThreadID]
    public var nextCursor: String?
}

/// The inbox read model: a compact row per thread and two ordered indexes,
/// open threads by urgency (priority, then response due time) and finished
/// threads by recency, plus per-assignee sets. It is a projection of
/// committed events, so it never shows what the journal has not stored.
/// Thread headers for a page come from the thread actors.
public final class InboxIndex: Sendable {
    /// Fields are declared widest-alignment first (Swift keeps declaration
    /// order): 128 bytes a row instead of 144 with the ids interleaved.
    struct Row: Sendable {
        var updatedAt: Date
        /// The thread's subject: the same string storage as the thread header's
        /// (no lowered copy per row; text search folds ASCII case as it scans).
        var subject: String
        var due: Date?
        var id: ThreadID
        var team: TeamID?
        var assignee: ContactID?
        var customer: CustomerID?
        var order: OrderID?
        var status: ThreadStatus
        var priority: Priority
        var threadType: ThreadType
        var channelType: ChannelType
        var brand: Brand?
        var awaiting: Bool
        /// Position in the assignee's row list (`State.rowsOf`); fits in the row's padding.
        var assignedAt: UInt32 = 0

        init(id: ThreadID, status: ThreadStatus, priority: Priority, threadType: ThreadType, channelType: ChannelType,
             brand: Brand?, team: TeamID?, assignee: ContactID?, customer: CustomerID?, order: OrderID?, due: Date?,
             awaiting: Bool, updatedAt: Date, subject: String) {
            self.updatedAt = updatedAt; self.subject = subject; self.due = due; self.id = id; self.team = team
            self.assignee = assignee; self.customer = customer; self.order = order; self.status = status
            self.priority = priority; self.threadType = threadType; self.channelType = channelType; self.brand = brand
            self.awaiting = awaiting
        }
    }

    /// Sort key: urgency, then the thread id (a tie-break that does not
    /// depend on insertion order, so a restored engine lists threads in the
    /// same order as the one that wrote them). `row` locates the row.
    struct UrgencyKey: Comparable, Sendable {
        var rankAndDue: UInt64
        var idHigh: UInt64
        var idLow: UInt64
        var row: UInt32
        static func < (a: Self, b: Self) -> Bool {
            (a.rankAndDue, a.idHigh, a.idLow) < (b.rankAndDue, b.idHigh, b.idLow)
        }
        static func == (a: Self, b: Self) -> Bool {
            a.rankAndDue == b.rankAndDue && a.idHigh == b.idHigh && a.idLow == b.idLow
        }
    }

    static func idHalves(_ id: ThreadID) -> (UInt64, UInt64) {
        withUnsafeBytes(of: id.uuid.uuid) { raw in
            (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
             UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }

    struct State: Sendable {
        var rows: [Row] = []
        /// Thread id → row, keyed through the rows' ids (`HandleIndex`: 16 bytes a thread, not 40).
        var rowOf = HandleIndex<ThreadID>()

        func row(_ id: ThreadID) -> UInt32? { rowOf.find(id, idAt: { rows[Int($0)].id }) }
        /// Rows by the engine's thread handle (the assignment board's, `ThreadHandles`),
        /// learnt from the first planned move of each thread (`ThreadMove.boardHint`):
        /// later rebalances of it find the row without hashing the id. `noRow` where
        /// not learnt; an entry is used only when the row holds that very thread.
        var rowOfHandle: [UInt32] = []
        static let noRow = UInt32.max
        var open = SortedKeys<UrgencyKey>()
        var finished = SortedKeys<UrgencyKey>()
        /// Each person's rows, as lists with O(1) removal (the last entry takes
        /// the freed place): a rebalance moves rows between lists without hashing.
        var personOf: [ContactID: Int32] = [:]
        var personIDs: [ContactID] = []
        var rowsOf: [[UInt32]] = []
        /// People by the board's person index (`ThreadMove.BoardHint.to`), learnt
        /// like `rowOfHandle`; -1 where not learnt, checked against `personIDs`.
        var personOfHint: [Int32] = []
        static let maxPersonHints: Int32 = 65_536
        var lastSeq: UInt64 = 0

        /// The rows of a person, for queries.
        func rows(of person: ContactID) -> [UInt32] { personOf[person].map { rowsOf[Int($0)] } ?? [] }

        mutating func person(creating id: ContactID) -> Int32 {
            if let p = personOf[id] { return p }
            personOf[id] = Int32(rowsOf.count)
            personIDs.append(id)
            rowsOf.append([])
            return Int32(rowsOf.count - 1)
        }

        mutating func list(_ i: UInt32, for p: Int32) {
            rows[Int(i)].assignedAt = UInt32(rowsOf[Int(p)].count)
            rowsOf[Int(p)].append(i)
        }

        mutating func unlist(_ i: UInt32, from p: Int32) {
            let at = rows[Int(i)].assignedAt
            let last = rowsOf[Int(p)].removeLast()
            if last != i {
                rowsOf[Int(p)][Int(at)] = last
                rows[Int(last)].assignedAt = at
            }
        }
    }

    /// The people met while applying one batch, searched linearly (a
    /// rebalance names a handful, again and again) before the id table; the
    /// ids are compared as two words, and the last hit is tried first (a
    /// drain takes every thread from one person).
    struct PersonCache {
        private var ids: [IDWords] = []
        private var people: [Int32] = []
        private var next = 0
        private var last = 0

        struct IDWords: Equatable {
            var high: UInt64, low: UInt64
            init(_ id: ContactID) { (high, low) = id.words }
        }

        /// The inbox's person for a move's new assignee, by the board's index when learnt.
        mutating func person(_ id: ContactID, hint: Int32?, in s: inout State) -> Int32 {
            guard let hint, hint >= 0, hint < State.maxPersonHints else { return person(id, in: &s) }
            let h = Int(hint)
            if h < s.personOfHint.count {
                let p = s.personOfHint[h]
                if p >= 0, IDWords(s.personIDs[Int(p)]) == IDWords(id) { return p }
            } else {
                s.personOfHint.append(contentsOf: repeatElement(-1, count: h + 1 - s.personOfHint.count))
            }
            let p = person(id, in: &s)
            s.personOfHint[h] = p
            return p
        }

        mutating func person(_ id: ContactID, in s: inout State) -> Int32 {
            let w = IDWords(id)
            if last < ids.count, ids[last] == w { return people[last] }
            if let k = ids.firstIndex(of: w) { last = k; return people[k] }
            let p = s.person(creating: id)
            if ids.count < 32 {
                ids.append(w)
                people.append(p)
            } else {
                ids[next] = w
                people[next] = p
                next = (next + 1) % 32
            }
            return p
        }
    }

    private let state = Mutex(State())

    public init() {}

    public var count: Int { state.withLock { $0.rows.count } }
    public var lastSeq: UInt64 { state.withLock { $0.lastSeq } }

    // MARK: Projection

    public func apply(_ batch: [SequencedEvent]) {
        state.withLock { s in
            var people = PersonCache()
            for e in batch { Self.apply(e, to: &s, people: &people) }
        }
    }

    private static func key(_ r: Row, _ i: UInt32) -> UrgencyKey {
        let (hi, lo) = idHalves(r.id)
        if r.status.isOpen {
            let due = r.due.map { UInt64(max(0, $0.timeIntervalSince1970 * 1000)) } ?? (UInt64(1) << 56) - 1
            return UrgencyKey(rankAndDue: UInt64(r.priority.rank) << 56 | min(due, (UInt64(1) << 56) - 1),
                              idHigh: hi, idLow: lo, row: i)
        }
        // Finished threads: most recently updated first.
        let t = UInt64(max(0, r.updatedAt.timeIntervalSince1970 * 1000))
        return UrgencyKey(rankAndDue: UInt64.max - t, idHigh: hi, idLow: lo, row: i)
    }

    private static func apply(_ e: SequencedEvent, to s: inout State, people: inout PersonCache) {
        s.lastSeq = max(s.lastSeq, e.seq)
        switch e.event {
        case .threadOpened(let h):
            guard s.row(h.id) == nil else { return }
            let i = UInt32(s.rows.count)
            let r = Row(id: h.id, status: h.status, priority: h.priority, threadType: h.threadType,
                        channelType: h.channelType, brand: h.businessEntity, team: h.assignedTeamID,
                        assignee: nil, customer: h.customerID, order: h.orderID, due: h.responseDueAt,
                        awaiting: h.awaitingResponseSince != nil, updatedAt: h.updatedAt,
                        subject: h.threadSubject)
            s.rows.append(r)
            do {
                let rows = s.rows  // released before the rows change again (no copy)
                s.rowOf.insert(h.id, handle: i, idAt: { rows[Int($0)].id })
            }
            insertKey(r, i, &s)
        case .threadChanged(let t, let c, let at):
            update(t, &s) { r in
                if let st = c.status {
                    if !st.isOpen { r.due = nil; r.awaiting = false }
                    r.status = st
                }
                if let p = c.priority { r.priority = p }
                if let ty = c.threadType { r.threadType = ty }
                if let sub = c.threadSubject { r.subject = sub }
                if let cu = c.customerID { r.customer = cu }
                if let o = c.orderID { r.order = o }
                if let d = c.responseDueAt { r.due = d }
                if c.clearResponseDue == true { r.due = nil }
                r.updatedAt = max(r.updatedAt, at)
            }
        case .messageAdded(let m, _, let due):
            update(m.threadID, &s) { r in
                let next = ResponseClock.after(m.messageType, awaiting: r.awaiting, currentDue: r.due, eventDue: due)
                r.awaiting = next.awaiting
                r.due = next.due
                r.updatedAt = max(r.updatedAt, m.createdAt)
            }
        case .threadAssigned(let t, let team, let agent, _):
            update(t, &s) { r in
                if let team { r.team = team }
                r.assignee = agent
            }
        case .threadsRebalanced(let moves, _):
            // Only the assignee changes, so the urgency key stays: the ordered
            // indexes are left alone and the row moves between two lists.
            for m in moves { reassign(m.thread, to: m.to, hint: m.boardHint, &s, &people) }
        case .dataErased(let erasure):
            // The skeleton's subject ("erased customer") and no customer or order any more.
            for t in erasure.threads {
                update(t.header.id, &s) { r in
                    r.subject = t.header.threadSubject
                    r.customer = t.header.customerID
                    r.order = t.header.orderID
                }
            }
        case .threadsMerged(let m):
            update(m.merged, &s) { r in
                r.status = .closed; r.due = nil; r.awaiting = false; r.updatedAt = max(r.updatedAt, m.at)
            }
            update(m.survivor.id, &s) { $0.take(m.survivor) }
        case .threadSplit(let sp):
            apply(SequencedEvent(seq: e.seq, event: .threadOpened(sp.newThread)), to: &s, people: &people)
            update(sp.source.id, &s) { $0.take(sp.source) }
        case .csatCaptured(let a):
            // The score's message does not start the response clock.
            update(a.thread, &s) { r in r.awaiting = false; r.due = nil }
        default:
            return
        }
    }

    private static func insertKey(_ r: Row, _ i: UInt32, _ s: inout State) {
        if r.status.isOpen { s.open.insert(key(r, i)) } else { s.finished.insert(key(r, i)) }
        if let a = r.assignee { s.list(i, for: s.person(creating: a)) }
    }

    private static func removeKey(_ r: Row, _ i: UInt32, _ s: inout State) {
        if r.status.isOpen { s.open.remove(key(r, i)) } else { s.finished.remove(key(r, i)) }
        if let a = r.assignee, let p = s.personOf[a] { s.unlist(i, from: p) }
    }

    private static func reassign(_ id: ThreadID, to new: ContactID?, hint: ThreadMove.BoardHint?, _ s: inout State,
                                 _ people: inout PersonCache) {
        guard let i = row(of: id, handle: hint?.thread, &s) else { return }
        let old = s.rows[Int(i)].assignee
        guard old != new else { return }
        if let old { s.unlist(i, from: people.person(old, in: &s)) }
        s.rows[Int(i)].assignee = new
        if let new { s.list(i, for: people.person(new, hint: hint?.to, in: &s)) }
    }

    /// The row of a moved thread: by the engine's handle when learnt, else by id (and learnt then).
    private static func row(of id: ThreadID, handle: UInt32?, _ s: inout State) -> UInt32? {
        guard let handle else { return s.row(id) }
        let h = Int(handle)
        if h < s.rowOfHandle.count {
            let i = s.rowOfHandle[h]
            if i != State.noRow, s.rows[Int(i)].id == id { return i }
        }
        guard let i = s.row(id) else { return nil }
        // Bounded by the board's handles, which count threads: a hint far beyond
        // the rows is not learnt (it cannot be a handle of this engine's board).
        if h >= s.rowOfHandle.count, h < s.rows.count * 2 + 1024 {
            s.rowOfHandle.append(contentsOf: repeatElement(State.noRow, count: h + 1 - s.rowOfHandle.count))
        }
        if h < s.rowOfHandle.count { s.rowOfHandle[h] = i }
        return i
    }

    private static func update(_ id: ThreadID, _ s: inout State, _ change: (inout Row) -> Void) {
        guard let i = s.row(id) else { return }
        removeKey(s.rows[Int(i)], i, &s)
        change(&s.rows[Int(i)])
        insertKey(s.rows[Int(i)], i, &s)
    }

    // MARK: Queries

    /// A page of threads matching `filter`, most urgent first; finished
    /// threads (when asked for) follow, most recent first.
    public func page(_ f: InboxFilter, limit: Int, cursor: String?) -> InboxPage {
        let limit = max(1, min(limit, 500))
        return state.withLock { s in
          // Rows are read in place: copying a 128-byte row (and retaining its
          // subject) per visited row was a third of a text search.
          s.rows.withUnsafeBufferPointer { rows in
            var ids: [ThreadID] = []
            ids.reserveCapacity(limit)
            var next: String?
            let text = f.text.flatMap { $0.isEmpty ? nil : TextNeedle($0) }
            let start = cursor.flatMap(Cursor.init)

            // Enum filters as bit masks over case tags: no hashing per row.
            func mask<E: ContractEnum>(_ set: Set<E>) -> UInt32 {
                set.isEmpty ? UInt32.max : set.reduce(0) { $0 | (1 << UInt32($1.caseTag)) }
            }
            let statusMask = mask(f.statuses), priorityMask = mask(f.priorities)
            let typeMask = mask(f.threadTypes), channelMask = mask(f.channelTypes)
            let brandMask: UInt32 = f.brands.isEmpty ? UInt32.max : mask(f.brands)
            @inline(__always) func has(_ m: UInt32, _ tag: UInt8) -> Bool { m & (1 << UInt32(tag)) != 0 }

            func matches(_ i: Int) -> Bool {
                let r = rows.baseAddress! + i
                guard has(statusMask, r.pointee.status.caseTag), has(priorityMask, r.pointee.priority.caseTag),
                      has(typeMask, r.pointee.threadType.caseTag), has(channelMask, r.pointee.channelType.caseTag)
                else { return false }
                if brandMask != UInt32.max { guard let b = r.pointee.brand, has(brandMask, b.caseTag) else { return false } }
                if let a = f.assignee, r.pointee.assignee != a { return false }
                if f.unassignedOnly, r.pointee.assignee != nil { return false }
                if !f.teams.isEmpty, !(r.pointee.team.map(f.teams.contains) ?? false) { return false }
                if let c = f.customer, r.pointee.customer != c { return false }
                if let o = f.order, r.pointee.order != o { return false }
                if let now = f.overdueAt, !(r.pointee.due.map { $0 < now } ?? false) { return false }
                if let scope = f.scopeTeams {
                    let inTeam = r.pointee.team.map(scope.contains) ?? false
                    if !inTeam, r.pointee.assignee == nil || r.pointee.assignee != f.scopeContact { return false }
                }
                if let text, !text.found(in: r.pointee.subject) { return false }
                return true
            }

            // A selective assignee filter walks that person's set instead of the whole index.
            if let a = f.assignee {
                var keys: [(UrgencyKey, Bool)] = []
                for i in s.rows(of: a) where matches(Int(i)) {
                    let r = rows[Int(i)]
                    keys.append((Self.key(r, i), r.status.isOpen))
                }
                keys.sort { ($0.1 ? 0 : 1, $0.0) < ($1.1 ? 0 : 1, $1.0) }
                var startIndex = 0
                if let c = start {
                    startIndex = keys.firstIndex { ($0.1 ? 0 : 1, $0.0) > (c.open ? 0 : 1, c.key) } ?? keys.count
                }
                let slice = keys[startIndex...].prefix(limit + 1)
                for (k, _) in slice.prefix(limit) { ids.append(rows[Int(k.row)].id) }
                if slice.count > limit, let last = slice.dropLast().last {
                    next = Cursor(open: last.1, key: last.0).encoded
                }
                return InboxPage(threadIDs: ids, nextCursor: next)
            }

            let wantOpen = f.statuses.isEmpty || f.statuses.contains { $0.isOpen }
            let wantFinished = f.statuses.isEmpty || f.statuses.contains { !$0.isOpen }
            var lastKey: (Bool, UrgencyKey)?
            var more = false
            let overdueMs = f.overdueAt.map { UInt64(max(0, $0.timeIntervalSince1970 * 1000)) }
            let dueBits = (UInt64(1) << 56) - 1
            /// Walks `index` after `after`; with `rank`, only that priority's
            /// segment of the open index (keys start with the rank), and with
            /// an overdue filter only until the first key not yet due.
            func walk(_ index: SortedKeys<UrgencyKey>, open: Bool, after: UrgencyKey?, rank: UInt64?) {
                index.forEach(after: after) { k in
                    if let rank {
                        if k.rankAndDue >> 56 != rank { return false }
                        if let overdueMs, k.rankAndDue & dueBits >= overdueMs { return false }
                    }
                    guard matches(Int(k.row)) else { return true }
                    if ids.count == limit { more = true; return false }
                    ids.append(rows[Int(k.row)].id)
                    lastKey = (open, k)
                    return true
                }
            }
            if wantOpen, start?.open ?? true {
                if f.priorities.isEmpty && overdueMs == nil {
                    walk(s.open, open: true, after: start?.open == true ? start?.key : nil, rank: nil)
                } else {
                    // Jump to each wanted priority's segment instead of stepping over the others.
                    let ranks = (f.priorities.isEmpty ? Priority.allCases : Array(f.priorities)).map { UInt64($0.rank) }.sorted()
                    for rank in ranks where !more {
                        let segmentStart = rank == 0 ? nil
                            : UrgencyKey(rankAndDue: (rank << 56) - 1, idHigh: .max, idLow: .max, row: 0)
                        var from = segmentStart
                        if let c = start, c.open {
                            if c.key.rankAndDue >> 56 > rank { continue }
                            if c.key.rankAndDue >> 56 == rank { from = c.key }
                        }
                        walk(s.open, open: true, after: from, rank: rank)
                    }
                }
            }
            if wantFinished, !more {
                walk(s.finished, open: false, after: start?.open == false ? start?.key : nil, rank: nil)
            }
            if more, let (open, k) = lastKey { next = Cursor(open: open, key: k).encoded }
            return InboxPage(threadIDs: ids, nextCursor: next)
          }
        }
    }

    /// The team and assignee of a thread as committed (for event filtering).
    public func scope(of thread: ThreadID) -> (team: TeamID?, assignee: ContactID?)? {
        state.withLock { s in
            s.row(thread).map { (s.rows[Int($0)].team, s.rows[Int($0)].assignee) }
        }
    }

    /// Counts for the analytics overview, optionally only threads of `teams`.
    public struct Figures: Sendable {
        public var total = 0
        public var byStatus: [ThreadStatus: Int] = [:]
        public var openByPriority: [Priority: Int] = [:]
        public var openByChannel: [ChannelType: Int] = [:]
        public var openByBrand: [Brand: Int] = [:]
        public var openByType: [ThreadType: Int] = [:]
        public var overdue = 0
        public var unassigned = 0
    }

    public func figures(teams: Set<TeamID>?, now: Date) -> Figures {
        state.withLock { s in
            var f = Figures()
            for r in s.rows {
                if let teams, !(r.team.map(teams.contains) ?? false) { continue }
                f.total += 1
                f.byStatus[r.status, default: 0] += 1
                guard r.status.isOpen else { continue }
                f.openByPriority[r.priority, default: 0] += 1
                f.openByChannel[r.channelType, default: 0] += 1
                if let b = r.brand { f.openByBrand[b, default: 0] += 1 }
                f.openByType[r.threadType, default: 0] += 1
                if let d = r.due, d < now { f.overdue += 1 }
                if r.assignee == nil { f.unassigned += 1 }
            }
            return f
        }
    }

    /// Threads per status, for stats.
    public func countsByStatus() -> [ThreadStatus: Int] {
        state.withLock { s in
            var out: [ThreadStatus: Int] = [:]
            for r in s.rows { out[r.status, default: 0] += 1 }
            return out
        }
    }

    /// Open threads whose response is overdue at `now`.
    public func overdueCount(at now: Date) -> Int {
        state.withLock { s in s.rows.reduce(0) { $0 + (($1.status.isOpen && ($1.due.map { $0 < now } ?? false)) ? 1 : 0) } }
    }

    struct Cursor {
        var open: Bool
        var key: UrgencyKey

        init(open: Bool, key: UrgencyKey) { self.open = open; self.key = key }

        init?(_ text: String) {
            let padded = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                + String(repeating: "=", count: (4 - text.count % 4) % 4)
            guard let data = Data(base64Encoded: padded), let s = String(data: data, encoding: .utf8) else { return nil }
            let parts = s.split(separator: ":")
            guard parts.count == 5, let a = UInt64(parts[1]), let h = UInt64(parts[2]), let l = UInt64(parts[3]),
                  let r = UInt32(parts[4]), parts[0] == "o" || parts[0] == "f"
            else { return nil }
            open = parts[0] == "o"
            key = UrgencyKey(rankAndDue: a, idHigh: h, idLow: l, row: r)
        }

        /// Unpadded base64url of "o|f:rankAndDue:idHigh:idLow:row", encoded by hand
        /// (the same text as Foundation's base64 with `+/` → `-_` and `=` dropped,
        /// which took a tenth of a text-search page in string replacing).
        var encoded: String {
            Self.base64URL(Array("\(open ? "o" : "f"):\(key.rankAndDue):\(key.idHigh):\(key.idLow):\(key.row)".utf8))
        }

        static func base64URL(_ bytes: [UInt8]) -> String {
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
            var out: [UInt8] = []
            out.reserveCapacity((bytes.count + 2) / 3 * 4)
            var i = 0
            while i < bytes.count {
                let b0 = UInt32(bytes[i])
                let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
                let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
                let n = b0 << 16 | b1 << 8 | b2
                let chars = bytes.count - i >= 3 ? 4 : bytes.count - i + 1
                for k in 0..<chars { out.append(alphabet[Int((n >> UInt32(18 - 6 * k)) & 63)]) }
                i += 3
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}

/// The response-deadline rule shared by the thread actors and the read
/// model: the first unanswered customer message starts the clock; our
/// outgoing answer stops it; an auto-response does not count as an answer.
/// A customer message while the clock waits without a deadline (paused in
/// `waiting_customer`) takes the deadline the event carries (the resumed one).
public enum ResponseClock {
    public static func after(_ type: MessageType, awaiting: Bool, currentDue: Date?, eventDue: Date?)
        -> (awaiting: Bool, due: Date?) {
        switch type {
        case .incoming: awaiting && currentDue != nil ? (true, currentDue) : (true, eventDue)
        case .outgoing: (false, nil)
        case .autoResponse, .internalNote, .systemNotification: (awaiting, currentDue)
        }
    }
}

/// A search text for case-insensitive substring search in subjects. ASCII
/// subjects (nearly all) are scanned byte by byte with ASCII case folding,
/// without allocating; others are lowered first.
struct TextNeedle {
    let text: String
    let bytes: [UInt8]

    init(_ text: String) {
        self.text = text.lowercased()
        bytes = Array(self.text.utf8)
    }

    func found(in haystack: String) -> Bool {
        var h = haystack
        let ascii: Bool? = h.withUTF8 { b -> Bool? in
            guard Self.isASCII(b) else { return nil }
            return bytes.withUnsafeBufferPointer { Self.contains(b, $0) }
        }
        return ascii ?? haystack.lowercased().contains(text)
    }

    /// Whether every byte is below 0x80, eight bytes at a time.
    static func isASCII(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = b.baseAddress else { return true }
        var i = 0
        var bits: UInt64 = 0
        while i + 8 <= b.count {
            bits |= UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            i += 8
        }
        while i < b.count {
            bits |= UInt64(b[i])
            i += 1
        }
        return bits & 0x8080_8080_8080_8080 == 0
    }

    static func contains(_ b: UnsafeBufferPointer<UInt8>, _ needle: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = needle.count
        guard n > 0 else { return true }
        guard b.count >= n else { return false }
        @inline(__always) func lower(_ c: UInt8) -> UInt8 { c &- 65 < 26 ? c | 0x20 : c }
        let first = needle[0]
        var i = 0
        let last = b.count - n
        while i <= last {
            if lower(b[i]) == first {
                var j = 1
                while j < n, lower(b[i + j]) == needle[j] { j += 1 }
                if j == n { return true }
            }
            i += 1
        }
        return false
    }
}

extension InboxIndex.Row {
    /// The header's fields after a merge or split (assignment stays with the board's events).
    mutating func take(_ h: ThreadHeader) {
        status = h.status; priority = h.priority; threadType = h.threadType; subject = h.threadSubject
        customer = h.customerID; order = h.orderID; due = h.responseDueAt
        awaiting = h.awaitingResponseSince != nil; updatedAt = max(updatedAt, h.updatedAt)
    }
}
