import CLMDB
import CommHubDomain
import Crypto
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Encryption at rest, crypto-shredding and key rotation on the store side.
/// See `KeyRing` for the keys and `StoreFormat` for what is sealed how.
extension JournalWriter {
    static let fileByThreadPrefix: UInt8 = 0x66  // "f": thread → the files its messages refer to

    /// At open: mark the store as written by this format (older versions then
    /// refuse it), check that data keys have their KEK, and mark a new,
    /// empty store as sealed from its first record.
    static func prepareProtection(_ env: LMDBEnvironment, _ keys: KeyRing, sealing: Bool) throws {
        try env.write("protection.open") { txn in
            let versionKey = Array(StoreFormat.metaFormatVersionKey.utf8)
            let version = try txn.get(env.dbs.meta, versionKey).flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
            if version < StoreFormat.storeVersion {
                try txn.put(env.dbs.meta, versionKey, Array(String(StoreFormat.storeVersion).utf8), "mdb_put(meta formatVersion)")
            }
            let hasKeys = try txn.withCursor(env.dbs.keys) { c in try c.seek([KeyRing.keyRowPrefix]).map { $0.key.first == KeyRing.keyRowPrefix } ?? false }
            if hasKeys, keys.kekGenerations.isEmpty {
                throw StoreError(.invalidState, operation: "open", detail: "\(env.path) holds data keys but no key-encryption key "
                    + "file (\(KeyRing.kekFilePrefix)*\(KeyRing.kekFileSuffix)); restore the whole store directory from a backup")
            }
            var empty = true
            for dbi in [env.dbs.journal, env.dbs.snapshots, env.dbs.bodies, env.dbs.audit] where empty {
                if try txn.withCursor(dbi, { try $0.get(MDB_FIRST) != nil }) { empty = false }
            }
            if empty, sealing {
                try txn.put(env.dbs.meta, Array(StoreFormat.metaSealedKey.utf8), Array("1".utf8), "mdb_put(meta sealed)")
            }
        }
    }

    /// Whether every record of the store is sealed (nothing left in the clear from before encryption).
    public var isSealed: Bool {
        get throws { try env.read { txn in try txn.get(env.dbs.meta, Array(StoreFormat.metaSealedKey.utf8)) != nil } }
    }

    /// The KEK generations on disk (more than one: a roll is unfinished).
    public var kekGenerations: [UInt32] { keys.kekGenerations }
    public var masterKeys: MasterKeys { keys.masterKeys }

    /// The data key of `scope`, created (in its own transaction, on the
    /// writer thread) when the scope has none. Not for the writer thread.
    public func dataKey(for scope: DataScope) throws -> DataKey {
        if let k = try keys.existingKey(scope, env) { return k }
        return try performBlocking("keys.create") { [keys] env in
            let created = try env.write("keys.create") { txn -> (KeyRing.Pending, DataKey) in
                var pending = KeyRing.Pending()
                let k = try keys.sealingKey(scope, txn, env, &pending)
                return (pending, k)
            }
            keys.publish(created.0)
            return created.1
        }
    }

    /// Whether `scope` has a data key now (tests and diagnostics).
    public func hasDataKey(_ scope: DataScope) throws -> Bool { try keys.existingKey(scope, env) != nil }

    /// Unwrapped data keys held in memory (bounded by `maxCachedDataKeys`).
    public var cachedDataKeys: Int { keys.cachedCount }
    public static var maxCachedDataKeys: Int { KeyRing.maxCachedKeys }

    // MARK: Erasure

    /// Written in the erasure's journal transaction: until `finishErasure`,
    /// the next start finishes what a crash interrupted. Sealed under the
    /// system key (the skeleton holds nothing personal, but nothing is kept
    /// in the clear).
    func markErasurePending(_ txn: LMDBTxn, seq: UInt64, payload: [UInt8], _ pending: inout KeyRing.Pending) throws {
        let key = Array((StoreFormat.metaErasurePrefix + Self.decimal20(seq)).utf8)
        let value = options.sealRecords
            ? [1] + (try KeyRing.seal(payload, with: try keys.sealingKey(.system, txn, env, &pending), aad: StoreFormat.journalAAD(seq)))
            : [0] + payload
        try txn.put(env.dbs.meta, key, value, "mdb_put(meta erasure)")
    }

    static func decimal20(_ n: UInt64) -> String {
        let d = String(n)
        return String(repeating: "0", count: max(0, 20 - d.count)) + d
    }

    /// Erasures journaled but not finished (a crash came between the event and the last key destroyed).
    public func pendingErasures() throws -> [(seq: UInt64, erasure: DataErasure)] {
        let rows = try env.read { txn in
            try txn.withCursor(env.dbs.meta) { c -> [(String, [UInt8])] in
                var out: [(String, [UInt8])] = []
                var e = try c.seek(Array(StoreFormat.metaErasurePrefix.utf8))
                while let entry = e {
                    let key = String(decoding: entry.key, as: UTF8.self)
                    guard key.hasPrefix(StoreFormat.metaErasurePrefix) else { break }
                    out.append((key, Array(entry.value)))
                    e = try c.get(MDB_NEXT)
                }
                return out
            }
        }
        return try rows.compactMap { (key, value) -> (UInt64, DataErasure)? in
            guard let seq = UInt64(key.dropFirst(StoreFormat.metaErasurePrefix.count)), let flag = value.first else { return nil }
            var payload = Array(value.dropFirst())
            if flag == 1 {
                guard let id = KeyRing.keyID(ofEnvelope: payload), let k = try keys.openingKey(id, env) else { return nil }
                payload = try KeyRing.open(payload, with: k, aad: StoreFormat.journalAAD(seq))
            }
            guard case .dataErased(let e) = try EventCodec().decode(payload, version: StoreFormat.recordVersion) else { return nil }
            return (seq, e)
        }
    }

    /// Whether a journal replay from the newest snapshot would need the
    /// data keys of `scopes` to rebuild a thread *outside* them: a merge or
    /// a split is one record, sealed under one of its threads' keys, that
    /// also carries the other thread's messages. Destroying that key first
    /// would lose the other thread on the next replay, so an erasure of
    /// such a scope writes a snapshot before it destroys keys
    /// (`StoreProtection.shred`). Records written before this process
    /// opened the store count as unknown: true until a snapshot covers them.
    public func replayNeedsKeys(of scopes: [DataScope]) -> Bool {
        crossThreadSeals.withLock { seals in
            seals.unknownThrough > 0 || (!seals.seqs.isEmpty && scopes.contains { seals.seqs[$0.bytes] != nil })
        }
    }

    /// Erasures found pending at a start (`pendingErasures`): until their
    /// keys are destroyed, new records of their scopes, and a snapshot's
    /// records of them, go under the system key.
    public func resumeErasing(_ scopes: [DataScope]) {
        erasingScopes.withLock { $0.formUnion(scopes.map(\.bytes)) }
    }

    /// A snapshot began at `startSeq` is durable: records up to it are never replayed again.
    func snapshotCovers(through startSeq: UInt64) {
        crossThreadSeals.withLock { seals in
            if seals.unknownThrough <= startSeq { seals.unknownThrough = 0 }
            seals.seqs = seals.seqs.filter { $0.value > startSeq }
        }
    }

    /// The sealing scope a snapshot record of `scope` takes: the system key
    /// while the scope is being erased (its skeleton holds nothing personal,
    /// and its own key is about to be destroyed).
    func snapshotScope(_ scope: DataScope) -> DataScope {
        erasingScopes.withLock { $0.isEmpty || !$0.contains(scope.bytes) } ? scope : .system
    }

    public func finishErasure(seq: UInt64) async throws {
        let key = Array((StoreFormat.metaErasurePrefix + Self.decimal20(seq)).utf8)
        try await perform("erasure.finish") { env in
            try env.write("erasure.finish") { txn in _ = try txn.delete(env.dbs.meta, key, "mdb_del(meta erasure)") }
        }
    }

    /// Deletes message bodies, in bounded transactions.
    public func deleteBodies(_ ids: [MessageID]) async throws {
        let keys = ids.map(Self.bodyKey)
        var start = 0
        while start < keys.count {
            let slice = Array(keys[start..<min(keys.count, start + options.deleteBatch)])
            try await perform("bodies.delete") { env in
                try env.write("bodies.delete") { txn in
                    for k in slice { _ = try txn.delete(env.dbs.bodies, k, "mdb_del(bodies)") }
                }
            }
            start += slice.count
        }
    }

    /// Drops the attachment references of `threads` and returns the files no
    /// other thread refers to any more (the caller deletes them and destroys their keys).
    public func releaseFiles(of threads: [ThreadID]) async throws -> [String] {
        try await perform("files.release") { env in
            try env.write("files.release") { txn -> [String] in
                var candidates = Set<[UInt8]>()
                for t in threads {
                    let prefix = [Self.fileByThreadPrefix] + withUnsafeBytes(of: t.uuid.uuid) { Array($0) }
                    var rows: [[UInt8]] = []
                    try txn.withCursor(env.dbs.keys) { c in
                        var e = try c.seek(prefix)
                        while let entry = e, entry.key.count == 49, Array(entry.key.prefix(17)) == prefix {
                            rows.append(Array(entry.key))
                            e = try c.get(MDB_NEXT)
                        }
                    }
                    for row in rows {
                        let sha = Array(row[17...])
                        try txn.delete(env.dbs.keys, row, "mdb_del(keys file by thread)")
                        try txn.delete(env.dbs.keys, [KeyRing.fileRefPrefix] + sha + Array(row[1..<17]), "mdb_del(keys file ref)")
                        candidates.insert(sha)
                    }
                }
                var unreferenced: [String] = []
                for sha in candidates {
                    let prefix = [KeyRing.fileRefPrefix] + sha
                    let stillUsed = try txn.withCursor(env.dbs.keys) { c in
                        try c.seek(prefix).map { Array($0.key.prefix(33)) == prefix } ?? false
                    }
                    if !stillUsed { unreferenced.append(sha.map { String(format: "%02x", $0) }.joined()) }
                }
                return unreferenced.sorted()
            }
        }
    }

    /// Records that `thread` refers to the file `sha256`, both ways: `r` +
    /// file + thread (is the file still used?) and `f` + thread + file (which
    /// files does an erased thread free?).
    static func putFileRef(_ txn: LMDBTxn, _ env: LMDBEnvironment, sha256: String, thread: ThreadID) throws {
        guard let raw = KeyRing.hexBytes(sha256) else { return }
        let t = withUnsafeBytes(of: thread.uuid.uuid) { Array($0) }
        try txn.put(env.dbs.keys, [KeyRing.fileRefPrefix] + raw + t, [], "mdb_put(keys file ref)")
        try txn.put(env.dbs.keys, [fileByThreadPrefix] + t + raw, [], "mdb_put(keys file by thread)")
    }

    /// The files a thread's messages refer to (export, tests).
    public func files(of thread: ThreadID) throws -> [String] {
        let prefix = [Self.fileByThreadPrefix] + withUnsafeBytes(of: thread.uuid.uuid) { Array($0) }
        return try env.read { txn in
            try txn.withCursor(env.dbs.keys) { c -> [String] in
                var out: [String] = []
                var e = try c.seek(prefix)
                while let entry = e, entry.key.count == 49, Array(entry.key.prefix(17)) == prefix {
                    out.append(entry.key[17...].map { String(format: "%02x", $0) }.joined())
                    e = try c.get(MDB_NEXT)
                }
                return out
            }
        }
    }

    /// Destroys the data keys of `scopes` (their rows, then the KEK roll that
    /// makes the wrapped bytes left in free pages useless). Returns how many
    /// keys existed and were destroyed.
    @discardableResult
    public func destroyKeys(_ scopes: [DataScope]) async throws -> Int {
        try await keyWork.run { [self] in
            let batch = options.deleteBatch
            let destroyed = try await perform("keys.destroy") { [keys] env -> Int in
                keys.forget([], scopes: scopes)
                var total = 0
                var start = 0
                let all = Array(scopes)
                while start < all.count {
                    let slice = Array(all[start..<min(all.count, start + batch)])
                    let ids = try env.write("keys.destroy") { txn in try keys.destroy(slice, txn, env) }
                    keys.forget(ids, scopes: slice)
                    total += ids.count
                    start += slice.count
                }
                return total
            }
            erasingScopes.withLock { $0.subtract(scopes.map(\.bytes)) }
            try await rollUnlocked()
            logger.notice("data keys destroyed", metadata: ["keys.destroyed": "\(destroyed)", "keys.kek_generation": "\(keys.kekGenerations.last ?? 0)"])
            return destroyed
        }
    }

    /// Rolls the KEK: a new generation, every data key rewrapped under it, the old KEK file shredded.
    public func rollKEK() async throws {
        try await keyWork.run { [self] in try await rollUnlocked() }
    }

    /// Finishes a roll cut short by a crash (more than one KEK generation on disk).
    public func finishInterruptedRoll() async throws {
        guard keys.rollPending else { return }
        try await keyWork.run { [self] in
            try await performSteps("keys.rewrap") { [keys] env in try keys.rewrapStep(env) }
            try await perform("keys.finishRoll") { [keys] _ in try keys.finishRoll() }
            logger.notice("interrupted key roll finished", metadata: ["keys.kek_generation": "\(keys.kekGenerations.last ?? 0)"])
        }
    }

    private func rollUnlocked() async throws {
        _ = try await perform("keys.beginRoll") { [keys] env -> UInt32 in
            // A store without any data key yet (nothing sealed) has no KEK to roll.
            _ = try keys.newestKEK()
            return try keys.beginRoll()
        }
        try await performSteps("keys.rewrap") { [keys] env in try keys.rewrapStep(env) }
        try await perform("keys.finishRoll") { [keys] _ in try keys.finishRoll() }
    }

    // MARK: Attachment file keys

    /// Makes `key` the key of the file `sha256` (a new upload's key), unless
    /// the file has one: then that one, and `false` (the same content is stored already).
    public func adoptFileKey(_ key: SymmetricKey, sha256: String) async throws -> (DataKey, Bool) {
        try await perform("keys.adopt") { [keys] env in
            try env.write("keys.adopt") { txn in try keys.adopt(key, for: .file(sha256), txn, env) }
        }
    }

    /// The data key with this id, nil once destroyed.
    public func dataKey(id: UInt64) throws -> SymmetricKey? { try keys.openingKey(id, env) }

    // MARK: Master key rotation

    /// Starts using `next` beside the current master key: new KEK files are wrapped under it.
    public func useNextMasterKey(_ next: SymmetricKey, path: String) {
        keys.setNextMaster(next, path: path)
    }

    /// The next master key became the current one.
    public func promoteNextMasterKey() {
        keys.promoteNextMaster()
    }

    // MARK: Hot copies

    /// `exportCopy` with the KEK files, taken while no key roll runs (a copy
    /// must hold the KEK generation its key rows are wrapped under).
    public func exportProtectedCopy(to directory: String) async throws {
        try await keyWork.run { [self] in try exportCopy(to: directory) }
    }
}

extension KeyRing {
    var cachedCount: Int { cacheCount() }
}

/// Runs async jobs one at a time, in arrival order (key destruction, KEK
/// rolls, protected copies: each must see the others finished).
public final class SerialWork: Sendable {
    private actor Gate {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
        func enter() async {
            if !busy { busy = true; return }
            await withCheckedContinuation { waiting.append($0) }
        }
        func leave() {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
    }
    private let gate = Gate()

    public init() {}

    public func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await gate.enter()
        do {
            let v = try await body()
            await gate.leave()
            return v
        } catch {
            await gate.leave()
            throw error
        }
    }
}

/// What `sealLegacyRecords` did.
public struct LegacySealReport: Sendable, Hashable {
    public var journalRecords = 0
    public var bodies = 0
    /// Bodies of messages no thread holds any more: nothing can show them, so they were deleted.
    public var orphanBodiesDeleted = 0
    public var auditRows = 0
}

extension JournalWriter {
    /// Records rewritten per transaction by `sealLegacyRecords`.
    static let sealBatchRecords = 1_024

    /// Seals, in place, everything a store written before encryption holds
    /// in the clear: journal records (rewritten under the same seq), bodies,
    /// audit rows; and indexes which files each thread's messages refer to.
    /// Then marks the store sealed. Run before serving (nothing else writes
    /// meanwhile); resumable (what is sealed stays sealed). `threadOf` says
    /// whose a message is (bodies and message audit entries are sealed under
    /// their thread's key). The caller then snapshots, drops every older
    /// snapshot and compacts the file (`StoreCompaction`), so no clear copy
    /// stays in LMDB's free pages.
    public func sealLegacyRecords(threadOf: @escaping @Sendable (MessageID) -> ThreadID?) async throws -> LegacySealReport {
        let report = ResultBox<LegacySealReport>()
        report.value = LegacySealReport()
        let keys = self.keys
        @Sendable func scope(of entry: AuditEntry) -> DataScope {
            if entry.scope == nil, entry.entity == "message", let m = MessageID(entry.entityID), let t = threadOf(m) { return .thread(t) }
            return entry.dataScope
        }
        // Journal records.
        let cursor = ResultBox<UInt64>()
        cursor.value = 0
        try await performSteps("seal.journal") { env in
            let (done, n) = try env.write("seal.journal") { txn -> (Bool, Int) in
                var pending = KeyRing.Pending()
                var rows: [(UInt64, [UInt8])] = []
                try txn.withCursor(env.dbs.journal) { c in
                    var e = try c.seek(StoreFormat.seqKey(cursor.value! &+ 1))
                    while let entry = e, rows.count < Self.sealBatchRecords {
                        if let seq = StoreFormat.seq(fromKey: entry.key) { rows.append((seq, Array(entry.value))) }
                        e = try c.get(MDB_NEXT)
                    }
                }
                let codec = EventCodec()
                var sealed = 0
                for (seq, raw) in rows {
                    cursor.value = seq
                    guard raw.first == StoreFormat.recordVersion,
                          case .event = raw.withUnsafeBytes({ StoreFormat.check(record: $0) }) else { continue }
                    let payload = Array(raw[StoreFormat.recordHeaderSize...])
                    let event: EngineEvent
                    do {
                        event = try codec.decode(payload, version: StoreFormat.recordVersion)
                    } catch {
                        throw StoreError(.decodingFailed, operation: "seal.journal", detail: "seq \(seq): \(ErrorText.describe(error))")
                    }
                    var s = DataScope.of(event)
                    if case .audited(let entry) = event { s = scope(of: entry) }
                    let key = try keys.sealingKey(s, txn, env, &pending)
                    let record = StoreFormat.frameRecord(try KeyRing.seal(payload, with: key, aad: StoreFormat.journalAAD(seq)),
                                                         version: StoreFormat.sealedRecordVersion)
                    try txn.put(env.dbs.journal, StoreFormat.seqKey(seq), record, "mdb_put(journal seal)")
                    sealed += 1
                }
                keys.publish(pending)
                return (rows.count < Self.sealBatchRecords, sealed)
            }
            report.value!.journalRecords += n
            return done ? .done : .again
        }
        // Bodies.
        let bodyCursor = ResultBox<[UInt8]>()
        bodyCursor.value = []
        try await performSteps("seal.bodies") { env in
            let (done, n, orphans) = try env.write("seal.bodies") { txn -> (Bool, Int, Int) in
                var pending = KeyRing.Pending()
                var rows: [([UInt8], [UInt8])] = []
                try txn.withCursor(env.dbs.bodies) { c in
                    var e = bodyCursor.value!.isEmpty ? try c.get(MDB_FIRST) : try c.seek(bodyCursor.value!)
                    if let first = e, Array(first.key) == bodyCursor.value! { e = try c.get(MDB_NEXT) }
                    while let entry = e, rows.count < Self.sealBatchRecords {
                        rows.append((Array(entry.key), Array(entry.value)))
                        e = try c.get(MDB_NEXT)
                    }
                }
                let codec = EventCodec()
                var sealed = 0, orphans = 0
                for (key, raw) in rows {
                    bodyCursor.value = key
                    guard raw.first != StoreFormat.sealedBodyMarker, key.count == 16 else { continue }
                    let message = MessageID(UUID(uuid: (key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7], key[8],
                                                        key[9], key[10], key[11], key[12], key[13], key[14], key[15])))
                    guard let thread = threadOf(message) else {
                        try txn.delete(env.dbs.bodies, key, "mdb_del(bodies orphan)")
                        orphans += 1
                        continue
                    }
                    if let body = try? codec.decodeBody(raw) {
                        for a in body.attachments { if let sha = a.sha256 { try Self.putFileRef(txn, env, sha256: sha, thread: thread) } }
                    }
                    let k = try keys.sealingKey(.thread(thread), txn, env, &pending)
                    try txn.put(env.dbs.bodies, key, [StoreFormat.sealedBodyMarker] + (try KeyRing.seal(raw, with: k, aad: StoreFormat.bodyAAD(key))),
                                "mdb_put(bodies seal)")
                    sealed += 1
                }
                keys.publish(pending)
                return (rows.count < Self.sealBatchRecords, sealed, orphans)
            }
            report.value!.bodies += n
            report.value!.orphanBodiesDeleted += orphans
            return done ? .done : .again
        }
        // Audit rows.
        let auditCursor = ResultBox<UInt64>()
        auditCursor.value = 0
        try await performSteps("seal.audit") { env in
            let (done, n) = try env.write("seal.audit") { txn -> (Bool, Int) in
                var pending = KeyRing.Pending()
                var rows: [(UInt64, [UInt8])] = []
                try txn.withCursor(env.dbs.audit) { c in
                    var e = try c.seek(StoreFormat.seqKey(auditCursor.value! &+ 1))
                    while let entry = e, rows.count < Self.sealBatchRecords {
                        if let seq = StoreFormat.seq(fromKey: entry.key) { rows.append((seq, Array(entry.value))) }
                        e = try c.get(MDB_NEXT)
                    }
                }
                var sealed = 0
                for (seq, raw) in rows {
                    auditCursor.value = seq
                    guard raw.first != StoreFormat.sealedAuditMarker else { continue }
                    var entry = try Self.decodeAudit(raw, key: seq)
                    entry.scope = scope(of: entry)
                    let k = try keys.sealingKey(entry.dataScope, txn, env, &pending)
                    try txn.put(env.dbs.audit, StoreFormat.seqKey(seq), try Self.encodeAuditRow(entry, seq: seq, key: k), "mdb_put(audit seal)")
                    sealed += 1
                }
                keys.publish(pending)
                return (rows.count < Self.sealBatchRecords, sealed)
            }
            report.value!.auditRows += n
            return done ? .done : .again
        }
        try await perform("seal.mark") { env in
            try env.write("seal.mark") { txn in
                try txn.put(env.dbs.meta, Array(StoreFormat.metaSealedKey.utf8), Array("1".utf8), "mdb_put(meta sealed)")
            }
        }
        let r = report.value!
        logger.notice("records of an older store sealed in place", metadata: [
            "seal.journal_records": "\(r.journalRecords)", "seal.bodies": "\(r.bodies)", "seal.audit_rows": "\(r.auditRows)",
            "seal.orphan_bodies_deleted": "\(r.orphanBodiesDeleted)"])
        return r
    }

    /// Deletes every snapshot but the newest (after sealing an older store:
    /// the older ones hold records in the clear).
    public func dropOlderSnapshots() async throws {
        try await pruneSnapshots(keep: 1)
    }
}

/// Rewrites a closed store into a compacted copy and puts it in place of the
/// original, so LMDB's free pages (which may hold what was deleted or
/// rewritten: records from before encryption) are not carried over. The old
/// file is overwritten with zeros before it is deleted.
public enum StoreCompaction {
    public static func compact(storeDirectory dir: String, logger: Logger) throws {
        let fresh = dir + ".compact"
        let old = dir + ".before-compaction"
        try? FileManager.default.removeItem(atPath: fresh)
        do {
            let writer = try JournalWriter(directory: dir, options: JournalOptions(syncMode: .full, mapSize: 1 << 20), logger: logger)
            defer { writer.close() }
            try writer.exportCopy(to: fresh)
        }
        guard rename(dir, old) == 0 else { throw StoreError(.io, code: errno, operation: "rename", detail: dir) }
        guard rename(fresh, dir) == 0 else { throw StoreError(.io, code: errno, operation: "rename", detail: fresh) }
        DurableFile.syncDirectory((dir as NSString).deletingLastPathComponent)
        try removeShredded(old)
        logger.notice("store compacted", metadata: ["store.path": "\(dir)"])
    }

    /// Finishes a compaction a crash interrupted (called before a store is opened).
    public static func recover(storeDirectory dir: String) throws {
        let fresh = dir + ".compact"
        let old = dir + ".before-compaction"
        let fm = FileManager.default
        if !fm.fileExists(atPath: dir), fm.fileExists(atPath: fresh + "/data.mdb") {
            guard rename(fresh, dir) == 0 else { throw StoreError(.io, code: errno, operation: "rename", detail: fresh) }
        }
        if fm.fileExists(atPath: fresh) { try? fm.removeItem(atPath: fresh) }
        if fm.fileExists(atPath: old), fm.fileExists(atPath: dir + "/data.mdb") { try removeShredded(old) }
    }

    static func removeShredded(_ dir: String) throws {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            try DurableFile.shred(dir + "/" + name)
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}


/// See `JournalWriter.replayNeedsKeys(of:)`.
struct CrossThreadSeals {
    /// Scope bytes → the newest seq of a several-thread record sealed under its key.
    var seqs: [[UInt8]: UInt64] = [:]
    /// Journal records through this seq predate the process (0: none after the newest snapshot).
    var unknownThrough: UInt64
}
