@testable import CommHubGateways
import CommHubDomain
import CommHubWire
import Foundation
import Synchronization
import Testing

/// `/webhooks/outlook`'s queue (`OutlookMailboxes.accept`) without sockets:
/// a fake engine records what is journaled.
@Suite struct OutlookQueueTests {
    struct Away: Error {}

    final class RecordingEngine: OutlookEngine {
        let puts = Mutex<[GatewayProtocol.StatePut]>([])
        let failing = Mutex(false)
        func channel(_ id: ChannelID) -> GatewayChannelSettings? { nil }
        func outlookChannels() -> [GatewayChannelSettings] { [] }
        func channelsLoaded() -> Bool { true }
        func loadState(_ channel: ChannelID) async throws -> GatewayProtocol.ChannelState {
            GatewayProtocol.ChannelState(channelID: channel, values: [:], secrets: [:])
        }
        func saveState(_ put: GatewayProtocol.StatePut) async throws {
            if failing.withLock({ $0 }) { throw Away() }
            puts.withLock { $0.append(put) }
        }
        func ingest(_ items: [JSONValue]) async throws -> [JSONValue] { [] }
        func storeFile(_ bytes: [UInt8], fileName: String, contentType: String) async throws -> GatewayProtocol.StoredAttachment {
            throw Away()
        }
        func fetchLater(channel: ChannelID, externalMessageID: String, index: Int, fileName: String,
                        download: @escaping @Sendable (GatewayChannelSettings) async throws(DownloadFailure) -> DownloadedFile) async {}
        func log(_ level: OutlookLogLevel, _ message: String, _ metadata: [String: String]) {}
    }

    static func notification(_ id: String, secret: String = "s3cret", change: String = "updated") -> GraphNotificationBatch {
        var b = GraphNotificationBatch()
        b.changes = [GraphChangeNotification(subscriptionID: "sub-1", clientState: secret, changeType: change, resourceID: id,
                                             resourceType: "#Microsoft.Graph.Event")]
        return b
    }

    static func withMailboxes(_ body: (OutlookMailboxes, RecordingEngine, ChannelID) async throws -> Void) async throws {
        let engine = RecordingEngine()
        let http = ProviderHTTP()
        let mailboxes = OutlookMailboxes(engine: engine, http: http, tokens: GraphTokenCache(http: http))
        let channel = ChannelID()
        mailboxes.index.replace(channel: channel, with: ["sub-1": .init(channel: channel, target: "calendar", clientState: "s3cret")])
        do {
            try await body(mailboxes, engine, channel)
        } catch {
            await http.shutdown(); throw error
        }
        await http.shutdown()
    }

    /// The regression: both notifications about one event were queued under one key, so
    /// removing the first (handled) entry also removed the second, newer one, and the
    /// event's change was never fetched.
    @Test func aLaterNotificationAboutTheSameItemIsAnEntryOfItsOwn() async throws {
        try await Self.withMailboxes { mailboxes, engine, channel in
            #expect(await mailboxes.accept(Self.notification("EVT-1")) == .accepted(queued: 1, ignored: 0))
            #expect(await mailboxes.accept(Self.notification("EVT-1")) == .accepted(queued: 1, ignored: 0))
            let puts = engine.puts.withLock { $0 }
            #expect(puts.count == 2 && puts.allSatisfy { $0.channelID == channel })
            let keys = puts.flatMap { $0.set.keys }
            #expect(Set(keys).count == 2, "each accepted batch queues its own entry")
            #expect(keys.allSatisfy { $0.hasPrefix("q:") && $0.utf8.count <= GatewayStateLimits.maxKeyBytes })
            #expect(puts.allSatisfy { $0.set.values.first?["id"]?.stringValue == "EVT-1" })
        }
    }

    @Test func oneWrongSecretRefusesTheBatchAndUnknownSubscriptionsAreIgnored() async throws {
        try await Self.withMailboxes { mailboxes, engine, _ in
            var mixed = Self.notification("EVT-1")
            mixed.changes += Self.notification("EVT-2", secret: "forged").changes
            guard case .rejected = await mailboxes.accept(mixed) else { Issue.record("a forged clientState must refuse the batch"); return }
            var unknown = Self.notification("EVT-3")
            unknown.changes[0].subscriptionID = "nobody-knows"
            #expect(await mailboxes.accept(unknown) == .accepted(queued: 0, ignored: 1))
            #expect(engine.puts.withLock { $0.isEmpty }, "nothing queued for either")
        }
    }

    @Test func whileTheEngineCannotStoreTheBatchTheAnswerIsUnavailable() async throws {
        try await Self.withMailboxes { mailboxes, engine, _ in
            engine.failing.withLock { $0 = true }
            guard case .unavailable = await mailboxes.accept(Self.notification("EVT-1")) else { Issue.record("503 expected"); return }
        }
    }
}
