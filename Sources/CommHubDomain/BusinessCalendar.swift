import Foundation

/// Opening hours in one time zone: for each weekday any number of opening
/// periods (`08:00–12:00` and `13:00–17:00`), public holidays (the Dutch
/// ones by default, see `HolidayRules`) and extra closed dates.
///
/// Business-time arithmetic works on local wall time, so the opening hour
/// moves with the clock across daylight saving changes, as people expect:
/// 08:30 is 08:30 in March and in October. It uses the time zone's offsets
/// and day numbers directly (no Foundation `Calendar` per step), because
/// every customer message that starts a response clock computes a deadline.
public struct BusinessCalendar: Sendable, Hashable, Codable {
    /// One opening period of a day, in minutes after local midnight
    /// (`closesAt` may be 1440: open until midnight).
    public struct Period: Sendable, Hashable, Codable, Comparable {
        public var opensAt: Int
        public var closesAt: Int
        public init(opensAt: Int, closesAt: Int) { self.opensAt = opensAt; self.closesAt = closesAt }
        public static func < (a: Period, b: Period) -> Bool { (a.opensAt, a.closesAt) < (b.opensAt, b.closesAt) }
    }

    /// The name older code uses for a day's single period.
    public typealias Hours = Period

    public var timeZoneIdentifier: String
    /// Index 0 = Sunday … 6 = Saturday; each day's periods sorted and not
    /// overlapping; an empty list = closed all day.
    public var periods: [[Period]]
    public var holidays: HolidayRules
    /// Extra closed dates as `YYYY-MM-DD` in the calendar's time zone.
    public var closedDates: Set<String>
    /// The time zone, resolved once (not part of equality or coding: the identifier is).
    private let zone: TimeZone

    /// How many days the arithmetic walks at most before it gives up (a
    /// calendar closed for longer than this, by closed dates, has no answer).
    public static let maxDaysWalked = 2_000

    /// Mon–Fri with one period a day (the older shape), or ChargeCars' default.
    public init(timeZoneIdentifier: String = "Europe/Amsterdam", week: [Hours?]? = nil, closedDates: Set<String> = [],
                holidays: HolidayRules = .netherlands) {
        let workday = Period(opensAt: 8 * 60 + 30, closesAt: 17 * 60 + 30)
        let days = week ?? [nil, workday, workday, workday, workday, workday, nil]
        self.init(timeZoneIdentifier: timeZoneIdentifier, periods: days.map { $0.map { [$0] } ?? [] },
                  holidays: holidays, closedDates: closedDates)
    }

    /// `periods` has seven entries, Sunday first; each day's periods are sorted here.
    public init(timeZoneIdentifier: String, periods: [[Period]], holidays: HolidayRules, closedDates: Set<String> = []) {
        precondition(periods.count == 7, "a week has seven days")
        self.timeZoneIdentifier = timeZoneIdentifier
        self.periods = periods.map { $0.sorted() }
        self.holidays = holidays
        self.closedDates = closedDates
        zone = TimeZone(identifier: timeZoneIdentifier) ?? TimeZone(identifier: "UTC")!
    }

    /// ChargeCars' default: Mon–Fri 08:30–17:30 Europe/Amsterdam, Dutch public holidays closed.
    public static let standard = BusinessCalendar()

    enum CodingKeys: String, CodingKey { case timeZoneIdentifier, periods, holidays, closedDates }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(timeZoneIdentifier: try c.decode(String.self, forKey: .timeZoneIdentifier),
                  periods: try c.decode([[Period]].self, forKey: .periods),
                  holidays: try c.decode(HolidayRules.self, forKey: .holidays),
                  closedDates: try c.decode(Set<String>.self, forKey: .closedDates))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(timeZoneIdentifier, forKey: .timeZoneIdentifier)
        try c.encode(periods, forKey: .periods)
        try c.encode(holidays, forKey: .holidays)
        try c.encode(closedDates.sorted(), forKey: .closedDates)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.timeZoneIdentifier == b.timeZoneIdentifier && a.periods == b.periods && a.holidays == b.holidays
            && a.closedDates == b.closedDates
    }

    public func hash(into h: inout Hasher) {
        h.combine(timeZoneIdentifier); h.combine(periods); h.combine(holidays); h.combine(closedDates)
    }

    /// Whether the week has any opening at all.
    public var opensSomeDay: Bool { periods.contains { !$0.isEmpty } }

    // MARK: Arithmetic

    /// The moment `seconds` of business time have passed after `start`
    /// (`start` itself when `seconds` ≤ 0 and the business is open or not).
    public func adding(businessSeconds seconds: TimeInterval, to start: Date) -> Date {
        guard seconds > 0 else { return start }
        var remaining = seconds
        var day = localDay(of: start)
        let t0 = start.timeIntervalSince1970
        for _ in 0..<Self.maxDaysWalked {
            for (open, close) in openIntervals(onDay: day) where close > t0 {
                let from = max(open, t0)
                let available = close - from
                if remaining <= available { return Date(timeIntervalSince1970: from + remaining) }
                remaining -= available
            }
            day += 1
        }
        return Date(timeIntervalSince1970: instant(day: day, minutes: 0))
    }

    /// Business seconds between two moments (0 when `end` ≤ `start`).
    public func businessSeconds(from start: Date, to end: Date) -> TimeInterval {
        guard end > start else { return 0 }
        let t0 = start.timeIntervalSince1970, t1 = end.timeIntervalSince1970
        var total: TimeInterval = 0
        var day = localDay(of: start)
        let last = localDay(of: end)
        while day <= last {
            for (open, close) in openIntervals(onDay: day) {
                let from = max(open, t0), to = min(close, t1)
                if to > from { total += to - from }
            }
            day += 1
        }
        return total
    }

    /// Whether the business is open at `date` (an opening period holds it; closing moments are closed).
    public func isOpen(at date: Date) -> Bool {
        let t = date.timeIntervalSince1970
        return openIntervals(onDay: localDay(of: date)).contains { $0.0 <= t && t < $0.1 }
    }

    /// The closed period `date` falls in: from the last closing moment at
    /// or before it (nil when none within `maxDaysWalked`) to the next
    /// opening after it (nil likewise). nil when the business is open at `date`.
    public func closedPeriod(containing date: Date) -> (start: Date?, end: Date?)? {
        guard !isOpen(at: date) else { return nil }
        let t = date.timeIntervalSince1970
        var start: Date?
        var day = localDay(of: date)
        for _ in 0..<Self.maxDaysWalked {
            if let close = openIntervals(onDay: day).map(\.1).filter({ $0 <= t }).max() {
                start = Date(timeIntervalSince1970: close)
                break
            }
            day -= 1
        }
        return (start, nextOpening(after: date))
    }

    /// The first opening moment after `date` (nil when none within `maxDaysWalked`).
    public func nextOpening(after date: Date) -> Date? {
        let t = date.timeIntervalSince1970
        var day = localDay(of: date)
        for _ in 0..<Self.maxDaysWalked {
            if let open = openIntervals(onDay: day).map(\.0).first(where: { $0 > t }) {
                return Date(timeIntervalSince1970: open)
            }
            day += 1
        }
        return nil
    }

    // MARK: Local dates

    /// `YYYY-MM-DD` of `date` in the calendar's time zone.
    public func localDate(of date: Date) -> String { CivilDate(dayNumber: localDay(of: date)).text }

    /// Minutes after local midnight of `date`.
    public func localMinutes(of date: Date) -> Int {
        let local = date.timeIntervalSince1970 + Double(zone.secondsFromGMT(for: date))
        return Int((local - (local / 86_400).rounded(.down) * 86_400) / 60)
    }

    /// The instant of local date `day` (`YYYY-MM-DD`) at `minutes` after midnight; nil for a bad date.
    public func instant(localDate day: String, minutes: Int) -> Date? {
        guard let c = CivilDate(day) else { return nil }
        return Date(timeIntervalSince1970: instant(day: c.dayNumber, minutes: minutes))
    }

    /// Whether the whole local day of `date` is closed as a holiday or closed date.
    public func isHoliday(_ date: Date) -> Bool { isClosedDay(localDay(of: date)) }

    // MARK: Internals

    /// Days since 1970-01-01 of the local date at `date`.
    func localDay(of date: Date) -> Int {
        let local = date.timeIntervalSince1970 + Double(zone.secondsFromGMT(for: date))
        return Int((local / 86_400).rounded(.down))
    }

    /// The UTC instant (seconds since 1970) of local wall time `minutes` after midnight of `day`.
    /// In the hour that does not exist (spring forward) it lands an hour later; in
    /// the hour that happens twice (autumn) it takes the first.
    func instant(day: Int, minutes: Int) -> TimeInterval {
        let local = Double(day) * 86_400 + Double(minutes) * 60
        let guess = local - Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: local)))
        return local - Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: guess)))
    }

    /// The opening intervals (UTC seconds) of one local day, in order.
    func openIntervals(onDay day: Int) -> [(TimeInterval, TimeInterval)] {
        let weekday = ((day + 4) % 7 + 7) % 7  // 1970-01-01 was a Thursday
        let list = periods[weekday]
        guard !list.isEmpty, !isClosedDay(day) else { return [] }
        return list.map { (instant(day: day, minutes: $0.opensAt), instant(day: day, minutes: $0.closesAt)) }
    }

    func isClosedDay(_ day: Int) -> Bool {
        let c = CivilDate(dayNumber: day)
        if !closedDates.isEmpty, closedDates.contains(c.text) { return true }
        return holidays.isHoliday(c)
    }
}

/// A date of the proleptic Gregorian calendar, converted to and from day
/// numbers (days since 1970-01-01) with Howard Hinnant's algorithms: pure
/// integer arithmetic, no Foundation calendar.
public struct CivilDate: Sendable, Hashable, Comparable {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) { self.year = year; self.month = month; self.day = day }

    /// Parses `YYYY-MM-DD` (a real date, years 1900–2999).
    public init?(_ text: String) {
        let p = text.split(separator: "-", omittingEmptySubsequences: false)
        guard p.count == 3, p[0].count == 4, p[1].count == 2, p[2].count == 2,
              let y = Int(p[0]), let m = Int(p[1]), let d = Int(p[2]), (1900...2999).contains(y), (1...12).contains(m),
              (1...Self.daysIn(month: m, year: y)).contains(d) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    public init(dayNumber z0: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    public var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// 0 = Sunday … 6 = Saturday.
    public var weekday: Int { ((dayNumber + 4) % 7 + 7) % 7 }

    public var text: String {
        let m = month < 10 ? "0\(month)" : "\(month)"
        let d = day < 10 ? "0\(day)" : "\(day)"
        return "\(year)-\(m)-\(d)"
    }

    public func adding(days: Int) -> CivilDate { CivilDate(dayNumber: dayNumber + days) }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
