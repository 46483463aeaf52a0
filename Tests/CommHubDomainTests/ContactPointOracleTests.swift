import CommHubDomain
import CommHubFixtures
import Foundation
import Testing

// The byte-level contact-point parsers (ContactPoints.swift) against the
// implementation they replaced, kept here verbatim as the oracle: the
// Character/Foundation parsers of round 1. Every input must give the same
// answer, nil or the same normal form.

/// Round 1's `PhoneNumber.init?`, unchanged: one Character at a time.
private func oraclePhone(_ text: String, defaultCountryCode: String = "31") -> String? {
    var digits = ""
    digits.reserveCapacity(16)
    var leadingPlus = false
    for ch in text {
        if ch.isASCII, ch.isNumber {
            digits.append(ch)
        } else if ch == "+" && digits.isEmpty && !leadingPlus {
            leadingPlus = true
        } else if " -().\u{00A0}/".contains(ch) || (ch == ":" && digits.isEmpty) {
            continue
        } else if digits.isEmpty && (ch.isLetter) {
            continue
        } else {
            return nil
        }
    }
    if leadingPlus {
        if digits.hasPrefix(defaultCountryCode + "0") {
            digits.remove(at: digits.index(digits.startIndex, offsetBy: defaultCountryCode.count))
        }
    } else if digits.hasPrefix("00") {
        digits.removeFirst(2)
    } else if digits.hasPrefix("0") {
        digits = defaultCountryCode + digits.dropFirst()
    } else if digits.hasPrefix(defaultCountryCode), digits.count >= 10 {
    } else if digits.count < 8 {
        return nil
    }
    guard (8...15).contains(digits.count) else { return nil }
    return "+" + digits
}

/// Round 1's `EmailAddress.init?`, unchanged: Foundation trimming, Character look-ups.
private func oracleEmail(_ text: String) -> String? {
    var s = Substring(text)
    if let open = s.lastIndex(of: "<"), let close = s.lastIndex(of: ">"), open < close {
        s = s[s.index(after: open)..<close]
    }
    let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    guard let at = trimmed.firstIndex(of: "@"),
          at != trimmed.startIndex,
          trimmed.index(after: at) != trimmed.endIndex,
          !trimmed.contains(" "),
          trimmed.firstIndex(of: "@") == trimmed.lastIndex(of: "@")
    else { return nil }
    return trimmed
}

/// Pieces the random inputs are made of: what phone numbers and addresses
/// are written with, and what breaks naive byte parsing (grapheme clusters,
/// Unicode white space and case mapping, IDN, full-width digits).
private let pieces: [String] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "06", "00", "0031", "+31", "31", "+", "++", "(0)", "020",
    " ", "  ", "-", "(", ")", ".", "/", ":", "tel:", "whatsapp:", "\u{00A0}", "\t", "\n", "\r\n", "\r", "\u{0B}", "\u{0C}",
    "\u{1C}", "\u{1F}", "\u{85}", "\u{2028}", "\u{2029}", "\u{3000}", "\u{1680}", "\u{180E}", "\u{200B}", "\u{2007}",
    "\u{202F}", "\u{FEFF}", "\u{0}",
    "a", "Z", "x", "Jan", "JAN", "jan", "de Vries", "\"Jan\"", "@", "@@", "<", ">", "<>", "><", "\u{226E}", "<\u{338}",
    "example.nl", "EXAMPLE.NL", "bücher.de", "BÜCHER.DE", "xn--bcher-kva.de", "ß", "ẞ", "İ", "Σ", "ς", "\u{212A}", "ﬀ",
    "\u{0301}", "\u{20E3}", "\u{200D}", "\u{FE0F}", "\u{0600}", "\u{0345}", "e\u{0301}", "1\u{0301}", "@\u{0301}", " \u{0301}",
    "１", "٣", "۳", "²", "½", "Ⅻ", "😀", "👍🏽", "🇳🇱", "ą", "Ж", "中", "日本", "한",
]

private func randomInput(_ rng: inout SplitMix) -> String {
    let n = Int(rng.next() % 14)
    var s = ""
    for _ in 0..<n { s += pieces[Int(rng.next() % UInt64(pieces.count))] }
    return s
}

/// Phone numbers as people and gateways write them, with a random edit or none.
private func phoneLike(_ rng: inout SplitMix) -> String {
    let forms = ["06 1234 5678", "+31 6 12345678", "0031612345678", "+31 (0)6 1234 5678", "31612345678", "(06) 12 34 56 78",
                 "06-12345678", "tel:+31612345678", "whatsapp:+31 6 12345678", "+49 30 1234567", "0049 30 1234567",
                 "020-1234567", "+1 (555) 010-9999", "0612345678901234567", "+3106", "12345678", "1234567", "+310612345678"]
    var s = Array(forms[Int(rng.next() % UInt64(forms.count))])
    if rng.next() % 2 == 0, !s.isEmpty {
        let i = Int(rng.next() % UInt64(s.count + 1))
        s.insert(contentsOf: Array(pieces[Int(rng.next() % UInt64(pieces.count))]), at: i)
    }
    if rng.next() % 4 == 0, !s.isEmpty { s.remove(at: Int(rng.next() % UInt64(s.count))) }
    return String(s)
}

/// Addresses as mail headers carry them, with a random edit or none.
private func mailLike(_ rng: inout SplitMix) -> String {
    let forms = ["jan@example.nl", "Jan@Example.NL", "\"Jan de Vries\" <Jan@Example.nl>", "Jan de Vries <JAN@EXAMPLE.NL>",
                 "  jan@example.nl \n", "<jan@example.nl>", "jan@bücher.de", "JAN@BÜCHER.DE", "jan@xn--bcher-kva.de",
                 "a@b", "@x", "x@", "a@@b", "a@b@c", "jan de vries@example.nl", "<a@b> <c@d>", "a@b>", "<a@b", "Ünal@Exämple.nl",
                 "\u{3000}jan@example.nl\u{2028}", "\tJAN@EXAMPLE.NL\r\n"]
    var s = Array(forms[Int(rng.next() % UInt64(forms.count))])
    if rng.next() % 2 == 0 {
        let i = Int(rng.next() % UInt64(s.count + 1))
        s.insert(contentsOf: Array(pieces[Int(rng.next() % UInt64(pieces.count))]), at: i)
    }
    if rng.next() % 4 == 0, !s.isEmpty { s.remove(at: Int(rng.next() % UInt64(s.count))) }
    return String(s)
}

@Suite("Contact points: byte parsers against the round-1 oracle")
struct ContactPointOracleTests {
    static let randomCases = 100_000

    private func check(_ text: String, countryCode: String = "31", sourceLocation: SourceLocation = #_sourceLocation) {
        let phone = PhoneNumber(text, defaultCountryCode: countryCode)?.e164
        let expectedPhone = oraclePhone(text, defaultCountryCode: countryCode)
        if phone != expectedPhone {
            Issue.record("phone \(text.debugDescription) cc \(countryCode.debugDescription): \(phone.debugDescription), oracle \(expectedPhone.debugDescription)",
                         sourceLocation: sourceLocation)
        }
        let mail = EmailAddress(text)?.normalized
        let expectedMail = oracleEmail(text)
        if mail != expectedMail {
            Issue.record("mail \(text.debugDescription): \(mail.debugDescription), oracle \(expectedMail.debugDescription)",
                         sourceLocation: sourceLocation)
        }
    }

    @Test("the examples of the unit tests and the edges")
    func examples() {
        for t in ["", " ", "+", "0", "00", "+31", "+310", "0031", "06", "0612345678", "+31 (0)6 1234 5678", "31612345678",
                  "jan@example.nl", "Jan de Vries <JAN@EXAMPLE.NL>", "<>", "<@>", "a@b", "A@B", "@", " @ ", "a @b", "\r\n",
                  "a@b\r\n", "\r\na@b", "\u{00A0}0612345678", "06\u{00A0}12345678", "٠٦١٢٣٤٥٦٧٨", "０６１２３４５６７８",
                  "1\u{0301}2345678", "\u{0600}0612345678", "téléphone: 06 12345678", "é0612345678", "0612345678é",
                  "JAN@BÜCHER.DE", "İ@example.nl", "jan@example.nl\u{85}", "\u{180E}jan@example.nl", "jan\u{200B}@x.nl"] {
            check(t)
        }
    }

    @Test("random inputs from adversarial pieces, phone-like and mail-like texts")
    func random() {
        var rng = SplitMix(seed: 17)
        for i in 0..<Self.randomCases {
            switch i % 3 {
            case 0: check(randomInput(&rng))
            case 1: check(phoneLike(&rng))
            default: check(mailLike(&rng))
            }
        }
    }

    @Test("other default country codes, including empty, long and not digits")
    func countryCodes() {
        var rng = SplitMix(seed: 31)
        for cc in ["31", "1", "49", "", "0", "999", "1234567890123456", "3a", "３１", "+31"] {
            for _ in 0..<5_000 { check(rng.next() % 2 == 0 ? phoneLike(&rng) : randomInput(&rng), countryCode: cc) }
        }
    }

    @Test("every Basic Multilingual Plane scalar, at the front, inside and at the end of a number and an address")
    func everyScalar() {
        for v in UInt32(0)...0xFFFF {
            guard let u = Unicode.Scalar(v) else { continue }
            let c = String(Character(u))
            for t in [c + "0612345678", "06" + c + "12345678", "0612345678" + c, "+" + c + "31612345678",
                      c + "jan@example.nl", "JAN@EXAMPLE.NL" + c, "jan" + c + "@x.nl", "a@" + c, c + "@b", "<a@b" + c + ">", "<" + c + "a@b>",
                      "é a" + c + "@b", "é a " + c + "@b", "a@b " + c + "x"] {
                check(t)
            }
        }
    }

    @Test("the white space trimmed from addresses is Foundation's, for every scalar")
    func whitespaceSet() {
        var wrong: [UInt32] = []
        for v in UInt32(0)...0x10FFFF {
            guard let u = Unicode.Scalar(v) else { continue }
            let foundation = oracleEmail(String(Character(u)) + "a@b" + String(Character(u))) == "a@b"
            let ours = EmailAddress(String(Character(u)) + "a@b" + String(Character(u)))?.normalized == "a@b"
            if foundation != ours { wrong.append(v) }
        }
        #expect(wrong.isEmpty, "scalars trimmed differently: \(wrong.prefix(20).map { String($0, radix: 16) })")
    }

    @Test("very long inputs")
    func long() {
        var rng = SplitMix(seed: 5)
        check(String(repeating: "0", count: 100_000))
        check(String(repeating: " ", count: 50_000) + "0612345678")
        check(String(repeating: "a", count: 50_000) + "@" + String(repeating: "B", count: 50_000))
        check("tel:" + String(repeating: "x", count: 10_000) + "0612345678")
        for _ in 0..<200 {
            var s = ""
            for _ in 0..<50 { s += rng.next() % 2 == 0 ? phoneLike(&rng) : mailLike(&rng) }
            check(s)
        }
    }

    @Test("an address already in normal form is kept, others are built")
    func normalFormKept() throws {
        let a = try #require(EmailAddress("jan@example.nl"))
        #expect(a.normalized == "jan@example.nl")
        #expect(EmailAddress(" Jan@Example.NL ")?.normalized == "jan@example.nl")
        #expect(EmailAddress("Jan <jan@example.nl>")?.normalized == "jan@example.nl")
    }
}
