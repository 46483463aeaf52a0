import CommHubDomain
import Foundation

/// Decodes JSON from outside (request bodies, JSON ingest frames) in three
/// passes, each refusing with a message that names the field:
/// 1. `StrictJSON`: syntax, duplicate keys, nesting and size bounds;
/// 2. Foundation's decoder with the contract's conventions (`ContractJSON`),
///    dates only inside `WireDates`;
/// 3. `RangeChecked.checkRanges()`: every number, count and length the
///    value carries is inside its named bound.
public enum WireJSON {
    /// The contract's decoder, with dates limited to `WireDates`. Separate
    /// from `ContractJSON.sharedDecoder` on purpose: the journal and
    /// snapshots decode with that one and must read back whatever they hold.
    public static let decoder: JSONDecoder = {
        let d = ContractJSON.decoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let raw = try c.decode(String.self)
            guard let date = Date(iso8601: raw) else {
                throw DecodingError.dataCorruptedError(
                    in: c, debugDescription: "'\(raw.prefix(64))' is not an ISO 8601 time such as 2026-11-25T10:30:00Z")
            }
            guard WireDates.contains(date) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "\(raw.prefix(64)) is outside \(WireDates.rangeText)")
            }
            return date
        }
        return d
    }()

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>, limits: JSONLimits) throws -> T {
        try StrictJSON.validate(bytes, limits: limits)
        let value = try decoder.decode(T.self, from: Data(bytes))
        if let checked = value as? any RangeChecked { try checked.checkRanges() }
        return value
    }

    /// A sentence for the API's error body, naming the field.
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let e as StrictJSONError: e.description
        case let e as FieldRangeError: e.description
        // StrictJSON has proved the syntax, so Foundation's pathless "not valid
        // JSON" means a number it cannot convert (1e40 or 1.5 for a whole number).
        case DecodingError.dataCorrupted(let c) where c.codingPath.isEmpty:
            "a number in the body does not fit its field: whole-number fields take integers from -9223372036854775808 to 9223372036854775807"
        default: ContractJSON.describe(error)
        }
    }
}

/// The window every date from outside must fall in. Finite, and far enough
/// either side of today for any real message, task or report; outside it a
/// date is a bug or an attack (and would upset deadline arithmetic).
public enum WireDates {
    /// 2000-01-01T00:00:00Z, included.
    public static let earliest = Date(timeIntervalSince1970: 946_684_800)
    /// 2100-01-01T00:00:00Z, excluded.
    public static let end = Date(timeIntervalSince1970: 4_102_444_800)
    public static let rangeText = "the accepted window 2000-01-01T00:00:00Z ..< 2100-01-01T00:00:00Z"

    public static func contains(_ date: Date) -> Bool {
        let t = date.timeIntervalSince1970
        return t.isFinite && date >= earliest && date < end
    }
}

/// A value from outside that is the wrong size: names the field and the
/// allowed range. The API answers 422 with this message.
public struct FieldRangeError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var requirement: String

    public init(_ field: String, _ requirement: String) {
        self.field = field
        self.requirement = requirement
    }

    public var description: String { "\(field) must be \(requirement)" }
}

/// A decoded value that checks its numbers, counts and lengths.
public protocol RangeChecked {
    func checkRanges() throws(FieldRangeError)
}

/// Range checks with messages that say the allowed range. The field's name
/// is an autoclosure: every inbound message passes a dozen checks with
/// interpolated names (`events[3].sender_external.email`), built only when
/// a check fails (building them always was 4% of the ingest's CPU).
public enum Bounds {
    public static func check(_ value: Int?, _ range: ClosedRange<Int>, _ field: @autoclosure () -> String, unit: String = "") throws(FieldRangeError) {
        guard let value, !range.contains(value) else { return }
        throw FieldRangeError(field(), "from \(range.lowerBound) to \(range.upperBound)\(unit.isEmpty ? "" : " " + unit) (got \(value))")
    }

    public static func check(_ value: Double?, _ range: ClosedRange<Double>, _ field: @autoclosure () -> String, unit: String = "") throws(FieldRangeError) {
        guard let value else { return }
        guard value.isFinite, range.contains(value) else {
            throw FieldRangeError(field(), "a number from \(format(range.lowerBound)) to \(format(range.upperBound))\(unit.isEmpty ? "" : " " + unit) (got \(value))")
        }
    }

    /// At most `max` characters (counted as Unicode scalars).
    public static func length(_ value: String?, max: Int, _ field: @autoclosure () -> String, allowEmpty: Bool = true) throws(FieldRangeError) {
        guard let value else { return }
        if value.utf8.count > max, value.unicodeScalars.count > max {
            throw FieldRangeError(field(), "at most \(max) characters long")
        }
        if !allowEmpty, value.isEmpty { throw FieldRangeError(field(), "not empty") }
    }

    public static func count(_ value: (some Collection)?, max: Int, _ field: @autoclosure () -> String) throws(FieldRangeError) {
        guard let value, value.count > max else { return }
        throw FieldRangeError(field(), "at most \(max) entries (got \(value.count))")
    }

    /// Each string of a list: at most `max` characters.
    public static func lengths(_ values: [String]?, max: Int, _ field: @autoclosure () -> String) throws(FieldRangeError) {
        for (i, v) in (values ?? []).enumerated() { try length(v, max: max, "\(field())[\(i)]") }
    }

    public static func date(_ value: Date?, _ field: @autoclosure () -> String) throws(FieldRangeError) {
        guard let value, !WireDates.contains(value) else { return }
        throw FieldRangeError(field(), "a time inside \(WireDates.rangeText)")
    }

    static func format(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}

/// Bounds of the free-form JSON fields the engine stores (channel
/// `configuration` and `escalation_rules`, message `metadata`, task
/// `reminder_settings`). Checked at decode, so nothing stored can later
/// fail to encode into the journal, a snapshot or an audit record
/// (Foundation's encoder gives up near 512 levels).
public enum FreeFormJSON {
    /// Most nested arrays and objects inside the field (the field's own object counts as 1).
    public static let maxDepth = 16
    /// Largest encoded size of the field.
    public static let maxBytes = 64 * 1024

    public static func check(_ value: [String: JSONValue]?, _ field: @autoclosure () -> String) throws(FieldRangeError) {
        guard let value, !value.isEmpty else { return }
        try check(JSONValue.object(value), field())
    }

    /// Depth, then size: the encoder runs only when the most the value could
    /// take encoded (`encodedBytesBound`) is over `maxBytes` (a message's
    /// metadata is checked on every ingest; encoding it each time cost more
    /// than the rest of the checks).
    public static func check(_ value: JSONValue, _ field: @autoclosure () -> String) throws(FieldRangeError) {
        guard depth(of: value, limit: maxDepth) <= maxDepth else {
            throw FieldRangeError(field(), "at most \(maxDepth) levels of nested objects and arrays")
        }
        if let bound = encodedBytesBound(value, limit: maxBytes), bound <= maxBytes { return }
        guard let bytes = try? ContractJSON.sharedEncoder.encode(value) else {
            throw FieldRangeError(field(), "plain JSON (it cannot be stored)")
        }
        guard bytes.count <= maxBytes else {
            throw FieldRangeError(field(), "at most \(maxBytes) bytes of JSON (got \(bytes.count))")
        }
    }

    /// The most bytes `value` can take as JSON: every string byte escaped as
    /// `\uXXXX` (6 bytes), every number at its longest form (32 bytes).
    /// nil when it holds a number JSON cannot carry (NaN, infinity), or once
    /// the bound passes `limit` (the caller then encodes to know). Iterative.
    public static func encodedBytesBound(_ value: JSONValue, limit: Int) -> Int? {
        var total = 0
        var work: [JSONValue] = [value]
        while let v = work.popLast() {
            switch v {
            case .null: total += 4
            case .bool: total += 5
            case .number(let d):
                guard d.isFinite else { return nil }
                total += 32
            case .string(let s): total += 2 + 6 * s.utf8.count
            case .array(let a):
                total += 2 + a.count
                work.append(contentsOf: a)
            case .object(let o):
                total += 2 + o.count
                for (k, e) in o {
                    total += 3 + 6 * k.utf8.count
                    work.append(e)
                }
            }
            if total > limit { return nil }
        }
        return total
    }

    /// The nesting depth of `value`, counting no further than `limit + 1`. Iterative.
    public static func depth(of value: JSONValue, limit: Int) -> Int {
        var deepest = 0
        var work: [(JSONValue, Int)] = [(value, 1)]
        while let (v, d) = work.popLast() {
            switch v {
            case .array(let a):
                deepest = max(deepest, d)
                if d > limit { return d }
                for e in a { work.append((e, d + 1)) }
            case .object(let o):
                deepest = max(deepest, d)
                if d > limit { return d }
                for e in o.values { work.append((e, d + 1)) }
            default:
                break
            }
        }
        return deepest
    }
}
