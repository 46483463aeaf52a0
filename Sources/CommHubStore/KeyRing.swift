import CLMDB
import CommHubDomain
import Crypto
import Foundation
import Synchronization

/// A data key: the AES-256 key that seals the records of one scope, and its id.
public struct DataKey: Sendable {
    public let id: UInt64
    public let key: SymmetricKey
}

/// The data keys of a store and the key-encryption key (KEK) that wraps them.
///
/// - Data keys live in the `keys` table: `k` + id (u64 BE) → the key wrapped
///   under a KEK with AES-GCM (`[KEK generation u32 LE][nonce 12][ciphertext
///   32][tag 16]`, authenticated data `dk` + id); `s` + scope bytes → the
///   scope's current key id. A scope's key is created in the same
///   transaction as the first record sealed under it. Records carry the key
///   id, never the scope.
/// - The KEK lives in `kek-<generation>.key` beside the LMDB files, wrapped
///   under the master key (`MasterKeys`).
/// - Destroying keys deletes their rows, then rolls the KEK: a new
///   generation, every remaining row rewrapped in bounded transactions, then
///   the old KEK file overwritten and deleted. Wrapped bytes of destroyed keys
///   that LMDB keeps in its free pages are then useless: the KEK that could
///   open them is gone. A roll cut short by a crash resumes at the next open.
/// - Unwrapped keys are cached, at most `maxCachedKeys` of them (and as many
///   scope → id entries), so memory stays bounded with a million threads.
final class KeyRing: Sendable {
    /// Unwrapped data keys kept in memory, at most.
    static let maxCachedKeys = 65_536
    /// Key rows rewrapped per transaction during a KEK roll.
    static let rewrapBatchRows = 4_096

    static let keyRowPrefix: UInt8 = 0x6B     // "k"
    static let scopeRowPrefix: UInt8 = 0x73   // "s"
    static let fileRefPrefix: UInt8 = 0x72    // "r"
    static let metaNextIDKey = Array("keys/nextID".utf8)
    static let kekFilePrefix = "kek-"
    static let kekFileSuffix = ".key"
    static let kekMagic: [UInt8] = Array("CHK1".utf8)

    let directory: String
    private let masters: Mutex<MasterKeys>
    /// KEK generations that are loaded; the highest wraps new keys.
    private let keks: Mutex<[UInt32: SymmetricKey]>
    private let cache: Mutex<CacheState>

    struct CacheState {
        var keys = BoundedCache<UInt64, SymmetricKey>(capacity: KeyRing.maxCachedKeys)
        var scopes = BoundedCache<[UInt8], UInt64>(capacity: KeyRing.maxCachedKeys)
        /// Bumped by every destruction: a key read from LMDB before it is
        /// cached only if no destruction happened meanwhile.
        var epoch: UInt64 = 0
    }

    /// Keys created inside one journal transaction, published once it committed.
    /// Also the transaction's memo of every key it used (`used`): an event
    /// and its body, history row and audit row take the same key, and a
    /// batch holds many events of one thread; the ring's cache takes a lock
    /// and hashes the scope's bytes each time.
    struct Pending {
        var created: [(scope: [UInt8], key: DataKey)] = []
        var used: [[UInt8]: DataKey] = [:]
        func find(_ scope: [UInt8]) -> DataKey? { used[scope] }
    }

    init(directory: String, masters: MasterKeys) throws {
        self.directory = directory
        self.masters = Mutex(masters)
        self.cache = Mutex(CacheState())
        var loaded: [UInt32: SymmetricKey] = [:]
        for (gen, path) in try Self.kekFiles(directory) {
            loaded[gen] = try Self.readKEK(path, generation: gen, masters: masters)
        }
        keks = Mutex(loaded)
    }

    // MARK: KEK files

    static func kekPath(_ directory: String, _ gen: UInt32) -> String {
        let digits = String(gen)
        return directory + "/" + kekFilePrefix + String(repeating: "0", count: max(0, 10 - digits.count)) + digits + kekFileSuffix
    }

    static func kekFiles(_ directory: String) throws -> [(UInt32, String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (UInt32, String)? in
            guard name.hasPrefix(kekFilePrefix), name.hasSuffix(kekFileSuffix),
                  let gen = UInt32(name.dropFirst(kekFilePrefix.count).dropLast(kekFileSuffix.count)) else { return nil }
            return (gen, directory + "/" + name)
        }.sorted { $0.0 < $1.0 }
    }

    static func kekAAD(_ gen: UInt32) -> [UInt8] { Array("commhub.kek".utf8) + withUnsafeBytes(of: gen.littleEndian) { Array($0) } }

    static func readKEK(_ path: String, generation gen: UInt32, masters: MasterKeys) throws -> SymmetricKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError(.io, operation: "kek", detail: "cannot read \(path)")
        }
        let bytes = Array(data)
        guard bytes.count == 4 + 4 + 12 + 32 + 16, Array(bytes[0..<4]) == kekMagic,
              UInt32(littleEndian: bytes[4..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }) == gen else {
            throw StoreError(.corrupted, operation: "kek", detail: "\(path) is not a key-encryption key file")
        }
        for master in masters.all {
            if let box = try? AES.GCM.SealedBox(combined: bytes[8...]),
               let plain = try? AES.GCM.open(box, using: master, authenticating: kekAAD(gen)) {
                return SymmetricKey(data: plain)
            }
        }
        throw StoreError(.invalidState, operation: "kek", detail: "\(path) does not open with the master key "
            + "(\(masters.source == .environment ? MasterKeys.environmentVariable : "master.key")): it was wrapped under another one. "
            + "After a key rotation with the key in the environment, set \(MasterKeys.environmentVariable) to the new key.")
    }

    /// Writes KEK generation `gen` wrapped under the newest master key.
    static func writeKEK(_ kek: SymmetricKey, generation gen: UInt32, directory: String, master: SymmetricKey) throws {
        let box = try AES.GCM.seal(kek.withUnsafeBytes { Array($0) }, using: master, authenticating: kekAAD(gen))
        var bytes = kekMagic
        withUnsafeBytes(of: gen.littleEndian) { bytes.append(contentsOf: $0) }
        bytes += Array(box.combined!)
        try DurableFile.write(bytes, to: kekPath(directory, gen), replacing: true)
    }

    /// The generation new keys are wrapped with (creating generation 1 for a new store).
    func newestKEK() throws -> (UInt32, SymmetricKey) {
        try keks.withLock { k in
            if let gen = k.keys.max() { return (gen, k[gen]!) }
            let kek = SymmetricKey(size: .bits256)
            try Self.writeKEK(kek, generation: 1, directory: directory, master: masters.withLock { $0.newest })
            k[1] = kek
            return (1, kek)
        }
    }

    var kekGenerations: [UInt32] { keks.withLock { $0.keys.sorted() } }
    var masterKeys: MasterKeys { masters.withLock { $0 } }

    /// Whether a KEK roll was cut short (more than one generation on disk).
    var rollPending: Bool { keks.withLock { $0.count > 1 } }

    // MARK: Rows

    static func keyRowKey(_ id: UInt64) -> [UInt8] { [keyRowPrefix] + withUnsafeBytes(of: id.bigEndian) { Array($0) } }
    static func scopeRowKey(_ scope: [UInt8]) -> [UInt8] { [scopeRowPrefix] + scope }
    static func dataKeyAAD(_ id: UInt64) -> [UInt8] { Array("dk".utf8) + withUnsafeBytes(of: id.bigEndian) { Array($0) } }

    func cacheCount() -> Int { cache.withLock { $0.keys.count } }

    static func hexBytes(_ hex: String) -> [UInt8]? {
        let u = Array(hex.utf8)
        guard u.count == 64 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(32)
        func nib(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            default: nil
            }
        }
        var i = 0
        while i < 64 {
            guard let hi = nib(u[i]), let lo = nib(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    func wrap(_ key: SymmetricKey, id: UInt64) throws -> [UInt8] {
        let (gen, kek) = try newestKEK()
        return try Self.wrap(key, id: id, gen: gen, kek: kek)
    }

    static func wrap(_ key: SymmetricKey, id: UInt64, gen: UInt32, kek: SymmetricKey) throws -> [UInt8] {
        let box = try AES.GCM.seal(key.withUnsafeBytes { Array($0) }, using: kek, authenticating: dataKeyAAD(id))
        var row = withUnsafeBytes(of: gen.littleEndian) { Array($0) }
        row += Array(box.combined!)
        return row
    }

    static func rowGeneration(_ row: UnsafeRawBufferPointer) -> UInt32? {
        guard row.count == 4 + 12 + 32 + 16 else { return nil }
        return UInt32(littleEndian: row.loadUnaligned(as: UInt32.self))
    }

    func unwrap(_ row: some Collection<UInt8>, id: UInt64) throws -> SymmetricKey {
        let bytes = Array(row)
        guard bytes.count == 4 + 12 + 32 + 16 else {
            throw StoreError(.corrupted, operation: "keys", detail: "key \(id): row of \(bytes.count) bytes")
        }
        let gen = UInt32(littleEndian: bytes[0..<4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        guard let kek = keks.withLock({ $0[gen] }) else {
            throw StoreError(.invalidState, operation: "keys", detail: "key \(id) is wrapped under KEK generation \(gen), whose file is missing")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: bytes[4...])
            return SymmetricKey(data: try AES.GCM.open(box, using: kek, authenticating: Self.dataKeyAAD(id)))
        } catch {
            throw StoreError(.corrupted, operation: "keys", detail: "key \(id) does not unwrap under KEK generation \(gen)")
        }
    }

    // MARK: Keys for sealing (writer thread, inside a write transaction)

    /// The key records of `scope` are sealed with now: the scope's key, or a
    /// new one written in `txn` (published to the cache by `publish` once
    /// the transaction committed).
    func sealingKey(_ scope: DataScope, _ txn: LMDBTxn, _ env: LMDBEnvironment, _ pending: inout Pending) throws -> DataKey {
        try sealingKey(bytes: scope.bytes, txn, env, &pending)
    }

    /// `sealingKey` for a scope whose bytes the caller already made (the
    /// journal commit checks them against the scopes being erased first).
    func sealingKey(bytes s: [UInt8], _ txn: LMDBTxn, _ env: LMDBEnvironment, _ pending: inout Pending) throws -> DataKey {
        if let k = pending.find(s) { return k }
        if let hit = cache.withLock({ c -> DataKey? in
            guard let id = c.scopes.get(s), let key = c.keys.get(id) else { return nil }
            return DataKey(id: id, key: key)
        }) {
            pending.used[s] = hit
            return hit
        }
        if let raw = try txn.get(env.dbs.keys, Self.scopeRowKey(s)), raw.count == 8 {
            let id = UInt64(bigEndian: raw.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            if let row = try txn.get(env.dbs.keys, Self.keyRowKey(id)) {
                let key = try unwrap(row, id: id)
                cache.withLock { c in
                    c.keys.put(id, key)
                    c.scopes.put(s, id)
                }
                pending.used[s] = DataKey(id: id, key: key)
                return DataKey(id: id, key: key)
            }
        }
        let key = DataKey(id: try Self.takeNextID(txn, env), key: SymmetricKey(size: .bits256))
        try txn.put(env.dbs.keys, Self.keyRowKey(key.id), try wrap(key.key, id: key.id), "mdb_put(keys)")
        try txn.put(env.dbs.keys, Self.scopeRowKey(s), withUnsafeBytes(of: key.id.bigEndian) { Array($0) }, "mdb_put(keys scope)")
        pending.created.append((s, key))
        pending.used[s] = key
        return key
    }

    /// Stores an existing key (an attachment's upload key) as `scope`'s key,
    /// unless the scope has one: then that one's id and `false`.
    func adopt(_ key: SymmetricKey, for scope: DataScope, _ txn: LMDBTxn, _ env: LMDBEnvironment) throws -> (DataKey, Bool) {
        let s = scope.bytes
        if let raw = try txn.get(env.dbs.keys, Self.scopeRowKey(s)), raw.count == 8 {
            let id = UInt64(bigEndian: raw.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            if let row = try txn.get(env.dbs.keys, Self.keyRowKey(id)) { return (DataKey(id: id, key: try unwrap(row, id: id)), false) }
        }
        let k = DataKey(id: try Self.takeNextID(txn, env), key: key)
        try txn.put(env.dbs.keys, Self.keyRowKey(k.id), try wrap(k.key, id: k.id), "mdb_put(keys)")
        try txn.put(env.dbs.keys, Self.scopeRowKey(s), withUnsafeBytes(of: k.id.bigEndian) { Array($0) }, "mdb_put(keys scope)")
        return (k, true)
    }

    static func takeNextID(_ txn: LMDBTxn, _ env: LMDBEnvironment) throws -> UInt64 {
        let current = try txn.get(env.dbs.meta, metaNextIDKey).flatMap { UInt64(String(decoding: $0, as: UTF8.self)) } ?? 1
        try txn.put(env.dbs.meta, metaNextIDKey, Array(String(current + 1).utf8), "mdb_put(meta keys/nextID)")
        return current
    }

    /// After the transaction that created `pending`'s keys committed.
    func publish(_ pending: Pending) {
        guard !pending.created.isEmpty else { return }
        cache.withLock { c in
            for (s, k) in pending.created {
                c.keys.put(k.id, k.key)
                c.scopes.put(s, k.id)
            }
        }
    }

    // MARK: Keys for opening (any thread)

    /// The key with this id, nil when it was destroyed (its records are erased).
    func openingKey(_ id: UInt64, _ env: LMDBEnvironment) throws -> SymmetricKey? {
        let (hit, epoch) = cache.withLock { c in (c.keys.get(id), c.epoch) }
        if let hit { return hit }
        guard let row = try env.read({ txn in try txn.get(env.dbs.keys, Self.keyRowKey(id)) }) else { return nil }
        let key = try unwrap(row, id: id)
        cache.withLock { c in if c.epoch == epoch { c.keys.put(id, key) } }
        return key
    }

    /// The current key of `scope` if it has one (no creation).
    func existingKey(_ scope: DataScope, _ env: LMDBEnvironment) throws -> DataKey? {
        let s = scope.bytes
        let (cachedID, epoch) = cache.withLock { c in (c.scopes.get(s), c.epoch) }
        if let id = cachedID, let key = try openingKey(id, env) { return DataKey(id: id, key: key) }
        guard let raw = try env.read({ txn in try txn.get(env.dbs.keys, Self.scopeRowKey(s)) }), raw.count == 8 else { return nil }
        let id = UInt64(bigEndian: raw.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        guard let key = try openingKey(id, env) else { return nil }
        cache.withLock { c in if c.epoch == epoch { c.scopes.put(s, id) } }
        return DataKey(id: id, key: key)
    }

    // MARK: Destruction and the KEK roll (writer thread)

    /// Deletes the keys of `scopes` (rows and cache) in `txn`; returns the ids destroyed.
    func destroy(_ scopes: [DataScope], _ txn: LMDBTxn, _ env: LMDBEnvironment) throws -> [UInt64] {
        var ids: [UInt64] = []
        for scope in scopes {
            let s = scope.bytes
            guard let raw = try txn.get(env.dbs.keys, Self.scopeRowKey(s)), raw.count == 8 else { continue }
            let id = UInt64(bigEndian: raw.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            try txn.delete(env.dbs.keys, Self.scopeRowKey(s), "mdb_del(keys scope)")
            try txn.delete(env.dbs.keys, Self.keyRowKey(id), "mdb_del(keys)")
            ids.append(id)
        }
        return ids
    }

    /// Forgets destroyed keys (after the transaction that deleted them committed).
    func forget(_ ids: [UInt64], scopes: [DataScope]) {
        cache.withLock { c in
            c.epoch &+= 1
            for id in ids { c.keys.remove(id) }
            for s in scopes { c.scopes.remove(s.bytes) }
        }
    }

    /// Starts a KEK roll: a new generation, wrapped under the newest master
    /// key, written before any row uses it. Returns the new generation.
    func beginRoll() throws -> UInt32 {
        let master = masters.withLock { $0.newest }
        return try keks.withLock { k in
            let gen = (k.keys.max() ?? 0) + 1
            let kek = SymmetricKey(size: .bits256)
            try Self.writeKEK(kek, generation: gen, directory: directory, master: master)
            k[gen] = kek
            return gen
        }
    }

    /// Rewraps up to `rewrapBatchRows` rows older than the newest generation,
    /// in one transaction. `.done` when none is left.
    func rewrapStep(_ env: LMDBEnvironment) throws -> JournalWriter.Job.Progress {
        let (gen, kek) = try newestKEK()
        let n = try env.write("keys.rewrap") { txn -> Int in
            var changes: [([UInt8], [UInt8])] = []
            try txn.withCursor(env.dbs.keys) { c in
                var e = try c.seek([Self.keyRowPrefix])
                while let entry = e, changes.count < Self.rewrapBatchRows, entry.key.first == Self.keyRowPrefix, entry.key.count == 9 {
                    if let g = Self.rowGeneration(entry.value), g != gen {
                        let id = UInt64(bigEndian: UnsafeRawBufferPointer(rebasing: entry.key[1...]).loadUnaligned(as: UInt64.self))
                        let key = try unwrap(Array(entry.value), id: id)
                        changes.append((Array(entry.key), try Self.wrap(key, id: id, gen: gen, kek: kek)))
                    }
                    e = try c.get(MDB_NEXT)
                }
            }
            for (k, v) in changes { try txn.put(env.dbs.keys, k, v, "mdb_put(keys rewrap)") }
            return changes.count
        }
        return n < Self.rewrapBatchRows ? .done : .again
    }

    /// Ends a roll: every row is under the newest generation; older KEK files are shredded.
    func finishRoll() throws {
        let newest = keks.withLock { $0.keys.max() }
        guard let newest else { return }
        for (gen, path) in try Self.kekFiles(directory) where gen < newest {
            try DurableFile.shred(path)
        }
        keks.withLock { k in k = k.filter { $0.key >= newest } }
    }

    /// A rotation finished: `next` became the current master key.
    func promoteNextMaster() {
        masters.withLock { m in
            if let next = m.next {
                m.current = next
                m.next = nil
                m.nextPath = nil
            }
        }
    }

    func setNextMaster(_ key: SymmetricKey, path: String) {
        masters.withLock { m in
            m.next = key
            m.nextPath = path
        }
    }

    // MARK: Sealing

    /// `[key id u64 LE][nonce 12][ciphertext][tag 16]`
    static let envelopeOverhead = 8 + 12 + 16

    /// The nonce for the next seal (see `NonceSequence`).
    static func nextNonce() throws -> AES.GCM.Nonce {
        let (field, counter) = nonces.withLock { $0.next() }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 12) { buffer in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.storeBytes(of: field.bigEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: counter.bigEndian, toByteOffset: 4, as: UInt64.self)
            return try AES.GCM.Nonce(data: UnsafeRawBufferPointer(raw))
        }
    }

    /// Every seal of the process draws from this one sequence.
    static let nonces = Mutex(NonceSequence())

    static func seal(_ plain: some DataProtocol, with key: DataKey, aad: [UInt8]) throws -> [UInt8] {
        let box = try AES.GCM.seal(plain, using: key.key, nonce: try nextNonce(), authenticating: aad)
        var out = [UInt8]()
        out.reserveCapacity(envelopeOverhead + plain.count)
        withUnsafeBytes(of: key.id.littleEndian) { out.append(contentsOf: $0) }
        box.nonce.withUnsafeBytes { out.append(contentsOf: $0) }
        out.append(contentsOf: box.ciphertext)
        out.append(contentsOf: box.tag)
        return out
    }

    static func keyID(ofEnvelope e: some Collection<UInt8>) -> UInt64? {
        guard e.count >= envelopeOverhead else { return nil }
        var id: UInt64 = 0
        for (i, b) in e.prefix(8).enumerated() { id |= UInt64(b) << (8 * i) }
        return id
    }

    static func open(_ envelope: [UInt8], with key: SymmetricKey, aad: [UInt8]) throws -> [UInt8] {
        guard envelope.count >= envelopeOverhead else { throw StoreError(.corrupted, operation: "open", detail: "sealed record too short") }
        let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: envelope[8..<20]),
                                        ciphertext: envelope[20..<(envelope.count - 16)],
                                        tag: envelope[(envelope.count - 16)...])
        return Array(try AES.GCM.open(box, using: key, authenticating: aad))
    }
}

/// AES-GCM nonces. What GCM needs is a nonce never used twice under one
/// key (a repeat gives away the XOR of two plaintexts and the key's
/// authentication subkey); NIST SP 800-38D §8.2.1 builds them
/// deterministically: a fixed field and an invocation counter. Here the
/// last 8 bytes are a counter that starts at a random value and never
/// repeats within a process (2^64 seals), and the first 4 bytes are drawn
/// from the kernel at start and again every `refreshEvery` seals. Two
/// processes sealing under one key (the next start, a standby) collide only
/// if both their 32-bit fields and their counter windows meet. It replaced a
/// kernel draw of 96 random bits per seal: Swift's generator on Linux is a
/// `getrandom` system call, three per journaled message (5.5% of the whole
/// ingest's CPU, a sixth of the journal writer's, in a `perf` profile).
/// The one weakness of a counter, a running process copied whole (a cloned
/// VM), repeats at most `refreshEvery` nonces before the fields part.
struct NonceSequence {
    static let refreshEvery: UInt64 = 4_096
    private var field: UInt32
    private var counter: UInt64
    private var sinceRefresh: UInt64 = 0

    init() {
        var g = SystemRandomNumberGenerator()
        field = g.next()
        counter = g.next()
    }

    /// The next nonce's field and counter.
    mutating func next() -> (field: UInt32, counter: UInt64) {
        if sinceRefresh == Self.refreshEvery {
            var g = SystemRandomNumberGenerator()
            field = g.next()
            sinceRefresh = 0
        }
        sinceRefresh += 1
        counter &+= 1
        return (field, counter)
    }
}

/// A cache of at most `capacity` entries that keeps the recently used ones:
/// two generations; a hit in the older one moves the entry to the newer, and
/// when the newer is full the older is dropped. Every operation is O(1).
struct BoundedCache<Key: Hashable, Value> {
    let capacity: Int
    private var young: [Key: Value] = [:]
    private var old: [Key: Value] = [:]

    init(capacity: Int) { self.capacity = max(2, capacity) }

    var count: Int { young.count + old.count }

    mutating func get(_ k: Key) -> Value? {
        if let v = young[k] { return v }
        guard let v = old.removeValue(forKey: k) else { return nil }
        put(k, v)
        return v
    }

    mutating func put(_ k: Key, _ v: Value) {
        if young[k] == nil, young.count >= capacity / 2 {
            old = young
            young = [:]
            young.reserveCapacity(capacity / 2)
        }
        young[k] = v
        old[k] = nil
    }

    mutating func remove(_ k: Key) {
        young[k] = nil
        old[k] = nil
    }
}
