import CLMDB
import CommHubDomain
import Foundation
import Testing
@testable import CommHubStore

@Suite("Snapshots")
struct SnapshotTests {
    /// Records of assorted sizes; some larger than a chunk.
    static func records(_ n: Int, seed: Int) -> [[UInt8]] {
        (0..<n).map { i in
            let size = (i % 7 == 3) ? 3_000 : (i * 37 + seed) % 200
            return (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ i &+ seed) }
        }
    }

    static let smallChunks = Sample.fastOptions { $0.snapshotChunkBytes = 1024; $0.deleteBatch = 7 }

    @discardableResult
    static func takeSnapshot(_ j: JournalWriter, _ records: [[UInt8]]) async throws -> SnapshotInfo {
        let start = j.lastAssignedSeq
        let w = j.beginSnapshot(startSeq: start)
        for (i, r) in records.enumerated() {
            try w.append(r)
            if i % 50 == 0 { try j.append(Sample.change("interleaved \(i)")) }
        }
        try await w.waitForChunks()
        return try await w.finish(endSeq: j.lastAssignedSeq)
    }

    @Test func snapshotWhileJournalTrafficContinues() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let j = try Sample.open(dir.path, options: Self.smallChunks)
        defer { j.close() }
        try j.append(contentsOf: (0..<10).map { Sample.change("pre \($0)") })
        try await j.flush()
        let producer = Task {
            for i in 0..<300 { try await j.waitDurable(try j.append(Sample.change("live \(i)"))) }
        }
        let records = Self.records(400, seed: 1) + [[]]  // an empty record too
        let w = j.beginSnapshot(startSeq: 10)
        for r in records { try w.append(r) }
        let info = try await w.finish(endSeq: j.lastAssignedSeq)
        try await producer.value
        #expect(info.valid && info.startSeq == 10 && info.endSeq >= 10)
        #expect(info.recordCount == UInt64(records.count))
        // Records starting with 0xFE or 0xFF are stored behind an escape byte (never taken for sealed ones).
        #expect(info.byteCount == UInt64(records.reduce(0) { $0 + 4 + $1.count + (($1.first ?? 0) >= 0xFE ? 1 : 0) }))
        #expect(info.chunkCount == UInt32((info.byteCount + 1023) / 1024))
        #expect(j.durableSeq >= info.endSeq)
        let listed = try j.snapshots()
        #expect(listed == [info])
        var back: [[UInt8]] = []
        try j.readSnapshot(info) { back.append($0) }
        #expect(back == records)
        #expect(try Sample.replayAll(j, after: info.startSeq).0.count == 300)
    }

    @Test func emptySnapshotAndReopenKeepsIDsIncreasing() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let first: SnapshotInfo
        do {
            let j = try Sample.open(dir.path, options: Self.smallChunks)
            defer { j.close() }
            first = try await j.beginSnapshot(startSeq: 0).finish(endSeq: 0)
            #expect(first.chunkCount == 0 && first.recordCount == 0)
            var n = 0
            try j.readSnapshot(first) { _ in n += 1 }
            #expect(n == 0)
        }
        let j = try Sample.open(dir.path, options: Self.smallChunks)
        defer { j.close() }
        let second = try await Self.takeSnapshot(j, Self.records(20, seed: 2))
        #expect(second.id > first.id)
        #expect(try j.snapshots().map(\.id) == [second.id, first.id])
    }

    @Test func corruptChunkIsDetectedBeforeAnyRecordIsDelivered() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let j = try Sample.open(dir.path, options: Self.smallChunks)
        defer { j.close() }
        let older = try await Self.takeSnapshot(j, Self.records(100, seed: 3))
        let newer = try await Self.takeSnapshot(j, Self.records(100, seed: 4))
        #expect(newer.chunkCount > 2)
        var chunk: [UInt8] = (0..<1024).map { UInt8(truncatingIfNeeded: $0) }
        chunk[17] ^= 1
        try await j.injectRawSnapshotChunkForTesting(snapshotID: newer.id, chunkIndex: 1, bytes: chunk)
        var delivered = 0
        do {
            try j.readSnapshot(newer) { _ in delivered += 1 }
            Issue.record("corrupted chunk not detected")
        } catch let e as StoreError {
            #expect(e.kind == .corrupted)
        }
        #expect(delivered == 0)
        // The caller falls back to the previous snapshot.
        var back: [[UInt8]] = []
        try j.readSnapshot(older) { back.append($0) }
        #expect(back == Self.records(100, seed: 3))
    }

    @Test func pruneKeepsNewestAndDropsOldJournalRecords() async throws {
        let dir = TempDir(); defer { dir.remove() }
        var infos: [SnapshotInfo] = []
        var lastSeqBeforeClose: UInt64 = 0
        do {
            let j = try Sample.open(dir.path, options: Self.smallChunks)
            defer { j.close() }
            for round in 0..<3 {
                try j.append(contentsOf: (0..<25).map { Sample.change("r\(round) e\($0)") })
                try await j.flush()
                infos.append(try await Self.takeSnapshot(j, Self.records(60, seed: round)))
            }
            // An aborted snapshot leaves nothing behind.
            let aborted = j.beginSnapshot(startSeq: j.lastAssignedSeq)
            for r in Self.records(30, seed: 9) { aborted.append(r) }
            aborted.abort()
            try j.append(contentsOf: (0..<5).map { Sample.change("tail \($0)") })
            try await j.flush()
            let lastSeq = j.lastAssignedSeq

            let report = try await j.pruneSnapshots(keep: 2)
            #expect(report.snapshotsDeleted == [infos[0].id])
            let oldestKept = infos[1]
            #expect(report.prunedThrough == oldestKept.startSeq)
            #expect(report.journalRecordsDeleted == Int(oldestKept.startSeq))
            #expect(try j.snapshots().map(\.id) == [infos[2].id, infos[1].id])
            // Journal: only records after the oldest kept snapshot's startSeq remain.
            #expect(throws: StoreError.self) { try j.replay(after: 0) { _ in } }
            let (rest, _) = try Sample.replayAll(j, after: oldestKept.startSeq)
            #expect(rest.first?.seq == oldestKept.startSeq + 1)
            #expect(rest.last?.seq == lastSeq)
            #expect(try j.rawJournalRecord(seq: oldestKept.startSeq) == nil)
            // Kept snapshots still read back.
            var back: [[UInt8]] = []
            try j.readSnapshot(infos[1]) { back.append($0) }
            #expect(back == Self.records(60, seed: 1))
            // No chunks remain of the deleted or aborted snapshots.
            let chunkIDs = try j.env.read { txn in
                try txn.withCursor(j.env.dbs.snapshots) { c -> Set<UInt64> in
                    var ids = Set<UInt64>()
                    var e = try c.get(MDB_FIRST)
                    while let entry = e { ids.insert(StoreFormat.chunkKeyParts(entry.key)!.id); e = try c.get(MDB_NEXT) }
                    return ids
                }
            }
            #expect(chunkIDs == [infos[1].id, infos[2].id])
            lastSeqBeforeClose = j.lastAssignedSeq
        }
        // After reopen: numbering continues, pruned prefix is remembered.
        let j = try Sample.open(dir.path, options: Self.smallChunks)
        defer { j.close() }
        #expect(try j.checkJournal().isClean)
        let lastBefore = j.lastAssignedSeq
        #expect(lastBefore == lastSeqBeforeClose)
        let next = try j.append(Sample.change("post prune"))
        #expect(next == lastBefore + 1)
        try await j.flush()
        // Prune everything but the newest: the journal may become (nearly) empty; numbering survives.
        try await j.pruneSnapshots(keep: 1)
        j.close()
        let again = try Sample.open(dir.path, options: Self.smallChunks)
        defer { again.close() }
        #expect(again.lastAssignedSeq == next)
    }
}

@Suite("Snapshots after close")
struct SnapshotCloseTests {
    @Test func snapshotAfterCloseFailsWithoutHanging() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let j = try Sample.open(dir.path, options: SnapshotTests.smallChunks)
        let w = j.beginSnapshot(startSeq: 0)
        try w.append([1, 2, 3])
        j.close()
        for r in SnapshotTests.records(50, seed: 5) { try w.append(r) }  // cuts chunks the writer rejects
        do {
            _ = try await w.finish(endSeq: 0)
            Issue.record("finish succeeded after close")
        } catch let e as StoreError {
            #expect(e.kind == .closed)
        }
    }
}
