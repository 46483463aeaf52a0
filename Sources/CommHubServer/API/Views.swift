import CommHubDomain
import CommHubEngine
import CommHubWire
import Foundation

/// JSON shapes of the API (snake_case through `ContractJSON`).
enum View {
    static func json(_ value: some Encodable) throws -> JSONValue {
        let data = try ContractJSON.sharedEncoder.encode(value)
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// A message: header fields plus body fields.
    static func message(_ h: MessageHeader, body: MessageBody?) throws -> JSONValue {
        var o = try json(h).objectValue ?? [:]
        if let body, let b = try json(body).objectValue { o.merge(b) { a, _ in a } }
        return .object(o)
    }

    /// A channel with its secrets removed: only their names are listed.
    static func channel(_ c: Channel, secretNames: [String]) throws -> JSONValue {
        var o = try json(c).objectValue ?? [:]
        o["sealed_secrets"] = nil
        o["secrets_set"] = .array(secretNames.sorted().map(JSONValue.string))
        return .object(o)
    }

    /// A channel as agents and team leaders see it: enough to pick and
    /// label channels in the inbox, none of its configuration.
    static func channelSummary(_ c: Channel) -> JSONValue {
        .object(["id": .string(c.id.description), "channel_type": .string(c.channelType.rawValue),
                 "channel_name": .string(c.channelName), "is_active": .bool(c.isActive),
                 "business_entity": c.businessEntity.map { .string($0.rawValue) } ?? .null])
    }

    static func token(_ t: APIToken) throws -> JSONValue {
        var o = try json(t).objectValue ?? [:]
        o["secret_hash"] = nil
        return .object(o)
    }
}
