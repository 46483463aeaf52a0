import CommHubDomain
import Foundation
import Testing

@Suite("Analytics book") struct AnalyticsBookTests {
    static func date(_ s: String) -> Date { Date(iso8601: s)! }

    static func opened(_ id: ThreadID, channel: ChannelType = .emailOutlook, team: TeamID? = nil, at: String) -> EngineEvent {
        .threadOpened(ThreadHeader(id: id, threadSubject: "t", businessEntity: .chargecars, channelType: channel,
                                   assignedTeamID: team, createdAt: date(at)))
    }

    static func message(_ thread: ThreadID, _ type: MessageType, at: String, due: String? = nil, sender: ContactID? = nil,
                        id: MessageID = MessageID()) -> EngineEvent {
        .messageAdded(header: MessageHeader(id: id, threadID: thread, channelID: nil, channelType: .emailOutlook, messageType: type,
                                            senderContactID: sender, deliveryStatus: .sent, createdAt: date(at)),
                      body: MessageBody(messageContent: "x"), responseDueAt: due.map(date))
    }

    static func status(_ thread: ThreadID, _ s: ThreadStatus, at: String) -> EngineEvent {
        .threadChanged(thread: thread, change: ThreadChange(status: s), at: date(at))
    }

    static let week = AnalyticsQuery(from: date("2026-11-20T00:00:00Z"), to: date("2026-11-30T00:00:00Z"))

    @Test func responsesDeadlinesAndTemplates() {
        var book = AnalyticsBook()
        let t = ThreadID(), agent = ContactID()
        book.apply(Self.opened(t, at: "2026-11-23T08:00:00Z"))
        book.apply(Self.message(t, .incoming, at: "2026-11-23T08:00:00Z", due: "2026-11-23T12:00:00Z"))
        book.apply(Self.message(t, .incoming, at: "2026-11-23T08:30:00Z"))
        let templated = MessageID()
        book.apply(Self.message(t, .outgoing, at: "2026-11-23T09:00:00Z", sender: agent, id: templated))
        book.apply(.templateAttached(TemplateAttachment(message: templated, thread: t, template: TemplateID(),
                                                        similarity: TemplateSimilarity(threadType: .customerSupport, brand: nil))))
        book.apply(Self.message(t, .incoming, at: "2026-11-23T10:00:00Z", due: "2026-11-23T10:30:00Z"))
        book.apply(Self.message(t, .outgoing, at: "2026-11-23T11:00:00Z", sender: agent))
        book.apply(Self.message(t, .internalNote, at: "2026-11-23T11:05:00Z"))
        let total = book.figures.answer(Self.week).total
        #expect(total.inbound == 3 && total.outbound == 2 && total.templated == 1 && total.internalNotes == 1)
        #expect(total.firstResponseSeconds == [3600], "from the first unanswered message, not the second")
        #expect(total.nextResponseSeconds == [3600])
        #expect(total.deadlinesMet == 1 && total.deadlinesMissed == 1)
        var mine = Self.week
        mine.agent = agent
        #expect(book.figures.answer(mine).total.outbound == 2, "a reply counts for its sender")
    }

    @Test func aSatisfactionAnswerStartsNoWaitAndCountsForTheResolvingAgent() {
        var book = AnalyticsBook()
        let t = ThreadID(), agent = ContactID(), answer = MessageID()
        book.apply(Self.opened(t, at: "2026-11-23T08:00:00Z"))
        book.apply(Self.message(t, .incoming, at: "2026-11-23T08:00:00Z"))
        book.apply(Self.message(t, .outgoing, at: "2026-11-23T08:10:00Z", sender: agent))
        book.apply(Self.status(t, .resolved, at: "2026-11-23T09:00:00Z"))
        book.apply(Self.message(t, .incoming, at: "2026-11-23T10:00:00Z", id: answer))
        book.apply(.csatCaptured(CSATAnswer(thread: t, message: answer, score: 4, at: Self.date("2026-11-23T10:00:00Z"), agent: agent)))
        book.apply(Self.status(t, .open, at: "2026-11-24T08:00:00Z"))
        book.apply(Self.message(t, .outgoing, at: "2026-11-24T09:00:00Z", sender: agent))
        var mine = Self.week
        mine.agent = agent
        let total = book.figures.answer(mine).total
        #expect(total.csatScores == [0, 0, 0, 1, 0])
        #expect(total.firstResponseSeconds == [600] && total.nextResponseSeconds.isEmpty, "the score was not a question waiting for us")
    }

    @Test func firstContactResolutionIsTakenBackOnReopening() {
        var book = AnalyticsBook()
        let t = ThreadID()
        book.apply(Self.opened(t, at: "2026-11-23T08:00:00Z"))
        book.apply(Self.message(t, .incoming, at: "2026-11-23T08:00:00Z"))
        book.apply(Self.message(t, .outgoing, at: "2026-11-23T08:10:00Z"))
        book.apply(Self.status(t, .resolved, at: "2026-11-23T09:00:00Z"))
        #expect(book.figures.answer(Self.week).total.firstContactResolutions == 1)
        book.apply(Self.status(t, .open, at: "2026-11-24T09:00:00Z"))
        book.apply(Self.message(t, .outgoing, at: "2026-11-24T09:10:00Z"))
        book.apply(Self.status(t, .closed, at: "2026-11-24T10:00:00Z"))
        let total = book.figures.answer(Self.week).total
        #expect(total.firstContactResolutions == 0 && total.resolutions == 2)
        #expect(total.resolutionSeconds == [3600, 3600], "each episode from its own start")
    }

    @Test func autoAssignmentAccuracyCountsManualMovesOnce() {
        var book = AnalyticsBook()
        let t = ThreadID(), a = ContactID(), b = ContactID(), c = ContactID(), team = TeamID()
        book.apply(Self.opened(t, team: team, at: "2026-11-23T08:00:00Z"))
        book.apply(.threadAssigned(thread: t, team: team, agent: a, reason: "default team"))
        book.apply(.threadAssigned(thread: t, team: team, agent: b, reason: "manual"))
        book.apply(.threadAssigned(thread: t, team: team, agent: c, reason: "manual"))
        let total = book.figures.answer(Self.week).total
        #expect(total.autoAssigned == 1 && total.reassignedAfterAuto == 1)
        #expect(book.figures.openLoad.values.reduce(0, +) == 1, "the thread loads only its current person")
        // A second thread for another person: grouped by person, the range's workload still counts both.
        let u = ThreadID()
        book.apply(Self.opened(u, team: team, at: "2026-11-23T09:30:00Z"))
        book.apply(.threadAssigned(thread: u, team: team, agent: a, reason: "default team"))
        var q = Self.week
        q.groupBy = .agent
        #expect(book.figures.answer(q).latestWorkload == [c: 1, a: 1])
    }

    @Test func dayBucketsAreAmsterdamDaysAcrossTheAutumnChange() {
        // 25 October 2026: clocks go back, the day has 25 hours.
        let q = AnalyticsQuery(from: Self.date("2026-10-24T00:00:00Z"), to: Self.date("2026-10-27T00:00:00Z"))
        #expect(q.bucketStarts() == ["2026-10-23T22:00:00Z", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", "2026-10-26T23:00:00Z"].map(Self.date))
        var book = AnalyticsBook()
        let t = ThreadID()
        book.apply(Self.opened(t, at: "2026-10-25T22:30:00Z"))  // 23:30 CET on the 25th
        book.apply(Self.message(t, .incoming, at: "2026-10-25T22:30:00Z"))
        book.apply(Self.message(t, .incoming, at: "2026-10-25T23:30:00Z"))  // 00:30 on the 26th
        let cells = book.figures.answer(q).cells
        #expect(cells.map(\.bucketStart) == [Self.date("2026-10-24T22:00:00Z"), Self.date("2026-10-25T23:00:00Z")])
        #expect(cells.map(\.tally.inbound) == [1, 1])
    }

    @Test func hourTalliesOlderThanTwoYearsAreDropped() {
        var book = AnalyticsBook()
        let old = ThreadID(), new = ThreadID()
        book.apply(Self.opened(old, at: "2024-01-10T08:00:00Z"))
        book.apply(Self.opened(new, at: "2024-06-10T08:00:00Z"))
        #expect(book.figures.hours.count == 2)
        book.apply(Self.opened(ThreadID(), at: "2026-01-20T08:00:00Z"))
        #expect(book.figures.hours.count == 2, "January 2024 is over two years old; June 2024 is not")
        #expect(book.figures.hours[AnalyticsBook.hour(of: Self.date("2024-01-10T08:00:00Z"))] == nil)
    }

    @Test func summariesAndFairness() {
        let s = SampleSummary([40, 10, 30, 20])
        #expect(s.count == 4 && s.average == 25 && s.median == 20 && s.p90 == 40)
        #expect(SampleSummary([]).median == nil)
        #expect(giniCoefficient([3, 3, 3, 3]) == 0)
        #expect(giniCoefficient([0, 0, 0, 4]) == 0.75)
        #expect(giniCoefficient([]) == nil)
    }

    @Test func queriesOutsideTheBoundsAreRefused() {
        let from = Self.date("2026-01-01T00:00:00Z")
        #expect(AnalyticsQuery(from: from, to: from).problem != nil)
        #expect(AnalyticsQuery(from: from, to: from.addingTimeInterval(40 * 86_400), bucket: .hour).problem != nil)
        #expect(AnalyticsQuery(from: from, to: from.addingTimeInterval(800 * 86_400)).problem != nil)
        #expect(AnalyticsQuery(from: from, to: from.addingTimeInterval(30 * 86_400), bucket: .hour).problem == nil)
    }

    @Test func theBookSurvivesItsSnapshotCoding() throws {
        var book = AnalyticsBook()
        let t = ThreadID()
        book.apply(Self.opened(t, at: "2026-11-23T08:00:00Z"))
        book.apply(.threadAssigned(thread: t, team: TeamID(), agent: ContactID(), reason: "routing"))
        book.apply(Self.message(t, .incoming, at: "2026-11-23T08:00:00Z", due: "2026-11-23T09:00:00Z"))
        book.apply(Self.message(t, .outgoing, at: "2026-11-23T10:00:00Z"))
        book.apply(Self.status(t, .resolved, at: "2026-11-23T11:00:00Z"))
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .deferredToDate
        let back = try JSONDecoder().decode(AnalyticsBook.self, from: encoder.encode(book))
        #expect(back == book)
        // Going on from the decoded copy gives what going on from the original gives.
        var a = book, b = back
        for e in [Self.status(t, .open, at: "2026-11-24T08:00:00Z"), Self.message(t, .incoming, at: "2026-11-24T08:00:00Z")] {
            a.apply(e); b.apply(e)
        }
        #expect(a == b)
    }
}
