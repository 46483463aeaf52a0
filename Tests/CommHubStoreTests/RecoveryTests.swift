import CommHubDomain
import Foundation
import Testing
@testable import CommHubStore

@Suite("Recovery")
struct RecoveryTests {
    enum Damage: String, CaseIterable, Sendable {
        case garbage, truncated, badChecksum, unknownVersion
    }

    static func damaged(_ kind: Damage) -> [UInt8] {
        let payload = try! EventCodec().encode(Sample.change("torn"))
        var good = StoreFormat.frameRecord(payload)
        switch kind {
        case .garbage:
            return Array("this is not a journal record at all".utf8)
        case .truncated:
            // Header claims the full payload, only half of it is there.
            return Array(good[..<(9 + payload.count / 2)])
        case .badChecksum:
            good[good.count - 3] ^= 0x5A
            return good
        case .unknownVersion:
            good[0] = 9
            return good
        }
    }

    @Test(arguments: Damage.allCases)
    func corruptTailIsDroppedExactly(_ kind: Damage) async throws {
        let dir = TempDir(); defer { dir.remove() }
        let good = (0..<5).map { Sample.change("good \($0)") }
        do {
            let j = try Sample.open(dir.path)
            defer { j.close() }
            j.append(contentsOf: good)
            try await j.flush()
            try await j.injectRawJournalRecordForTesting(seq: 6, bytes: Self.damaged(kind))
            // Replay without repair refuses the damaged record.
            #expect(throws: StoreError.self) { try Sample.replayAll(j) }
            let repair = try j.repairTail()
            #expect(repair.droppedSeqs == [6])
            #expect(repair.droppedCount == 1)
            #expect(repair.firstDroppedSeq == 6)
            #expect(repair.lastValidSeq == 5)
            #expect(repair.reason != nil)
            let (replayed, _) = try Sample.replayAll(j)
            #expect(replayed.map(\.event) == good)
            // Numbering continues after the valid prefix.
            let next = j.append(Sample.change("after repair"))
            #expect(next == 6)
            try await j.waitDurable(next)
            #expect(try Sample.replayAll(j).0.count == 6)
        }
    }

    @Test func corruptTailFoundOnReopenDropsEverythingAfterIt() async throws {
        let dir = TempDir(); defer { dir.remove() }
        do {
            let j = try Sample.open(dir.path)
            defer { j.close() }
            j.append(contentsOf: (0..<3).map { Sample.change("good \($0)") })
            try await j.flush()
            try await j.injectRawJournalRecordForTesting(seq: 4, bytes: Self.damaged(.truncated))
            // A well-formed record after the damage is part of the corrupt tail too.
            try await j.injectRawJournalRecordForTesting(
                seq: 5, bytes: StoreFormat.frameRecord(try EventCodec().encode(Sample.change("orphan"))))
        }
        let j = try Sample.open(dir.path)
        defer { j.close() }
        #expect(j.lastAssignedSeq == 5)  // before repair, the tail is still counted
        let repair = try j.repairTail()
        #expect(repair.droppedSeqs == [4, 5])
        #expect(j.lastAssignedSeq == 3)
        #expect(try Sample.replayAll(j).0.map(\.seq) == [1, 2, 3])
        // A clean journal repairs nothing.
        #expect(try j.repairTail().isClean)
        try await j.waitDurable(j.append(Sample.change("x")))
        #expect(try j.repairTail().isClean)
    }

    @Test func repairTailNeverDeletesEventsAppendedByThisProcess() async throws {
        let dir = TempDir(); defer { dir.remove() }
        do {
            let j = try Sample.open(dir.path)
            defer { j.close() }
            j.append(contentsOf: (0..<3).map { Sample.change("good \($0)") })
            try await j.flush()
            try await j.injectRawJournalRecordForTesting(seq: 4, bytes: Self.damaged(.garbage))
        }
        let j = try Sample.open(dir.path)
        defer { j.close() }
        // Misuse: appending before repair puts acknowledged events after the damage.
        let seq = j.append(Sample.change("acknowledged"))
        #expect(seq == 5)
        try await j.waitDurable(seq)
        do {
            try j.repairTail()
            Issue.record("repairTail deleted an acknowledged event")
        } catch let e as StoreError {
            #expect(e.kind == .invalidState)
        }
        #expect(try j.rawJournalRecord(seq: 5) != nil)
    }

    @Test func gapInTheMiddleIsTreatedAsTail() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let j = try Sample.open(dir.path)
        defer { j.close() }
        j.append(contentsOf: (0..<3).map { Sample.change("good \($0)") })
        try await j.flush()
        try await j.injectRawJournalRecordForTesting(
            seq: 7, bytes: StoreFormat.frameRecord(try EventCodec().encode(Sample.change("after gap"))))
        let repair = try j.repairTail()
        #expect(repair.droppedSeqs == [7])
        #expect(repair.reason?.contains("does not follow") == true)
    }

    @Test func mapFullAtMaximumFailsCleanlyAndStoreStaysUsable() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let tiny = Sample.fastOptions { $0.mapSize = 256 << 10; $0.maxMapSize = 256 << 10 }
        let j = try Sample.open(dir.path, options: tiny)
        defer { j.close() }
        let (msg, msgID) = Sample.message(body: MessageBody(messageContent: "small body"))
        j.append(contentsOf: [Sample.change("before 1"), msg])
        try await j.flush()
        // Neighbours in the same batch must not fail with the big one.
        let big = Sample.change(String(repeating: "x", count: 1 << 20))
        let seqs = j.append(contentsOf: [Sample.change("neighbour"), big])
        do {
            try await j.waitDurable(seqs.upperBound)
            Issue.record("a 1 MiB event fit into a 256 KiB map")
        } catch let e as StoreError {
            #expect(e.kind == .mapFull)
            #expect(e.description.contains("mapFull"))
        }
        try await j.waitDurable(seqs.lowerBound)  // the neighbour committed
        // Still usable.
        let after = j.append(Sample.change("after"))
        try await j.waitDurable(after)
        let (replayed, report) = try Sample.replayAll(j)
        #expect(replayed.map(\.seq) == [1, 2, 3, 5])
        #expect(report.voided == 1)
        #expect(try j.body(for: msgID)?.messageContent == "small body")
        #expect(j.stats.eventsVoided == 1)
        // The failed seq keeps failing when asked again.
        await #expect(throws: StoreError.self) { try await j.waitDurable(seqs.upperBound) }
    }

    @Test func mapGrowsWhenAllowed() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let small = Sample.fastOptions { $0.mapSize = 256 << 10; $0.maxMapSize = 64 << 20 }
        do {
            let j = try Sample.open(dir.path, options: small)
            defer { j.close() }
            j.append(Sample.change("before"))
            let big = Sample.change(String(repeating: "y", count: 1 << 20))
            let seq = j.append(big)
            try await j.waitDurable(seq)
            let stats = j.stats
            #expect(stats.mapGrowths >= 1)
            #expect(stats.mapSize > 256 << 10)
            #expect(try Sample.replayAll(j).0.last?.event == big)
        }
        // Reopening with the small configured size adopts the larger used size.
        let j = try Sample.open(dir.path, options: small)
        defer { j.close() }
        #expect(try Sample.replayAll(j).0.count == 2)
    }

    @Test func exportCopyOpensAndReplaysTheSameEvents() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let j = try Sample.open(dir.sub("live"))
        defer { j.close() }
        let (msg, id) = Sample.message(body: MessageBody(messageContent: "bewaar mij"))
        j.append(contentsOf: Sample.mixed() + [msg])
        try await j.flush()
        // Traffic continues during the copy.
        let producer = Task {
            for i in 0..<200 { try await j.waitDurable(j.append(Sample.change("during \(i)"))) }
        }
        try j.exportCopy(to: dir.sub("copy"))
        try await producer.value
        #expect(throws: StoreError.self) { try j.exportCopy(to: dir.sub("copy")) }  // not over an existing copy
        let copy = try Sample.open(dir.sub("copy"))
        defer { copy.close() }
        #expect(try copy.repairTail().isClean)
        let (copied, _) = try Sample.replayAll(copy)
        let (live, _) = try Sample.replayAll(j)
        #expect(copied.count >= 8)
        #expect(Array(live.prefix(copied.count)) == copied)
        #expect(try copy.body(for: id)?.messageContent == "bewaar mij")
        #expect(copy.lastAssignedSeq == UInt64(copied.count))
    }

    @Test func closeIsIdempotentAndLaterCallsFailCleanly() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let j = try Sample.open(dir.path)
        let seq = j.append(Sample.change("last"))
        j.close()  // flushes
        j.close()
        #expect(j.durableSeq == seq)
        try await j.waitDurable(seq)  // durable before close
        let late = j.append(Sample.change("too late"))
        do {
            try await j.waitDurable(late)
            Issue.record("append after close became durable")
        } catch let e as StoreError {
            #expect(e.kind == .closed)
        }
        #expect(throws: StoreError.self) { try j.body(for: MessageID()) }
        await #expect(throws: StoreError.self) { try await j.pruneSnapshots(keep: 1) }
        let reopened = try Sample.open(dir.path)
        defer { reopened.close() }
        #expect(reopened.lastAssignedSeq == seq)
    }
}
