import CommHubDomain
import Crypto
import Foundation
import JWTKit
import Synchronization

// The pure parts of "Sign in with Microsoft" (OpenID Connect, authorization
// code flow with PKCE): the PKCE pair, the flows waiting for Microsoft's
// answer, and the rules an ID token must pass. No I/O here.

/// RFC 7636 proof key: a random verifier kept by the server, its SHA-256 sent to Microsoft.
public enum PKCE {
    /// 43 characters of base64url (32 random bytes), inside RFC 7636's 43…128.
    public static func verifier() -> String { Base64URL.random(bytes: 32) }

    /// `S256`: base64url(SHA-256(ASCII(verifier))).
    public static func challenge(_ verifier: String) -> String {
        Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8))))
    }
}

/// A sign-in sent to Microsoft and not back yet.
public struct PendingSignIn: Sendable, Hashable {
    public var state: String
    public var nonce: String
    public var verifier: String
    public var redirectURI: String
    public var startedAt: Date
}

/// The sign-ins on their way through Microsoft, by `state`. Kept in memory:
/// one that a restart forgets just has to be started again. Each is taken
/// once (a replayed callback finds nothing), expires after `lifetimeSeconds`,
/// and at most `maxPending` wait; beyond it the oldest goes.
public final class PendingSignIns: Sendable {
    public let maxPending: Int
    public let lifetimeSeconds: Double
    private let flows = Mutex<[String: PendingSignIn]>([:])

    public init(maxPending: Int, lifetimeSeconds: Double) {
        self.maxPending = maxPending
        self.lifetimeSeconds = lifetimeSeconds
    }

    public func begin(redirectURI: String, now: Date) -> PendingSignIn {
        let flow = PendingSignIn(state: Base64URL.random(bytes: 24), nonce: Base64URL.random(bytes: 24),
                                 verifier: PKCE.verifier(), redirectURI: redirectURI, startedAt: now)
        flows.withLock { f in
            f = f.filter { now.timeIntervalSince($0.value.startedAt) < lifetimeSeconds }
            while f.count >= maxPending, let oldest = f.values.min(by: { $0.startedAt < $1.startedAt }) { f[oldest.state] = nil }
            f[flow.state] = flow
        }
        return flow
    }

    /// The flow of `state`, removed; nil when unknown, used or expired.
    public func take(_ state: String, now: Date) -> PendingSignIn? {
        flows.withLock { f in
            guard let flow = f.removeValue(forKey: state), now.timeIntervalSince(flow.startedAt) < lifetimeSeconds else { return nil }
            return flow
        }
    }

    public var count: Int { flows.withLock { $0.count } }
}

/// The claims of an Entra ID v2.0 ID token that sign-in reads.
public struct EntraIDToken: JWTPayload, Equatable {
    public var iss: String
    public var aud: AudienceClaim
    public var exp: ExpirationClaim
    public var nbf: NotBeforeClaim?
    public var iat: IssuedAtClaim?
    public var nonce: String?
    public var email: String?
    public var preferredUsername: String?
    public var name: String?
    public var tid: String?
    public var oid: String?
    public var sub: String?
    public var ver: String?

    enum CodingKeys: String, CodingKey {
        case iss, aud, exp, nbf, iat, nonce, email, name, tid, oid, sub, ver
        case preferredUsername = "preferred_username"
    }

    public init(iss: String, aud: String, exp: Date, nbf: Date? = nil, iat: Date? = nil, nonce: String?, email: String?,
                preferredUsername: String? = nil, name: String? = nil, tid: String?, oid: String? = nil, sub: String? = nil,
                ver: String? = "2.0") {
        self.iss = iss; self.aud = AudienceClaim(value: [aud]); self.exp = ExpirationClaim(value: exp)
        self.nbf = nbf.map { NotBeforeClaim(value: $0) }; self.iat = iat.map { IssuedAtClaim(value: $0) }
        self.nonce = nonce; self.email = email; self.preferredUsername = preferredUsername; self.name = name
        self.tid = tid; self.oid = oid; self.sub = sub; self.ver = ver
    }

    /// The signature is checked by jwt-kit; the claims by `IDTokenRules`, on the engine's clock.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}

    /// The address sign-in matches people by: `email`, else `preferred_username` when it is an address.
    public var signInEmail: String? {
        if let email, email.contains("@") { return email }
        if let p = preferredUsername, p.contains("@") { return p }
        return nil
    }
}

/// Why an ID token was refused (the callback logs it; the person sees a short message).
public struct IDTokenProblem: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// The checks of an ID token's claims (OpenID Connect Core §3.1.3.7 and
/// Microsoft's v2.0 rules) after its signature was verified.
public enum IDTokenRules {
    /// Clock difference tolerated between CommHub and Microsoft.
    public static let allowedClockSkewSeconds: Double = 300

    /// `issuerTemplate` is the discovery document's `issuer`; for the
    /// `organizations` and `common` tenants it holds `{tenantid}`, replaced by the token's `tid`.
    public static func check(_ t: EntraIDToken, issuerTemplate: String, tenant: String, clientID: String, nonce: String,
                             now: Date) throws(IDTokenProblem) {
        guard let tid = t.tid, !tid.isEmpty else { throw IDTokenProblem("the token names no tenant (tid)") }
        let expectedIssuer = issuerTemplate.replacingOccurrences(of: "{tenantid}", with: tid)
        guard t.iss == expectedIssuer else { throw IDTokenProblem("issuer \(t.iss) is not \(expectedIssuer)") }
        // A tenant given by GUID must be the token's tenant (a domain name is resolved by Microsoft into the issuer).
        if UUID(uuidString: tenant) != nil, tid.lowercased() != tenant.lowercased() {
            throw IDTokenProblem("tenant \(tid) is not the configured tenant \(tenant)")
        }
        guard t.aud.value == [clientID] else { throw IDTokenProblem("audience \(t.aud.value) is not this app (\(clientID))") }
        guard t.exp.value.timeIntervalSince(now) > -allowedClockSkewSeconds else { throw IDTokenProblem("the token expired at \(t.exp.value.iso8601)") }
        if let nbf = t.nbf, nbf.value.timeIntervalSince(now) > allowedClockSkewSeconds {
            throw IDTokenProblem("the token is not valid before \(nbf.value.iso8601)")
        }
        guard let n = t.nonce, constantTimeEqual(Array(n.utf8), Array(nonce.utf8)) else {
            throw IDTokenProblem("the nonce does not match this sign-in")
        }
        if let ver = t.ver, ver != "2.0" { throw IDTokenProblem("token version \(ver) (v2.0 expected)") }
    }

    /// The JOSE header of a compact JWT: RS256 with a key id, or a problem.
    public static func keyID(of token: String) throws(IDTokenProblem) -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let data = Base64URL.decode(String(parts[0])),
              let header = try? JSONDecoder().decode([String: JSONValue].self, from: data) else {
            throw IDTokenProblem("the ID token is not a compact JWT")
        }
        guard header["alg"]?.stringValue == "RS256" else {
            throw IDTokenProblem("the ID token is signed with \(header["alg"]?.stringValue ?? "nothing"), not RS256")
        }
        guard let kid = header["kid"]?.stringValue, !kid.isEmpty else { throw IDTokenProblem("the ID token names no key (kid)") }
        return kid
    }
}
