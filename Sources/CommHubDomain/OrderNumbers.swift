/// Finds order numbers in free text: `#12345`, `order 12345`,
/// `bestelling 12345`, `ordernummer: 12345`, `bestelnr. 12345`.
///
/// Configurable by the words that may precede the digits and the accepted
/// digit count. A hand-written scanner rather than a regex: it runs on every
/// inbound message.
public struct OrderNumberPattern: Sendable, Hashable, Codable {
    /// Lower-case words that announce an order number ("#" included).
    public var prefixes: [String]
    public var minDigits: Int
    public var maxDigits: Int

    public init(prefixes: [String] = OrderNumberPattern.defaultPrefixes, minDigits: Int = 4, maxDigits: Int = 10) {
        self.prefixes = prefixes.map { $0.lowercased() }.sorted { $0.count > $1.count }
        self.minDigits = minDigits
        self.maxDigits = maxDigits
    }

    public static let defaultPrefixes = [
        "#", "ordernummer", "ordernr", "order", "bestelnummer", "bestelnr", "bestelling", "opdracht",
    ]

    /// All candidate order numbers in `text`, in order of appearance, without duplicates.
    public func candidates(in text: String) -> [String] {
        let bytes = Array(text.utf8)
        var found: [String] = []
        var i = 0
        let n = bytes.count
        while i < n {
            var matched = false
            // A prefix must start at a word boundary.
            let boundary = i == 0 || !isWordByte(bytes[i - 1])
            if boundary {
                for prefix in prefixes {
                    let p = Array(prefix.utf8)
                    guard i + p.count <= n, matchesLowercased(bytes, at: i, p) else { continue }
                    var j = i + p.count
                    // separators: spaces, ':', '.', '#', "nr", "no"
                    while j < n, bytes[j] == 0x20 || bytes[j] == 0x3A || bytes[j] == 0x2E || bytes[j] == 0x23 || bytes[j] == 0x2D { j += 1 }
                    if j + 2 <= n, matchesLowercased(bytes, at: j, Array("nr".utf8)) || matchesLowercased(bytes, at: j, Array("no".utf8)) {
                        var k = j + 2
                        while k < n, bytes[k] == 0x20 || bytes[k] == 0x3A || bytes[k] == 0x2E || bytes[k] == 0x23 { k += 1 }
                        if k < n, isDigit(bytes[k]) { j = k }
                    }
                    var k = j
                    while k < n, isDigit(bytes[k]) { k += 1 }
                    let count = k - j
                    let endsClean = k == n || !isWordByte(bytes[k])
                    if count >= minDigits, count <= maxDigits, endsClean, j > i {
                        let number = String(decoding: bytes[j..<k], as: UTF8.self)
                        if !found.contains(number) { found.append(number) }
                        i = k
                        matched = true
                        break
                    }
                }
            }
            if !matched { i += 1 }
        }
        return found
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private func isWordByte(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b >= 0x80
    }
    private func matchesLowercased(_ bytes: [UInt8], at i: Int, _ p: [UInt8]) -> Bool {
        for (o, pb) in p.enumerated() {
            var b = bytes[i + o]
            if b >= 0x41 && b <= 0x5A { b += 0x20 }
            if b != pb { return false }
        }
        return true
    }
}
