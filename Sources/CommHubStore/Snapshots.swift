import CLMDB
import CommHubDomain
import Foundation
import Logging
import Synchronization

/// A snapshot header as stored in `meta` under `snapshot/<id>` (see `StoreFormat`).
public struct SnapshotInfo: Codable, Sendable, Hashable {
    public var id: UInt64
    /// Framing version of the snapshot stream (`StoreFormat.snapshotFormatVersion`).
    public var formatVersion: Int
    /// Every event with seq ≤ startSeq is reflected in the snapshot; restore
    /// replays the journal after it.
    public var startSeq: UInt64
    /// The journal was durable through this seq when the header was written;
    /// events in `startSeq+1...endSeq` may or may not be reflected (fuzzy).
    public var endSeq: UInt64
    /// Whole seconds (JSON: seconds since 1970).
    public var createdAt: Date
    public var chunkCount: UInt32
    public var recordCount: UInt64
    /// Length of the framed stream (sum of chunk sizes).
    public var byteCount: UInt64
    /// CRC-32C of the framed stream.
    public var crc32c: UInt32
    public var valid: Bool
}

/// What `pruneSnapshots(keep:)` deleted.
public struct PruneReport: Sendable, Hashable {
    public var snapshotsDeleted: [UInt64]
    /// Ids of chunk sets without a header (crashed or aborted snapshots) that were deleted.
    public var orphansDeleted: [UInt64]
    public var journalRecordsDeleted: Int
    /// Journal records with seq ≤ this are gone.
    public var prunedThrough: UInt64
}

/// Writes one fuzzy snapshot while journal traffic continues.
///
/// `append` frames each record (`[length u32 LE][bytes]`) into a stream and,
/// whenever `snapshotChunkBytes` (default 1 MiB) are buffered, cut into chunks of `maxChunkBytes`,
/// hands it to the writer thread as its own small write transaction; journal
/// batches run between chunks, so a large snapshot does not stall commits.
/// Records may span chunks. `append` never blocks; memory grows if the
/// producer outruns the disk — call `waitForChunks()` now and then to apply
/// back-pressure. `finish` writes the header, which is what makes the
/// snapshot valid; `abort` (or dropping the writer unfinished) deletes the chunks.
public final class SnapshotWriter: Sendable {
    enum Phase { case open, finishing, finished, aborted }

    struct State {
        var phase = Phase.open
        var buffer: [UInt8] = []
        var nextChunk: UInt32 = 0
        var records: UInt64 = 0
        var bytes: UInt64 = 0
        /// Running CRC-32C of the chunks committed so far, in order (writer thread only).
        var crc: UInt32 = 0
        var chunksCommitted: UInt32 = 0
        var error: StoreError?
    }

    public let id: UInt64
    public let startSeq: UInt64
    let journal: JournalWriter
    /// Bytes of one stored chunk: at most `maxChunkBytes`.
    let chunkSize: Int
    /// Bytes handed to the writer thread as one transaction (`snapshotChunkBytes`
    /// rounded down to whole chunks): many chunks per transaction.
    let jobSize: Int
    let state = Mutex(State())

    /// The largest chunk stored: small enough to sit inside an LMDB leaf page
    /// (4 KiB pages hold values up to about 2,018 bytes with a 12-byte key). A
    /// larger value takes a run of contiguous overflow pages, and LMDB looks for
    /// such a run through its whole free list, merging it record by record: in
    /// a store with millions of scattered free pages (every commit frees the
    /// pages it copied) one 1 MiB chunk took seconds, and a 2 GB snapshot
    /// of a million threads did not finish in minutes.
    static let maxChunkBytes = 2_000

    init(id: UInt64, startSeq: UInt64, journal: JournalWriter) {
        self.id = id
        self.startSeq = startSeq
        self.journal = journal
        self.chunkSize = min(Self.maxChunkBytes, journal.options.snapshotChunkBytes)
        self.jobSize = chunkSize * max(1, journal.options.snapshotChunkBytes / chunkSize)
    }

    deinit {
        if state.withLock({ $0.phase == .open || $0.phase == .finishing }) { abort() }
    }

    /// Marks a sealed record in the stream: `0xFF` then the envelope of the
    /// engine's record (whose own first byte, its kind, is never `0xFF`).
    static let sealedRecordMarker: UInt8 = 0xFF

    /// Adds one record sealed under `scope`'s data key (created when the
    /// scope has none yet), or in the clear when the store writes in the
    /// clear. `readSnapshot` opens it again, and skips it once the key was
    /// destroyed: a snapshot taken before an erasure brings nothing back.
    public func append(_ record: [UInt8], scope: DataScope) throws {
        guard journal.options.sealRecords else { return append(record) }
        let key = try journal.dataKey(for: journal.snapshotScope(scope))
        // The index the record will have: appends of one snapshot come from one task, in order.
        let index = state.withLock { $0.records }
        let sealed = [Self.sealedRecordMarker] + (try KeyRing.seal(record, with: key, aad: StoreFormat.snapshotAAD(id, index)))
        appendFramed(sealed)
    }

    /// Marks a clear record whose own first byte is `0xFE` or `0xFF`: it is
    /// stored behind this byte, so it is never taken for a sealed one.
    static let escapedRecordMarker: UInt8 = 0xFE

    /// Adds one opaque record (at most 4 GiB − 5 bytes), in the clear.
    public func append(_ record: [UInt8]) {
        if let first = record.first, first >= Self.escapedRecordMarker {
            appendFramed([Self.escapedRecordMarker] + record)
        } else {
            appendFramed(record)
        }
    }

    private func appendFramed(_ record: [UInt8]) {
        state.withLock { s in
            guard s.phase == .open else {
                if s.error == nil { s.error = StoreError(.invalidState, operation: "snapshot.append", detail: "snapshot \(id) is not open") }
                return
            }
            guard record.count <= Int(UInt32.max) else {
                if s.error == nil { s.error = StoreError(.invalidArgument, operation: "snapshot.append", detail: "record of \(record.count) bytes") }
                return
            }
            StoreFormat.appendLE(&s.buffer, UInt32(record.count))
            s.buffer.append(contentsOf: record)
            s.records += 1
            s.bytes += UInt64(4 + record.count)
            if s.buffer.count >= jobSize {
                var start = 0
                while s.buffer.count - start >= jobSize {
                    // Submitted under our lock so chunks reach the writer in index order
                    let n = submitChunks(Array(s.buffer[start..<(start + jobSize)]), first: s.nextChunk, &s)
                    s.nextChunk += n
                    start += jobSize
                }
                s.buffer.removeFirst(start)
            }
        }
    }

    /// Waits until every chunk handed to the writer so far is committed.
    public func waitForChunks() async throws {
        try await journal.perform("snapshot.barrier") { _ in () }
        if let e = state.withLock({ $0.error }) { throw e }
    }

    /// Hands `bytes` to the writer as one transaction of chunks numbered from
    /// `first`; returns how many. Called with our lock held (`s`); the job's
    /// completion takes the lock later on the writer thread, so a rejected job
    /// is recorded here directly.
    private func submitChunks(_ bytes: [UInt8], first start: UInt32, _ s: inout State) -> UInt32 {
        let id = self.id, size = chunkSize
        let count = (bytes.count + size - 1) / size
        let dbi = journal.env.dbs.snapshots
        let accepted = journal.trySubmit(JournalWriter.Job(name: "snapshot.chunk", run: { [self] env in
            try env.write("snapshot.chunk") { txn in
                for c in 0..<count {
                    let piece = Array(bytes[(c * size)..<min(bytes.count, (c + 1) * size)])
                    try txn.put(dbi, StoreFormat.chunkKey(snapshot: id, chunk: start + UInt32(c)), piece, "mdb_put(snapshots)")
                }
            }
            // Only the writer thread touches `crc`, in chunk order.
            let crc = CRC32C.update(state.withLock { $0.crc }, bytes)
            state.withLock { s in
                s.crc = crc
                s.chunksCommitted += UInt32(count)
            }
            return .done
        }, completion: { [self] r in
            if case .failure(let e) = r { state.withLock { s in if s.error == nil { s.error = e } } }
        }))
        if !accepted, s.error == nil { s.error = StoreError(.closed, operation: "snapshot.chunk") }
        return UInt32(count)
    }

    /// Writes the remaining buffer, waits until the journal is durable
    /// through `endSeq` and all chunks are committed, then writes the header.
    /// Pass as `endSeq` the last seq assigned when the engine finished
    /// collecting states (≥ `startSeq`). On failure the chunks are deleted.
    @discardableResult
    public func finish(endSeq: UInt64) async throws -> SnapshotInfo {
        try state.withLock { s in
            guard s.phase == .open else {
                throw StoreError(.invalidState, operation: "snapshot.finish", detail: "snapshot \(id) is not open")
            }
            s.phase = .finishing
            if !s.buffer.isEmpty {
                let n = submitChunks(s.buffer, first: s.nextChunk, &s)
                s.nextChunk += n
                s.buffer = []
            }
        }
        do {
            guard endSeq >= startSeq else {
                throw StoreError(.invalidArgument, operation: "snapshot.finish", detail: "endSeq \(endSeq) < startSeq \(startSeq)")
            }
            try await journal.waitDurable(endSeq)
            let id = self.id, startSeq = self.startSeq
            let metaDBI = journal.env.dbs.meta
            // Runs after every chunk job (FIFO on the writer thread).
            let info = try await journal.perform("snapshot.finish") { [self] env -> SnapshotInfo in
                let s = state.withLock { $0 }
                if let e = s.error { throw e }
                guard s.phase == .finishing else { throw StoreError(.invalidState, operation: "snapshot.finish", detail: "aborted") }
                guard s.chunksCommitted == s.nextChunk else {
                    throw StoreError(.invalidState, operation: "snapshot.finish",
                                     detail: "\(s.chunksCommitted) of \(s.nextChunk) chunks committed")
                }
                let info = SnapshotInfo(id: id, formatVersion: StoreFormat.snapshotFormatVersion, startSeq: startSeq,
                                        endSeq: endSeq, createdAt: Self.wholeSecondNow(), chunkCount: s.nextChunk,
                                        recordCount: s.records, byteCount: s.bytes, crc32c: s.crc, valid: true)
                let json = try JournalWriter.snapshotEncoder.encode(info)
                try env.write("snapshot.header") { txn in
                    try txn.put(metaDBI, Array(StoreFormat.snapshotMetaKey(id).utf8), Array(json), "mdb_put(meta snapshot)")
                }
                return info
            }
            state.withLock { $0.phase = .finished }
            journal.state.withLock { _ = $0.snapshotsInProgress.remove(id) }
            journal.snapshotCovers(through: startSeq)
            journal.logger.info("snapshot written", metadata: [
                "id": "\(id)", "startSeq": "\(startSeq)", "endSeq": "\(endSeq)", "records": "\(info.recordCount)",
                "bytes": "\(info.byteCount)", "chunks": "\(info.chunkCount)"])
            return info
        } catch {
            abort()
            throw error
        }
    }

    /// Whole seconds, so the header round-trips exactly through JSON.
    static func wholeSecondNow() -> Date {
        Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
    }

    /// Abandons the snapshot and deletes its chunks (in the background).
    public func abort() {
        let proceed = state.withLock { s -> Bool in
            guard s.phase == .open || s.phase == .finishing else { return false }
            s.phase = .aborted
            s.buffer = []
            return true
        }
        guard proceed else { return }
        let id = self.id, journal = self.journal
        let batch = journal.options.deleteBatch
        journal.submit(JournalWriter.Job(name: "snapshot.abort", run: { env in
            try JournalWriter.deleteChunksStep(env, id: id, batch: batch)
        }, completion: { _ in
            journal.state.withLock { _ = $0.snapshotsInProgress.remove(id) }
        }))
        journal.logger.notice("snapshot aborted", metadata: ["id": "\(id)"])
    }
}

extension JournalWriter {
    static let snapshotEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .secondsSince1970
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    /// Starts a fuzzy snapshot reflecting at least every event ≤ `startSeq`
    /// (normally `lastAssignedSeq` at the moment the engine starts collecting).
    public func beginSnapshot(startSeq: UInt64) -> SnapshotWriter {
        let id = state.withLock { s -> UInt64 in
            let id = s.nextSnapshotID
            s.nextSnapshotID += 1
            s.snapshotsInProgress.insert(id)
            return id
        }
        return SnapshotWriter(id: id, startSeq: startSeq, journal: self)
    }

    /// Valid snapshots, newest (highest id) first. Unreadable headers are skipped (and logged).
    public func snapshots() throws -> [SnapshotInfo] {
        let raws = try env.read { txn in
            try txn.withCursor(env.dbs.meta) { c -> [(String, [UInt8])] in
                var out: [(String, [UInt8])] = []
                var e = try c.seek(Array(StoreFormat.metaSnapshotPrefix.utf8))
                while let entry = e {
                    let key = String(decoding: entry.key, as: UTF8.self)
                    guard key.hasPrefix(StoreFormat.metaSnapshotPrefix) else { break }
                    out.append((key, Array(entry.value)))
                    e = try c.get(MDB_NEXT)
                }
                return out
            }
        }
        let d = JSONDecoder()
        d.dateDecodingStrategy = .secondsSince1970
        var infos: [SnapshotInfo] = []
        for (key, raw) in raws {
            do {
                let info = try d.decode(SnapshotInfo.self, from: Data(raw))
                if info.valid { infos.append(info) }
            } catch {
                logger.warning("unreadable snapshot header skipped", metadata: ["key": "\(key)", "error": "\(ErrorText.describe(error))"])
            }
        }
        return infos.sorted { $0.id > $1.id }
    }

    /// Calls `each` with every record of the snapshot, in order. Verifies
    /// chunk count, byte count and CRC-32C of the whole stream BEFORE the
    /// first call, so a corrupt snapshot throws `.corrupted` without having
    /// delivered anything and the caller can fall back to an older one.
    /// Chunks are copied out of short read transactions; `each` runs outside them.
    /// Sealed records are opened; those whose key was destroyed are skipped
    /// and counted (the return value).
    @discardableResult
    public func readSnapshot(_ info: SnapshotInfo, _ each: ([UInt8]) throws -> Void) throws -> Int {
        guard info.valid, info.formatVersion == StoreFormat.snapshotFormatVersion else {
            throw StoreError(.unsupportedFormat, operation: "readSnapshot",
                             detail: "snapshot \(info.id) format \(info.formatVersion), valid \(info.valid)")
        }
        let dbi = env.dbs.snapshots
        func corrupted(_ why: String) -> StoreError {
            StoreError(.corrupted, operation: "readSnapshot", detail: "snapshot \(info.id): \(why)")
        }
        // Pass 1: checksum, `readGroup` chunks per read transaction.
        var crc: UInt32 = 0
        var bytes: UInt64 = 0
        var index: UInt32 = 0
        while index < info.chunkCount {
            let upper = min(info.chunkCount, index + Self.readGroup)
            try env.read { txn in
                for i in index..<upper {
                    try txn.withValue(dbi, StoreFormat.chunkKey(snapshot: info.id, chunk: i)) { v in
                        guard let v else { throw corrupted("chunk \(i) of \(info.chunkCount) is missing") }
                        crc = CRC32C.update(crc, v)
                        bytes += UInt64(v.count)
                    }
                }
            }
            index = upper
        }
        guard bytes == info.byteCount else { throw corrupted("\(bytes) bytes stored, header says \(info.byteCount)") }
        guard crc == info.crc32c else {
            throw corrupted("checksum mismatch (stored \(StoreFormat.hex(info.crc32c)), computed \(StoreFormat.hex(crc)))")
        }
        // Pass 2: deframe. `readGroup` chunks copied out per read transaction.
        var carry: [UInt8] = []
        var records: UInt64 = 0
        var erased = 0
        var crc2: UInt32 = 0
        var group: [UInt8] = []
        var from: UInt32 = 0
        while from < info.chunkCount {
            group.removeAll(keepingCapacity: true)
            // Up to `readGroup` chunks and about 1 MiB (older snapshots have 1 to 4 MiB chunks).
            try env.read { txn in
                let upper = min(info.chunkCount, from + Self.readGroup)
                while from < upper, group.count < 1 << 20 {
                    try txn.withValue(dbi, StoreFormat.chunkKey(snapshot: info.id, chunk: from)) { v in
                        guard let v else { throw corrupted("chunk \(from) disappeared while reading") }
                        group.append(contentsOf: v)
                    }
                    from += 1
                }
            }
            crc2 = CRC32C.update(crc2, group)
            carry.append(contentsOf: group)
            var pos = 0
            try carry.withUnsafeBytes { buf in
                while buf.count - pos >= 4 {
                    let len = Int(UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: pos, as: UInt32.self)))
                    guard buf.count - pos - 4 >= len else { break }
                    let record = Array(buf[(pos + 4)..<(pos + 4 + len)])
                    if record.first == SnapshotWriter.sealedRecordMarker {
                        if let plain = try openSnapshotRecord(record, snapshot: info.id, index: records) {
                            try each(plain)
                        } else {
                            erased += 1
                        }
                    } else if record.first == SnapshotWriter.escapedRecordMarker {
                        try each(Array(record.dropFirst()))
                    } else {
                        try each(record)
                    }
                    records += 1
                    pos += 4 + len
                }
            }
            carry.removeFirst(pos)
        }
        guard carry.isEmpty else { throw corrupted("\(carry.count) trailing bytes do not form a record") }
        guard crc2 == info.crc32c else { throw corrupted("chunks changed while reading") }
        guard records == info.recordCount else { throw corrupted("\(records) records, header says \(info.recordCount)") }
        return erased
    }

    /// Chunks read per read transaction (about 1 MiB of the largest chunks).
    static let readGroup: UInt32 = 512

    /// A sealed snapshot record opened; nil when its key was destroyed.
    func openSnapshotRecord(_ record: [UInt8], snapshot id: UInt64, index: UInt64) throws -> [UInt8]? {
        let envelope = Array(record.dropFirst())
        guard let keyID = KeyRing.keyID(ofEnvelope: envelope) else {
            throw StoreError(.corrupted, operation: "readSnapshot", detail: "snapshot \(id): sealed record \(index) too short")
        }
        guard let key = try keys.openingKey(keyID, env) else { return nil }
        do {
            return try KeyRing.open(envelope, with: key, aad: StoreFormat.snapshotAAD(id, index))
        } catch {
            throw StoreError(.corrupted, operation: "readSnapshot", detail: "snapshot \(id): record \(index) does not open under key \(keyID)")
        }
    }

    /// Keeps the newest `keep` (≥ 1) valid snapshots and deletes the older
    /// ones (header first, then chunks), chunk sets without a header that no
    /// running `SnapshotWriter` owns, and journal records with seq ≤ the
    /// oldest kept snapshot's `startSeq`. Everything is deleted in bounded
    /// transactions interleaved with journal commits.
    @discardableResult
    public func pruneSnapshots(keep: Int) async throws -> PruneReport {
        guard keep >= 1 else {
            throw StoreError(.invalidArgument, operation: "pruneSnapshots", detail: "keep must be ≥ 1, got \(keep)")
        }
        // Read these first: a snapshot in progress now, or begun later (id ≥
        // nextID), is never taken for an orphan, even if it finishes meanwhile.
        let (inProgress, nextID) = state.withLock { ($0.snapshotsInProgress, $0.nextSnapshotID) }
        let all = try snapshots()
        let kept = Array(all.prefix(keep))
        let dropped = Array(all.dropFirst(keep))
        let headerIDs = Set(all.map(\.id))
        let chunkIDs = try env.read { txn in
            try txn.withCursor(env.dbs.snapshots) { c -> [UInt64] in
                var ids: [UInt64] = []
                var e = try c.get(MDB_FIRST)
                while let entry = e, let parts = StoreFormat.chunkKeyParts(entry.key) {
                    ids.append(parts.id)
                    if parts.id == .max { break }
                    e = try c.seek(StoreFormat.chunkKey(snapshot: parts.id + 1, chunk: 0))
                }
                return ids
            }
        }
        let orphans = chunkIDs.filter { !headerIDs.contains($0) && !inProgress.contains($0) && $0 < nextID }
        let metaDBI = env.dbs.meta
        let batch = options.deleteBatch
        for info in dropped {
            let id = info.id
            _ = try await perform("snapshot.prune.header") { env in
                try env.write("snapshot.prune.header") { txn in
                    try txn.delete(metaDBI, Array(StoreFormat.snapshotMetaKey(id).utf8), "mdb_del(meta snapshot)")
                }
            }
            try await performSteps("snapshot.prune.chunks") { env in try Self.deleteChunksStep(env, id: id, batch: batch) }
        }
        for id in orphans {
            try await performSteps("snapshot.prune.orphan") { env in try Self.deleteChunksStep(env, id: id, batch: batch) }
        }
        var journalDeleted = 0
        var prunedThrough = try env.read { txn in try Self.readPrunedThrough(txn, env) }
        if let oldest = kept.last {
            let limit = oldest.startSeq
            let journal = env.dbs.journal
            let counter = ResultBox<(Int, UInt64)>()
            counter.value = (0, prunedThrough)
            try await performSteps("journal.prune") { env in
                let (n, maxSeq) = try env.write("journal.prune") { txn -> (Int, UInt64?) in
                    try txn.withCursor(journal) { c -> (Int, UInt64?) in
                        var n = 0
                        var maxSeq: UInt64?
                        while n < batch, let e = try c.get(MDB_FIRST), let seq = StoreFormat.seq(fromKey: e.key), seq <= limit {
                            try c.deleteCurrent("mdb_cursor_del(journal prune)")
                            maxSeq = seq
                            n += 1
                        }
                        if let maxSeq {
                            let old = try Self.readPrunedThrough(txn, env)
                            try txn.put(metaDBI, Array(StoreFormat.metaPrunedThroughKey.utf8),
                                        Array(String(max(old, maxSeq)).utf8), "mdb_put(meta prunedThrough)")
                        }
                        return (n, maxSeq)
                    }
                }
                counter.value!.0 += n
                if let maxSeq { counter.value!.1 = max(counter.value!.1, maxSeq) }
                return n < batch ? .done : .again
            }
            journalDeleted = counter.value!.0
            prunedThrough = counter.value!.1
        }
        let report = PruneReport(snapshotsDeleted: dropped.map(\.id), orphansDeleted: orphans,
                                 journalRecordsDeleted: journalDeleted, prunedThrough: prunedThrough)
        logger.info("snapshots pruned", metadata: [
            "kept": "\(kept.map(\.id))", "deleted": "\(report.snapshotsDeleted)", "orphans": "\(orphans)",
            "journalRecordsDeleted": "\(journalDeleted)", "prunedThrough": "\(prunedThrough)"])
        return report
    }

    /// Deletes up to `batch` chunks of snapshot `id` in one transaction.
    static func deleteChunksStep(_ env: LMDBEnvironment, id: UInt64, batch: Int) throws -> Job.Progress {
        let dbi = env.dbs.snapshots
        let n = try env.write("snapshot.deleteChunks") { txn in
            try txn.withCursor(dbi) { c -> Int in
                var n = 0
                while n < batch, let e = try c.seek(StoreFormat.chunkKey(snapshot: id, chunk: 0)),
                      let parts = StoreFormat.chunkKeyParts(e.key), parts.id == id {
                    try c.deleteCurrent("mdb_cursor_del(snapshots)")
                    n += 1
                }
                return n
            }
        }
        return n < batch ? .done : .again
    }

    /// TEST HOOK: overwrites one stored snapshot chunk with `bytes`, to
    /// simulate corruption. Do not use in production.
    public func injectRawSnapshotChunkForTesting(snapshotID: UInt64, chunkIndex: UInt32, bytes: [UInt8]) async throws {
        let dbi = env.dbs.snapshots
        try await perform("test.injectSnapshotChunk") { env in
            try env.write("test.injectSnapshotChunk") { txn in
                try txn.put(dbi, StoreFormat.chunkKey(snapshot: snapshotID, chunk: chunkIndex), bytes, "mdb_put(snapshots raw)")
            }
        }
    }
}
