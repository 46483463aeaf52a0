import CommHubDomain
import Foundation
import Testing

@Suite("Phone numbers")
struct PhoneNumberTests {
    @Test("Dutch mobile spellings all normalise to one E.164 number", arguments: [
        "0612345678",
        "06-12345678",
        "06 1234 5678",
        "(06) 12 34 56 78",
        "+31612345678",
        "+31 6 12345678",
        "+31 (0)6 1234 5678",
        "+31(0)612345678",
        "0031612345678",
        "0031 6 1234 5678",
        "31612345678",        // WhatsApp wa_id: country code without '+'
        "tel:+31612345678",
        "whatsapp:+31 6 12345678",
    ])
    func dutchMobile(_ text: String) throws {
        let n = try #require(PhoneNumber(text), "'\(text)' should parse")
        #expect(n.e164 == "+31612345678")
        #expect(n.description == "+31612345678")
    }

    @Test("foreign numbers keep their country code")
    func foreign() throws {
        #expect(PhoneNumber("+49 30 1234567")?.e164 == "+49301234567")
        #expect(PhoneNumber("0049 30 1234567")?.e164 == "+49301234567")
        #expect(PhoneNumber("+32 470 12 34 56")?.e164 == "+32470123456")
        // A Belgian trunk zero is not dropped under a Dutch default.
        #expect(PhoneNumber("020-1234567")?.e164 == "+31201234567")
    }

    @Test("garbage is no number", arguments: [
        "", "hello", "12ab34567890", "06-1234x5678", "123", "+31", "06 12", "0612345678901234567", "jan@example.nl",
    ])
    func garbage(_ text: String) {
        #expect(PhoneNumber(text) == nil, "'\(text)' should not parse")
    }

    @Test("equal numbers are equal and hash equal, whatever the spelling")
    func hashing() throws {
        let a = try #require(PhoneNumber("06 1234 5678"))
        let b = try #require(PhoneNumber("+31 (0)6 12345678"))
        let c = try #require(PhoneNumber("31612345678"))
        #expect(a == b && b == c)
        #expect(a.hashValue == b.hashValue && b.hashValue == c.hashValue)
        let set: Set<PhoneNumber> = [a, b, c, try #require(PhoneNumber("0687654321"))]
        #expect(set.count == 2)
        var dict: [PhoneNumber: String] = [a: "jan"]
        dict[b] = "jan again"
        #expect(dict.count == 1)
    }

    @Test("Codable as the E.164 string; a bad number fails to decode")
    func coding() throws {
        let n = try #require(PhoneNumber("06 12345678"))
        let data = try JSONEncoder().encode([n])
        #expect(String(decoding: data, as: UTF8.self) == #"["+31612345678"]"#)
        #expect(try JSONDecoder().decode([PhoneNumber].self, from: Data(#"["0612345678"]"#.utf8)) == [n])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([PhoneNumber].self, from: Data(#"["nope"]"#.utf8)) }
    }
}

@Suite("E-mail addresses")
struct EmailAddressTests {
    @Test("display names are removed and case is ignored")
    func displayNames() throws {
        let plain = try #require(EmailAddress("jan@example.nl"))
        #expect(EmailAddress("Jan@Example.NL") == plain)
        #expect(EmailAddress("\"Jan de Vries\" <Jan@Example.nl>") == plain)
        #expect(EmailAddress("Jan de Vries <JAN@EXAMPLE.NL>") == plain)
        #expect(EmailAddress("  jan@example.nl \n") == plain)
        #expect(EmailAddress("<jan@example.nl>")?.normalized == "jan@example.nl")
        #expect(EmailAddress("Jan@Example.NL")?.hashValue == plain.hashValue)
        #expect(EmailAddress("piet@example.nl") != plain)
    }

    @Test("not an address", arguments: ["", "jan", "@example.nl", "jan@", "jan@@example.nl", "jan de vries@example.nl", "a@b@c"])
    func invalid(_ text: String) {
        #expect(EmailAddress(text) == nil, "'\(text)' should not parse")
    }
}

@Suite("Duration text")
struct DurationTextTests {
    @Test("short durations", arguments: [
        ("90m", 5400.0), ("5h", 18_000), ("2d", 172_800), ("1h30m", 5400), ("45s", 45), ("1w", 604_800),
        ("1d 2h", 93_600), ("1.5h", 5400), ("90M", 5400), ("30", 30),
    ] as [(String, Double)])
    func valid(_ text: String, _ seconds: Double) {
        #expect(DurationText.seconds(text) == seconds, "'\(text)'")
    }

    @Test("junk is nil", arguments: ["", "abc", "5x", "h", "1h30", "-5m", "m5", "5 hours", "1..5h"])
    func junk(_ text: String) {
        #expect(DurationText.seconds(text) == nil, "'\(text)' should be rejected")
    }
}

@Suite("Simulated clock")
struct SimulatedClockTests {
    @Test("moves only when told, never backwards")
    func moves() {
        let start = Date(timeIntervalSince1970: 1_795_600_800)
        let clock = SimulatedClock(start: start)
        #expect(clock.now() == start)
        #expect(clock.advance(by: 90 * 60) == start.addingTimeInterval(5400))
        clock.set(start) // earlier: ignored
        #expect(clock.now() == start.addingTimeInterval(5400))
        #expect(start.iso8601 == "2026-11-25T10:00:00Z")
        #expect(start.addingTimeInterval(0.25).iso8601 == "2026-11-25T10:00:00.250Z")
        #expect(Date(iso8601: "2026-11-25T10:00:00Z") == start)
        #expect(Date(iso8601: "2026-11-25T10:00:00.250Z") == start.addingTimeInterval(0.25))
        #expect(SimulatedClock().now() == start)
        #expect(Date(iso8601: "yesterday") == nil)
    }
}
