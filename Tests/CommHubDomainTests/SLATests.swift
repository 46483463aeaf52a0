import CommHubDomain
import Foundation
import Testing

/// Amsterdam wall time → Date.
func amsterdam(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int = 0) -> Date {
    var cal = Calendar(identifier: .gregorian)
    cal.timeZone = TimeZone(identifier: "Europe/Amsterdam")!
    return cal.date(from: DateComponents(year: y, month: mo, day: d, hour: h, minute: mi))!
}

func utc(_ text: String) -> Date { Date(iso8601: text)! }

@Suite("Business hours and SLA deadlines")
struct SLATests {
    let calendar = BusinessCalendar.standard   // Mon–Fri 08:30–17:30 Europe/Amsterdam
    let policy = SLAPolicy()

    @Test("the helper speaks Amsterdam time")
    func helper() {
        #expect(amsterdam(2026, 11, 27, 16) == utc("2026-11-27T15:00:00Z"))   // CET = UTC+1
        #expect(amsterdam(2026, 7, 1, 16) == utc("2026-07-01T14:00:00Z"))     // CEST = UTC+2
    }

    @Test("4 business hours from Friday 16:00 end on Monday morning")
    func fridayAfternoon() {
        let friday = amsterdam(2026, 11, 27, 16)  // Friday
        // 16:00–17:30 Friday is 1.5 h; the other 2.5 h run from Monday 08:30.
        #expect(calendar.adding(businessSeconds: 4 * 3600, to: friday) == amsterdam(2026, 11, 30, 11, 0))
        #expect(policy.responseDue(from: friday, channelType: .emailOutlook, channelOverride: nil, escalated: false)
                == amsterdam(2026, 11, 30, 11, 0))
        // With a 09:00 opening (a common alternative) the same mail is due at 11:30.
        let nineToHalfSix = BusinessCalendar.Hours(opensAt: 9 * 60, closesAt: 17 * 60 + 30)
        let late = BusinessCalendar(week: [nil] + Array(repeating: nineToHalfSix, count: 5) + [nil])
        #expect(late.adding(businessSeconds: 4 * 3600, to: friday) == amsterdam(2026, 11, 30, 11, 30))
    }

    @Test("a weekend message waits for Monday's opening")
    func weekend() {
        let saturday = amsterdam(2026, 11, 28, 13)
        #expect(calendar.adding(businessSeconds: 4 * 3600, to: saturday) == amsterdam(2026, 11, 30, 12, 30))
        let earlyMonday = amsterdam(2026, 11, 30, 6)
        #expect(calendar.adding(businessSeconds: 3600, to: earlyMonday) == amsterdam(2026, 11, 30, 9, 30))
    }

    @Test("WhatsApp and SMS get 1 business hour; mail 4; a channel's response_sla_hours overrides")
    func perChannel() {
        let wednesday = amsterdam(2026, 11, 25, 10)
        #expect(policy.responseDue(from: wednesday, channelType: .whatsappBusiness, channelOverride: nil, escalated: false)
                == amsterdam(2026, 11, 25, 11))
        #expect(policy.responseDue(from: wednesday, channelType: .sms, channelOverride: nil, escalated: false)
                == amsterdam(2026, 11, 25, 11))
        #expect(policy.responseDue(from: wednesday, channelType: .emailOutlook, channelOverride: nil, escalated: false)
                == amsterdam(2026, 11, 25, 14))
        #expect(policy.responseDue(from: wednesday, channelType: .emailOutlook, channelOverride: 2, escalated: false)
                == amsterdam(2026, 11, 25, 12))
        // Late afternoon: 30 minutes today, 30 tomorrow.
        #expect(policy.responseDue(from: amsterdam(2026, 11, 25, 17), channelType: .whatsappBusiness, channelOverride: nil,
                                   escalated: false) == amsterdam(2026, 11, 26, 9))
        #expect(policy.responseDue(from: wednesday, channelType: .internalComment, channelOverride: nil, escalated: false) == nil)
        #expect(policy.responseDue(from: wednesday, channelType: .phoneCall, channelOverride: nil, escalated: false) == nil)
        #expect(policy.responseHours(for: .internalTicket, channelOverride: 0) == nil)
        #expect(policy.responseHours(for: .sms, channelOverride: 0) == 1)
    }

    @Test("escalated threads get 30 wall-clock minutes, even at night and at weekends")
    func escalated() {
        let saturdayNight = amsterdam(2026, 11, 28, 3)
        #expect(policy.responseDue(from: saturdayNight, channelType: .emailOutlook, channelOverride: nil, escalated: true)
                == saturdayNight.addingTimeInterval(30 * 60))
        #expect(policy.responseDue(from: saturdayNight, channelType: .internalComment, channelOverride: nil, escalated: true)
                == saturdayNight.addingTimeInterval(30 * 60))
    }

    @Test("the opening hour follows the clock across daylight saving time (spring, March 2026)")
    func dstSpring() {
        // Sunday 29 March 2026 the clocks go forward: Friday is CET (UTC+1), Monday CEST (UTC+2).
        let friday = amsterdam(2026, 3, 27, 17)
        #expect(friday == utc("2026-03-27T16:00:00Z"))
        let due = calendar.adding(businessSeconds: 4 * 3600, to: friday)
        #expect(due == amsterdam(2026, 3, 30, 12, 0))       // 0.5 h Friday + 3.5 h from 08:30 Monday
        #expect(due == utc("2026-03-30T10:00:00Z"))
        // A whole DST week still holds 5 × 9 business hours.
        let mondayBefore = amsterdam(2026, 3, 23, 8, 30)
        let mondayAfter = amsterdam(2026, 3, 30, 8, 30)
        #expect(calendar.businessSeconds(from: mondayBefore, to: mondayAfter) == 45 * 3600)
        #expect(calendar.adding(businessSeconds: 45 * 3600, to: mondayBefore) == amsterdam(2026, 3, 27, 17, 30))
    }

    @Test("and in autumn (October 2026)")
    func dstAutumn() {
        // Sunday 25 October 2026 the clocks go back.
        let friday = amsterdam(2026, 10, 23, 17)
        #expect(calendar.adding(businessSeconds: 2 * 3600, to: friday) == amsterdam(2026, 10, 26, 10, 0))
        #expect(amsterdam(2026, 10, 26, 10, 0) == utc("2026-10-26T09:00:00Z"))
        #expect(calendar.businessSeconds(from: amsterdam(2026, 10, 19, 0), to: amsterdam(2026, 10, 26, 0)) == 45 * 3600)
    }

    @Test("closed dates are skipped")
    func closedDates() {
        let christmas = BusinessCalendar(closedDates: ["2026-12-25", "2026-12-28"])
        let thursday = amsterdam(2026, 12, 24, 17)
        // 0.5 h Thursday; Friday 25th closed, weekend, Monday 28th closed; Tuesday 29th 08:30 + 0.5 h.
        #expect(christmas.adding(businessSeconds: 3600, to: thursday) == amsterdam(2026, 12, 29, 9, 0))
        // The standard calendar knows the Dutch holidays: Christmas Day is closed without listing it.
        #expect(calendar.adding(businessSeconds: 3600, to: thursday) == amsterdam(2026, 12, 28, 9, 0))
        #expect(BusinessCalendar(holidays: .none).adding(businessSeconds: 3600, to: thursday) == amsterdam(2026, 12, 25, 9, 0))
        #expect(christmas.businessSeconds(from: thursday, to: amsterdam(2026, 12, 29, 9, 0)) == 3600)
    }

    @Test("businessSeconds is the inverse of adding")
    func inverse() {
        let start = amsterdam(2026, 11, 25, 14, 17)
        for hours in [0.25, 1, 3.5, 9, 20, 47] {
            let end = calendar.adding(businessSeconds: hours * 3600, to: start)
            #expect(calendar.businessSeconds(from: start, to: end) == hours * 3600)
        }
        #expect(calendar.businessSeconds(from: start, to: start.addingTimeInterval(-10)) == 0)
    }
}
