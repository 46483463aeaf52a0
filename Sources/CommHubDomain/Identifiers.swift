import Foundation

/// A typed identifier: a UUID that cannot be mixed up with the id of another
/// kind of entity. Encoded as the plain UUID string of the external contract.
public struct EntityID<Kind>: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let uuid: UUID

    public init(_ uuid: UUID) { self.uuid = uuid }
    public init() { self.uuid = UUID() }

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
