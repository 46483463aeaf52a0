import CommHubDomain
import CommHubGateways
import CommHubWire
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Microsoft Graph's webhooks for `email_outlook` channels:
///
/// - `POST /webhooks/outlook`: change notifications (and lifecycle
///   notifications, when a subscription's lifecycle URL is the same);
/// - `POST /webhooks/outlook/lifecycle`: lifecycle notifications
///   (`reauthorizationRequired`, `subscriptionRemoved`, `missed`).
///
/// Both first answer Graph's validation handshake: `?validationToken=…`
/// gets `200 text/plain` with the token URL-decoded, at once, before any
/// body is read. A notification batch is authenticated by each
/// notification's `clientState`, compared in constant time with the secret
/// of its subscription: one mismatch refuses the batch (`403`, nothing
/// queued); notifications for subscriptions this gateway does not know are
/// ignored. The answer is `202` once the batch is durably queued in the
/// engine (see `OutlookMailboxes`), `503` while it cannot be (Graph
/// retries); the mail is fetched after the answer.
extension WebhookRoutes {
    func registerOutlook<Context: RequestContext>(on group: RouterGroup<Context>) {
        group.post("outlook") { request, _ in try await outlookNotification(request, lifecycleURL: false) }
        group.post("outlook/lifecycle") { request, _ in try await outlookNotification(request, lifecycleURL: true) }
    }

    func outlookNotification(_ request: Request, lifecycleURL: Bool) async throws -> Response {
        if let query = request.uri.query, query.contains("validationToken") {
            guard let token = GraphValidation.token(fromQuery: query) else {
                throw WebhookError(.badRequest, "invalid_request", "validationToken is not URL-encoded UTF-8 of at most \(GraphValidation.maxTokenBytes) bytes")
            }
            logger.info("outlook webhook validated", metadata: ["webhook.path": "\(lifecycleURL ? "/webhooks/outlook/lifecycle" : "/webhooks/outlook")"])
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: token)))
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: GraphNotificationParser.maxBodyBytes)
        } catch {
            throw WebhookError(.contentTooLarge, "too_large", "request body is larger than \(GraphNotificationParser.maxBodyBytes) bytes")
        }
        let batch: GraphNotificationBatch
        do {
            batch = try GraphNotificationParser.parse(Data(buffer.readableBytesView))
        } catch {
            logger.notice("outlook webhook refused", metadata: ["reason": "\(error.description)"])
            throw WebhookError(.badRequest, "invalid_payload", error.description)
        }
        switch await outlook.accept(batch) {
        case .accepted(let queued, let ignored):
            logger.info("outlook webhook", metadata: ["webhook.queued": "\(queued)", "webhook.ignored": "\(ignored)",
                                                      "webhook.lifecycle": "\(batch.lifecycle.count)"])
            return Response(status: .accepted)
        case .rejected(let why):
            logger.warning("outlook webhook refused: clientState mismatch", metadata: ["webhook.notifications": "\(batch.subscriptionIDs.count)"])
            throw WebhookError(.forbidden, "client_state_mismatch", why)
        case .unavailable(let why):
            throw WebhookError(.serviceUnavailable, "engine_unavailable", why)
        }
    }
}

/// `OutlookEngine` over the gateway's link to the engine: channel state by
/// `gatewayStateGet`/`gatewayStatePut`, ingest frames, the attachment store,
/// files through the gateway's `MediaFetcher`.
struct LinkedOutlookEngine: OutlookEngine {
    let link: EngineLink
    let directory: ChannelDirectory
    let media: MediaFetcher
    let logger: Logger
    static let timeout: Duration = .seconds(15)

    func channel(_ id: ChannelID) -> GatewayChannelSettings? { directory[id] }
    func outlookChannels() -> [GatewayChannelSettings] { directory.active(.emailOutlook) }
    func channelsLoaded() -> Bool { directory.changeCount > 0 }

    func loadState(_ channel: ChannelID) async throws -> GatewayProtocol.ChannelState {
        let answer = try await link.request(.gatewayStateGet, payload: try EngineLink.encode(GatewayProtocol.StateRequest(channelID: channel)),
                                            timeout: Self.timeout)
        guard answer.kind == IngestProtocol.Kind.gatewayState.rawValue else { throw refusal(answer) }
        return try ContractJSON.sharedDecoder.decode(GatewayProtocol.ChannelState.self, from: Data(answer.payload))
    }

    func saveState(_ put: GatewayProtocol.StatePut) async throws {
        guard !put.isEmpty else { return }
        let answer = try await link.request(.gatewayStatePut, payload: try EngineLink.encode(put), timeout: Self.timeout)
        guard answer.kind == IngestProtocol.Kind.gatewayStateStored.rawValue else { throw refusal(answer) }
    }

    func ingest(_ items: [JSONValue]) async throws -> [JSONValue] {
        let payload = Array(try ContractJSON.sharedEncoder.encode(JSONValue.object(["events": .array(items)])))
        let answer = try await link.request(.ingest, payload: payload, timeout: Self.timeout)
        guard answer.kind == IngestProtocol.Kind.results.rawValue,
              let results = try JSONDecoder().decode(JSONValue.self, from: Data(answer.payload))["results"]?.arrayValue else {
            throw refusal(answer)
        }
        return results
    }

    func storeFile(_ bytes: [UInt8], fileName: String, contentType: String) async throws -> GatewayProtocol.StoredAttachment {
        try await link.storeAttachment(bytes, fileName: fileName, contentType: contentType, target: nil)
    }

    func fetchLater(channel: ChannelID, externalMessageID: String, index: Int, fileName: String,
                    download: @escaping @Sendable (GatewayChannelSettings) async throws(DownloadFailure) -> DownloadedFile) async {
        await media.enqueue(MediaFetcher.Job(channel: channel, externalMessageID: externalMessageID, index: index, fileName: fileName,
                                             download: download))
    }

    func log(_ level: OutlookLogLevel, _ message: String, _ metadata: [String: String]) {
        let m = Logger.Metadata(uniqueKeysWithValues: metadata.map { ($0.key, Logger.MetadataValue.string($0.value)) })
        switch level {
        case .debug: logger.debug("\(message)", metadata: m)
        case .info: logger.info("\(message)", metadata: m)
        case .notice: logger.notice("\(message)", metadata: m)
        case .warning: logger.warning("\(message)", metadata: m)
        case .error: logger.error("\(message)", metadata: m)
        }
    }

    func refusal(_ answer: IngestProtocol.Frame) -> EngineUnavailable {
        EngineUnavailable(description: "the engine refused: \(String(decoding: answer.payload.prefix(300), as: UTF8.self))")
    }
}
