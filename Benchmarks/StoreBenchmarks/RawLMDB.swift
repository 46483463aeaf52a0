import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The physical ceiling: liblmdb called directly (through dlopen, so no
/// second module map for <lmdb.h> clashes with the store's CLMDB), putting
/// pre-encoded records of the same size as the journal's with big-endian
/// sequence keys and MDB_APPEND, one transaction per batch. No encoding, no
/// checksums, no threads: what LMDB alone can do on this disk.
final class RawLMDB: @unchecked Sendable {
    private typealias EnvCreate = @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private typealias EnvSetMapSize = @convention(c) (OpaquePointer?, Int) -> Int32
    private typealias EnvOpen = @convention(c) (OpaquePointer?, UnsafePointer<CChar>, UInt32, UInt32) -> Int32
    private typealias EnvClose = @convention(c) (OpaquePointer?) -> Void
    private typealias TxnBegin = @convention(c) (OpaquePointer?, OpaquePointer?, UInt32, UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private typealias TxnCommit = @convention(c) (OpaquePointer?) -> Int32
    private typealias DbiOpen = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UInt32, UnsafeMutablePointer<UInt32>) -> Int32
    private typealias Put = @convention(c) (OpaquePointer?, UInt32, UnsafeMutableRawPointer, UnsafeMutableRawPointer, UInt32) -> Int32

    /// MDB_val: { size_t mv_size; void *mv_data; }
    struct Val {
        var size: Int
        var data: UnsafeMutableRawPointer?
    }

    static let noSync: UInt32 = 0x10000     // MDB_NOSYNC
    static let noTLS: UInt32 = 0x200000     // MDB_NOTLS
    static let append: UInt32 = 0x20000     // MDB_APPEND

    private let txnBegin: TxnBegin
    private let txnCommit: TxnCommit
    private let put: Put
    private let envClose: EnvClose
    private var env: OpaquePointer?
    private var dbi: UInt32 = 0
    private var nextKey: UInt64 = 1
    let directory: String

    init(directory: String, sync: Bool) {
        guard let lib = dlopen("liblmdb.so.0", RTLD_NOW) ?? dlopen("liblmdb.so", RTLD_NOW) else {
            fatalError("liblmdb not found: \(String(cString: dlerror()))")
        }
        func sym<T>(_ name: String, _: T.Type) -> T {
            guard let p = dlsym(lib, name) else { fatalError("no \(name) in liblmdb") }
            return unsafeBitCast(p, to: T.self)
        }
        txnBegin = sym("mdb_txn_begin", TxnBegin.self)
        txnCommit = sym("mdb_txn_commit", TxnCommit.self)
        put = sym("mdb_put", Put.self)
        envClose = sym("mdb_env_close", EnvClose.self)
        self.directory = directory
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        check(sym("mdb_env_create", EnvCreate.self)(&env), "mdb_env_create")
        check(sym("mdb_env_set_mapsize", EnvSetMapSize.self)(env, 64 << 30), "mdb_env_set_mapsize")
        check(sym("mdb_env_open", EnvOpen.self)(env, directory, Self.noTLS | (sync ? 0 : Self.noSync), 0o600), "mdb_env_open")
        var txn: OpaquePointer?
        check(txnBegin(env, nil, 0, &txn), "mdb_txn_begin")
        check(sym("mdb_dbi_open", DbiOpen.self)(txn, nil, 0, &dbi), "mdb_dbi_open")
        check(txnCommit(txn), "mdb_txn_commit")
    }

    private func check(_ rc: Int32, _ what: String) {
        precondition(rc == 0, "\(what) failed with LMDB code \(rc)")
    }

    /// Puts `count` copies of `record` under the next keys in one transaction and commits.
    func putBatch(_ record: [UInt8], count: Int) {
        var txn: OpaquePointer?
        check(txnBegin(env, nil, 0, &txn), "mdb_txn_begin")
        var bytes = record
        bytes.withUnsafeMutableBytes { value in
            for _ in 0..<count {
                var key = nextKey.bigEndian
                nextKey += 1
                withUnsafeMutableBytes(of: &key) { k in
                    var kv = Val(size: 8, data: k.baseAddress)
                    var vv = Val(size: value.count, data: value.baseAddress)
                    withUnsafeMutableBytes(of: &kv) { kp in
                        withUnsafeMutableBytes(of: &vv) { vp in
                            check(put(txn, dbi, kp.baseAddress!, vp.baseAddress!, Self.append), "mdb_put")
                        }
                    }
                }
            }
        }
        check(txnCommit(txn), "mdb_txn_commit")
    }

    func close() {
        envClose(env)
        env = nil
        try? FileManager.default.removeItem(atPath: directory)
    }
}
