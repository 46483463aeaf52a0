import CommHubDomain
import Foundation

extension GatewayProtocol {
    /// `gatewayStateGet` (0x09): `{"channel_id":…}` → `gatewayState` (0x8C) `ChannelState`.
    ///
    /// A gateway is stateless; what it must remember about a channel across
    /// its own restarts and the engine's (Microsoft Graph subscription ids,
    /// their expiries and `clientState` secrets, delta links, notifications
    /// queued for fetching) it keeps in the engine: `gatewayStatePut` journals
    /// a change, answered `gatewayStateStored` (0x8D) `{"seq":…}` once durable;
    /// `gatewayStateGet` hands it back. Secrets travel in clear only over the
    /// gateway's authenticated connection and are sealed at rest like channel
    /// secrets. Gateway tokens only.
    public struct StateRequest: Codable, Sendable, Hashable {
        public var channelID: ChannelID
        public init(channelID: ChannelID) { self.channelID = channelID }
    }

    /// A channel's gateway state as a gateway sees it.
    public struct ChannelState: Codable, Sendable, Hashable {
        public var channelID: ChannelID
        public var values: [String: JSONValue]
        /// Never logged, never written to disk by the gateway.
        public var secrets: [String: String]

        public init(channelID: ChannelID, values: [String: JSONValue], secrets: [String: String]) {
            self.channelID = channelID; self.values = values; self.secrets = secrets
        }
    }

    /// `gatewayStatePut`: keys to set (or replace), keys to remove, secrets
    /// to set (a string sets one, null removes it). Applied all or nothing.
    /// (Maps of keys, not keyed containers: the contract's key strategies
    /// never touch a gateway's own key names.)
    public struct StatePut: Codable, Sendable, Hashable {
        public var channelID: ChannelID
        public var set: [String: JSONValue]
        public var remove: [String]
        public var secrets: [String: JSONValue]

        public init(channelID: ChannelID, set: [String: JSONValue] = [:], remove: [String] = [], secrets: [String: JSONValue] = [:]) {
            self.channelID = channelID; self.set = set; self.remove = remove; self.secrets = secrets
        }

        enum CodingKeys: String, CodingKey { case channelID, set, remove, secrets }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            channelID = try c.decode(ChannelID.self, forKey: .channelID)
            set = try c.decodeIfPresent([String: JSONValue].self, forKey: .set) ?? [:]
            remove = try c.decodeIfPresent([String].self, forKey: .remove) ?? []
            secrets = try c.decodeIfPresent([String: JSONValue].self, forKey: .secrets) ?? [:]
        }

        public var isEmpty: Bool { self.set.isEmpty && remove.isEmpty && secrets.isEmpty }
    }

    /// The answer to `gatewayStatePut`.
    public struct StateStored: Codable, Sendable, Hashable {
        public var seq: UInt64
        public init(seq: UInt64) { self.seq = seq }
    }
}
