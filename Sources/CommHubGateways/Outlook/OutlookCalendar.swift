import CommHubDomain
import Foundation

/// Calendar follow-ups of an `email_outlook` channel.
///
/// Configuration: `calendar` names whose default calendar is watched (a
/// user's UPN or id: `"planning@chargecars.nl"`, or `{"user": "…"}`; absent
/// or empty: no follow-ups). An event marks a follow-up when one of its
/// categories is in `follow_up_categories` (default `Follow-up`,
/// `CommHub follow-up`) or its subject starts with one of
/// `follow_up_subject_prefixes` (default `Follow-up:`, `Opvolgen:`,
/// `Terugbellen:`), case-insensitive. The task's title is the subject
/// without that prefix.
public struct CalendarFollowUpRule: Sendable, Hashable {
    public static let defaultCategories = ["Follow-up", "CommHub follow-up"]
    public static let defaultSubjectPrefixes = ["Follow-up:", "Opvolgen:", "Terugbellen:"]
    /// How far back and ahead the calendar is synchronised by delta.
    public static let windowPastDays = 1.0
    public static let windowAheadDays = 90.0

    public var user: String
    public var categories: [String]
    public var subjectPrefixes: [String]

    public init(user: String, categories: [String] = defaultCategories, subjectPrefixes: [String] = defaultSubjectPrefixes) {
        self.user = user; self.categories = categories; self.subjectPrefixes = subjectPrefixes
    }

    /// The channel's rule, nil when it watches no calendar.
    public init?(channel: GatewayChannelSettings) {
        let user: String?
        switch channel.configuration["calendar"] {
        case .string(let s)?: user = s
        case .object(let o)?: user = o["user"]?.stringValue
        default: user = nil
        }
        guard let user = user?.trimmingCharacters(in: .whitespaces), !user.isEmpty else { return nil }
        func list(_ key: String, _ fallback: [String]) -> [String] {
            guard case .array(let a)? = channel.configuration[key] else { return fallback }
            return a.compactMap { $0.stringValue?.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        self.init(user: user, categories: list("follow_up_categories", Self.defaultCategories),
                  subjectPrefixes: list("follow_up_subject_prefixes", Self.defaultSubjectPrefixes))
    }

    /// The follow-up an event is now: `cancelled` when the event is
    /// cancelled or does not (any longer) carry a marker.
    public func followUp(_ event: JSONValue, channelID: ChannelID) -> CalendarFollowUp? {
        guard let id = event["id"]?.stringValue, !id.isEmpty, id.count <= GraphMessage.maxFieldCharacters else { return nil }
        let subject = event["subject"]?.stringValue ?? ""
        let categories = (event["categories"]?.arrayItems ?? []).compactMap(\.stringValue)
        let byCategory = categories.contains { c in self.categories.contains { $0.caseInsensitiveCompare(c) == .orderedSame } }
        let prefix = subjectPrefixes.first { subject.lowercased().hasPrefix($0.lowercased()) }
        let cancelled = event["isCancelled"]?.boolValue == true || (!byCategory && prefix == nil)
        var title = subject
        if let prefix { title = String(subject.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces) }
        if title.isEmpty { title = subject.isEmpty ? "Follow-up" : subject }
        let attendees = (event["attendees"]?.arrayItems ?? []).prefix(200).compactMap { $0["emailAddress"]?["address"]?.stringValue }
        return CalendarFollowUp(channelID: channelID, eventID: id, title: String(title.prefix(500)),
                                description: event["bodyPreview"]?.stringValue.map { String($0.prefix(2000)) },
                                organizerEmail: event["organizer"]?["emailAddress"]?["address"]?.stringValue,
                                dueAt: Self.start(event["start"]), cancelled: cancelled, attendeeEmails: attendees)
    }

    /// `{"dateTime": "2025-03-10T09:00:00.0000000", "timeZone": "UTC"}` as a moment (the
    /// gateway asks for UTC; another IANA zone is honoured, an unknown one read as UTC).
    static func start(_ v: JSONValue?) -> Date? {
        guard let raw = v?["dateTime"]?.stringValue else { return nil }
        var text = raw
        if let dot = text.firstIndex(of: ".") { text = String(text[..<dot]) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        f.timeZone = v?["timeZone"]?.stringValue.flatMap { TimeZone(identifier: $0) } ?? TimeZone(identifier: "UTC")
        return f.date(from: text) ?? Date(iso8601: raw)
    }

    /// `$select` of an event fetch.
    public static let selectFields = "id,subject,bodyPreview,categories,start,end,isCancelled,organizer,attendees,type,lastModifiedDateTime"
}
