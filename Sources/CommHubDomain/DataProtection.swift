import Foundation

/// Whose data a stored record is: the unit of encryption at rest and of
/// crypto-shredding. Every journal record, body, audit row, snapshot record
/// and attachment file is sealed under the data key of its scope; erasing a
/// customer (or letting retention expire a thread) destroys the keys of the
/// scopes concerned, and whatever was sealed under them becomes unreadable
/// everywhere at once: journal, snapshots, backups, LMDB's free pages.
///
/// Scopes are never stored beside the records (a record names its key's id,
/// not its scope), so the store does not say whose data a record is.
public enum DataScope: Hashable, Sendable, CustomStringConvertible {
    /// Configuration and everything that is about nobody in particular. Never shredded.
    case system
    case thread(ThreadID)
    case customer(CustomerID)
    /// An attachment file, by the lowercase hex SHA-256 of its content.
    case file(String)

    /// The bytes the key table indexes a scope by: a kind byte, then the id.
    public var bytes: [UInt8] {
        switch self {
        case .system: return [0]
        case .thread(let t): return [1] + withUnsafeBytes(of: t.uuid.uuid) { Array($0) }
        case .customer(let c): return [2] + withUnsafeBytes(of: c.uuid.uuid) { Array($0) }
        case .file(let sha): return [3] + Array(sha.utf8)
        }
    }

    public init?(bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard let kind = b.first else { return nil }
        func uuid() -> UUID? {
            guard b.count == 17 else { return nil }
            return UUID(uuid: (b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15], b[16]))
        }
        switch kind {
        case 0 where b.count == 1: self = .system
        case 1: guard let u = uuid() else { return nil }; self = .thread(ThreadID(u))
        case 2: guard let u = uuid() else { return nil }; self = .customer(CustomerID(u))
        case 3 where b.count == 65: self = .file(String(decoding: b[1...], as: UTF8.self))
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .system: "system"
        case .thread(let t): "thread:\(t)"
        case .customer(let c): "customer:\(c)"
        case .file(let f): "file:\(f)"
        }
    }

    public init?(_ text: String) {
        if text == "system" { self = .system; return }
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        switch parts[0] {
        case "thread": guard let t = ThreadID(parts[1]) else { return nil }; self = .thread(t)
        case "customer": guard let c = CustomerID(parts[1]) else { return nil }; self = .customer(c)
        case "file":
            let sha = String(parts[1])
            guard sha.utf8.count == 64, sha.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
            self = .file(sha)
        default: return nil
        }
    }
}

extension DataScope: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let raw = try c.decode(String.self)
        guard let s = DataScope(raw) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(raw)' is not a data scope")
        }
        self = s
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension DataScope {
    /// The scope an event's journal record is sealed under. Pure: the event
    /// alone decides. Explicit for the cases known here; any other case (one
    /// added later) falls to the sound default: the first thread it names
    /// (anywhere in its payload, e.g. a `MessageHeader`'s thread), else the
    /// first customer it names, else the system scope. So a new event about a
    /// thread is shredded with that thread without anyone editing this function.
    public static func of(_ event: EngineEvent) -> DataScope {
        switch event {
        case .customerUpserted(let c): return .customer(c.id)
        case .orderUpserted(let o): return o.customerID.map(DataScope.customer) ?? .system
        case .threadOpened(let h): return .thread(h.id)
        case .threadChanged(let t, _, _), .referenceAdded(let t, _), .deliveryStatusChanged(_, let t, _, _),
             .threadAssigned(let t, _, _, _), .outboxClaimed(_, let t, _, _, _), .outboxReported(_, let t, _, _, _),
             .outboxResent(_, let t, _), .messageAnnotated(_, let t, _, _):
            return .thread(t)
        case .messageAdded(let h, _, _): return .thread(h.threadID)
        // A task's text is about its thread's conversation; a task on no thread is the company's own.
        case .taskUpserted(let t): return t.threadID.map(DataScope.thread) ?? .system
        case .audited(let entry): return entry.dataScope
        // Several threads' ids and reasons only; the skeleton of erased data carries nothing personal.
        case .threadsRebalanced, .dataErased, .retentionChanged: return .system
        case .channelUpserted, .teamUpserted, .contactUpserted, .presenceChanged, .organizationUpserted,
             .routingRulesChanged, .templateUpserted, .tokenIssued, .tokenRevoked:
            return .system
        @unknown default:
            return named(in: event)
        }
    }

    /// Whether `event`'s one journal record carries more than one thread's
    /// data (a merge: the merged thread's messages join the survivor; a
    /// split: messages leave for a new thread). It is sealed under one of
    /// them, so destroying that key would lose the other's part on a replay
    /// (see `JournalWriter.replayNeedsKeys(of:)`).
    public static func carriesSeveralThreads(_ event: EngineEvent) -> Bool {
        switch event {
        case .threadsMerged, .threadSplit: true
        default: false
        }
    }

    /// The default for events this file does not list: the first `ThreadID`
    /// in the payload, else the first `CustomerID`, else `.system`.
    public static func named(in value: Any) -> DataScope {
        var customer: CustomerID?
        if let t = firstID(in: value, depth: 0, customer: &customer) { return .thread(t) }
        return customer.map(DataScope.customer) ?? .system
    }

    private static func firstID(in value: Any, depth: Int, customer: inout CustomerID?) -> ThreadID? {
        if let t = value as? ThreadID { return t }
        if let c = value as? CustomerID {
            if customer == nil { customer = c }
            return nil
        }
        guard depth < 6 else { return nil }
        for child in Mirror(reflecting: value).children {
            if let t = firstID(in: child.value, depth: depth + 1, customer: &customer) { return t }
        }
        return nil
    }
}

extension AuditEntry {
    /// The scope this entry's record is sealed under: set by whoever wrote
    /// it (`scope`), else from the entity it names (a thread, a customer),
    /// else the system scope.
    public var dataScope: DataScope {
        if let scope { return scope }
        switch entity {
        case "thread": return ThreadID(entityID).map(DataScope.thread) ?? .system
        case "customer": return CustomerID(entityID).map(DataScope.customer) ?? .system
        default: return .system
        }
    }
}

/// What stays of a thread whose content was erased (a customer's request)
/// or expired (retention): its timeline. Ids, type, status, priority, brand,
/// channel, assignment, timestamps and the message headers' ids, types,
/// channels, delivery states and times, so that counts and analytics still
/// add up; no subject, no references (they hold phone numbers and mail
/// ids), no sender or recipient data, no provider ids, no bodies.
public struct ThreadSkeleton: Codable, Sendable, Hashable {
    public var header: ThreadHeader
    public var messages: [MessageHeader]
    /// The journal sequence number of each message, parallel to `messages`.
    public var messageSeqs: [UInt64]

    public static let erasedSubject = "erased customer"
    public static let expiredSubject = "expired (retention)"

    /// The skeleton of a thread as it stands: everything personal dropped.
    public init(header: ThreadHeader, messages: [MessageHeader], messageSeqs: [UInt64], reason: DataErasure.Reason) {
        var h = header
        h.threadSubject = reason == .customerRequest ? Self.erasedSubject : Self.expiredSubject
        h.externalReferences = []
        if reason == .customerRequest {
            // The erased person is gone from the directory: nothing may point at them.
            h.customerID = nil
            h.orderID = nil
        }
        self.header = h
        self.messages = messages.map { m in
            var a = m
            a.senderExternal = nil
            a.recipientExternal = nil
            a.subject = nil
            a.externalMessageID = nil
            return a
        }
        self.messageSeqs = messageSeqs
    }

    public init(decodedHeader: ThreadHeader, messages: [MessageHeader], messageSeqs: [UInt64]) {
        self.header = decodedHeader
        self.messages = messages
        self.messageSeqs = messageSeqs
    }
}

/// A journaled erasure: the customer (for a request) and what was removed
/// with them, and the skeleton of every thread whose content was shredded.
/// Written in the system scope before the keys are destroyed, so a restore
/// from any snapshot, before or after, rebuilds the same skeleton while the
/// shredded records themselves are skipped as unreadable.
public struct DataErasure: Codable, Sendable, Hashable {
    public enum Reason: String, ContractEnum {
        /// `POST /api/gdpr/customers/{id}/erase`.
        case customerRequest = "customer_request"
        /// A retention rule expired the threads.
        case retention
    }

    public var reason: Reason
    public var at: Date
    /// The erased customer (customer requests only).
    public var customer: CustomerID?
    /// The customer's orders, removed from the directory with them.
    public var orders: [OrderID]
    /// Tasks removed: those on the erased threads and on the customer's orders.
    public var tasks: [TaskID]
    public var threads: [ThreadSkeleton]

    public init(reason: Reason, at: Date, customer: CustomerID? = nil, orders: [OrderID] = [], tasks: [TaskID] = [],
                threads: [ThreadSkeleton]) {
        self.reason = reason; self.at = at; self.customer = customer; self.orders = orders; self.tasks = tasks
        self.threads = threads
    }

    /// The scopes whose keys the erasure destroys (files are found in the bodies, by the store).
    public var scopes: [DataScope] {
        (customer.map { [DataScope.customer($0)] } ?? []) + threads.map { .thread($0.header.id) }
    }
}

/// How long content is kept, per brand and channel type, and how long the
/// audit trail is kept (separately). Enforced on a schedule on the engine's
/// clock through the same shredding path as an erasure (thread scope): an
/// expired thread keeps its skeleton, its content is destroyed.
public struct RetentionPolicy: Codable, Sendable, Hashable {
    /// One rule: threads of this brand and channel type (nil: any) that are
    /// finished (resolved or closed) keep their content this many months
    /// after they were finished.
    public struct Rule: Codable, Sendable, Hashable {
        public var businessEntity: Brand?
        public var channelType: ChannelType?
        public var keepClosedThreadsMonths: Int

        public init(businessEntity: Brand? = nil, channelType: ChannelType? = nil, keepClosedThreadsMonths: Int) {
            self.businessEntity = businessEntity; self.channelType = channelType
            self.keepClosedThreadsMonths = keepClosedThreadsMonths
        }
    }

    /// Months are 1 to 1200 (a century), so date arithmetic cannot overflow.
    public static let monthsRange = 1...1200
    /// At most this many rules (brands × channel types, with room).
    public static let maxRules = 200

    public var rules: [Rule]
    /// Audit entries older than this many months are deleted; nil keeps them forever.
    public var auditRetentionMonths: Int?

    public init(rules: [Rule] = [], auditRetentionMonths: Int? = nil) {
        self.rules = rules
        self.auditRetentionMonths = auditRetentionMonths
    }

    /// What is wrong with this policy (empty: valid).
    public var problems: [String] {
        var out: [String] = []
        if rules.count > Self.maxRules { out.append("at most \(Self.maxRules) rules") }
        for (i, r) in rules.enumerated() where !Self.monthsRange.contains(r.keepClosedThreadsMonths) {
            out.append("rules[\(i)].keep_closed_threads_months must be \(Self.monthsRange.lowerBound) to \(Self.monthsRange.upperBound)")
        }
        var seen = Set<String>()
        for (i, r) in rules.enumerated() {
            let key = "\(r.businessEntity?.rawValue ?? "*")/\(r.channelType?.rawValue ?? "*")"
            if !seen.insert(key).inserted { out.append("rules[\(i)] repeats business_entity/channel_type \(key)") }
        }
        if let m = auditRetentionMonths, !Self.monthsRange.contains(m) {
            out.append("audit_retention_months must be \(Self.monthsRange.lowerBound) to \(Self.monthsRange.upperBound), or null to keep the trail forever")
        }
        return out
    }

    /// The rule that applies to a thread: brand and channel type both
    /// matching beats brand alone, which beats channel type alone, which
    /// beats the default (neither set). nil: content is kept.
    public func rule(brand: Brand?, channelType: ChannelType) -> Rule? {
        func rank(_ r: Rule) -> Int? {
            if let b = r.businessEntity, b != brand { return nil }
            if let c = r.channelType, c != channelType { return nil }
            return (r.businessEntity != nil ? 2 : 0) + (r.channelType != nil ? 1 : 0)
        }
        return rules.compactMap { r in rank(r).map { (r, $0) } }.max { $0.1 < $1.1 }?.0
    }

    /// Whether a thread's content has expired at `now`: finished, and
    /// finished longer ago than its rule keeps it. Already expired threads
    /// (skeletons) never expire again.
    public func expired(_ h: ThreadHeader, at now: Date) -> Bool {
        guard !h.status.isOpen, h.threadSubject != ThreadSkeleton.expiredSubject,
              h.threadSubject != ThreadSkeleton.erasedSubject,
              let rule = rule(brand: h.businessEntity, channelType: h.channelType),
              let cutoff = Self.monthsBefore(now, rule.keepClosedThreadsMonths) else { return false }
        return (h.resolvedAt ?? h.updatedAt) < cutoff
    }

    /// `now` minus `months` calendar months (UTC), nil if out of range.
    public static func monthsBefore(_ now: Date, _ months: Int) -> Date? {
        guard monthsRange.contains(months) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(byAdding: .month, value: -months, to: now)
    }
}
