import CommHubDomain

/// The declared keys of each channel type's `configuration` (API.md,
/// "Channel configuration keys"), and which of them are secrets. Secrecy
/// is decided by this schema, never guessed from a name at the top level
/// only:
///
/// - a declared secret must be a string (null or "" removes it); it is
///   split off, sealed by the server and never returned or logged;
/// - declared plain keys are type-checked (strings, booleans, lists, http(s)
///   base URLs) and kept;
/// - any other key, at any depth, whose name looks like a secret
///   (`token`, `secret`, `password`, `key`, `authorization`, `bearer`,
///   `credentials`, …) is refused, naming the key and the keys this channel
///   type allows: a secret under an undeclared name would otherwise be
///   stored in clear text and returned;
/// - any string, at any depth, that is a URL with credentials
///   (`https://user:pass@host`) or an Authorization value (`Bearer …`,
///   `Basic …`) is refused;
/// - other undeclared keys are kept as plain settings.
public enum ChannelConfigurationSchema {
    public enum Kind: Sendable, Equatable {
        case secret
        case string
        case bool
        case stringList
        /// An http(s) URL without credentials.
        case url
        /// `"08:00-17:00"` or a weekly object.
        case stringOrObject
        /// Any JSON (checked for secret-looking keys inside).
        case json
    }

    /// The declared keys of `type`, in the order API.md lists them.
    public static func keys(of type: ChannelType) -> [(name: String, kind: Kind)] {
        switch type {
        case .emailOutlook:
            [("tenant_id", .string), ("client_id", .string), ("client_secret", .secret), ("mailbox", .string),
             ("webhook_url", .url), ("sync_folders", .stringList), ("auto_create_threads", .bool),
             ("email_signature", .string), ("calendar", .json), ("login_base_url", .url), ("graph_base_url", .url),
             // Out-of-hours auto-responses (true) and the channel's own business hours (BusinessHoursSpec).
             ("auto_responses", .json), ("business_hours", .stringOrObject),
             // Older: one clientState for every subscription. The gateway now makes a secret one per
             // subscription and keeps it sealed in the engine; when set, this one is used instead.
             ("client_state", .secret),
             // Graph's lifecycle notifications; default webhook_url + "/lifecycle".
             ("lifecycle_url", .url),
             // Events in `calendar` whose category or subject prefix is one of these become follow-up tasks.
             ("follow_up_categories", .stringList), ("follow_up_subject_prefixes", .stringList),
             // Mail from an unknown address creates a customer unless false.
             ("auto_create_customers", .bool)]
        case .whatsappBusiness:
            [("business_account_id", .string), ("phone_number_id", .string), ("access_token", .secret),
             ("app_secret", .secret), ("verify_token", .secret), ("webhook_url", .url), ("auto_responses", .json),
             ("business_hours", .stringOrObject), ("graph_base_url", .url),
             // Opening a thread marks the customer's last message read at Meta (blue ticks) unless false.
             ("mark_as_read", .bool),
             // Older name of graph_base_url, still read.
             ("whatsapp_base_url", .url)]
        case .sms:
            [("account_sid", .string), ("auth_token", .secret), ("from", .string), ("messaging_service_sid", .string),
             ("webhook_url", .url), ("api_base_url", .url),
             ("auto_responses", .json), ("business_hours", .stringOrObject),
             // Where Twilio posts status callbacks (signed with this URL); default webhook_url + "/status".
             ("status_callback_url", .url),
             // Older names of from and api_base_url (the demo company uses from_number).
             ("from_number", .string), ("sms_base_url", .url)]
        case .phoneCall:
            [("phone_number", .string), ("description", .string)]
        case .internalComment, .internalTask, .internalTicket:
            [("description", .string)]
        }
    }

    /// A configuration split into what is kept in clear and the secrets to
    /// set (a nil value removes that secret).
    public struct Split: Sendable, Equatable {
        public var plain: [String: JSONValue] = [:]
        public var secrets: [String: String?] = [:]
    }

    /// Refusal: names the key (with its path) and says what is allowed. The API answers 422.
    public struct Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "configuration.\(path) \(reason)" }
    }

    /// Most characters of one secret.
    public static let maxSecretCharacters = 4_096

    public static func split(_ configuration: [String: JSONValue], for type: ChannelType) throws(Refusal) -> Split {
        let declared = Dictionary(keys(of: type).map { ($0.name, $0.kind) }, uniquingKeysWith: { a, _ in a })
        var out = Split()
        for key in configuration.keys.sorted() {
            let value = configuration[key]!
            guard let kind = declared[key] else {
                if looksSecret(key) { throw Refusal(path: key, reason: notAllowed(type)) }
                try checkNested(value, path: key, type: type)
                if value != .null { out.plain[key] = value }
                continue
            }
            if kind == .secret {
                switch value {
                case .null: out.secrets[key] = .some(nil)
                case .string(let s) where s.isEmpty: out.secrets[key] = .some(nil)
                case .string(let s) where s.unicodeScalars.count > maxSecretCharacters:
                    throw Refusal(path: key, reason: "is a secret of at most \(maxSecretCharacters) characters")
                case .string(let s): out.secrets[key] = .some(s)
                default: throw Refusal(path: key, reason: "is a secret and must be a string (null removes it)")
                }
                continue
            }
            try check(value, kind: kind, path: key, type: type)
            if value != .null { out.plain[key] = value }
        }
        return out
    }

    static func check(_ value: JSONValue, kind: Kind, path: String, type: ChannelType) throws(Refusal) {
        if value == .null { return }
        switch (kind, value) {
        case (.string, .string), (.bool, .bool), (.json, _):
            break
        case (.stringOrObject, .string), (.stringOrObject, .object):
            // Only business_hours has this kind: it must read as opening hours.
            do { _ = try BusinessHoursSpec.calendar(value, path: path) } catch {
                throw Refusal(path: error.path, reason: error.reason)
            }
        case (.stringList, .array(let a)) where a.allSatisfy({ $0.stringValue != nil }):
            break
        case (.url, .string(let s)):
            if hasCredentials(s) {
                throw Refusal(path: path, reason: "must not hold a user name or password; put credentials in the channel's secret keys (\(secretKeys(type)))")
            }
            guard isHTTPURL(s) else { throw Refusal(path: path, reason: "must be an http(s) URL such as https://graph.microsoft.com") }
        case (.string, _): throw Refusal(path: path, reason: "must be a string")
        case (.bool, _): throw Refusal(path: path, reason: "must be true or false")
        case (.stringList, _): throw Refusal(path: path, reason: "must be a list of strings")
        case (.url, _): throw Refusal(path: path, reason: "must be an http(s) URL such as https://graph.microsoft.com")
        case (.stringOrObject, _): throw Refusal(path: path, reason: "must be a string such as \"08:00-17:00\" or an object")
        case (.secret, _): break
        }
        try checkNested(value, path: path, type: type)
    }

    /// Walks a value (iteratively): no key that looks secret, no URL with
    /// credentials, no Authorization value, at any depth.
    static func checkNested(_ value: JSONValue, path: String, type: ChannelType) throws(Refusal) {
        var work: [(JSONValue, String)] = [(value, path)]
        while let (v, p) = work.popLast() {
            switch v {
            case .string(let s):
                if hasCredentials(s) {
                    throw Refusal(path: p, reason: "holds a URL with a user name or password; put credentials in the channel's secret keys (\(secretKeys(type)))")
                }
                if looksLikeAuthorization(s) {
                    throw Refusal(path: p, reason: "holds an Authorization value; put credentials in the channel's secret keys (\(secretKeys(type)))")
                }
            case .array(let a):
                for (i, e) in a.enumerated() { work.append((e, "\(p)[\(i)]")) }
            case .object(let o):
                for (k, e) in o {
                    if looksSecret(k) { throw Refusal(path: "\(p).\(k)", reason: notAllowed(type)) }
                    work.append((e, "\(p).\(k)"))
                }
            default:
                break
            }
        }
    }

    static func secretKeys(_ type: ChannelType) -> String {
        let s = keys(of: type).filter { $0.kind == .secret }.map(\.name)
        return s.isEmpty ? "this channel type has none" : s.joined(separator: ", ")
    }

    static func notAllowed(_ type: ChannelType) -> String {
        let allowed = keys(of: type).map { $0.kind == .secret ? $0.name + " (secret)" : $0.name }.joined(separator: ", ")
        return "looks like a secret but is not a secret key of \(type.rawValue) channels; allowed keys: \(allowed)"
    }

    /// Names that hold credentials, whatever their spelling: split into words
    /// at `_`, `-`, `.`, spaces and camelCase humps.
    public static func looksSecret(_ key: String) -> Bool {
        let squashed = key.lowercased().filter { $0.isLetter || $0.isNumber }
        let fragments = ["token", "secret", "passw", "passphrase", "apikey", "privatekey", "authorization", "bearer",
                         "credential", "clientstate", "accesskey", "signingkey", "sessionid", "cookie"]
        if fragments.contains(where: squashed.contains) { return true }
        let words = Set(splitWords(key))
        return !words.isDisjoint(with: ["key", "pass", "pwd", "pin", "auth", "otp", "jwt", "sas", "hmac"])
    }

    static func splitWords(_ key: String) -> [String] {
        var words: [String] = []
        var current = ""
        var previousLower = false
        for ch in key {
            if !(ch.isLetter || ch.isNumber) {
                if !current.isEmpty { words.append(current.lowercased()) }
                current = ""
                previousLower = false
                continue
            }
            if ch.isUppercase, previousLower, !current.isEmpty {
                words.append(current.lowercased())
                current = ""
            }
            current.append(ch)
            previousLower = ch.isLowercase || ch.isNumber
        }
        if !current.isEmpty { words.append(current.lowercased()) }
        return words
    }

    /// `scheme://user[:password]@host…`: credentials in the authority part.
    public static func hasCredentials(_ s: String) -> Bool {
        guard let r = s.range(of: "://") else { return false }
        let authority = s[r.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return authority.contains("@")
    }

    static func looksLikeAuthorization(_ s: String) -> Bool {
        let lower = s.prefix(16).lowercased()
        return lower.hasPrefix("bearer ") || lower.hasPrefix("basic ") || lower.hasPrefix("digest ")
    }

    static func isHTTPURL(_ s: String) -> Bool {
        let lower = s.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else { return false }
        let rest = s.drop { $0 != ":" }.dropFirst(3)
        return !rest.isEmpty && !hasCredentials(s) && !s.contains(where: { $0 == " " || $0.isNewline })
    }
}
