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
        let payload = try! EventCodec().encode(Sample.change("torn", thread: ThreadID(UUID(uuidString: "00000000-0000-4000-8000-000000000001")!)))
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
    func damagedRecordIsRefusedListedAndRepairedByVoidingItOnly(_ kind: Damage) async throws {
        let dir = TempDir(); defer { dir.remove() }
        let good = (0..<5).map { Sample.change("good \($0)") }
        let later = Sample.change("acknowledged after the damage")
        let damagedBytes = Self.damaged(kind)
        do {
            let j = try Sample.open(dir.path)
            defer { j.close() }
            try j.append(contentsOf: good)
            try await j.flush()
            try await j.injectRawJournalRecordForTesting(seq: 6, bytes: damagedBytes)
            try await j.injectRawJournalRecordForTesting(seq: 7, bytes: StoreFormat.frameRecord(try EventCodec().encode(later)))
        }
        let j = try Sample.open(dir.path)
        defer { j.close() }
        // Replay refuses the damaged record and names it.
        do {
            _ = try Sample.replayAll(j)
            Issue.record("replay went through a damaged record")
        } catch let e as StoreError {
            #expect(e.kind == .corrupted)
            #expect(e.detail?.contains("seq 6") == true)
        }
        // The check lists exactly that record, and the record after it as intact.
        let check = try j.checkJournal()
        #expect(check.damage.map(\.kind) == [.badRecord])
        #expect(check.damage.first?.seq == 6)
        #expect(check.lastSeq == 7 && check.records == 7)
        // A dry run changes nothing.
        let plan = try j.repairJournal(apply: false)
        #expect(!plan.applied && plan.lostEvents == 1)
        #expect(plan.actions.count == 1)
        #expect(try j.rawJournalRecord(seq: 6) == damagedBytes)
        // The repair voids seq 6 only; the acknowledged record after it stays.
        let repair = try j.repairJournal(apply: true, now: Sample.t0)
        #expect(repair.applied)
        let (replayed, report) = try Sample.replayAll(j)
        #expect(replayed.map(\.seq) == [1, 2, 3, 4, 5, 7])
        #expect(replayed.map(\.event) == good + [later])
        #expect(report.voided == 1)
        #expect(try j.checkJournal().isClean)
        #expect(try j.repairHistory().count == 1)
        #expect(try j.repairHistory().first?.contains("void seq 6") == true)
        // Sequence numbers continue after the last record: none is handed out twice.
        let next = try j.append(Sample.change("after repair"))
        #expect(next == 8)
        try await j.waitDurable(next)
    }

    @Test func repairRefusesOnceThisProcessAppended() async throws {
        let dir = TempDir(); defer { dir.remove() }
        do {
            let j = try Sample.open(dir.path)
            defer { j.close() }
            try j.append(contentsOf: (0..<3).map { Sample.change("good \($0)") })
            try await j.flush()
            try await j.injectRawJournalRecordForTesting(seq: 2, bytes: Self.damaged(.garbage))
        }
        let j = try Sample.open(dir.path)
        defer { j.close() }
        let seq = try j.append(Sample.change("acknowledged"))
        try await j.waitDurable(seq)
        do {
            _ = try j.repairJournal(apply: true)
            Issue.record("repair ran on a journal this process writes")
        } catch let e as StoreError {
            #expect(e.kind == .invalidState)
        }
        #expect(try j.rawJournalRecord(seq: 2) == Self.damaged(.garbage))
    }

    @Test func missingRecordsAreListedAndFilledWithVoidRecords() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let after = Sample.change("after gap")
        do {
            let j = try Sample.open(dir.path)
            defer { j.close() }
            try j.append(contentsOf: (0..<3).map { Sample.change("good \($0)") })
            try await j.flush()
            try await j.injectRawJournalRecordForTesting(seq: 7, bytes: StoreFormat.frameRecord(try EventCodec().encode(after)))
        }
        let j = try Sample.open(dir.path)
        defer { j.close() }
        #expect(throws: StoreError.self) { try Sample.replayAll(j) }
        let check = try j.checkJournal()
        #expect(check.damage.map(\.kind) == [.missingRecords])
        #expect(check.damage.first?.seq == 4 && check.damage.first?.throughSeq == 6)
        let repair = try j.repairJournal(apply: true)
        #expect(repair.lostEvents == 3)
        let (replayed, report) = try Sample.replayAll(j)
        #expect(replayed.map(\.seq) == [1, 2, 3, 7])
        #expect(report.voided == 3)
        #expect(j.lastAssignedSeq == 7)
    }

    @Test func numberingNeverFallsBehindASnapshot() async throws {
        let dir = TempDir(); defer { dir.remove() }
        do {
            let j = try Sample.open(dir.path)
            defer { j.close() }
            try j.append(contentsOf: (0..<10).map { Sample.change("e \($0)") })
            try await j.flush()
            let out = j.beginSnapshot(startSeq: 10)
            out.append([1, 2, 3])
            _ = try await out.finish(endSeq: 10)
            // Damage that loses the journal's tail (records 6–10 gone).
            for seq in 6...10 { try await j.deleteJournalRecordForTesting(seq: UInt64(seq)) }
        }
        let j = try Sample.open(dir.path)
        defer { j.close() }
        // The snapshot reflects seq 10: numbering continues after it, never reusing 6–10.
        #expect(j.lastAssignedSeq == 10)
        #expect(try j.append(Sample.change("next")) == 11)
    }

    @Test func commitFailureDegradesRefusesNewEventsAndRecoversWithNothingLost() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let tiny = Sample.fastOptions {
            $0.mapSize = 256 << 10; $0.maxMapSize = 256 << 10; $0.maxRetryBackoff = .milliseconds(50)
        }
        let j = try Sample.open(dir.path, options: tiny)
        defer { j.close() }
        let (msg, msgID) = Sample.message(body: MessageBody(messageContent: "small body"))
        try j.append(contentsOf: [Sample.change("before 1"), msg])
        try await j.flush()
        #expect(j.health == .ok)
        // A batch that does not fit the map at its maximum: like a full disk.
        let big = Sample.change(String(repeating: "x", count: 1 << 20))
        let seqs = try j.append(contentsOf: [Sample.change("neighbour"), big])
        do {
            try await j.waitDurable(seqs.upperBound, timeout: .milliseconds(300))
            Issue.record("a 1 MiB event fit into a 256 KiB map")
        } catch let e as StoreError {
            #expect(e.kind == .notYetDurable)
        }
        guard case .degraded(let why, _) = j.health else { Issue.record("journal not degraded: \(j.health)"); return }
        #expect(why.kind == .mapFull)
        // Nothing new is taken while degraded: the caller applies nothing.
        do {
            _ = try j.append(Sample.change("refused"))
            Issue.record("a degraded journal took an event")
        } catch let e as StoreError {
            #expect(e.kind == .unavailable)
        }
        // Space comes back: the retry commits the waiting batch, in order, voiding nothing.
        j.setMaxMapSize(64 << 20)
        try await j.waitDurable(seqs.upperBound)
        #expect(j.health == .ok)
        let after = try j.append(Sample.change("after"))
        try await j.waitDurable(after)
        let (replayed, report) = try Sample.replayAll(j)
        #expect(replayed.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(replayed[3].event == big)
        #expect(report.voided == 0)
        #expect(try j.body(for: msgID)?.messageContent == "small body")
        #expect(j.stats.commitRetries >= 1)
    }

    @Test func anEventThatCannotBeEncodedIsRefusedAtAppend() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let j = try Sample.open(dir.path, options: Sample.fastOptions { $0.maxEventBytes = 1024 })
        defer { j.close() }
        let huge = EngineEvent.routingRulesChanged(AutoAssignmentRules(defaultAssignee: String(repeating: "t", count: 4096)))
        do {
            _ = try j.append(huge)
            Issue.record("an event over maxEventBytes was taken")
        } catch let e as StoreError {
            #expect(e.kind == .encodingFailed)
        }
        // Nothing was numbered for it.
        #expect(try j.append(Sample.change("next")) == 1)
    }

    @Test func mapGrowsWhenAllowed() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let small = Sample.fastOptions { $0.mapSize = 256 << 10; $0.maxMapSize = 64 << 20 }
        do {
            let j = try Sample.open(dir.path, options: small)
            defer { j.close() }
            try j.append(Sample.change("before"))
            let big = Sample.change(String(repeating: "y", count: 1 << 20))
            let seq = try j.append(big)
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
        try j.append(contentsOf: Sample.mixed() + [msg])
        try await j.flush()
        // Traffic continues during the copy.
        let producer = Task {
            for i in 0..<200 { try await j.waitDurable(try j.append(Sample.change("during \(i)"))) }
        }
        try j.exportCopy(to: dir.sub("copy"))
        try await producer.value
        #expect(throws: StoreError.self) { try j.exportCopy(to: dir.sub("copy")) }  // not over an existing copy
        let copy = try Sample.open(dir.sub("copy"))
        defer { copy.close() }
        #expect(try copy.checkJournal().isClean)
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
        let seq = try j.append(Sample.change("last"))
        j.close()  // flushes
        j.close()
        #expect(j.durableSeq == seq)
        try await j.waitDurable(seq)  // durable before close
        do {
            _ = try j.append(Sample.change("too late"))
            Issue.record("append after close was taken")
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
