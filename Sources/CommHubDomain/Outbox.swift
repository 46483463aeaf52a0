import Foundation

/// What a gateway reports after it handed — or tried to hand — an outgoing
/// message to its provider. The engine never resends a message by itself
/// unless the provider certainly did not take it (`retryAfter`).
public enum DeliveryReport: Codable, Sendable, Hashable {
    /// The provider accepted the message; `providerMessageID` is its id for
    /// it (stored as `external_message_id`, so status webhooks find it). Nil
    /// when the provider answers without an id (Microsoft Graph `sendMail`).
    case sent(providerMessageID: String?)
    /// The provider refused it for good, or retries ran out.
    case failed(code: String?, reason: String)
    /// The provider certainly did not take it (no connection, 429 or 503
    /// with `Retry-After`, 401 before a token refresh): try again at `until`.
    case retryAfter(until: Date, code: String?, reason: String)
    /// Nobody knows whether the provider took it: the request was written
    /// and no answer came, or the gateway's lease ran out without a report.
    case unknown(reason: String)

    public var name: String {
        switch self {
        case .sent: "sent"
        case .failed: "failed"
        case .retryAfter: "retry_after"
        case .unknown: "unknown"
        }
    }
}

/// The delivery state of one outgoing message that a gateway sends (mail,
/// WhatsApp, SMS). Kept by the supervisor and in snapshots; the thread keeps
/// the message's `delivery_status`.
///
///     queued ──claim──▶ claimed ──sent──▶ sent ──(provider: delivered/read)──▶ (removed)
///        ▲                 │ ├─failed──▶ failed (a person resends)
///        └──due──  waiting ◀─┤ retry_after (until the attempt budget is spent)
///                          └─unknown / lease expired──▶ unknown (a person resends)
public struct OutboxEntry: Codable, Sendable, Hashable {
    public enum Stage: String, Codable, Sendable, CaseIterable {
        /// Waiting for a gateway to claim it.
        case queued
        /// A gateway holds it until `leaseUntil` and is sending it.
        case claimed
        /// The provider asked to try again at `notBefore`.
        case waiting
        /// The provider accepted it; waiting for its delivery report.
        case sent
        /// The provider refused it, or the attempts ran out.
        case failed
        /// Nobody knows whether it was sent; never resent by itself.
        case unknown
    }

    public var message: MessageID
    public var thread: ThreadID
    public var channel: ChannelID
    public var stage: Stage
    /// Claims so far (the first send is attempt 1).
    public var attempts: Int
    /// The gateway holding the current claim.
    public var gateway: String?
    public var leaseUntil: Date?
    public var notBefore: Date?
    public var errorCode: String?
    public var errorReason: String?
    /// The message a person sent in its place (`resend`).
    public var resentAs: MessageID?
    public var queuedAt: Date
    /// The journal sequence number of the message itself (the idempotency
    /// table answers a repeated provider id with it).
    public var addedSeq: UInt64

    public init(message: MessageID, thread: ThreadID, channel: ChannelID, queuedAt: Date, addedSeq: UInt64) {
        self.message = message
        self.thread = thread
        self.channel = channel
        self.addedSeq = addedSeq
        self.stage = .queued
        self.attempts = 0
        self.queuedAt = queuedAt
    }

    /// Whether a gateway may take it now.
    public func claimable(at now: Date) -> Bool {
        switch stage {
        case .queued: true
        case .waiting: (notBefore ?? now) <= now
        default: false
        }
    }

    /// Applies a report; returns false when it does not belong to the current
    /// claim (a late or repeated report) and changes nothing then.
    public mutating func apply(_ report: DeliveryReport, attempt: Int) -> Bool {
        guard attempt == attempts else { return false }
        switch (stage, report) {
        case (.claimed, _), (.unknown, .sent), (.unknown, .failed):
            break  // a definitive answer after a lost lease still tells the truth
        default:
            return false
        }
        leaseUntil = nil
        switch report {
        case .sent:
            stage = .sent
            errorCode = nil
            errorReason = nil
        case .failed(let code, let reason):
            stage = .failed
            errorCode = code
            errorReason = reason
        case .retryAfter(let until, let code, let reason):
            stage = .waiting
            notBefore = until
            errorCode = code
            errorReason = reason
        case .unknown(let reason):
            stage = .unknown
            errorReason = reason
        }
        return true
    }
}

extension ChannelType {
    /// Channels whose outgoing messages a gateway delivers to a provider.
    public var deliveredByGateway: Bool {
        switch self {
        case .emailOutlook, .whatsappBusiness, .sms: true
        default: false
        }
    }
}
