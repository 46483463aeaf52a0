/// The `business_hours` setting of a channel, a team or the whole engine,
/// as people write it, turned into a `BusinessCalendar`.
///
/// Two shapes:
///
/// - a string: the opening periods of Monday to Friday, comma-separated:
///   `"08:00-17:00"`, `"08:00-12:00, 13:00-17:00"`; Saturday and Sunday closed;
///   Dutch public holidays closed; Europe/Amsterdam.
/// - an object (every key optional):
///
/// ```json
/// {"time_zone": "Europe/Amsterdam",
///  "weekdays": "08:00-17:00",
///  "monday": ["08:00-12:00", "13:00-17:00"], "saturday": "10:00-14:00", "sunday": null,
///  "holidays": "nl", "good_friday": false, "liberation_day": "lustrum",
///  "closed_dates": ["2026-12-24", "2026-12-31"]}
/// ```
///
///   `weekdays` sets Monday to Friday; a named day overrides it; a day given
///   as `null`, `"closed"` or `[]`, or not given at all, is closed. A day is
///   a period string or a list of them. `holidays`: `"nl"` (default) or
///   `"none"`. `good_friday` (default false: open) and `liberation_day`
///   (`lustrum` default, `every_year`, `never`) choose the optional Dutch
///   holidays (see `HolidayRules`). `closed_dates`: extra closed days.
///
/// Periods are `HH:MM-HH:MM` with `00:00` ≤ open < close ≤ `24:00`; a period
/// over midnight is written as two (`22:00-24:00` today, `00:00-02:00` the
/// next day). Every mistake is refused with a message naming the key.
public enum BusinessHoursSpec {
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public init(_ path: String, _ reason: String) { self.path = path; self.reason = reason }
        public var description: String { "\(path) \(reason)" }
    }

    /// Most periods of one day, most extra closed dates.
    public static let maxPeriodsPerDay = 8
    public static let maxClosedDates = 1_000

    static let dayKeys = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
    static let otherKeys = ["time_zone", "weekdays", "holidays", "good_friday", "liberation_day", "closed_dates"]

    /// The calendar `value` describes; `path` prefixes error messages (`configuration.business_hours`).
    public static func calendar(_ value: JSONValue, path: String = "business_hours") throws(Invalid) -> BusinessCalendar {
        switch value {
        case .string(let s):
            let week = try periods(s, path: path)
            return BusinessCalendar(timeZoneIdentifier: "Europe/Amsterdam",
                                    periods: [[]] + Array(repeating: week, count: 5) + [[]], holidays: .netherlands)
        case .object(let o):
            return try calendar(object: o, path: path)
        default:
            throw Invalid(path, "must be a string such as \"08:00-17:00\" or an object with days (see the README, \"Business hours\")")
        }
    }

    private static func calendar(object given: [String: JSONValue], path: String) throws(Invalid) -> BusinessCalendar {
        // Keys as written (`closed_dates`), whichever way a decoder presented them (`closedDates`).
        var o: [String: JSONValue] = [:]
        for (k, v) in given { o[ContractJSON.snake(k)] = v }
        if let unknown = o.keys.sorted().first(where: { !dayKeys.contains($0) && !otherKeys.contains($0) }) {
            throw Invalid("\(path).\(unknown)", "is not a business_hours key; allowed: \((otherKeys + dayKeys).joined(separator: ", "))")
        }
        var zone = "Europe/Amsterdam"
        if let z = o["time_zone"], z != .null {
            guard let s = z.stringValue, TimeZone(identifier: s) != nil, s.contains("/") || s == "UTC" else {
                throw Invalid("\(path).time_zone", "must be an IANA time zone such as Europe/Amsterdam")
            }
            zone = s
        }
        var week: [[BusinessCalendar.Period]] = Array(repeating: [], count: 7)
        if let w = o["weekdays"] {
            let list = try day(w, path: "\(path).weekdays")
            for i in 1...5 { week[i] = list }
        }
        for (i, name) in dayKeys.enumerated() {
            if let d = o[name] { week[i] = try day(d, path: "\(path).\(name)") }
        }
        guard week.contains(where: { !$0.isEmpty }) else {
            throw Invalid(path, "opens on no day of the week; give weekdays or named days such as \"monday\": \"08:00-17:00\"")
        }
        var holidays = HolidayRules.netherlands
        if let h = o["holidays"], h != .null {
            guard let s = h.stringValue, let c = HolidayRules.Country(rawValue: s) else {
                throw Invalid("\(path).holidays", "must be one of: \(HolidayRules.Country.allowedValues.joined(separator: ", "))")
            }
            holidays.country = c
        }
        if let g = o["good_friday"], g != .null {
            guard case .bool(let b) = g else { throw Invalid("\(path).good_friday", "must be true (closed on Goede Vrijdag) or false") }
            holidays.goodFriday = b
        }
        if let l = o["liberation_day"], l != .null {
            guard let s = l.stringValue, let v = HolidayRules.LiberationDay(rawValue: s) else {
                throw Invalid("\(path).liberation_day", "must be one of: \(HolidayRules.LiberationDay.allowedValues.joined(separator: ", "))")
            }
            holidays.liberationDay = v
        }
        var closed = Set<String>()
        if let c = o["closed_dates"], c != .null {
            guard case .array(let list) = c else { throw Invalid("\(path).closed_dates", "must be a list of dates YYYY-MM-DD") }
            guard list.count <= maxClosedDates else { throw Invalid("\(path).closed_dates", "holds at most \(maxClosedDates) dates") }
            for (i, d) in list.enumerated() {
                guard let s = d.stringValue, let date = CivilDate(s) else {
                    throw Invalid("\(path).closed_dates[\(i)]", "must be a date YYYY-MM-DD")
                }
                closed.insert(date.text)
            }
        }
        return BusinessCalendar(timeZoneIdentifier: zone, periods: week, holidays: holidays, closedDates: closed)
    }

    /// One day: a period string, a list of period strings, or closed.
    private static func day(_ value: JSONValue, path: String) throws(Invalid) -> [BusinessCalendar.Period] {
        switch value {
        case .null: return []
        case .string(let s) where s.lowercased() == "closed": return []
        case .string(let s): return try periods(s, path: path)
        case .array(let list):
            var all: [BusinessCalendar.Period] = []
            for (i, item) in list.enumerated() {
                guard let s = item.stringValue else { throw Invalid("\(path)[\(i)]", "must be a period such as \"08:00-12:00\"") }
                all += try periods(s, path: "\(path)[\(i)]")
            }
            return try checked(all, path: path)
        default:
            throw Invalid(path, "must be a period such as \"08:00-17:00\", a list of periods, or null (closed)")
        }
    }

    /// `"08:00-12:00, 13:00-17:00"`.
    static func periods(_ text: String, path: String) throws(Invalid) -> [BusinessCalendar.Period] {
        var out: [BusinessCalendar.Period] = []
        for part in text.split(separator: ",") {
            let p = part.trimmingCharacters(in: .whitespaces)
            let ends = p.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard ends.count == 2, let open = minutes(ends[0]), let close = minutes(ends[1]) else {
                throw Invalid(path, "'\(p)' is not a period HH:MM-HH:MM such as 08:00-17:00")
            }
            guard open < close else {
                throw Invalid(path, "'\(p)' closes before it opens; a period over midnight is two periods (22:00-24:00 and 00:00-02:00 the next day)")
            }
            out.append(.init(opensAt: open, closesAt: close))
        }
        guard !out.isEmpty else { throw Invalid(path, "is empty; give a period such as 08:00-17:00, or null for closed") }
        return try checked(out, path: path)
    }

    private static func checked(_ list: [BusinessCalendar.Period], path: String) throws(Invalid) -> [BusinessCalendar.Period] {
        guard list.count <= maxPeriodsPerDay else { throw Invalid(path, "has more than \(maxPeriodsPerDay) periods") }
        let sorted = list.sorted()
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.opensAt < a.closesAt {
            throw Invalid(path, "has overlapping periods \(text(a)) and \(text(b))")
        }
        return sorted
    }

    /// `HH:MM` (00:00…24:00) → minutes after midnight.
    static func minutes(_ s: String) -> Int? {
        let p = s.split(separator: ":", omittingEmptySubsequences: false)
        guard p.count == 2, (1...2).contains(p[0].count), p[1].count == 2, (p[0] + p[1]).allSatisfy({ $0.isASCII && $0.isNumber }),
              let h = Int(p[0]), let m = Int(p[1]), (0...24).contains(h), (0...59).contains(m) else { return nil }
        let total = h * 60 + m
        return total <= 24 * 60 ? total : nil
    }

    static func text(_ p: BusinessCalendar.Period) -> String { "\(clock(p.opensAt))-\(clock(p.closesAt))" }

    /// Minutes after midnight as `HH:MM`.
    public static func clock(_ minutes: Int) -> String {
        let h = minutes / 60, m = minutes % 60
        return (h < 10 ? "0\(h)" : "\(h)") + ":" + (m < 10 ? "0\(m)" : "\(m)")
    }
}

import Foundation
