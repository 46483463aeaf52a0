/// Which public holidays close the business. The Dutch ones are computed
/// for any year (the Easter-derived dates from the Gregorian computus), not
/// listed by hand:
///
/// | holiday | date | closed |
/// | --- | --- | --- |
/// | Nieuwjaarsdag | 1 January | always |
/// | Goede Vrijdag | Easter − 2 | when `goodFriday` (most businesses stay open) |
/// | Eerste en Tweede Paasdag | Easter, Easter + 1 | always |
/// | Koningsdag | 27 April; 26 April when the 27th is a Sunday | always |
/// | Bevrijdingsdag | 5 May | per `liberationDay`: every lustrum year (2025, 2030, …, the collective agreements' usual rule), every year, or never |
/// | Hemelvaartsdag | Easter + 39 | always |
/// | Eerste en Tweede Pinksterdag | Easter + 49, Easter + 50 | always |
/// | Eerste en Tweede Kerstdag | 25 and 26 December | always |
public struct HolidayRules: Sendable, Hashable, Codable {
    public enum Country: String, ContractEnum {
        /// No public holidays (only the calendar's closed dates).
        case none
        /// The Netherlands.
        case nl
    }

    /// When Bevrijdingsdag (5 May) is a day off.
    public enum LiberationDay: String, ContractEnum {
        /// In years divisible by 5 (2025, 2030): what most collective agreements give.
        case lustrum
        case everyYear = "every_year"
        case never
    }

    public var country: Country
    public var goodFriday: Bool
    public var liberationDay: LiberationDay

    public init(country: Country, goodFriday: Bool = false, liberationDay: LiberationDay = .lustrum) {
        self.country = country; self.goodFriday = goodFriday; self.liberationDay = liberationDay
    }

    /// Dutch holidays, open on Goede Vrijdag, closed on Bevrijdingsdag in lustrum years.
    public static let netherlands = HolidayRules(country: .nl)
    public static let none = HolidayRules(country: .none)

    public func isHoliday(_ date: CivilDate) -> Bool {
        guard country == .nl else { return false }
        return holidayName(date) != nil
    }

    /// The Dutch name of the holiday on `date` that closes the business, or nil.
    public func holidayName(_ date: CivilDate) -> String? {
        guard country == .nl else { return nil }
        let y = date.year
        switch (date.month, date.day) {
        case (1, 1): return "Nieuwjaarsdag"
        case (12, 25): return "Eerste Kerstdag"
        case (12, 26): return "Tweede Kerstdag"
        case (4, 27) where date.weekday != 0: return "Koningsdag"
        case (4, 26) where date.weekday == 6: return "Koningsdag"  // the 27th is a Sunday
        case (5, 5):
            switch liberationDay {
            case .everyYear: return "Bevrijdingsdag"
            case .lustrum where y % 5 == 0: return "Bevrijdingsdag"
            default: break
            }
        default: break
        }
        // Easter-derived dates fall between 20 March (Goede Vrijdag) and 14 June (Tweede Pinksterdag).
        guard (3...6).contains(date.month) else { return nil }
        let offset = date.dayNumber - Self.easter(y).dayNumber
        switch offset {
        case -2 where goodFriday: return "Goede Vrijdag"
        case 0: return "Eerste Paasdag"
        case 1: return "Tweede Paasdag"
        case 39: return "Hemelvaartsdag"
        case 49: return "Eerste Pinksterdag"
        case 50: return "Tweede Pinksterdag"
        default: return nil
        }
    }

    /// Every holiday of `year` that closes the business, in date order.
    public func holidays(in year: Int) -> [(date: CivilDate, name: String)] {
        guard country == .nl else { return [] }
        let first = CivilDate(year: year, month: 1, day: 1).dayNumber
        let last = CivilDate(year: year, month: 12, day: 31).dayNumber
        return (first...last).compactMap { n in
            let d = CivilDate(dayNumber: n)
            return holidayName(d).map { (d, $0) }
        }
    }

    /// Easter Sunday of a Gregorian year (the anonymous Gregorian algorithm of Meeus, Jones and Butcher).
    public static func easter(_ year: Int) -> CivilDate {
        let a = year % 19
        let b = year / 100, c = year % 100
        let d = b / 4, e = b % 4
        let f = (b + 8) / 25
        let g = (b - f + 1) / 3
        let h = (19 * a + b - d - g + 15) % 30
        let i = c / 4, k = c % 4
        let l = (32 + 2 * e + 2 * i - h - k) % 7
        let m = (a + 11 * h + 22 * l) / 451
        let month = (h + l - 7 * m + 114) / 31
        let day = (h + l - 7 * m + 114) % 31 + 1
        return CivilDate(year: year, month: month, day: day)
    }
}
