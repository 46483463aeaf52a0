import CommHubDomain
import Foundation
import Testing

@Suite("Entity ids")
struct IdentifierTests {
    @Test("order is the order of the UUID strings; equality and hashing agree")
    func orderAndHashing() {
        var ids = (0..<2_000).map { _ in ThreadID() }
        // Ids that differ only in the last byte, or only in the first.
        let base = UUID().uuid
        var low = base; low.15 = 0x01
        var high = base; high.15 = 0xFE
        var first = base; first.0 = 0x00
        ids += [ThreadID(UUID(uuid: low)), ThreadID(UUID(uuid: high)), ThreadID(UUID(uuid: first))]
        #expect(ids.sorted().map(\.description) == ids.map(\.description).sorted())
        #expect(ThreadID(UUID(uuid: low)) < ThreadID(UUID(uuid: high)))
        #expect(!(ThreadID(UUID(uuid: high)) < ThreadID(UUID(uuid: high))))

        let copy = ids.map { ThreadID($0.uuid) }
        #expect(copy == ids)
        #expect(Set(ids).count == ids.count)
        #expect(Set(copy) == Set(ids))
        #expect(ThreadID(UUID(uuid: low)) != ThreadID(UUID(uuid: high)))
        let table = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        #expect(copy.enumerated().allSatisfy { table[$1] == $0 })
    }

    @Test("new ids are version-7 UUIDs: Unix milliseconds first, then random bits; all different")
    func newIDsAreTimeOrderedVersion7() async throws {
        let before = UInt64(Date().timeIntervalSince1970 * 1000)
        let ids = (0..<20_000).map { _ in ThreadID() }
        let after = UInt64(Date().timeIntervalSince1970 * 1000) + 1
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(2_000) {
            let s = id.description
            #expect(s.count == 36)
            #expect(Array(s)[14] == "7", "version nibble: \(s)")
            #expect("89ab".contains(Array(s)[19]), "variant nibble: \(s)")
            #expect(UUID(uuidString: s) == id.uuid)
            let u = id.uuid.uuid
            let ms = [u.0, u.1, u.2, u.3, u.4, u.5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            #expect(ms >= before && ms <= after, "timestamp \(ms) outside \(before)...\(after)")
        }
        // Ids made in a later millisecond sort after earlier ones (the store's tables append them).
        let early = ThreadID()
        try await Task.sleep(for: .milliseconds(3))
        let late = ThreadID()
        #expect(early < late)
        // The random part: every hex digit occurs at every position after the timestamp and version.
        let strings = ids.map { Array($0.description) }
        for position in [15, 16, 17, 20, 24, 30, 35] {
            #expect(Set(strings.map { $0[position] }).count == 16, "position \(position)")
        }
    }

    @Test("RandomUUID.make gives version-4 UUIDs with the RFC 4122 variant, all different, every nibble used")
    func randomVersion4() {
        let ids = (0..<20_000).map { _ in ThreadID(RandomUUID.make()) }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(2_000) {
            let s = id.description
            #expect(s.count == 36)
            #expect(Array(s)[14] == "4", "version nibble: \(s)")
            #expect("89ab".contains(Array(s)[19]), "variant nibble: \(s)")
            #expect(UUID(uuidString: s) == id.uuid)
        }
        // Outside the version and variant nibbles every hex digit occurs at every position.
        let strings = ids.map { Array($0.description) }
        for position in [0, 7, 9, 15, 20, 24, 35] {
            #expect(Set(strings.map { $0[position] }).count == 16, "position \(position)")
        }
    }
}
