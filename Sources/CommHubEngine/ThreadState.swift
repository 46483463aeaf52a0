import CommHubDomain
import Foundation

/// The live state of one thread: its header and its message headers.
/// Bodies are not here (they live in the body store). Assignment is not
/// either: the supervisor's `AssignmentBoard` owns the thread↔agent relation
/// (one owner keeps "every thread with exactly one person" true and lets a
/// rebalance run without touching thread actors); views fill
/// `assigned_to_contact_id` in from the board. `apply` is the only
/// way state changes, both live and during journal replay, so a restored
/// engine is the same engine.
public struct ThreadState: Sendable, Hashable, Codable {
    public var header: ThreadHeader
    public var messages: [MessageHeader]
    /// The journal sequence number of each message, parallel to `messages`.
    public var messageSeqs: [UInt64]
    /// The sequence number of the last event applied to this thread.
    public var lastSeq: UInt64

    public init(header: ThreadHeader, lastSeq: UInt64) {
        self.header = header
        self.messages = []
        self.messageSeqs = []
        self.lastSeq = lastSeq
    }

    public var id: ThreadID { header.id }

    /// `apply` when `seq` is newer than what this state reflects; says whether it was.
    public mutating func applyIfNewer(_ event: EngineEvent, seq: UInt64) -> Bool {
        guard seq > lastSeq else { return false }
        apply(event, seq: seq)
        return true
    }

    /// Applies one event that concerns this thread. Events for other
    /// threads, and events already reflected (`seq <= lastSeq`), are ignored.
    public mutating func apply(_ event: EngineEvent, seq: UInt64) {
        guard seq > lastSeq else { return }
        switch event {
        case .threadOpened(let h) where h.id == id:
            header = h
        case .threadChanged(let t, let change, let at) where t == id:
            apply(change, at: at)
        case .referenceAdded(let t, let ref) where t == id:
            if !header.externalReferences.contains(ref) { header.externalReferences.append(ref) }
        case .messageAdded(let m, _, let due) where m.threadID == id:
            messages.append(m)
            messageSeqs.append(seq)
            header.messageCount += 1
            header.lastMessageAt = max(header.lastMessageAt ?? m.createdAt, m.createdAt)
            header.updatedAt = max(header.updatedAt, m.createdAt)
            let next = ResponseClock.after(m.messageType, awaiting: header.awaitingResponseSince != nil,
                                           currentDue: header.responseDueAt, eventDue: due)
            if !next.awaiting {
                header.awaitingResponseSince = nil
            } else if header.awaitingResponseSince == nil {
                header.awaitingResponseSince = m.createdAt
            }
            header.responseDueAt = next.due
        case .deliveryStatusChanged(let mid, let t, let status, let at) where t == id:
            if let i = messages.lastIndex(where: { $0.id == mid }) {
                messages[i].deliveryStatus = status
                if status == .read, messages[i].readAt == nil { messages[i].readAt = at }
            }
        case .outboxReported(let mid, let t, _, let report, _) where t == id:
            // A gateway's report moves the message forward only (a provider's
            // delivered/read report may have arrived first).
            if let i = messages.lastIndex(where: { $0.id == mid }) {
                switch report {
                case .sent(let provider):
                    if let provider, messages[i].externalMessageID == nil { messages[i].externalMessageID = provider }
                    if DeliveryStatus.sent.advances(from: messages[i].deliveryStatus) { messages[i].deliveryStatus = .sent }
                case .failed:
                    if DeliveryStatus.failed.advances(from: messages[i].deliveryStatus) { messages[i].deliveryStatus = .failed }
                case .retryAfter, .unknown:
                    break
                }
            }
        case .threadsMerged(let m) where m.merged == id || m.survivor.id == id:
            applyMerge(m)
        case .threadSplit(let s) where s.source.id == id:
            applySplitSource(s)
        case .csatCaptured(let a) where a.thread == id:
            // A score answers our question: it does not start the response clock (the thread stays resolved).
            header.awaitingResponseSince = nil
            header.responseDueAt = nil
        default:
            return
        }
        lastSeq = seq
    }

    private mutating func apply(_ c: ThreadChange, at: Date) {
        if let s = c.status {
            if s == .resolved || s == .closed {
                if header.status.isOpen || header.resolvedAt == nil { header.resolvedAt = at }
                header.awaitingResponseSince = nil
                header.responseDueAt = nil
            } else if !header.status.isOpen {
                header.resolvedAt = nil
            }
            header.status = s
        }
        if let p = c.priority { header.priority = p }
        if let t = c.threadType { header.threadType = t }
        if let s = c.threadSubject { header.threadSubject = s }
        if let t = c.tags { header.tags = t }
        if let o = c.orderID { header.orderID = o }
        if let cu = c.customerID { header.customerID = cu }
        if let o = c.customerOrganizationID { header.customerOrganizationID = o }
        if let o = c.partnerOrganizationID { header.partnerOrganizationID = o }
        if let d = c.responseDueAt { header.responseDueAt = d }
        if c.clearResponseDue == true { header.responseDueAt = nil }
        header.updatedAt = max(header.updatedAt, at)
    }

    /// The events that record an inbound message on this thread.
    /// `reopen` marks a resolved thread that the matcher chose to reopen.
    public func eventsForInbound(_ m: InboundMessage, messageID: MessageID, channel: Channel, reopen: Bool,
                                 links: MatchResult, policy: SLAPolicy) -> [EngineEvent] {
        var events: [EngineEvent] = []
        var change = ThreadChange()
        if reopen || header.status == .waitingCustomer || !header.status.isOpen {
            change.status = .open
        }
        if header.customerID == nil, let c = links.customerID { change.customerID = c }
        if header.orderID == nil, let o = links.orderID { change.orderID = o }
        if header.customerOrganizationID == nil, let o = links.organizationID { change.customerOrganizationID = o }
        if !change.isEmpty { events.append(.threadChanged(thread: id, change: change, at: m.receivedAt)) }

        for ref in Self.references(of: m) where !header.externalReferences.contains(ref) {
            events.append(.referenceAdded(thread: id, reference: ref))
        }
        let escalated = header.status == .escalated
        let due = header.awaitingResponseSince == nil || change.status != nil
            ? policy.responseDue(from: m.receivedAt, channelType: channel.channelType,
                                 channelOverride: channel.responseSlaHours, escalated: escalated)
            : header.responseDueAt
        let msg = MessageHeader(
            id: messageID, threadID: id, channelID: channel.id, channelType: channel.channelType,
            messageType: .incoming, senderExternal: m.senderExternal, subject: m.subject,
            externalMessageID: m.externalMessageID, deliveryStatus: .delivered, createdAt: m.receivedAt)
        let body = MessageBody(messageContent: m.messageContent, messageHtml: m.messageHtml,
                               attachments: m.attachments, metadata: m.metadata)
        events.append(.messageAdded(header: msg, body: body, responseDueAt: due))
        return events
    }

    /// The references an inbound message carries that future messages may match on.
    public static func references(of m: InboundMessage) -> [ExternalReference] {
        var refs: [ExternalReference] = []
        if let r = m.threadReference { refs.append(r) }
        if let mid = m.internetMessageID { refs.append(ExternalReference(.emailMessageID, mid)) }
        return refs
    }
}

extension ThreadState {
    /// The snapshot record of this thread in the compact form: `kind`, the
    /// header, the message headers with their sequence numbers, `lastSeq`.
    func compactRecord(kind: UInt8) throws -> [UInt8] {
        var w = CompactWriter(capacity: 256 + messages.count * 128)
        w.u8(kind)
        CompactRecords.write(header, &w)
        w.varint(UInt64(messages.count))
        for (m, seq) in zip(messages, messageSeqs) {
            try CompactRecords.write(m, &w)
            w.varint(seq)
        }
        w.varint(lastSeq)
        return w.bytes
    }

    static func readCompact(_ bytes: [UInt8]) throws -> ThreadState {
        var r = CompactReader(bytes)
        var s = ThreadState(header: try CompactRecords.readThreadHeader(&r), lastSeq: 0)
        let n = try r.varint()
        guard n <= UInt64(bytes.count) else { throw CompactReader.Truncated() }
        s.messages.reserveCapacity(Int(n))
        s.messageSeqs.reserveCapacity(Int(n))
        for _ in 0..<n {
            s.messages.append(try CompactRecords.readMessageHeader(&r))
            s.messageSeqs.append(try r.varint())
        }
        s.lastSeq = try r.varint()
        guard r.atEnd else { throw CompactReader.Truncated() }
        return s
    }
}
