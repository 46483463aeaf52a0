import CommHubDomain
import Foundation
import Testing
@testable import CommHubStore

/// The audit trail in the store's `audit` table: written with the journal
/// record, kept when the journal is pruned, paged with filters and a
/// bounded scan, and filled once for a store from before the table.
@Suite struct AuditTableTests {
    static func entry(_ i: Int, entity: String = "thread") -> AuditEntry {
        AuditEntry(at: Sample.t0.addingTimeInterval(Double(i)), actorContactID: nil, actorTokenID: nil,
                   action: "\(entity).update", entity: entity, entityID: "id-\(i)", after: .object(["n": .number(Double(i))]))
    }

    @Test func entriesSurvivePruningAndPageInOrderWithFilters() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let j = try Sample.open(dir.path)
        defer { j.close() }
        var want: [AuditEntry] = []
        for round in 0..<3 {
            for i in 0..<40 {
                let n = round * 40 + i
                let e = Self.entry(n, entity: n % 4 == 0 ? "channel" : "thread")
                want.append(e)
                try j.append(contentsOf: [Sample.change("r\(round) \(i)"), .audited(e)])
            }
            try await j.flush()
            let w = j.beginSnapshot(startSeq: j.lastAssignedSeq)
            w.append([1, 2, 3])
            _ = try await w.finish(endSeq: j.lastAssignedSeq)
        }
        let report = try await j.pruneSnapshots(keep: 1)
        #expect(report.journalRecordsDeleted > 0, "the journal before the kept snapshot is gone")

        // All of it, page by page, in order, exactly once.
        var got: [AuditEntry] = []
        var cursor: UInt64 = 0
        var pages = 0
        while true {
            let page = try j.auditPage(after: cursor, limit: 7, matches: { _ in true })
            got += page.entries.map(\.entry)
            pages += 1
            guard let next = page.next else { break }
            #expect(next > cursor)
            cursor = next
        }
        #expect(got == want)
        #expect(pages == (want.count + 6) / 7)

        // A filter: only the channel entries, across pages.
        var channels: [AuditEntry] = []
        cursor = 0
        while true {
            let page = try j.auditPage(after: cursor, limit: 5, matches: { $0.entity == "channel" })
            channels += page.entries.map(\.entry)
            guard let next = page.next else { break }
            cursor = next
        }
        #expect(channels == want.filter { $0.entity == "channel" })
        // A cursor beyond the end is an empty last page, never a trap.
        let end = try j.auditPage(after: UInt64.max, limit: 10, matches: { _ in true })
        #expect(end.entries.isEmpty && end.next == nil)
    }

    @Test func aRareFilterOverALongTrailIsAnsweredInBoundedSteps() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let j = try Sample.open(dir.path)
        defer { j.close() }
        let n = JournalWriter.maxAuditEntriesScannedPerPage + 10
        var batch: [EngineEvent] = []
        for i in 0..<n {
            batch.append(.audited(Self.entry(i, entity: i == n - 1 ? "token" : "thread")))
            if batch.count == 5_000 { try j.append(contentsOf: batch); batch.removeAll() }
        }
        try j.append(contentsOf: batch)
        try await j.flush()
        let first = try j.auditPage(after: 0, limit: 10, matches: { $0.entity == "token" })
        #expect(first.entries.isEmpty, "the bound was reached before the match")
        let next = try #require(first.next, "and says where to go on")
        #expect(next == UInt64(JournalWriter.maxAuditEntriesScannedPerPage))
        let second = try j.auditPage(after: next, limit: 10, matches: { $0.entity == "token" })
        #expect(second.entries.map(\.entry.entityID) == ["id-\(n - 1)"])
        #expect(second.next == nil)
    }

    @Test func anOlderStoreIsIndexedOnceFromItsSnapshotTrailAndReplay() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let j = try Sample.open(dir.path)
        defer { j.close() }
        #expect(try !j.auditIndexed())
        let fromSnapshot = (0..<3).map { Self.entry($0) }
        let replayed = [(seq: UInt64(40), entry: Self.entry(40)), (seq: UInt64(41), entry: Self.entry(41))]
        try j.indexAudit(snapshotEntries: fromSnapshot, replayed: replayed)
        #expect(try j.auditIndexed())
        let page = try j.auditPage(after: 0, limit: 100, matches: { _ in true })
        #expect(page.entries.map(\.key) == [1, 2, 3, 40, 41])
        #expect(page.entries.map(\.entry) == fromSnapshot + replayed.map(\.entry))
    }
}
