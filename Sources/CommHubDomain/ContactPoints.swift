/// Normalises phone numbers to E.164 so that the Dutch `06 1234 5678`,
/// `+31 6 12345678` and `0031612345678` are one and the same number.
///
/// The default country is the Netherlands (+31): a national number starting
/// with a single `0` gets the country code. Numbers that already carry a
/// country code (`+`, `00`) keep it. Returns nil for text that is no number.
public struct PhoneNumber: Hashable, Sendable, Codable, CustomStringConvertible {
    public let e164: String

    public init?(_ text: String, defaultCountryCode: String = "31") {
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
        e164 = "+" + digits
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
public struct EmailAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    public let normalized: String

    public init?(_ text: String) {
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
        normalized = trimmed
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

import Foundation
