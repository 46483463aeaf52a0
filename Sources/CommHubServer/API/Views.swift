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
    /// A message: header and body, and — for one a gateway delivers — where
    /// its delivery stands, in `metadata` (`delivery_stage`, `delivery_attempts`,
    /// `delivery_unknown`, `delivery_error {code, reason}`, `retry_at`, `resent_as`).
    static func message(_ h: MessageHeader, body: MessageBody?, delivery: OutboxEntry? = nil) throws -> JSONValue {
        var o = try json(h).objectValue ?? [:]
        if let body, let b = try json(body).objectValue { o.merge(b) { a, _ in a } }
        if let d = delivery {
            var meta = o["metadata"]?.objectValue ?? [:]
            meta["delivery_stage"] = .string(d.stage.rawValue)
            meta["delivery_attempts"] = .number(Double(d.attempts))
            if d.stage == .unknown { meta["delivery_unknown"] = .bool(true) }
            if d.errorReason != nil || d.errorCode != nil {
                meta["delivery_error"] = .object(["code": d.errorCode.map(JSONValue.string) ?? .null,
                                                  "reason": d.errorReason.map(JSONValue.string) ?? .null])
            }
            if d.stage == .waiting, let at = d.notBefore { meta["retry_at"] = .string(at.iso8601) }
            if let again = d.resentAs { meta["resent_as"] = .string(again.description) }
            o["metadata"] = .object(meta)
        }
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

    /// A task with `overdue`: pending and past its due moment (`TaskSchedule`).
    static func task(_ t: InternalTask, now: Date, calendar: BusinessCalendar) -> JSONValue {
        var o = (try? json(t).objectValue) ?? [:]
        o["overdue"] = .bool(TaskSchedule.isOverdue(t, at: now, calendar: calendar))
        return .object(o)
    }

    static func token(_ t: APIToken) throws -> JSONValue {
        var o = try json(t).objectValue ?? [:]
        o["secret_hash"] = nil
        return .object(o)
    }
}
