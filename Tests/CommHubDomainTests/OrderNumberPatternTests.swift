import CommHubDomain
import Testing

@Suite("Order numbers in free text")
struct OrderNumberPatternTests {
    let pattern = OrderNumberPattern()

    @Test("the usual ways people write an order number", arguments: [
        ("Vraag over #12345", "12345"),
        ("order 12345", "12345"),
        ("Order 12345 is nog niet geleverd", "12345"),
        ("mijn bestelling 12345 klopt niet", "12345"),
        ("Bestelling: 12345", "12345"),
        ("ordernummer: 12345", "12345"),
        ("Ordernummer 12345", "12345"),
        ("bestelnr. 12345", "12345"),
        ("Bestelnummer 12345", "12345"),
        ("ordernr 12345", "12345"),
        ("order nr. 12345", "12345"),
        ("order no 12345", "12345"),
        ("order #12345", "12345"),
        ("ORDER-12345", "12345"),
        ("(#12345)", "12345"),
        ("opdracht 987654", "987654"),
    ] as [(String, String)])
    func found(_ text: String, _ number: String) {
        #expect(pattern.candidates(in: text) == [number], "'\(text)'")
    }

    @Test("too few or too many digits are no order number")
    func digitCounts() {
        #expect(pattern.candidates(in: "order 123").isEmpty)
        #expect(pattern.candidates(in: "#999").isEmpty)
        #expect(pattern.candidates(in: "order 12345678901").isEmpty)  // 11 > maxDigits 10
        #expect(pattern.candidates(in: "order 1234") == ["1234"])      // minDigits 4
    }

    @Test("prefixes and numbers embedded in words are not matched")
    func embedded() {
        #expect(pattern.candidates(in: "reorder 12345").isEmpty)
        #expect(pattern.candidates(in: "border12345").isEmpty)
        #expect(pattern.candidates(in: "abc#12345").isEmpty)
        #expect(pattern.candidates(in: "order 12345abc").isEmpty)
        #expect(pattern.candidates(in: "orders 12345").isEmpty)
        #expect(pattern.candidates(in: "bel me op 0612345678").isEmpty)  // a bare number is no order number
        #expect(pattern.candidates(in: "postcode 1234AB").isEmpty)
    }

    @Test("several candidates in order of appearance, without duplicates")
    func several() {
        let text = "Over #22222 en bestelling 11111, en nogmaals order 22222."
        #expect(pattern.candidates(in: text) == ["22222", "11111"])
    }

    @Test("custom prefixes and digit counts")
    func custom() {
        let p = OrderNumberPattern(prefixes: ["CC", "Dossier"], minDigits: 6, maxDigits: 8)
        #expect(p.prefixes == ["dossier", "cc"])  // lower-cased, longest first
        #expect(p.candidates(in: "dossier 123456") == ["123456"])
        #expect(p.candidates(in: "Zie CC-1234567") == ["1234567"])
        #expect(p.candidates(in: "order 123456").isEmpty)   // default prefixes are gone
        #expect(p.candidates(in: "#123456").isEmpty)
        #expect(p.candidates(in: "dossier 12345").isEmpty)  // fewer than 6 digits
    }
}
