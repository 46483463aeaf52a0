/**
 # CommHub store format, version 1

 (Kept here, next to the code that implements it, so it can be copied into
 `Snapshots/FORMAT.md`.)

 One LMDB environment (a directory holding `data.mdb` and `lock.mdb`) opened
 with `MDB_NOTLS`, `maxdbs` 8, and four named databases. All integers in keys
 are big-endian so LMDB's default byte-wise key order equals numeric order;
 integers inside values are little-endian.

 ## `journal`: the write-ahead journal
 - key: the event's sequence number, `UInt64` big-endian (8 bytes). Sequence
   numbers start at 1 and are dense: record *n+1* follows record *n*. Written
   with `MDB_APPEND`. The journal may start after 1 once pruned (see `meta`).
 - value: one record:

   | offset | size | field |
   | --- | --- | --- |
   | 0 | 1 | record format version, `1` |
   | 1 | 4 | CRC-32C (Castagnoli) of the payload, UInt32 little-endian |
   | 5 | 4 | payload length *n*, UInt32 little-endian |
   | 9 | *n* | payload |

   The value length must be exactly `9 + n`. The payload is `EventCodec`
   format 1: the compact binary form for the per-message events (marker
   byte `0x00`), else the JSON of `EngineEvent` (sorted keys). Dates are
   seconds since 2001-01-01T00:00:00Z in both (the number Foundation's
   `Date` holds; a float64 little-endian in the compact form). For `messageAdded` the journalled event always has `body: null`;
   the body is in `bodies`.
   A record with `n == 0` is a **void record**: the sequence number was
   used but holds no event: written by `repairJournal` in place of a damaged
   or missing record (and, by writers before the retrying commit, for an
   event whose commit failed). Replay skips it. It keeps the journal dense.
 - Validation (`replay`, `checkJournal`): key is 8 bytes, version is known,
   length matches, checksum matches, sequence is dense. An LMDB commit is
   atomic, so a committed record is never torn: a record that fails is
   *damage*, and nothing deletes it by itself. Restore refuses to start when
   a record it needs is damaged; `repairJournal` (the `commhub journal
   repair` command) replaces a damaged record by a void record under the
   same seq, writes void records for missing seqs and deletes malformed
   keys, and records what it did under `journal/repairs/<time>` in `meta`.
   Sequence numbers are never freed, so none is handed out twice.
   A record that passes validation but fails decoding is not damage
   (it may come from a newer writer): replay throws `.decodingFailed`.

 ## `bodies`: message bodies
 - key: the 16 raw bytes of the `MessageID` UUID (RFC 4122 byte order).
 - value: JSON of `MessageBody` (sorted keys, dates as seconds since 2001-01-01Z),
   written in the same transaction as the journal record of its
   `messageAdded` event. Bodies are not pruned with the journal.

 ## `snapshots`: snapshot chunks
 - key: snapshot id `UInt64` big-endian + chunk index `UInt32` big-endian (12 bytes).
 - value: the chunk bytes (no per-chunk header).
 - A snapshot's records (opaque bytes produced by the engine) are framed as
   a stream of `[length UInt32 LE][record bytes]`. The stream is cut into
   chunks of exactly `chunkSize` bytes (default 4 MiB; the last chunk may be
   shorter), **regardless of record boundaries**: a record may span chunks.
   Chunk indexes start at 0 and are dense. An empty snapshot has no chunks.
 - Chunks are written in their own small transactions, interleaved with
   journal batches, while traffic continues (fuzzy snapshot).

 ## `meta`: UTF-8 string keys
 - `store/formatVersion` → ASCII decimal, `1`. A directory with a higher
   value is refused (`.unsupportedFormat`).
 - `journal/prunedThrough` → ASCII decimal `UInt64`: every journal record
   with seq ≤ this was deleted by pruning. The next sequence number is
   `max(last journal key, prunedThrough, endSeq of every snapshot) + 1`.
 - `journal/repairs/<ISO 8601 time>` → JSON `{"at","lost_events","actions":[…]}`:
   one entry per applied `repairJournal`, never deleted.
 - `snapshot/<id as 20-digit zero-padded decimal>` → snapshot header, JSON
   with sorted keys, written only after all chunks committed and the
   journal is durable through `endSeq`; its presence makes the snapshot
   valid:
   ```
   {"byteCount":123,"chunkCount":1,"crc32c":3735928559,"createdAt":1764070200,
    "endSeq":1042,"formatVersion":1,"id":7,"recordCount":12,"startSeq":1000,"valid":true}
   ```
   `crc32c` is the CRC-32C of the whole framed stream (all chunks in
   order), `byteCount` its length. `formatVersion` is the snapshot stream
   framing version (1, as above); the record contents are versioned by the
   engine. `startSeq`: every event ≤ startSeq is reflected in the state;
   events in `startSeq+1...endSeq` may or may not be (fuzzy): restore loads
   the snapshot and replays the journal after `startSeq`.
 - Pruning keeps the newest N valid snapshots, deletes the others (header
   first, then chunks) plus chunks without header, and deletes journal
   records with seq ≤ the oldest kept snapshot's `startSeq`.

 ## Sync modes (LMDB environment flags)
 - `full` (default, flags 0): a commit writes and fsyncs the data pages,
   then writes and fsyncs the meta page (two syncs). An acknowledged event
   survives power loss.
 - `noMetaSync` (`MDB_NOMETASYNC`): one fsync per commit; the meta page is
   synced with the next commit. Power loss may undo the **last** committed
   transaction (integrity is kept; durability of that batch is not), so an
   acknowledged batch can be lost.
 - `noSync` (`MDB_NOSYNC`): no fsync at all; the OS writes when it likes.
   Power loss (or an OS crash) may lose any recent transactions — and on
   file systems that reorder writes may even corrupt the database. A process
   crash loses nothing. Tests and benchmarks only.
 */
public enum StoreFormat {
    /// Version of the journal record framing.
    public static let recordVersion: UInt8 = 1
    /// Version of this layout as a whole (`meta` `store/formatVersion`).
    public static let storeVersion = 1
    /// Version of the snapshot stream framing.
    public static let snapshotFormatVersion = 1
    static let recordHeaderSize = 9

    static let metaFormatVersionKey = "store/formatVersion"
    static let metaPrunedThroughKey = "journal/prunedThrough"
    /// Present once the `audit` table holds the whole trail (written by a version with the table,
    /// or filled from an older store's snapshot and journal at its first start).
    static let metaAuditIndexedKey = "audit/indexed"
    static let metaSnapshotPrefix = "snapshot/"
    static let metaRepairPrefix = "journal/repairs/"

    // MARK: keys

    static func seqKey(_ seq: UInt64) -> [UInt8] {
        withUnsafeBytes(of: seq.bigEndian) { Array($0) }
    }

    static func seq(fromKey raw: UnsafeRawBufferPointer) -> UInt64? {
        guard raw.count == 8 else { return nil }
        return UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self))
    }

    static func chunkKey(snapshot id: UInt64, chunk index: UInt32) -> [UInt8] {
        var k = withUnsafeBytes(of: id.bigEndian) { Array($0) }
        withUnsafeBytes(of: index.bigEndian) { k.append(contentsOf: $0) }
        return k
    }

    static func chunkKeyParts(_ raw: UnsafeRawBufferPointer) -> (id: UInt64, index: UInt32)? {
        guard raw.count == 12 else { return nil }
        return (UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)),
                UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
    }

    static func snapshotMetaKey(_ id: UInt64) -> String {
        let digits = String(id)
        return metaSnapshotPrefix + String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    // MARK: journal records

    /// Frames a payload as a version-1 record.
    static func frameRecord(_ payload: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(recordHeaderSize + payload.count)
        out.append(recordVersion)
        appendLE(&out, CRC32C.checksum(payload))
        appendLE(&out, UInt32(payload.count))
        out.append(contentsOf: payload)
        return out
    }

    /// The void record (payload length 0).
    static let voidRecord: [UInt8] = frameRecord([])

    enum RecordCheck: Equatable {
        /// A valid event record; the payload is `raw[9...]`.
        case event
        case void
        case invalid(String)
    }

    static func check(record raw: UnsafeRawBufferPointer) -> RecordCheck {
        guard raw.count >= recordHeaderSize else {
            return .invalid("record is \(raw.count) bytes, shorter than the \(recordHeaderSize)-byte header")
        }
        let version = raw[0]
        guard version == recordVersion else { return .invalid("unknown record version \(version)") }
        let crc = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 1, as: UInt32.self))
        let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 5, as: UInt32.self)))
        guard raw.count == recordHeaderSize + length else {
            return .invalid("length field says \(length) payload bytes, record holds \(raw.count - recordHeaderSize)")
        }
        let payload = UnsafeRawBufferPointer(rebasing: raw[recordHeaderSize...])
        let actual = CRC32C.update(0, payload)
        guard actual == crc else {
            return .invalid("checksum mismatch (stored \(hex(crc)), computed \(hex(actual)))")
        }
        return length == 0 ? .void : .event
    }

    static func appendLE(_ out: inout [UInt8], _ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
}
