import CommHubDomain
import Foundation

/// Templates in use: uses whose message has not gone out yet, and real
/// sends per kind of thread (type and brand) for suggestions. `usage_count`
/// itself lives on the template.
public struct TemplateUsage: Sendable, Hashable {
    /// Messages written with a template, until they are really sent.
    public var pending: [MessageID: TemplateAttachment] = [:]
    /// Real sends of each template in threads of one type and brand.
    public var similar: [TemplateSimilarity: [TemplateID: Int]] = [:]

    public init() {}

    mutating func count(_ a: TemplateAttachment) {
        pending[a.message] = nil
        let n = similar[a.similarity]?[a.template] ?? 0
        similar[a.similarity, default: [:]][a.template] = n < Int.max ? n + 1 : n
    }
}

/// Where merged and split threads went: a merged thread points to its
/// survivor, a thread made by a split to the thread it came from.
public struct ThreadLinks: Sendable, Hashable {
    public var mergedInto: [ThreadID: ThreadID] = [:]
    public var splitFrom: [ThreadID: ThreadID] = [:]
    /// Longest chain of merges followed (A into B, B into C, …); a longer one cannot be built one merge at a time
    /// without passing through here, so the bound only guards against damage.
    static let maxChain = 1_000

    public init() {}

    /// The thread that now holds `thread`'s conversation: itself unless it was merged (followed through merges).
    public func survivor(of thread: ThreadID) -> ThreadID {
        var t = thread
        var steps = 0
        while let next = mergedInto[t], steps < Self.maxChain {
            t = next
            steps += 1
        }
        return t
    }
}

extension EngineState {
    /// Applies the events of templates in use, merges and splits, and
    /// satisfaction surveys. Idempotent where a replay may apply an event
    /// that a snapshot already reflects (see `RestoredEngine.replay`).
    mutating func applyCase(_ e: SequencedEvent) {
        switch e.event {
        case .templateAttached(let a):
            templateUsage.pending[a.message] = a
        case .templateUsed(let a):
            templateUsage.count(a)
            if let t = templates[a.template] { templates[a.template]!.usageCount = t.usageCount < Int.max ? t.usageCount + 1 : t.usageCount }
        case .threadsMerged(let m):
            applyMerge(m)
        case .threadSplit(let s):
            applySplit(s)
        case .csatRequested(let r):
            csat[r.thread] = CSATRecord(request: r)
        case .csatCaptured(let a):
            guard var record = csat[a.thread] else { break }
            record.score = a.score
            record.answeredAt = a.at
            record.answerMessage = a.message
            csat[a.thread] = record
        default:
            break
        }
    }

    private mutating func applyMerge(_ m: ThreadMerge) {
        let survivor = m.survivor.id
        threadLinks.mergedInto[m.merged] = survivor
        move(m.messages, seqs: m.messageSeqs, to: survivor)
        for r in m.references { index.apply(.referenceAdded(thread: survivor, reference: r)) }
        let closed = EngineEvent.threadChanged(thread: m.merged, change: ThreadChange(status: .closed), at: m.at)
        index.apply(closed)
        board.apply(closed)
        let links = EngineEvent.threadChanged(thread: survivor, change: ThreadChange(
            status: m.survivor.status, orderID: m.survivor.orderID, customerID: m.survivor.customerID), at: m.at)
        index.apply(links)
        board.apply(links)
        for (id, t) in tasks where t.threadID == m.merged { tasks[id]!.threadID = survivor }
    }

    private mutating func applySplit(_ s: ThreadSplit) {
        let new = s.newThread.id
        threadLinks.splitFrom[new] = s.source.id
        if index.rowExists(new) == false {
            index.apply(.threadOpened(s.newThread))
            board.apply(.threadOpened(s.newThread))
        }
        move(s.messages, seqs: s.messageSeqs, to: new)
        for r in s.references { index.apply(.referenceAdded(thread: new, reference: r)) }
    }

    /// Messages now belong to `thread`: the message → thread table, the idempotency table, the outbox.
    private mutating func move(_ messages: [MessageHeader], seqs: [UInt64], to thread: ThreadID) {
        for (h, seq) in zip(messages, seqs) {
            if recordsMessageIDs { messageThread[h.id] = thread }
            if recordsMessageIDs, let ext = h.externalMessageID, let channel = h.channelID {
                external[ExternalKey(channel: channel, externalID: ext)] = MessageRef(thread: thread, message: h.id, seq: seq)
            }
            outbox[h.id]?.thread = thread
        }
    }
}

extension MatchIndex {
    /// Whether the index has a row for the thread.
    func rowExists(_ t: ThreadID) -> Bool { rows[t] != nil }
}
