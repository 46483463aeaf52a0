import CommHubDomain
import CommHubWire
import CommHubEngine
import CommHubGateways
import Foundation
import Hummingbird
import NIOCore

/// Provider webhooks (`/webhooks/...`), outside `/api`: no bearer token,
/// each provider authenticates with its own signature.
///
/// WhatsApp (Meta Cloud API):
/// - `GET /webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=..&hub.challenge=..`
///   answers the challenge when the token is the `verify_token` of the
///   channel (`?channel_id=`) or of an active `whatsapp_business` channel.
/// - `POST /webhooks/whatsapp` checks `X-Hub-Signature-256` (HMAC-SHA256 of
///   the raw body with the channel's `app_secret`) before reading the body,
///   then ingests messages and receipts like `/api/ingest` and answers 200
///   once the journal holds them. Meta retries anything else; duplicates
///   are idempotent by wamid.
extension CommHubAPI {
    func registerWebhooks(_ group: RouterGroup<APIContext>) {
        group.get("whatsapp") { request, context in
            try await whatsAppHandshake(request, context)
        }
        group.post("whatsapp") { request, context in
            try await whatsAppNotification(request, context)
        }
    }

    // MARK: WhatsApp

    func whatsAppHandshake(_ request: Request, _ context: APIContext) async throws -> Response {
        let hs: WhatsAppVerificationRequest
        do {
            hs = try WhatsAppVerificationRequest(mode: request.query("hub.mode"), verifyToken: request.query("hub.verify_token"),
                                                 challenge: request.query("hub.challenge"))
        } catch {
            throw APIError(.badRequest, error.code, error.description)
        }
        let candidates = try await whatsAppChannels(request)
        for c in candidates {
            if let token = try channelSecrets(c)["verify_token"], hs.matches(expectedToken: token) {
                context.logger.info("whatsapp webhook verified", metadata: ["channel": "\(c.id)"])
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: hs.challenge)))
            }
        }
        context.logger.warning("whatsapp webhook verification refused: verify_token mismatch")
        let which = request.query("channel_id") != nil ? "the channel's verify_token"
            : "the verify_token of any active whatsapp_business channel"
        throw APIError(.forbidden, WhatsAppHandshakeError.tokenMismatch.code, "hub.verify_token does not match \(which)")
    }

    func whatsAppNotification(_ request: Request, _ context: APIContext) async throws -> Response {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: APIContext.maxBody)
        } catch {
            throw APIError(.contentTooLarge, "too_large", "request body is larger than \(APIContext.maxBody) bytes")
        }
        let body = Data(buffer: buffer)

        // 1. Authenticate: the signature, before anything reads the body.
        let signature: WhatsAppSignature
        do {
            signature = try WhatsAppSignature(header: request.headers[.init(WhatsAppSignature.headerName)!])
        } catch {
            throw signatureRefused(error, context)
        }
        let candidates = try await whatsAppChannels(request)
        var verified = Set<ChannelID>()
        var configured = 0
        for c in candidates {
            guard let secret = try channelSecrets(c)["app_secret"], !secret.isEmpty else { continue }
            configured += 1
            if WhatsAppSignatureVerifier(appSecret: secret).isValid(signature, body: body) { verified.insert(c.id) }
        }
        guard configured > 0 else {
            throw APIError.notFound(request.query("channel_id") != nil
                ? "the channel has no app_secret; set configuration.app_secret to the Meta app secret"
                : "no active whatsapp_business channel has an app_secret configured")
        }
        guard !verified.isEmpty else { throw signatureRefused(.mismatch, context) }

        // 2. Read the notification.
        let events: WhatsAppWebhookEvents
        do {
            events = try WhatsAppWebhookParser().parse(body)
        } catch {
            // The reason names a field, never its content (`object` aside, which is left out).
            let reason = if case .wrongObject = error { "object is not whatsapp_business_account" } else { error.description }
            context.logger.notice("whatsapp webhook refused: \(reason)")
            throw APIError(.badRequest, "invalid_payload", error.description)
        }

        // 3. Each business number to its channel; all or nothing.
        var channelFor: [String: ChannelID] = [:]
        for number in events.phoneNumberIDs {
            channelFor[number] = try whatsAppChannel(for: number, candidates: candidates, verified: verified,
                                                     explicit: request.query("channel_id") != nil)
        }

        // 4. Ingest: messages as /api/ingest does, then receipts (the engine
        //    ignores a receipt that would move a message back, so their order
        //    within a notification does not matter).
        var items: [IngestItem] = events.messages.map { .message($0.inbound(channelID: channelFor[$0.phoneNumberID]!)) }
        items += events.statuses.map {
            .delivery(channelID: channelFor[$0.phoneNumberID]!, externalMessageID: $0.messageID, status: $0.status, at: $0.timestamp)
        }
        var outcomes = await ingest(items)
        if let maxSeq = outcomes.compactMap(\.seq).max() { try await durable(maxSeq) }

        // A receipt for a message CommHub did not send (or no longer knows)
        // is no reason for Meta to retry: it is reported, not an error.
        var created = 0, duplicates = 0, updated = 0, unknownReceipts = 0, failed = 0
        for (i, o) in outcomes.enumerated() {
            switch o.status {
            case "created": created += 1
            case "duplicate": duplicates += 1
            case "updated", "unchanged": updated += 1
            default:
                if i >= events.messages.count, o.error?.code == "not_found" {
                    unknownReceipts += 1
                    outcomes[i].status = "ignored"
                } else {
                    failed += 1
                }
            }
        }
        context.logger.info("whatsapp webhook", metadata: [
            "created": "\(created)", "duplicates": "\(duplicates)", "receipts": "\(updated)",
            "unknown_receipts": "\(unknownReceipts)", "failed": "\(failed)", "ignored": "\(events.ignored.count)",
            "channels": "\(Set(channelFor.values).map(\.description).sorted().joined(separator: ","))",
        ])
        if failed > 0 {
            for o in outcomes where o.status == "error" {
                context.logger.warning("whatsapp webhook item failed", metadata: ["code": "\(o.error?.code ?? "")", "error": "\(o.error?.message ?? "")"])
            }
        }
        // The journal or engine could not take an item: let Meta retry the
        // notification (what was stored is a duplicate next time).
        if let e = outcomes.first(where: { $0.error?.code == "unavailable" })?.error {
            throw APIError(.serviceUnavailable, "unavailable", e.message)
        }
        return try JSONResponse.make(JSONValue.object([
            "results": try View.json(outcomes),
            "ignored": .array(events.ignored.map(JSONValue.string)),
        ]))
    }

    /// The channels a webhook request may be for: the one named by
    /// `?channel_id=`, else every active `whatsapp_business` channel.
    func whatsAppChannels(_ request: Request) async throws -> [CommHubDomain.Channel] {
        let channels = await supervisor.state.channels
        if let raw = request.query("channel_id") {
            guard let id = ChannelID(raw) else { throw APIError.badRequest("channel_id: '\(raw)' is not a UUID") }
            guard let c = channels[id], c.channelType == .whatsappBusiness, c.isActive else {
                throw APIError.notFound("no active whatsapp_business channel with id \(id)")
            }
            return [c]
        }
        let all = channels.values.filter { $0.isActive && $0.channelType == .whatsappBusiness }
        guard !all.isEmpty else { throw APIError.notFound("no active whatsapp_business channel is configured") }
        return all.sorted { $0.id.description < $1.id.description }
    }

    /// The channel of one business number (`metadata.phone_number_id`).
    func whatsAppChannel(for number: String, candidates: [CommHubDomain.Channel], verified: Set<ChannelID>, explicit: Bool) throws -> ChannelID {
        func configured(_ c: CommHubDomain.Channel) -> String? {
            switch c.configuration["phone_number_id"] {
            case .string(let s): s
            case .number(let n): String(format: "%.0f", n)
            default: nil
            }
        }
        if explicit, let c = candidates.first {
            if let own = configured(c), own != number {
                throw APIError.notFound("channel \(c.id) is for phone_number_id \(own), but the notification is for \(number)")
            }
            return c.id
        }
        let matching = candidates.filter { configured($0) == number }
        guard let c = matching.first else {
            throw APIError.notFound("no active whatsapp_business channel has configuration.phone_number_id \(number)")
        }
        guard matching.count == 1 else {
            throw APIError.conflict("\(matching.count) active whatsapp_business channels have phone_number_id \(number); "
                                    + "add ?channel_id=<id> to the callback URL")
        }
        guard verified.contains(c.id) else {
            throw APIError(.unauthorized, WhatsAppSignatureError.mismatch.code,
                           "X-Hub-Signature-256 does not match the app_secret of the channel for phone_number_id \(number)")
        }
        return c.id
    }

    func channelSecrets(_ c: CommHubDomain.Channel) throws -> [String: String] {
        guard let sealed = c.sealedSecrets else { return [:] }
        do {
            return try secrets.open(sealed)
        } catch {
            logger.error("cannot open the secrets of a channel", metadata: ["channel": "\(c.id)"])
            throw APIError(.internalServerError, "internal", "the channel's secrets cannot be opened (wrong master key?)")
        }
    }

    func signatureRefused(_ e: WhatsAppSignatureError, _ context: APIContext) -> APIError {
        context.logger.warning("whatsapp webhook refused", metadata: ["reason": "\(e.code)", "from": "\(context.remoteAddress)"])
        return APIError(.unauthorized, e.code, e.description)
    }
}
