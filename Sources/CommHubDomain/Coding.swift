import Foundation
import Synchronization

/// The JSON conventions of the external contract: snake_case keys, ISO 8601
/// dates in UTC. Swift properties spell identifiers `ID` (`threadID`); the
/// key strategies map that to `thread_id` and back.
public enum ContractJSON {
    /// Shared coders for hot paths (Foundation's coders are safe to share).
    public static let sharedEncoder = encoder()
    public static let sharedDecoder = decoder()

    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(date.iso8601)
        }
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .custom { path in
            let key = path.last!
            return AnyKey(camelCase(key.stringValue))
        }
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let raw = try c.decode(String.self)
            guard let date = Date(iso8601: raw) else {
                throw DecodingError.dataCorruptedError(
                    in: c, debugDescription: "'\(raw)' is not an ISO 8601 time such as 2026-11-25T10:30:00Z")
            }
            return date
        }
        return d
    }

    /// `thread_id` → `threadID`, `message_html` → `messageHtml`.
    /// Conversions are cached: the key set of the contract is small and
    /// decoding runs on every ingested event.
    public static func camelCase(_ key: String) -> String {
        guard key.utf8.contains(UInt8(ascii: "_")) else { return key }
        if let hit = camelCache.withLock({ $0[key] }) { return hit }
        let converted = convert(key)
        camelCache.withLock { cache in
            if cache.count < 4096 { cache[key] = converted }
        }
        return converted
    }

    private static let camelCache = Mutex<[String: String]>([:])

    private static func convert(_ key: String) -> String {
        var out = ""
        for (i, part) in key.split(separator: "_", omittingEmptySubsequences: true).enumerated() {
            if i == 0 { out += part; continue }
            if part == "id" { out += "ID" } else { out += part.prefix(1).uppercased() + part.dropFirst() }
        }
        return out
    }

    /// Turns a decoding error into a sentence naming the field, for the API's error body.
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ p: [any CodingKey]) -> String {
            let s = p.map { k in k.intValue.map { "[\($0)]" } ?? snake(k.stringValue) }
                .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
            return s.isEmpty ? "body" : s
        }
        switch error {
        case .keyNotFound(let key, let ctx):
            return "missing field '\(path(ctx.codingPath + [key]))'"
        case .typeMismatch(let type, let ctx):
            return "field '\(path(ctx.codingPath))' must be \(typeName(type))"
        case .valueNotFound(let type, let ctx):
            return "field '\(path(ctx.codingPath))' must be \(typeName(type)), not null"
        case .dataCorrupted(let ctx):
            if ctx.codingPath.isEmpty { return "body is not valid JSON" }
            return "field '\(path(ctx.codingPath))': \(ctx.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    static func snake(_ s: String) -> String {
        var out = ""
        var prevLower = false
        for ch in s {
            if ch.isUppercase {
                if prevLower { out.append("_") }
                out += ch.lowercased()
                prevLower = false
            } else {
                out.append(ch)
                prevLower = true
            }
        }
        return out
    }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        default: "\(t)".hasPrefix("Array") ? "an array" : "an object or value of type \(t)"
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(_ s: String) { stringValue = s; intValue = nil }
        init?(stringValue: String) { self.stringValue = stringValue; intValue = nil }
        init?(intValue: Int) { stringValue = "\(intValue)"; self.intValue = intValue }
    }
}
