import CommHubDomain
import Foundation

/// The supervisor's own state, as one value: configuration (channels,
/// teams, people, routing rules), the customer directory and matching
/// tables, the assignment board, the idempotency table of provider message
/// ids, tasks and templates. Thread and agent contents live in their
/// actors. `apply` is the single mutation, shared by live operation and
/// journal replay.
public struct EngineState: Sendable {
    /// A provider message id on a channel. Hashed once, when made, with the
    /// process's seeded hasher: the table then rehashes a word, not the
    /// string, when it grows, and the shard comes from the same bits.
    public struct ExternalKey: ShardedKey {
        public let channel: ChannelID
        public let externalID: String
        private let fingerprint: Int

        public init(channel: ChannelID, externalID: String) {
            self.channel = channel
            self.externalID = externalID
            var h = Hasher()
            h.combine(channel)
            h.combine(externalID)
            fingerprint = h.finalize()
        }

        public func hash(into hasher: inout Hasher) { hasher.combine(fingerprint) }
        public static func == (a: Self, b: Self) -> Bool {
            a.fingerprint == b.fingerprint && a.channel == b.channel && a.externalID == b.externalID
        }
        public var shardBits: UInt64 { UInt64(bitPattern: Int64(fingerprint)) >> 7 }
    }

    /// Where an acknowledged provider message went.
    public struct MessageRef: Hashable, Sendable {
        public var thread: ThreadID
        public var message: MessageID
        /// 0 while the message is being recorded.
        public var seq: UInt64
    }

    public var channels: [ChannelID: Channel] = [:]
    public var teams: [TeamID: Team] = [:]
    public var contacts: [ContactID: Contact] = [:]
    public var rules = AutoAssignmentRules()
    public var board = AssignmentBoard()
    public var index = MatchIndex()
    public var external = ShardedTable<ExternalKey, MessageRef>()
    public var messageThread = ShardedTable<MessageID, ThreadID>()
    /// Outgoing messages not yet delivered (pending, sent, failed, bounced):
    /// the outbox the channel gateways work from.
    public var outbox: [MessageID: (thread: ThreadID, status: DeliveryStatus)] = [:]
    public var tasks: [TaskID: InternalTask] = [:]
    public var templates: [TemplateID: Template] = [:]
    public var tokens: [TokenID: APIToken] = [:]
    public var tokenByHash: [String: TokenID] = [:]
    /// The audit trail, oldest first.
    public var audit: [AuditEntry] = []
    public var lastSeq: UInt64 = 0

    public init() {}

    public static func inOutbox(_ s: DeliveryStatus) -> Bool { s == .pending || s == .sent || s == .failed || s == .bounced }

    public mutating func apply(_ e: SequencedEvent) {
        lastSeq = max(lastSeq, e.seq)
        switch e.event {
        case .channelUpserted(let c):
            channels[c.id] = c
        case .teamUpserted(let t):
            teams[t.id] = t
            board.apply(e.event)
        case .contactUpserted(let c):
            contacts[c.id] = c
            board.apply(e.event)
        case .presenceChanged(let id, let p):
            contacts[id]?.presence = p
            board.apply(e.event)
        case .customerUpserted, .organizationUpserted, .orderUpserted, .referenceAdded:
            index.apply(e.event)
        case .routingRulesChanged(let r):
            rules = r
        case .threadOpened, .threadChanged:
            index.apply(e.event)
            board.apply(e.event)
        case .messageAdded(let m, _, _):
            index.apply(e.event)
            messageThread[m.id] = m.threadID
            if m.messageType == .outgoing, Self.inOutbox(m.deliveryStatus) { outbox[m.id] = (m.threadID, m.deliveryStatus) }
            if let ext = m.externalMessageID, let ch = m.channelID {
                external[ExternalKey(channel: ch, externalID: ext)] = MessageRef(thread: m.threadID, message: m.id, seq: e.seq)
            }
        case .deliveryStatusChanged(let m, let t, let status, _):
            if outbox[m] != nil || messageThread[m] != nil, Self.inOutbox(status) {
                if outbox[m] != nil { outbox[m] = (t, status) }
            } else {
                outbox[m] = nil
            }
        case .threadAssigned, .threadsRebalanced:
            board.apply(e.event)
        case .taskUpserted(let t):
            tasks[t.id] = t
        case .templateUpserted(let t):
            templates[t.id] = t
        case .tokenIssued(let t):
            tokens[t.id] = t
            if t.revokedAt == nil { tokenByHash[t.secretHash] = t.id }
        case .tokenRevoked(let id, let at):
            if let t = tokens[id] {
                tokens[id]!.revokedAt = at
                tokenByHash[t.secretHash] = nil
            }
        case .audited(let entry):
            audit.append(entry)
        }
    }
}
