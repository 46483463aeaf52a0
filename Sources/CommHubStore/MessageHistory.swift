import CLMDB
import CommHubDomain
import Foundation

/// The store's copy of every message header, by thread: the history the
/// engine no longer keeps in memory (a thread actor holds only its recent
/// messages, `EngineConfiguration.recentMessagesPerThread`).
///
/// Table `thread_messages`: key thread (16 bytes) ‖ seq (8, big-endian,
/// the seq of the event that added the message), value a marker byte then
/// the compact header (`CompactRecords`), sealed under the key of the event
/// that wrote it (the thread's scope), so an erasure shreds it with the
/// thread. Written in the journal's transaction from the same events the
/// engine applies — a message added, its status and send reports, the
/// provider's id learnt later, merges and splits (the rows move to their new
/// thread) and erasures (the thread's rows become its skeleton's) — so the
/// history never differs from the engine's messages, also across `kill -9`.
///
/// A new message's row (marker 3) is the sealed envelope of its own
/// `messageAdded` journal record, authenticated with the record's data
/// (`StoreFormat.journalAAD(seq)`): the commit seals the event once for both
/// (AES-GCM sealing was a third of the writer's work). Reading it opens the
/// event and takes its header, checking that the header names the thread
/// the row's key does. A row rewritten later (a status, a provider id, a
/// merge, a split) is a marker-2 row of the header alone. Only rows written
/// in the clear (marker 0, `sealRecords` off) and marker 2 existed before.
enum MessageHistoryFormat {
    static let plainMarker: UInt8 = 0
    static let sealedMarker: UInt8 = 2
    static let recordEnvelopeMarker: UInt8 = 3
    /// Marker-3 rows hold the compact `messageAdded` form; one codec for all readers.
    static let codec = EventCodec()

    static func key(thread: ThreadID, seq: UInt64) -> [UInt8] { MessageIndexFormat.idBytes(thread) + StoreFormat.seqKey(seq) }
    static func aad(_ key: [UInt8]) -> [UInt8] { [0x68] + key }
}

extension JournalWriter {
    /// Applies to the history what `event` (journaled at `seq`) changes, in
    /// the commit transaction. `rowKey`: the key a thread's rows are sealed
    /// under (its own; the system key while an erasure of it is pending).
    ///
    /// `sealedRecord`: the event's own journal envelope and the id of the key
    /// it was sealed under; a new message's row reuses it when the row's key
    /// is that same key.
    func recordHistory(_ txn: LMDBTxn, _ event: EngineEvent, seq: UInt64, rowKey: (ThreadID) throws -> DataKey?,
                       sealedRecord: (keyID: UInt64, bytes: [UInt8])? = nil) throws {
        switch event {
        case .messageAdded(let h, _, _):
            let key = try rowKey(h.threadID)
            if let sealedRecord, let key, key.id == sealedRecord.keyID {
                try txn.put(env.dbs.threadMessages, MessageHistoryFormat.key(thread: h.threadID, seq: seq),
                            [MessageHistoryFormat.recordEnvelopeMarker] + sealedRecord.bytes, "mdb_put(thread_messages)")
            } else {
                try putHistory(txn, h, seq: seq, sealWith: key)
            }
        case .deliveryStatusChanged(let m, _, _, _), .outboxReported(let m, _, _, _, _),
             .messageAnnotated(let m, _, .providerCopy, _):
            guard let at = try txn.withValue(env.dbs.messageIndex, MessageIndexFormat.idBytes(m), { raw in
                raw.flatMap(MessageIndexFormat.MessageRow.init).map { ($0.thread, $0.seq) }
            }), var header = try historyRow(txn, thread: at.0, seq: at.1) else { return }
            if header.apply(event) { try putHistory(txn, header, seq: at.1, sealWith: try rowKey(header.threadID)) }
        case .threadsMerged(let merge):
            for (h, s) in zip(merge.messages, merge.messageSeqs) {
                try txn.delete(env.dbs.threadMessages, MessageHistoryFormat.key(thread: merge.merged, seq: s), "mdb_del(thread_messages merge)")
                try putHistory(txn, h, seq: s, sealWith: try rowKey(h.threadID))
            }
        case .threadSplit(let split):
            for (h, s) in zip(split.messages, split.messageSeqs) {
                try txn.delete(env.dbs.threadMessages, MessageHistoryFormat.key(thread: split.source.id, seq: s), "mdb_del(thread_messages split)")
                try putHistory(txn, h, seq: s, sealWith: try rowKey(h.threadID))
            }
        case .dataErased(let erasure):
            // The rows were sealed under keys the erasure destroys: the skeleton's messages take their place.
            for skeleton in erasure.threads {
                try deleteHistory(txn, thread: skeleton.header.id)
                for (h, s) in zip(skeleton.messages, skeleton.messageSeqs) {
                    var m = h
                    m.threadID = skeleton.header.id
                    try putHistory(txn, m, seq: s, sealWith: try rowKey(m.threadID))
                }
            }
        default:
            break
        }
    }

    private func putHistory(_ txn: LMDBTxn, _ h: MessageHeader, seq: UInt64, sealWith key: DataKey?) throws {
        var w = CompactWriter(capacity: 160)
        try CompactRecords.write(h, &w)
        let k = MessageHistoryFormat.key(thread: h.threadID, seq: seq)
        let value = try key.map { [MessageHistoryFormat.sealedMarker] + (try KeyRing.seal(w.bytes, with: $0, aad: MessageHistoryFormat.aad(k))) }
            ?? [MessageHistoryFormat.plainMarker] + w.bytes
        try txn.put(env.dbs.threadMessages, k, value, "mdb_put(thread_messages)")
    }

    private func deleteHistory(_ txn: LMDBTxn, thread: ThreadID) throws {
        let prefix = MessageIndexFormat.idBytes(thread)
        try txn.withCursor(env.dbs.threadMessages) { c in
            var entry = try c.seek(prefix)
            while let e = entry, e.key.count == 24, e.key.starts(with: prefix) {
                try c.deleteCurrent("mdb_cursor_del(thread_messages erase)")
                entry = try c.get(MDB_NEXT)  // after a delete: the entry that followed it
            }
        }
    }

    private func historyRow(_ txn: LMDBTxn, thread: ThreadID, seq: UInt64) throws -> MessageHeader? {
        let k = MessageHistoryFormat.key(thread: thread, seq: seq)
        guard let raw = try txn.get(env.dbs.threadMessages, k) else { return nil }
        return try decodeHistory(raw, key: k)
    }

    /// A row's header; nil when its key was destroyed (an erasure not finished yet).
    private func decodeHistory(_ raw: [UInt8], key k: [UInt8]) throws -> MessageHeader? {
        guard let marker = raw.first else { throw StoreError(.corrupted, operation: "history", detail: "empty history row") }
        var plain = Array(raw.dropFirst())
        if marker == MessageHistoryFormat.recordEnvelopeMarker {
            return try decodeRecordRow(plain, key: k)
        }
        if marker == MessageHistoryFormat.sealedMarker {
            guard let id = KeyRing.keyID(ofEnvelope: plain) else { throw StoreError(.corrupted, operation: "history", detail: "sealed row too short") }
            guard let dataKey = try keys.openingKey(id, env) else { return nil }
            do {
                plain = try KeyRing.open(plain, with: dataKey, aad: MessageHistoryFormat.aad(k))
            } catch {
                throw StoreError(.corrupted, operation: "history", detail: "a history row does not open under its key \(id)")
            }
        } else if marker != MessageHistoryFormat.plainMarker {
            throw StoreError(.corrupted, operation: "history", detail: "unknown history row marker \(marker)")
        }
        var r = CompactReader(plain)
        return try CompactRecords.readMessageHeader(&r)
    }

    /// A marker-3 row: the `messageAdded` record's envelope, opened with the
    /// record's authenticated data; its header must name the row's thread.
    private func decodeRecordRow(_ envelope: [UInt8], key k: [UInt8]) throws -> MessageHeader? {
        guard k.count == 24, let id = KeyRing.keyID(ofEnvelope: envelope) else {
            throw StoreError(.corrupted, operation: "history", detail: "sealed record row too short")
        }
        guard let dataKey = try keys.openingKey(id, env) else { return nil }
        let seq = k.withUnsafeBytes { MessageIndexFormat.seq($0, at: 16) }
        let payload: [UInt8]
        do {
            payload = try KeyRing.open(envelope, with: dataKey, aad: StoreFormat.journalAAD(seq))
        } catch {
            throw StoreError(.corrupted, operation: "history", detail: "a history row does not open under its key \(id)")
        }
        guard case .messageAdded(let h, _, _) = try MessageHistoryFormat.codec.decode(payload, version: StoreFormat.recordVersion),
              MessageIndexFormat.idBytes(h.threadID) == Array(k[0..<16]) else {
            throw StoreError(.corrupted, operation: "history", detail: "a history row holds another thread's or no message")
        }
        return h
    }

    /// The stored messages of a thread with a seq above `after`, oldest first,
    /// leaving out `excluding` (the ones the engine holds) and stopping after `limit`.
    public func historyMessages(thread: ThreadID, excluding: Set<UInt64> = [], after: UInt64 = 0,
                                limit: Int = .max) throws -> [(header: MessageHeader, seq: UInt64)] {
        let prefix = MessageIndexFormat.idBytes(thread)
        guard after < .max else { return [] }
        let rows: [([UInt8], [UInt8], UInt64)] = try env.read { txn in
            var out: [([UInt8], [UInt8], UInt64)] = []
            try txn.withCursor(env.dbs.threadMessages) { c in
                var entry = try c.seek(prefix + StoreFormat.seqKey(after + 1))
                while let e = entry, out.count < limit, e.key.count == 24, e.key.starts(with: prefix) {
                    let seq = MessageIndexFormat.seq(e.key, at: 16)
                    if !excluding.contains(seq) { out.append((Array(e.key), Array(e.value), seq)) }
                    entry = try c.get(MDB_NEXT)
                }
            }
            return out
        }
        return try rows.compactMap { k, v, seq in try decodeHistory(v, key: k).map { ($0, seq) } }
    }

    /// The newest `count` stored messages of a thread (leaving out `excluding`),
    /// oldest first: a thread view reads these instead of the whole history.
    public func latestHistoryMessages(thread: ThreadID, excluding: Set<UInt64> = [],
                                      count: Int) throws -> [(header: MessageHeader, seq: UInt64)] {
        let prefix = MessageIndexFormat.idBytes(thread)
        guard count > 0 else { return [] }
        let rows: [([UInt8], [UInt8], UInt64)] = try env.read { txn in
            var out: [([UInt8], [UInt8], UInt64)] = []
            try txn.withCursor(env.dbs.threadMessages) { c in
                // The first key after the thread's rows, then back: past the end of the table, the last key.
                var entry = try c.seek(prefix + StoreFormat.seqKey(.max)) != nil ? try c.get(MDB_PREV) : try c.get(MDB_LAST)
                while let e = entry, out.count < count, e.key.starts(with: prefix) {
                    if e.key.count == 24 {
                        let seq = MessageIndexFormat.seq(e.key, at: 16)
                        if !excluding.contains(seq) { out.append((Array(e.key), Array(e.value), seq)) }
                    }
                    entry = try c.get(MDB_PREV)
                }
            }
            return out.reversed()
        }
        return try rows.compactMap { k, v, seq in try decodeHistory(v, key: k).map { ($0, seq) } }
    }

    /// One stored message by id (through the message index).
    public func historyMessage(_ id: MessageID) throws -> (header: MessageHeader, seq: UInt64)? {
        let found: ([UInt8], [UInt8], UInt64)? = try env.read { txn in
            guard let at = try txn.withValue(env.dbs.messageIndex, MessageIndexFormat.idBytes(id), { raw in
                raw.flatMap(MessageIndexFormat.MessageRow.init).map { ($0.thread, $0.seq) }
            }) else { return nil }
            let k = MessageHistoryFormat.key(thread: at.0, seq: at.1)
            return try txn.get(env.dbs.threadMessages, k).map { (k, $0, at.1) }
        }
        guard let (k, v, seq) = found, let h = try decodeHistory(v, key: k) else { return nil }
        return (h, seq)
    }

    /// Rows for `buildMessageIndex`: each message's header under its thread's key.
    func putHistoryForBuild(_ txn: LMDBTxn, _ h: MessageHeader, seq: UInt64, _ pending: inout KeyRing.Pending) throws {
        let key = options.sealRecords ? try keys.sealingKey(.thread(h.threadID), txn, env, &pending) : nil
        try putHistory(txn, h, seq: seq, sealWith: key)
    }
}
