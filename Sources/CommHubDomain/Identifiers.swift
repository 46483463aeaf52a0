import Foundation

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

/// Version-4 (random) UUIDs from the standard library's system generator
/// (arc4random on glibc 2.36+, getrandom otherwise: no file descriptor).
/// Foundation's `UUID()` on Linux opens, reads and closes `/dev/urandom` for
/// every id — three system calls per id, several ids per ingested message
/// (`strace` counted about 2,400 opens a second under the load harness).
public enum RandomUUID {
    /// A version-7 UUID (RFC 9562): 48 bits of Unix milliseconds, then 74
    /// random bits. New ids sort by creation time, so the store's tables
    /// keyed by them (bodies, the message index) take each new entry at
    /// their end instead of on a random page: a commit writes a few pages
    /// instead of one per message. The time of creation is readable from
    /// an id; nothing else is.
    public static func makeTimeOrdered() -> UUID {
        var g = SystemRandomNumberGenerator()
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let ms = UInt64(max(0, now.tv_sec)) &* 1000 &+ UInt64(max(0, now.tv_nsec)) / 1_000_000
        var words = ((ms << 16).bigEndian | (g.next() as UInt64) & (UInt64(0xFFFF) << 48), g.next() as UInt64)
        return withUnsafeMutableBytes(of: &words) { raw -> UUID in
            raw[6] = (raw[6] & 0x0F) | 0x70  // version 7
            raw[8] = (raw[8] & 0x3F) | 0x80  // RFC 9562 variant
            return UUID(uuid: raw.load(as: uuid_t.self))
        }
    }

    public static func make() -> UUID {
        var g = SystemRandomNumberGenerator()
        var words = (g.next() as UInt64, g.next() as UInt64)
        return withUnsafeMutableBytes(of: &words) { raw -> UUID in
            raw[6] = (raw[6] & 0x0F) | 0x40  // version 4
            raw[8] = (raw[8] & 0x3F) | 0x80  // RFC 4122 variant
            return UUID(uuid: raw.load(as: uuid_t.self))
        }
    }
}
