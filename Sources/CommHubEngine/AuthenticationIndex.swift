import CommHubDomain
import Foundation
import Synchronization

/// Who a bearer token is: the live tokens by secret hash and the people they
/// belong to (role, teams, existence). A plain value, so the rules are
/// testable without an engine; `apply` mirrors what `EngineState.apply`
/// does to the same tables, for the events that concern them.
public struct AuthenticationTable: Sendable {
    /// Live (unrevoked) tokens by the hex SHA-256 of their secret.
    private var tokenByHash: [String: APIToken] = [:]
    /// The hash of each live token, to find it when it is revoked.
    private var hashByToken: [TokenID: String] = [:]
    private var contacts: [ContactID: Contact] = [:]
    /// The web app's browser sessions by the hex SHA-256 of their cookie secret.
    private var web = WebAccessState()

    public init() {}

    /// The table as the restored engine state has it.
    public init(_ state: EngineState) {
        for t in state.tokens.values where t.revokedAt == nil { admit(t) }
        contacts = state.contacts
        web.sessions = state.web.sessions
    }

    /// Whether an event changes this table (decided without the lock).
    public static func concerns(_ e: EngineEvent) -> Bool {
        switch e {
        case .tokenIssued, .tokenRevoked, .contactUpserted, .presenceChanged: true
        case .webAccess(.sessionStarted), .webAccess(.sessionEnded), .webAccess(.sessionsEnded): true
        default: false
        }
    }

    public mutating func apply(_ e: EngineEvent) {
        switch e {
        case .tokenIssued(let t):
            if t.revokedAt == nil { admit(t) }
        case .tokenRevoked(let id, _):
            // Only the token revoked: a later token may carry the same secret hash.
            if let h = hashByToken.removeValue(forKey: id), tokenByHash[h]?.id == id { tokenByHash[h] = nil }
        case .contactUpserted(let c):
            contacts[c.id] = c
        case .presenceChanged(let id, let p):
            contacts[id]?.presence = p
        case .webAccess(let w):
            web.apply(w)
        default:
            break
        }
    }

    private mutating func admit(_ t: APIToken) {
        if let old = tokenByHash[t.secretHash] { hashByToken[old.id] = nil }
        tokenByHash[t.secretHash] = t
        hashByToken[t.id] = t.secretHash
    }

    /// The live token with this secret hash, and its person (nil for a
    /// gateway token, or when the person does not exist).
    public func authenticate(secretHash: String) -> (APIToken, Contact?)? {
        guard let t = tokenByHash[secretHash] else { return nil }
        return (t, t.contactID.flatMap { contacts[$0] })
    }

    /// Number of live tokens (for tests and stats).
    public var liveTokens: Int { tokenByHash.count }

    /// The browser session with this cookie secret hash while it lasts, and its person.
    public func authenticate(sessionSecretHash: String, at now: Date) -> (WebSession, Contact)? {
        guard let s = web.session(secretHash: sessionSecretHash, at: now), let c = contacts[s.contactID] else { return nil }
        return (s, c)
    }
}

/// The authentication read model: answers "whose token is this?" on every
/// HTTP request, WebSocket and ingest `hello` without a hop onto the
/// supervisor's executor, so token checks never queue behind ingest.
///
/// Like `InboxIndex`, it is a projection of *committed* events, fed by the
/// engine's commit relay before the journal's waiters resume: a token works
/// once its issue is acknowledged, a revocation or a role change applies
/// once acknowledged (the request that revoked answers only after that). A
/// revocation the journal has not yet committed does not apply yet — the
/// same moment at which it would survive a crash. Seeded from the restored
/// state, so tokens of a snapshot or the journal work after a restart.
public final class AuthenticationIndex: Sendable {
    private let table: Mutex<AuthenticationTable>

    public init(restored state: EngineState) {
        table = Mutex(AuthenticationTable(state))
    }

    /// Applies a committed batch; takes the lock only when the batch holds
    /// token or person events (ingest batches never do).
    public func apply(_ batch: [SequencedEvent]) {
        var relevant: [EngineEvent] = []
        for e in batch where AuthenticationTable.concerns(e.event) { relevant.append(e.event) }
        guard !relevant.isEmpty else { return }
        table.withLock { t in
            for e in relevant { t.apply(e) }
        }
    }

    public func authenticate(secretHash: String) -> (APIToken, Contact?)? {
        table.withLock { $0.authenticate(secretHash: secretHash) }
    }

    public var liveTokens: Int { table.withLock { $0.liveTokens } }

    /// A browser session (the web app's cookie), as `AuthenticationTable.authenticate(sessionSecretHash:at:)`.
    public func authenticate(sessionSecretHash: String, at now: Date) -> (WebSession, Contact)? {
        table.withLock { $0.authenticate(sessionSecretHash: sessionSecretHash, at: now) }
    }
}
