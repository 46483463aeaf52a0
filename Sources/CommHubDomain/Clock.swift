import Foundation
import Synchronization

/// The engine's only source of time. Nothing in CommHub reads the wall clock
/// directly, so tests and `serve --simulated-clock` can move time by hand.
public protocol EngineClock: Sendable {
    func now() -> Date
}

/// The real wall clock.
public struct SystemClock: EngineClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that only moves when told to (`advance`), for tests and for
/// demonstrating SLA escalation without waiting hours.
public final class SimulatedClock: EngineClock {
    private let current: Mutex<Date>

    public init(start: Date = Date(timeIntervalSince1970: 1_795_600_800)) { // 2026-11-25T10:00:00Z (11:00 in Amsterdam)
        current = Mutex(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    @discardableResult
    public func advance(by seconds: TimeInterval) -> Date {
        precondition(seconds >= 0, "a simulated clock never goes back")
        return current.withLock { date in
            date = date.addingTimeInterval(seconds)
            return date
        }
    }

    public func set(_ date: Date) {
        current.withLock { $0 = max($0, date) }
    }
}

/// Parses the short durations used by the admin socket and CLI:
/// `90s`, `15m`, `5h`, `2d`, `1w`, and combinations such as `1h30m`.
public enum DurationText {
    public static func seconds(_ text: String) -> TimeInterval? {
        var total: Double = 0
        var number = ""
        var sawUnit = false
        for ch in text.lowercased() where ch != " " {
            if ch.isNumber || ch == "." {
                number.append(ch)
                continue
            }
            guard let value = Double(number) else { return nil }
            let unit: Double
            switch ch {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            case "w": unit = 604_800
            default: return nil
            }
            total += value * unit
            number = ""
            sawUnit = true
        }
        if !number.isEmpty {
            // A bare number means seconds, only when it stands alone.
            guard !sawUnit, let value = Double(number) else { return nil }
            total = value
        }
        return total >= 0 && (sawUnit || !text.isEmpty) ? total : nil
    }
}

extension Date {
    /// ISO 8601 in UTC, with milliseconds only when the time has a fraction,
    /// as API.md asks (`2026-11-25T10:30:00Z`).
    public var iso8601: String {
        let seconds = timeIntervalSince1970
        if seconds.rounded(.down) == seconds {
            return formatted(Date.ISO8601FormatStyle())
        }
        return formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Parses ISO 8601 with or without fractional seconds.
    public init?(iso8601 text: String) {
        if let d = try? Date.ISO8601FormatStyle().parse(text) {
            self = d
        } else if let d = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) {
            self = d
        } else {
            return nil
        }
    }
}
