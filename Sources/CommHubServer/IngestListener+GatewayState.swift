import CommHubDomain
import CommHubEngine
import CommHubWire
import Foundation

/// `gatewayStateGet` / `gatewayStatePut` (see `GatewayProtocol.StateRequest`):
/// what a gateway keeps about a channel, journaled in the engine, its
/// secrets sealed with the channel secrets' key and opened only for a
/// gateway token's connection.
extension IngestListener {
    func gatewayState(_ frame: IngestProtocol.Frame) async throws -> Pending {
        let secrets = api.secrets
        if frame.kind == IngestProtocol.Kind.gatewayStateGet.rawValue {
            let request = try WireJSON.decode(GatewayProtocol.StateRequest.self, from: frame.payload, limits: .ingestFrame)
            guard await api.supervisor.channel(request.channelID) != nil else { throw EngineError.notFound("channel", request.channelID) }
            let state = await api.supervisor.gatewayState(request.channelID) ?? GatewayState()
            let clear: [String: String]
            do {
                clear = try state.sealedSecrets.map(secrets.open) ?? [:]
            } catch {
                throw EngineError(.unavailable, "the channel's gateway secrets cannot be opened (was the master key changed?)")
            }
            let answer = GatewayProtocol.ChannelState(channelID: request.channelID, values: state.values, secrets: clear)
            return Pending(frame: .init(kind: .gatewayState, requestID: frame.requestID, payload: try Self.encode(answer)))
        }
        let put = try WireJSON.decode(GatewayProtocol.StatePut.self, from: frame.payload, limits: .ingestFrame)
        var secretChanges: [String: String?] = [:]
        for (k, v) in put.secrets {
            switch v {
            case .string(let s) where !s.isEmpty: secretChanges[k] = .some(s)
            case .null, .string: secretChanges[k] = .some(nil)
            default: throw EngineError.invalid("secrets.\(k.prefix(60)) must be a string, or null to remove it")
            }
        }
        let seq = try await api.supervisor.changeGatewayState(
            channel: put.channelID, set: put.set, remove: put.remove, secrets: secretChanges,
            open: { try secrets.open(Data($0)) }, seal: { Array(try secrets.seal($0)) })
        return Pending(frame: .init(kind: .gatewayStateStored, requestID: frame.requestID,
                                    payload: try Self.encode(GatewayProtocol.StateStored(seq: seq ?? 0))),
                       durableSeq: seq)
    }
}
