import Crypto
import Foundation
import Synchronization

/// The web app's cookies: reading the `Cookie` header and writing
/// `Set-Cookie`, as plain functions.
///
/// - `commhub_session`: the session secret. HttpOnly (no script reads it),
///   SameSite=Strict (no other site's page or link sends it; the app itself
///   is a static page whose own requests are same-site), Secure when served
///   over TLS, Path=/.
/// - `commhub_signin`: binds a Microsoft sign-in to the browser that started
///   it. SameSite=Lax, because Microsoft's redirect back is a cross-site
///   top-level navigation; 10 minutes.
public enum SessionCookies {
    public static let session = "commhub_session"
    public static let signIn = "commhub_signin"
    /// A cookie value longer than this is not ours and is ignored.
    static let maxValueCharacters = 256

    /// The value of cookie `name` in a `Cookie` header (`a=1; b=2`).
    public static func value(_ name: String, in header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            guard let eq = pair.firstIndex(of: "=") else { continue }
            if pair[..<eq] == name {
                let v = String(pair[pair.index(after: eq)...])
                return v.isEmpty || v.count > maxValueCharacters ? nil : v
            }
        }
        return nil
    }

    public static func set(_ name: String, _ value: String, maxAgeSeconds: Int, secure: Bool, sameSite: String) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAgeSeconds); HttpOnly; SameSite=\(sameSite)" + (secure ? "; Secure" : "")
    }

    public static func clear(_ name: String, secure: Bool, sameSite: String) -> String {
        "\(name)=; Path=/; Max-Age=0; HttpOnly; SameSite=\(sameSite)" + (secure ? "; Secure" : "")
    }
}

/// The CSRF token of a session: HMAC-SHA256 of a fixed label under the
/// session's own secret. The page reads it from `GET /auth/session` (a
/// same-origin answer no other site can read) and sends it as
/// `X-CSRF-Token` with every change; the server recomputes it from the
/// cookie. A synchronizer token that needs no storage, and it dies with the session.
public enum CSRFToken {
    public static let header = "X-CSRF-Token"

    public static func make(sessionSecret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("commhub csrf v1".utf8), using: SymmetricKey(data: Data(sessionSecret.utf8)))
        return Base64URL.encode(Data(mac))
    }

    public static func matches(_ given: String?, sessionSecret: String) -> Bool {
        guard let given else { return false }
        return constantTimeEqual(Array(given.utf8), Array(make(sessionSecret: sessionSecret).utf8))
    }
}

func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in a.indices { diff |= a[i] ^ b[i] }
    return diff == 0
}

/// base64url without padding (RFC 4648 §5), as JWTs, PKCE and Web Push use it.
public enum Base64URL {
    public static func encode(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Also accepts padded input and the standard alphabet.
    public static func decode(_ text: String) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            .replacingOccurrences(of: "=", with: "")
        guard s.count % 4 != 1 else { return nil }
        s += String(repeating: "=", count: (4 - s.count % 4) % 4)
        return Data(base64Encoded: s)
    }

    /// `count` random bytes, base64url.
    public static func random(bytes count: Int) -> String {
        var g = SystemRandomNumberGenerator()
        return encode((0..<count).map { _ in UInt8.random(in: 0...255, using: &g) })
    }
}

/// Failed sign-ins per account and per client address within a window:
/// past `maxPerAccount` (or `maxPerAddress`) failures, sign-in is refused
/// until the oldest failure leaves the window. Time is passed in, so it
/// follows the engine's clock (simulated in tests).
///
/// Kept in memory on purpose: a restart forgets recent failures, which at
/// worst gives an attacker one more window of `maxPerAccount` guesses per
/// restart; journaling every failed guess would let anyone fill the journal.
/// At most `maxTrackedKeys` accounts and addresses are followed; beyond it
/// the entries whose last failure is oldest are forgotten first.
public final class SignInLimiter: Sendable {
    public let maxPerAccount: Int
    public let maxPerAddress: Int
    public let windowSeconds: Double
    public static let maxTrackedKeys = 100_000
    private let failures = Mutex<[String: [Date]]>([:])

    public init(maxPerAccount: Int, maxPerAddress: Int, windowSeconds: Double) {
        self.maxPerAccount = maxPerAccount
        self.maxPerAddress = maxPerAddress
        self.windowSeconds = windowSeconds
    }

    /// nil when a sign-in may be tried now; otherwise the seconds to wait and which bound was hit.
    public func refusal(account: String, address: String, now: Date) -> (seconds: Int, perAccount: Bool)? {
        failures.withLock { f in
            for (key, bound, perAccount) in [(Self.accountKey(account), maxPerAccount, true), ("ip:" + address, maxPerAddress, false)] {
                let recent = (f[key] ?? []).filter { now.timeIntervalSince($0) < windowSeconds }
                f[key] = recent.isEmpty ? nil : recent
                if recent.count >= bound, let oldest = recent.first {
                    let wait = windowSeconds - now.timeIntervalSince(oldest)
                    return (max(1, Int(wait.rounded(.up))), perAccount)
                }
            }
            return nil
        }
    }

    public func recordFailure(account: String, address: String, now: Date) {
        failures.withLock { f in
            if f.count >= Self.maxTrackedKeys {
                // Forget the tenth of keys whose last failure is oldest.
                let drop = f.sorted { ($0.value.last ?? .distantPast) < ($1.value.last ?? .distantPast) }.prefix(Self.maxTrackedKeys / 10)
                for (k, _) in drop { f[k] = nil }
            }
            for key in [Self.accountKey(account), "ip:" + address] {
                var list = f[key] ?? []
                list.append(now)
                // Only the newest `bound` failures matter for the decision.
                if list.count > max(maxPerAccount, maxPerAddress) { list.removeFirst(list.count - max(maxPerAccount, maxPerAddress)) }
                f[key] = list
            }
        }
    }

    /// A successful sign-in clears the account's failures (not the address's).
    public func recordSuccess(account: String) {
        _ = failures.withLock { $0.removeValue(forKey: Self.accountKey(account)) }
    }

    static func accountKey(_ email: String) -> String {
        "account:" + email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }
}
