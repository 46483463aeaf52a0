import CommHubDomain
import CommHubEngine
import CommHubStore
import Crypto
import Foundation
import Testing

/// The KPIs as served equal a recount from the journal.
///
/// A realistic workload runs on a simulated clock through the real server:
/// customers writing by mail and WhatsApp, auto-assignment, replies (some
/// from a template), follow-up questions, escalations, manual
/// reassignments, resolutions and a reopening, tasks done on time and late
/// — with a snapshot and a restart in the middle, so the read model is
/// rebuilt from snapshot plus journal tail. Then the test reads the
/// journal and recounts each KPI with plain per-thread code (histories
/// first, figures second: a different walk from the incremental read
/// model), and asks the API for the same figures.
@Suite("Analytics recompute") struct AnalyticsRecomputeTests {
    static let start = Date(timeIntervalSince1970: 1_795_424_400)  // Monday 2026-11-23 07:00 UTC (08:00 Amsterdam)

    /// A small deterministic generator (SplitMix64), so a failure reproduces.
    struct Dice {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    }

    /// One day of traffic: conversations and tasks.
    static func day(_ live: Live, _ w: World, template: String, day: Int, dice: inout Dice) async throws {
        let http = live.http
        let clock = live.env.clock
        let manager = w.token(.manager)
        for i in 0..<8 {
            let email = day * 10 + i
            let onMail = dice.chance(60)
            let channel = onMail ? w.emailChannel : w.whatsappChannel
            let r = try await w.ingest(http, channel: channel, externalID: "d\(day)-c\(i)-1", subject: "Laadpaal \(day)-\(i)",
                                       text: "Mijn laadpaal doet het niet", email: "klant\(email)@example.nl",
                                       receivedAt: clock.now().iso8601)
            let thread = try #require(r["thread_id"]?.string)
            clock.advance(by: Double(5 + dice.below(300)) * 60)
            // Team A answers mail (an agent), the manager answers WhatsApp.
            let replier = onMail ? (dice.chance(50) ? w.token(.agent) : w.agentA2Token) : manager
            func reply(_ text: String) async throws {
                let fromTemplate = dice.chance(40)
                let body = fromTemplate && onMail
                    ? #"{"thread_id":"\#(thread)","message_type":"outgoing","channel_id":"\#(channel)","template_id":"\#(template)"}"#
                    : #"{"thread_id":"\#(thread)","message_type":"outgoing","channel_id":"\#(channel)","message_content":\#(q(text))}"#
                let sent = try await http.post("/api/communication/messages", replier, body)
                // An agent no longer on the thread may not answer it; the manager does.
                if sent.status == 403 {
                    try created(await http.post("/api/communication/messages", manager, body))
                } else {
                    try created(sent)
                }
            }
            if dice.chance(85) { try await reply("We kijken ernaar") }
            if dice.chance(40) {
                clock.advance(by: Double(10 + dice.below(120)) * 60)
                _ = try await w.ingest(http, channel: channel, externalID: "d\(day)-c\(i)-2", subject: "Re: Laadpaal \(day)-\(i)",
                                       text: "Nog een vraag", email: "klant\(email)@example.nl", receivedAt: clock.now().iso8601)
                clock.advance(by: Double(5 + dice.below(200)) * 60)
                try await reply("Hier is het antwoord")
            }
            if dice.chance(25) {
                try ok(await http.put("/api/communication/threads/\(thread)", manager, #"{"status":"escalated"}"#))
            }
            if onMail, dice.chance(25) {
                try ok(await http.put("/api/communication/threads/\(thread)", manager, #"{"assigned_to_contact_id":"\#(w.agentA2)"}"#))
            }
            clock.advance(by: Double(dice.below(90)) * 60)
            if dice.chance(75) {
                try ok(await http.put("/api/communication/threads/\(thread)", manager, #"{"status":"resolved"}"#))
                if dice.chance(25) {
                    clock.advance(by: 3600)
                    try ok(await http.put("/api/communication/threads/\(thread)", manager, #"{"status":"open"}"#))
                    try await reply("Toch nog even")
                    try ok(await http.put("/api/communication/threads/\(thread)", manager, #"{"status":"resolved"}"#))
                }
            }
        }
        // Tasks due two hours from now (Amsterdam time), done within four hours: some on time, some late.
        var amsterdam = Calendar(identifier: .gregorian)
        amsterdam.timeZone = TaskDue.zone
        for k in 0..<3 {
            let due = amsterdam.dateComponents([.year, .month, .day, .hour, .minute], from: clock.now().addingTimeInterval(2 * 3600))
            let date = String(format: "%04d-%02d-%02d", due.year!, due.month!, due.day!)
            let time = String(format: "%02d:%02d", due.hour!, due.minute!)
            let task = try created(await http.post("/api/tasks", manager,
                #"{"task_title":"Bel terug \#(day)-\#(k)","due_date":"\#(date)","due_time":"\#(time)","assigned_to_contact_id":"\#(w.agentA)"}"#)).id
            clock.advance(by: Double(dice.below(240)) * 60)
            if dice.chance(80) { try ok(await http.put("/api/tasks/\(task)", manager, #"{"status":"completed"}"#)) }
        }
        // To the next morning.
        let next = Date(timeInterval: Double(day + 1) * 86_400, since: start)
        if clock.now() < next { clock.set(next) }
    }

    /// Every KPI as served equals the recount, or an issue names the figure.
    static func compare(_ live: Live, _ w: World, _ recount: Recount, _ label: String) async throws {
        let range = "from=2026-11-20T00:00:00Z&to=2027-01-01T00:00:00Z"
        func total(_ kpi: String, _ extra: String = "") async throws -> JSONValue {
            let r = try ok(await live.http.get("/api/analytics/\(kpi)?\(range)\(extra)", w.token(.manager))).json
            return try #require(r["total"])
        }
        func expectFigures(_ kpi: String, _ expected: [String: Double?], _ extra: String = "") async throws {
            let t = try await total(kpi, extra)
            for (name, value) in expected {
                let served = t[name]
                if let value {
                    #expect(served?.number == value, "\(label): \(kpi)\(extra) \(name): served \(String(describing: served)), recount \(value)")
                } else {
                    #expect(served?.isNull == true, "\(label): \(kpi)\(extra) \(name): served \(String(describing: served)), recount none")
                }
            }
        }
        if label == "day 2" {
            #expect(recount.inbound > 30 && recount.replies > 20 && recount.resolutions > 10, "a workload worth counting")
            #expect(recount.escalations > 0); #expect(recount.reassigned > 0); #expect(recount.reopenings > 0)
            #expect(recount.tasksLate > 0); #expect(recount.tasksOnTime > 0)
        }

        try await expectFigures("volume", ["inbound": Double(recount.inbound), "outbound": Double(recount.replies),
                                           "threads_opened": Double(recount.threadsOpened),
                                           "messages_per_resolution": recount.messagesPerResolution])
        for channel in [ChannelType.emailOutlook, .whatsappBusiness] {
            try await expectFigures("volume", ["inbound": Double(recount.inboundByChannel[channel] ?? 0)],
                                    "&channel_type=\(channel.rawValue)")
        }
        try await expectFigures("response_times", Recount.summary("first_response", recount.firstResponses)
                                .merging(Recount.summary("next_response", recount.nextResponses)) { a, _ in a })
        try await expectFigures("sla_compliance", ["deadlines_met": Double(recount.deadlinesMet),
                                                   "deadlines_missed": Double(recount.deadlinesMissed)])
        try await expectFigures("resolution_times", ["resolutions": Double(recount.resolutions)]
                                .merging(Recount.summary("resolution", recount.resolutionTimes).filter { $0.key != "resolution_count" }) { a, _ in a })
        try await expectFigures("first_contact_resolution", ["first_contact": Double(recount.firstContact),
                                                             "resolutions": Double(recount.resolutions)])
        try await expectFigures("escalation_rate", ["escalations": Double(recount.escalations)])
        try await expectFigures("reassignment_rate", ["auto_assigned": Double(recount.autoAssigned),
                                                      "reassigned": Double(recount.reassigned)])
        try await expectFigures("template_usage", ["outbound": Double(recount.replies), "from_template": Double(recount.templated)])
        try await expectFigures("task_completion", ["completed": Double(recount.tasksOnTime + recount.tasksLate),
                                                    "on_time": Double(recount.tasksOnTime)])
        try await expectFigures("cost", ["messages_sent": Double(recount.replies),
                                         "cost_cents": Double(recount.repliesByChannel[.whatsappBusiness] ?? 0) * 8])
        // Workload now: the engine's own board, counted apart from the read model.
        let overview = try ok(await live.http.get("/api/analytics/overview", w.token(.manager))).json
        let load = overview["people"]?.array?.reduce(0) { $0 + ($1["open_threads"]?.int ?? 0) } ?? -1
        try await expectFigures("workload", ["open_threads": Double(load)])
    }

    @Test func liveKPIsEqualARecountFromTheJournal() async throws {
        let root = try Harness.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = SimulatedClock()
        clock.set(Self.start)
        let key = SymmetricKey(size: .bits256)
        let copy = JournalCopy()
        // Day 0, a snapshot, day 1, then a stop without a snapshot: the
        // restart restores the read model from the snapshot and replays day 1.
        let env1 = try await Harness.open(root: root, clock: clock, key: key)
        let (w, template, dice) = try await Harness.serve(env1) { live in
            let http = live.http
            let w = try await World.seed(http)
            for c in [w.agentA, w.agentA2, w.agentB] {
                try ok(await http.put("/api/contacts/\(c)", w.adminToken, #"{"presence":"online"}"#))
            }
            let template = try created(await http.post("/api/templates", w.adminToken,
                #"{"template_name":"Bedankt","template_category":"follow_up","channel_type":"email_outlook","message_template":"Bedankt voor uw bericht, we helpen u graag."}"#)).id
            var d = Dice(state: 42)
            try await Self.day(live, w, template: template, day: 0, dice: &d)
            try copy.read(live.env)
            try await Self.compare(live, w, copy.recount(), "day 0")
            try await live.env.durable.snapshot()
            try await Self.day(live, w, template: template, day: 1, dice: &d)
            try copy.read(live.env)
            try await Self.compare(live, w, copy.recount(), "day 1")
            return (w, template, d)
        }
        try copy.read(env1)
        await env1.durable.shutdown(snapshot: false)

        let env2 = try await Harness.open(root: root, clock: clock, key: key)
        #expect(env2.durable.restoreReport.snapshotID != nil && env2.durable.restoreReport.replayedEvents > 0,
                "the read model comes back from a snapshot plus the journal tail")
        try await Harness.serve(env2) { live in
            try await Self.compare(live, w, copy.recount(), "after the restart")
            var d = dice
            try await Self.day(live, w, template: template, day: 2, dice: &d)
            try copy.read(live.env)
            try await Self.compare(live, w, copy.recount(), "day 2")
            // The same figures as CSV: a header, then one row per day and channel.
            let csv = try ok(await live.http.get("/api/analytics/volume?from=2026-11-20T00:00:00Z&to=2027-01-01T00:00:00Z&group_by=channel_type&format=csv",
                                                 w.token(.manager)))
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            let rows = csv.text.split(separator: "\r\n")
            #expect(rows.first == "bucket_start,group,inbound,outbound,auto_responses,internal_notes,threads_opened,messages_per_resolution")
            let inbound = rows.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }.reduce(0) { $0 + (Int($1[2]) ?? 0) }
            #expect(inbound == copy.recount().inbound, "the CSV rows add up to the total")
        }
        await env2.durable.shutdown(snapshot: false)
    }
}

/// The journal as read so far (read in pieces: a snapshot may prune what it covers).
final class JournalCopy: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [SequencedEvent] = []
    private var templated: Set<MessageID> = []

    func read(_ env: TestEnv) throws {
        try lock.withLock {
            try env.durable.writer.replay(after: events.last?.seq ?? 0) { e in
                events.append(e)
                if case .templateAttached(let a) = e.event { templated.insert(a.message) }
            }
        }
    }

    func recount() -> Recount { lock.withLock { Recount(events, templated: templated) } }
}

/// The KPIs recounted from journal events: per-thread histories first,
/// then figures from each history (see `AnalyticsBook` for the definitions).
struct Recount {
    enum Step { case message(MessageHeader, due: Date?), status(ThreadStatus, Date), due(Date?), assigned(ContactID?, manual: Bool) }
    var inbound = 0, replies = 0, threadsOpened = 0, resolutions = 0, escalations = 0, reopenings = 0
    var inboundByChannel: [ChannelType: Int] = [:], repliesByChannel: [ChannelType: Int] = [:]
    var firstResponses: [Int] = [], nextResponses: [Int] = [], resolutionTimes: [Int] = []
    var deadlinesMet = 0, deadlinesMissed = 0, firstContact = 0, episodeMessages = 0
    var autoAssigned = 0, reassigned = 0, templated = 0, tasksOnTime = 0, tasksLate = 0
    var messagesPerResolution: Double? { resolutions == 0 ? nil : Double(episodeMessages) / Double(resolutions) }

    init(_ events: [SequencedEvent], templated ids: Set<MessageID>) {
        var history: [ThreadID: (opened: Date, steps: [Step])] = [:]
        var order: [ThreadID] = []
        var tasks: [TaskID: InternalTask] = [:]
        for e in events {
            switch e.event {
            case .threadOpened(let h):
                history[h.id] = (h.createdAt, [])
                order.append(h.id)
            case .messageAdded(let m, _, let due): history[m.threadID]?.steps.append(.message(m, due: due))
            case .threadChanged(let t, let c, let at):
                if let s = c.status { history[t]?.steps.append(.status(s, at)) }
                if c.clearResponseDue == true { history[t]?.steps.append(.due(nil)) } else if let d = c.responseDueAt { history[t]?.steps.append(.due(d)) }
            case .threadAssigned(let t, _, let a, let reason): history[t]?.steps.append(.assigned(a, manual: reason == "manual"))
            case .threadsRebalanced(let moves, _): for m in moves { history[m.thread]?.steps.append(.assigned(m.to, manual: false)) }
            case .taskUpserted(let t): if tasks[t.id]?.status != .completed { tasks[t.id] = t }
            default: break
            }
        }
        threadsOpened = order.count
        for id in order { count(history[id]!.opened, history[id]!.steps, templated: ids) }
        for t in tasks.values where t.status == .completed {
            let due = TaskDue.deadline(date: t.dueDate, time: t.dueTime)
            if due.map({ t.completedAt! <= $0 }) ?? true { tasksOnTime += 1 } else { tasksLate += 1 }
        }
    }

    private mutating func count(_ opened: Date, _ steps: [Step], templated ids: Set<MessageID>) {
        var open = true, episodeStart = opened, waitingSince: Date?, firstWait = false, due: Date?
        var everReplied = false, repliesThisEpisode = 0, messages = 0, reopened = false, fcrCounted = false
        var auto: ContactID?, assignedOnce = false, reassignCounted = false
        func seconds(_ a: Date, _ b: Date) -> Int { max(0, Int(b.timeIntervalSince(a).rounded(.down))) }
        for step in steps {
            switch step {
            case .message(let m, let d) where m.messageType == .incoming:
                inbound += 1; inboundByChannel[m.channelType, default: 0] += 1; messages += 1
                if waitingSince == nil { waitingSince = m.createdAt; firstWait = !everReplied; due = d } else if let d { due = d }
            case .message(let m, _) where m.messageType == .outgoing:
                replies += 1; repliesByChannel[m.channelType, default: 0] += 1; messages += 1; repliesThisEpisode += 1
                if ids.contains(m.id) { templated += 1 }
                everReplied = true
                if let since = waitingSince {
                    if firstWait { firstResponses.append(seconds(since, m.createdAt)) } else { nextResponses.append(seconds(since, m.createdAt)) }
                    if let due { if m.createdAt <= due { deadlinesMet += 1 } else { deadlinesMissed += 1 } }
                    waitingSince = nil; due = nil
                }
            case .message:
                break
            case .due(let d):
                if d == nil { due = nil } else if waitingSince != nil { due = d }
            case .status(let s, let at):
                if s == .escalated && open { escalations += 1 }
                if open && !s.isOpen {
                    if waitingSince != nil, let due { if at <= due { deadlinesMet += 1 } else { deadlinesMissed += 1 } }
                    resolutions += 1
                    resolutionTimes.append(seconds(episodeStart, at))
                    episodeMessages += messages
                    if repliesThisEpisode == 1 && !reopened { firstContact += 1; fcrCounted = true }
                    waitingSince = nil; due = nil; open = false
                } else if !open && s.isOpen {
                    if fcrCounted { firstContact -= 1; fcrCounted = false }
                    reopenings += 1
                    reopened = true; open = true; episodeStart = at; messages = 0; repliesThisEpisode = 0
                }
            case .assigned(let a, let manual):
                guard let a else { continue }
                if !assignedOnce {
                    assignedOnce = true
                    if !manual { auto = a; autoAssigned += 1 }
                } else if manual, let auto, a != auto, !reassignCounted {
                    reassignCounted = true; reassigned += 1
                }
            }
        }
    }

    /// Count, mean, nearest-rank median and p90, by the textbook.
    static func summary(_ prefix: String, _ values: [Int]) -> [String: Double?] {
        let s = values.sorted()
        func rank(_ p: Double) -> Double? {
            s.isEmpty ? nil : Double(s[Int((p * Double(s.count)).rounded(.up)) - 1])
        }
        return ["\(prefix)_count": Double(s.count),
                "\(prefix)_average_seconds": s.isEmpty ? nil : Double(s.reduce(0, +)) / Double(s.count),
                "\(prefix)_median_seconds": rank(0.5), "\(prefix)_p90_seconds": rank(0.9)]
    }
}
