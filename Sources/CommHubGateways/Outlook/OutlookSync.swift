import CommHubDomain
import CommHubWire
import Crypto
import Foundation
import Synchronization

/// What Outlook synchronisation needs from the engine and the gateway
/// process: the channels, the channel's gateway state (kept in the engine's
/// journal, so it survives restarts of both), ingest, and the attachment
/// store. A gateway implements it over its `EngineLink`; tests with fakes.
public protocol OutlookEngine: Sendable {
    /// The channel's settings and secrets as the gateway holds them.
    func channel(_ id: ChannelID) -> GatewayChannelSettings?
    /// Active `email_outlook` channels.
    func outlookChannels() -> [GatewayChannelSettings]
    /// Whether the gateway has loaded its channels from the engine yet.
    func channelsLoaded() -> Bool
    func loadState(_ channel: ChannelID) async throws -> GatewayProtocol.ChannelState
    /// Journals a change; returns once it is durable.
    func saveState(_ put: GatewayProtocol.StatePut) async throws
    /// Ingest items (the JSON of `POST /api/ingest`); the per-item results, once durable.
    func ingest(_ items: [JSONValue]) async throws -> [JSONValue]
    /// Stores a file that belongs to no message yet; returns where it is.
    func storeFile(_ bytes: [UInt8], fileName: String, contentType: String) async throws -> GatewayProtocol.StoredAttachment
    /// Fetches file `index` of an ingested message later, with retries, into the attachment store.
    func fetchLater(channel: ChannelID, externalMessageID: String, index: Int, fileName: String,
                    download: @escaping @Sendable (GatewayChannelSettings) async throws(DownloadFailure) -> DownloadedFile) async
    func log(_ level: OutlookLogLevel, _ message: String, _ metadata: [String: String])
}

public enum OutlookLogLevel: Sendable { case debug, info, notice, warning, error }

/// Which channel and target a subscription serves, and its secret: what
/// `/webhooks/outlook` needs to accept a notification, without an await.
public final class OutlookSubscriptionIndex: Sendable {
    public struct Entry: Sendable, Hashable {
        public var channel: ChannelID
        public var target: String
        public var clientState: String
    }

    public enum Lookup: Sendable, Hashable {
        case known(Entry)
        /// A subscription being created (Graph may notify before it answers): found by its secret.
        case pending(channel: ChannelID, target: String)
        case unknown
    }

    private let subscriptions = Mutex<[String: Entry]>([:])
    private let creating = Mutex<[String: (ChannelID, String)]>([:])
    private let loaded = Mutex<Set<ChannelID>>([])

    public init() {}

    public func lookup(_ subscriptionID: String, clientState: String?) -> Lookup {
        if let e = subscriptions.withLock({ $0[subscriptionID] }) { return .known(e) }
        let pending = creating.withLock { $0 }
        for (secret, (channel, target)) in pending where ClientState.matches(clientState, secret) {
            return .pending(channel: channel, target: target)
        }
        return .unknown
    }

    func replace(channel: ChannelID, with entries: [String: Entry]) {
        subscriptions.withLock { all in
            all = all.filter { $0.value.channel != channel }
            for (k, v) in entries { all[k] = v }
        }
        _ = loaded.withLock { $0.insert(channel) }
    }

    func forget(channel: ChannelID) {
        subscriptions.withLock { $0 = $0.filter { $0.value.channel != channel } }
        _ = loaded.withLock { $0.remove(channel) }
    }

    func creating(_ secret: String, channel: ChannelID, target: String) { creating.withLock { $0[secret] = (channel, target) } }
    func created(_ secret: String) { _ = creating.withLock { $0.removeValue(forKey: secret) } }
    public func isLoaded(_ channel: ChannelID) -> Bool { loaded.withLock { $0.contains(channel) } }
}

/// A failure of one step of synchronisation: `transient` ones are tried
/// again (at `retryAt` when Graph said when), permanent ones are logged and dropped.
struct SyncFailure: Error, CustomStringConvertible {
    var description: String
    var transient: Bool
    var retryAt: Date?

    static func from(_ r: GraphResult, _ what: String, now: Date) -> SyncFailure {
        switch r {
        case .answered(let a):
            let transient = a.status == 429 || a.status >= 500 || a.status == 401
            return SyncFailure(description: "\(what): \(a.errorText)", transient: transient,
                               retryAt: ProviderHTTP.retryAfter(a.headers, now: now))
        case .notSent(let reason), .unknown(let reason):
            return SyncFailure(description: "\(what): \(reason)", transient: true, retryAt: nil)
        case .noToken(let e):
            return SyncFailure(description: "\(what): \(e.description)", transient: true, retryAt: e.retryAt)
        }
    }
}

/// Keys of a channel's gateway state (see `OutlookMailbox`).
enum OutlookStateKey {
    static func subscription(_ id: String) -> String { "sub:\(id)" }
    static func delta(_ target: String) -> String { "delta:\(target)" }
    /// A queued notification: a fixed-length key (Graph ids are long), what it is in the value.
    /// `batch` is new for every accepted batch: a later notification about the same item is an
    /// entry of its own, so that removing the entry just handled (unconditionally, in the
    /// engine) can never remove a newer one that arrived meanwhile. Repeats within one batch
    /// collapse; repeats across batches are fetched twice and the engine answers `duplicate`.
    static func queued(_ kind: String, target: String, id: String, batch: String) -> String {
        let digest = SHA256.hash(data: Data("\(kind)|\(target)|\(id)|\(batch)".utf8))
        return "q:" + digest.prefix(20).map { String(format: "%02x", $0) }.joined()
    }
}

/// Runs the Outlook channels of a gateway: one `OutlookMailbox` per active
/// `email_outlook` channel, started and stopped as channels come and go,
/// and the entry point of `/webhooks/outlook` (`accept`).
///
/// **Durably queued.** A gateway keeps nothing on disk. A notification
/// batch is answered `202` only after its notifications are journaled in
/// the engine as queue entries of the channel's gateway state (one
/// `gatewayStatePut` per channel, answered once durable); the fetching
/// happens after the answer, from that queue, and an entry is removed only
/// once what it names is ingested. A gateway killed between the two finds
/// the queue in the engine when it starts again. While the engine is away,
/// or the gateway has not loaded a channel's state yet, the answer is 503
/// and Graph retries (for up to 4 hours).
public final class OutlookMailboxes: Sendable {
    public let engine: any OutlookEngine
    public let http: ProviderHTTP
    public let tokens: GraphTokenCache
    public let index = OutlookSubscriptionIndex()
    let now: @Sendable () -> Date
    private let running = Mutex<[ChannelID: OutlookMailbox]>([:])

    public init(engine: any OutlookEngine, http: ProviderHTTP, tokens: GraphTokenCache, now: @escaping @Sendable () -> Date = { Date() }) {
        self.engine = engine
        self.http = http
        self.tokens = tokens
        self.now = now
    }

    /// Starts and stops mailboxes as channels come and go, until cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                for c in engine.outlookChannels() {
                    let fresh = running.withLock { r -> OutlookMailbox? in
                        guard r[c.id] == nil else { return nil }
                        let m = OutlookMailbox(channelID: c.id, owner: self)
                        r[c.id] = m
                        return m
                    }
                    guard let fresh else { continue }
                    group.addTask {
                        await fresh.run()
                        self.running.withLock { _ = $0.removeValue(forKey: fresh.channelID) }
                        self.index.forget(channel: fresh.channelID)
                    }
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    public func mailbox(_ channel: ChannelID) -> OutlookMailbox? { running.withLock { $0[channel] } }

    /// Whether notifications can be accepted now: channels and every active Outlook channel's state loaded.
    public var ready: Bool {
        engine.channelsLoaded() && engine.outlookChannels().allSatisfy { index.isLoaded($0.id) }
    }

    public enum Acceptance: Sendable, Equatable {
        /// Queued durably; `ignored` were for subscriptions nobody here knows.
        case accepted(queued: Int, ignored: Int)
        /// A notification carried the wrong `clientState` for its subscription: nothing was queued.
        case rejected(String)
        /// Nothing was queued; Graph should retry.
        case unavailable(String)
    }

    /// Takes a notification batch: checks every `clientState` (one wrong
    /// secret refuses the whole batch: Graph never mixes one in, so it is
    /// forged or damaged), ignores unknown subscriptions, queues the rest
    /// durably (see the type's comment) and wakes the mailboxes.
    public func accept(_ batch: GraphNotificationBatch) async -> Acceptance {
        guard ready else { return .unavailable("the gateway has not loaded its Outlook channels yet; retry later") }
        var entries: [ChannelID: [String: JSONValue]] = [:]
        var ignored = 0
        let at = JSONValue.string(now().iso8601)
        let batchKey = UUID().uuidString
        func target(_ subscription: String, _ secret: String?) -> (ChannelID, String)?? {
            switch index.lookup(subscription, clientState: secret) {
            case .known(let e): return ClientState.matches(secret, e.clientState) ? .some((e.channel, e.target)) : .none
            case .pending(let c, let t): return .some((c, t))
            case .unknown: return .some(nil)
            }
        }
        for n in batch.changes {
            guard let found = target(n.subscriptionID, n.clientState) else {
                return .rejected("clientState does not match the subscription's")
            }
            guard let (channel, t) = found else { ignored += 1; continue }
            let kind = t == "calendar" ? "event" : "message"
            entries[channel, default: [:]][OutlookStateKey.queued(kind, target: t, id: n.resourceID, batch: batchKey)] = .object([
                "kind": .string(kind), "target": .string(t), "id": .string(n.resourceID), "change": .string(n.changeType), "at": at])
        }
        for n in batch.lifecycle {
            guard let found = target(n.subscriptionID, n.clientState) else {
                return .rejected("clientState does not match the subscription's")
            }
            guard let (channel, t) = found else { ignored += 1; continue }
            entries[channel, default: [:]][OutlookStateKey.queued("lifecycle", target: t, id: "\(n.subscriptionID)|\(n.event.name)",
                                                                      batch: batchKey)] = .object([
                "kind": .string("lifecycle"), "target": .string(t), "id": .string(n.subscriptionID), "event": .string(n.event.name), "at": at])
        }
        var queued = 0
        for (channel, set) in entries {
            do {
                try await engine.saveState(GatewayProtocol.StatePut(channelID: channel, set: set))
            } catch {
                return .unavailable("the notifications could not be stored: \(error)")
            }
            queued += set.count
            await mailbox(channel)?.enqueued(set)
        }
        return .accepted(queued: queued, ignored: ignored)
    }
}
