import CommHubDomain
import Foundation
import Synchronization
import Testing
@testable import CommHubStore

@Suite("Journal")
struct JournalTests {
    @Test func crc32cKnownValues() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        let a = Array("The quick brown fox jumps over".utf8), b = Array(" the lazy dog, 0123456789abcdef".utf8)
        #expect(CRC32C.update(CRC32C.checksum(a), b) == CRC32C.checksum(a + b))
        // Bytewise reference for a buffer with odd length and alignment.
        let data = (0..<1037).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var ref: UInt32 = ~0
        for byte in data {
            ref ^= UInt32(byte)
            for _ in 0..<8 { ref = (ref & 1) != 0 ? (ref >> 1) ^ 0x82F6_3B78 : ref >> 1 }
        }
        #expect(CRC32C.checksum(data[3...]) == CRC32C.update(0, Array(data[3...])))
        #expect(CRC32C.checksum(data) == ~ref)
    }

    @Test func appendWaitReplayRoundTripAndReopen() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let log = CommitLog()
        let events = Sample.mixed()
        do {
            let j = try Sample.open(dir.path, onCommit: log.callback)
            defer { j.close() }
            #expect(j.lastAssignedSeq == 0)
            let first = try j.append(events[0])
            let rest = try j.append(contentsOf: Array(events[1...]))
            #expect(first == 1)
            #expect(rest == 2...UInt64(events.count))
            try await j.waitDurable(rest.upperBound)
            #expect(j.durableSeq == UInt64(events.count))
            try await j.waitDurable(1)  // already durable: immediate
            let (replayed, report) = try Sample.replayAll(j)
            #expect(replayed.map(\.seq) == Array(1...UInt64(events.count)))
            #expect(replayed.map(\.event) == events.map(Sample.journalled))
            #expect(report.applied == events.count && report.voided == 0 && report.firstSeq == 1)
            #expect(log.all.map(\.seq) == Array(1...UInt64(events.count)))
            // replay(after:) in the middle
            let (tail, _) = try Sample.replayAll(j, after: 4)
            #expect(tail.map(\.seq) == Array(5...UInt64(events.count)))
            let stats = j.stats
            #expect(stats.eventsCommitted == UInt64(events.count))
            #expect(stats.batchesCommitted >= 1)
            #expect(stats.bytesWritten > 0)
            #expect(stats.commitNanosTotal > 0)
        }
        // Reopen: numbering continues.
        let j = try Sample.open(dir.path)
        defer { j.close() }
        #expect(j.lastAssignedSeq == UInt64(events.count))
        #expect(j.durableSeq == UInt64(events.count))
        let next = try j.append(Sample.change("after reopen"))
        #expect(next == UInt64(events.count) + 1)
        try await j.flush()
        let (all, _) = try Sample.replayAll(j)
        #expect(all.map(\.seq) == Array(1...next))
        #expect(all.last?.event == Sample.change("after reopen", thread: {
            if case .threadChanged(let t, _, _) = all.last!.event { return t }; return ThreadID()
        }()))
    }

    @Test func waitDurableOnUnassignedSeqThrows() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let j = try Sample.open(dir.path)
        defer { j.close() }
        await #expect(throws: StoreError.self) { try await j.waitDurable(5) }
        try await j.waitDurable(0)
        try await j.flush()  // nothing appended: returns
    }

    @Test func concurrentProducersGroupCommit() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let log = CommitLog()
        // Real fsync (the default) so that producers pile up behind commits.
        let j = try Sample.open(dir.path, options: JournalOptions(mapSize: 64 << 20), onCommit: log.callback)
        defer { j.close() }
        let producers = 8, perProducer = 2_000
        let seqs = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for p in 0..<producers {
                group.addTask {
                    var mine: [UInt64] = []
                    for i in 0..<perProducer {
                        let seq = try j.append(Sample.change("p\(p)-\(i)"))
                        try await j.waitDurable(seq)
                        mine.append(seq)
                    }
                    return mine
                }
            }
            var all: [UInt64] = []
            for try await s in group { all += s }
            return all
        }
        let total = producers * perProducer
        #expect(Set(seqs).count == total)
        #expect(seqs.sorted() == Array(1...UInt64(total)))
        var subjects: [String: Int] = [:]
        let (replayed, _) = try Sample.replayAll(j)
        #expect(replayed.map(\.seq) == Array(1...UInt64(total)))
        for e in replayed {
            if case .threadChanged(_, let change, _) = e.event { subjects[change.threadSubject!, default: 0] += 1 }
        }
        #expect(subjects.count == total)
        #expect(subjects.values.allSatisfy { $0 == 1 })
        // onCommit saw every event once, in seq order.
        #expect(log.all.map(\.seq) == Array(1...UInt64(total)))
        let stats = j.stats
        #expect(stats.eventsCommitted == UInt64(total))
        #expect(stats.averageBatchSize > 1.0, "group commit: \(stats.batchesCommitted) batches for \(total) events")
    }

    @Test func bodiesStoredOnceAndJournalledWithoutBody() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let log = CommitLog()
        let j = try Sample.open(dir.path, onCommit: log.callback)
        defer { j.close() }
        let body = MessageBody(messageContent: "Hallo, wanneer wordt de laadpaal geplaatst?",
                               messageHtml: "<p>Hallo</p>",
                               attachments: [Attachment(fileName: "foto.jpg", contentType: "image/jpeg", sizeBytes: 1234)],
                               metadata: ["wa_profile": .string("Jan")])
        let (event, id) = Sample.message(body: body)
        let (noBody, noBodyID) = Sample.message(body: nil)
        let seq = try j.append(event)
        try j.append(noBody)
        try await j.flush()
        #expect(try j.body(for: id) == body)
        #expect(try j.body(for: noBodyID) == nil)
        #expect(try j.body(for: MessageID()) == nil)
        let (replayed, _) = try Sample.replayAll(j)
        #expect(replayed.count == 2)
        guard case .messageAdded(let h, let b, let due) = replayed[0].event else {
            Issue.record("not a message: \(replayed[0].event)"); return
        }
        #expect(h.id == id && b == nil && due == Sample.t0.addingTimeInterval(3600))
        // The raw journal payload carries no body text.
        let raw = try #require(try j.rawJournalRecord(seq: seq))
        let text = String(decoding: raw[9...], as: UTF8.self)
        #expect(!text.contains("laadpaal geplaatst"))
        #expect(raw[0] == StoreFormat.sealedRecordVersion, "sealed at rest")
        // onCommit receives the event as appended (with body).
        #expect(log.all.first?.event == event)
    }
}
