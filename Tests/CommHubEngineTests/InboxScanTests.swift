import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

/// The inbox read model against a brute-force scan of the same rows: random
/// threads (ASCII and non-ASCII subjects, every status and priority, due
/// times, assignees), assignments, rebalances and status changes; every page
/// of text and assignee filters, followed through cursors, must list exactly
/// the threads the scan finds, in the scan's order.
@Suite("Inbox against a brute-force scan")
struct InboxScanTests {
    /// What the scan keeps per thread.
    struct Model {
        var id: ThreadID
        var subject: String
        var status: ThreadStatus
        var priority: Priority
        var due: Date?
        var updatedAt: Date
        var assignee: ContactID?
    }

    /// The documented order: open threads by priority, then response due
    /// time (none last), then id; finished threads by last update, newest first, then id.
    static func ordered(_ rows: [Model]) -> [ThreadID] {
        func ms(_ d: Date) -> UInt64 { UInt64(max(0, d.timeIntervalSince1970 * 1000)) }
        let cap = (UInt64(1) << 56) - 1
        let open = rows.filter { $0.status.isOpen }.sorted {
            let a = (UInt64($0.priority.rank), min($0.due.map(ms) ?? cap, cap)), b = (UInt64($1.priority.rank), min($1.due.map(ms) ?? cap, cap))
            return a != b ? a < b : $0.id < $1.id
        }
        let finished = rows.filter { !$0.status.isOpen }.sorted {
            let a = ms($0.updatedAt), b = ms($1.updatedAt)
            return a != b ? a > b : $0.id < $1.id
        }
        return open.map(\.id) + finished.map(\.id)
    }

    static func all(_ inbox: InboxIndex, _ f: InboxFilter, pageSize: Int) -> [ThreadID] {
        var out: [ThreadID] = []
        var cursor: String?
        var pages = 0
        repeat {
            let p = inbox.page(f, limit: pageSize, cursor: cursor)
            out += p.threadIDs
            cursor = p.nextCursor
            pages += 1
        } while cursor != nil && pages < 10_000
        return out
    }

    @Test("text and assignee pages equal the scan, with rebalances and status changes in between",
          arguments: [1, 2, 3])
    func pagesEqualTheScan(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let inbox = InboxIndex()
        let people = (0..<6).map { _ in ContactID() }
        let words = ["Laadpaal", "storing", "FOUTCODE", "foutcode", "Factuur", "café", "Überprüfung", "straße",
                     "Zaptec", "offerte", "Fout", "code", "ÉCHEC", "naïef"]
        let statuses = ThreadStatus.allCases
        let epoch = Date(timeIntervalSince1970: 1_800_000_000)
        var rows: [ThreadID: Model] = [:]
        var order: [ThreadID] = []
        var seq: UInt64 = 0
        func apply(_ e: EngineEvent) {
            seq += 1
            inbox.apply([SequencedEvent(seq: seq, event: e)])
        }
        for i in 0..<600 {
            let subject = (0..<(1 + Int(rng.next() % 4))).map { _ in words[Int(rng.next() % UInt64(words.count))] }
                .joined(separator: rng.next() % 2 == 0 ? " " : "")
            let status = statuses[Int(rng.next() % UInt64(statuses.count))]
            let priority = Priority.allCases[Int(rng.next() % UInt64(Priority.allCases.count))]
            var h = ThreadHeader(id: ThreadID(), threadSubject: subject, priority: priority, status: status,
                                 businessEntity: .chargecars, channelType: .emailOutlook, createdAt: epoch)
            // Due times collide often, so the id decides many ties.
            if status.isOpen, rng.next() % 3 != 0 { h.responseDueAt = epoch.addingTimeInterval(Double(rng.next() % 20) * 60) }
            h.updatedAt = epoch.addingTimeInterval(Double(rng.next() % 50))
            apply(.threadOpened(h))
            var m = Model(id: h.id, subject: subject, status: status, priority: priority,
                          due: status.isOpen ? h.responseDueAt : nil, updatedAt: h.updatedAt, assignee: nil)
            if rng.next() % 5 != 0 {
                let who = people[Int(rng.next() % UInt64(people.count))]
                apply(.threadAssigned(thread: h.id, team: nil, agent: who, reason: "test"))
                m.assignee = who
            }
            rows[h.id] = m
            order.append(h.id)
            // Now and then: a rebalance of some threads, or a status change.
            if i % 50 == 49 {
                let moved = order.shuffled(using: &rng).prefix(40)
                let moves = moved.map { t -> ThreadMove in
                    let to: ContactID? = rng.next() % 6 == 0 ? nil : people[Int(rng.next() % UInt64(people.count))]
                    return ThreadMove(thread: t, from: rows[t]!.assignee, to: to)
                }
                apply(.threadsRebalanced(moves: moves, reason: "test"))
                for mv in moves { rows[mv.thread]!.assignee = mv.to }
            }
            if i % 7 == 3, let t = order.randomElement(using: &rng), rows[t]!.status.isOpen {
                let at = epoch.addingTimeInterval(Double(100 + i))
                apply(.threadChanged(thread: t, change: ThreadChange(status: .resolved), at: at))
                rows[t]!.status = .resolved
                rows[t]!.due = nil
                rows[t]!.updatedAt = max(rows[t]!.updatedAt, at)
            }
        }
        let model = Array(rows.values)
        for text in ["fout", "FOUTCODE", "storing", "é", "CAFÉ", "straße", "überprüfung", "naïef", "zz", "o"] {
            for statuses in [InboxFilter.openStatuses, Set(ThreadStatus.allCases)] {
                var f = InboxFilter(statuses: statuses)
                f.text = text
                let expected = Self.ordered(model.filter {
                    statuses.contains($0.status) && $0.subject.lowercased().contains(text.lowercased())
                })
                for size in [1, 7, 50] {
                    #expect(Self.all(inbox, f, pageSize: size) == expected, "text \(text), page size \(size)")
                }
            }
        }
        for person in people {
            var f = InboxFilter(statuses: Set(ThreadStatus.allCases))
            f.assignee = person
            let expected = Self.ordered(model.filter { $0.assignee == person })
            #expect(Self.all(inbox, f, pageSize: 9) == expected, "assignee page")
        }
        var unassigned = InboxFilter()
        unassigned.unassignedOnly = true
        #expect(Self.all(inbox, unassigned, pageSize: 13)
                == Self.ordered(model.filter { $0.status.isOpen && $0.assignee == nil }))
    }

    @Test("cursor text is Foundation's base64url without padding")
    func cursorEncoding() {
        var rng = SplitMix64(seed: 9)
        for _ in 0..<500 {
            let key = InboxIndex.UrgencyKey(rankAndDue: rng.next() >> (rng.next() % 64), idHigh: rng.next(), idLow: rng.next(),
                                            row: UInt32(truncatingIfNeeded: rng.next() >> (rng.next() % 32)))
            let open = rng.next() % 2 == 0
            let text = "\(open ? "o" : "f"):\(key.rankAndDue):\(key.idHigh):\(key.idLow):\(key.row)"
            let foundation = Data(text.utf8).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            let cursor = InboxIndex.Cursor(open: open, key: key)
            #expect(cursor.encoded == foundation)
            let back = InboxIndex.Cursor(cursor.encoded)
            #expect(back?.open == open && back?.key == key && back?.key.row == key.row)
        }
    }
}

/// A small seeded generator, so a failure can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
