/// Bounds for one JSON document that comes from outside (a request body, a
/// JSON ingest frame). Each is checked by `StrictJSON` before Foundation's
/// decoder sees the bytes, so a hostile document costs one linear scan.
public struct JSONLimits: Sendable, Equatable {
    /// Most nested arrays and objects (the top-level object counts as 1).
    public var maxDepth: Int
    /// Longest string (keys included), counted in bytes as sent (escapes included).
    public var maxStringBytes: Int
    /// Most elements of one array.
    public var maxArrayElements: Int
    /// Most members of one object.
    public var maxObjectMembers: Int
    /// Longest number literal, in characters.
    public var maxNumberBytes: Int

    public init(maxDepth: Int, maxStringBytes: Int, maxArrayElements: Int, maxObjectMembers: Int, maxNumberBytes: Int = 64) {
        precondition(maxDepth >= 1 && maxStringBytes >= 0 && maxArrayElements >= 0 && maxObjectMembers >= 0 && maxNumberBytes >= 1)
        self.maxDepth = maxDepth
        self.maxStringBytes = maxStringBytes
        self.maxArrayElements = maxArrayElements
        self.maxObjectMembers = maxObjectMembers
        self.maxNumberBytes = maxNumberBytes
    }

    /// HTTP request bodies (at most 2 MiB): the directory takes 10,000
    /// records in one array; a message body may be as long as the request.
    public static let requestBody = JSONLimits(maxDepth: 32, maxStringBytes: 2 << 20, maxArrayElements: 10_000,
                                               maxObjectMembers: 1_000)
    /// JSON ingest frames (at most 4 MiB): 1,000 events, each a request-sized message.
    public static let ingestFrame = JSONLimits(maxDepth: 32, maxStringBytes: 2 << 20, maxArrayElements: 10_000,
                                               maxObjectMembers: 1_000)
    /// A `hello` frame: `{"token":"…"}`, nothing nested.
    public static let hello = JSONLimits(maxDepth: 1, maxStringBytes: 1_024, maxArrayElements: 0, maxObjectMembers: 4)
}

/// Why a document was refused, and where: `path` names the place in the
/// document the way the API's other errors do (`configuration.token`,
/// `events[3].attachments`; `body` for the document itself).
public struct StrictJSONError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        /// The same key twice in one object. Keys that differ only in ASCII
        /// case or underscores count as the same (`thread_id`, `threadID`):
        /// the contract's decoder maps them to one field.
        case duplicateKey(String, String)
        case tooDeep(limit: Int)
        case stringTooLong(limit: Int)
        case tooManyElements(limit: Int)
        case tooManyMembers(limit: Int)
        case numberTooLong(limit: Int)
        /// Not JSON at all: what was expected, at which byte offset.
        case syntax(String, offset: Int)
    }

    public var problem: Problem
    public var path: String

    public init(_ problem: Problem, path: String) {
        self.problem = problem
        self.path = path
    }

    public var description: String {
        switch problem {
        case .duplicateKey(let first, let second) where first == second:
            return "key '\(first)' appears twice in \(path); send each key once"
        case .duplicateKey(let first, let second):
            return "keys '\(first)' and '\(second)' in \(path) name the same field; send it once"
        case .tooDeep(let limit):
            return "\(path) nests arrays and objects deeper than \(limit) levels"
        case .stringTooLong(let limit):
            return "a string in \(path) is longer than \(limit) bytes"
        case .tooManyElements(let limit):
            return "\(path) has more than \(limit) elements"
        case .tooManyMembers(let limit):
            return "\(path) has more than \(limit) keys"
        case .numberTooLong(let limit):
            return "a number in \(path) is longer than \(limit) characters"
        case .syntax(let what, let offset):
            return "body is not valid JSON: \(what) at byte \(offset)"
        }
    }
}

/// A validating scanner for JSON from outside: RFC 8259 syntax (UTF-8 only), no
/// duplicate keys, and the bounds of `JSONLimits`. Pure (bytes in, error
/// out), no allocation per value except one key table per open object,
/// and never recursive, so no input can exhaust the stack.
public enum StrictJSON {
    public static func validate(_ bytes: some Collection<UInt8>, limits: JSONLimits) throws(StrictJSONError) {
        let done: Result<Void, StrictJSONError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(StrictJSONError) in try validate(buffer, limits: limits) }
        }
        if let done { return try done.get() }
        let copy = Array(bytes)
        try copy.withUnsafeBufferPointer { (buffer) throws(StrictJSONError) in try validate(buffer, limits: limits) }
    }

    public static func validate(_ bytes: UnsafeBufferPointer<UInt8>, limits: JSONLimits) throws(StrictJSONError) {
        var scanner = Scanner(bytes: bytes, limits: limits)
        try scanner.document()
    }

    /// One open array or object.
    struct Level {
        var isObject: Bool
        /// Members started so far (the current one included).
        var count = 0
        /// Whether the first member (or the closing bracket) has been read.
        var started = false
        /// Object keys seen so far, normalised (ASCII lower case, no underscores), with their spelling.
        var keys: [[UInt8]: String] = [:]
        /// How the parent names this level in a path (`.name` or `[3]`); nil for the document.
        var key: String?
        var currentKey: String?

        /// How this level names its current member in a path.
        var memberKey: String? {
            if isObject { return currentKey.map { "." + $0 } }
            return count > 0 ? "[\(count - 1)]" : nil
        }
    }

    /// The scanner's state: a position and the open containers. Iterative:
    /// `value` opens a container by pushing a level, `step` continues the
    /// innermost one, so the Swift stack stays flat whatever the nesting.
    struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        let limits: JSONLimits
        var i = 0
        var stack: [Level] = []

        init(bytes: UnsafeBufferPointer<UInt8>, limits: JSONLimits) {
            self.bytes = bytes
            self.limits = limits
        }

        /// The path of the innermost container, or of its current member.
        func path(member: Bool) -> String {
            var out = stack.compactMap(\.key).joined()
            if member, let k = stack.last?.memberKey { out += k }
            if out.hasPrefix(".") { out.removeFirst() }
            return out.isEmpty ? "body" : out
        }

        func fail(_ problem: StrictJSONError.Problem, member: Bool = true) -> StrictJSONError {
            StrictJSONError(problem, path: path(member: member))
        }

        func syntax(_ what: String) -> StrictJSONError {
            StrictJSONError(.syntax(what, offset: i), path: "body")
        }

        mutating func skipWhitespace() {
            while i < bytes.count {
                switch bytes[i] {
                case 0x20, 0x09, 0x0A, 0x0D: i += 1
                default: return
                }
            }
        }

        mutating func document() throws(StrictJSONError) {
            skipWhitespace()
            guard i < bytes.count else { throw syntax("the document is empty") }
            try value()
            while !stack.isEmpty { try step() }
            skipWhitespace()
            guard i == bytes.count else { throw syntax("unexpected text after the document") }
        }

        /// Reads one scalar, or opens a container (continued by `step`).
        mutating func value() throws(StrictJSONError) {
            skipWhitespace()
            guard i < bytes.count else { throw syntax("the document ends early") }
            switch bytes[i] {
            case UInt8(ascii: "{"): try open(object: true)
            case UInt8(ascii: "["): try open(object: false)
            case UInt8(ascii: "\""): _ = try string(isKey: false)
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            default: throw syntax("a value was expected")
            }
        }

        mutating func open(object: Bool) throws(StrictJSONError) {
            guard stack.count < limits.maxDepth else { throw fail(.tooDeep(limit: limits.maxDepth)) }
            var level = Level(isObject: object)
            level.key = stack.last?.memberKey
            stack.append(level)
            i += 1
        }

        /// Continues the innermost container: its first member or closing
        /// bracket, or after a member ',' and the next one, or the closing bracket.
        mutating func step() throws(StrictJSONError) {
            let top = stack.count - 1
            let close: UInt8 = stack[top].isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
            skipWhitespace()
            guard i < bytes.count else { throw syntax("the document ends early") }
            if bytes[i] == close {
                i += 1
                stack.removeLast()
                return
            }
            if stack[top].started {
                guard bytes[i] == UInt8(ascii: ",") else {
                    throw syntax(stack[top].isObject ? "',' or '}' was expected" : "',' or ']' was expected")
                }
                i += 1
            }
            stack[top].started = true
            try member()
        }

        /// Reads the next member of the innermost container (for objects, its key and ':').
        mutating func member() throws(StrictJSONError) {
            let top = stack.count - 1
            stack[top].count += 1
            if stack[top].isObject {
                guard stack[top].count <= limits.maxObjectMembers else {
                    throw fail(.tooManyMembers(limit: limits.maxObjectMembers), member: false)
                }
                skipWhitespace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw syntax("a key in double quotes was expected") }
                let (key, normalized) = try string(isKey: true)
                if let earlier = stack[top].keys[normalized] {
                    throw fail(.duplicateKey(earlier, key), member: false)
                }
                stack[top].keys[normalized] = key
                stack[top].currentKey = key
                skipWhitespace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw syntax("':' was expected after a key") }
                i += 1
            } else {
                guard stack[top].count <= limits.maxArrayElements else {
                    throw fail(.tooManyElements(limit: limits.maxArrayElements), member: false)
                }
            }
            try value()
        }

        mutating func literal(_ word: StaticString) throws(StrictJSONError) {
            let n = word.utf8CodeUnitCount
            guard i + n <= bytes.count else { throw syntax("a value was expected") }
            let p = word.utf8Start
            for k in 0..<n where bytes[i + k] != p[k] { throw syntax("a value was expected") }
            i += n
        }

        mutating func number() throws(StrictJSONError) {
            let start = i
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count else { throw syntax("a digit was expected") }
            if bytes[i] == UInt8(ascii: "0") {
                i += 1
            } else {
                guard digits() > 0 else { throw syntax("a digit was expected") }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                guard digits() > 0 else { throw syntax("a digit was expected after '.'") }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { throw syntax("a digit was expected in the exponent") }
            }
            guard i - start <= limits.maxNumberBytes else { throw fail(.numberTooLong(limit: limits.maxNumberBytes)) }
        }

        mutating func digits() -> Int {
            let start = i
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
            return i - start
        }

        /// Reads a string; for keys returns the key and its normalised form.
        mutating func string(isKey: Bool) throws(StrictJSONError) -> (String, [UInt8]) {
            i += 1  // opening quote
            let start = i
            var escaped = false
            while true {
                guard i < bytes.count else { throw syntax("a string is not closed") }
                let b = bytes[i]
                if b == UInt8(ascii: "\"") { break }
                if b < 0x20 { throw syntax("a control character must be escaped in a string") }
                if b == UInt8(ascii: "\\") {
                    escaped = true
                    try escape()
                } else if b >= 0x80 {
                    try utf8Sequence()
                } else {
                    i += 1
                }
                if i - start > limits.maxStringBytes {
                    throw fail(.stringTooLong(limit: limits.maxStringBytes), member: !isKey)
                }
            }
            let raw = UnsafeBufferPointer(rebasing: bytes[start..<i])
            i += 1  // closing quote
            guard isKey else { return ("", []) }
            let utf8 = escaped ? Self.unescape(raw) : Array(raw)
            return (String(decoding: utf8, as: UTF8.self), Self.normalize(utf8))
        }

        mutating func escape() throws(StrictJSONError) {
            i += 1
            guard i < bytes.count else { throw syntax("a string is not closed") }
            switch bytes[i] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                i += 1
            case UInt8(ascii: "u"):
                guard i + 4 < bytes.count else { throw syntax("\\u needs four hex digits") }
                for k in 1...4 where Self.hex(bytes[i + k]) == nil { throw syntax("\\u needs four hex digits") }
                i += 5
            default:
                throw syntax("unknown escape in a string")
            }
        }

        /// One multi-byte UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
        mutating func utf8Sequence() throws(StrictJSONError) {
            let b = bytes[i]
            let (count, second): (Int, ClosedRange<UInt8>) = switch b {
            case 0xC2...0xDF: (2, 0x80...0xBF)
            case 0xE0: (3, 0xA0...0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (3, 0x80...0xBF)
            case 0xED: (3, 0x80...0x9F)
            case 0xF0: (4, 0x90...0xBF)
            case 0xF1...0xF3: (4, 0x80...0xBF)
            case 0xF4: (4, 0x80...0x8F)
            default: throw syntax("a string is not valid UTF-8")
            }
            guard i + count <= bytes.count, second.contains(bytes[i + 1]) else { throw syntax("a string is not valid UTF-8") }
            for k in 2..<count where !(0x80...0xBF).contains(bytes[i + k]) { throw syntax("a string is not valid UTF-8") }
            i += count
        }

        static func hex(_ b: UInt8) -> UInt32? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(b - UInt8(ascii: "A") + 10)
            default: nil
            }
        }

        /// The UTF-8 of an escaped string (already checked by `escape`).
        static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(raw.count)
            var k = 0
            var pendingHigh: UInt32?
            func unit(at k: Int) -> UInt32 {
                (1...4).reduce(UInt32(0)) { $0 << 4 | (hex(raw[k + $1]) ?? 0) }
            }
            func append(_ scalar: UInt32) {
                let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(s)).utf8))
            }
            while k < raw.count {
                let b = raw[k]
                guard b == UInt8(ascii: "\\") else {
                    if let h = pendingHigh { append(h); pendingHigh = nil }
                    out.append(b)
                    k += 1
                    continue
                }
                let e = raw[k + 1]
                if e == UInt8(ascii: "u") {
                    let u = unit(at: k + 1)
                    k += 6
                    if let h = pendingHigh {
                        pendingHigh = nil
                        if (0xDC00...0xDFFF).contains(u) { append(0x10000 + ((h - 0xD800) << 10) + (u - 0xDC00)); continue }
                        append(0xFFFD)
                    }
                    if (0xD800...0xDBFF).contains(u) { pendingHigh = u } else { append(u) }
                    continue
                }
                if let h = pendingHigh { append(h); pendingHigh = nil }
                let map: [UInt8: UInt8] = [UInt8(ascii: "b"): 0x08, UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A,
                                           UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09]
                out.append(map[e] ?? e)
                k += 2
            }
            if let h = pendingHigh { append(h) }
            return out
        }

        /// ASCII lower case without underscores: `thread_id`, `threadID` and `threadId` collide.
        static func normalize(_ utf8: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(utf8.count)
            for b in utf8 where b != UInt8(ascii: "_") {
                out.append(b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b + 32 : b)
            }
            return out
        }
    }
}
