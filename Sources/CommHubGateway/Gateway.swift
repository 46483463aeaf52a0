import CommHubDomain
import CommHubGateways
import CommHubWire
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import ServiceLifecycle

/// A stateless gateway: the link to the engine, the channel directory it
/// learns over that link, the provider webhooks and the delivery of
/// outgoing messages. `commhub gateway` runs one with its own HTTP server;
/// `commhub serve` runs one inside the engine process (over the engine's
/// Unix socket, the same protocol) unless `--no-gateway`.
public struct Gateway: Sendable {
    public let link: EngineLink
    public let directory: ChannelDirectory
    public let delivery: DeliveryService
    public let webhooks: WebhookRoutes
    public let http: ProviderHTTP
    public let media: MediaFetcher
    let whatsapp: WhatsAppSender
    let outlookSender: OutlookSender

    /// `leaseSeconds`: how long a claim is held (nil: connect + read timeout + 60 s, so a send
    /// that hangs until its read timeout is still reported within the lease).
    let logger: Logger

    public init(endpoint: EngineEndpoint, token: String, name: String, logger: Logger,
                providerTimeouts: (connect: Duration, read: Duration) = (.seconds(5), .seconds(30)),
                leaseSeconds: Int? = nil, concurrencyPerChannel: Int = 4, engineTLS: NIOSSLContext? = nil) {
        self.logger = logger
        let directory = ChannelDirectory()
        let link = EngineLink(endpoint: endpoint, token: token, gatewayName: name, directory: directory, logger: logger, tls: engineTLS)
        let http = ProviderHTTP(connectTimeout: .init(providerTimeouts.connect), readTimeout: .init(providerTimeouts.read))
        let fetchFile: @Sendable (String, Int) async throws -> [UInt8] = { sha, size in try await link.fetchAttachment(sha256: sha, sizeBytes: size) }
        let whatsapp = WhatsAppSender(http: http, fetchFile: fetchFile)
        let graphTokens = GraphTokenCache(http: http)
        let outlook = OutlookSender(http: http, tokens: graphTokens, fetchFile: fetchFile)
        let adapters: [any OutboundAdapter] = [whatsapp, TwilioSender(http: http), outlook]
        self.whatsapp = whatsapp
        self.outlookSender = outlook
        // The lease outlives a send: connect + read timeouts, plus time to report.
        let lease = leaseSeconds ?? Int((providerTimeouts.connect + providerTimeouts.read).components.seconds) + 60
        self.directory = directory
        self.link = link
        self.http = http
        self.delivery = DeliveryService(link: link, directory: directory, adapters: adapters, logger: logger,
                                        concurrencyPerChannel: concurrencyPerChannel, leaseSeconds: lease)
        let media = MediaFetcher(link: link, directory: directory, logger: logger)
        self.media = media
        self.webhooks = WebhookRoutes(link: link, directory: directory, logger: logger, media: media, http: http, graphTokens: graphTokens)
    }

    /// Runs the link and the deliveries until cancelled.
    public func run() async {
        let delivery = self.delivery
        let directory = self.directory, whatsapp = self.whatsapp, outlook = self.outlookSender, logger = self.logger
        await link.setHandlers(outboxReady: { delivery.wake($0) }, connected: { delivery.wakeAll() }, markRead: { notice in
            // Best effort, on the channel's own setting (`mark_as_read`, on unless false).
            guard let channel = directory[notice.channelID], channel.channelType == .whatsappBusiness || channel.channelType == .emailOutlook,
                  channel.configuration["mark_as_read"] != .bool(false) else { return }
            Task {
                let ok = channel.channelType == .emailOutlook ? await outlook.markRead(notice.externalMessageID, channel: channel)
                    : await whatsapp.markRead(notice.externalMessageID, channel: channel)
                if !ok { logger.notice("mark as read failed", metadata: ["channel.id": "\(notice.channelID)"]) }
            }
        })
        let media = self.media, outlookMailboxes = self.webhooks.outlook
        await withDiscardingTaskGroup { group in
            group.addTask { await link.run() }
            group.addTask { await delivery.run() }
            group.addTask { await media.run() }
            group.addTask { await outlookMailboxes.run() }
        }
        await http.shutdown()
    }
}

/// The gateway as a service of a `ServiceGroup`: runs until graceful shutdown.
public struct GatewayService: Service {
    public let gateway: Gateway
    public init(gateway: Gateway) { self.gateway = gateway }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown { await gateway.run() }
    }
}

/// The HTTP side of a standalone gateway: `/webhooks/*` and `/healthz`
/// (200 while connected to the engine, 503 otherwise).
public func buildGatewayApplication(_ gateway: Gateway, host: String, port: Int, logger: Logger, tls: TLSCertificates? = nil,
                                    onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
    let router = Router(context: BasicRequestContext.self)
    router.get("/healthz") { _, _ -> Response in
        let up = await gateway.link.isConnected
        let body = JSONValue.object(["status": .string(up ? "ok" : "engine_unavailable"),
                                     "engine": .string(gateway.link.endpoint.description),
                                     "channels": .number(Double(gateway.directory.all.count))])
        return Response(status: up ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: .init(bytes: try ContractJSON.sharedEncoder.encode(body))))
    }
    gateway.webhooks.register(on: router.group("webhooks"))
    let plain = HTTPServerBuilder.http1()
    let server = try tls.map { try HTTPServerBuilder.tls(plain, tlsConfiguration: $0.serverConfiguration) } ?? plain
    return Application(router: router, server: server, configuration: .init(address: .hostname(host, port: port), serverName: "CommHub gateway"),
                       onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
}
