import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

@Suite("Inbox read model")
struct InboxTests {
    /// 24 threads over mail and WhatsApp with varied status, priority, type and assignee.
    struct Setup {
        let w = World()
        var a = Contact(name: "a"), b = Contact(name: "b")
        var ids: [ThreadID] = []

        init() async throws {
            let team = await w.team("support")
            a = try await w.agent("A", [team], max: 100)
            b = try await w.agent("B", [team], max: 100)
            try await w.rules(AutoAssignmentRules(
                defaultAssignee: "support",
                keywordRules: [KeywordRule(keywords: ["storing"], threadType: .technicalIssue)]))
            let mail = await w.channel(.emailOutlook)
            let whatsapp = await w.channel(.whatsappBusiness)
            let priorities: [Priority] = [.low, .normal, .high, .urgent, .critical, .normal]
            for i in 0..<24 {
                let channel = i % 3 == 0 ? whatsapp : mail
                let subject = i % 4 == 0 ? "Storing laadpaal \(i)" : "Vraag over installatie \(i)"
                let id = try await w.ingest(channel, from: ExternalParty(email: "klant\(i)@example.nl"), subject: subject).threadID
                ids.append(id)
                if priorities[i % 6] != .normal {
                    _ = try await w.sup.updateThread(id, change: ThreadChange(priority: priorities[i % 6]), assignTo: nil, team: nil)
                }
                switch i % 8 {
                case 5: try await w.set(id, .waitingCustomer)
                case 6: try await w.set(id, .resolved)
                case 7: try await w.set(id, .escalated)
                default: break
                }
                w.clock.advance(by: 7 * 60)
            }
        }

        func headers() async -> [ThreadHeader] { await w.sup.headers(ids) }

        /// Every page, following cursors.
        func all(_ f: InboxFilter, pageSize: Int) -> [ThreadID] {
            var out: [ThreadID] = []
            var cursor: String?
            var pages = 0
            repeat {
                let p = w.engine.inbox.page(f, limit: pageSize, cursor: cursor)
                #expect(p.threadIDs.count <= pageSize)
                out += p.threadIDs
                cursor = p.nextCursor
                pages += 1
            } while cursor != nil && pages < 1000
            return out
        }

        /// Checks a filter against the same predicate over the thread headers, at several page sizes.
        func check(_ f: InboxFilter, _ predicate: (ThreadHeader) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async {
            let expected = Set(await headers().filter(predicate).map(\.id))
            let one = w.engine.inbox.page(f, limit: 500, cursor: nil).threadIDs
            #expect(Set(one) == expected, sourceLocation: sourceLocation)
            #expect(one.count == expected.count, "no duplicates", sourceLocation: sourceLocation)
            for size in [1, 3, 7] {
                let paged = all(f, pageSize: size)
                #expect(paged == one, "pages of \(size) cover every thread exactly once, in order", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("filters: status, priority, type, channel, assignee / mine, text")
    func filters() async throws {
        let s = try await Setup()
        await s.check(InboxFilter()) { $0.status.isOpen }
        await s.check(InboxFilter(statuses: [])) { _ in true }
        await s.check(InboxFilter(statuses: [.resolved])) { $0.status == .resolved }
        await s.check(InboxFilter(statuses: [.escalated, .waitingCustomer])) { [.escalated, .waitingCustomer].contains($0.status) }
        await s.check(InboxFilter(statuses: [.open, .resolved])) { [.open, .resolved].contains($0.status) }
        var f = InboxFilter()
        f.priorities = [.urgent, .critical]
        await s.check(f) { $0.status.isOpen && ($0.priority == .urgent || $0.priority == .critical) }
        f = InboxFilter(statuses: [])
        f.threadTypes = [.technicalIssue]
        await s.check(f) { $0.threadType == .technicalIssue }
        f = InboxFilter()
        f.channelTypes = [.whatsappBusiness]
        await s.check(f) { $0.status.isOpen && $0.channelType == .whatsappBusiness }
        for person in [s.a, s.b] {
            f = InboxFilter()
            f.assignee = person.id      // "mine" for that person
            await s.check(f) { $0.status.isOpen && $0.assignedToContactID == person.id }
            f = InboxFilter(statuses: [])
            f.assignee = person.id
            await s.check(f) { $0.assignedToContactID == person.id }
        }
        f = InboxFilter(statuses: [])
        f.text = "LAADPAAL"
        await s.check(f) { $0.threadSubject.lowercased().contains("laadpaal") }
        f = InboxFilter()
        f.text = "installatie 1"
        f.priorities = [.normal]
        await s.check(f) { $0.status.isOpen && $0.priority == .normal && $0.threadSubject.contains("installatie 1") }
        // Sanity: the setup really varies.
        let headers = await s.headers()
        #expect(Set(headers.map(\.status)).count == 4)
        #expect(Set(headers.map(\.priority)).count == 5)
        #expect(Set(headers.map(\.threadType)) == [.technicalIssue, .customerSupport])
    }

    @Test("overdue follows the simulated clock")
    func overdue() async throws {
        let s = try await Setup()
        let w = s.w
        var f = InboxFilter()
        f.overdueAt = w.clock.now()
        let due = await s.headers().compactMap(\.responseDueAt)
        #expect(!due.isEmpty)
        await s.check(f) { $0.status.isOpen && ($0.responseDueAt.map { $0 < w.clock.now() } ?? false) }
        // Move forward day by day until everything open is overdue.
        for _ in 0..<4 {
            w.clock.advance(by: 86_400)
            f.overdueAt = w.clock.now()
            let now = w.clock.now()
            await s.check(f) { $0.status.isOpen && ($0.responseDueAt.map { $0 < now } ?? false) }
        }
        let open = await s.headers().filter { $0.status.isOpen && $0.responseDueAt != nil }
        #expect(w.engine.inbox.page(f, limit: 500, cursor: nil).threadIDs.count == open.count)
        #expect(w.engine.inbox.overdueCount(at: w.clock.now()) == open.count)
        // Answering a thread stops its clock: it is no longer overdue.
        let first = try #require(open.first)
        _ = try await w.sup.addMessage(
            MessageHeader(threadID: first.id, channelID: nil, channelType: first.channelType, messageType: .outgoing,
                          senderContactID: s.a.id, deliveryStatus: .pending, createdAt: w.clock.now()),
            body: MessageBody(messageContent: "We komen eraan"))
        #expect(!w.engine.inbox.page(f, limit: 500, cursor: nil).threadIDs.contains(first.id))
        #expect(try await w.header(first.id).responseDueAt == nil)
    }

    @Test("urgency order: priority first, then the earliest response deadline; finished threads last")
    func urgency() async throws {
        let s = try await Setup()
        let page = s.w.engine.inbox.page(InboxFilter(statuses: []), limit: 500, cursor: nil).threadIDs
        let headers = Dictionary(uniqueKeysWithValues: await s.headers().map { ($0.id, $0) })
        let rows = page.map { headers[$0]! }
        let open = rows.prefix { $0.status.isOpen }
        #expect(open.count == rows.filter(\.status.isOpen).count, "open threads come first")
        for (x, y) in zip(open, open.dropFirst()) {
            let kx = (x.priority.rank, x.responseDueAt ?? .distantFuture)
            let ky = (y.priority.rank, y.responseDueAt ?? .distantFuture)
            #expect(kx <= ky, "\(x.threadSubject) before \(y.threadSubject)")
        }
        #expect(open.first?.priority == .critical)
        // Escalation sets a 30-minute deadline, which sorts an escalated thread first within its priority.
        let escalated = rows.filter { $0.status == .escalated }
        #expect(!escalated.isEmpty)
        for e in escalated {
            #expect(e.responseDueAt == e.createdAt.addingTimeInterval(30 * 60), "escalated: 30 wall-clock minutes")
        }
    }

    @Test("a cursor stays valid while threads change")
    func cursorStability() async throws {
        let s = try await Setup()
        let f = InboxFilter()
        let first = s.w.engine.inbox.page(f, limit: 5, cursor: nil)
        let cursor = try #require(first.nextCursor)
        // A thread on the first page is resolved meanwhile; the next page still starts after the cursor.
        try await s.w.set(first.threadIDs[0], .resolved)
        let second = s.w.engine.inbox.page(f, limit: 5, cursor: cursor)
        #expect(Set(second.threadIDs).isDisjoint(with: first.threadIDs))
        #expect(!second.threadIDs.isEmpty)
        // Garbage cursors start from the beginning rather than crash.
        #expect(s.w.engine.inbox.page(f, limit: 5, cursor: "%%%").threadIDs.count == 5)
    }
}
