import CommHubDomain
import CommHubWire
import Foundation

/// The engine side of the outbox protocol, without a transport: claims
/// become `OutgoingMessage`s with everything a provider adapter needs (the
/// body from the body store, the thread's references, the customer's last
/// message on the channel), and reports go to the supervisor. Used by the
/// ingest listener for gateway connections.
public struct OutboxService: Sendable {
    public let engine: Engine

    public init(engine: Engine) { self.engine = engine }

    /// Claims for `gateway`; the answer may be sent once `seq` is durable.
    public func claim(_ request: GatewayProtocol.ClaimRequest, gateway: String) async throws
        -> (messages: [GatewayProtocol.OutgoingMessage], seq: UInt64?) {
        guard (1...OutboxLimits.maxChannelsPerClaim).contains(request.channelIDs.count) else {
            throw EngineError.invalid("a claim names 1 to \(OutboxLimits.maxChannelsPerClaim) channels")
        }
        let lease = Duration.seconds(request.leaseSeconds)
        let claims = try await engine.supervisor.claimOutgoing(channels: Set(request.channelIDs), gateway: gateway,
                                                               max: request.max, lease: lease)
        // The bodies are read from the store, where a message's body lands with its commit: a claim
        // right after the message was added (the outbox push comes before the commit) read none and
        // sent an empty text. The answer waited for this seq anyway.
        var seq = claims.map(\.seq).max()
        if let seq { try await engine.durable(seq) }
        var out: [GatewayProtocol.OutgoingMessage] = []
        out.reserveCapacity(claims.count)
        for c in claims {
            // Every message is added with its body, so a claimed message without one had its body
            // erased (or its store damaged) after it was queued: the send fails for good rather than
            // give the customer an empty text.
            guard let body = try engine.bodies.body(for: c.message.id) else {
                let outcome = try await engine.supervisor.reportOutgoing(
                    message: c.message.id, gateway: gateway, attempt: c.entry.attempts,
                    report: .failed(code: Self.bodyUnavailable, reason: "the message's body is no longer stored"))
                if case .recorded(let failed) = outcome { seq = max(seq ?? 0, failed) }
                continue
            }
            out.append(try await message(for: c, body: body))
        }
        return (out, seq)
    }

    /// The failure code of a claimed message whose body is gone.
    public static let bodyUnavailable = "body_unavailable"

    private func message(for c: OutboxClaim, body: MessageBody) async throws -> GatewayProtocol.OutgoingMessage {
        let view = await engine.supervisor.thread(c.entry.thread)
        let messages = view?.messages ?? []
        func context(_ m: MessageHeader) -> GatewayProtocol.ReplyContext? {
            guard let ext = m.externalMessageID else { return nil }
            return GatewayProtocol.ReplyContext(externalMessageID: ext, sender: m.senderExternal, internetMessageID: nil,
                                                receivedAt: m.createdAt)
        }
        let lastInbound = messages.last { $0.messageType == .incoming && $0.channelID == c.entry.channel }.flatMap(context)
        var replyTo: GatewayProtocol.ReplyContext?
        if let raw = body.metadata["reply_to_message_id"]?.stringValue, let id = MessageID(raw) {
            // The quoted message may be older than the thread's recent ones.
            let target = messages.first { $0.id == id }
            if let target { replyTo = context(target) } else if let old = await engine.supervisor.messageHeader(id), old.threadID == c.entry.thread {
                replyTo = context(old)
            }
        }
        return GatewayProtocol.OutgoingMessage(
            messageID: c.message.id, threadID: c.entry.thread, channelID: c.entry.channel, attempt: c.entry.attempts,
            leaseUntil: c.entry.leaseUntil ?? engine.clock.now(), subject: c.message.subject,
            messageContent: body.messageContent, messageHtml: body.messageHtml, attachments: body.attachments,
            metadata: body.metadata, recipient: c.message.recipientExternal ?? lastInbound?.sender,
            threadSubject: view?.header.threadSubject ?? "", threadReferences: view?.header.externalReferences ?? [],
            replyTo: replyTo, lastInbound: lastInbound)
    }

    /// Records a gateway's report; `seq` (when recorded) must be durable before the answer.
    public func report(_ frame: GatewayProtocol.ReportFrame, gateway: String) async throws -> (GatewayProtocol.ReportResult, UInt64?) {
        for text in [frame.reason, frame.code, frame.providerMessageID].compactMap({ $0 })
            where text.utf8.count > GatewayProtocol.maxReportTextBytes {
            throw EngineError.invalid("report texts are at most \(GatewayProtocol.maxReportTextBytes) bytes")
        }
        guard (1...10_000).contains(frame.attempt) else { throw EngineError.invalid("attempt must be 1 to 10000") }
        let report: DeliveryReport
        do {
            report = try frame.report()
        } catch {
            throw EngineError.invalid("\(error)")
        }
        switch try await engine.supervisor.reportOutgoing(message: frame.messageID, gateway: gateway, attempt: frame.attempt,
                                                          report: report) {
        case .recorded(let seq): return (GatewayProtocol.ReportResult(status: "recorded", reason: nil), seq)
        case .ignored(let reason): return (GatewayProtocol.ReportResult(status: "ignored", reason: reason), nil)
        }
    }
}
