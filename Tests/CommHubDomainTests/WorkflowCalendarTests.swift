import CommHubDomain
import Foundation
import Testing

/// Business calendars as the owner writes them: several periods a day,
/// the Dutch public holidays (Easter computed), Europe/Amsterdam across
/// both DST changes, and clear refusals of what cannot be read.
@Suite("Business calendars")
struct WorkflowCalendarTests {
    static func spec(_ json: String) throws -> BusinessCalendar {
        try BusinessHoursSpec.calendar(try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)))
    }

    @Test("Easter is computed for any year, and the holidays that hang on it move with it")
    func easter() {
        let known = [2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28",
                     2038: "2038-04-25", 2285: "2285-03-22", 1818: "1818-03-22"]
        for (year, date) in known { #expect(HolidayRules.easter(year).text == date, "\(year)") }
        let names = Dictionary(HolidayRules.netherlands.holidays(in: 2026).map { ($0.date.text, $0.name) },
                               uniquingKeysWith: { a, _ in a })
        #expect(names.keys.sorted() == ["2026-01-01", "2026-04-05", "2026-04-06", "2026-04-27", "2026-05-14",
                                        "2026-05-24", "2026-05-25", "2026-12-25", "2026-12-26"],
                "Nieuwjaar, Pasen, Koningsdag, Hemelvaart, Pinksteren, Kerst; no Bevrijdingsdag outside lustrum years")
        #expect(names["2026-05-14"] == "Hemelvaartsdag")
        // 2025: Koningsdag moves to Saturday the 26th (the 27th is a Sunday); Bevrijdingsdag in a lustrum year.
        let y2025 = Set(HolidayRules.netherlands.holidays(in: 2025).map(\.date.text))
        #expect(y2025.contains("2025-04-26") && !y2025.contains("2025-04-27") && y2025.contains("2025-05-05"))
        #expect(HolidayRules(country: .nl, goodFriday: true).holidays(in: 2026).contains { $0.date.text == "2026-04-03" })
        #expect(HolidayRules.none.holidays(in: 2026).isEmpty)
    }

    @Test("a deadline runs over Easter Monday, Ascension Day and Whit Monday without counting them")
    func holidaysAreSkipped() {
        let cal = BusinessCalendar.standard  // Mon–Fri 08:30–17:30, Dutch holidays
        // Thursday 2 April 2026 17:00 + 2 business hours: Friday (Good Friday is open) 08:30–10:00.
        #expect(cal.adding(businessSeconds: 2 * 3600, to: amsterdam(2026, 4, 2, 17)) == amsterdam(2026, 4, 3, 10))
        // Friday 3 April 17:00 + 2 h: Easter Monday closed, so Tuesday 7 April 10:00.
        #expect(cal.adding(businessSeconds: 2 * 3600, to: amsterdam(2026, 4, 3, 17)) == amsterdam(2026, 4, 7, 10))
        // Wednesday 13 May 17:00 + 2 h: Ascension Thursday closed → Friday 15 May 10:00.
        #expect(cal.adding(businessSeconds: 2 * 3600, to: amsterdam(2026, 5, 13, 17)) == amsterdam(2026, 5, 15, 10))
        // Friday 22 May 17:00 + 2 h: weekend and Whit Monday → Tuesday 26 May 10:00.
        #expect(cal.adding(businessSeconds: 2 * 3600, to: amsterdam(2026, 5, 22, 17)) == amsterdam(2026, 5, 26, 10))
        #expect(cal.businessSeconds(from: amsterdam(2026, 5, 22, 17), to: amsterdam(2026, 5, 26, 10)) == 2 * 3600)
    }

    @Test("several periods a day: the lunch break does not count")
    func severalPeriods() throws {
        let cal = try Self.spec(#""08:00-12:00, 13:00-17:00""#)
        // Monday 11:00 + 2 h: 11–12, lunch, 13–14.
        #expect(cal.adding(businessSeconds: 2 * 3600, to: amsterdam(2026, 11, 30, 11)) == amsterdam(2026, 11, 30, 14))
        #expect(!cal.isOpen(at: amsterdam(2026, 11, 30, 12, 30)))
        #expect(cal.isOpen(at: amsterdam(2026, 11, 30, 13)))
        // A message at lunch waits for 13:00.
        #expect(cal.adding(businessSeconds: 60, to: amsterdam(2026, 11, 30, 12, 15)) == amsterdam(2026, 11, 30, 13, 1))
        #expect(cal.businessSeconds(from: amsterdam(2026, 11, 30, 0), to: amsterdam(2026, 12, 1, 0)) == 8 * 3600)
    }

    @Test("both DST changes: business time is wall time in Amsterdam, not 24-hour days")
    func daylightSaving() throws {
        let cal = try Self.spec(#"{"weekdays":["08:00-12:00","13:00-17:00"],"saturday":"10:00-14:00"}"#)
        // Spring: Saturday 28 March 2026 13:00 + 3 h = 1 h Saturday, Sunday closed (the night loses an hour), Monday 08:00–10:00.
        #expect(cal.adding(businessSeconds: 3 * 3600, to: amsterdam(2026, 3, 28, 13)) == amsterdam(2026, 3, 30, 10))
        #expect(amsterdam(2026, 3, 30, 10) == Date(iso8601: "2026-03-30T08:00:00Z"), "CEST on Monday")
        // Autumn: Saturday 24 October 2026 13:00 + 3 h → Monday 26 October 10:00 CET.
        #expect(cal.adding(businessSeconds: 3 * 3600, to: amsterdam(2026, 10, 24, 13)) == amsterdam(2026, 10, 26, 10))
        #expect(amsterdam(2026, 10, 26, 10) == Date(iso8601: "2026-10-26T09:00:00Z"), "CET on Monday")
        // A whole week over each change holds exactly its business hours: 5 × 8 + 4.
        #expect(cal.businessSeconds(from: amsterdam(2026, 3, 23, 0), to: amsterdam(2026, 3, 30, 0)) == 44 * 3600)
        #expect(cal.businessSeconds(from: amsterdam(2026, 10, 19, 0), to: amsterdam(2026, 10, 26, 0)) == 44 * 3600)
    }

    @Test("another time zone and extra closed dates")
    func zoneAndClosedDates() throws {
        let cal = try Self.spec(#"{"time_zone":"Europe/London","weekdays":"09:00-17:00","closed_dates":["2026-12-24"],"holidays":"none"}"#)
        // Wednesday 23 December 16:00 London + 2 h: 1 h, then the 24th closed, then Friday 25th (no Dutch holidays) 09:00–10:00.
        let start = Date(iso8601: "2026-12-23T16:00:00Z")!
        #expect(cal.adding(businessSeconds: 2 * 3600, to: start) == Date(iso8601: "2026-12-25T10:00:00Z"))
    }

    @Test("what cannot be read is refused, naming the key")
    func refusals() {
        let cases: [(String, String)] = [
            (#""17:00-08:00""#, "closes before it opens"),
            (#""8-17""#, "is not a period"),
            (#"{"weekdays":"08:00-12:00, 11:00-17:00"}"#, "overlapping"),
            (#"{"mondy":"08:00-17:00"}"#, "business_hours.mondy is not a business_hours key"),
            (#"{"time_zone":"Mars/Olympus","weekdays":"08:00-17:00"}"#, "business_hours.time_zone"),
            (#"{"saturday":null}"#, "opens on no day"),
            (#"{"weekdays":"08:00-17:00","closed_dates":["2026-02-30"]}"#, "closed_dates[0]"),
            (#"{"weekdays":"08:00-17:00","holidays":"de"}"#, "business_hours.holidays"),
            ("42", "must be a string"),
        ]
        for (json, mention) in cases {
            do {
                _ = try Self.spec(json)
                Issue.record("\(json) was accepted")
            } catch {
                #expect("\(error)".contains(mention), "\(json): \(error)")
            }
        }
    }
}

/// Mail from robots is recognised, and only people are answered, once per closed period.
@Suite("Auto-responses")
struct AutoResponseRuleTests {
    let cal = BusinessCalendar.standard

    @Test("Auto-Submitted, X-Autoreply, Precedence and out-of-office subjects mark a machine")
    func detection() {
        #expect(AutoReplyDetection.isAutomatic(headers: [("Auto-Submitted", "auto-replied")]))
        #expect(!AutoReplyDetection.isAutomatic(headers: [("Auto-Submitted", "no")]))
        #expect(AutoReplyDetection.isAutomatic(headers: [("X-Autoreply", "yes")]))
        #expect(AutoReplyDetection.isAutomatic(headers: [("Precedence", "auto_reply")]))
        #expect(!AutoReplyDetection.isAutomatic(headers: [("Subject", "Vraag")]))
        for s in ["Automatisch antwoord: Uw vraag", "Out of Office: Re: Laadpaal", "RE: Automatic reply: offerte", "Afwezig"] {
            #expect(AutoReplyDetection.isOutOfOfficeSubject(s), "\(s)")
        }
        for s in ["Re: Laadpaal", "Vraag over afwezigheid monteur", nil] {
            #expect(!AutoReplyDetection.isOutOfOfficeSubject(s), "\(String(describing: s))")
        }
    }

    @Test("outside hours once per closed period, never inside hours, never to a machine")
    func policy() {
        let friday = amsterdam(2026, 11, 27, 19)
        #expect(AutoResponsePolicy.shouldRespond(receivedAt: friday, automatic: false, calendar: cal, lastAutoResponseAt: nil))
        #expect(!AutoResponsePolicy.shouldRespond(receivedAt: amsterdam(2026, 11, 27, 11), automatic: false, calendar: cal,
                                                  lastAutoResponseAt: nil), "open: a person answers")
        #expect(!AutoResponsePolicy.shouldRespond(receivedAt: friday, automatic: true, calendar: cal, lastAutoResponseAt: nil))
        // Answered Friday evening: Saturday's message is in the same closed period.
        #expect(!AutoResponsePolicy.shouldRespond(receivedAt: amsterdam(2026, 11, 28, 10), automatic: false, calendar: cal,
                                                  lastAutoResponseAt: friday))
        // Monday evening is a new closed period.
        #expect(AutoResponsePolicy.shouldRespond(receivedAt: amsterdam(2026, 11, 30, 19), automatic: false, calendar: cal,
                                                 lastAutoResponseAt: friday))
    }
}

/// The ladder's moments, pure.
@Suite("Ladder moments")
struct LadderMomentTests {
    @Test("75% and 90% of the business-time budget, the deadline, 24 wall hours after it")
    func moments() {
        let cal = BusinessCalendar.standard
        let start = amsterdam(2026, 11, 27, 15)  // Friday 15:00, 4 business hours: 2.5 on Friday, due Monday 10:00
        let due = cal.adding(businessSeconds: 4 * 3600, to: start)
        #expect(due == amsterdam(2026, 11, 30, 10))
        let clock = SLAClock(waitStart: start, due: due, progress: nil)
        let ladder = SLALadder()
        #expect(ladder.moment(.reminder75, clock: clock, calendar: cal) == amsterdam(2026, 11, 30, 9))
        #expect(ladder.moment(.teamLeader90, clock: clock, calendar: cal) == amsterdam(2026, 11, 30, 9, 36))
        #expect(ladder.moment(.managerEscalation, clock: clock, calendar: cal) == due)
        #expect(ladder.moment(.executive24h, clock: clock, calendar: cal) == amsterdam(2026, 12, 1, 10))
        #expect(ladder.next(clock, calendar: cal)?.step == .reminder75)
        // Once the escalation fired, the reminders are skipped.
        let later = SLAClock(waitStart: start, due: due, progress: SLAProgress(waitStart: start, fired: SLAStep.managerEscalation.bit))
        #expect(ladder.next(later, calendar: cal)?.step == .executive24h)
        let done = SLAClock(waitStart: start, due: due, progress: SLAProgress(waitStart: start, fired: SLAStep.executive24h.bit))
        #expect(ladder.next(done, calendar: cal) == nil)
    }

    @Test("reminder fractions are checked")
    func fractions() {
        #expect(SLALadder.problem(reminderFractions: [0.75, 0.9]) == nil)
        #expect(SLALadder.problem(reminderFractions: [0.9, 0.75]) != nil)
        #expect(SLALadder.problem(reminderFractions: [1.5]) != nil)
        #expect(SLALadder.problem(reminderFractions: [0.1, 0.2, 0.3]) != nil)
    }
}
