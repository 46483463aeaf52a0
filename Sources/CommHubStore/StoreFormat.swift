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
   chunks of exactly `chunkSize` bytes (2,000 since issue 17 round 3, so a
   chunk is an LMDB leaf value and never a run of overflow pages; 4 MiB and
   then 1 MiB before; the last chunk of a snapshot may be shorter; readers
   take any size), **regardless of record boundaries**: a record may span chunks.
   Chunk indexes start at 0 and are dense. An empty snapshot has no chunks.
 - Chunks are written about 1 MiB per transaction, interleaved with
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
    /// Version of the journal record framing: 1 holds the `EventCodec`
    /// payload in the clear (and void records); 2 holds it sealed
    /// (`[key id u64 LE][nonce 12][ciphertext][tag 16]`, see `KeyRing`).
    public static let recordVersion: UInt8 = 1
    public static let sealedRecordVersion: UInt8 = 2
    /// Version of this layout as a whole (`meta` `store/formatVersion`):
    /// 2 since sealed records, the `keys` table and sealed bodies, audit rows
    /// and snapshot records. A store opened by a version that writes them is
    /// marked 2 at once, so an older binary refuses it instead of taking
    /// sealed records for damage.
    public static let storeVersion = 2
    /// Version of the snapshot stream framing.
    public static let snapshotFormatVersion = 1
    static let recordHeaderSize = 9

    static let metaFormatVersionKey = "store/formatVersion"
    static let metaPrunedThroughKey = "journal/prunedThrough"
    /// Present once the `audit` table holds the whole trail (written by a version with the table,
    /// or filled from an older store's snapshot and journal at its first start).
    static let metaAuditIndexedKey = "audit/indexed"
    /// Set once the message index (`MessageIndex.swift`) holds every message of the store.
    static let metaMessagesIndexedKey = "messages/indexed"
    /// "2": the message index and the message history (`MessageHistory.swift`).
    static let messagesIndexVersion = "2"
    /// Present once no plaintext record is left in the store (a new store
    /// from its creation; an older one once `sealLegacyRecords` ran).
    static let metaSealedKey = "protection/sealed"
    /// `erasure/pending/<seq>`: an erasure journaled at seq whose keys,
    /// bodies and files are not all destroyed yet (finished at the next start).
    static let metaErasurePrefix = "erasure/pending/"
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

    /// Frames a payload as a record of `version` (1: clear payload, 2: sealed envelope).
    static func frameRecord(_ payload: [UInt8], version: UInt8 = recordVersion) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(recordHeaderSize + payload.count)
        out.append(version)
        appendLE(&out, CRC32C.checksum(payload))
        appendLE(&out, UInt32(payload.count))
        out.append(contentsOf: payload)
        return out
    }

    /// The void record (payload length 0).
    static let voidRecord: [UInt8] = frameRecord([])

    enum RecordCheck: Equatable {
        /// A valid event record; the payload is `raw[9...]` (sealed when `raw[0] == 2`).
        case event
        case void
        case invalid(String)
    }

    static func check(record raw: UnsafeRawBufferPointer) -> RecordCheck {
        guard raw.count >= recordHeaderSize else {
            return .invalid("record is \(raw.count) bytes, shorter than the \(recordHeaderSize)-byte header")
        }
        let version = raw[0]
        guard version == recordVersion || version == sealedRecordVersion else { return .invalid("unknown record version \(version)") }
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
        if length == 0 { return version == recordVersion ? .void : .invalid("sealed record without payload") }
        if version == sealedRecordVersion, length < KeyRing.envelopeOverhead {
            return .invalid("sealed record of \(length) bytes, shorter than its envelope")
        }
        return .event
    }

    static func appendLE(_ out: inout [UInt8], _ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }

    // MARK: sealed values

    /// Authenticated data of a sealed value: what it is and where it lives,
    /// so a sealed value copied to another key (seq, message, snapshot
    /// record) does not open there.
    static func journalAAD(_ seq: UInt64) -> [UInt8] { [0x6A] + seqKey(seq) }
    static func bodyAAD(_ key: [UInt8]) -> [UInt8] { [0x62] + key }
    static func auditAAD(_ seq: UInt64) -> [UInt8] { [0x61] + seqKey(seq) }
    static func snapshotAAD(_ id: UInt64, _ index: UInt64) -> [UInt8] { [0x73] + seqKey(id) + seqKey(index) }

    /// A sealed body: `0x02` then the envelope (compact bodies start with
    /// `0x00`, JSON ones with `{`).
    static let sealedBodyMarker: UInt8 = 0x02
    /// A sealed audit row: `0x02`, header length u32 LE, the entry's JSON
    /// without `before`/`after`, then (when it had them) the envelope of
    /// `{"after","before"}`. Rows from before start with `{`.
    static let sealedAuditMarker: UInt8 = 0x02
}
