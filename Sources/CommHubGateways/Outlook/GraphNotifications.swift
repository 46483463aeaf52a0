import CommHubDomain
import Foundation

/// Microsoft Graph's validation handshake: when a subscription is created
/// Graph posts to the notification URL (and the lifecycle URL) with
/// `?validationToken=<url-encoded token>` and no JSON body; the endpoint
/// must answer within 10 seconds `200`, `text/plain`, the token URL-decoded.
public enum GraphValidation {
    /// Longest token answered (Graph's are well under 1 KiB).
    public static let maxTokenBytes = 4_096

    /// The decoded `validationToken` of a raw query string (`+` is a space,
    /// `%XX` a byte), or nil when the query has none. A token that is not
    /// UTF-8 after decoding, or too long, is nil too.
    public static func token(fromQuery query: String) -> String? {
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard decode(parts[0]) == "validationToken" else { continue }
            guard let value = parts.count > 1 ? decode(parts[1]) : "", value.utf8.count <= maxTokenBytes else { return nil }
            return value
        }
        return nil
    }

    /// Form decoding of one query component.
    static func decode(_ s: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            switch b {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else { return nil }
                bytes.append(v)
                it = it.dropFirst(2)
            default: bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// One change notification (`changeNotification`): which subscription,
/// the secret it echoes, what changed. The resource's id is taken from
/// `resourceData.id` (never parsed out of `resource`, whose spelling Graph
/// does not promise).
public struct GraphChangeNotification: Sendable, Hashable {
    public var subscriptionID: String
    public var clientState: String?
    public var changeType: String
    public var resourceID: String
    /// `#Microsoft.Graph.Message`, `#Microsoft.Graph.Event`.
    public var resourceType: String?

    public init(subscriptionID: String, clientState: String?, changeType: String, resourceID: String, resourceType: String?) {
        self.subscriptionID = subscriptionID; self.clientState = clientState; self.changeType = changeType
        self.resourceID = resourceID; self.resourceType = resourceType
    }
}

/// The three lifecycle events (`lifecycleEvent`) Graph sends to the lifecycle URL.
public enum GraphLifecycleEvent: Sendable, Hashable {
    case reauthorizationRequired, subscriptionRemoved, missed
    case other(String)

    init(_ raw: String) {
        switch raw {
        case "reauthorizationRequired": self = .reauthorizationRequired
        case "subscriptionRemoved": self = .subscriptionRemoved
        case "missed": self = .missed
        default: self = .other(raw)
        }
    }

    public var name: String {
        switch self {
        case .reauthorizationRequired: "reauthorizationRequired"
        case .subscriptionRemoved: "subscriptionRemoved"
        case .missed: "missed"
        case .other(let s): s
        }
    }
}

public struct GraphLifecycleNotification: Sendable, Hashable {
    public var subscriptionID: String
    public var clientState: String?
    public var event: GraphLifecycleEvent
}

/// A notification batch (`changeNotificationCollection`): change and
/// lifecycle notifications may come in one `value` array, for several
/// subscriptions (a lifecycle URL may equal the notification URL).
public struct GraphNotificationBatch: Sendable, Hashable {
    public var changes: [GraphChangeNotification] = []
    public var lifecycle: [GraphLifecycleNotification] = []
    public var subscriptionIDs: [String] { changes.map(\.subscriptionID) + lifecycle.map(\.subscriptionID) }
}

/// Why a notification body was refused; names the field, never its content.
public struct GraphNotificationError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
}

public enum GraphNotificationParser {
    /// Largest body read.
    public static let maxBodyBytes = 1 << 20
    /// Most notifications of one batch (Graph batches a few dozen).
    public static let maxNotifications = 1_000
    /// Longest id or secret taken from a notification.
    public static let maxFieldBytes = 1_024

    public static func parse(_ body: Data) throws(GraphNotificationError) -> GraphNotificationBatch {
        guard body.count <= maxBodyBytes else { throw GraphNotificationError(description: "body is larger than \(maxBodyBytes) bytes") }
        guard let json = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            throw GraphNotificationError(description: "body is not JSON")
        }
        guard let list = json["value"]?.arrayItems else { throw GraphNotificationError(description: "value: an array is required") }
        guard list.count <= maxNotifications else {
            throw GraphNotificationError(description: "value: at most \(maxNotifications) notifications in one batch")
        }
        var batch = GraphNotificationBatch()
        for (i, item) in list.enumerated() {
            guard item.objectValue != nil else { throw GraphNotificationError(description: "value[\(i)]: an object is required") }
            let subscription = try field(item, "subscriptionId", i)
            let clientState = try optional(item, "clientState", i)
            if let event = try optional(item, "lifecycleEvent", i) {
                batch.lifecycle.append(GraphLifecycleNotification(subscriptionID: subscription, clientState: clientState,
                                                                  event: GraphLifecycleEvent(event)))
                continue
            }
            let change = try field(item, "changeType", i)
            guard let data = item["resourceData"], data.objectValue != nil else {
                throw GraphNotificationError(description: "value[\(i)].resourceData: an object is required")
            }
            guard let id = data["id"]?.stringValue, !id.isEmpty, id.utf8.count <= maxFieldBytes else {
                throw GraphNotificationError(description: "value[\(i)].resourceData.id: a string of 1 to \(maxFieldBytes) bytes is required")
            }
            batch.changes.append(GraphChangeNotification(subscriptionID: subscription, clientState: clientState, changeType: change,
                                                         resourceID: id, resourceType: data["@odata.type"]?.stringValue))
        }
        return batch
    }

    static func field(_ item: JSONValue, _ name: String, _ i: Int) throws(GraphNotificationError) -> String {
        guard let v = try optional(item, name, i), !v.isEmpty else {
            throw GraphNotificationError(description: "value[\(i)].\(name): a string is required")
        }
        return v
    }

    static func optional(_ item: JSONValue, _ name: String, _ i: Int) throws(GraphNotificationError) -> String? {
        switch item[name] {
        case nil, .null?: return nil
        case .string(let s)?:
            guard s.utf8.count <= maxFieldBytes else {
                throw GraphNotificationError(description: "value[\(i)].\(name): at most \(maxFieldBytes) bytes")
            }
            return s
        default: throw GraphNotificationError(description: "value[\(i)].\(name): must be a string")
        }
    }
}

/// The `clientState` check: the secret a subscription was created with,
/// compared in time that depends only on the lengths, so that a forger
/// learns nothing from how long a refusal takes.
public enum ClientState {
    public static func matches(_ received: String?, _ expected: String) -> Bool {
        let a = Array((received ?? "").utf8), b = Array(expected.utf8)
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0 && !b.isEmpty
    }

    /// A new secret for a subscription: 32 random bytes, base64url (43
    /// characters, under Graph's 128).
    public static func make() -> String {
        var g = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
