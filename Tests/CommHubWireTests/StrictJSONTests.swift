import CommHubWire
import Foundation
import Testing

@Suite("Strict JSON scanner")
struct StrictJSONTests {
    static let limits = JSONLimits(maxDepth: 4, maxStringBytes: 16, maxArrayElements: 3, maxObjectMembers: 3, maxNumberBytes: 8)

    func refusal(_ json: String, _ limits: JSONLimits = Self.limits) -> StrictJSONError? {
        do {
            try StrictJSON.validate(Array(json.utf8), limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        #"{}"#, #"[]"#, #""x""#, "0", "-0.5e+3", "true", "null", #" { "a" : [ 1 , 2 , { "b" : null } ] } "#,
        #"{"a":"\u00e9\n\"\\\/"}"#, #"{"a":{"b":{"c":[1]}}}"#, #"["😀"]"#, #"{"":1}"#,
    ])
    func acceptsJSON(_ json: String) {
        #expect(refusal(json) == nil, "\(json)")
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", #"{"a":1,}"#, "{,}", "[,1]", #"{"a" 1}"#, #"{a:1}"#, "01", "1.", ".5", "-", "1e", "+1",
        "tru", "nul", #""abc"#, "\"a\u{1}b\"", #""\x""#, #""\u12G4""#, "[1] [2]", "{} x", "'a'", "NaN", "Infinity",
    ])
    func refusesWhatIsNotJSON(_ json: String) {
        guard case .syntax? = refusal(json)?.problem else {
            Issue.record("\(json.debugDescription) was not refused as a syntax error: \(String(describing: refusal(json)))")
            return
        }
    }

    @Test func stringsMustBeUTF8() {
        for bad: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22],
                             [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xC3]] {
            do {
                try StrictJSON.validate(bad, limits: Self.limits)
                Issue.record("\(bad) accepted")
            } catch {
                #expect(error.problem == .syntax("a string is not valid UTF-8", offset: 1) || bad.count == 2, "\(bad): \(error)")
            }
        }
        #expect(refusal(#""é€😀""#) == nil)
    }

    @Test func duplicateKeysAreRefusedWithTheirPath() {
        #expect(refusal(#"{"a":1,"a":2}"#) == StrictJSONError(.duplicateKey("a", "a"), path: "body"))
        #expect(refusal(#"{"x":{"b":1,"b":2}}"#) == StrictJSONError(.duplicateKey("b", "b"), path: "x"))
        #expect(refusal(#"{"x":[{},{"b":1,"b":2}]}"#) == StrictJSONError(.duplicateKey("b", "b"), path: "x[1]"))
        // The same key spelled with an escape, or in another case or with underscores: one field for the decoder.
        #expect(refusal(#"{"ab":1,"\u0061b":2}"#)?.problem == .duplicateKey("ab", "ab"))
        #expect(refusal(#"{"thread_id":1,"threadID":2}"#)?.problem == .duplicateKey("thread_id", "threadID"))
        // The same key in two different objects is fine.
        #expect(refusal(#"{"a":{"k":1},"b":{"k":1}}"#) == nil)
        #expect(refusal(#"{"x":[{"k":1},{"k":2}]}"#) == nil)
    }

    @Test func nestingIsBounded() {
        #expect(refusal("[[[[1]]]]") == nil, "exactly maxDepth")
        #expect(refusal("[[[[[1]]]]]") == StrictJSONError(.tooDeep(limit: 4), path: "[0][0][0][0]"))
        #expect(refusal(#"{"a":{"b":{"c":{"d":{}}}}}"#) == StrictJSONError(.tooDeep(limit: 4), path: "a.b.c.d"))
        // Far beyond the bound the scanner neither recurses nor reads on.
        let bomb = String(repeating: "[", count: 1_000_000)
        #expect(refusal(bomb, .requestBody)?.problem == .tooDeep(limit: 32))
    }

    @Test func sizesAreBounded() {
        #expect(refusal(#"["\#(String(repeating: "x", count: 16))"]"#) == nil)
        #expect(refusal(#"{"k":"\#(String(repeating: "x", count: 17))"}"#) == StrictJSONError(.stringTooLong(limit: 16), path: "k"))
        #expect(refusal(#"{"\#(String(repeating: "k", count: 17))":1}"#) == StrictJSONError(.stringTooLong(limit: 16), path: "body"))
        #expect(refusal("[1,2,3]") == nil)
        #expect(refusal(#"{"l":[1,2,3,4]}"#) == StrictJSONError(.tooManyElements(limit: 3), path: "l"))
        #expect(refusal(#"{"a":1,"b":2,"c":3,"d":4}"#) == StrictJSONError(.tooManyMembers(limit: 3), path: "body"))
        #expect(refusal("[12345678]") == nil)
        #expect(refusal(#"{"n":123456789}"#) == StrictJSONError(.numberTooLong(limit: 8), path: "n"))
    }

    @Test func messagesNameThePathAndTheBound() {
        let e = StrictJSONError(.tooDeep(limit: 32), path: "reminder_settings.a")
        #expect(e.description == "reminder_settings.a nests arrays and objects deeper than 32 levels")
        #expect(StrictJSONError(.duplicateKey("a", "a"), path: "body").description.contains("'a' appears twice in body"))
    }

    /// Whatever the scanner accepts, Foundation parses: mutations of valid
    /// documents (deterministic seed), each either refused by the scanner or
    /// parsed by JSONSerialization.
    @Test func acceptedMutationsAreValidForFoundation() {
        var rng = SeededGenerator(seed: 0x5EED)
        let seeds = [#"{"a":[1,2,{"b":"c\u00e9"}],"d":-1.5e3,"e":true,"f":null}"#, #"[{"x":"y"},[],{}]"#, #""text\n""#]
        let alphabet = Array(#"{}[],:"\ 0123456789.eE+-abtrufnlsu"#.utf8)
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes = Array(seeds.randomElement(using: &rng)!.utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0...bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0 where i < bytes.count: bytes.remove(at: i)
                case 1: bytes.insert(alphabet.randomElement(using: &rng)!, at: i)
                default: if i < bytes.count { bytes[i] = alphabet.randomElement(using: &rng)! }
                }
            }
            guard (try? StrictJSON.validate(bytes, limits: .requestBody)) != nil else { continue }
            accepted += 1
            #expect((try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil,
                    "accepted but not JSON: \(String(decoding: bytes, as: UTF8.self))")
        }
        #expect(accepted > 100, "the mutations exercise acceptance too")
    }
}

/// SplitMix64: a reproducible generator for property tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
