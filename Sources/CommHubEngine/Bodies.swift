import CommHubDomain
import CommHubStore
import Synchronization

/// Reads message bodies, which live outside actor memory.
public protocol BodyReader: Sendable {
    func body(for id: MessageID) throws -> MessageBody?
}

/// The LMDB body table.
extension JournalWriter: BodyReader {}

/// Bodies of an in-memory engine (tests, benchmarks), filed from committed events.
public final class MemoryBodies: BodyReader {
    private let table = Mutex<[MessageID: MessageBody]>([:])
    public init() {}

    public func body(for id: MessageID) throws -> MessageBody? { table.withLock { $0[id] } }

    func file(_ batch: [SequencedEvent]) {
        table.withLock { t in
            for e in batch {
                switch e.event {
                case .messageAdded(let h, let b?, _): t[h.id] = b
                case .messageAnnotated(let m, _, let a, _): t[m] = t[m]?.applying(a)
                default: break
                }
            }
        }
    }
}
