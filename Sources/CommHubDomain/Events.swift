import Foundation

/// One thread moved from one person to another by a rebalance.
public struct ThreadMove: Codable, Sendable, Hashable {
    public var thread: ThreadID
    public var from: ContactID?
    public var to: ContactID?
    /// Where the planner found the thread and the new person in its own
    /// tables (the assignment board's dense handles), so that applying the
    /// plan it just made hashes no ids. Not journaled and not part of
    /// equality: a replayed move has none, and the board ignores one whose
    /// positions hold other ids.
    public var boardHint: BoardHint?

    public struct BoardHint: Sendable {
        public var thread: UInt32
        /// The new person's index, negative for none.
        public var to: Int32
        public init(thread: UInt32, to: Int32) { self.thread = thread; self.to = to }
    }

    public init(thread: ThreadID, from: ContactID?, to: ContactID?, boardHint: BoardHint? = nil) {
        self.thread = thread; self.from = from; self.to = to; self.boardHint = boardHint
    }

    enum CodingKeys: String, CodingKey { case thread, from, to }

    public static func == (a: Self, b: Self) -> Bool { a.thread == b.thread && a.from == b.from && a.to == b.to }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(thread)
        hasher.combine(from)
        hasher.combine(to)
    }
}

/// A change to a thread's header fields; nil means "unchanged".
public struct ThreadChange: Codable, Sendable, Hashable {
    public var status: ThreadStatus?
    public var priority: Priority?
    public var threadType: ThreadType?
    public var threadSubject: String?
    public var tags: [String]?
    public var orderID: OrderID?
    public var customerID: CustomerID?
    public var customerOrganizationID: OrganizationID?
    public var partnerOrganizationID: OrganizationID?
    /// Set when the status change sets or clears the response deadline.
    public var responseDueAt: Date?
    public var clearResponseDue: Bool?

    public init(status: ThreadStatus? = nil, priority: Priority? = nil, threadType: ThreadType? = nil,
                threadSubject: String? = nil, tags: [String]? = nil, orderID: OrderID? = nil,
                customerID: CustomerID? = nil, customerOrganizationID: OrganizationID? = nil,
                partnerOrganizationID: OrganizationID? = nil, responseDueAt: Date? = nil, clearResponseDue: Bool? = nil) {
        self.status = status; self.priority = priority; self.threadType = threadType; self.threadSubject = threadSubject
        self.tags = tags; self.orderID = orderID; self.customerID = customerID
        self.customerOrganizationID = customerOrganizationID; self.partnerOrganizationID = partnerOrganizationID
        self.responseDueAt = responseDueAt; self.clearResponseDue = clearResponseDue
    }

    public var isEmpty: Bool { self == ThreadChange() }
}

/// A fact the engine has applied. Every state change is one of these; the
/// journal stores them in sequence order and replaying them rebuilds the
/// engine exactly. Cases may be added; existing cases and fields only grow
/// with optional fields, so older journals stay readable.
public enum EngineEvent: Codable, Sendable, Hashable {
    case channelUpserted(Channel)
    case teamUpserted(Team)
    case contactUpserted(Contact)
    case presenceChanged(contact: ContactID, presence: Presence)
    case customerUpserted(Customer)
    case organizationUpserted(Organization)
    case orderUpserted(Order)
    case routingRulesChanged(AutoAssignmentRules)
    /// A new thread, with the links and classification routing gave it.
    case threadOpened(ThreadHeader)
    case threadChanged(thread: ThreadID, change: ThreadChange, at: Date)
    case referenceAdded(thread: ThreadID, reference: ExternalReference)
    /// A message. The body travels with the event into the journal
    /// transaction, where the store files it in the body table.
    case messageAdded(header: MessageHeader, body: MessageBody?, responseDueAt: Date?)
    case deliveryStatusChanged(message: MessageID, thread: ThreadID, status: DeliveryStatus, at: Date)
    /// Assignment of one thread to a team queue and/or a person (nil person = queued).
    case threadAssigned(thread: ThreadID, team: TeamID?, agent: ContactID?, reason: String)
    /// One rebalance: every move in one event, so it is applied all or nothing.
    case threadsRebalanced(moves: [ThreadMove], reason: String)
    case taskUpserted(InternalTask)
    case templateUpserted(Template)
    case tokenIssued(APIToken)
    case tokenRevoked(token: TokenID, at: Date)
    /// A mutation made through the API or the admin socket, for the audit trail.
    case audited(AuditEntry)
    /// A gateway took an outgoing message to send it, holding it until
    /// `leaseUntil`. Journaled (and durable) before the send starts.
    case outboxClaimed(message: MessageID, thread: ThreadID, gateway: String, attempt: Int, leaseUntil: Date)
    /// What came of claim `attempt`: the gateway's report, or its lease running out.
    case outboxReported(message: MessageID, thread: ThreadID, attempt: Int, report: DeliveryReport, at: Date)
    /// A person sent `newMessage` in place of an undelivered message.
    case outboxResent(message: MessageID, thread: ThreadID, newMessage: MessageID)
    /// Something learnt about a message after it was recorded (its stored body is patched with it).
    case messageAnnotated(message: MessageID, thread: ThreadID, annotation: MessageAnnotation, at: Date)
    /// A rung of the escalation ladder fired in the thread's current wait.
    /// Journaled first, before (or with) its effects, so it never fires twice.
    case slaStepFired(thread: ThreadID, step: SLAStep, deadline: Date, recipients: [ContactID], at: Date)
    /// The thread's response clock beyond the plain case (paused, resumed,
    /// a wall-clock deadline); nil returns it to the plain case.
    case slaClockSet(thread: ThreadID, progress: SLAProgress?, at: Date)
    /// The engine-wide workflow configuration (`PUT /api/workflow-settings`).
    case workflowSettingsChanged(WorkflowSettings)
    /// A task reminder went out: `key` is `before:<minutes>` or `overdue`,
    /// for the task as due at `due` (a new due moment reminds again).
    case taskReminderFired(task: TaskID, key: String, due: Date, recipients: [ContactID], at: Date)
    /// What a gateway keeps about a channel (subscriptions, delta links, queued work) changed.
    case gatewayStateChanged(GatewayStateChange)
    /// A customer erased on request, or threads expired by retention: what
    /// remains (skeletons) replaces them; their data keys are destroyed next.
    case dataErased(DataErasure)
    /// How long content and the audit trail are kept (`PUT /api/retention`).
    case retentionChanged(RetentionPolicy)
    /// A message was written with a template (journaled with the message).
    case templateAttached(TemplateAttachment)
    /// That message really went out: the template's `usage_count` counts it.
    case templateUsed(TemplateAttachment)
    /// Two threads became one (see `ThreadMerge`).
    case threadsMerged(ThreadMerge)
    /// A message and what follows it became a thread of their own (see `ThreadSplit`).
    case threadSplit(ThreadSplit)
    /// A satisfaction question was sent on a resolved thread.
    case csatRequested(CSATRequest)
    /// The customer's 1–5 answer, captured without reopening the thread.
    case csatCaptured(CSATAnswer)
    /// The web app's records: passwords, invites, sessions, mentions, push subscriptions (`WebAccess.swift`).
    case webAccess(WebAccessEvent)

    /// A short name for logs, metrics and the admin socket.
    public var name: String {
        switch self {
        case .channelUpserted: "channel.upserted"
        case .teamUpserted: "team.upserted"
        case .contactUpserted: "contact.upserted"
        case .presenceChanged: "contact.presence"
        case .customerUpserted: "customer.upserted"
        case .organizationUpserted: "organization.upserted"
        case .orderUpserted: "order.upserted"
        case .routingRulesChanged: "routing.changed"
        case .threadOpened: "thread.opened"
        case .threadChanged: "thread.updated"
        case .referenceAdded: "thread.reference"
        case .messageAdded: "message.created"
        case .deliveryStatusChanged: "message.updated"
        case .threadAssigned: "thread.assigned"
        case .threadsRebalanced: "thread.rebalanced"
        case .taskUpserted: "task.upserted"
        case .templateUpserted: "template.upserted"
        case .tokenIssued: "token.issued"
        case .tokenRevoked: "token.revoked"
        case .audited: "audit.recorded"
        case .outboxClaimed: "outbox.claimed"
        case .outboxReported: "outbox.reported"
        case .outboxResent: "outbox.resent"
        case .messageAnnotated: "message.updated"
        case .slaStepFired: "sla.alert"
        case .slaClockSet: "sla.clock"
        case .workflowSettingsChanged: "workflow.settings"
        case .taskReminderFired: "task.reminder"
        case .gatewayStateChanged: "gateway.state"
        case .dataErased: "data.erased"
        case .retentionChanged: "retention.changed"
        case .templateAttached: "template.attached"
        case .templateUsed: "template.used"
        case .threadsMerged: "thread.merged"
        case .threadSplit: "thread.split"
        case .csatRequested: "csat.requested"
        case .csatCaptured: "csat.captured"
        case .webAccess(let w): w.name
        }
    }
}

/// An event with the sequence number the journal gave it.
public struct SequencedEvent: Sendable, Hashable {
    public var seq: UInt64
    public var event: EngineEvent
    public init(seq: UInt64, event: EngineEvent) { self.seq = seq; self.event = event }
}

/// Encodes events for the journal. Format version 1: JSON of `EngineEvent`
/// (Swift's synthesized enum coding: `{"caseName":{"field":...}}`), dates as
/// seconds since 2001-01-01T00:00:00Z (Foundation's reference date, the
/// number `Date` itself holds), so every time round-trips exactly. `Snapshots/FORMAT.md` specifies it.
public struct EventCodec: Sendable {
    public static let formatVersion: UInt8 = 1
    private let encoder: JSONEncoder
    private let decoder: JSONDecoder

    /// Make one per batch or per thread and reuse it: building Foundation's
    /// coders costs more than encoding a small event.
    public init() {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .deferredToDate
        e.outputFormatting = [.sortedKeys]
        encoder = e
        let d = JSONDecoder()
        d.dateDecodingStrategy = .deferredToDate
        decoder = d
    }

    public func encode(_ event: EngineEvent) throws -> [UInt8] {
        Array(try encoder.encode(event))
    }

    public func decode(_ bytes: some Collection<UInt8>, version: UInt8) throws -> EngineEvent {
        guard version == 1 else { throw CodecError.unknownVersion(version) }
        if bytes.first == CompactEvents.marker { return try CompactEvents.decode(Array(bytes)) }
        return try decoder.decode(EngineEvent.self, from: Data(bytes))
    }

    /// What the journal writes: the compact binary form for the events every
    /// message produces (messageAdded, threadAssigned, threadChanged,
    /// referenceAdded, deliveryStatusChanged), JSON for the rest. Both are
    /// payloads of format 1; `decode` tells them apart by the first byte.
    public func encodeForJournal(_ event: EngineEvent) throws -> [UInt8] {
        try CompactEvents.encode(event) ?? encode(event)
    }

    /// Whether the journal writes this event in the compact binary form
    /// (`encodeForJournal` then never uses JSON for it).
    public static func hasCompactForm(_ event: EngineEvent) -> Bool {
        switch event {
        case .messageAdded, .threadAssigned, .threadOpened, .deliveryStatusChanged, .referenceAdded, .threadChanged, .dataErased: true
        default: false
        }
    }

    /// Message bodies for the body table, compact; `decodeBody` also reads
    /// the JSON bodies of earlier writers.
    public func encodeBody(_ body: MessageBody) throws -> [UInt8] {
        try CompactEvents.encodeBody(body)
    }

    public func decodeBody(_ bytes: [UInt8]) throws -> MessageBody {
        if bytes.first == CompactEvents.marker { return try CompactEvents.decodeBody(bytes) }
        return try decoder.decode(MessageBody.self, from: Data(bytes))
    }

    public enum CodecError: Error, Equatable { case unknownVersion(UInt8) }
}
