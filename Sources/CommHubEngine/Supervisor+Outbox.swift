import CommHubDomain
import Foundation

/// One outgoing message a gateway claimed: what to send and the claim it
/// reports against. The gateway may start sending once `seq` is durable.
public struct OutboxClaim: Sendable, Hashable {
    public var entry: OutboxEntry
    public var message: MessageHeader
    public var seq: UInt64
}

/// What the engine did with a gateway's report.
public enum OutboxReportOutcome: Sendable, Hashable {
    /// Journaled (acknowledge after `seq` is durable).
    case recorded(seq: UInt64)
    /// Not the current claim (a repeated, late or foreign report): nothing changed.
    case ignored(reason: String)
}

extension Supervisor {
    /// Claims up to `max` messages of `channels` for `gateway`, each leased
    /// until now + `lease`: one `outboxClaimed` event per message, journaled
    /// before the gateway may send (it waits for the last `seq`).
    public func claimOutgoing(channels: Set<ChannelID>, gateway: String, max: Int, lease: Duration) async throws -> [OutboxClaim] {
        guard (1...OutboxLimits.maxClaimBatch).contains(max) else {
            throw EngineError.invalid("max must be 1 to \(OutboxLimits.maxClaimBatch)")
        }
        guard lease >= OutboxLimits.minLease, lease <= OutboxLimits.maxLease else {
            throw EngineError.invalid("lease must be \(OutboxLimits.minLease) to \(OutboxLimits.maxLease)")
        }
        guard !gateway.isEmpty, gateway.utf8.count <= 200 else { throw EngineError.invalid("gateway name must be 1 to 200 bytes") }
        let now = clock.now()
        let candidates = state.claimableOutgoing(channels: channels, max: max, at: now)
        guard !candidates.isEmpty else { return [] }
        let leaseUntil = now.addingTimeInterval(lease.seconds)
        let events = candidates.map {
            EngineEvent.outboxClaimed(message: $0.message, thread: $0.thread, gateway: gateway, attempt: $0.attempts + 1,
                                      leaseUntil: leaseUntil)
        }
        let committed = try commit(events)
        for c in channels { state.compactOutboxReady(c) }
        var out: [OutboxClaim] = []
        for (candidate, event) in zip(candidates, committed) {
            guard let entry = state.outbox[candidate.message],
                  let header = await actor(candidate.thread)?.message(candidate.message) else { continue }
            out.append(OutboxClaim(entry: entry, message: header, seq: event.seq))
        }
        return out
    }

    /// Records what a gateway reports about claim `attempt` of a message. A
    /// `retryAfter` beyond the attempt budget becomes `failed`; `failed` and
    /// `unknown` put a notice in the thread and a task with the assignee.
    public func reportOutgoing(message: MessageID, gateway: String, attempt: Int,
                               report: DeliveryReport) async throws -> OutboxReportOutcome {
        guard let entry = state.outbox[message] else { return .ignored(reason: "message \(message) is not in the outbox") }
        guard entry.gateway == gateway else {
            return .ignored(reason: "message \(message) is claimed by another gateway")
        }
        var report = report
        if case .retryAfter(_, let code, let reason) = report, attempt >= configuration.outboxMaxAttempts {
            report = .failed(code: code, reason: "gave up after \(attempt) attempts: \(reason)")
        }
        var probe = entry
        guard probe.apply(report, attempt: attempt) else {
            return .ignored(reason: "not the current claim (stage \(entry.stage.rawValue), attempt \(entry.attempts))")
        }
        let events = try await record(report, for: entry, attempt: attempt)
        var last = events.last!.seq
        if case .sent(let provider?) = report {
            // Receipts the provider sent before this report named the id.
            let key = EngineState.ExternalKey(channel: entry.channel, externalID: provider)
            for r in earlyReceipts.take(key, now: clock.now()) {
                let failure = r.failureCode != nil || r.failureTitle != nil ? (r.failureCode, r.failureTitle) : nil
                if let seq = try await updateDelivery(channel: entry.channel, externalMessageID: provider, status: r.status,
                                                      at: r.at, failure: failure) {
                    last = max(last, seq)
                }
            }
        }
        return .recorded(seq: last)
    }

    /// Turns every claim whose lease ran out into `unknown`: the gateway may
    /// have sent the message, so it is never sent again by itself.
    @discardableResult
    public func expireLeases() async -> Int {
        let now = clock.now()
        let expired = state.outboxClaimed.compactMap { state.outbox[$0] }
            .filter { ($0.leaseUntil ?? .distantFuture) <= now }
        var done = 0
        for e in expired {
            let reason = "the gateway \(e.gateway ?? "?") did not report within its lease; the message may or may not "
                + "have reached the provider, so it was not sent again"
            do {
                _ = try await record(.unknown(reason: reason), for: e, attempt: e.attempts)
                done += 1
            } catch {
                logger.error("could not expire an outbox lease", metadata: ["message.id": "\(e.message)",
                                                                             "error": "\(ErrorText.describe(error))"])
            }
        }
        return done
    }

    /// A person sends `body` again in place of a failed or unknown message:
    /// a new outgoing message on the same channel, linked both ways.
    public func resendOutgoing(_ message: MessageID, by person: ContactID?, body: MessageBody) async throws -> [SequencedEvent] {
        guard let entry = state.outbox[message] else { throw EngineError.notFound("undelivered message", message) }
        guard entry.stage == .failed || entry.stage == .unknown else {
            throw EngineError(.conflict, "only a failed message or one whose delivery is unknown can be resent (this one is \(entry.stage.rawValue))")
        }
        if let again = entry.resentAs { throw EngineError(.conflict, "message \(message) was already resent as \(again)") }
        guard let actor = actor(entry.thread), let old = await actor.message(message) else {
            throw EngineError.notFound("message", message)
        }
        var metadata = body.metadata
        metadata["resend_of"] = .string(message.description)
        let header = MessageHeader(threadID: old.threadID, channelID: old.channelID, channelType: old.channelType,
                                   messageType: old.messageType, senderContactID: person ?? old.senderContactID,
                                   recipientContactID: old.recipientContactID, recipientExternal: old.recipientExternal,
                                   subject: old.subject, deliveryStatus: .pending, createdAt: clock.now())
        var events = try await actor.add(header, body: MessageBody(messageContent: body.messageContent, messageHtml: body.messageHtml,
                                                                   attachments: body.attachments, metadata: metadata),
                                         statusAfter: nil)
        project(events)
        events += try commit([.outboxResent(message: message, thread: entry.thread, newMessage: header.id)])
        await notifyAgents(events)
        return events
    }

    /// Journals a report through the thread (it changes the message's status),
    /// then, for failures and unknown outcomes, tells the people concerned.
    private func record(_ report: DeliveryReport, for entry: OutboxEntry, attempt: Int) async throws -> [SequencedEvent] {
        guard let actor = actor(entry.thread) else { throw EngineError.notFound("thread", entry.thread) }
        let now = clock.now()
        var events = try await actor.record([.outboxReported(message: entry.message, thread: entry.thread, attempt: attempt,
                                                             report: report, at: now)])
        project(events)
        switch report {
        case .failed(let code, let reason):
            let what = code.map { "(\($0)) \(reason)" } ?? reason
            events += try await notice(entry, actor, now, title: "Delivery failed",
                                       text: "The message was not delivered: \(what). Change it and send it again, or reach the customer another way.")
        case .unknown(let reason):
            events += try await notice(entry, actor, now, title: "Delivery unknown",
                                       text: "Whether the message reached the customer is unknown: \(reason). Check with the customer, or resend it (one click on the message).")
        case .sent, .retryAfter:
            break
        }
        await notifyAgents(events)
        return events
    }

    /// A `system_notification` in the thread and a task for its assignee.
    private func notice(_ entry: OutboxEntry, _ actor: ThreadActor, _ now: Date, title: String,
                        text: String) async throws -> [SequencedEvent] {
        try await deliveryNotice(entry.message, thread: entry.thread, actor, now, title: title, text: text)
    }

    /// A `system_notification` about a message's delivery in its thread, and a task for the thread's assignee.
    func deliveryNotice(_ message: MessageID, thread: ThreadID, _ actor: ThreadActor, _ now: Date, title: String,
                        text: String) async throws -> [SequencedEvent] {
        let header = MessageHeader(threadID: thread, channelID: nil, channelType: .internalComment,
                                   messageType: .systemNotification, deliveryStatus: .delivered, createdAt: now)
        let body = MessageBody(messageContent: "\(title): \(text)",
                               metadata: ["message_id": .string(message.description), "kind": .string("delivery")])
        var events = try await actor.add(header, body: body, statusAfter: nil)
        project(events)
        let task = InternalTask(taskTitle: "\(title): check message \(message.description.prefix(8))",
                                taskDescription: "\(text)\nmessage_id: \(message)", taskType: .followUp, priority: .high,
                                assignedToContactID: state.board.assignee[thread], threadID: thread, createdAt: now)
        events += try commit([.taskUpserted(task)])
        return events
    }
}

/// Bounds of the outbox protocol.
public enum OutboxLimits {
    /// Messages one claim may take.
    public static let maxClaimBatch = 100
    /// Channels one claim may name.
    public static let maxChannelsPerClaim = 100
    /// Shortest and longest lease a gateway may ask for.
    public static let minLease: Duration = .seconds(5)
    public static let maxLease: Duration = .seconds(600)
}

extension Duration {
    var seconds: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
