import Foundation

// Payloads of the journal events for templates in use, merging and
// splitting threads, and satisfaction surveys. Each carries everything its
// `apply` needs, so a replay never has to look anything up.

/// A message that was written with a template.
public struct TemplateAttachment: Codable, Sendable, Hashable {
    public var message: MessageID
    public var thread: ThreadID
    public var template: TemplateID
    /// The thread's type and brand when the message was written (for "what agents used in similar threads").
    public var similarity: TemplateSimilarity

    public init(message: MessageID, thread: ThreadID, template: TemplateID, similarity: TemplateSimilarity) {
        self.message = message; self.thread = thread; self.template = template; self.similarity = similarity
    }
}

/// Two threads about one case become one: `merged` joins `survivor`.
/// `survivor` is the survivor's header after the merge (links it lacked,
/// the higher priority, the tags and references of both, the earlier
/// deadline); `messages` are the merged thread's messages as they join it
/// (their `thread_id` the survivor's) with their journal sequence numbers.
/// The merged thread is closed, keeps no messages and no references, and
/// points to its survivor.
public struct ThreadMerge: Codable, Sendable, Hashable {
    public var merged: ThreadID
    public var survivor: ThreadHeader
    public var messages: [MessageHeader]
    public var messageSeqs: [UInt64]
    /// The merged thread's references, now the survivor's.
    public var references: [ExternalReference]
    public var by: ContactID?
    public var at: Date

    public init(merged: ThreadID, survivor: ThreadHeader, messages: [MessageHeader], messageSeqs: [UInt64],
                references: [ExternalReference], by: ContactID?, at: Date) {
        self.merged = merged; self.survivor = survivor; self.messages = messages; self.messageSeqs = messageSeqs
        self.references = references; self.by = by; self.at = at
    }
}

/// A message and what follows it leave `source` for a new thread.
/// `newThread` is the new thread's header, `messages` its messages (their
/// `thread_id` the new thread's) with their sequence numbers, `references`
/// the references that moved with them; `source` is the source's header after the split.
public struct ThreadSplit: Codable, Sendable, Hashable {
    public var source: ThreadHeader
    public var newThread: ThreadHeader
    public var messages: [MessageHeader]
    public var messageSeqs: [UInt64]
    public var references: [ExternalReference]
    public var by: ContactID?
    public var at: Date

    public init(source: ThreadHeader, newThread: ThreadHeader, messages: [MessageHeader], messageSeqs: [UInt64],
                references: [ExternalReference], by: ContactID?, at: Date) {
        self.source = source; self.newThread = newThread; self.messages = messages; self.messageSeqs = messageSeqs
        self.references = references; self.by = by; self.at = at
    }
}

/// A satisfaction question went out on a resolved thread.
public struct CSATRequest: Codable, Sendable, Hashable {
    public var thread: ThreadID
    /// The question (an `auto_response` message in the outbox).
    public var message: MessageID
    public var channel: ChannelID
    /// Who had the thread when it was resolved.
    public var agent: ContactID?
    public var at: Date
    /// Answers are taken until then.
    public var until: Date

    public init(thread: ThreadID, message: MessageID, channel: ChannelID, agent: ContactID?, at: Date, until: Date) {
        self.thread = thread; self.message = message; self.channel = channel; self.agent = agent; self.at = at; self.until = until
    }
}

/// A customer's 1–5 answer, captured on the thread without reopening it.
public struct CSATAnswer: Codable, Sendable, Hashable {
    public var thread: ThreadID
    /// The customer's message that carried the score.
    public var message: MessageID
    public var score: Int
    public var at: Date
    /// Who had the thread when it was resolved (from the request).
    public var agent: ContactID?

    public init(thread: ThreadID, message: MessageID, score: Int, at: Date, agent: ContactID?) {
        self.thread = thread; self.message = message; self.score = score; self.at = at; self.agent = agent
    }
}

/// What CommHub keeps of a thread's satisfaction survey.
public struct CSATRecord: Codable, Sendable, Hashable {
    public var request: CSATRequest
    public var score: Int?
    public var answeredAt: Date?
    public var answerMessage: MessageID?

    public init(request: CSATRequest) { self.request = request }

    /// Whether an answer at `at` is still taken.
    public func awaitsAnswer(at: Date) -> Bool { score == nil && at >= request.at && at <= request.until }
}
