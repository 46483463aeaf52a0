import CommHubDomain
import Crypto
import Foundation
import Testing
@testable import CommHubStore

/// An event of an erased thread journaled after the erasure and before its
/// keys are destroyed (a late receipt on the skeleton) must survive the
/// destruction: it is sealed under the system key, not under the thread's
/// key that the erasure destroys. What was journaled before the erasure is
/// unreadable afterwards, as erasure means.
@Suite("Erasure window") struct ErasureWindowTests {
    @Test func anEventBetweenTheErasureAndTheKeyDestructionStaysReadable() async throws {
        let dir = TempDir("erasure-window")
        defer { dir.remove() }
        let options = Sample.fastOptions { $0.masterKeys = MasterKeys(current: SymmetricKey(size: .bits256), source: .environment) }
        let thread = ThreadID()
        let skeleton = ThreadSkeleton(header: ThreadHeader(id: thread, threadSubject: "Laadpaal Fenna", channelType: .whatsappBusiness, createdAt: Sample.t0), messages: [],
                                      messageSeqs: [], reason: .retention)
        do {
            let j = try Sample.open(dir.sub("lmdb"), options: options)
            _ = try j.append(contentsOf: [Sample.change("voor het wissen", thread: thread)])
            _ = try j.append(contentsOf: [.dataErased(DataErasure(reason: .retention, at: Sample.t0, threads: [skeleton]))])
            let last = try j.append(contentsOf: [Sample.change("na het wissen", thread: thread)]).upperBound
            try await j.waitDurable(last)
            try await j.destroyKeys([.thread(thread)])
            // After the destruction the scope gets a new key again.
            let later = try j.append(contentsOf: [Sample.change("later", thread: thread)]).upperBound
            try await j.waitDurable(later)
            j.close()
        }
        let j = try Sample.open(dir.sub("lmdb"), options: options)
        defer { j.close() }
        var subjects: [String] = []
        let report = try j.replay(after: 0) { e in
            if case .threadChanged(_, let change, _) = e.event, let s = change.threadSubject { subjects.append(s) }
        }
        #expect(subjects == ["na het wissen", "later"], "only what came after the erasure is readable: \(subjects)")
        #expect(report.erased == 1, "the record from before the erasure is sealed under the destroyed key")
    }
}
