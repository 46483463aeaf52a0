import CommHubDomain
import CommHubGateways
import CommHubWire
import Foundation
import Hummingbird
import Logging
import NIOCore

/// An error answer of a webhook: `{"error":{"code","message"}}` with its status.
public struct WebhookError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = JSONValue.object(["error": .object(["code": .string(code), "message": .string(message)])])
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try ContractJSON.sharedEncoder.encode(body))))
    }
}

/// The provider webhooks a gateway serves (`/webhooks/...`). No bearer
/// token: each provider authenticates with its own signature, checked
/// against the channel secrets the gateway holds in memory. What they
/// receive goes to the engine over the ingest protocol; the answer is 200
/// only once the engine's journal holds it, and 503 while the engine is
/// away, so the provider retries (a repeat is a duplicate, never a second message).
public struct WebhookRoutes: Sendable {
    public let link: EngineLink
    public let directory: ChannelDirectory
    public let logger: Logger
    /// Fetches the files of inbound messages after they are ingested.
    public let media: MediaFetcher
    let whatsappMedia: WhatsAppMediaClient
    /// The Outlook channels' synchronisation, which `/webhooks/outlook` feeds.
    public let outlook: OutlookMailboxes
    /// Largest webhook body read.
    public static let maxBodyBytes = 2 * 1024 * 1024
    /// How long a webhook waits for the engine's answer before 503.
    public static let engineTimeout: Duration = .seconds(15)

    public init(link: EngineLink, directory: ChannelDirectory, logger: Logger, media: MediaFetcher, http: ProviderHTTP,
                graphTokens: GraphTokenCache? = nil) {
        self.link = link
        self.directory = directory
        self.logger = logger
        self.media = media
        self.whatsappMedia = WhatsAppMediaClient(http: http)
        self.outlook = OutlookMailboxes(engine: LinkedOutlookEngine(link: link, directory: directory, media: media, logger: logger),
                                        http: http, tokens: graphTokens ?? GraphTokenCache(http: http))
    }

    /// Registers the routes on any router (the gateway's own, or the engine's when embedded).
    public func register<Context: RequestContext>(on group: RouterGroup<Context>) {
        group.get("whatsapp") { request, _ in try await whatsAppHandshake(request) }
        group.post("whatsapp") { request, _ in try await whatsAppNotification(request) }
        registerSMS(on: group)
        registerOutlook(on: group)
    }

    // MARK: WhatsApp

    func whatsAppHandshake(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let hs: WhatsAppVerificationRequest
        do {
            hs = try WhatsAppVerificationRequest(mode: query.get("hub.mode"), verifyToken: query.get("hub.verify_token"),
                                                 challenge: query.get("hub.challenge"))
        } catch {
            // A mode other than `subscribe` is not a verification request Meta makes: 403, like a wrong token.
            var status: HTTPResponse.Status = .badRequest
            if case .wrongMode(let mode?) = error, mode != "subscribe" { status = .forbidden }
            throw WebhookError(status, error.code, error.description)
        }
        let candidates = try whatsAppChannels(request)
        for c in candidates {
            if let token = c.secrets["verify_token"], hs.matches(expectedToken: token) {
                logger.info("whatsapp webhook verified", metadata: ["channel.id": "\(c.id)"])
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: hs.challenge)))
            }
        }
        logger.warning("whatsapp webhook verification refused: verify_token mismatch")
        let which = query.get("channel_id") != nil ? "the channel's verify_token"
            : "the verify_token of any active whatsapp_business channel"
        throw WebhookError(.forbidden, WhatsAppHandshakeError.tokenMismatch.code, "hub.verify_token does not match \(which)")
    }

    func whatsAppNotification(_ request: Request) async throws -> Response {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maxBodyBytes)
        } catch {
            throw WebhookError(.contentTooLarge, "too_large", "request body is larger than \(Self.maxBodyBytes) bytes")
        }
        let body = Data(buffer.readableBytesView)
        // 1. Authenticate: the signature, before anything reads the body.
        let signature: WhatsAppSignature
        do {
            signature = try WhatsAppSignature(header: request.headers[.init(WhatsAppSignature.headerName)!])
        } catch {
            throw signatureRefused(error)
        }
        let candidates = try whatsAppChannels(request)
        var verified = Set<ChannelID>()
        var configured = 0
        for c in candidates {
            guard let secret = c.secrets["app_secret"], !secret.isEmpty else { continue }
            configured += 1
            if WhatsAppSignatureVerifier(appSecret: secret).isValid(signature, body: body) { verified.insert(c.id) }
        }
        guard configured > 0 else {
            throw WebhookError(.notFound, "not_found", request.uri.queryParameters.get("channel_id") != nil
                ? "the channel has no app_secret; set configuration.app_secret to the Meta app secret"
                : "no active whatsapp_business channel has an app_secret configured")
        }
        guard !verified.isEmpty else { throw signatureRefused(.mismatch) }

        // 2. Read the notification.
        let events: WhatsAppWebhookEvents
        do {
            events = try WhatsAppWebhookParser().parse(body)
        } catch {
            // The reason names a field, never its content.
            let reason = if case .wrongObject = error { "object is not whatsapp_business_account" } else { error.description }
            logger.notice("whatsapp webhook refused", metadata: ["reason": "\(reason)"])
            throw WebhookError(.badRequest, "invalid_payload", error.description)
        }

        // 3. Each business number to its channel; all or nothing.
        var channelFor: [String: ChannelID] = [:]
        let explicit = request.uri.queryParameters.get("channel_id") != nil
        for number in events.phoneNumberIDs {
            channelFor[number] = try whatsAppChannel(for: number, candidates: candidates, verified: verified, explicit: explicit)
        }

        // 4. To the engine: messages, then receipts (a receipt that would move a
        //    message back changes nothing there, so their order does not matter).
        var items: [JSONValue] = []
        for m in events.messages {
            items.append(try IngestItemJSON.message(m.inbound(channelID: channelFor[m.phoneNumberID]!)))
        }
        for s in events.statuses {
            var o: [String: JSONValue] = ["type": .string("delivery_status"), "channel_id": .string(channelFor[s.phoneNumberID]!.description),
                                          "external_message_id": .string(s.messageID), "delivery_status": .string(s.status.rawValue),
                                          "at": .string(s.timestamp.iso8601)]
            if s.status == .failed {
                if let c = s.errorCode { o["error_code"] = .string(c) }
                if let t = s.errorTitle { o["error_title"] = .string(t) }
            }
            items.append(.object(o))
        }
        for r in events.reactions {
            items.append(.object(["type": .string("reaction"), "channel_id": .string(channelFor[r.phoneNumberID]!.description),
                                  "external_message_id": .string(r.targetMessageID), "from": .string(r.from),
                                  "emoji": r.emoji.map(JSONValue.string) ?? .null, "at": .string(r.timestamp.iso8601)]))
        }
        guard !items.isEmpty else {
            return try json(["results": .array([]), "ignored": .array(events.ignored.map(JSONValue.string))])
        }
        var outcomes = try await ingest(items)
        // A receipt for a message CommHub did not send (or no longer knows) is
        // no reason for Meta to retry: it is reported as ignored, not an error.
        var failed = 0
        for i in outcomes.indices {
            guard outcomes[i]["status"]?.stringValue == "error" else { continue }
            if i >= events.messages.count, outcomes[i]["error"]?["code"]?.stringValue == "not_found" {
                outcomes[i] = .object(["status": .string("ignored"), "reason": .string("no message with this id")])
            } else {
                failed += 1
            }
        }
        logger.info("whatsapp webhook", metadata: ["webhook.items": "\(items.count)", "webhook.failed": "\(failed)",
                                                   "webhook.ignored": "\(events.ignored.count)"])
        // The messages exist now; their files follow (a failed download never touches the message).
        for (i, m) in events.messages.enumerated() where outcomes.indices.contains(i) {
            guard outcomes[i]["status"]?.stringValue == "created", let file = m.media else { continue }
            let client = whatsappMedia
            let mediaID = file.id
            let fileName = file.attachment.fileName
            await media.enqueue(MediaFetcher.Job(channel: channelFor[m.phoneNumberID]!, externalMessageID: m.messageID, index: 0,
                                                 fileName: fileName) { channel throws(DownloadFailure) in
                var f = try await client.download(mediaID: mediaID, channel: channel)
                f.fileName = fileName
                return f
            })
        }
        if let unavailable = outcomes.first(where: { $0["error"]?["code"]?.stringValue == "unavailable" }) {
            throw WebhookError(.serviceUnavailable, "unavailable", unavailable["error"]?["message"]?.stringValue ?? "the engine cannot store it now")
        }
        return try json(["results": .array(outcomes), "ignored": .array(events.ignored.map(JSONValue.string))])
    }

    /// Sends items to the engine and waits for the journal; 503 when the engine is away.
    func ingest(_ items: [JSONValue]) async throws -> [JSONValue] {
        let payload = Array(try ContractJSON.sharedEncoder.encode(JSONValue.object(["events": .array(items)])))
        let answer: IngestProtocol.Frame
        do {
            answer = try await link.request(.ingest, payload: payload, timeout: Self.engineTimeout)
        } catch let e as EngineUnavailable {
            throw WebhookError(.serviceUnavailable, "engine_unavailable", "CommHub's engine is not reachable (\(e.description)); retry later")
        }
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(answer.payload))
        guard answer.kind == IngestProtocol.Kind.results.rawValue, let results = value["results"]?.arrayValue else {
            let message = value["error"]?["message"]?.stringValue ?? "the engine refused the notification"
            let code = value["error"]?["code"]?.stringValue ?? "engine_error"
            throw WebhookError(code == "not_stored" || code == "unavailable" ? .serviceUnavailable : .badRequest, code, message)
        }
        return results
    }

    /// The channels a request may be for: `?channel_id=`, else every active `whatsapp_business` channel.
    func whatsAppChannels(_ request: Request) throws -> [GatewayProtocol.GatewayChannel] {
        if let raw = request.uri.queryParameters.get("channel_id") {
            guard let id = ChannelID(raw) else { throw WebhookError(.badRequest, "invalid_request", "channel_id: '\(raw.prefix(40))' is not a UUID") }
            guard let c = directory[id], c.channelType == .whatsappBusiness, c.isActive else {
                throw WebhookError(.notFound, "not_found", "no active whatsapp_business channel with id \(id)")
            }
            return [c]
        }
        let all = directory.active(.whatsappBusiness)
        guard !all.isEmpty else {
            if !directoryLoaded { throw WebhookError(.serviceUnavailable, "engine_unavailable", "the gateway has not loaded its channels yet; retry later") }
            throw WebhookError(.notFound, "not_found", "no active whatsapp_business channel is configured")
        }
        return all
    }

    var directoryLoaded: Bool { directory.changeCount > 0 }

    func whatsAppChannel(for number: String, candidates: [GatewayProtocol.GatewayChannel], verified: Set<ChannelID>,
                         explicit: Bool) throws -> ChannelID {
        func configured(_ c: GatewayProtocol.GatewayChannel) -> String? {
            switch c.configuration["phone_number_id"] {
            case .string(let s): s
            case .number(let n): String(format: "%.0f", n)
            default: nil
            }
        }
        if explicit, let c = candidates.first {
            if let own = configured(c), own != number {
                throw WebhookError(.notFound, "not_found", "channel \(c.id) is for phone_number_id \(own), but the notification is for \(number)")
            }
            return c.id
        }
        let matching = candidates.filter { configured($0) == number }
        guard let c = matching.first else {
            throw WebhookError(.notFound, "not_found", "no active whatsapp_business channel has configuration.phone_number_id \(number)")
        }
        guard matching.count == 1 else {
            throw WebhookError(.conflict, "conflict", "\(matching.count) active whatsapp_business channels have phone_number_id \(number); "
                               + "add ?channel_id=<id> to the callback URL")
        }
        guard verified.contains(c.id) else {
            throw WebhookError(.unauthorized, WhatsAppSignatureError.mismatch.code,
                               "X-Hub-Signature-256 does not match the app_secret of the channel for phone_number_id \(number)")
        }
        return c.id
    }

    func signatureRefused(_ e: WhatsAppSignatureError) -> WebhookError {
        logger.warning("whatsapp webhook refused", metadata: ["reason": "\(e.code)"])
        return WebhookError(.unauthorized, e.code, e.description)
    }

    func json(_ object: [String: JSONValue]) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try ContractJSON.sharedEncoder.encode(JSONValue.object(object)))))
    }
}

/// An inbound message as the JSON of an ingest item (`{"type":"message",…}`).
enum IngestItemJSON {
    static func message(_ m: InboundMessage) throws -> JSONValue {
        var o = try JSONValue.encoded(m).objectValue ?? [:]
        o["type"] = .string("message")
        return .object(o)
    }
}

extension JSONValue {
    /// A value in the contract's JSON (snake_case keys, ISO 8601 dates).
    static func encoded(_ value: some Encodable) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: ContractJSON.sharedEncoder.encode(value))
    }

    subscript(_ key: String) -> JSONValue? { objectValue?[key] }
    var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
}
