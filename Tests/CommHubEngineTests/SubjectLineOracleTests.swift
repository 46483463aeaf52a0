import CommHubDomain
import CommHubFixtures
@testable import CommHubEngine
import Foundation
import Testing

/// Round 1's `Supervisor.subjectLine(from:)`, unchanged: the oracle.
private func oracleSubjectLine(_ body: String) -> String {
    let line = body.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    let trimmed = line.trimmingCharacters(in: .whitespaces)
    if trimmed.isEmpty { return "(no subject)" }
    return trimmed.count > 80 ? String(trimmed.prefix(77)) + "..." : trimmed
}

@Suite("Subject line of a message without a subject: first line found without splitting the body")
struct SubjectLineOracleTests {
    @Test("the same line as splitting the whole body, for random bodies")
    func random() {
        let pieces = ["\n", "\u{0C}", "\u{2029}", "a\u{0301}", "Re: vraag", String(repeating: "y", count: 77), "\u{00A0}", "\u{2003}", "\r\n", "\r", "\u{2028}", "\u{85}", "\u{0B}", " ", "\t", "Hallo", "mijn laadpaal", "é", "\u{0301}",
                      String(repeating: "x", count: 90), "😀", ""]
        var rng = SplitMix(seed: 7)
        func next() -> UInt64 { rng.next() }
        for _ in 0..<20_000 {
            var s = ""
            for _ in 0..<Int(next() % 10) { s += pieces[Int(next() % UInt64(pieces.count))] }
            #expect(Supervisor.subjectLine(from: s) == oracleSubjectLine(s), "\(s.debugDescription)")
        }
    }
}
