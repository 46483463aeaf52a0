import CommHubDomain
import Foundation

/// Plans merges and splits as pure functions of thread states: what the
/// survivor, the new thread and the source look like afterwards. The
/// supervisor journals the plan as one event and each thread applies it
/// (`ThreadState.applyMerge`, `applySplitSource`, `init(split:seq:)`).
///
/// Decisions:
/// - **Merge.** The survivor keeps its subject, type, brand, channel and
///   assignment. It takes the merged thread's messages (in time order with
///   its own), references, tags and the links it lacks (customer, order,
///   organisations), the higher priority, and the earlier of the two
///   deadlines. When the merged thread waits for our answer and the
///   survivor was resolved or waiting, the survivor is open again. Threads
///   of two different brands are not merged (replies would go out under the
///   wrong brand); a closed survivor is refused (closed threads take no messages).
/// - **Split.** The message and every message after it move to a new
///   thread with the source's subject (or the message's own subject), type,
///   priority, brand, links, tags and assignment. Chat references
///   (`whatsapp_chat_id`, `sms_chat_id`) of the channels the moved messages
///   came on move with them, so the chat's next message lands in the new
///   thread; mail references (conversation id, Message-IDs) stay with the
///   source. Each thread then waits for an answer when its own last
///   customer message is unanswered, with the source's deadline.
public enum ThreadMerging {
    /// Most messages one merge or split may move: the journal event carries
    /// their headers (about 400 bytes each), and one event is at most 4 MiB.
    public static let maxMessagesMoved = 5_000

    public static func merge(_ merged: ThreadState, into survivor: ThreadState, by: ContactID?, at: Date) throws -> ThreadMerge {
        let a = merged.header, b = survivor.header
        guard a.id != b.id else { throw EngineError.invalid("a thread cannot be merged into itself") }
        if let x = a.businessEntity, let y = b.businessEntity, x != y {
            throw EngineError.invalid("thread \(a.id) is \(x.rawValue)'s and thread \(b.id) is \(y.rawValue)'s: "
                + "threads of different brands are not merged (answers would go out under the wrong brand)")
        }
        guard b.status != .closed else {
            throw EngineError(.conflict, "thread \(b.id) is closed and takes no messages; merge into an open or resolved thread")
        }
        guard merged.messages.count <= maxMessagesMoved else {
            throw EngineError.invalid("thread \(a.id) has \(merged.messages.count) messages; at most \(maxMessagesMoved) can be merged in one step")
        }
        var h = b
        h.messageCount = min(ThreadHeader.maxMessagesPerThread, b.messageCount + merged.messages.count)
        h.lastMessageAt = [a.lastMessageAt, b.lastMessageAt].compactMap { $0 }.max()
        h.updatedAt = max(b.updatedAt, at)
        h.priority = max(a.priority, b.priority)
        h.tags = b.tags + a.tags.filter { !b.tags.contains($0) }
        h.customerID = b.customerID ?? a.customerID
        h.orderID = b.orderID ?? a.orderID
        h.customerOrganizationID = b.customerOrganizationID ?? a.customerOrganizationID
        h.partnerOrganizationID = b.partnerOrganizationID ?? a.partnerOrganizationID
        let references = a.externalReferences.filter { !b.externalReferences.contains($0) }
        h.externalReferences = b.externalReferences + references
        let aWaits = a.status.isOpen && a.awaitingResponseSince != nil
        let bWaits = b.status.isOpen && b.awaitingResponseSince != nil
        if aWaits {
            h.awaitingResponseSince = [a.awaitingResponseSince, bWaits ? b.awaitingResponseSince : nil].compactMap { $0 }.min()
            h.responseDueAt = [a.responseDueAt, bWaits ? b.responseDueAt : nil].compactMap { $0 }.min()
            if [.resolved, .waitingCustomer, .waitingInternal].contains(b.status) {
                h.status = .open
                h.resolvedAt = nil
            }
        }
        let moved = merged.messages.map { m -> MessageHeader in
            var m = m
            m.threadID = b.id
            return m
        }
        return ThreadMerge(merged: a.id, survivor: h, messages: moved, messageSeqs: merged.messageSeqs,
                           references: references, by: by, at: at)
    }

    public static func split(_ source: ThreadState, from message: MessageID, newID: ThreadID, by: ContactID?,
                             at: Date) throws -> ThreadSplit {
        let s = source.header
        guard let i = source.messages.firstIndex(where: { $0.id == message }) else {
            throw EngineError.notFound("message in thread \(s.id)", message)
        }
        guard i > 0 else {
            throw EngineError.invalid("message \(message) is the thread's first message: a split there would leave the thread empty")
        }
        let count = source.messages.count - i
        guard count <= maxMessagesMoved else {
            throw EngineError.invalid("\(count) messages follow message \(message); at most \(maxMessagesMoved) can be split off in one step")
        }
        let kept = Array(source.messages[..<i])
        let moving = Array(source.messages[i...])
        let movingSeqs = Array(source.messageSeqs[i...])
        var chatKinds: Set<ExternalReference.Kind> = []
        if moving.contains(where: { $0.channelType == .whatsappBusiness }) { chatKinds.insert(.whatsappChat) }
        if moving.contains(where: { $0.channelType == .sms }) { chatKinds.insert(.smsChat) }
        let references = s.externalReferences.filter { chatKinds.contains($0.kind) }

        let subject = moving[0].subject.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 } ?? s.threadSubject
        var n = ThreadHeader(id: newID, threadSubject: subject, threadType: s.threadType, priority: s.priority, status: .open,
                             businessEntity: s.businessEntity, channelType: moving[0].channelType, orderID: s.orderID,
                             customerID: s.customerID, customerOrganizationID: s.customerOrganizationID,
                             partnerOrganizationID: s.partnerOrganizationID, assignedTeamID: s.assignedTeamID,
                             createdByContactID: by, createdAt: at, tags: s.tags, externalReferences: references,
                             requiredSkills: s.requiredSkills)
        n.messageCount = moving.count
        n.lastMessageAt = moving.map(\.createdAt).max()
        n.awaitingResponseSince = awaitingSince(moving)
        n.responseDueAt = n.awaitingResponseSince == nil ? nil : s.responseDueAt

        var h = s
        h.messageCount = max(0, s.messageCount - moving.count)
        h.lastMessageAt = kept.map(\.createdAt).max()
        h.updatedAt = max(s.updatedAt, at)
        h.externalReferences = s.externalReferences.filter { !chatKinds.contains($0.kind) }
        if s.status.isOpen, let since = awaitingSince(kept) {
            h.awaitingResponseSince = since
        } else {
            h.awaitingResponseSince = nil
            h.responseDueAt = nil
        }
        let moved = moving.map { m -> MessageHeader in
            var m = m
            m.threadID = newID
            return m
        }
        return ThreadSplit(source: h, newThread: n, messages: moved, messageSeqs: movingSeqs, references: references,
                           by: by, at: at)
    }

    /// When the customer's unanswered messages began: the first incoming
    /// message after our last answer (auto-responses, notes and notices do
    /// not answer), or nil when the last word is ours.
    static func awaitingSince(_ messages: [MessageHeader]) -> Date? {
        var since: Date?
        for m in messages {
            switch m.messageType {
            case .incoming: if since == nil { since = m.createdAt }
            case .outgoing: since = nil
            case .autoResponse, .internalNote, .systemNotification: break
            }
        }
        return since
    }
}

extension ThreadState {
    /// The merge as this thread sees it: the merged thread gives up its
    /// messages and references and closes; the survivor takes them.
    mutating func applyMerge(_ m: ThreadMerge) {
        if id == m.merged {
            messages = []
            messageSeqs = []
            header.messageCount = 0
            header.externalReferences = []
            if header.status.isOpen || header.resolvedAt == nil { header.resolvedAt = m.at }
            header.status = .closed
            header.awaitingResponseSince = nil
            header.responseDueAt = nil
            header.updatedAt = max(header.updatedAt, m.at)
        } else if id == m.survivor.id {
            var all = Array(zip(messages, messageSeqs)) + Array(zip(m.messages, m.messageSeqs))
            all.sort { ($0.0.createdAt, $0.1) < ($1.0.createdAt, $1.1) }
            messages = all.map(\.0)
            messageSeqs = all.map(\.1)
            header = m.survivor
        }
    }

    /// The split as its source sees it: the moved messages leave.
    mutating func applySplitSource(_ s: ThreadSplit) {
        let moved = Set(s.messages.map(\.id))
        var keptMessages: [MessageHeader] = []
        var keptSeqs: [UInt64] = []
        for (m, seq) in zip(messages, messageSeqs) where !moved.contains(m.id) {
            keptMessages.append(m)
            keptSeqs.append(seq)
        }
        messages = keptMessages
        messageSeqs = keptSeqs
        header = s.source
    }

    /// The thread a split makes, as of the split's event.
    public init(split s: ThreadSplit, seq: UInt64) {
        self.init(header: s.newThread, lastSeq: seq)
        messages = s.messages
        messageSeqs = s.messageSeqs
    }
}
