import CommHubDomain
import Crypto
import CommHubStore
import Foundation
import Synchronization

/// Seals channel secrets (provider tokens, app secrets, the Microsoft
/// sign-in client secret, the Web Push key) with AES-GCM under the master
/// key (`MasterKeys`: `COMMHUB_MASTER_KEY` or `<data>/master.key`). Sealed
/// secrets are what the journal and snapshots store; the API never returns
/// them, only the names of the secrets that are set. Which configuration
/// keys are secrets is declared per channel type by `ChannelConfigurationSchema`.
///
/// A reference type, shared by every holder, because a key rotation
/// (`commhub keys rotate`, `KeyRotation`) changes its keys while the server
/// runs: `useNext` makes the new master key the sealing key (the old one
/// still opens), `retireOlder` ends the old one's use for opening stored
/// secrets. A retired key stays in this process's memory only to re-seal a
/// secret that a request sealed just before the switch and hands in after
/// it (`resealed`); it is never written anywhere and is gone at the next start.
public final class SecretBox: Sendable {
    private struct Keys {
        /// Newest first: `[0]` seals.
        var active: [SymmetricKey]
        var retired: [SymmetricKey] = []
    }

    private let keys: Mutex<Keys>

    public init(key: SymmetricKey) { keys = Mutex(Keys(active: [key])) }

    /// The store's master keys: the newest seals, every one opens.
    public init(masters: MasterKeys) { keys = Mutex(Keys(active: masters.all)) }

    /// Loads the master keys of a data directory (as the store does), creating `master.key` when there is none.
    public static func load(dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SecretBox {
        SecretBox(masters: try MasterKeys.load(dataDirectory: dataDirectory, environment: environment))
    }

    /// A rotation starts: `key` seals from now on; the others still open.
    public func useNext(_ key: SymmetricKey) {
        keys.withLock { k in
            if let first = k.active.first, MasterKeys.same(first, key) { return }
            k.active.insert(key, at: 0)
        }
    }

    /// A rotation finished: only the newest key opens stored secrets.
    public func retireOlder() {
        keys.withLock { k in
            k.retired += k.active.dropFirst()
            k.active = Array(k.active.prefix(1))
        }
    }

    /// How many keys open secrets (2 while a rotation runs).
    public var activeKeyCount: Int { keys.withLock { $0.active.count } }

    public func seal(_ secrets: [String: String]) throws -> Data {
        let plain = try JSONEncoder().encode(secrets)
        let key = keys.withLock { $0.active[0] }
        guard let combined = try AES.GCM.seal(plain, using: key).combined else { throw SecretError("sealing failed") }
        return combined
    }

    public func open(_ sealed: Data) throws -> [String: String] {
        let box = try AES.GCM.SealedBox(combined: sealed)
        let active = keys.withLock { $0.active }
        for key in active {
            if let plain = try? AES.GCM.open(box, using: key) {
                return try JSONDecoder().decode([String: String].self, from: plain)
            }
        }
        throw SecretError("a sealed secret does not open with the master key")
    }

    /// `sealed` under the newest key: nil when it already is (nothing to
    /// journal), the re-sealed bytes when an older (or retired) key sealed it.
    /// Throws when no key this process has opens it.
    public func resealed(_ sealed: Data) throws -> Data? {
        let box = try AES.GCM.SealedBox(combined: sealed)
        let (active, retired) = keys.withLock { ($0.active, $0.retired) }
        if (try? AES.GCM.open(box, using: active[0])) != nil { return nil }
        for key in active.dropFirst() + retired {
            if let plain = try? AES.GCM.open(box, using: key) {
                guard let combined = try AES.GCM.seal(plain, using: active[0]).combined else { throw SecretError("sealing failed") }
                return combined
            }
        }
        throw SecretError("a sealed secret does not open with any master key this process has")
    }
}

public struct SecretError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
