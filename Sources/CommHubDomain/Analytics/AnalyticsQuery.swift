import Foundation

/// The owner's KPIs, each a projection of summed tallies (see
/// `AnalyticsBook` for the definitions). The raw value is the path segment
/// of `GET /api/analytics/{kpi}`.
public enum KPI: String, CaseIterable, Sendable {
    case responseTimes = "response_times"
    case resolutionTimes = "resolution_times"
    case slaCompliance = "sla_compliance"
    case volume
    case channelPreference = "channel_preference"
    case workload
    case escalationRate = "escalation_rate"
    case reassignmentRate = "reassignment_rate"
    case firstContactResolution = "first_contact_resolution"
    case templateUsage = "template_usage"
    case taskCompletion = "task_completion"
    case csat
    case cost

    /// The owner's target for the KPI's headline figure, drawn as a reference line.
    public var target: (figure: String, value: Double, atLeast: Bool)? {
        switch self {
        case .slaCompliance: ("compliance", 0.95, true)
        case .reassignmentRate: ("accuracy", 0.90, true)
        case .firstContactResolution: ("rate", 0.80, true)
        case .templateUsage: ("share", 0.60, true)
        case .taskCompletion: ("on_time_share", 0.95, true)
        case .csat: ("average", 4.5, true)
        default: nil
        }
    }
}

/// Summary statistics of exact samples: mean, and nearest-rank median and
/// p90 (the smallest sample with at least 50% / 90% of samples at or below it).
public struct SampleSummary: Equatable, Sendable {
    public var count: Int
    public var average: Double?
    public var median: Double?
    public var p90: Double?

    public init(_ samples: [Int32]) {
        count = samples.count
        guard !samples.isEmpty else { return }
        let sorted = samples.sorted()
        average = Double(sorted.reduce(0) { $0 + Int64($1) }) / Double(sorted.count)
        median = Double(Self.rank(sorted, 0.5))
        p90 = Double(Self.rank(sorted, 0.9))
    }

    static func rank(_ sorted: [Int32], _ p: Double) -> Int32 {
        let r = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(r, 1), sorted.count) - 1]
    }
}

/// One analytics question: a time range cut into hour or day buckets
/// (Europe/Amsterdam days), optional slice filters and an optional
/// grouping dimension.
public struct AnalyticsQuery: Sendable, Equatable {
    public enum Bucket: String, Sendable { case hour, day }
    public enum Dimension: String, Sendable, CaseIterable {
        case channelType = "channel_type", teamID = "team_id", agent, businessEntity = "business_entity", threadType = "thread_type"
    }

    public var from: Date
    public var to: Date
    public var bucket: Bucket
    public var channel: ChannelType?
    /// nil = any team; a set = one of these teams (how a team leader's view is narrowed).
    public var teams: Set<TeamID>?
    public var agent: ContactID?
    public var brand: Brand?
    public var threadType: ThreadType?
    public var groupBy: Dimension?

    /// Bounds that keep a query cheap: hour buckets over at most 31 days, day buckets over at most 2 years.
    public static let maxHourBuckets = 31 * 24
    public static let maxDayBucketsDays = 2 * 366

    public init(from: Date, to: Date, bucket: Bucket = .day, channel: ChannelType? = nil, teams: Set<TeamID>? = nil,
                agent: ContactID? = nil, brand: Brand? = nil, threadType: ThreadType? = nil, groupBy: Dimension? = nil) {
        self.from = from; self.to = to; self.bucket = bucket; self.channel = channel; self.teams = teams
        self.agent = agent; self.brand = brand; self.threadType = threadType; self.groupBy = groupBy
    }

    /// Why the range cannot be answered, or nil.
    public var problem: String? {
        guard from < to else { return "from must be before to" }
        let span = to.timeIntervalSince(from)
        switch bucket {
        case .hour where span > Double(Self.maxHourBuckets) * 3600:
            return "hour buckets cover at most \(Self.maxHourBuckets / 24) days; ask for bucket=day or a shorter range"
        case .day where span > Double(Self.maxDayBucketsDays) * 86_400:
            return "day buckets cover at most \(Self.maxDayBucketsDays) days; ask for a shorter range"
        default:
            return nil
        }
    }

    public func matches(_ s: AnalyticsSlice) -> Bool {
        if let channel, s.channel != channel { return false }
        if let teams { guard let t = s.team, teams.contains(t) else { return false } }
        if let agent, s.agent != agent { return false }
        if let brand, s.brand != brand { return false }
        if let threadType, s.threadType != threadType { return false }
        return true
    }

    /// The group a slice falls in ("" when not grouping, "none" for an empty dimension).
    public func group(of s: AnalyticsSlice) -> String {
        switch groupBy {
        case nil: ""
        case .channelType: s.channel.rawValue
        case .teamID: s.team?.description ?? "none"
        case .agent: s.agent?.description ?? "none"
        case .businessEntity: s.brand?.rawValue ?? "none"
        case .threadType: s.threadType.rawValue
        }
    }

    /// Bucket starts covering [from, to): whole hours, or Amsterdam midnights.
    public func bucketStarts() -> [Date] {
        switch bucket {
        case .hour:
            let first = AnalyticsBook.hour(of: from)
            let last = AnalyticsBook.hour(of: to.addingTimeInterval(-0.001))
            guard first <= last else { return [] }
            return (first...last).map { Date(timeIntervalSince1970: Double($0) * 3600) }
        case .day:
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = TaskDue.zone
            var d = cal.startOfDay(for: from)
            var out: [Date] = []
            while d < to {
                out.append(d)
                guard let next = cal.date(byAdding: .day, value: 1, to: d) else { break }
                d = next
            }
            return out
        }
    }
}

/// The answer to a query: per bucket, per group, the summed tally, and the
/// workload samples (open threads per person at the end of the bucket).
public struct AnalyticsAnswer: Sendable {
    public struct Cell: Sendable {
        public var bucketStart: Date
        public var group: String
        public var tally: AnalyticsTally
        /// Open threads per person at the bucket's end (last sample in the bucket).
        public var workload: [ContactID: Int]
    }
    public var cells: [Cell]
    public var total: AnalyticsTally

    /// Open threads per person at the end of the range: the newest bucket
    /// that has a workload sample, summed over every group of that bucket.
    public var latestWorkload: [ContactID: Int] {
        guard let last = cells.last(where: { !$0.workload.isEmpty })?.bucketStart else { return [:] }
        var out: [ContactID: Int] = [:]
        for c in cells where c.bucketStart == last {
            for (agent, n) in c.workload { out[agent, default: 0] += n }
        }
        return out
    }
}

extension AnalyticsFigures {
    /// Sums the hours of `q`'s range: reads only those hour buckets.
    public func answer(_ q: AnalyticsQuery) -> AnalyticsAnswer {
        let starts = q.bucketStarts()
        var cells: [Int: [String: AnalyticsAnswer.Cell]] = [:]
        var total = AnalyticsTally()
        let fromHour = AnalyticsBook.hour(of: q.from)
        let toHour = AnalyticsBook.hour(of: q.to.addingTimeInterval(-0.001))
        var bucketIndex = 0
        guard fromHour <= toHour, !starts.isEmpty else { return AnalyticsAnswer(cells: [], total: total) }
        for h in fromHour...toHour {
            let at = Date(timeIntervalSince1970: Double(h) * 3600)
            while bucketIndex + 1 < starts.count && starts[bucketIndex + 1] <= at { bucketIndex += 1 }
            if let slices = hours[h] {
                for (slice, tally) in slices where q.matches(slice) {
                    let g = q.group(of: slice)
                    cells[bucketIndex, default: [:]][g, default: .init(bucketStart: starts[bucketIndex], group: g, tally: .init(), workload: [:])].tally.merge(tally)
                    total.merge(tally)
                }
            }
            if let sample = workloadSamples[h] ?? (h == sampledHour ? openLoad : nil) {
                // Workload is sliced by team and person only; the newest sample in a bucket wins.
                var byGroup: [String: [ContactID: Int]] = [:]
                for (k, n) in sample {
                    if let teams = q.teams { guard let t = k.team, teams.contains(t) else { continue } }
                    if let a = q.agent, a != k.agent { continue }
                    let g: String = switch q.groupBy {
                    case .teamID: k.team?.description ?? "none"
                    case .agent: k.agent.description
                    default: ""
                    }
                    byGroup[g, default: [:]][k.agent, default: 0] += n
                }
                for (g, load) in byGroup {
                    cells[bucketIndex, default: [:]][g, default: .init(bucketStart: starts[bucketIndex], group: g, tally: .init(), workload: [:])].workload = load
                }
            }
        }
        let ordered = cells.keys.sorted().flatMap { i in cells[i]!.keys.sorted().map { cells[i]![$0]! } }
        return AnalyticsAnswer(cells: ordered, total: total)
    }
}

/// Gini coefficient of non-negative loads: 0 = everyone carries the same, 1 = one carries all.
public func giniCoefficient(_ values: [Int]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let sum = sorted.reduce(0, +)
    guard sum > 0 else { return 0 }
    var weighted = 0.0
    for (i, v) in sorted.enumerated() { weighted += Double(i + 1) * Double(v) }
    let n = Double(sorted.count)
    return (2 * weighted) / (n * Double(sum)) - (n + 1) / n
}

/// Prices per message for the cost KPI, in euro cents per channel type.
public struct ChannelPrices: Codable, Sendable, Equatable {
    public var centsPerMessage: [ChannelType: Double]
    public init(centsPerMessage: [ChannelType: Double] = [:]) { self.centsPerMessage = centsPerMessage }
    /// Defaults: a WhatsApp Business conversation message ≈ 8 ct (NL marketing/utility rates are
    /// a few to ~11 ct), an SMS segment ≈ 7 ct, mail and internal channels free.
    public static let defaults = ChannelPrices(centsPerMessage: [.whatsappBusiness: 8, .sms: 7])
}

extension KPI {
    /// The KPI's figures from one summed tally (and its workload sample), in a fixed order (CSV columns).
    public func figures(_ t: AnalyticsTally, workload: [ContactID: Int], prices: ChannelPrices) -> [(String, Double?)] {
        func share(_ a: Int, _ b: Int) -> Double? { b == 0 ? nil : Double(a) / Double(b) }
        func summary(_ prefix: String, _ s: [Int32]) -> [(String, Double?)] {
            let x = SampleSummary(s)
            return [("\(prefix)_count", Double(x.count)), ("\(prefix)_average_seconds", x.average),
                    ("\(prefix)_median_seconds", x.median), ("\(prefix)_p90_seconds", x.p90)]
        }
        switch self {
        case .responseTimes:
            return summary("first_response", t.firstResponseSeconds) + summary("first_response_business", t.firstResponseBusinessSeconds)
                + summary("next_response", t.nextResponseSeconds) + summary("next_response_business", t.nextResponseBusinessSeconds)
        case .resolutionTimes:
            return [("resolutions", Double(t.resolutions))] + summary("resolution", t.resolutionSeconds).dropFirst()
        case .slaCompliance:
            var out: [(String, Double?)] = [("deadlines_met", Double(t.deadlinesMet)), ("deadlines_missed", Double(t.deadlinesMissed)),
                                           ("compliance", share(t.deadlinesMet, t.deadlinesMet + t.deadlinesMissed))]
            for step in SLAStep.allCases {
                out.append(("breaches_\(step.rawValue)", Double(t.ladderSteps[step.rawValue] ?? 0)))
            }
            return out
        case .volume:
            return [("inbound", Double(t.inbound)), ("outbound", Double(t.outbound)), ("auto_responses", Double(t.autoResponses)),
                    ("internal_notes", Double(t.internalNotes)), ("threads_opened", Double(t.threadsOpened)),
                    ("messages_per_resolution", t.resolutions == 0 ? nil : Double(t.messagesInResolutions) / Double(t.resolutions))]
        case .channelPreference:
            return [("inbound", Double(t.inbound))] + ChannelType.allCases.map {
                ("share_\($0.rawValue)", share(t.inboundPerChannel[$0.rawValue] ?? 0, t.inbound))
            }
        case .workload:
            let loads = Array(workload.values)
            return [("agents", Double(loads.count)), ("open_threads", Double(loads.reduce(0, +))),
                    ("max_open_threads", loads.max().map(Double.init)), ("gini", giniCoefficient(loads))]
        case .escalationRate:
            return [("escalations", Double(t.escalations)), ("threads_opened", Double(t.threadsOpened)),
                    ("rate", share(t.escalations, t.threadsOpened))]
        case .reassignmentRate:
            let rate = share(t.reassignedAfterAuto, t.autoAssigned)
            return [("auto_assigned", Double(t.autoAssigned)), ("reassigned", Double(t.reassignedAfterAuto)),
                    ("rate", rate), ("accuracy", rate.map { 1 - $0 })]
        case .firstContactResolution:
            return [("resolutions", Double(t.resolutions)), ("first_contact", Double(t.firstContactResolutions)),
                    ("rate", share(t.firstContactResolutions, t.resolutions))]
        case .templateUsage:
            return [("outbound", Double(t.outbound)), ("from_template", Double(t.templated)), ("share", share(t.templated, t.outbound))]
        case .taskCompletion:
            return [("completed", Double(t.tasksCompleted)), ("on_time", Double(t.tasksCompletedOnTime)),
                    ("on_time_share", share(t.tasksCompletedOnTime, t.tasksCompleted))]
        case .csat:
            let n = t.csatScores.reduce(0, +)
            let sum = t.csatScores.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }
            return [("answers", Double(n)), ("average", n == 0 ? nil : Double(sum) / Double(n))]
                + (1...5).map { ("score_\($0)", Double(t.csatScores[$0 - 1])) }
        case .cost:
            var cents = 0.0
            for (channel, n) in t.sentPerChannel { cents += Double(n) * (ChannelType(rawValue: channel).flatMap { prices.centsPerMessage[$0] } ?? 0) }
            return [("messages_sent", Double(t.sentPerChannel.values.reduce(0, +))), ("cost_cents", cents)]
        }
    }
}
