import CLMDB
import Foundation
import Logging
import Synchronization

/// A pthread read/write lock. Every LMDB transaction (read or write) and
/// `mdb_env_copy2` holds it shared; growing the map and closing the
/// environment hold it exclusively. That is how we guarantee the
/// precondition of `mdb_env_set_mapsize` ("It may be called at later times
/// if no transactions are active in this process. Note that the library does
/// not check for this condition, the caller must ensure it explicitly.") and
/// of `mdb_env_close` ("All transactions, databases, and cursors must
/// already be closed before calling this function.").
final class ReadWriteGate: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        #if os(Linux)
        // glibc prefers readers by default; a steady stream of short readers
        // could then starve map growth (and with it the journal). No code
        // path takes the shared side recursively, so writer preference is safe.
        var attr = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attr)
        pthread_rwlockattr_setkind_np(&attr, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(lock, &attr)
        pthread_rwlockattr_destroy(&attr)
        #else
        pthread_rwlock_init(lock, nil)
        #endif
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func shared<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    func exclusive<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}

/// A borrowed LMDB transaction, valid only inside the closure it is passed to.
struct LMDBTxn {
    let raw: OpaquePointer

    /// Calls `body` with the value stored under `key` (nil if absent). The
    /// buffer is borrowed from the map: "Values returned from the database
    /// are valid only until a subsequent update operation, or the end of the
    /// transaction." Copy what you keep.
    func withValue<R>(_ dbi: MDB_dbi, _ key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        var data = MDB_val()
        let rc = key.withUnsafeBytes { kp -> Int32 in
            var k = MDB_val(mv_size: kp.count, mv_data: UnsafeMutableRawPointer(mutating: kp.baseAddress))
            return mdb_get(raw, dbi, &k, &data)
        }
        if rc == MDB_NOTFOUND { return try body(nil) }
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_get") }
        return try body(UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size))
    }

    /// The value under `key`, copied out of the map.
    func get(_ dbi: MDB_dbi, _ key: [UInt8]) throws -> [UInt8]? {
        try withValue(dbi, key) { $0.map { Array($0) } }
    }

    func put(_ dbi: MDB_dbi, _ key: [UInt8], _ value: [UInt8], flags: UInt32 = 0, _ operation: String) throws {
        let rc = key.withUnsafeBytes { kp in
            value.withUnsafeBytes { vp -> Int32 in
                var k = MDB_val(mv_size: kp.count, mv_data: UnsafeMutableRawPointer(mutating: kp.baseAddress))
                var v = MDB_val(mv_size: vp.count, mv_data: UnsafeMutableRawPointer(mutating: vp.baseAddress))
                return mdb_put(raw, dbi, &k, &v, flags)
            }
        }
        guard rc == 0 else { throw StoreError.lmdb(rc, operation) }
    }

    /// Deletes `key`; false if it was absent.
    @discardableResult
    func delete(_ dbi: MDB_dbi, _ key: [UInt8], _ operation: String) throws -> Bool {
        let rc = key.withUnsafeBytes { kp -> Int32 in
            var k = MDB_val(mv_size: kp.count, mv_data: UnsafeMutableRawPointer(mutating: kp.baseAddress))
            return mdb_del(raw, dbi, &k, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        guard rc == 0 else { throw StoreError.lmdb(rc, operation) }
        return true
    }

    func withCursor<R>(_ dbi: MDB_dbi, _ body: (LMDBCursor) throws -> R) throws -> R {
        var cursor: OpaquePointer?
        let rc = mdb_cursor_open(raw, dbi, &cursor)
        guard rc == 0, let cursor else { throw StoreError.lmdb(rc, "mdb_cursor_open") }
        defer { mdb_cursor_close(cursor) }
        return try body(LMDBCursor(raw: cursor))
    }
}

/// A borrowed cursor. Key/value buffers it returns are borrowed from the map
/// and valid only until the next cursor operation or the end of the transaction.
struct LMDBCursor {
    typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
    let raw: OpaquePointer

    func get(_ op: MDB_cursor_op) throws -> Entry? {
        var k = MDB_val(), v = MDB_val()
        let rc = mdb_cursor_get(raw, &k, &v, op)
        if rc == MDB_NOTFOUND { return nil }
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_cursor_get") }
        return (UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// Positions at the first key ≥ `key` (`MDB_SET_RANGE`).
    func seek(_ key: [UInt8]) throws -> Entry? {
        var v = MDB_val()
        var k = MDB_val()
        let rc = key.withUnsafeBytes { kp -> Int32 in
            k = MDB_val(mv_size: kp.count, mv_data: UnsafeMutableRawPointer(mutating: kp.baseAddress))
            // On success LMDB overwrites `k` with the key found in the map.
            return mdb_cursor_get(raw, &k, &v, MDB_SET_RANGE)
        }
        if rc == MDB_NOTFOUND { return nil }
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_cursor_get(SET_RANGE)") }
        return (UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    func deleteCurrent(_ operation: String) throws {
        let rc = mdb_cursor_del(raw, 0)
        guard rc == 0 else { throw StoreError.lmdb(rc, operation) }
    }
}

/// The one place that owns an `MDB_env`. Internal: `JournalWriter` is the
/// public face of the store.
///
/// Threading: read transactions may run on any thread (the environment is
/// opened with `MDB_NOTLS`, so a reader slot belongs to the transaction, not
/// the thread). Write transactions must only be run by `JournalWriter`'s
/// writer thread, which also performs map growth.
final class LMDBEnvironment: @unchecked Sendable {
    struct Databases {
        var journal: MDB_dbi = 0
        var bodies: MDB_dbi = 0
        var snapshots: MDB_dbi = 0
        var meta: MDB_dbi = 0
        var audit: MDB_dbi = 0
        /// Data keys wrapped under the KEK, scope → key id, attachment references (`KeyRing`).
        var keys: MDB_dbi = 0
        /// Provider message id → message, and message → thread (`MessageIndex.swift`).
        var providerIDs: MDB_dbi = 0
        var messageIndex: MDB_dbi = 0
        /// Message headers by thread and seq (`MessageHistory.swift`).
        var threadMessages: MDB_dbi = 0
    }

    let path: String
    let logger: Logger
    /// The map grows up to this (an operator may raise it while serving: `setMaxMapSize`).
    var maxMapSize: Int { maxMapSizeValue.load(ordering: .relaxed) }
    private let maxMapSizeValue: Atomic<Int>
    /// Set once in init. Read under `gate` (shared); cleared under `gate` (exclusive).
    private var handle: OpaquePointer?
    /// The exclusive lock on `commhub.lock` (see `StoreFiles.lockExclusively`), held until `close()`.
    private var lockFD: Int32 = -1
    private(set) var dbs = Databases()
    private let gate = ReadWriteGate()
    private let currentMapSize: Atomic<Int>
    private let growthCount = Atomic<Int>(0)

    var mapSize: Int { currentMapSize.load(ordering: .relaxed) }
    var mapGrowths: Int { growthCount.load(ordering: .relaxed) }

    static let pageSize: Int = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))

    static func roundToPage(_ n: Int) -> Int {
        let p = pageSize
        return (max(n, p) + p - 1) / p * p
    }

    init(path: String, mapSize: Int, maxMapSize: Int, maxReaders: UInt32, envFlags: UInt32, logger: Logger) throws {
        self.path = path
        self.logger = logger
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError(.io, operation: "createDirectory", detail: "\(path): \(error)")
        }
        // Message bodies and personal data live here: owner only, also for a
        // directory made by an older version with the umask's 0755/0644.
        try StoreFiles.restrictPermissions(path)
        let lock = try StoreFiles.lockExclusively(path)
        var locked = true
        defer { if locked { StoreFiles.unlock(lock) } }
        try StoreFiles.checkDataFile(path)
        var env: OpaquePointer?
        var rc = mdb_env_create(&env)
        guard rc == 0, let env else { throw StoreError.lmdb(rc, "mdb_env_create") }
        // "Close the environment even after a failed open": mdb_env_close
        // frees the handle whatever state mdb_env_open left it in.
        var opened = false
        defer { if !opened { mdb_env_close(env) } }

        let initial = Self.roundToPage(mapSize)
        rc = mdb_env_set_maxdbs(env, 16)
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_env_set_maxdbs") }
        rc = mdb_env_set_maxreaders(env, maxReaders)
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_env_set_maxreaders") }
        rc = mdb_env_set_mapsize(env, initial)
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_env_set_mapsize") }
        // MDB_NOTLS: "Tie reader locktable slots to MDB_txn objects instead of
        // to threads ... A read-only transaction may span threads if the user
        // synchronizes its use. Applications that multiplex many user threads
        // over individual OS threads need this option. Such an application
        // must also serialize the write transactions in an OS thread, since
        // LMDB's write locking is unaware of the user threads."
        rc = mdb_env_open(env, path, UInt32(MDB_NOTLS) | envFlags, 0o600)
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_env_open", detail: path) }

        // Stale reader slots of crashed processes pin old pages and make the
        // file grow; clear them once at start.
        var dead: Int32 = 0
        rc = mdb_reader_check(env, &dead)
        if rc != 0 { throw StoreError.lmdb(rc, "mdb_reader_check") }
        if dead > 0 { logger.warning("cleared stale LMDB reader slots", metadata: ["count": "\(dead)", "path": "\(path)"]) }

        // "Any attempt to set a size smaller than the space already consumed
        // by the environment will be silently changed to the current size of
        // the used space." Read back what LMDB actually uses.
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        let effective = info.me_mapsize
        currentMapSize = Atomic(effective)
        self.maxMapSizeValue = Atomic(max(Self.roundToPage(maxMapSize), effective))

        // Open the named databases once, in one write transaction; the handles
        // stay valid for the life of the environment ("The database handle
        // will be private to the current transaction until the transaction is
        // successfully committed"), and we never mdb_dbi_close them.
        var txn: OpaquePointer?
        rc = mdb_txn_begin(env, nil, 0, &txn)
        guard rc == 0, let txn else { throw StoreError.lmdb(rc, "mdb_txn_begin(open)") }
        var d = Databases()
        for (name, slot) in [("journal", \Databases.journal), ("bodies", \.bodies), ("snapshots", \.snapshots), ("meta", \.meta),
                                ("audit", \.audit), ("keys", \.keys),
                                ("provider_ids", \.providerIDs), ("message_index", \.messageIndex),
                                ("thread_messages", \.threadMessages)] {
            var dbi: MDB_dbi = 0
            rc = mdb_dbi_open(txn, name, UInt32(MDB_CREATE), &dbi)
            guard rc == 0 else {
                mdb_txn_abort(txn)
                throw StoreError.lmdb(rc, "mdb_dbi_open(\(name))")
            }
            d[keyPath: slot] = dbi
        }
        do {
            let t = LMDBTxn(raw: txn)
            let key = Array(StoreFormat.metaFormatVersionKey.utf8)
            if let raw = try t.get(d.meta, key) {
                let v = Int(String(decoding: raw, as: UTF8.self)) ?? Int.max
                guard v <= StoreFormat.storeVersion else {
                    throw StoreError(.unsupportedFormat, operation: "open",
                                     detail: "store format \(v) is newer than supported \(StoreFormat.storeVersion)")
                }
            } else {
                try t.put(d.meta, key, Array(String(StoreFormat.storeVersion).utf8), "mdb_put(meta formatVersion)")
            }
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        // "The transaction handle is freed" by mdb_txn_commit whether or not it succeeds.
        rc = mdb_txn_commit(txn)
        guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_txn_commit(open)") }
        dbs = d
        handle = env
        lockFD = lock
        opened = true
        locked = false
    }

    deinit { close() }

    /// Runs a read-only transaction. Keep it short: a long reader pins old
    /// pages and the file grows. Copy values out before returning.
    func read<R>(_ body: (LMDBTxn) throws -> R) throws -> R {
        try gate.shared {
            guard let env = handle else { throw StoreError(.closed, operation: "read") }
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
            guard rc == 0, let txn else { throw StoreError.lmdb(rc, "mdb_txn_begin(read)") }
            // A read-only transaction is ended with abort; nothing to commit.
            defer { mdb_txn_abort(txn) }
            return try body(LMDBTxn(raw: txn))
        }
    }

    /// Runs a write transaction: commit when `body` returns, abort when it
    /// throws. On `MDB_MAP_FULL` (from a put or from the commit) the
    /// transaction is dead ("the database is full, see mdb_env_set_mapsize"):
    /// it is aborted, the map grows (doubling, up to `maxMapSize`) with no
    /// transaction open, and the WHOLE body runs again; `body` must therefore
    /// be repeatable. At the maximum, `.mapFull` is thrown and nothing was
    /// written. Only the writer thread may call this.
    func write<R>(_ operation: String, _ body: (LMDBTxn) throws -> R) throws -> R {
        while true {
            do {
                return try gate.shared { () throws -> R in
                    guard let env = handle else { throw StoreError(.closed, operation: operation) }
                    var txn: OpaquePointer?
                    var rc = mdb_txn_begin(env, nil, 0, &txn)
                    guard rc == 0, let txn else { throw StoreError.lmdb(rc, "mdb_txn_begin(\(operation))") }
                    let result: R
                    do {
                        result = try body(LMDBTxn(raw: txn))
                    } catch {
                        mdb_txn_abort(txn)
                        throw error
                    }
                    // mdb_txn_commit: "The transaction handle is freed. It and its
                    // cursors must not be used again after this call" — so no abort
                    // after a failed commit.
                    rc = mdb_txn_commit(txn)
                    guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_txn_commit(\(operation))") }
                    return result
                }
            } catch let error as StoreError where error.kind == .mapFull {
                try grow(after: error, operation: operation)
            }
        }
    }

    /// Raises (or lowers, never below the current map) the largest size the map may grow to.
    func setMaxMapSize(_ bytes: Int) {
        maxMapSizeValue.store(max(Self.roundToPage(bytes), mapSize), ordering: .relaxed)
    }

    /// Doubles the map size (at most `maxMapSize`), or throws `.mapFull`.
    private func grow(after error: StoreError, operation: String) throws {
        let current = mapSize
        guard current < maxMapSize else {
            logger.error("LMDB map full at its maximum size", metadata: [
                "operation": "\(operation)", "mapSize": "\(current)", "maxMapSize": "\(maxMapSize)"])
            throw StoreError(.mapFull, code: error.code, operation: operation,
                             detail: "map is at its maximum size of \(maxMapSize) bytes; nothing was written")
        }
        let target = min(maxMapSize, Self.roundToPage(current.multipliedReportingOverflow(by: 2).overflow ? maxMapSize : current * 2))
        try gate.exclusive {
            guard let env = handle else { throw StoreError(.closed, operation: operation) }
            // No transaction of this process is open here: we hold the gate exclusively.
            let rc = mdb_env_set_mapsize(env, target)
            guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_env_set_mapsize") }
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            currentMapSize.store(info.me_mapsize, ordering: .relaxed)
        }
        growthCount.add(1, ordering: .relaxed)
        logger.notice("grew LMDB map", metadata: ["from": "\(current)", "to": "\(mapSize)", "operation": "\(operation)"])
    }

    /// A consistent copy of the environment into `directory` (created if
    /// missing; must not already hold a database) while others keep reading
    /// and writing. `MDB_CP_COMPACT`: "Perform compaction while copying: omit
    /// free pages and sequentially renumber all pages in output. This option
    /// consumes more CPU and runs more slowly than the default." The copy runs
    /// in its own read transaction, so it sees one committed state.
    func copy(to directory: String, compact: Bool) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.io, operation: "exportCopy", detail: "\(directory): \(error)")
        }
        if FileManager.default.fileExists(atPath: directory + "/data.mdb") {
            throw StoreError(.invalidArgument, operation: "exportCopy", detail: "\(directory) already holds data.mdb")
        }
        try gate.shared {
            guard let env = handle else { throw StoreError(.closed, operation: "exportCopy") }
            let rc = mdb_env_copy2(env, directory, compact ? UInt32(MDB_CP_COMPACT) : 0)
            guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_env_copy2", detail: directory) }
        }
    }

    /// Flushes buffers to disk (meaningful with `noSync`/`noMetaSync`).
    func sync(force: Bool) throws {
        try gate.shared {
            guard let env = handle else { throw StoreError(.closed, operation: "mdb_env_sync") }
            let rc = mdb_env_sync(env, force ? 1 : 0)
            guard rc == 0 else { throw StoreError.lmdb(rc, "mdb_env_sync") }
        }
    }

    var isClosed: Bool { gate.shared { handle == nil } }

    /// Closes the environment; idempotent. Waits for running transactions.
    func close() {
        gate.exclusive {
            guard let env = handle else { return }
            handle = nil
            mdb_env_close(env)
            StoreFiles.unlock(lockFD)
            lockFD = -1
        }
    }
}
