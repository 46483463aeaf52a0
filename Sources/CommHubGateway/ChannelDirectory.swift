import CommHubDomain
import CommHubWire
import Synchronization

/// The channel configuration a gateway works with, secrets included: held
/// in memory only, replaced on every (re)connect and updated from the
/// engine's pushes. Nothing here is logged or written to disk.
public final class ChannelDirectory: Sendable {
    private let channels = Mutex<[ChannelID: GatewayProtocol.GatewayChannel]>([:])
    /// Bumped on every change, so workers notice new channels.
    private let version = Atomic<UInt64>(0)

    public init() {}

    public func replace(_ list: [GatewayProtocol.GatewayChannel]) {
        channels.withLock { $0 = Dictionary(list.map { ($0.id, $0) }, uniquingKeysWith: { $1 }) }
        version.add(1, ordering: .relaxed)
    }

    public func upsert(_ c: GatewayProtocol.GatewayChannel) {
        channels.withLock { $0[c.id] = c }
        version.add(1, ordering: .relaxed)
    }

    public subscript(_ id: ChannelID) -> GatewayProtocol.GatewayChannel? { channels.withLock { $0[id] } }

    /// Active channels of one type, in id order.
    public func active(_ type: ChannelType) -> [GatewayProtocol.GatewayChannel] {
        channels.withLock { $0.values.filter { $0.isActive && $0.channelType == type } }.sorted { $0.id < $1.id }
    }

    public var all: [GatewayProtocol.GatewayChannel] { channels.withLock { Array($0.values) }.sorted { $0.id < $1.id } }
    public var changeCount: UInt64 { version.load(ordering: .relaxed) }
}
