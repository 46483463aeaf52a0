import Crypto
import Foundation

// Twilio's request validation (`X-Twilio-Signature`), as pure values.
//
//     signature = base64(HMAC-SHA1(key: auth token,
//                                  message: URL + name₁ + value₁ + name₂ + value₂ + …))
//
// - URL: the public URL Twilio was given, exactly as configured (scheme,
//   host, port if any, path, query). A TLS proxy changes what the server
//   sees, so the channel's `webhook_url` is signed, never the request line.
// - Parameters: every POST parameter, sorted by name (byte order of the
//   UTF-8, i.e. code-point order: `Sid` < `SidAccount`, upper case before
//   lower case); a name given more than once contributes each of its values,
//   sorted, identical repeats once (as twilio-python does); empty values still
//   add their name. Twilio adds parameters without notice, so the check never
//   uses a fixed list.
// - Ports: Twilio has signed both with and without an explicit default port
//   (`:443` for https, `:80` for http), and its own validators accept either;
//   so does `TwilioSignatureVerifier`. A non-default port is part of the
//   address Twilio was given and is kept (twilio-python would also try the
//   URL without it; no Twilio documentation says it ever signs that way).

/// Why an `X-Twilio-Signature` was refused. Every case is an authentication
/// failure (HTTP 401); `code` is the stable error code.
public enum TwilioSignatureError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No `X-Twilio-Signature` header (or an empty one).
    case missingHeader
    /// Not base64, or not the 20 bytes of an HMAC-SHA1.
    case malformed
    /// Well-formed, but not this request signed with the channel's auth token.
    case mismatch

    public var code: String {
        switch self {
        case .missingHeader: "missing_signature"
        case .malformed: "malformed_signature"
        case .mismatch: "invalid_signature"
        }
    }

    public var description: String {
        switch self {
        case .missingHeader:
            "missing X-Twilio-Signature header; Twilio signs every webhook with the account's auth token"
        case .malformed:
            "X-Twilio-Signature must be the base64 of a 20-byte HMAC-SHA1"
        case .mismatch:
            "X-Twilio-Signature does not match this request signed with the channel's auth_token over its configured "
                + "webhook_url; check that webhook_url is exactly the URL set in the Twilio console"
        }
    }
}

/// A decoded `X-Twilio-Signature` header: the 20 bytes of an HMAC-SHA1.
public struct TwilioSignature: Sendable, Hashable {
    public static let headerName = "X-Twilio-Signature"
    /// Longest header value read (a valid one has 28 characters).
    public static let maxHeaderCharacters = 128

    public let bytes: [UInt8]

    /// Parses standard base64 (padding required, surrounding white space ignored).
    public init(header: String?) throws(TwilioSignatureError) {
        guard let raw = header?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { throw .missingHeader }
        guard raw.utf8.count <= Self.maxHeaderCharacters, let data = Data(base64Encoded: raw),
              data.count == Insecure.SHA1.byteCount else { throw .malformed }
        bytes = Array(data)
    }

    /// The exact bytes Twilio signs: `url` followed by every parameter's name
    /// and value, sorted as described at the top of this file.
    public static func signedText(url: String, parameters: [TwilioParameter]) -> [UInt8] {
        var out = Array(url.utf8)
        let sorted = parameters.map { (name: Array($0.name.utf8), value: Array($0.value.utf8)) }.sorted { a, b in
            a.name == b.name ? a.value.lexicographicallyPrecedes(b.value) : a.name.lexicographicallyPrecedes(b.name)
        }
        var previous: (name: [UInt8], value: [UInt8])? = nil
        for p in sorted {
            if let q = previous, q.name == p.name, q.value == p.value { continue }  // identical repeats once
            out += p.name
            out += p.value
            previous = p
        }
        return out
    }

    /// The header value Twilio sends for these parameters posted to `url`.
    public static func header(authToken: String, url: String, parameters: [TwilioParameter]) -> String {
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: signedText(url: url, parameters: parameters),
                                                          using: SymmetricKey(data: Data(authToken.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// The spellings of `url` a signature is checked against: as configured
    /// (without a `#fragment`, which is never sent), and with the scheme's
    /// default port added or removed. A non-default port stays.
    public static func urlVariants(_ url: String) -> [String] {
        var base = url
        if let hash = base.firstIndex(of: "#") { base = String(base[..<hash]) }
        var out = [base]
        if let alternative = defaultPortToggled(base), alternative != base { out.append(alternative) }
        return out
    }

    /// `https://host/…` ⇄ `https://host:443/…` and `http://host/…` ⇄
    /// `http://host:80/…`; nil when the URL has another port or is no http(s) URL.
    static func defaultPortToggled(_ url: String) -> String? {
        let lower = url.lowercased()
        let defaultPort: String
        let schemeLength: Int
        if lower.hasPrefix("https://") {
            (defaultPort, schemeLength) = ("443", 8)
        } else if lower.hasPrefix("http://") {
            (defaultPort, schemeLength) = ("80", 7)
        } else {
            return nil
        }
        let afterScheme = url.index(url.startIndex, offsetBy: schemeLength)
        let authorityEnd = url[afterScheme...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? url.endIndex
        let authority = url[afterScheme..<authorityEnd]
        // The port is after the last ':' outside an IPv6 literal (`[::1]:443`).
        let hostEnd = authority.lastIndex(of: "]") ?? authority.startIndex
        if let colon = authority[hostEnd...].lastIndex(of: ":") {
            let port = authority[authority.index(after: colon)...]
            guard port == defaultPort else { return nil }
            return String(url[..<colon]) + String(url[authorityEnd...])
        }
        return String(url[..<authorityEnd]) + ":" + defaultPort + String(url[authorityEnd...])
    }
}

/// One `name=value` pair of a form body, in the order it came.
public struct TwilioParameter: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Checks `X-Twilio-Signature` with one auth token. Build it once per token;
/// safe to use concurrently.
public struct TwilioSignatureVerifier: Sendable {
    private let key: SymmetricKey

    public init(authToken: String) {
        key = SymmetricKey(data: Data(authToken.utf8))
    }

    /// Whether `signature` signs these parameters posted to `url` (or to one
    /// of its port variants). Each comparison is constant-time.
    public func isValid(_ signature: TwilioSignature, url: String, parameters: [TwilioParameter]) -> Bool {
        guard signature.bytes.count == Insecure.SHA1.byteCount else { return false }
        var valid = false
        // Every variant is checked, so the time taken does not say which one matched.
        for variant in TwilioSignature.urlVariants(url) {
            let text = TwilioSignature.signedText(url: variant, parameters: parameters)
            if HMAC<Insecure.SHA1>.isValidAuthenticationCode(signature.bytes, authenticating: text, using: key) { valid = true }
        }
        return valid
    }

    /// Parses the header and checks it; throws the reason when it is refused.
    public func verify(header: String?, url: String, parameters: [TwilioParameter]) throws(TwilioSignatureError) {
        let signature = try TwilioSignature(header: header)
        guard isValid(signature, url: url, parameters: parameters) else { throw .mismatch }
    }
}
