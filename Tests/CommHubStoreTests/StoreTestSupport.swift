import CommHubDomain
import Foundation
import Logging
import Synchronization
@testable import CommHubStore

/// A unique temporary directory, removed by `remove()`.
struct TempDir {
    let path: String
    init(_ name: String = "store") {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("commhub-\(name)-\(UUID().uuidString)").path
    }
    func sub(_ name: String) -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Collects what `onCommit` reports.
final class CommitLog: Sendable {
    let events = Mutex<[SequencedEvent]>([])
    let batches = Mutex<Int>(0)
    var callback: @Sendable ([SequencedEvent]) -> Void {
        { [self] batch in
            events.withLock { $0.append(contentsOf: batch) }
            batches.withLock { $0 += 1 }
        }
    }
    var all: [SequencedEvent] { events.withLock { $0 } }
}

enum Sample {
    /// Whole seconds, so the JSON round trip (seconds since 1970) is exact.
    static let t0 = Date(timeIntervalSince1970: 1_764_000_000)

    static func fastOptions(_ tweak: (inout JournalOptions) -> Void = { _ in }) -> JournalOptions {
        var o = JournalOptions(syncMode: .noSync, mapSize: 64 << 20, maxMapSize: 1 << 30)
        tweak(&o)
        return o
    }

    static var quietLogger: Logger {
        var l = Logger(label: "commhub.store.test")
        l.logLevel = .critical
        return l
    }

    static func open(_ dir: String, options: JournalOptions = fastOptions(),
                     onCommit: @escaping @Sendable ([SequencedEvent]) -> Void = { _ in }) throws -> JournalWriter {
        try JournalWriter(directory: dir, options: options, logger: quietLogger, onCommit: onCommit)
    }

    static func change(_ subject: String, thread: ThreadID = ThreadID()) -> EngineEvent {
        .threadChanged(thread: thread, change: ThreadChange(threadSubject: subject), at: t0)
    }

    static func message(body: MessageBody?) -> (EngineEvent, MessageID) {
        let header = MessageHeader(threadID: ThreadID(), channelID: nil, channelType: .whatsappBusiness,
                                   messageType: .incoming, subject: "Laadpaal", externalMessageID: "wamid.\(UUID())",
                                   deliveryStatus: .delivered, createdAt: t0)
        return (.messageAdded(header: header, body: body, responseDueAt: t0.addingTimeInterval(3600)), header.id)
    }

    /// A few different event kinds.
    static func mixed() -> [EngineEvent] {
        let thread = ThreadHeader(threadSubject: "Offerte laadpaal", channelType: .emailOutlook,
                                  createdAt: t0, tags: ["offerte"])
        return [
            .channelUpserted(Channel(channelType: .emailOutlook, channelName: "info@chargecars", businessEntity: nil)),
            .teamUpserted(Team(name: "Support")),
            .presenceChanged(contact: ContactID(), presence: .online),
            .threadOpened(thread),
            .threadChanged(thread: thread.id, change: ThreadChange(status: .inProgress, priority: .high), at: t0),
            .threadAssigned(thread: thread.id, team: TeamID(), agent: ContactID(), reason: "round robin"),
            message(body: nil).0,
        ]
    }

    /// Replays everything after `after` into an array.
    static func replayAll(_ j: JournalWriter, after: UInt64 = 0) throws -> ([SequencedEvent], ReplayReport) {
        var out: [SequencedEvent] = []
        let report = try j.replay(after: after) { out.append($0) }
        return (out, report)
    }

    /// Strips the body from `messageAdded`, as the journal stores it.
    static func journalled(_ e: EngineEvent) -> EngineEvent {
        if case .messageAdded(let h, _, let due) = e { return .messageAdded(header: h, body: nil, responseDueAt: due) }
        return e
    }
}
