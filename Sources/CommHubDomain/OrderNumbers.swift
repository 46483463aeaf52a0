/// Finds order numbers in free text: `#12345`, `order 12345`,
/// `bestelling 12345`, `ordernummer: 12345`, `bestelnr. 12345`.
///
/// Configurable by the words that may precede the digits and the accepted
/// digit count. A hand-written scanner rather than a regex: it runs on every
/// inbound message.
public struct OrderNumberPattern: Sendable, Hashable, Codable {
    /// Lower-case words that announce an order number ("#" included), longest first.
    public let prefixes: [String]
    public let minDigits: Int
    public let maxDigits: Int
    /// `prefixes` as bytes, computed once (the scan runs on every inbound message).
    private let prefixBytes: [[UInt8]]

    enum CodingKeys: String, CodingKey { case prefixes, minDigits, maxDigits }

    public init(prefixes: [String] = OrderNumberPattern.defaultPrefixes, minDigits: Int = 4, maxDigits: Int = 10) {
        self.prefixes = prefixes.map { $0.lowercased() }.sorted { $0.count > $1.count }
        self.minDigits = minDigits
        self.maxDigits = maxDigits
        self.prefixBytes = self.prefixes.map { Array($0.utf8) }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(prefixes: try c.decode([String].self, forKey: .prefixes), minDigits: try c.decode(Int.self, forKey: .minDigits),
                  maxDigits: try c.decode(Int.self, forKey: .maxDigits))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(prefixes, forKey: .prefixes)
        try c.encode(minDigits, forKey: .minDigits)
        try c.encode(maxDigits, forKey: .maxDigits)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.prefixes == b.prefixes && a.minDigits == b.minDigits && a.maxDigits == b.maxDigits
    }

    public func hash(into h: inout Hasher) {
        h.combine(prefixes)
        h.combine(minDigits)
        h.combine(maxDigits)
    }

    public static let defaultPrefixes = [
        "#", "ordernummer", "ordernr", "order", "bestelnummer", "bestelnr", "bestelling", "opdracht",
    ]

    /// All candidate order numbers in `text`, in order of appearance, without duplicates.
    public func candidates(in text: String) -> [String] {
        var found: [String] = []
        var text = text
        text.withUTF8 { scan($0, into: &found) }
        return found
    }

    private func scan(_ bytes: UnsafeBufferPointer<UInt8>, into found: inout [String]) {
        let n = bytes.count
        var i = 0
        while i < n {
            var matched = false
            // A prefix must start at a word boundary; only bytes that can begin a prefix are tried.
            let b0 = lower(bytes[i])
            if i == 0 || !isWordByte(bytes[i - 1]) {
                for p in prefixBytes where p[0] == b0 && i + p.count <= n && matches(bytes, at: i, p) {
                    var j = i + p.count
                    while j < n, isSeparator(bytes[j]) { j += 1 }
                    if j + 2 <= n, (lower(bytes[j]) == 0x6E && (lower(bytes[j + 1]) == 0x72 || lower(bytes[j + 1]) == 0x6F)) {
                        // "nr" or "no"
                        var k = j + 2
                        while k < n, isSeparator(bytes[k]) && bytes[k] != 0x2D { k += 1 }
                        if k < n, isDigit(bytes[k]) { j = k }
                    }
                    var k = j
                    while k < n, isDigit(bytes[k]) { k += 1 }
                    let count = k - j
                    let endsClean = k == n || !isWordByte(bytes[k])
                    if count >= minDigits, count <= maxDigits, endsClean, j > i {
                        let number = String(decoding: UnsafeBufferPointer(rebasing: bytes[j..<k]), as: UTF8.self)
                        if !found.contains(number) { found.append(number) }
                        i = k
                        matched = true
                        break
                    }
                }
            }
            if !matched { i += 1 }
        }
    }

    @inline(__always) private func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 0x20 : b }
    @inline(__always) private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    @inline(__always) private func isSeparator(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x3A || b == 0x2E || b == 0x23 || b == 0x2D
    }
    @inline(__always) private func isWordByte(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b >= 0x80
    }
    @inline(__always) private func matches(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int, _ p: [UInt8]) -> Bool {
        for o in 1..<max(p.count, 1) where lower(bytes[i + o]) != p[o] { return false }
        return true
    }
}
