import CommHubDomain
import Foundation

/// Read-only questions the API and the admin socket ask the supervisor:
/// copies of what they need, never the whole state.
extension Supervisor {
    /// Every channel, by name.
    public func channelList() -> [Channel] {
        state.channels.values.sorted { ($0.channelName, $0.id) < ($1.channelName, $1.id) }
    }

    public func channel(_ id: ChannelID) -> Channel? { state.channels[id] }

    /// The outbox entry of a message, if it is one a gateway delivers.
    public func outboxEntry(_ id: MessageID) -> OutboxEntry? { state.outbox[id] }

    /// The outbox entries of several messages (those that have one), in one visit.
    public func outboxEntries(_ ids: [MessageID]) -> [MessageID: OutboxEntry] {
        var out: [MessageID: OutboxEntry] = [:]
        for id in ids { if let e = state.outbox[id] { out[id] = e } }
        return out
    }

    /// The thread a message belongs to.
    public func threadOf(message id: MessageID) -> ThreadID? { state.messageThread[id] }
}

extension Supervisor {
    /// The message a provider id names on a channel.
    public func message(channel: ChannelID, externalID: String) -> (thread: ThreadID, message: MessageID)? {
        state.external[EngineState.ExternalKey(channel: channel, externalID: externalID)].map { ($0.thread, $0.message) }
    }

    /// Records something learnt about a message after it was recorded (a file
    /// that followed it, a reaction, a provider's failure reason), through its
    /// thread so the thread's events stay in order. The stored body is patched
    /// in the same journal transaction.
    public func annotate(_ message: MessageID, _ annotation: MessageAnnotation) async throws -> UInt64 {
        guard let thread = state.messageThread[message], let actor = actor(thread) else {
            throw EngineError.notFound("message", message)
        }
        let events = try await actor.record([.messageAnnotated(message: message, thread: thread, annotation: annotation,
                                                               at: clock.now())])
        project(events)
        return events.last!.seq
    }
}
