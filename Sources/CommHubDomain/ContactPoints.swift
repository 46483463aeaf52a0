/// Normalises phone numbers to E.164 so that the Dutch `06 1234 5678`,
/// `+31 6 12345678` and `0031612345678` are one and the same number.
///
/// The default country is the Netherlands (+31): a national number starting
/// with a single `0` gets the country code. Numbers that already carry a
/// country code (`+`, `00`) keep it. Returns nil for text that is no number.
///
/// Parsed on UTF-8 bytes (every message's sender goes through here on the
/// ingest path). Text with a byte outside ASCII takes the grapheme-cluster
/// path instead, because there a digit followed by a combining mark is no
/// digit and a letter is judged by its first scalar; both paths give the
/// same answer for every input (`ContactPointOracleTests`).
public struct PhoneNumber: Hashable, Sendable, Codable, CustomStringConvertible {
    public let e164: String

    /// The most digits the byte path collects: E.164's 15 plus an
    /// international `00` prefix. One digit more and no rule below can bring
    /// the number back to 15 digits, so the text is no number.
    static let maxCollectedDigits = 17

    public init?(_ text: String, defaultCountryCode: String = "31") {
        switch Self.parseASCII(text, countryCode: defaultCountryCode) {
        case .number(let e164): self.e164 = e164
        case .noNumber: return nil
        case .needsGraphemes:
            guard let e164 = Self.parseGraphemes(text, countryCode: defaultCountryCode) else { return nil }
            self.e164 = e164
        }
    }

    enum Parse: Equatable {
        case number(String)
        case noNumber
        /// A byte outside ASCII (in the text or the country code): decide per grapheme cluster.
        case needsGraphemes
    }

    /// The byte path. A byte that makes the text no number ends the parse at
    /// once: in all-ASCII text so far it starts its own grapheme cluster, and
    /// whatever follows cannot make that cluster acceptable.
    static func parseASCII(_ text: String, countryCode: String) -> Parse {
        var cc = countryCode
        return cc.withUTF8 { cc -> Parse in
            for b in cc where !isDigit(b) { return .needsGraphemes }
            var text = text
            return text.withUTF8 { bytes -> Parse in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxCollectedDigits) { digits in
                    parseASCII(bytes, countryCode: cc, digits: digits)
                }
            }
        }
    }

    private static func parseASCII(_ bytes: UnsafeBufferPointer<UInt8>, countryCode cc: UnsafeBufferPointer<UInt8>,
                                   digits: UnsafeMutableBufferPointer<UInt8>) -> Parse {
        var n = 0
        var leadingPlus = false
        for b in bytes {
            if b >= 0x80 { return .needsGraphemes }
            if isDigit(b) {
                guard n < maxCollectedDigits else { return .noNumber }
                digits[n] = b
                n += 1
            } else if b == UInt8(ascii: "+") && n == 0 && !leadingPlus {
                leadingPlus = true
            } else if isSeparator(b) || (b == UInt8(ascii: ":") && n == 0) {
                continue
            } else if n == 0 && isLetter(b) {
                continue  // e.g. "tel:" or "whatsapp:" prefixes
            } else {
                return .noNumber
            }
        }
        var start = 0          // digits dropped at the front
        var skip = -1          // one digit dropped in the middle (a trunk zero)
        var prefix = false     // the country code goes in front
        var count = n
        if leadingPlus {
            // "+31 (0)6 ..." — drop a trunk zero right after the country code.
            if n > cc.count, hasPrefix(digits, n, cc), digits[cc.count] == UInt8(ascii: "0") {
                skip = cc.count
                count -= 1
            }
        } else if n >= 2, digits[0] == UInt8(ascii: "0"), digits[1] == UInt8(ascii: "0") {
            start = 2
            count -= 2
        } else if n >= 1, digits[0] == UInt8(ascii: "0") {
            start = 1
            prefix = true
            count += cc.count - 1
        } else if hasPrefix(digits, n, cc), n >= 10 {
            // WhatsApp wa_id style: country code without '+'
        } else if n < 8 {
            return .noNumber
        }
        guard (8...15).contains(count) else { return .noNumber }
        let e164 = String(unsafeUninitializedCapacity: count + 1) { out in
            out[0] = UInt8(ascii: "+")
            var w = 1
            if prefix { for b in cc { out[w] = b; w += 1 } }
            for i in start..<n where i != skip { out[w] = digits[i]; w += 1 }
            return w
        }
        return .number(e164)
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    @inline(__always) static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) &- UInt8(ascii: "a") < 26 }

    /// The ASCII members of the separators the grapheme path skips (`" -()./"`; NBSP is not ASCII).
    @inline(__always) static func isSeparator(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "."), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    private static func hasPrefix(_ digits: UnsafeMutableBufferPointer<UInt8>, _ n: Int, _ p: UnsafeBufferPointer<UInt8>) -> Bool {
        guard n >= p.count else { return false }
        for i in 0..<p.count where digits[i] != p[i] { return false }
        return true
    }

    /// The grapheme-cluster path, for text with bytes outside ASCII (rare:
    /// a gateway passing a display name, full-width digits, NBSP).
    static func parseGraphemes(_ text: String, countryCode defaultCountryCode: String) -> String? {
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
                // e.g. "tel:" or "whatsapp:" prefixes
                continue
            } else {
                return nil
            }
        }
        if leadingPlus {
            // "+31 (0)6 ..." — drop a trunk zero right after the country code.
            if digits.hasPrefix(defaultCountryCode + "0") {
                digits.remove(at: digits.index(digits.startIndex, offsetBy: defaultCountryCode.count))
            }
        } else if digits.hasPrefix("00") {
            digits.removeFirst(2)
        } else if digits.hasPrefix("0") {
            digits = defaultCountryCode + digits.dropFirst()
        } else if digits.hasPrefix(defaultCountryCode), digits.count >= 10 {
            // WhatsApp wa_id style: country code without '+'
        } else if digits.count < 8 {
            return nil
        }
        guard (8...15).contains(digits.count) else { return nil }
        return "+" + digits
    }

    public var description: String { e164 }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let raw = try c.decode(String.self)
        guard let n = PhoneNumber(raw) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(raw)' is not a phone number")
        }
        self = n
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(e164)
    }
}

/// An e-mail address compared case-insensitively, with any display name
/// (`"Jan" <jan@example.nl>`) removed.
///
/// Parsed on UTF-8 bytes, like `PhoneNumber`: all-ASCII text (nearly every
/// address) is sliced, trimmed and lower-cased byte by byte, and an address
/// already in its normal form is kept as it came, without a copy. Text with
/// a byte outside ASCII takes the Unicode path: Unicode white space trimmed
/// per scalar, full Unicode lower-casing, `<`, `>`, `@` and the space judged
/// per grapheme cluster. Both give the answer the Foundation-based parser
/// gave for every input (`ContactPointOracleTests`).
public struct EmailAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    public let normalized: String

    public init?(_ text: String) {
        switch Self.parseASCII(text) {
        case .address(let a): normalized = a
        case .noAddress: return nil
        case .needsUnicode:
            guard let a = Self.parseUnicode(text) else { return nil }
            normalized = a
        }
    }

    enum Parse: Equatable {
        case address(String)
        case noAddress
        case needsUnicode
    }

    static func parseASCII(_ text: String) -> Parse {
        var copy = text
        let slice = copy.withUTF8 { bytes -> Parse? in
            // Where the address is: inside the last <...>, trimmed of white space.
            var open = -1, close = -1
            for i in 0..<bytes.count {
                switch bytes[i] {
                case 0x80...: return .needsUnicode
                case UInt8(ascii: "<"): open = i
                case UInt8(ascii: ">"): close = i
                default: continue
                }
            }
            var lo = 0, hi = bytes.count
            if open >= 0, close >= 0, open < close { lo = open + 1; hi = close }
            while lo < hi, isWhitespace(bytes[lo]) { lo += 1 }
            while hi > lo, isWhitespace(bytes[hi - 1]) { hi -= 1 }
            // Exactly one '@', neither first nor last; no space.
            var at = -1
            var upper = false
            for i in lo..<hi {
                switch bytes[i] {
                case UInt8(ascii: "@"):
                    guard at < 0 else { return .noAddress }
                    at = i
                case UInt8(ascii: " "): return .noAddress
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): upper = true
                default: continue
                }
            }
            guard at > lo, at < hi - 1 else { return .noAddress }
            if !upper, lo == 0, hi == bytes.count { return nil }  // already normal: keep the caller's string
            return .address(String(unsafeUninitializedCapacity: hi - lo) { out in
                for i in lo..<hi {
                    let b = bytes[i]
                    out[i - lo] = b &- UInt8(ascii: "A") < 26 ? b | 0x20 : b
                }
                return hi - lo
            })
        }
        return slice ?? .address(copy)
    }

    /// What Foundation's `.whitespacesAndNewlines` holds among ASCII: tab, LF, VT, FF, CR and space.
    @inline(__always) static func isWhitespace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b &- 0x09 < 5
    }

    /// What Foundation's `.whitespacesAndNewlines` holds on this platform,
    /// scalar by scalar (checked against it for every scalar in
    /// `ContactPointOracleTests`): tab through carriage return, space, NEL,
    /// NBSP, the other space separators, ZERO WIDTH SPACE, and the line and
    /// paragraph separators.
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200B, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// The Unicode path, for text with bytes outside ASCII.
    static func parseUnicode(_ text: String) -> String? {
        var s = Substring(text)
        if let open = s.lastIndex(of: "<"), let close = s.lastIndex(of: ">"), open < close {
            s = s[s.index(after: open)..<close]
        }
        let scalars = s.unicodeScalars
        var lo = scalars.startIndex, hi = scalars.endIndex
        while lo < hi, isWhitespace(scalars[lo]) { scalars.formIndex(after: &lo) }
        while hi > lo, isWhitespace(scalars[scalars.index(before: hi)]) { scalars.formIndex(before: &hi) }
        let trimmed = String(Substring(scalars[lo..<hi])).lowercased()
        guard let at = trimmed.firstIndex(of: "@"),
              at != trimmed.startIndex,
              trimmed.index(after: at) != trimmed.endIndex,
              !containsSpace(trimmed),
              trimmed.firstIndex(of: "@") == trimmed.lastIndex(of: "@")
        else { return nil }
        return trimmed
    }

    /// Whether the address holds a space. Where a space is followed by a
    /// combining mark, Foundation's substring search decides, with its own
    /// Unicode tables (`" \u{301}"` holds no space for it, `" \u{200D}"`
    /// does; the standard library's grapheme data is a Unicode version
    /// apart), so that the answer stays the one addresses were parsed with
    /// before. Only non-ASCII text with a space in it gets this far.
    static func containsSpace(_ s: String) -> Bool {
        guard s.utf8.contains(UInt8(ascii: " ")) else { return false }
        return s.contains(" ")
    }

    public var description: String { normalized }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let raw = try c.decode(String.self)
        guard let e = EmailAddress(raw) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(raw)' is not an e-mail address")
        }
        self = e
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(normalized)
    }
}

import Foundation  // only for `EmailAddress.containsSpace` on non-ASCII text with a space
