import Crypto
import Foundation

/// Message encryption for Web Push (RFC 8291, `aes128gcm` of RFC 8188):
/// one record, encrypted for the browser's P-256 key and auth secret with a
/// fresh ephemeral key pair and salt per message. Verified against RFC 8291
/// Appendix A in the tests (the key pair and salt can be given for that).
public enum WebPushEncryption {
    /// The record size written in the header (RFC 8291 asks for one record; push services take 4096 bytes).
    public static let recordSizeBytes = 4096
    /// Longest message that fits one 4096-byte record: 4096 − 86 header − 16 tag − 1 delimiter.
    public static let maxPlaintextBytes = 3993

    public struct Problem: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static func encrypt(_ plaintext: [UInt8], uaPublicKey: [UInt8], authSecret: [UInt8],
                               asPrivateKey: P256.KeyAgreement.PrivateKey = .init(),
                               salt: [UInt8] = (0..<16).map { _ in UInt8.random(in: 0...255) }) throws -> [UInt8] {
        guard plaintext.count <= maxPlaintextBytes else {
            throw Problem(description: "a push message holds at most \(maxPlaintextBytes) bytes; this one has \(plaintext.count)")
        }
        guard authSecret.count == 16 else { throw Problem(description: "the subscription's auth secret must be 16 bytes") }
        guard salt.count == 16 else { throw Problem(description: "the salt must be 16 bytes") }
        let ua: P256.KeyAgreement.PublicKey
        do {
            ua = try P256.KeyAgreement.PublicKey(x963Representation: uaPublicKey)
        } catch {
            throw Problem(description: "the subscription's p256dh is not an uncompressed P-256 point")
        }
        let asPublic = Array(asPrivateKey.publicKey.x963Representation)
        let shared = try asPrivateKey.sharedSecretFromKeyAgreement(with: ua)
        let ecdh = shared.withUnsafeBytes { Array($0) }
        // RFC 8291 §3.4: IKM = HKDF(salt = auth_secret, ikm = ecdh_secret, info = "WebPush: info" 0x00 ua_public as_public, 32).
        let keyInfo = Array("WebPush: info".utf8) + [0] + uaPublicKey + asPublic
        let ikm = hkdf(salt: authSecret, ikm: ecdh, info: keyInfo, length: 32)
        // RFC 8188 §2.2–2.3: CEK and nonce from the salt and IKM.
        let cek = hkdf(salt: salt, ikm: ikm, info: Array("Content-Encoding: aes128gcm".utf8) + [0], length: 16)
        let nonce = hkdf(salt: salt, ikm: ikm, info: Array("Content-Encoding: nonce".utf8) + [0], length: 12)
        // One record, the last: the message, then the delimiter 0x02 (no padding).
        let sealed = try AES.GCM.seal(plaintext + [2], using: SymmetricKey(data: cek), nonce: AES.GCM.Nonce(data: nonce))
        let rs = UInt32(recordSizeBytes)
        let header = salt + [UInt8(rs >> 24), UInt8(rs >> 16 & 0xff), UInt8(rs >> 8 & 0xff), UInt8(rs & 0xff)]
            + [UInt8(asPublic.count)] + asPublic
        return header + Array(sealed.ciphertext) + Array(sealed.tag)
    }

    /// HKDF-SHA-256 (RFC 5869), extract then expand.
    static func hkdf(salt: [UInt8], ikm: [UInt8], info: [UInt8], length: Int) -> [UInt8] {
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: ikm), salt: salt, info: info, outputByteCount: length)
        return key.withUnsafeBytes { Array($0) }
    }
}

/// The server's VAPID identity (RFC 8292): an ES256 JWT per push service
/// origin, and the public key browsers subscribe with.
public struct VAPIDKey: Sendable {
    public let privateKey: P256.Signing.PrivateKey
    /// Longest validity of a VAPID token: RFC 8292 allows at most 24 hours.
    public static let tokenLifetimeSeconds: Double = 12 * 3600

    public init(privateKey: P256.Signing.PrivateKey) { self.privateKey = privateKey }

    /// The uncompressed public key, base64url: the `applicationServerKey` and the `k=` parameter.
    public var publicKey: String { Base64URL.encode(privateKey.publicKey.x963Representation) }

    /// `vapid t=<JWT>, k=<key>` for a push to `endpoint`.
    public func authorization(endpoint: String, subject: String, now: Date) throws -> String {
        guard let audience = Self.origin(of: endpoint) else {
            throw WebPushEncryption.Problem(description: "the push endpoint \(endpoint.prefix(100)) is not an http(s) URL")
        }
        let header = Base64URL.encode(Data(#"{"typ":"JWT","alg":"ES256"}"#.utf8))
        let claims: [String: JSONValueLike] = ["aud": .string(audience), "exp": .int(Int(now.timeIntervalSince1970 + Self.tokenLifetimeSeconds)),
                                               "sub": .string(subject)]
        let payload = Base64URL.encode(try JSONSerialization.data(withJSONObject: claims.mapValues(\.any), options: [.sortedKeys, .withoutEscapingSlashes]))
        let input = header + "." + payload
        let signature = try privateKey.signature(for: Data(input.utf8))
        return "vapid t=\(input).\(Base64URL.encode(signature.rawRepresentation)), k=\(publicKey)"
    }

    /// `scheme://host[:port]` of a URL: the audience of its VAPID token.
    public static func origin(of url: String) -> String? {
        guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = u.host else {
            return nil
        }
        return "\(scheme)://\(host)" + (u.port.map { ":\($0)" } ?? "")
    }

    enum JSONValueLike {
        case string(String), int(Int)
        var any: Any {
            switch self {
            case .string(let s): s
            case .int(let i): i
            }
        }
    }
}
