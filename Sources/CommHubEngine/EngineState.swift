import CommHubDomain
import DequeModule
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
    /// Recent provider ids and message → thread entries (older ones: the
    /// store's message index, see `Supervisor+MessageIndex.swift`).
    public var external = RecentIndex<ExternalKey, MessageRef>()
    public var messageThread = RecentIndex<MessageID, ThreadID>()
    /// False while a journal replays into a store whose message index holds
    /// every message (`DurableEngine`): the two tables above are emptied after
    /// restore anyway, so replay does not fill them (ten million inserts and
    /// gigabytes for a long journal).
    public var recordsMessageIDs = true
    /// Outgoing messages a gateway delivers, until the provider reports them
    /// delivered: the outbox (see `OutboxEntry` for the stages).
    public var outbox: [MessageID: OutboxEntry] = [:]
    /// Queued messages per channel, oldest first (entries no longer queued
    /// are skipped when met: claims and reports do not search the deque).
    public var outboxReady: [ChannelID: Deque<MessageID>] = [:]
    /// Messages waiting for a retry time, and messages under a claim.
    public var outboxWaiting: Set<MessageID> = []
    public var outboxClaimed: Set<MessageID> = []
    public var tasks: [TaskID: InternalTask] = [:]
    public var templates: [TemplateID: Template] = [:]
    public var tokens: [TokenID: APIToken] = [:]
    public var tokenByHash: [String: TokenID] = [:]
    /// Workflow settings, business calendars, task reminders sent (`WorkflowState`).
    public var workflow = WorkflowState()
    /// What gateways keep per channel (subscriptions, delta links, queued work), with sealed secrets.
    public var gatewayStates: [ChannelID: GatewayState] = [:]
    /// Templates in use (see `EngineState+Cases.swift`).
    public var templateUsage = TemplateUsage()
    /// Merged threads' survivors, split threads' sources.
    public var threadLinks = ThreadLinks()
    /// Satisfaction surveys by thread (the latest one of each thread).
    public var csat: [ThreadID: CSATRecord] = [:]
    /// The web app's passwords, invites, sessions, mentions and push subscriptions.
    public var web = WebAccessState()
    public var lastSeq: UInt64 = 0
    /// The analytics read model, fed every applied event (see `AnalyticsBook`).
    public var analytics = AnalyticsBook()
    /// How long content and the audit trail are kept (`retentionChanged`).
    public var retention = RetentionPolicy()

    public init() {}

    public static func inOutbox(_ s: DeliveryStatus) -> Bool { s == .pending || s == .sent || s == .failed || s == .bounced }

    /// Whether this message goes to the outbox when added.
    public static func entersOutbox(_ m: MessageHeader) -> Bool {
        (m.messageType == .outgoing || m.messageType == .autoResponse) && m.deliveryStatus == .pending
            && m.channelID != nil && m.channelType.deliveredByGateway
    }

    /// Business time for analytics: the channel's calendar, else the team's,
    /// else the workflow settings' (else the standard one). The engine's
    /// `EngineConfiguration.sla` is not consulted, so live operation and a
    /// replay without it count alike.
    struct CalendarMeasure: BusinessTimeMeasure {
        let workflow: WorkflowState
        func businessSeconds(from: Date, to: Date, channel: ChannelID?, team: TeamID?) -> Int {
            let calendar = workflow.calendar(channel: channel) ?? workflow.calendar(team: team)
                ?? (workflow.settings?.policy ?? SLAPolicy()).calendar
            let seconds = calendar.businessSeconds(from: from, to: to)
            return seconds.isFinite ? Int(max(0, min(seconds, Double(Int32.max))).rounded(.down)) : 0
        }
    }

    public mutating func apply(_ e: SequencedEvent) {
        lastSeq = max(lastSeq, e.seq)
        // The book keeps its per-thread facts at the board's thread handles (`ThreadHandles`).
        analytics.apply(e.event, measure: CalendarMeasure(workflow: workflow), handles: &board)
        workflow.apply(e.event)
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
            if recordsMessageIDs { messageThread[m.id] = m.threadID }
            if Self.entersOutbox(m), let channel = m.channelID {
                outbox[m.id] = OutboxEntry(message: m.id, thread: m.threadID, channel: channel, queuedAt: m.createdAt, addedSeq: e.seq)
                outboxReady[channel, default: []].append(m.id)
            }
            if recordsMessageIDs, let ext = m.externalMessageID, let ch = m.channelID {
                external[ExternalKey(channel: ch, externalID: ext)] = MessageRef(thread: m.threadID, message: m.id, seq: e.seq)
            }
        case .deliveryStatusChanged(let m, _, let status, _):
            guard var entry = outbox[m] else { break }
            switch status {
            case .delivered, .read:
                removeFromOutbox(m)
            case .failed, .bounced:
                entry.stage = .failed
                entry.errorReason = entry.errorReason ?? "the provider reported the message \(status.rawValue)"
                entry.leaseUntil = nil
                outbox[m] = entry
                outboxClaimed.remove(m)
                outboxWaiting.remove(m)
            case .sent, .pending:
                break  // a person correcting the record; the outbox keeps its own stage
            }
        case .outboxClaimed(let m, _, let gateway, let attempt, let leaseUntil):
            guard var entry = outbox[m] else { break }
            entry.stage = .claimed
            entry.gateway = gateway
            entry.attempts = attempt
            entry.leaseUntil = leaseUntil
            entry.notBefore = nil
            outbox[m] = entry
            outboxWaiting.remove(m)
            outboxClaimed.insert(m)
        case .outboxReported(let m, let t, let attempt, let report, _):
            guard var entry = outbox[m], entry.apply(report, attempt: attempt) else { break }
            outbox[m] = entry
            outboxClaimed.remove(m)
            switch report {
            case .sent(let provider?) where recordsMessageIDs:
                external[ExternalKey(channel: entry.channel, externalID: provider)] = MessageRef(thread: t, message: m, seq: entry.addedSeq)
            case .retryAfter:
                outboxWaiting.insert(m)
            default:
                break
            }
        case .outboxResent(let m, _, let newMessage):
            outbox[m]?.resentAs = newMessage
            // The copy carries the template use: it is the one that may go out.
            if var use = templateUsage.pending.removeValue(forKey: m) {
                use.message = newMessage
                templateUsage.pending[newMessage] = use
            }
        case .messageAnnotated(let m, _, .deliveryError(let code, let title), _):
            // The provider's own reason replaces the generic one its status report left.
            if var entry = outbox[m] {
                entry.errorCode = code ?? entry.errorCode
                entry.errorReason = title ?? entry.errorReason
                outbox[m] = entry
            }
        case .messageAnnotated(let m, let t, .providerCopy(let channel, let provider, _), _):
            // The provider's own copy of a message CommHub sent: its id there finds it from now on,
            // and mail has no delivery reports to wait for, so the outbox is done with it.
            if recordsMessageIDs {
                external[ExternalKey(channel: channel, externalID: provider)] = MessageRef(thread: t, message: m, seq: e.seq)
            }
            if outbox[m]?.stage == .sent { removeFromOutbox(m) }
        case .messageAnnotated:
            break
        case .gatewayStateChanged(let change):
            let next = (gatewayStates[change.channel] ?? GatewayState()).applying(change)
            gatewayStates[change.channel] = next.values.isEmpty && next.sealedSecrets == nil ? nil : next
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
        case .audited:
            break  // the trail lives in the store's audit table (MemoryAudit for an in-memory engine)
        case .slaStepFired, .slaClockSet, .workflowSettingsChanged, .taskReminderFired:
            break  // thread events (ThreadState) and `workflow`'s own
        case .dataErased(let erasure):
            applyErasure(erasure)
        case .retentionChanged(let p):
            retention = p
        case .templateAttached, .templateUsed, .threadsMerged, .threadSplit, .csatRequested, .csatCaptured:
            applyCase(e)
        case .webAccess(let w):
            web.apply(w)
        }
    }

    mutating func removeFromOutbox(_ m: MessageID) {
        outbox[m] = nil
        outboxClaimed.remove(m)
        outboxWaiting.remove(m)
    }

    /// Up to `max` messages a gateway may take now from `channels`: retries
    /// that are due first (they waited longest), then queued ones, oldest first.
    public func claimableOutgoing(channels: Set<ChannelID>, max: Int, at now: Date) -> [OutboxEntry] {
        var out: [OutboxEntry] = []
        for m in outboxWaiting {
            guard out.count < max else { break }
            if let e = outbox[m], channels.contains(e.channel), e.claimable(at: now) { out.append(e) }
        }
        out.sort { $0.queuedAt < $1.queuedAt }
        for channel in channels where out.count < max {
            for m in outboxReady[channel] ?? [] {
                guard out.count < max else { break }
                if let e = outbox[m], e.stage == .queued { out.append(e) }
            }
        }
        return out
    }

    /// Drops the front of each ready deque that is no longer queued (keeps claims O(claimed)).
    mutating func compactOutboxReady(_ channel: ChannelID) {
        while let m = outboxReady[channel]?.first, outbox[m]?.stage != .queued {
            outboxReady[channel]!.removeFirst()
        }
        if outboxReady[channel]?.isEmpty == true { outboxReady[channel] = nil }
    }
}
