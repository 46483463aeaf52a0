import CommHubDomain
import Foundation

/// The web app's records (passwords, invites, sessions, mentions, push
/// subscriptions, Microsoft sign-in): journaled through the supervisor like
/// every other change, so they are in the journal's order and its snapshots.
extension Supervisor {
    /// Journals and applies the events, all or none; the sequence number of
    /// the last, for the caller to wait until it is durable.
    public func recordWebAccess(_ events: [WebAccessEvent]) throws -> UInt64 {
        precondition(!events.isEmpty, "recordWebAccess needs at least one event")
        return try commit(try events.map { .webAccess(try resealedSecrets(in: $0)) }).last!.seq
    }

    /// A copy of what `read` takes from the web app's records.
    public func webAccess<T: Sendable>(_ read: (WebAccessState) -> T) -> T {
        read(state.web)
    }

    /// The internal person with this e-mail address (compared case-insensitively, trimmed).
    public func contact(email: String) -> Contact? {
        let wanted = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard !wanted.isEmpty else { return nil }
        return state.contacts.values.first { $0.email?.trimmingCharacters(in: .whitespaces).lowercased() == wanted }
    }
}

extension Supervisor {
    /// An organisation of the directory (the thread view's side panel).
    public func organization(_ id: OrganizationID) -> Organization? { state.index.organizations[id] }
}
