import CommHubDomain
import CommHubWire
import Foundation

/// What became of one ingest item.
public enum IngestItemOutcome: Sendable, Hashable {
    /// A new message, matched or routed.
    case created(IngestResult)
    /// A provider message seen before: the original result (its seq is durable or about to be).
    case duplicate(IngestResult)
    /// A delivery status moved a message forward.
    case updated(seq: UInt64)
    /// A delivery status that would move a message back (late or repeated): nothing written.
    case unchanged
    /// Nothing to apply, and no reason for the provider to retry (a status
    /// report for a message CommHub does not know).
    case ignored(reason: String)
    case failed(EngineError)

    /// The journal sequence number to wait for before acknowledging.
    public var seq: UInt64? {
        switch self {
        case .created(let r), .duplicate(let r): r.seq
        case .updated(let s): s
        case .unchanged, .ignored, .failed: nil
        }
    }

    /// The `status` of the contract's ingest result.
    public var status: String {
        switch self {
        case .created: "created"
        case .duplicate: "duplicate"
        case .updated: "updated"
        case .unchanged: "unchanged"
        case .ignored: "ignored"
        case .failed: "error"
        }
    }
}

/// The ingest use case: normalised inbound items (messages and delivery
/// statuses) applied in order, one bad item not stopping the others,
/// consecutive messages in one visit to the supervisor. `POST /api/ingest`,
/// the ingest listener and the gateways all come through here.
public struct IngestService: Sendable {
    public let supervisor: Supervisor
    public let clock: any EngineClock

    public init(engine: Engine) {
        supervisor = engine.supervisor
        clock = engine.clock
    }

    public func ingest(_ items: [IngestItem]) async -> [IngestItemOutcome] {
        var out: [IngestItemOutcome] = []
        out.reserveCapacity(items.count)
        var i = 0
        while i < items.count {
            var messages: [InboundMessage] = []
            while i < items.count, case .message(let m) = items[i] {
                messages.append(m)
                i += 1
            }
            if !messages.isEmpty {
                for r in await supervisor.ingest(batch: messages) {
                    switch r {
                    case .success(let r): out.append(r.duplicate ? .duplicate(r) : .created(r))
                    case .failure(let e): out.append(.failed(e))
                    }
                }
                continue
            }
            switch items[i] {
            case .delivery(let channel, let external, let status, let at, let error):
                out.append(await delivery(channel: channel, externalMessageID: external, status: status, at: at ?? clock.now(),
                                          error: error))
            case .reaction(let channel, let external, let from, let emoji, _):
                out.append(await reaction(channel: channel, externalMessageID: external, from: from, emoji: emoji))
            case .mailbox(let item):
                out.append(await mailbox(item))
            case .message:
                break
            }
            i += 1
        }
        return out
    }

    private func delivery(channel: ChannelID, externalMessageID: String, status: DeliveryStatus, at: Date,
                          error: IngestItem.ProviderError?) async -> IngestItemOutcome {
        // An unknown channel is a misconfigured gateway (an error it should see);
        // an unknown message on a known channel is just not ours (ignored).
        guard await supervisor.channel(channel) != nil else { return .failed(EngineError.notFound("channel", channel)) }
        do {
            let failure = (status == .failed || status == .bounced) ? error : nil
            guard let seq = try await supervisor.updateDelivery(channel: channel, externalMessageID: externalMessageID,
                                                                status: status, at: at,
                                                                failure: failure.map { ($0.code, $0.title) }) else { return .unchanged }
            return .updated(seq: seq)
        } catch let e as EngineError where e.code == .notFound {
            return .ignored(reason: e.message)
        } catch let e as EngineError {
            return .failed(e)
        } catch {
            return .failed(EngineError(.unavailable, ErrorText.describe(error)))
        }
    }

    /// Mail the mailbox sent, a message gone at the provider, a calendar follow-up.
    private func mailbox(_ item: MailboxItem) async -> IngestItemOutcome {
        do {
            switch item {
            case .outgoing(let o): return try await supervisor.recordOutgoingMail(o)
            case .removed(let r): return try await supervisor.recordRemoval(r)
            case .followUp(let f): return try await supervisor.recordFollowUp(f)
            }
        } catch let e as EngineError {
            return .failed(e)
        } catch {
            return .failed(EngineError(.unavailable, ErrorText.describe(error)))
        }
    }

    private func reaction(channel: ChannelID, externalMessageID: String, from: String, emoji: String?) async -> IngestItemOutcome {
        guard await supervisor.channel(channel) != nil else { return .failed(EngineError.notFound("channel", channel)) }
        guard let (_, message) = await supervisor.message(channel: channel, externalID: externalMessageID) else {
            return .ignored(reason: "no message with external_message_id \(externalMessageID) on channel \(channel)")
        }
        do {
            return .updated(seq: try await supervisor.annotate(message, .reaction(from: from, emoji: emoji)))
        } catch let e as EngineError {
            return .failed(e)
        } catch {
            return .failed(EngineError(.unavailable, ErrorText.describe(error)))
        }
    }
}
