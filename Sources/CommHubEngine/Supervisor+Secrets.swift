import CommHubDomain
import Foundation

/// Secrets sealed under the master key (channel secrets, gateway state,
/// the Microsoft sign-in client secret, the Web Push key) across a master
/// key rotation. The engine never opens a secret: the server's key holder
/// hands in `reseal`, which answers nil for a blob already under the newest
/// key and the re-sealed bytes otherwise.
///
/// Every secret sealed outside the supervisor (a channel created over the
/// API, the sign-in settings, the push key) passes `secretReseal` when it
/// is committed, so a request that sealed with the old key just before a
/// rotation switched keys still lands under the new one: the final
/// `resealSecrets` pass and the key switch happen in one supervisor turn,
/// and everything committed after it is re-sealed on the way in.
extension Supervisor {
    /// Secrets re-sealed per journal write, at most (a rotation takes as many writes as it needs).
    public static let resealBatchSecrets = 256

    public func installSecretReseal(_ reseal: @escaping @Sendable (Data) throws -> Data?) {
        secretReseal = reseal
    }

    /// Journals, for up to `resealBatchSecrets` stored secrets not under the
    /// newest key, the same record with the secret re-sealed; then runs
    /// `afterLastBatch` in the same turn when none is left. Returns how many
    /// were re-sealed and the last sequence number written (nil: none).
    public func resealSecrets(with reseal: @Sendable (Data) throws -> Data?,
                              afterLastBatch: @Sendable () -> Void = {}) throws -> (resealed: Int, seq: UInt64?, done: Bool) {
        var events: [EngineEvent] = []
        let limit = Self.resealBatchSecrets
        for id in state.channels.keys.sorted() where events.count < limit {
            guard var c = state.channels[id], let sealed = c.sealedSecrets, let again = try reseal(sealed) else { continue }
            c.sealedSecrets = again
            events.append(.channelUpserted(c))
        }
        for (channel, g) in state.gatewayStates.sorted(by: { $0.key < $1.key }) where events.count < limit {
            guard let sealed = g.sealedSecrets, let again = try reseal(sealed) else { continue }
            events.append(.gatewayStateChanged(GatewayStateChange(channel: channel, set: [:], removed: [],
                                                                  sealedSecrets: again, secretsChanged: true)))
        }
        if events.count < limit, var m = state.web.microsoft, let sealed = m.sealedClientSecret, let again = try reseal(sealed) {
            m.sealedClientSecret = again
            events.append(.webAccess(.microsoftSignInChanged(m)))
        }
        if events.count < limit, let sealed = state.web.sealedPushKey, let again = try reseal(sealed) {
            events.append(.webAccess(.pushKeyCreated(sealedPrivateKey: again)))
        }
        let seq = try commit(events).last?.seq
        let done = events.count < limit
        if done { afterLastBatch() }
        return (events.count, seq, done)
    }

    /// `event` with its sealed secret re-sealed under the newest key (when a rotation moved past its key).
    func resealedSecrets(in event: WebAccessEvent) throws -> WebAccessEvent {
        guard let reseal = secretReseal else { return event }
        switch event {
        case .microsoftSignInChanged(var m?):
            if let sealed = m.sealedClientSecret, let again = try reseal(sealed) { m.sealedClientSecret = again }
            return .microsoftSignInChanged(m)
        case .pushKeyCreated(let sealed):
            return .pushKeyCreated(sealedPrivateKey: try reseal(sealed) ?? sealed)
        default:
            return event
        }
    }
}

