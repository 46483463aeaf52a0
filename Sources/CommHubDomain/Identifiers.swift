import Foundation
import Synchronization

/// A typed identifier: a UUID that cannot be mixed up with the id of another
/// kind of entity. Encoded as the plain UUID string of the external contract.
public struct EntityID<Kind>: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let uuid: UUID

    public init(_ uuid: UUID) { self.uuid = uuid }
    public init() { self.uuid = RandomUUID.makeTimeOrdered() }

    public init?(_ string: some StringProtocol) {
        guard let uuid = UUID(uuidString: String(string)) else { return nil }
        self.uuid = uuid
    }

    public var description: String { uuid.uuidString.lowercased() }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let uuid = UUID(uuidString: raw) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(raw)' is not a UUID")
        }
        self.uuid = uuid
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    // Hashing, equality and order work on the UUID as two 64-bit words.
    // Every engine table is keyed by these ids, and the synthesized
    // versions went through `Hasher.combine(bytes:)` and a generic byte-wise
    // comparison: profiles of rebalancing showed a third of the time there.
    // `@inlinable` so that the engine's dictionaries and sorts specialise them.

    /// The 16 bytes as two words in memory order.
    @inlinable
    public var words: (UInt64, UInt64) {
        withUnsafeBytes(of: uuid.uuid) { ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        let w = words
        hasher.combine(w.0)
        hasher.combine(w.1)
    }

    @inlinable
    public static func == (a: Self, b: Self) -> Bool { a.words == b.words }

    /// Byte-wise (lexicographic) order of the UUID, the order of its string form.
    @inlinable
    public static func < (a: Self, b: Self) -> Bool {
        let x = a.words
        let y = b.words
        return (x.0.bigEndian, x.1.bigEndian) < (y.0.bigEndian, y.1.bigEndian)
    }
}

public enum ThreadKind {}
public enum MessageKind {}
public enum ChannelKind {}
public enum ContactKind {}
public enum TeamKind {}
public enum CustomerKind {}
public enum OrganizationKind_ {}
public enum OrderKind {}
public enum TaskKind {}
public enum TemplateKind {}

public typealias ThreadID = EntityID<ThreadKind>
public typealias MessageID = EntityID<MessageKind>
public typealias ChannelID = EntityID<ChannelKind>
/// An internal person (agent, team leader, manager, admin, executive).
public typealias ContactID = EntityID<ContactKind>
public typealias TeamID = EntityID<TeamKind>
/// A customer person in the directory (not an internal contact).
public typealias CustomerID = EntityID<CustomerKind>
public typealias OrganizationID = EntityID<OrganizationKind_>
public typealias OrderID = EntityID<OrderKind>
public typealias TaskID = EntityID<TaskKind>
public typealias TemplateID = EntityID<TemplateKind>

/// UUIDs from the kernel's random bits (`RandomPool`). Foundation's `UUID()`
/// on Linux opens, reads and closes `/dev/urandom` for every id — three
/// system calls per id, several ids per ingested message (`strace` counted
/// about 2,400 opens a second under the load harness); the standard
/// library's generator is one `getrandom` call per 8 bytes on Linux.
public enum RandomUUID {
    /// A version-7 UUID (RFC 9562): 48 bits of Unix milliseconds, then 74
    /// random bits. New ids sort by creation time, so the store's tables
    /// keyed by them (bodies, the message index) take each new entry at
    /// their end instead of on a random page: a commit writes a few pages
    /// instead of one per message. The time of creation is readable from
    /// an id; nothing else is.
    public static func makeTimeOrdered() -> UUID {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let ms = UInt64(max(0, now.tv_sec)) &* 1000 &+ UInt64(max(0, now.tv_nsec)) / 1_000_000
        let (a, b) = RandomPool.two()
        var words = ((ms << 16).bigEndian | a & (UInt64(0xFFFF) << 48), b)
        return withUnsafeMutableBytes(of: &words) { raw -> UUID in
            raw[6] = (raw[6] & 0x0F) | 0x70  // version 7
            raw[8] = (raw[8] & 0x3F) | 0x80  // RFC 9562 variant
            return UUID(uuid: raw.load(as: uuid_t.self))
        }
    }

    public static func make() -> UUID {
        var words = RandomPool.two()
        return withUnsafeMutableBytes(of: &words) { raw -> UUID in
            raw[6] = (raw[6] & 0x0F) | 0x40  // version 4
            raw[8] = (raw[8] & 0x3F) | 0x80  // RFC 4122 variant
            return UUID(uuid: raw.load(as: uuid_t.self))
        }
    }
}

/// The kernel's random bits for ids, drawn 4 KiB at a time (one `read`
/// per 256 ids instead of two per id: the profile put 8% of the
/// supervisor's ingest in those calls). The bits are the kernel's CSPRNG
/// output, only buffered; ids are not secrets (tokens draw their own).
public enum RandomPool {
    static let words = 512
    private static let pool = Mutex(Pool())
    private static let urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC)

    private struct Pool: ~Copyable {
        let buffer = UnsafeMutablePointer<UInt64>.allocate(capacity: RandomPool.words)
        var next = RandomPool.words

        mutating func take() -> UInt64 {
            if next == RandomPool.words {
                refill()
                next = 0
            }
            defer { next += 1 }
            return buffer[next]
        }

        /// 4 KiB from `/dev/urandom` (one `read`; the descriptor stays open),
        /// else the standard library's generator 8 bytes at a time.
        func refill() {
            let total = RandomPool.words * 8
            var filled = 0
            if RandomPool.urandom >= 0 {
                while filled < total {
                    let n = read(RandomPool.urandom, UnsafeMutableRawPointer(buffer) + filled, total - filled)
                    if n > 0 { filled += n } else if n == 0 || errno != EINTR { break }
                }
            }
            guard filled < total else { return }
            var g = SystemRandomNumberGenerator()
            for i in (filled / 8)..<RandomPool.words { buffer[i] = g.next() }
        }

        deinit { buffer.deallocate() }
    }

    /// Two random 64-bit words.
    public static func two() -> (UInt64, UInt64) {
        pool.withLock { p in (p.take(), p.take()) }
    }
}
