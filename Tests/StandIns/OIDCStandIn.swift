import CryptoExtras
import Crypto
import Foundation
import Synchronization

/// Microsoft Entra ID's OpenID Connect endpoints as sign-in uses them, on
/// loopback, for one tenant:
/// - `GET /{tenant}/v2.0/.well-known/openid-configuration`: discovery;
/// - `GET /{tenant}/oauth2/v2.0/authorize`: "signs in" the person set with
///   `signInAs` at once and redirects to `redirect_uri?code=…&state=…`
///   (or `?error=access_denied` when none is set);
/// - `POST /{tenant}/oauth2/v2.0/token`: redeems a code once, checking the
///   client id and secret, the redirect URI and the PKCE verifier (S256)
///   against what the authorize request carried; answers an RS256 ID token;
/// - `GET /{tenant}/discovery/v2.0/keys`: the JWKS.
/// `tamper` changes the next ID token's claims (wrong audience, nonce,
/// issuer, an expired token, another key) to prove CommHub refuses it.
public final class OIDCStandIn: Sendable {
    public let tenant: String
    public let clientID: String
    public let clientSecret: String
    public let server: StandInServer
    private let key: _RSA.Signing.PrivateKey
    /// A key the JWKS does not list (for a token signed by a stranger).
    private let strangerKey: _RSA.Signing.PrivateKey
    public let keyID = "standin-key-1"

    public struct Grant: Sendable {
        var email: String?
        var nonce: String
        var challenge: String
        var redirectURI: String
        var clientID: String
    }

    public enum Tamper: Sendable {
        case audience(String), issuer(String), nonce(String), expiredSecondsAgo(Double), tenant(String), unknownKey, noEmail, algorithmNone
    }

    private let person = Mutex<String?>(nil)
    private let grants = Mutex<[String: Grant]>([:])
    private let tampering = Mutex<Tamper?>(nil)
    /// The engine's clock, for `iat`/`exp` (the stand-in signs for the time CommHub believes it is).
    private let now: @Sendable () -> Date

    public init(tenant: String = "84bd8158-6d4d-4958-8b9f-9d6445542f95", clientID: String = "6731de76-14a6-49ae-97bc-6eba6914391e",
                clientSecret: String = "standin-client-secret", now: @escaping @Sendable () -> Date = { Date() }) throws {
        self.tenant = tenant
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.now = now
        key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        strangerKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let box = Mutex<OIDCStandIn?>(nil)
        server = StandInServer(name: "oidc") { request, _ in
            box.withLock { $0 }?.answer(request) ?? .json(503, ["error": "not ready"])
        }
        box.withLock { $0 = self }
    }

    public func start() async throws { try await server.start() }
    public func stop() async { await server.stop() }
    public var baseURL: String { server.baseURL }
    public var issuer: String { "\(baseURL)/\(tenant)/v2.0" }

    /// The next authorize request signs this address in (nil: the person declines).
    public func signInAs(_ email: String?) { person.withLock { $0 = email } }
    public func tamper(_ t: Tamper?) { tampering.withLock { $0 = t } }

    func answer(_ r: RecordedRequest) -> StandInAnswer {
        let prefix = "/\(tenant)"
        switch (r.method, r.path) {
        case ("GET", prefix + "/v2.0/.well-known/openid-configuration"):
            return .json(200, ["issuer": "https://login.microsoftonline.com/{tenantid}/v2.0".replacingOccurrences(of: "https://login.microsoftonline.com", with: baseURL),
                               "authorization_endpoint": "\(baseURL)\(prefix)/oauth2/v2.0/authorize",
                               "token_endpoint": "\(baseURL)\(prefix)/oauth2/v2.0/token",
                               "jwks_uri": "\(baseURL)\(prefix)/discovery/v2.0/keys",
                               "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"]])
        case ("GET", prefix + "/discovery/v2.0/keys"):
            return .json(200, ["keys": [jwk()]])
        case ("GET", prefix + "/oauth2/v2.0/authorize"):
            return authorize(Self.form(r.query))
        case ("POST", prefix + "/oauth2/v2.0/token"):
            return token(Self.form(r.text))
        default:
            return .json(404, ["error": "not_found"])
        }
    }

    func authorize(_ q: [String: String]) -> StandInAnswer {
        guard let redirect = q["redirect_uri"], let state = q["state"] else { return .json(400, ["error": "invalid_request"]) }
        guard q["response_type"] == "code", q["code_challenge_method"] == "S256", let challenge = q["code_challenge"],
              let nonce = q["nonce"], let client = q["client_id"], q["scope"]?.contains("openid") == true else {
            return Self.redirect(redirect, ["error": "invalid_request", "state": state])
        }
        guard let email = person.withLock({ $0 }) else {
            return Self.redirect(redirect, ["error": "access_denied", "error_description": "AADSTS65004: User declined to consent", "state": state])
        }
        let code = "code-" + UUID().uuidString
        grants.withLock { $0[code] = Grant(email: email, nonce: nonce, challenge: challenge, redirectURI: redirect, clientID: client) }
        return Self.redirect(redirect, ["code": code, "state": state, "session_state": UUID().uuidString])
    }

    func token(_ f: [String: String]) -> StandInAnswer {
        guard f["grant_type"] == "authorization_code", let code = f["code"],
              let grant = grants.withLock({ $0.removeValue(forKey: code) }) else {
            return .json(400, ["error": "invalid_grant", "error_description": "AADSTS70008: the code is unknown or was already redeemed"])
        }
        guard f["client_id"] == clientID, grant.clientID == clientID, f["client_secret"] == clientSecret else {
            return .json(401, ["error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided"])
        }
        guard f["redirect_uri"] == grant.redirectURI else {
            return .json(400, ["error": "invalid_grant", "error_description": "AADSTS50148: redirect_uri does not match"])
        }
        let verifier = f["code_verifier"] ?? ""
        let challenge = Self.b64url(Data(SHA256.hash(data: Data(verifier.utf8))))
        guard challenge == grant.challenge else {
            return .json(400, ["error": "invalid_grant", "error_description": "AADSTS501481: The Code_Verifier does not match the code_challenge"])
        }
        return .json(200, ["token_type": "Bearer", "scope": "openid profile email", "expires_in": 3599,
                           "access_token": "standin-access-token", "id_token": idToken(grant)])
    }

    func idToken(_ g: Grant) -> String {
        let t = now().timeIntervalSince1970
        var claims: [String: Any] = ["aud": clientID, "iss": issuer, "iat": Int(t), "nbf": Int(t), "exp": Int(t + 3600),
                                     "nonce": g.nonce, "tid": tenant, "oid": UUID().uuidString.lowercased(), "sub": "standin-\(g.email ?? "")",
                                     "name": "Stand-in person", "preferred_username": g.email ?? "", "ver": "2.0"]
        if let e = g.email { claims["email"] = e }
        var signer = key
        var header: [String: Any] = ["typ": "JWT", "alg": "RS256", "kid": keyID]
        switch tampering.withLock({ $0 }) {
        case .audience(let a)?: claims["aud"] = a
        case .issuer(let i)?: claims["iss"] = i
        case .nonce(let n)?: claims["nonce"] = n
        case .expiredSecondsAgo(let s)?: claims["exp"] = Int(t - s)
        case .tenant(let tid)?: claims["tid"] = tid
        case .unknownKey?: signer = strangerKey
        case .noEmail?: claims["email"] = nil; claims["preferred_username"] = "no-address"
        case .algorithmNone?: header["alg"] = "none"
        case nil: break
        }
        let input = Self.b64url(try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
            + "." + Self.b64url(try! JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let signature = try! signer.signature(for: Data(input.utf8), padding: .insecurePKCS1v1_5)
        return input + "." + Self.b64url(signature.rawRepresentation)
    }

    func jwk() -> [String: Any] {
        let p = try! key.publicKey.getKeyPrimitives()
        return ["kty": "RSA", "use": "sig", "kid": keyID, "n": Self.b64url(p.modulus), "e": Self.b64url(p.publicExponent)]
    }

    static func redirect(_ uri: String, _ params: [String: String]) -> StandInAnswer {
        var c = URLComponents(string: uri)!
        c.queryItems = params.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        return .respond(status: 302, headers: ["Location": c.url!.absoluteString], body: [])
    }

    static func form(_ s: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in s.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard let k = kv.first else { continue }
            let v = kv.count > 1 ? kv[1] : ""
            out[k.removingPercentEncoding ?? k] = v.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? v
        }
        return out
    }

    static func b64url(_ d: Data) -> String {
        d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
