import Foundation

public enum TokenKind_ {}
public typealias TokenID = EntityID<TokenKind_>

/// Who a bearer token speaks for: an internal person (with that person's
/// role) or a gateway process (may only push to `/api/ingest`).
public enum TokenKind: String, ContractEnum {
    case person, gateway
}

/// An API bearer token as stored: only the SHA-256 of the secret is kept.
public struct APIToken: Codable, Sendable, Hashable {
    public var id: TokenID
    public var kind: TokenKind
    public var contactID: ContactID?
    public var label: String
    /// Lower-case hex SHA-256 of the token secret.
    public var secretHash: String
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: TokenID = TokenID(), kind: TokenKind, contactID: ContactID?, label: String, secretHash: String,
                createdAt: Date, revokedAt: Date? = nil) {
        self.id = id; self.kind = kind; self.contactID = contactID; self.label = label
        self.secretHash = secretHash; self.createdAt = createdAt; self.revokedAt = revokedAt
    }
}

/// One recorded mutation: who changed what, when, from what to what.
public struct AuditEntry: Codable, Sendable, Hashable {
    public var at: Date
    public var actorContactID: ContactID?
    public var actorTokenID: TokenID?
    /// e.g. `thread.update`, `channel.create`, `token.revoke`.
    public var action: String
    /// e.g. `thread`, `channel`, `contact`.
    public var entity: String
    public var entityID: String
    public var before: JSONValue?
    public var after: JSONValue?
    public var requestID: String?
    /// Whose data `before` and `after` are, when the entity alone does not
    /// say (a message's entry is its thread's): the data key the entry is
    /// sealed under. Not part of the API's view.
    public var scope: DataScope?
    /// Who acted when no token did: `admin_socket uid=… pid=…`, a sign-in's
    /// client address. Not part of older entries.
    public var via: String?
    /// Set when read back: `before`/`after` were sealed under a key that was
    /// destroyed (the person was erased, the content expired). Never stored.
    public var contentErased: Bool?

    public init(at: Date, actorContactID: ContactID?, actorTokenID: TokenID?, action: String, entity: String,
                entityID: String, before: JSONValue? = nil, after: JSONValue? = nil, requestID: String? = nil,
                scope: DataScope? = nil, via: String? = nil) {
        self.at = at; self.actorContactID = actorContactID; self.actorTokenID = actorTokenID; self.action = action
        self.entity = entity; self.entityID = entityID; self.before = before; self.after = after
        self.requestID = requestID; self.scope = scope; self.via = via
    }
}
