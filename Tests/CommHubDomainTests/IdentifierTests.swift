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

    @Test("new ids are version-4 UUIDs with the RFC 4122 variant, all different, every nibble used")
    func newIDsAreRandomVersion4() {
        let ids = (0..<20_000).map { _ in ThreadID() }
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
