import Crypto
@testable import CommHubStore
import Foundation
import Testing

/// The AES-GCM nonces of `KeyRing.seal`: never one twice in a process, and
/// a record sealed under them opens again.
@Suite("Nonces for sealing")
struct NonceSequenceTests {
    @Test func aSequenceNeverRepeatsAcrossItsFieldRefreshes() {
        var sequence = NonceSequence()
        let draws = Int(NonceSequence.refreshEvery) * 3 + 17
        var seen = Set<[UInt8]>(), fields = Set<UInt32>()
        for _ in 0..<draws {
            let (field, counter) = sequence.next()
            fields.insert(field)
            seen.insert(withUnsafeBytes(of: (field, counter)) { Array($0) })
        }
        #expect(seen.count == draws, "a nonce came twice")
        #expect(fields.count >= 3, "the field is drawn again every \(NonceSequence.refreshEvery) seals: \(fields.count) fields")
    }

    @Test func twoSequencesStartApart() {
        var a = NonceSequence(), b = NonceSequence()
        let x = a.next(), y = b.next()
        #expect(x.field != y.field || x.counter != y.counter)
    }

    @Test func sealedRecordsOpenAndNeverShareANonce() throws {
        let key = DataKey(id: 7, key: SymmetricKey(size: .bits256))
        let plain = Array("the same record".utf8)
        var nonces = Set<[UInt8]>()
        for _ in 0..<1_000 {
            let sealed = try KeyRing.seal(plain, with: key, aad: [1, 2, 3])
            nonces.insert(Array(sealed[8..<20]))
            #expect(try KeyRing.open(sealed, with: key.key, aad: [1, 2, 3]) == plain)
        }
        #expect(nonces.count == 1_000)
    }
}
