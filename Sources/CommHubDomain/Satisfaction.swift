import Foundation

/// A channel's satisfaction survey settings, from its configuration:
/// `csat_survey` (true asks the customer for a 1–5 score when a thread is
/// resolved), `csat_window_days` (how long an answer is taken, default 7,
/// 1 to 90) and `csat_question` (the text; a Dutch default naming the brand).
public struct CSATSettings: Sendable, Hashable {
    public static let defaultWindowDays = 7
    public static let windowDays = 1...90

    public var windowDays: Int
    public var question: String?

    /// The settings of a channel that asks, or nil when it does not.
    public static func of(_ channel: Channel) -> CSATSettings? {
        guard case .bool(true)? = channel.configuration["csat_survey"] else { return nil }
        var days = defaultWindowDays
        if case .number(let d)? = channel.configuration["csat_window_days"], d.rounded() == d,
           Double(windowDays.lowerBound) <= d, d <= Double(windowDays.upperBound) {
            days = Int(d)
        }
        let question = channel.configuration["csat_question"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        return CSATSettings(windowDays: days, question: question)
    }

    public var window: TimeInterval { TimeInterval(windowDays) * 86_400 }

    /// The question as sent: the channel's own text, or the default.
    public func text(brand: Brand?) -> String {
        if let question { return question }
        let who = brand.map { " van \($0.displayName)" } ?? ""
        return "Hoe tevreden bent u over de hulp\(who)? Antwoord met een cijfer van 1 (zeer ontevreden) tot 5 (zeer tevreden)."
    }
}

/// Reads a customer's answer to the satisfaction question: a score 1–5 and
/// nothing else. Accepted: the digit alone (`4`), with a full stop or
/// exclamation mark, out of five (`4/5`, `4 / 5`), as a keycap emoji (`4️⃣`),
/// or as one to five stars (`⭐⭐⭐⭐`). Anything else (`4 maar de monteur
/// was laat`, `6`, `0`) is not a score: the message is handled as any other.
public enum CSATScore {
    public static func read(_ text: String) -> Int? {
        var s = text.trimmingCharacters(in: .whitespacesAndNewlines)
        while let last = s.last, last == "." || last == "!" { s.removeLast() }
        s = s.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty, s.count <= 10 else { return nil }
        if !s.isEmpty, s.allSatisfy({ $0 == "⭐" || $0 == "★" }) { return s.count <= 5 ? s.count : nil }
        let squashed = s.replacingOccurrences(of: " ", with: "")
        let digits = squashed.hasSuffix("/5") ? String(squashed.dropLast(2)) : squashed
        if digits.count == 1, let d = digits.first, let v = d.wholeNumberValue, (1...5).contains(v), d.isASCII { return v }
        // A keycap: the digit, perhaps VS16, then U+20E3.
        let scalars = Array(digits.unicodeScalars)
        if let first = scalars.first, scalars.last?.value == 0x20E3, scalars.count <= 3,
           let v = Int(String(first)), (1...5).contains(v) {
            return v
        }
        return nil
    }
}
