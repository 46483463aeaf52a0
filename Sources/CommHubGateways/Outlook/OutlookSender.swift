import AsyncHTTPClient
import CommHubDomain
import CommHubWire
import Foundation
import NIOCore
import NIOHTTP1

/// What CommHub sends to Microsoft Graph for mail, as pure values.
///
/// - An answer in an existing conversation: `POST /users/{mailbox}/messages/{id}/reply`
///   with `{"comment": <html>, "message": {"toRecipients": […], "internetMessageHeaders": [x-commhub-message-id]}}`
///   (the `comment` carries the answer, never `message.body` too: Graph refuses both). Exchange sets
///   `In-Reply-To`, `References` and the conversation, so the customer sees it in their thread.
/// - A new conversation: `POST /users/{mailbox}/sendMail` with the subject, the HTML body, the
///   recipient, `internetMessageId` `<commhub.{message id}@{mailbox domain}>` and the same custom header.
///
/// Both answer `202 Accepted` without a body or id: the outcome is `sent`, and the id is learnt when
/// the copy appears in Sent Items (it carries `x-commhub-message-id`, so it is not logged twice).
public enum OutlookOutbound {
    /// The custom header naming CommHub's message (custom headers must start with `x-`).
    public static let messageIDHeader = "x-commhub-message-id"
    /// Largest file sent inline in the JSON (Graph's limit for a request is 4 MB; base64 adds a third).
    public static let maxInlineAttachmentBytes = 3 * 1024 * 1024
    public static let maxTotalAttachmentBytes = 3 * 1024 * 1024

    /// `<commhub.{id}@{domain}>`: a Message-ID CommHub recognises as its own.
    public static func internetMessageID(for id: MessageID, mailbox: String) -> String {
        let domain = mailbox.split(separator: "@").last.map(String.init).flatMap { $0.isEmpty ? nil : $0 } ?? "commhub.invalid"
        return "<commhub.\(id)@\(domain)>"
    }

    public static func commhubMessageID(fromInternetMessageID s: String) -> MessageID? {
        guard s.hasPrefix("<commhub."), let at = s.firstIndex(of: "@") else { return nil }
        return MessageID(s[s.index(s.startIndex, offsetBy: 9)..<at])
    }

    /// The answer's HTML: the agent's HTML (or the text, escaped, line
    /// breaks kept) and the brand's signature from the channel
    /// (`email_signature`: plain text, escaped; HTML when it starts with `<`).
    public static func html(_ m: GatewayMessage, signature: String?) -> String {
        var out = m.messageHtml.flatMap { $0.isEmpty ? nil : $0 } ?? "<div>\(MailHTML.fromText(m.messageContent))</div>"
        if let sig = signature?.trimmingCharacters(in: .whitespacesAndNewlines), !sig.isEmpty {
            out += sig.hasPrefix("<") ? "\n\(sig)" : "\n<div class=\"commhub-signature\"><br>\(MailHTML.fromText(sig))</div>"
        }
        return out
    }

    static func recipient(_ p: ExternalParty) -> JSONValue? {
        guard let address = p.email, !address.isEmpty else { return nil }
        var e: [String: JSONValue] = ["address": .string(address)]
        if let name = p.name, !name.isEmpty { e["name"] = .string(name) }
        return .object(["emailAddress": .object(e)])
    }

    static func headers(_ m: GatewayMessage) -> JSONValue {
        .array([.object(["name": .string(messageIDHeader), "value": .string(m.messageID.description)])])
    }

    /// The body of `/reply`.
    public static func replyBody(_ m: GatewayMessage, to: ExternalParty?, signature: String?, attachments: [JSONValue]) -> JSONValue {
        var message: [String: JSONValue] = ["internetMessageHeaders": headers(m)]
        if let r = to.flatMap(recipient) { message["toRecipients"] = .array([r]) }
        if !attachments.isEmpty { message["attachments"] = .array(attachments) }
        return .object(["comment": .string(html(m, signature: signature)), "message": .object(message)])
    }

    /// The body of `/sendMail`; the subject is the thread's (or the message's own, when it has one).
    public static func sendMailBody(_ m: GatewayMessage, to: ExternalParty, mailbox: String, signature: String?,
                                    attachments: [JSONValue]) -> JSONValue {
        var message: [String: JSONValue] = [
            "subject": .string(m.subject.flatMap { $0.isEmpty ? nil : $0 } ?? m.threadSubject),
            "body": .object(["contentType": .string("HTML"), "content": .string(html(m, signature: signature))]),
            "toRecipients": .array(recipient(to).map { [$0] } ?? []),
            "internetMessageId": .string(internetMessageID(for: m.messageID, mailbox: mailbox)),
            "internetMessageHeaders": headers(m),
        ]
        if !attachments.isEmpty { message["attachments"] = .array(attachments) }
        return .object(["message": .object(message), "saveToSentItems": .bool(true)])
    }

    /// A `fileAttachment` of the JSON body.
    public static func fileAttachment(name: String, contentType: String, bytes: [UInt8]) -> JSONValue {
        .object(["@odata.type": .string("#microsoft.graph.fileAttachment"), "name": .string(name),
                 "contentType": .string(contentType), "contentBytes": .string(Data(bytes).base64EncodedString())])
    }

    /// The message an answer replies to: the one named explicitly, else the customer's latest on this channel.
    public static func replyTarget(_ m: GatewayMessage) -> GatewayProtocol.ReplyContext? {
        m.replyTo ?? m.lastInbound
    }
}

/// Sends claimed mail through Microsoft Graph (see `OutlookOutbound`).
/// Outcomes: 202 → `sent` (no id: learnt from Sent Items); 429, 503 with
/// `Retry-After`, no connection, no token → `retry_after` (certainly not
/// sent); 4xx → `failed`; other 5xx and no answer → `unknown`. A 404 for the
/// message to reply to (deleted at the provider) is certainly not a send,
/// so the answer goes out as a new mail with the thread's subject instead.
public struct OutlookSender: OutboundAdapter {
    public let http: ProviderHTTP
    public let tokens: GraphTokenCache
    public let now: @Sendable () -> Date
    /// Reads a stored attachment (sha256, size) from the engine.
    public let fetchFile: (@Sendable (String, Int) async throws -> [UInt8])?

    public init(http: ProviderHTTP, tokens: GraphTokenCache, now: @escaping @Sendable () -> Date = { Date() },
                fetchFile: (@Sendable (String, Int) async throws -> [UInt8])? = nil) {
        self.http = http
        self.tokens = tokens
        self.now = now
        self.fetchFile = fetchFile
    }

    public var channelType: ChannelType { .emailOutlook }

    /// A channel without its app credentials and mailbox (one being set up) sends nothing: its
    /// answers wait `pending` until the credentials are there, instead of failing one by one.
    public func canSend(on channel: GatewayChannelSettings) -> Bool {
        if case .success = GraphClient.make(for: channel, http: http, tokens: tokens) { return true }
        return false
    }

    public func send(_ m: GatewayMessage, channel: GatewayChannelSettings) async -> DeliveryReport {
        let client: GraphClient
        switch GraphClient.make(for: channel, http: http, tokens: tokens) {
        case .success(let c): client = c
        case .failure(let e): return .failed(code: "configuration", reason: "\(e.description); set it on the channel")
        }
        let files: [JSONValue]
        switch await attachments(m) {
        case .success(let f): files = f
        case .failure(let e): return e.report
        }
        let signature = channel.string("email_signature")
        if let target = OutlookOutbound.replyTarget(m) {
            let to = m.recipient ?? target.sender
            let path = "\(client.userPath)/messages/\(GraphClient.segment(target.externalMessageID))/reply"
            let result = await client.call(.POST, path, body: OutlookOutbound.replyBody(m, to: to, signature: signature, attachments: files))
            if case .answered(let a) = result, a.status == 404 {
                // The customer's mail is gone at the provider: nothing was sent; start a new mail instead.
                return await sendNew(m, client: client, signature: signature, files: files, to: to)
            }
            return classify(result, attempt: m.attempt)
        }
        return await sendNew(m, client: client, signature: signature, files: files, to: m.recipient)
    }

    private func sendNew(_ m: GatewayMessage, client: GraphClient, signature: String?, files: [JSONValue],
                         to: ExternalParty?) async -> DeliveryReport {
        guard let to, to.email?.isEmpty == false else {
            return .failed(code: "no_recipient", reason: "the thread names no e-mail address to send to")
        }
        let body = OutlookOutbound.sendMailBody(m, to: to, mailbox: client.mailbox, signature: signature, attachments: files)
        return classify(await client.call(.POST, "\(client.userPath)/sendMail", body: body), attempt: m.attempt)
    }

    /// Stored files as inline `fileAttachment`s (within Graph's request size).
    func attachments(_ m: GatewayMessage) async -> Result<[JSONValue], DeliveryReportError> {
        var out: [JSONValue] = []
        var total = 0
        for a in m.attachments {
            guard let sha = a.sha256 else {
                return .failure(.init(report: .failed(code: "no_file", reason: "attachment \(a.fileName) is not a stored file")))
            }
            total += a.sizeBytes
            guard a.sizeBytes <= OutlookOutbound.maxInlineAttachmentBytes, total <= OutlookOutbound.maxTotalAttachmentBytes else {
                return .failure(.init(report: .failed(code: "attachment_too_large",
                    reason: "files of a mail may add up to \(OutlookOutbound.maxTotalAttachmentBytes / 1_048_576) MB; share a larger file as a link")))
            }
            guard let fetchFile else {
                return .failure(.init(report: .failed(code: "configuration", reason: "this gateway cannot read stored files")))
            }
            do {
                out.append(OutlookOutbound.fileAttachment(name: a.fileName, contentType: a.contentType,
                                                          bytes: try await fetchFile(sha, a.sizeBytes)))
            } catch {
                return .failure(.init(report: .retryAfter(until: now().addingTimeInterval(30), code: "engine",
                                                          reason: "the file could not be read from the engine: \(error)")))
            }
        }
        return .success(out)
    }

    func classify(_ result: GraphResult, attempt: Int) -> DeliveryReport {
        let now = now()
        switch result {
        case .noToken(let e):
            if e.permanent {
                return .failed(code: "authentication", reason: "\(e.description); check tenant_id, client_id and client_secret")
            }
            return .retryAfter(until: e.retryAt ?? now.addingTimeInterval(RetryBackoff.delay(attempt: attempt)), code: "token",
                               reason: e.description)
        case .notSent(let reason):
            return .retryAfter(until: now.addingTimeInterval(RetryBackoff.delay(attempt: attempt)), code: "connect", reason: reason)
        case .unknown(let reason):
            return .unknown(reason: reason)
        case .answered(let a):
            if a.ok { return .sent(providerMessageID: nil) }
            if a.status == 401 {
                return .failed(code: a.errorCode ?? "401", reason: "Graph refused the app's token twice (\(a.errorText)); check the app's permissions")
            }
            if a.status == 403 {
                return .failed(code: a.errorCode ?? "403", reason: "\(a.errorText); the app needs Mail.Send for this mailbox (application access policy?)")
            }
            return ProviderHTTP.genericReport(status: a.status, headers: a.headers, code: a.errorCode, reason: a.errorText, now: now)
        }
    }

    /// Marks a customer's mail read in the mailbox (best effort).
    public func markRead(_ externalMessageID: String, channel: GatewayChannelSettings) async -> Bool {
        guard case .success(let client) = GraphClient.make(for: channel, http: http, tokens: tokens) else { return false }
        let result = await client.call(.PATCH, "\(client.userPath)/messages/\(GraphClient.segment(externalMessageID))",
                                       body: .object(["isRead": .bool(true)]))
        return result.answer?.ok == true
    }
}
