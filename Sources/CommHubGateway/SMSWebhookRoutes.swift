import CommHubDomain
import CommHubGateways
import CommHubWire
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Twilio's messaging webhooks (and those of services that speak them):
///
/// - `POST /webhooks/sms`: an SMS or MMS a customer sent to one of our numbers;
/// - `POST /webhooks/sms/status`: status callbacks for messages we sent.
///
/// Both take Twilio's form body and are authenticated by `X-Twilio-Signature`
/// before any field is acted on: the signature is checked over the URL the
/// channel says Twilio was given (`webhook_url`, resp. the status callback
/// URL `TwilioOutbound.statusCallbackURL` derives from it — a proxy in front
/// changes what this server sees) with the channel's `auth_token`.
///
/// Which channel: `?channel_id=` in the URL; else every active `sms`
/// channel whose auth token and URL verify the signature, narrowed by our
/// number (`To` of an incoming message, `From` of a status callback, against
/// the channel's `from`), `MessagingServiceSid` and `AccountSid`.
///
/// Answers: `200` with empty TwiML (`text/xml`) once the engine's journal
/// holds the message or status; `503` while the engine is away (Twilio
/// retries; a repeat is a duplicate on `MessageSid`, never a second message).
extension WebhookRoutes {
    func registerSMS<Context: RequestContext>(on group: RouterGroup<Context>) {
        group.post("sms") { request, _ in try await smsInbound(request) }
        group.post("sms/status") { request, _ in try await smsStatus(request) }
    }

    enum SMSWebhook {
        case inbound, status

        var path: String { self == .inbound ? "/webhooks/sms" : "/webhooks/sms/status" }

        /// The URL Twilio signs for this webhook of `channel`.
        func signedURL(_ channel: GatewayProtocol.GatewayChannel) -> String? {
            switch self {
            case .inbound: channel.string("webhook_url").flatMap { $0.isEmpty ? nil : $0 }
            case .status: TwilioOutbound.statusCallbackURL(channel)
            }
        }

        /// Our number in the form: the recipient of an incoming message, the sender of one we sent.
        var ourNumberField: String { self == .inbound ? "To" : "From" }
    }

    // MARK: Incoming SMS / MMS

    func smsInbound(_ request: Request) async throws -> Response {
        let (form, channel) = try await authenticatedSMS(request, .inbound)
        let message: TwilioInboundMessage
        do {
            message = try TwilioInboundMessage(form: form)
        } catch {
            logger.notice("sms webhook refused", metadata: ["channel.id": "\(channel.id)", "reason": "\(error.description)"])
            throw WebhookError(.badRequest, error.code, error.description)
        }
        let item = try IngestItemJSON.message(message.inbound(channelID: channel.id, receivedAt: Date()))
        let outcome = try await ingest([item]).first ?? .null
        let status = outcome["status"]?.stringValue ?? "error"
        logger.info("sms webhook", metadata: ["channel.id": "\(channel.id)", "sms.message_sid": "\(message.messageSid)",
                                              "sms.media": "\(message.media.count)", "webhook.outcome": "\(status)"])
        guard status == "created" || status == "duplicate" else {
            throw engineRefusal(outcome)
        }
        // The message exists; its files follow. A repeat schedules them again:
        // the first fetch may have died with a gateway that stopped before Twilio
        // got its answer, and storing the same file again changes nothing.
        await scheduleMedia(message, channel: channel)
        return twiml()
    }

    /// Each file of the MMS to the gateway's `MediaFetcher`: fetched after the
    /// message was ingested, with its retries; the message never waits for it.
    func scheduleMedia(_ message: TwilioInboundMessage, channel: GatewayProtocol.GatewayChannel) async {
        guard !message.media.isEmpty else { return }
        let downloader = TwilioMediaDownloader(http: whatsappMedia.http, maxMediaBytes: EngineLink.maxAttachmentBytes)
        let sentAccount = message.accountSid
        for file in message.media {
            await media.enqueue(MediaFetcher.Job(channel: channel.id, externalMessageID: message.messageSid, index: file.index,
                                                 fileName: file.fileName) { channel throws(DownloadFailure) in
                // The channel's credentials as they are when the download runs (a rotated token applies).
                var credentials: TwilioCredentials?
                if let account = channel.string("account_sid") ?? sentAccount, let token = channel.secrets["auth_token"], !token.isEmpty {
                    credentials = TwilioCredentials(accountSid: account, authToken: token, apiBaseURL: TwilioOutbound.baseURL(channel))
                }
                return try await downloader.file(file, credentials: credentials)
            })
        }
    }

    // MARK: Status callbacks

    func smsStatus(_ request: Request) async throws -> Response {
        let (form, channel) = try await authenticatedSMS(request, .status)
        let callback: TwilioStatusCallback
        do {
            callback = try TwilioStatusCallback(form: form)
        } catch {
            logger.notice("sms status refused", metadata: ["channel.id": "\(channel.id)", "reason": "\(error.description)"])
            throw WebhookError(.badRequest, error.code, error.description)
        }
        var metadata: Logger.Metadata = ["channel.id": "\(channel.id)", "sms.message_sid": "\(callback.messageSid)",
                                         "sms.status": "\(callback.status.rawValue)"]
        if let code = callback.errorCode { metadata["sms.error_code"] = "\(code)" }
        guard let status = callback.deliveryStatus else {
            // receiving / received: the state of an incoming message, nothing of ours.
            metadata["webhook.outcome"] = "ignored"
            logger.info("sms status", metadata: metadata)
            return twiml()
        }
        var item: [String: JSONValue] = ["type": .string("delivery_status"), "channel_id": .string(channel.id.description),
                                         "external_message_id": .string(callback.messageSid),
                                         "delivery_status": .string(status.rawValue), "at": .string(Date().iso8601)]
        // Twilio's reason (30003 …): kept on the message and shown in the thread when it failed or bounced.
        if let code = callback.errorCode { item["error_code"] = .string(String(code)) }
        if let title = callback.errorTitle { item["error_title"] = .string(title) }
        let outcome = try await ingest([.object(item)]).first ?? .null
        let result = outcome["status"]?.stringValue ?? "error"
        metadata["webhook.outcome"] = "\(result)"
        logger.info("sms status", metadata: metadata)
        // updated, unchanged (late or repeated: never back), or ignored (a MessageSid
        // CommHub did not send or no longer knows: no reason for Twilio to retry).
        guard result != "error" else { throw engineRefusal(outcome) }
        return twiml()
    }

    // MARK: Authentication and channel

    /// Reads the form (bounded), checks the signature, picks the channel; throws the HTTP answer otherwise.
    func authenticatedSMS(_ request: Request, _ webhook: SMSWebhook) async throws -> (TwilioForm, GatewayProtocol.GatewayChannel) {
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/x-www-form-urlencoded") {
            throw WebhookError(.unsupportedMediaType, "invalid_request",
                               "Twilio webhooks are application/x-www-form-urlencoded; set the webhook's method to HTTP POST")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: TwilioForm.maxBodyBytes)
        } catch {
            throw WebhookError(.contentTooLarge, "too_large", "request body is larger than \(TwilioForm.maxBodyBytes) bytes")
        }
        let form: TwilioForm
        do {
            form = try TwilioForm(parsing: buffer.readableBytesView)
        } catch {
            throw WebhookError(error.code == "too_large" ? .contentTooLarge : .badRequest, error.code, error.description)
        }
        // 1. Authenticate, before any field is acted on.
        let signature: TwilioSignature
        do {
            signature = try TwilioSignature(header: request.headers[.init(TwilioSignature.headerName)!])
        } catch {
            throw smsSignatureRefused(error, webhook)
        }
        let candidates = try smsChannels(request)
        var configured = 0
        var verified: [GatewayProtocol.GatewayChannel] = []
        for c in candidates {
            guard let token = c.secrets["auth_token"], !token.isEmpty, let url = webhook.signedURL(c) else { continue }
            configured += 1
            if TwilioSignatureVerifier(authToken: token).isValid(signature, url: url, parameters: form.parameters) { verified.append(c) }
        }
        guard configured > 0 else {
            throw WebhookError(.notFound, "not_found", request.uri.queryParameters.get("channel_id") != nil
                ? "the channel has no auth_token or webhook_url; set configuration.auth_token and configuration.webhook_url "
                    + "(the URL of \(webhook.path) exactly as set in the Twilio console)"
                : "no active sms channel has auth_token and webhook_url configured")
        }
        guard !verified.isEmpty else { throw smsSignatureRefused(.mismatch, webhook) }
        // 2. Which of the verified channels: our number, service, account.
        return (form, try smsChannel(for: form, among: verified, webhook))
    }

    /// `?channel_id=`, else every active `sms` channel.
    func smsChannels(_ request: Request) throws -> [GatewayProtocol.GatewayChannel] {
        if let raw = request.uri.queryParameters.get("channel_id") {
            guard let id = ChannelID(raw) else { throw WebhookError(.badRequest, "invalid_request", "channel_id: '\(raw.prefix(40))' is not a UUID") }
            guard let c = directory[id], c.channelType == .sms, c.isActive else {
                if !directoryLoaded { throw WebhookError(.serviceUnavailable, "engine_unavailable", "the gateway has not loaded its channels yet; retry later") }
                throw WebhookError(.notFound, "not_found", "no active sms channel with id \(id)")
            }
            return [c]
        }
        let all = directory.active(.sms)
        guard !all.isEmpty else {
            if !directoryLoaded { throw WebhookError(.serviceUnavailable, "engine_unavailable", "the gateway has not loaded its channels yet; retry later") }
            throw WebhookError(.notFound, "not_found", "no active sms channel is configured")
        }
        return all
    }

    /// The one channel, of those whose signature matched, that this form is for.
    func smsChannel(for form: TwilioForm, among verified: [GatewayProtocol.GatewayChannel],
                    _ webhook: SMSWebhook) throws -> GatewayProtocol.GatewayChannel {
        let ours = form[webhook.ourNumberField].map(TwilioFields.normalizedNumber)
        let matching = verified.filter { Self.smsChannel($0, accepts: form, ourNumber: ours) }
        guard let first = matching.first else {
            let c = verified[0]
            let own = TwilioOutbound.fromNumber(c) ?? c.string("messaging_service_sid") ?? "?"
            throw WebhookError(.notFound, "not_found", verified.count == 1
                ? "channel \(c.id) sends as \(own), but this webhook is for \(form[webhook.ourNumberField] ?? "no number") "
                    + "(\(webhook.ourNumberField)); check the channel's from, messaging_service_sid and account_sid"
                : "none of the \(verified.count) sms channels sharing this webhook_url has from \(form[webhook.ourNumberField] ?? "?")")
        }
        guard matching.count == 1 else {
            throw WebhookError(.conflict, "conflict", "\(matching.count) active sms channels match this webhook; "
                               + "add ?channel_id=<id> to each channel's webhook_url and to the URL in the Twilio console")
        }
        return first
    }

    /// A channel takes a webhook for its own number (`from`) or its Messaging
    /// Service, of its own account; a channel that names neither takes any
    /// number of its account.
    static func smsChannel(_ c: GatewayProtocol.GatewayChannel, accepts form: TwilioForm, ourNumber: String?) -> Bool {
        if let account = c.string("account_sid"), !account.isEmpty, let sent = form["AccountSid"], !sent.isEmpty, sent != account {
            return false
        }
        let from = TwilioOutbound.fromNumber(c)
        let service = c.string("messaging_service_sid").flatMap { $0.isEmpty ? nil : $0 }
        if from == nil && service == nil { return true }
        if let from, let ourNumber, TwilioFields.normalizedNumber(from) == ourNumber { return true }
        if let service, form["MessagingServiceSid"] == service { return true }
        return false
    }

    func smsSignatureRefused(_ e: TwilioSignatureError, _ webhook: SMSWebhook) -> WebhookError {
        logger.warning("sms webhook refused", metadata: ["reason": "\(e.code)", "webhook.path": "\(webhook.path)"])
        return WebhookError(.unauthorized, e.code, e.description)
    }

    /// The engine did not store it: 503 when it cannot now (Twilio retries), else 422 with its reason.
    func engineRefusal(_ outcome: JSONValue) -> WebhookError {
        let code = outcome["error"]?["code"]?.stringValue ?? "engine_error"
        let message = outcome["error"]?["message"]?.stringValue ?? "the engine did not store it"
        if code == "unavailable" || code == "not_stored" { return WebhookError(.serviceUnavailable, code, message) }
        return WebhookError(.unprocessableContent, code, message)
    }

    /// Empty TwiML: "do nothing" (no auto-reply is sent through Twilio; answers go out through the outbox).
    func twiml() -> Response {
        Response(status: .ok, headers: [.contentType: TwiML.contentType], body: .init(byteBuffer: ByteBuffer(string: TwiML.empty)))
    }
}
