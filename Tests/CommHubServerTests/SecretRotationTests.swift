import CommHubDomain
import CommHubEngine
@testable import CommHubServer
import Crypto
import Foundation
import Testing

/// The secret side of a master key rotation: which key seals and opens
/// when, and a secret a request sealed under the old key just before the
/// switch, committed after it, still lands under the new key.
@Suite("Secret rotation") struct SecretRotationTests {
    @Test func theNewKeySealsBothOpenUntilTheOldOneRetires() throws {
        let old = SymmetricKey(size: .bits256), new = SymmetricKey(size: .bits256)
        let box = SecretBox(key: old)
        let underOld = try box.seal(["access_token": "EAAG-old"])
        box.useNext(new)
        #expect(box.activeKeyCount == 2)
        let underNew = try box.seal(["access_token": "EAAG-new"])
        #expect(try box.open(underOld) == ["access_token": "EAAG-old"])
        #expect(try box.resealed(underNew) == nil, "already under the newest key: nothing to journal")
        let moved = try #require(try box.resealed(underOld))
        let onlyNew = SecretBox(key: new)
        #expect(try onlyNew.open(moved) == ["access_token": "EAAG-old"])
        #expect(throws: (any Error).self) { try onlyNew.open(underOld) }

        box.retireOlder()
        #expect(box.activeKeyCount == 1)
        #expect(throws: (any Error).self) { try box.open(underOld) }
        // A blob sealed before the switch can still be moved on the way in.
        #expect(try onlyNew.open(try #require(try box.resealed(underOld))) == ["access_token": "EAAG-old"])
        #expect(throws: (any Error).self) { try box.resealed(try SecretBox(key: SymmetricKey(size: .bits256)).seal(["x": "y"])) }
    }

    @Test func aSecretSealedBeforeTheSwitchAndCommittedAfterItIsResealed() async throws {
        let root = try Harness.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let old = SymmetricKey(size: .bits256), new = SymmetricKey(size: .bits256)
        let env = try await Harness.open(root: root, clock: SimulatedClock(), key: old)
        let box = SecretBox(key: old)
        await env.engine.supervisor.installSecretReseal { try box.resealed($0) }
        let stored = Channel(channelType: .whatsappBusiness, channelName: "Opgeslagen", sealedSecrets: try box.seal(["app_secret": "a"]))
        _ = try await env.engine.supervisor.upsertChannel(stored)
        // A request seals under the old key; then the rotation switches and re-seals what is stored.
        let late = Channel(channelType: .whatsappBusiness, channelName: "Te laat", sealedSecrets: try box.seal(["app_secret": "b"]))
        box.useNext(new)
        let pass = try await env.engine.supervisor.resealSecrets(with: { try box.resealed($0) }, afterLastBatch: { box.retireOlder() })
        #expect(pass.resealed == 1 && pass.done)
        _ = try await env.engine.supervisor.upsertChannel(late)
        let onlyNew = SecretBox(key: new)
        for c in await env.engine.supervisor.channelList() {
            #expect(throws: Never.self, "\(c.channelName) opens with the new key alone") { _ = try onlyNew.open(try #require(c.sealedSecrets)) }
        }
        let again = try await env.engine.supervisor.resealSecrets(with: { try box.resealed($0) })
        #expect(again.resealed == 0 && again.seq == nil, "a second pass finds nothing to re-seal")
        await env.durable.shutdown()
    }
}
