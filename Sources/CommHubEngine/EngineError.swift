/// An error the engine reports to its callers (API, ingest, admin socket).
/// A struct around a code so cases can grow without breaking callers.
public struct EngineError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case notFound = "not_found"
        case invalid = "invalid"
        case conflict = "conflict"
        case unavailable = "unavailable"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func notFound(_ what: String, _ id: some CustomStringConvertible) -> EngineError {
        EngineError(.notFound, "no \(what) with id \(id)")
    }

    public static func invalid(_ message: String) -> EngineError { EngineError(.invalid, message) }

    public var description: String { "\(code.rawValue): \(message)" }
}
