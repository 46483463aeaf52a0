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
    /// Storage of `sla`: nil in the plain case, which is most threads (an
    /// optional array is one word; an optional `SLAProgress` would be ~70
    /// bytes in every thread of a million).
    private var slaStorage: [SLAProgress]?

    public init(header: ThreadHeader, lastSeq: UInt64) {
        self.header = header
        self.messages = []
        self.messageSeqs = []
        self.lastSeq = lastSeq
    }

    /// The current wait's response clock beyond the plain case (see
    /// `SLAProgress`): nil while the wait is plain or there is no wait.
    public var sla: SLAProgress? {
        get { slaStorage?.first }
        set { slaStorage = newValue.map { [$0] } }
    }

    /// The ladder's view of the current wait, when a clock is running (not paused, a deadline set).
    public var slaClock: SLAClock? {
        guard header.status.isOpen, let start = header.awaitingResponseSince, let due = header.responseDueAt else { return nil }
        let progress = sla?.waitStart == start ? sla : nil
        if progress?.isPaused == true { return nil }
        return SLAClock(waitStart: start, due: due, progress: progress)
    }

    public var id: ThreadID { header.id }

    /// Drops the oldest message headers beyond `keep` whose events are
    /// durable through `durableThrough` (the store's history holds them;
    /// `Supervisor.withHistory` reads them back). `header.messageCount`
    /// still counts every message.
    ///
    /// The customer's last message on each channel stays, however old:
    /// an answer's recipient, WhatsApp's 24-hour window, the channel of the
    /// satisfaction question and of the SLA are read from it, and a run of
    /// outgoing messages (reminders, a long exchange between colleagues)
    /// must not push it out. At most one per channel, in journal order in
    /// front of the recent ones.
    public mutating func trimMessages(keep: Int, durableThrough: UInt64) {
        let excess = messages.count - max(0, keep)
        guard excess > 0 else { return }
        var drop = 0
        while drop < excess, messageSeqs[drop] <= durableThrough { drop += 1 }
        guard drop > 0 else { return }
        var answered = Set<ChannelID>()  // channels with a later incoming message
        for m in messages[drop...] where m.messageType == .incoming {
            if let c = m.channelID { answered.insert(c) }
        }
        var stays: [Int] = []
        for i in stride(from: drop - 1, through: 0, by: -1) where messages[i].messageType == .incoming {
            if let c = messages[i].channelID, answered.insert(c).inserted { stays.append(i) }
        }
        let keptMessages = stays.reversed().map { messages[$0] }, keptSeqs = stays.reversed().map { messageSeqs[$0] }
        messages.replaceSubrange(0..<drop, with: keptMessages)
        messageSeqs.replaceSubrange(0..<drop, with: keptSeqs)
        // A trim to a much smaller window (a thread resolved) gives the arrays' room back:
        // replaceSubrange keeps their capacity, and a resolved thread would go on holding it.
        if messages.capacity > 2 * messages.count + 8 {
            messages = Self.compacted(messages)
            messageSeqs = Self.compacted(messageSeqs)
        }
    }

    private static func compacted<T>(_ a: [T]) -> [T] {
        var out: [T] = []
        out.reserveCapacity(a.count)
        out.append(contentsOf: a)
        return out
    }

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
            if let p = sla, p.waitStart != header.awaitingResponseSince { sla = nil }  // that wait is over
        case .slaStepFired(let t, let step, _, _, let at) where t == id:
            var p = sla.flatMap { $0.waitStart == header.awaitingResponseSince ? $0 : nil }
                ?? SLAProgress(waitStart: header.awaitingResponseSince ?? at)
            p.fired |= step.bit
            sla = p
        case .slaClockSet(let t, let progress, _) where t == id:
            sla = progress
        case .deliveryStatusChanged(let mid, let t, _, _) where t == id:
            if let i = messages.lastIndex(where: { $0.id == mid }) { messages[i].apply(event) }
        case .outboxReported(let mid, let t, _, _, _) where t == id:
            if let i = messages.lastIndex(where: { $0.id == mid }) { messages[i].apply(event) }
        case .messageAnnotated(let mid, let t, .providerCopy, _) where t == id:
            if let i = messages.lastIndex(where: { $0.id == mid }) { messages[i].apply(event) }
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
                sla = nil
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
    /// `reopen` marks a resolved thread that the matcher chose to reopen;
    /// `policy` carries the calendar that applies to this thread and channel.
    ///
    /// The response clock: a message that finds nobody owing the customer an
    /// answer starts a wait, due per `policy`; a message while the clock is
    /// paused (`waiting_customer`) resumes it with the time it had left; a
    /// message while a clock runs changes nothing (the first unanswered
    /// message sets the deadline). A message a machine wrote
    /// (`AutoReplyDetection`) is recorded as `auto_response`: no clock, no
    /// status change.
    public func eventsForInbound(_ m: InboundMessage, messageID: MessageID, channel: Channel, reopen: Bool,
                                 links: MatchResult, policy: SLAPolicy) -> [EngineEvent] {
        let automatic = AutoReplyDetection.isAutomatic(m)
        var events: [EngineEvent] = []
        var change = ThreadChange()
        if !automatic, reopen || header.status == .waitingCustomer || !header.status.isOpen {
            change.status = .open
        }
        if header.customerID == nil, let c = links.customerID { change.customerID = c }
        if header.orderID == nil, let o = links.orderID { change.orderID = o }
        if header.customerOrganizationID == nil, let o = links.organizationID { change.customerOrganizationID = o }
        if !change.isEmpty { events.append(.threadChanged(thread: id, change: change, at: m.receivedAt)) }

        for ref in Self.references(of: m) where !header.externalReferences.contains(ref) {
            events.append(.referenceAdded(thread: id, reference: ref))
        }
        var due: Date?
        var progress: SLAProgress??  // .some: set the clock's progress after the message
        if automatic {
            due = nil
        } else if let paused = pausedProgress {
            // The customer answered while we waited for them: the clock runs again with what it had left.
            let resumed = Self.resume(paused, at: m.receivedAt, calendar: policy.calendar)
            due = resumed.run?.due(calendar: policy.calendar)
            progress = .some(resumed)
        } else if header.awaitingResponseSince == nil || change.status != nil {
            let escalated = header.status == .escalated
            due = policy.responseDue(from: m.receivedAt, channelType: channel.channelType,
                                     channelOverride: channel.responseSlaHours, escalated: escalated)
            if escalated, due != nil, header.awaitingResponseSince == nil {
                // An escalated thread's deadline is wall-clock time: the ladder must count it so.
                progress = .some(SLAProgress(waitStart: m.receivedAt, run: .init(
                    startedAt: m.receivedAt, budgetSeconds: policy.escalatedMinutes * 60, wallClock: true)))
            }
        } else {
            due = header.responseDueAt
        }
        let msg = MessageHeader(
            id: messageID, threadID: id, channelID: channel.id, channelType: channel.channelType,
            messageType: automatic ? .autoResponse : .incoming, senderExternal: m.senderExternal, subject: m.subject,
            externalMessageID: m.externalMessageID, deliveryStatus: .delivered, createdAt: m.receivedAt)
        var metadata = m.metadata
        if automatic { metadata["auto_submitted"] = .bool(true) }
        let body = MessageBody(messageContent: m.messageContent, messageHtml: m.messageHtml,
                               attachments: m.attachments, metadata: metadata)
        events.append(.messageAdded(header: msg, body: body, responseDueAt: due))
        if case .some(let p) = progress { events.append(.slaClockSet(thread: id, progress: p, at: m.receivedAt)) }
        return events
    }

    /// What a status change does to the response clock of `state`:
    /// escalation gives a wall-clock deadline (`escalatedMinutes`);
    /// `waiting_customer` pauses a running clock (the deadline is cleared:
    /// nothing is overdue while we wait for the customer); leaving it for an
    /// open status resumes the clock with the time it had left. Sets the
    /// deadline fields of `c`; returns the progress to record (`.some`), or nil.
    static func clockEffects(of c: inout ThreadChange, on state: ThreadState, at: Date, policy: SLAPolicy) -> SLAProgress?? {
        let h = state.header
        let calendar = policy.calendar
        if c.status == .escalated, h.status != .escalated {
            c.responseDueAt = policy.responseDue(from: at, channelType: h.channelType, channelOverride: nil, escalated: true)
            guard let start = h.awaitingResponseSince else { return nil }
            var p = state.sla.flatMap { $0.waitStart == start ? $0 : nil } ?? SLAProgress(waitStart: start)
            if let due = h.responseDueAt, due <= at, p.missedDeadline == nil { p.missedDeadline = due }
            p.run = .init(startedAt: at, budgetSeconds: policy.escalatedMinutes * 60, wallClock: true)
            p.pausedRemainingSeconds = nil
            return .some(p)
        }
        if c.status == .waitingCustomer, h.status != .waitingCustomer, let clock = state.slaClock {
            c.clearResponseDue = true
            return .some(pause(clock.progress ?? SLAProgress(waitStart: clock.waitStart), run: clock.run(calendar: calendar),
                               due: clock.due, at: at, calendar: calendar))
        }
        if let s = c.status, s != .waitingCustomer, s.isOpen, let paused = state.pausedProgress {
            let resumed = resume(paused, at: at, calendar: calendar)
            c.responseDueAt = resumed.run?.due(calendar: calendar)
            return .some(resumed)
        }
        return nil
    }

    /// The current wait's progress when its clock is paused.
    var pausedProgress: SLAProgress? {
        guard let start = header.awaitingResponseSince, let p = sla, p.waitStart == start, p.isPaused else { return nil }
        return p
    }

    /// The run the current wait's clock is on: the stored one or the plain one.
    func currentRun(calendar: BusinessCalendar) -> SLAProgress.Run? {
        slaClock?.run(calendar: calendar)
    }

    /// `p` paused at `at`: the run it was on and the seconds it had left.
    static func pause(_ p: SLAProgress, run: SLAProgress.Run, due: Date, at: Date, calendar: BusinessCalendar) -> SLAProgress {
        var q = p
        q.run = run
        q.pausedRemainingSeconds = run.remaining(at: at, calendar: calendar)
        if due <= at, q.missedDeadline == nil { q.missedDeadline = due }
        return q
    }

    /// `p` resumed at `at`: a run from `at` with the budget it had left.
    static func resume(_ p: SLAProgress, at: Date, calendar: BusinessCalendar) -> SLAProgress {
        var q = p
        let left = p.pausedRemainingSeconds ?? 0
        let old = p.run ?? SLAProgress.Run(startedAt: at, budgetSeconds: left, wallClock: false)
        q.run = SLAProgress.Run(startedAt: at, budgetSeconds: old.budgetSeconds,
                                consumedSeconds: max(0, old.budgetSeconds - left), wallClock: old.wallClock)
        q.pausedRemainingSeconds = nil
        return q
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
    /// header, the message headers with their sequence numbers, `lastSeq`,
    /// and — only when `sla` is set, in records of the kind that says so
    /// (`DurableEngine.RecordKind.compactThreadSLA`) — `sla` as JSON.
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
        if let sla { try w.json(sla) }
        return w.bytes
    }

    static func readCompact(_ bytes: [UInt8], withSLA: Bool = false) throws -> ThreadState {
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
        // The clock's progress follows when the thread has one (a record of kind
        // `compactThreadSLA`; the kind makes older binaries refuse it plainly).
        if withSLA || !r.atEnd { s.sla = try r.json(SLAProgress.self) }
        guard r.atEnd else { throw CompactReader.Truncated() }
        return s
    }
}
