import CLMDB
import CommHubDomain
import Crypto
import Foundation

/// Where a message the store indexed lives: its thread, its id and the
/// journal seq of the event that added it.
public struct IndexedMessage: Sendable, Hashable {
    public var thread: ThreadID
    public var message: MessageID
    public var seq: UInt64

    public init(thread: ThreadID, message: MessageID, seq: UInt64) {
        self.thread = thread; self.message = message; self.seq = seq
    }
}

/// The store's index of every message ever journaled, kept in two LMDB
/// tables written in the same transaction as the journal records they
/// follow from (so the index never lags the journal, also across
/// `kill -9`):
///
/// - `provider_ids`: provider message id → message. Key: the first
///   `providerKeyBytes` bytes of SHA-256(channel id ‖ provider id), so
///   the provider's ids (a mail's Message-ID names the sender's domain)
///   are not stored in the clear and every key has one length. Value:
///   thread (16 bytes) ‖ message (16) ‖ seq (8, big-endian).
/// - `message_index`: message id → thread (16) ‖ seq (8) ‖ channel (16,
///   zeros when none) ‖ the provider keys that name it (20 each): the
///   thread of a message for status reports and look-ups, the channel a
///   later send report's provider id belongs to, and what an erasure must
///   delete from `provider_ids`.
///
/// With this index the engine keeps only a bounded window of recent ids in
/// memory (`RecentIndex`) and stays exactly idempotent for every provider
/// id it ever acknowledged: a retry after a month finds its message here.
/// The index mirrors the engine's own tables event for event (see
/// `EngineState.apply`): `messageAdded`, a send report's provider id,
/// Outlook's copy of a sent mail, merges and splits (the messages' new
/// thread) and erasures (the provider ids go with the content).
enum MessageIndexFormat {
    static let providerKeyBytes = 20
    static let messageRowFixedBytes = 40
    static let providerValueBytes = 40

    static func providerKey(channel: ChannelID, externalID: String) -> [UInt8] {
        var h = SHA256()
        withUnsafeBytes(of: channel.uuid.uuid) { h.update(bufferPointer: $0) }
        var id = externalID
        id.withUTF8 { h.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        return Array(h.finalize().prefix(providerKeyBytes))
    }

    static func idBytes<K>(_ id: EntityID<K>) -> [UInt8] { withUnsafeBytes(of: id.uuid.uuid) { Array($0) } }

    static func id<K>(_ raw: UnsafeRawBufferPointer, at offset: Int) -> EntityID<K> {
        var u: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &u) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + 16])) }
        return EntityID(UUID(uuid: u))
    }

    static func seq(_ raw: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(raw[offset + i]) }
        return v
    }

    static func providerValue(_ m: IndexedMessage) -> [UInt8] {
        idBytes(m.thread) + idBytes(m.message) + StoreFormat.seqKey(m.seq)
    }

    /// A row of `message_index`, decoded.
    struct MessageRow {
        var thread: ThreadID
        var seq: UInt64
        var channel: ChannelID?
        var providerKeys: [[UInt8]]

        init(thread: ThreadID, seq: UInt64, channel: ChannelID?, providerKeys: [[UInt8]] = []) {
            self.thread = thread; self.seq = seq; self.channel = channel; self.providerKeys = providerKeys
        }

        init?(_ raw: UnsafeRawBufferPointer) {
            guard raw.count >= messageRowFixedBytes, (raw.count - messageRowFixedBytes) % providerKeyBytes == 0 else { return nil }
            thread = MessageIndexFormat.id(raw, at: 0)
            seq = MessageIndexFormat.seq(raw, at: 16)
            let c: ChannelID = MessageIndexFormat.id(raw, at: 24)
            channel = raw[24..<40].allSatisfy { $0 == 0 } ? nil : c
            var keys: [[UInt8]] = []
            var at = messageRowFixedBytes
            while at < raw.count {
                keys.append(Array(raw[at..<at + providerKeyBytes]))
                at += providerKeyBytes
            }
            providerKeys = keys
        }

        var bytes: [UInt8] {
            var out = idBytes(thread) + StoreFormat.seqKey(seq)
            out += channel.map { idBytes($0) } ?? [UInt8](repeating: 0, count: 16)
            for k in providerKeys { out += k }
            return out
        }
    }
}

extension JournalWriter {
    /// Applies to the message index what `event`, journaled at `seq`,
    /// changes (inside the commit transaction that writes its record).
    func indexMessages(_ txn: LMDBTxn, _ event: EngineEvent, seq: UInt64, rowKey: (ThreadID) throws -> DataKey?,
                       sealedRecord: (keyID: UInt64, bytes: [UInt8])? = nil) throws {
        try recordHistory(txn, event, seq: seq, rowKey: rowKey, sealedRecord: sealedRecord)
        switch event {
        case .messageAdded(let h, _, _):
            var row = MessageIndexFormat.MessageRow(thread: h.threadID, seq: seq, channel: h.channelID)
            if let ext = h.externalMessageID, let channel = h.channelID {
                let key = MessageIndexFormat.providerKey(channel: channel, externalID: ext)
                row.providerKeys.append(key)
                try txn.put(env.dbs.providerIDs, key, MessageIndexFormat.providerValue(IndexedMessage(thread: h.threadID, message: h.id, seq: seq)),
                            "mdb_put(provider_ids)")
            }
            try txn.put(env.dbs.messageIndex, MessageIndexFormat.idBytes(h.id), row.bytes, "mdb_put(message_index)")
        case .outboxReported(let m, let t, _, .sent(let provider?), _):
            // The engine files a send report's id under the outbox entry's channel and the message's own seq.
            try addProvider(txn, message: m, thread: t, channel: nil, externalID: provider, seq: nil)
        case .messageAnnotated(let m, let t, .providerCopy(let channel, let provider, _), _):
            try addProvider(txn, message: m, thread: t, channel: channel, externalID: provider, seq: seq)
        case .threadsMerged(let merge):
            try move(txn, merge.messages.map(\.id), to: merge.survivor.id)
        case .threadSplit(let split):
            try move(txn, split.messages.map(\.id), to: split.newThread.id)
        case .dataErased(let erasure):
            // The provider ids went with the content (as in the engine's table): a retry is a new message.
            for skeleton in erasure.threads {
                for m in skeleton.messages { try dropProviders(txn, of: m.id) }
            }
        default:
            break
        }
    }

    private func messageRow(_ txn: LMDBTxn, _ id: MessageID) throws -> MessageIndexFormat.MessageRow? {
        try txn.withValue(env.dbs.messageIndex, MessageIndexFormat.idBytes(id)) { raw in raw.flatMap(MessageIndexFormat.MessageRow.init) }
    }

    private func addProvider(_ txn: LMDBTxn, message: MessageID, thread: ThreadID, channel: ChannelID?, externalID: String,
                             seq: UInt64?) throws {
        guard var row = try messageRow(txn, message), let channel = channel ?? row.channel else { return }
        let key = MessageIndexFormat.providerKey(channel: channel, externalID: externalID)
        try txn.put(env.dbs.providerIDs, key,
                    MessageIndexFormat.providerValue(IndexedMessage(thread: thread, message: message, seq: seq ?? row.seq)),
                    "mdb_put(provider_ids)")
        guard !row.providerKeys.contains(key) else { return }
        row.providerKeys.append(key)
        try txn.put(env.dbs.messageIndex, MessageIndexFormat.idBytes(message), row.bytes, "mdb_put(message_index)")
    }

    private func move(_ txn: LMDBTxn, _ messages: [MessageID], to thread: ThreadID) throws {
        for m in messages {
            guard var row = try messageRow(txn, m) else { continue }
            row.thread = thread
            try txn.put(env.dbs.messageIndex, MessageIndexFormat.idBytes(m), row.bytes, "mdb_put(message_index move)")
            for key in row.providerKeys {
                guard let old = try txn.get(env.dbs.providerIDs, key), old.count == MessageIndexFormat.providerValueBytes else { continue }
                try txn.put(env.dbs.providerIDs, key, MessageIndexFormat.idBytes(thread) + old[16...], "mdb_put(provider_ids move)")
            }
        }
    }

    private func dropProviders(_ txn: LMDBTxn, of message: MessageID) throws {
        guard var row = try messageRow(txn, message), !row.providerKeys.isEmpty else { return }
        for key in row.providerKeys { try txn.delete(env.dbs.providerIDs, key, "mdb_del(provider_ids)") }
        row.providerKeys = []
        try txn.put(env.dbs.messageIndex, MessageIndexFormat.idBytes(message), row.bytes, "mdb_put(message_index erase)")
    }

    /// The message a provider id on a channel names, from the store's index
    /// (every message ever committed, not only the engine's recent window).
    public func indexedMessage(channel: ChannelID, externalID: String) throws -> IndexedMessage? {
        let key = MessageIndexFormat.providerKey(channel: channel, externalID: externalID)
        return try env.read { txn in
            try txn.withValue(env.dbs.providerIDs, key) { raw -> IndexedMessage? in
                guard let raw, raw.count == MessageIndexFormat.providerValueBytes else { return nil }
                return IndexedMessage(thread: MessageIndexFormat.id(raw, at: 0), message: MessageIndexFormat.id(raw, at: 16),
                                      seq: MessageIndexFormat.seq(raw, at: 32))
            }
        }
    }

    /// The thread a message belongs to (and the seq that added it), from the store's index.
    public func indexedThread(of message: MessageID) throws -> (thread: ThreadID, seq: UInt64)? {
        try env.read { txn in try messageRow(txn, message).map { ($0.thread, $0.seq) } }
    }

    /// Every indexed message's thread (a full scan: for one-time upgrades of a store, not for serving).
    public func indexedThreads() throws -> [MessageID: ThreadID] {
        try env.read { txn in
            var out: [MessageID: ThreadID] = [:]
            try txn.withCursor(env.dbs.messageIndex) { c in
                var entry = try c.get(MDB_FIRST)
                while let e = entry {
                    if e.key.count == 16, let row = MessageIndexFormat.MessageRow(e.value) {
                        out[MessageIndexFormat.id(e.key, at: 0)] = row.thread
                    }
                    entry = try c.get(MDB_NEXT)
                }
            }
            return out
        }
    }

    /// Whether the message index and the history (`MessageHistory.swift`)
    /// hold every message of the store (false for a store written before
    /// them, until `buildMessageIndex`).
    public func messageIndexBuilt() throws -> Bool {
        try env.read { txn in
            try txn.get(env.dbs.meta, Array(StoreFormat.metaMessagesIndexedKey.utf8)) == Array(StoreFormat.messagesIndexVersion.utf8)
        }
    }

    /// One message for `buildMessageIndex`: its header, where it is, and the provider ids that name it.
    public struct MessageIndexEntry: Sendable {
        public var header: MessageHeader
        public var seq: UInt64
        public var providerIDs: [(channel: ChannelID, externalID: String, seq: UInt64)]

        public init(header: MessageHeader, seq: UInt64, providerIDs: [(channel: ChannelID, externalID: String, seq: UInt64)]) {
            self.header = header; self.seq = seq; self.providerIDs = providerIDs
        }
    }

    /// Fills the message index and the history of a store written before
    /// them, from the restored engine (every message and provider id it
    /// holds), `deleteBatch` messages per transaction, then marks them
    /// built. Runs before the engine serves; repeating it after a crash
    /// writes the same rows again.
    public func buildMessageIndex(_ entries: [MessageIndexEntry]) throws {
        let batch = max(1, options.deleteBatch)
        try performBlocking("messages.index") { [self] env in
            var start = 0
            while start < entries.count {
                let slice = entries[start..<min(entries.count, start + batch)]
                let created = try env.write("messages.index") { txn -> KeyRing.Pending in
                    var pending = KeyRing.Pending()
                    for e in slice {
                        let h = e.header
                        var row = MessageIndexFormat.MessageRow(thread: h.threadID, seq: e.seq, channel: h.channelID)
                        for p in e.providerIDs {
                            let key = MessageIndexFormat.providerKey(channel: p.channel, externalID: p.externalID)
                            if !row.providerKeys.contains(key) { row.providerKeys.append(key) }
                            try txn.put(env.dbs.providerIDs, key,
                                        MessageIndexFormat.providerValue(IndexedMessage(thread: h.threadID, message: h.id, seq: p.seq)),
                                        "mdb_put(provider_ids build)")
                        }
                        try txn.put(env.dbs.messageIndex, MessageIndexFormat.idBytes(h.id), row.bytes, "mdb_put(message_index build)")
                        try putHistoryForBuild(txn, h, seq: e.seq, &pending)
                    }
                    return pending
                }
                keys.publish(created)
                start += slice.count
            }
            try env.write("messages.index.done") { txn in
                try txn.put(env.dbs.meta, Array(StoreFormat.metaMessagesIndexedKey.utf8), Array(StoreFormat.messagesIndexVersion.utf8),
                            "mdb_put(meta messages)")
            }
        }
    }

    /// Repair: index and history rows of events a repair voided point at
    /// messages that are gone; a provider's retry of one must be taken as
    /// new, not as a duplicate of nothing, and no view may list it. Scans
    /// the three tables (repairs are rare and offline).
    func dropIndexRows(voided: (UInt64) -> Bool) throws -> Int {
        var dropped = 0
        try env.write("journal.repair.index") { txn in
            // Where each table keeps the seq: provider_ids and message_index in the value, thread_messages in the key.
            for (dbi, seqOffset, inKey) in [(env.dbs.providerIDs, 32, false), (env.dbs.messageIndex, 16, false),
                                            (env.dbs.threadMessages, 16, true)] {
                try txn.withCursor(dbi) { c in
                    var entry = try c.get(MDB_FIRST)
                    while let e = entry {
                        let bytes = inKey ? e.key : e.value
                        if bytes.count >= seqOffset + 8, voided(MessageIndexFormat.seq(bytes, at: seqOffset)) {
                            try c.deleteCurrent("mdb_cursor_del(index repair)")
                            dropped += 1
                        }
                        // After a delete LMDB's MDB_NEXT yields the entry that followed the deleted one.
                        entry = try c.get(MDB_NEXT)
                    }
                }
            }
        }
        return dropped
    }
}
