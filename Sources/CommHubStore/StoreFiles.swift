import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files of a store directory, before and beside LMDB: who may open it
/// (one process at a time), who may read it (the owner only), and whether
/// `data.mdb` is whole before LMDB maps it.
enum StoreFiles {
    static let lockFileName = "commhub.lock"
    static let dataFileName = "data.mdb"

    /// Owner-only permissions on the directory and the files LMDB keeps in it
    /// (directories made by older versions kept the umask's 0755 and 0644).
    static func restrictPermissions(_ directory: String) throws {
        guard chmod(directory, 0o700) == 0 else {
            throw StoreError(.io, code: errno, operation: "chmod", detail: directory)
        }
        for name in [dataFileName, "lock.mdb", lockFileName] {
            let path = directory + "/" + name
            if FileManager.default.fileExists(atPath: path), chmod(path, 0o600) != 0 {
                throw StoreError(.io, code: errno, operation: "chmod", detail: path)
            }
        }
    }

    /// Takes an exclusive `flock` on `<directory>/commhub.lock`, so that two
    /// engines (or an engine and `commhub journal repair`) never write one
    /// store at the same time. The kernel drops the lock when the process
    /// dies, `kill -9` included, so a crash never leaves it stale.
    static func lockExclusively(_ directory: String) throws -> Int32 {
        let path = directory + "/" + lockFileName
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError(.io, code: errno, operation: "open", detail: path) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            close(fd)
            if e == EWOULDBLOCK {
                throw StoreError(.invalidState, operation: "open", detail:
                    "\(directory) is in use by another process (a running `commhub serve`?); stop it first")
            }
            throw StoreError(.io, code: e, operation: "flock", detail: path)
        }
        return fd
    }

    static func unlock(_ fd: Int32) {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// Layout of LMDB 0.9's meta pages (mdb.c: `MDB_page`, `MDB_meta`): pages
    /// 0 and 1 each hold a page header of `PAGEHDRSZ` (16) bytes, then
    /// `mm_magic` (u32), `mm_version` (u32), `mm_address`, `mm_mapsize`, two
    /// `MDB_db` of 48 bytes (`mm_psize` is the first one's `md_pad`),
    /// `mm_last_pg` and `mm_txnid`. The newer txnid is the live meta page.
    struct MetaPage: Equatable {
        static let magic: UInt32 = 0xBEEF_C0DE
        static let magicOffset = 16
        static let pageSizeOffset = 16 + 24
        static let lastPageOffset = 16 + 120
        static let txnIDOffset = 16 + 128
        static let size = 16 + 136

        var pageSize: UInt32
        var lastPage: UInt64
        var txnID: UInt64

        init?(_ bytes: ArraySlice<UInt8>) {
            guard bytes.count >= Self.size else { return nil }
            let base = bytes.startIndex
            func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[base + o + $1]) << (8 * $1) } }
            func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[base + o + $1]) << (8 * $1) } }
            guard u32(Self.magicOffset) == Self.magic else { return nil }
            pageSize = u32(Self.pageSizeOffset)
            lastPage = u64(Self.lastPageOffset)
            txnID = u64(Self.txnIDOffset)
        }
    }

    /// Refuses a `data.mdb` that LMDB would map beyond its end: reading a
    /// page past the end of a mapped file kills the process with SIGBUS, with
    /// no message. An empty file is refused too (LMDB would silently start a
    /// new, empty store over it).
    static func checkDataFile(_ directory: String) throws {
        let path = directory + "/" + dataFileName
        guard FileManager.default.fileExists(atPath: path) else { return }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StoreError(.io, code: errno, operation: "open", detail: path)
        }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        func damaged(_ why: String) -> StoreError {
            StoreError(.corrupted, operation: "open", detail: "\(path) \(why). The file is damaged or was cut short "
                + "(a copy that did not finish, a full disk during a copy); restore the data directory from a "
                + "backup (`commhub restore --from`) or a hot copy (`commhub snapshot export`).")
        }
        guard size > 0 else { throw damaged("is empty") }
        try handle.seek(toOffset: 0)
        let head = Array(try handle.read(upToCount: 2 * 65_536) ?? Data())
        guard let first = MetaPage(head[...]) else { throw damaged("does not start with an LMDB meta page") }
        let pageSize = Int(first.pageSize)
        guard pageSize >= 512, pageSize <= 65_536, pageSize & (pageSize - 1) == 0 else {
            throw damaged("names a page size of \(pageSize) bytes")
        }
        let second = head.count >= 2 * pageSize ? MetaPage(head[pageSize..<(2 * pageSize)]) : nil
        let live = [first, second].compactMap { $0 }.max { $0.txnID < $1.txnID }!
        let (pages, overflow) = live.lastPage.addingReportingOverflow(1)
        let (needed, overflow2) = pages.multipliedReportingOverflow(by: UInt64(pageSize))
        guard !overflow, !overflow2 else { throw damaged("names last page \(live.lastPage), beyond any file size") }
        guard size >= needed else {
            throw damaged("is \(size) bytes, but its newest meta page (transaction \(live.txnID)) uses pages up to "
                + "\(live.lastPage) of \(pageSize) bytes, \(needed) bytes")
        }
    }
}
