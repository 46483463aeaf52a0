/// Error text that is safe to log and to show: never the values involved.
///
/// `EncodingError.invalidValue` carries the whole value that failed, and its
/// default description prints it — for an engine image that is every token
/// hash and customer in memory. Logs, admin-socket answers and API errors
/// use `ErrorText.describe` instead of `"\(error)"` wherever the error may
/// come from a coder.
public enum ErrorText {
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let e as EncodingError:
            switch e {
            case .invalidValue(let value, let context):
                return "cannot encode a \(type(of: value)) at \(path(context.codingPath)): \(context.debugDescription)"
            @unknown default:
                return "cannot encode (\(type(of: e)))"
            }
        case let e as DecodingError:
            switch e {
            case .typeMismatch(let type, let c): return "expected \(type) at \(path(c.codingPath)): \(c.debugDescription)"
            case .valueNotFound(let type, let c): return "missing \(type) at \(path(c.codingPath)): \(c.debugDescription)"
            case .keyNotFound(let key, let c): return "missing key \(key.stringValue) at \(path(c.codingPath))"
            case .dataCorrupted(let c): return "invalid data at \(path(c.codingPath)): \(c.debugDescription)"
            @unknown default: return "cannot decode (\(type(of: e)))"
            }
        default:
            return "\(error)"
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
