import Foundation

// The web app's own records: passwords, one-time invites, browser sessions,
// @mentions, Web Push subscriptions and the Microsoft (Entra ID) sign-in
// settings. They are journaled like every other change (one `EngineEvent`
// case, `.webAccess`, wraps them) and kept in `WebAccessState`, which the
// supervisor's snapshot image carries, so sign-ins survive restarts.
//
// Secrets are never stored: a session id, an invite link's token are kept as
// their SHA-256 only, a password as its bcrypt hash, the Entra client secret
// sealed with the data directory's master key.

public enum SessionKind_ {}
/// A browser session (also the token id its requests are audited under).
public typealias SessionID = EntityID<SessionKind_>

/// How a person signed in.
public enum SignInMethod: String, ContractEnum {
    case password
    case microsoft
}

/// A person's password, as a bcrypt hash (`$2b$…`).
public struct PasswordRecord: Codable, Sendable, Hashable {
    public var bcryptHash: String
    public var setAt: Date
    public init(bcryptHash: String, setAt: Date) { self.bcryptHash = bcryptHash; self.setAt = setAt }
}

/// A one-time link with which a person sets their password.
public struct WebInvite: Codable, Sendable, Hashable {
    /// Lower-case hex SHA-256 of the link's secret.
    public var secretHash: String
    public var contactID: ContactID
    public var createdBy: ContactID?
    public var createdAt: Date
    public var expiresAt: Date

    public init(secretHash: String, contactID: ContactID, createdBy: ContactID?, createdAt: Date, expiresAt: Date) {
        self.secretHash = secretHash; self.contactID = contactID; self.createdBy = createdBy
        self.createdAt = createdAt; self.expiresAt = expiresAt
    }
}

/// A signed-in browser. The cookie holds the secret; only its SHA-256 is kept.
public struct WebSession: Codable, Sendable, Hashable {
    public var id: SessionID
    /// Lower-case hex SHA-256 of the cookie's secret.
    public var secretHash: String
    public var contactID: ContactID
    public var method: SignInMethod
    public var createdAt: Date
    public var expiresAt: Date
    /// The browser's User-Agent, cut to 200 characters (shown in "your sessions").
    public var userAgent: String?

    public init(id: SessionID = SessionID(), secretHash: String, contactID: ContactID, method: SignInMethod,
                createdAt: Date, expiresAt: Date, userAgent: String? = nil) {
        self.id = id; self.secretHash = secretHash; self.contactID = contactID; self.method = method
        self.createdAt = createdAt; self.expiresAt = expiresAt; self.userAgent = userAgent
    }
}

/// A colleague named with `@handle` in an internal note.
public struct Mention: Codable, Sendable, Hashable {
    public var threadID: ThreadID
    public var messageID: MessageID
    /// Who is mentioned.
    public var contactID: ContactID
    /// Who wrote the note.
    public var byContactID: ContactID?
    public var at: Date

    public init(threadID: ThreadID, messageID: MessageID, contactID: ContactID, byContactID: ContactID?, at: Date) {
        self.threadID = threadID; self.messageID = messageID; self.contactID = contactID
        self.byContactID = byContactID; self.at = at
    }
}

/// A browser's Web Push subscription (`PushSubscription.toJSON()`).
public struct PushSubscriptionRecord: Codable, Sendable, Hashable {
    public var endpoint: String
    /// The browser's P-256 public key, base64url (65 bytes uncompressed).
    public var p256dh: String
    /// The 16-byte authentication secret, base64url.
    public var auth: String
    public var contactID: ContactID
    public var createdAt: Date

    public init(endpoint: String, p256dh: String, auth: String, contactID: ContactID, createdAt: Date) {
        self.endpoint = endpoint; self.p256dh = p256dh; self.auth = auth; self.contactID = contactID; self.createdAt = createdAt
    }
}

/// Sign in with Microsoft: the Entra ID app registration.
public struct MicrosoftSignInSettings: Codable, Sendable, Hashable {
    /// Tenant GUID or domain (single-tenant app).
    public var tenantID: String
    public var clientID: String
    /// The client secret, sealed (AES-GCM) with the master key; nil when not set.
    public var sealedClientSecret: Data?
    /// `https://login.microsoftonline.com` unless a stand-in or sovereign cloud is configured.
    public var loginBaseURL: String
    /// The callback URL registered at Entra (`https://<host>/auth/oidc/callback`); nil: derived from the request.
    public var redirectURL: String?
    public var enabled: Bool

    /// The contract coders turn `_id` into `ID` but `_url` into `Url`: these
    /// names make `login_base_url` and `redirect_url` round-trip through the journal.
    enum CodingKeys: String, CodingKey {
        case tenantID, clientID, sealedClientSecret, enabled
        case loginBaseURL = "loginBaseUrl", redirectURL = "redirectUrl"
    }

    public init(tenantID: String, clientID: String, sealedClientSecret: Data?, loginBaseURL: String, redirectURL: String?,
                enabled: Bool) {
        self.tenantID = tenantID; self.clientID = clientID; self.sealedClientSecret = sealedClientSecret
        self.loginBaseURL = loginBaseURL; self.redirectURL = redirectURL; self.enabled = enabled
    }
}

/// One change to the web app's records.
public enum WebAccessEvent: Codable, Sendable, Hashable {
    case passwordSet(contact: ContactID, record: PasswordRecord)
    case inviteIssued(WebInvite)
    /// The invite was used (or replaced by a newer one).
    case inviteEnded(secretHash: String)
    case sessionStarted(WebSession)
    case sessionEnded(secretHash: String, at: Date)
    /// Every session of a person ends (new password, or "sign out everywhere").
    case sessionsEnded(contact: ContactID, at: Date)
    case mentioned([Mention])
    /// The person opened the thread: its mentions of them are seen.
    case mentionsSeen(contact: ContactID, thread: ThreadID, at: Date)
    case pushSubscribed(PushSubscriptionRecord)
    case pushUnsubscribed(endpoint: String)
    case microsoftSignInChanged(MicrosoftSignInSettings?)
    /// The server's VAPID key pair for Web Push (the P-256 private key, sealed with the master key).
    case pushKeyCreated(sealedPrivateKey: Data)

    public var name: String {
        switch self {
        case .passwordSet: "web.password"
        case .inviteIssued: "web.invite"
        case .inviteEnded: "web.invite_ended"
        case .sessionStarted: "web.session"
        case .sessionEnded, .sessionsEnded: "web.session_ended"
        case .mentioned: "mention.created"
        case .mentionsSeen: "mention.seen"
        case .pushSubscribed: "web.push_subscribed"
        case .pushUnsubscribed: "web.push_unsubscribed"
        case .microsoftSignInChanged: "web.microsoft_sign_in"
        case .pushKeyCreated: "web.push_key"
        }
    }
}

/// The web app's records as one value; `apply` is the only mutation (live
/// and on replay). Every table has a bound, and what happens there is
/// decided here: the oldest entry goes.
public struct WebAccessState: Codable, Sendable, Hashable {
    /// Sessions one person may hold at once; a new one ends the oldest.
    public static let maxSessionsPerContact = 20
    /// Unseen mentions kept per person; beyond it the oldest are dropped.
    public static let maxUnseenMentionsPerContact = 500
    /// Push subscriptions per person (browsers and phones); a new one replaces the oldest.
    public static let maxPushSubscriptionsPerContact = 10
    /// Open invites in all; beyond it the oldest is dropped.
    public static let maxOpenInvites = 10_000

    public var passwords: [ContactID: PasswordRecord] = [:]
    /// Open invites by the SHA-256 of their secret.
    public var invites: [String: WebInvite] = [:]
    /// Live sessions by the SHA-256 of their secret.
    public var sessions: [String: WebSession] = [:]
    /// Unseen mentions per person, oldest first.
    public var mentions: [ContactID: [Mention]] = [:]
    /// Push subscriptions by endpoint URL.
    public var push: [String: PushSubscriptionRecord] = [:]
    public var microsoft: MicrosoftSignInSettings?
    /// The VAPID private key, sealed; made once, on first use.
    public var sealedPushKey: Data?

    public init() {}

    public mutating func apply(_ e: WebAccessEvent) {
        switch e {
        case .passwordSet(let contact, let record):
            passwords[contact] = record
        case .inviteIssued(let invite):
            // One open invite per person: a new link replaces the old one.
            invites = invites.filter { $0.value.contactID != invite.contactID }
            invites[invite.secretHash] = invite
            if invites.count > Self.maxOpenInvites, let oldest = invites.values.min(by: { $0.createdAt < $1.createdAt }) {
                invites[oldest.secretHash] = nil
            }
        case .inviteEnded(let hash):
            invites[hash] = nil
        case .sessionStarted(let s):
            // Sessions of this person that ran out are forgotten here; the
            // oldest goes when the person is at the bound.
            let mine = sessions.values.filter { $0.contactID == s.contactID }
            for old in mine where old.expiresAt <= s.createdAt { sessions[old.secretHash] = nil }
            let live = mine.filter { $0.expiresAt > s.createdAt }.sorted { $0.createdAt < $1.createdAt }
            for old in live.prefix(max(0, live.count - Self.maxSessionsPerContact + 1)) { sessions[old.secretHash] = nil }
            sessions[s.secretHash] = s
        case .sessionEnded(let hash, _):
            sessions[hash] = nil
        case .sessionsEnded(let contact, _):
            sessions = sessions.filter { $0.value.contactID != contact }
        case .mentioned(let list):
            for m in list {
                var mine = mentions[m.contactID, default: []]
                mine.append(m)
                if mine.count > Self.maxUnseenMentionsPerContact { mine.removeFirst(mine.count - Self.maxUnseenMentionsPerContact) }
                mentions[m.contactID] = mine
            }
        case .mentionsSeen(let contact, let thread, _):
            guard var mine = mentions[contact] else { break }
            mine.removeAll { $0.threadID == thread }
            mentions[contact] = mine.isEmpty ? nil : mine
        case .pushSubscribed(let s):
            push[s.endpoint] = s
            let mine = push.values.filter { $0.contactID == s.contactID }.sorted { $0.createdAt < $1.createdAt }
            for old in mine.prefix(max(0, mine.count - Self.maxPushSubscriptionsPerContact)) { push[old.endpoint] = nil }
        case .pushUnsubscribed(let endpoint):
            push[endpoint] = nil
        case .microsoftSignInChanged(let settings):
            microsoft = settings
        case .pushKeyCreated(let sealed):
            sealedPushKey = sealed
        }
    }

    /// The person with a session of this secret hash, while it lasts.
    public func session(secretHash: String, at now: Date) -> WebSession? {
        guard let s = sessions[secretHash], s.expiresAt > now else { return nil }
        return s
    }
}
