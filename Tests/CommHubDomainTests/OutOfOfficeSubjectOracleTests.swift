@testable import CommHubDomain
import CommHubFixtures
import Foundation
import Testing

/// Round 1's `isOutOfOfficeSubject`, unchanged: the oracle for the byte path.
private func oracleOutOfOffice(_ subject: String?) -> Bool {
    guard var s = subject?.lowercased().trimmingCharacters(in: .whitespaces), !s.isEmpty else { return false }
    while s.hasPrefix("re:") || s.hasPrefix("aw:") || s.hasPrefix("fw:") { s = String(s.dropFirst(3)).trimmingCharacters(in: .whitespaces) }
    return AutoReplyDetection.prefixes.contains { s.hasPrefix($0) }
}

@Suite("Out-of-office subjects: byte path against the round-1 oracle")
struct OutOfOfficeSubjectOracleTests {
    static let pieces = ["RE:", "re:", "Re: ", "AW:", "Fw:", "FW: ", "re", ":", " ", "  ", "\t", "\n", "\r\n", "\u{0B}", "\u{00A0}",
                         "\u{2003}", "\u{200B}", "Automatic reply", "AUTOMATIC REPLY:", "auto", "Auto:", "auto-reply", "Out of Office",
                         "out of the office", "Afwezig", "Niet aanwezig", "Buiten kantoor", "Undeliverable", "onbestelbaar",
                         "Delivery Status Notification", "Mail delivery failed", "Vraag", "over", "order 12345", "é", "\u{0301}",
                         "İ", "ß", "Σ", "K", "\u{212A}", "😀", "x", ""]

    @Test("random subjects from adversarial pieces, nil and empty")
    func random() {
        var rng = SplitMix(seed: 42)
        func next() -> UInt64 { rng.next() }
        #expect(AutoReplyDetection.isOutOfOfficeSubject(nil) == oracleOutOfOffice(nil))
        for _ in 0..<50_000 {
            var s = ""
            for _ in 0..<Int(next() % 6) { s += Self.pieces[Int(next() % UInt64(Self.pieces.count))] }
            let got = AutoReplyDetection.isOutOfOfficeSubject(s)
            if got != oracleOutOfOffice(s) { Issue.record("\(s.debugDescription): \(got), oracle \(!got)") }
        }
    }

    @Test("every ASCII byte around a prefix and a marker")
    func everyASCIIByte() {
        for v in UInt8(0)..<0x80 {
            let c = String(UnicodeScalar(v))
            for s in [c + "Automatic reply", "Automatic reply" + c, "re:" + c + "afwezig", c + "re: afwezig", "auto" + c + "reply", "re" + c + ": afwezig"] {
                #expect(AutoReplyDetection.isOutOfOfficeSubject(s) == oracleOutOfOffice(s), "\(s.debugDescription)")
            }
        }
    }
}
