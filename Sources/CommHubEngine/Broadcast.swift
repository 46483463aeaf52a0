import Synchronization

/// Best-effort notices to every listener (not journaled, not replayed): a
/// slow listener loses the oldest of its `bufferLimit` undelivered notices.
/// Used for what a gateway should do but nothing depends on (mark a
/// customer's message read at the provider).
public final class Broadcast<Value: Sendable>: Sendable {
    private let listeners = Mutex<[Int: AsyncStream<Value>.Continuation]>([:])
    private let nextID = Mutex(0)
    public let bufferLimit: Int

    public init(bufferLimit: Int = 256) { self.bufferLimit = bufferLimit }

    public func publish(_ value: Value) {
        for c in listeners.withLock({ Array($0.values) }) { c.yield(value) }
    }

    public func subscribe() -> AsyncStream<Value> {
        let id = nextID.withLock { n -> Int in n += 1; return n }
        let (stream, continuation) = AsyncStream.makeStream(of: Value.self, bufferingPolicy: .bufferingNewest(bufferLimit))
        continuation.onTermination = { [weak self] _ in _ = self?.listeners.withLock { $0.removeValue(forKey: id) } }
        listeners.withLock { $0[id] = continuation }
        return stream
    }

    public var listenerCount: Int { listeners.withLock { $0.count } }
}
