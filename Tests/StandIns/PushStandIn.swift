import Crypto
import Foundation
import Synchronization

/// A Web Push service on loopback, for one browser subscription: it holds
/// the browser's side (a P-256 key pair and an auth secret), and for each
/// `POST /push/<id>` checks what a real push service checks — `TTL`,
/// `Content-Encoding: aes128gcm`, the VAPID `Authorization` (an ES256 JWT
/// whose audience is this origin, valid at most 24 hours, signed by the key
/// in `k=`) — then decrypts the body as the browser would (RFC 8291 / RFC
/// 8188, written here independently of CommHub's encryption) and keeps the
/// plaintext. Answers 201, or what `enqueue` scripts (410 Gone, 429).
public final class PushStandIn: Sendable {
    public let server: StandInServer
    public let browserKey = P256.KeyAgreement.PrivateKey()
    public let authSecret: [UInt8] = (0..<16).map { _ in UInt8.random(in: 0...255) }
    private let received = Mutex<[Delivery]>([])
    private let problems = Mutex<[String]>([])

    public struct Delivery: Sendable {
        public var plaintext: [UInt8]
        public var vapidKey: String
        public var ttl: String?
        public var urgency: String?
        public var text: String { String(decoding: plaintext, as: UTF8.self) }
        public var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(plaintext)) as? [String: Any] }
    }

    public init() {
        let box = Mutex<PushStandIn?>(nil)
        server = StandInServer(name: "push") { request, _ in
            box.withLock { $0 }?.accept(request) ?? .json(503, [:])
        }
        box.withLock { $0 = self }
    }

    public func start() async throws { try await server.start() }
    public func stop() async { await server.stop() }

    public var endpoint: String { "\(server.baseURL)/push/subscription-1" }
    public var p256dh: String { Self.b64url(browserKey.publicKey.x963Representation) }
    public var auth: String { Self.b64url(Data(authSecret)) }
    /// `PushSubscription.toJSON()` of the browser this stands in for.
    public var subscriptionJSON: String { #"{"endpoint":"\#(endpoint)","expirationTime":null,"keys":{"p256dh":"\#(p256dh)","auth":"\#(auth)"}}"# }

    public var deliveries: [Delivery] { received.withLock { $0 } }
    /// Requests refused, and why (a broken encryption or VAPID token lands here, not in `deliveries`).
    public var refusals: [String] { problems.withLock { $0 } }

    func accept(_ r: RecordedRequest) -> StandInAnswer {
        do {
            guard r.method == "POST" else { throw Refusal("method \(r.method)") }
            guard r.header("ttl") != nil else { throw Refusal("no TTL header") }
            guard r.header("content-encoding") == "aes128gcm" else { throw Refusal("Content-Encoding is not aes128gcm") }
            let k = try checkVAPID(r.header("authorization") ?? "", host: r.header("host") ?? "")
            let plain = try decrypt(r.body)
            received.withLock { $0.append(Delivery(plaintext: plain, vapidKey: k, ttl: r.header("ttl"), urgency: r.header("urgency"))) }
            return .respond(status: 201, headers: ["Location": "\(server.baseURL)/message/\(UUID())"], body: [])
        } catch {
            problems.withLock { $0.append("\(error)") }
            return .json(error is VAPIDRefusal ? 403 : 400, ["reason": "\(error)"])
        }
    }

    struct Refusal: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }
    struct VAPIDRefusal: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

    /// `vapid t=<jwt>, k=<key>`: the ES256 signature by k, aud = this origin, exp within 24 h. Returns k.
    func checkVAPID(_ header: String, host: String) throws -> String {
        guard header.hasPrefix("vapid ") else { throw VAPIDRefusal("Authorization is not 'vapid t=…, k=…'") }
        var params: [String: String] = [:]
        for part in header.dropFirst(6).split(separator: ",") {
            let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { params[kv[0]] = kv[1] }
        }
        guard let jwt = params["t"], let k = params["k"], let keyData = Self.unb64url(k),
              let key = try? P256.Signing.PublicKey(x963Representation: keyData) else { throw VAPIDRefusal("t or k missing or unreadable") }
        let parts = jwt.split(separator: ".").map(String.init)
        guard parts.count == 3, let sig = Self.unb64url(parts[2]), let signature = try? P256.Signing.ECDSASignature(rawRepresentation: sig),
              key.isValidSignature(signature, for: Data((parts[0] + "." + parts[1]).utf8)) else {
            throw VAPIDRefusal("the JWT's ES256 signature does not verify with k")
        }
        guard let h = Self.unb64url(parts[0]).flatMap({ try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }),
              h["alg"] as? String == "ES256",
              let c = Self.unb64url(parts[1]).flatMap({ try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }) else {
            throw VAPIDRefusal("the JWT header or claims are unreadable")
        }
        guard c["aud"] as? String == "http://\(host)" else { throw VAPIDRefusal("aud \(c["aud"] ?? "nil") is not http://\(host)") }
        guard let exp = c["exp"] as? Double ?? (c["exp"] as? Int).map(Double.init),
              exp > Date().timeIntervalSince1970, exp <= Date().timeIntervalSince1970 + 24 * 3600 else {
            throw VAPIDRefusal("exp is not within the next 24 hours")
        }
        guard (c["sub"] as? String)?.hasPrefix("mailto:") == true || (c["sub"] as? String)?.hasPrefix("https:") == true else {
            throw VAPIDRefusal("sub is not a mailto: or https: contact")
        }
        return k
    }

    /// RFC 8188 record decryption with the RFC 8291 key schedule, as a browser does it.
    public func decrypt(_ body: [UInt8]) throws -> [UInt8] {
        guard body.count > 86 + 16 else { throw Refusal("body too short for an aes128gcm record") }
        let salt = Array(body[0..<16])
        let rs = body[16..<20].reduce(0) { $0 << 8 | Int($1) }
        let idlen = Int(body[20])
        guard idlen == 65, rs >= 18 else { throw Refusal("keyid length \(idlen), record size \(rs)") }
        let asPublic = Array(body[21..<86])
        let record = Array(body[86...])
        guard record.count <= rs else { throw Refusal("more than one record") }
        let shared = try browserKey.sharedSecretFromKeyAgreement(with: P256.KeyAgreement.PublicKey(x963Representation: asPublic))
        let ecdh = shared.withUnsafeBytes { Array($0) }
        func hmac(_ key: [UInt8], _ data: [UInt8]) -> [UInt8] {
            Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
        }
        let uaPublic = Array(browserKey.publicKey.x963Representation)
        let prkKey = hmac(authSecret, ecdh)
        let ikm = hmac(prkKey, Array("WebPush: info".utf8) + [0] + uaPublic + asPublic + [1])
        let prk = hmac(salt, ikm)
        let cek = Array(hmac(prk, Array("Content-Encoding: aes128gcm".utf8) + [0, 1]).prefix(16))
        let nonce = Array(hmac(prk, Array("Content-Encoding: nonce".utf8) + [0, 1]).prefix(12))
        let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: nonce), ciphertext: record.dropLast(16), tag: record.suffix(16))
        var plain = Array(try AES.GCM.open(box, using: SymmetricKey(data: cek)))
        while plain.last == 0 { plain.removeLast() }
        guard plain.last == 2 else { throw Refusal("the last record does not end with the 0x02 delimiter") }
        plain.removeLast()
        return plain
    }

    static func b64url(_ d: Data) -> String {
        d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func unb64url(_ s: String) -> Data? {
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        t += String(repeating: "=", count: (4 - t.count % 4) % 4)
        return Data(base64Encoded: t)
    }
}
