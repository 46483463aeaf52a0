import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The root of every key CommHub holds: the master key. It seals channel
/// secrets and wraps the key-encryption key (KEK) of the data keys, never
/// data itself. It comes from `COMMHUB_MASTER_KEY` (32 bytes, base64 or
/// hex) or `<data>/master.key` (created 0600 on first start).
///
/// During a key rotation (`commhub keys rotate`) the next master key stands
/// beside the current one: `<data>/master.key.next` when the key lives in
/// the data directory, or the file named in `<data>/master.key.rotation`
/// when it comes from the environment (the new key is then the operator's
/// file and never copied into the data directory). Both are loaded until the
/// rotation finished, so a rotation killed halfway resumes at the next start
/// and nothing sealed under either key is lost.
public struct MasterKeys: Sendable {
    public enum Source: Sendable, Hashable {
        case environment
        case file(String)
    }

    public var current: SymmetricKey
    public var source: Source
    /// The key a rotation in progress moves to.
    public var next: SymmetricKey?
    /// Where `next` came from (`master.key.next`, or the operator's file).
    public var nextPath: String?

    public init(current: SymmetricKey, source: Source, next: SymmetricKey? = nil, nextPath: String? = nil) {
        self.current = current; self.source = source; self.next = next; self.nextPath = nextPath
    }

    public static let environmentVariable = "COMMHUB_MASTER_KEY"
    public static let fileName = "master.key"
    public static let nextFileName = "master.key.next"
    public static let rotationFileName = "master.key.rotation"
    /// The old key's second name while a finished rotation replaces `master.key` (see `finishRotation`).
    public static let retiredFileName = "master.key.old"

    /// The newest key: the one new things are sealed with.
    public var newest: SymmetricKey { next ?? current }
    /// Every key that may open something, newest first.
    public var all: [SymmetricKey] { [next, current].compactMap { $0 } }

    /// Loads the master key (and a rotation's next key) for `dataDirectory`,
    /// creating `master.key` when neither the environment nor the file has one.
    public static func load(dataDirectory: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MasterKeys {
        var keys: MasterKeys
        if let text = environment[environmentVariable], !text.isEmpty {
            guard let bytes = decodeKey(text) else {
                throw StoreError(.invalidArgument, operation: "masterKey", detail: "\(environmentVariable) must be 32 bytes, base64 or hex encoded")
            }
            keys = MasterKeys(current: SymmetricKey(data: bytes), source: .environment)
        } else {
            let path = (dataDirectory as NSString).appendingPathComponent(fileName)
            try removeRetiredFile(dataDirectory: dataDirectory)
            keys = MasterKeys(current: try readOrCreate(path), source: .file(path))
        }
        let nextFile = (dataDirectory as NSString).appendingPathComponent(nextFileName)
        let rotationFile = (dataDirectory as NSString).appendingPathComponent(rotationFileName)
        if FileManager.default.fileExists(atPath: nextFile) {
            keys.next = try read(nextFile)
            keys.nextPath = nextFile
        } else if let data = FileManager.default.contents(atPath: rotationFile) {
            let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard FileManager.default.fileExists(atPath: path) else {
                throw StoreError(.invalidState, operation: "masterKey", detail: "a key rotation is in progress (\(rotationFile)) "
                    + "and needs the new key file it names, \(path), which is missing; put it back and start again")
            }
            keys.next = try read(path)
            keys.nextPath = path
        }
        return keys
    }

    /// Reads a key file (base64 or hex, whitespace ignored).
    public static func read(_ path: String) throws -> SymmetricKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError(.io, operation: "masterKey", detail: "cannot read \(path)")
        }
        guard let bytes = decodeKey(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw StoreError(.invalidArgument, operation: "masterKey", detail: "\(path) does not hold a 32-byte key (base64 or hex)")
        }
        return SymmetricKey(data: bytes)
    }

    /// Reads `path`, or creates it with a new random key. Race-free: the key
    /// is written to a private temporary file and linked into place, so of
    /// two processes starting at once one key wins and both read it.
    static func readOrCreate(_ path: String) throws -> SymmetricKey {
        if FileManager.default.fileExists(atPath: path) { return try read(path) }
        let key = SymmetricKey(size: .bits256)
        try writeKeyFile(key, to: path, replacing: false)
        return try read(path)
    }

    /// Writes a key file (0600, fsynced, then linked or renamed into place and
    /// its directory fsynced). `replacing: false` leaves an existing file alone.
    public static func writeKeyFile(_ key: SymmetricKey, to path: String, replacing: Bool) throws {
        let text = Array((key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n").utf8)
        try DurableFile.write(text, to: path, replacing: replacing)
    }

    public static func encode(_ key: SymmetricKey) -> String {
        key.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    public static func decodeKey(_ text: String) -> [UInt8]? {
        if let d = Data(base64Encoded: text), d.count == 32 { return Array(d) }
        if text.utf8.count == 64 {
            var out: [UInt8] = []
            var i = text.startIndex
            while i < text.endIndex {
                let j = text.index(i, offsetBy: 2)
                guard let b = UInt8(text[i..<j], radix: 16) else { return nil }
                out.append(b)
                i = j
            }
            return out
        }
        return nil
    }
}

// MARK: Rotation files

extension MasterKeys {
    /// The key a rotation moves to, and where it lives, written durably
    /// before anything uses it (so a rotation killed at any point finds it at
    /// the next start). A rotation already staged (`next` is set) keeps its key.
    ///
    /// - `master.key` in the data directory: the new key is `newKeyFile`'s
    ///   when given, else a new random one, written to `master.key.next`.
    /// - `COMMHUB_MASTER_KEY`: the new key lives in the operator's file
    ///   `newKeyFile` (created 0600 with a new random key when missing) and
    ///   never in the data directory; `master.key.rotation` names that file.
    public static func stageNext(dataDirectory: String, current: MasterKeys, newKeyFile: String?) throws -> (key: SymmetricKey, path: String) {
        if let next = current.next, let path = current.nextPath { return (next, path) }
        switch current.source {
        case .file:
            let path = (dataDirectory as NSString).appendingPathComponent(nextFileName)
            let key = try newKeyFile.map(read) ?? SymmetricKey(size: .bits256)
            if current.all.contains(where: { same($0, key) }) {
                throw StoreError(.invalidArgument, operation: "keys.rotate", detail: "\(newKeyFile ?? path) holds the current master key; a rotation needs a new one")
            }
            try writeKeyFile(key, to: path, replacing: true)
            return (try read(path), path)
        case .environment:
            guard let file = newKeyFile, !file.isEmpty else {
                throw StoreError(.invalidArgument, operation: "keys.rotate", detail: "the master key comes from \(environmentVariable): "
                    + "name the file for the new key (`commhub keys rotate --new-key FILE`; it is created when missing) "
                    + "and set \(environmentVariable) to its content after the rotation")
            }
            let absolute = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
            if !FileManager.default.fileExists(atPath: absolute) {
                try writeKeyFile(SymmetricKey(size: .bits256), to: absolute, replacing: false)
            }
            let key = try read(absolute)
            if current.all.contains(where: { same($0, key) }) {
                throw StoreError(.invalidArgument, operation: "keys.rotate", detail: "\(absolute) holds the current master key; a rotation needs a new one")
            }
            let rotation = (dataDirectory as NSString).appendingPathComponent(rotationFileName)
            try DurableFile.write(Array((absolute + "\n").utf8), to: rotation, replacing: true)
            return (key, absolute)
        }
    }

    /// Makes the staged next key the master key, durably, and destroys the
    /// old one. `master.key`: linked to `master.key.old`, the next key renamed
    /// over it, then the old file overwritten and deleted (a start that finds
    /// `master.key.old` finishes that, `removeRetiredFile`). Environment: the
    /// rotation file goes; the operator sets `COMMHUB_MASTER_KEY` to the new key.
    /// `pause` runs between the steps (fault injection in tests).
    public static func finishRotation(dataDirectory: String, keys: MasterKeys, pause: (String) -> Void = { _ in }) throws -> MasterKeys {
        guard let next = keys.next else { return keys }
        switch keys.source {
        case .file(let path):
            let retired = (dataDirectory as NSString).appendingPathComponent(retiredFileName)
            let nextPath = (dataDirectory as NSString).appendingPathComponent(nextFileName)
            unlink(retired)
            guard link(path, retired) == 0 else { throw StoreError(.io, code: errno, operation: "link", detail: retired) }
            pause("old-key-linked")
            guard rename(nextPath, path) == 0 else { throw StoreError(.io, code: errno, operation: "rename", detail: path) }
            DurableFile.syncDirectory(dataDirectory)
            pause("new-key-in-place")
            try DurableFile.shred(retired)
        case .environment:
            let rotation = (dataDirectory as NSString).appendingPathComponent(rotationFileName)
            guard unlink(rotation) == 0 || errno == ENOENT else { throw StoreError(.io, code: errno, operation: "unlink", detail: rotation) }
            DurableFile.syncDirectory(dataDirectory)
        }
        return MasterKeys(current: next, source: keys.source)
    }

    /// A start after `finishRotation` was cut short: `master.key.old` is the
    /// old key's second name. With `master.key.next` still there the rename
    /// did not happen and it is only a link to the current key (unlinked);
    /// otherwise it is the old key alone, overwritten and deleted.
    static func removeRetiredFile(dataDirectory: String) throws {
        let retired = (dataDirectory as NSString).appendingPathComponent(retiredFileName)
        var old = stat(), current = stat()
        guard lstat(retired, &old) == 0 else { return }
        let path = (dataDirectory as NSString).appendingPathComponent(fileName)
        let nextPath = (dataDirectory as NSString).appendingPathComponent(nextFileName)
        let sameFile = lstat(path, &current) == 0 && current.st_ino == old.st_ino && current.st_dev == old.st_dev
        if sameFile || FileManager.default.fileExists(atPath: nextPath) {
            unlink(retired)
            DurableFile.syncDirectory(dataDirectory)
        } else {
            try DurableFile.shred(retired)
        }
    }

    /// Whether two keys hold the same bytes.
    public static func same(_ a: SymmetricKey, _ b: SymmetricKey) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
    }
}

/// Small files that must be whole once they have their name (keys, KEKs):
/// written to a temporary file in the same directory, fsynced, renamed (or
/// linked) into place, and the directory fsynced.
public enum DurableFile {
    public static func write(_ bytes: [UInt8], to path: String, replacing: Bool) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let temp = dir + "/." + (path as NSString).lastPathComponent + ".\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError(.io, code: errno, operation: "open", detail: temp) }
        var ok = false
        defer { if !ok { unlink(temp) } }
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    let e = errno
                    close(fd)
                    throw StoreError(.io, code: e, operation: "write", detail: temp)
                }
                done += n
            }
        }
        guard fsync(fd) == 0 else {
            let e = errno
            close(fd)
            throw StoreError(.io, code: e, operation: "fsync", detail: temp)
        }
        close(fd)
        if replacing {
            guard rename(temp, path) == 0 else { throw StoreError(.io, code: errno, operation: "rename", detail: path) }
        } else {
            // link() fails with EEXIST when another process made the file first: theirs wins.
            if link(temp, path) != 0, errno != EEXIST { throw StoreError(.io, code: errno, operation: "link", detail: path) }
            unlink(temp)
        }
        ok = true
        syncDirectory(dir)
    }

    /// Overwrites a file with zeros (fsynced) before unlinking it, so the
    /// key it held is not left in the blocks the file system frees (as far as
    /// an application can see to that; see the README on what remains).
    public static func shred(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return }
            throw StoreError(.io, code: errno, operation: "open", detail: path)
        }
        var st = stat()
        if fstat(fd, &st) == 0, st.st_size > 0 {
            let zeros = [UInt8](repeating: 0, count: 1 << 20)
            var offset: off_t = 0
            while offset < st.st_size {
                let n = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, Int(min(off_t($0.count), st.st_size - offset)), offset) }
                if n <= 0 { break }
                offset += off_t(n)
            }
            fsync(fd)
        }
        close(fd)
        guard unlink(path) == 0 || errno == ENOENT else { throw StoreError(.io, code: errno, operation: "unlink", detail: path) }
        syncDirectory((path as NSString).deletingLastPathComponent)
    }

    public static func syncDirectory(_ dir: String) {
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}
