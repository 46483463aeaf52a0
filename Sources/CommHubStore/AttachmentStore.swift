import Crypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The files of messages (photos, PDFs, voice notes), content-addressed in
/// the data directory: `<root>/<first two hex digits>/<sha256>`. A file is
/// written to `<root>/incoming/`, fsynced, checked (size, type), then
/// renamed into place and its directory fsynced, so a file that has a name
/// is complete; the same content is stored once. Only the types in
/// `allowedTypes` and at most `maxFileBytes` are taken.
public final class AttachmentStore: Sendable {
    public let root: String
    /// Largest file taken (WhatsApp takes up to 16 MB of video and 100 MB of documents; MMS far less).
    public static let maxFileBytes = 64 << 20
    /// Uploads open at once, at most; beyond it a new one is refused.
    public static let maxOpenUploads = 64
    /// An upload not finished within this is dropped.
    public static let uploadTimeoutSeconds: TimeInterval = 600

    /// What customers and agents send in support conversations. Anything else
    /// (executables, archives, HTML) is refused: the store never serves a file
    /// a browser would run.
    public static let allowedTypes: Set<String> = [
        "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic",
        "application/pdf", "text/plain", "text/csv", "text/vcard", "text/x-vcard",
        "audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/amr", "audio/wav",
        "video/mp4", "video/3gpp", "video/quicktime",
        "application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]

    struct Upload {
        let fd: Int32
        let path: String
        var hasher = SHA256()
        var received = 0
        let total: Int
        let startedAt: Date
    }

    private let uploads = Mutex<[UUID: Upload]>([:])
    /// Seals stored files under their own data key (nil: files are stored in the clear, as before encryption).
    let keys: (any FileKeys)?

    public init(root: String, keys: (any FileKeys)? = nil) throws {
        self.root = root
        self.keys = keys
        for dir in [root, root + "/incoming"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        // Left over from a crash: never named, never referenced.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root + "/incoming")) ?? [] {
            try? FileManager.default.removeItem(atPath: root + "/incoming/" + name)
        }
    }

    /// The type a file is stored under: lowercased, parameters dropped.
    public static func normalizedType(_ raw: String) -> String {
        raw.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    public static func isValidHash(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    public func path(_ sha256: String) -> String { root + "/" + sha256.prefix(2) + "/" + sha256 }

    /// Starts (or continues, with the next chunk at `offset`) an upload of `total` bytes.
    public func write(upload id: UUID, offset: Int, total: Int, contentType: String, chunk: ArraySlice<UInt8>) throws {
        guard (0...Self.maxFileBytes).contains(total) else {
            throw StoreError(.invalidArgument, operation: "attachment", detail: "a file is at most \(Self.maxFileBytes) bytes; this one is \(total)")
        }
        guard Self.allowedTypes.contains(Self.normalizedType(contentType)) else {
            throw StoreError(.invalidArgument, operation: "attachment", detail:
                "files of type \(contentType.prefix(80)) are not taken; allowed: \(Self.allowedTypes.sorted().joined(separator: ", "))")
        }
        expireStaleUploads()
        try uploads.withLock { u in
            if u[id] == nil {
                guard offset == 0 else { throw StoreError(.invalidArgument, operation: "attachment", detail: "upload \(id) is unknown (or expired); start at offset 0") }
                guard u.count < Self.maxOpenUploads else {
                    throw StoreError(.unavailable, operation: "attachment", detail: "\(Self.maxOpenUploads) uploads are open; try again shortly")
                }
                let path = root + "/incoming/" + id.uuidString
                let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw StoreError(.io, code: errno, operation: "open", detail: path) }
                u[id] = Upload(fd: fd, path: path, total: total, startedAt: Date())
            }
            guard var up = u[id] else { return }
            guard offset == up.received, up.total == total, up.received + chunk.count <= total else {
                throw StoreError(.invalidArgument, operation: "attachment",
                                 detail: "chunk at \(offset) of \(chunk.count) bytes does not continue upload \(id) (\(up.received) of \(up.total) received)")
            }
            try chunk.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = Glibc.write(up.fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw StoreError(.io, code: errno, operation: "write", detail: up.path)
                    }
                    done += n
                }
            }
            up.hasher.update(data: chunk)
            up.received += chunk.count
            u[id] = up
        }
    }

    /// Finishes an upload: all bytes there, fsynced, named by its hash. Returns the hash and size.
    public func finish(upload id: UUID) throws -> (sha256: String, sizeBytes: Int) {
        guard let up = uploads.withLock({ $0.removeValue(forKey: id) }) else {
            throw StoreError(.invalidArgument, operation: "attachment", detail: "upload \(id) is unknown (or expired)")
        }
        defer { close(up.fd) }
        guard up.received == up.total else {
            unlink(up.path)
            throw StoreError(.invalidArgument, operation: "attachment", detail: "upload \(id) ended at \(up.received) of \(up.total) bytes")
        }
        guard fsync(up.fd) == 0 else {
            let e = errno
            unlink(up.path)
            throw StoreError(.io, code: e, operation: "fsync", detail: up.path)
        }
        let sha = up.hasher.finalize().map { String(format: "%02x", $0) }.joined()
        let dir = root + "/" + sha.prefix(2)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let target = path(sha)
        if FileManager.default.fileExists(atPath: target) {
            try? DurableFile.shred(up.path)  // the same content is stored once
        } else if let keys {
            defer { try? DurableFile.shred(up.path) }
            let key = try keys.fileKey(sha256: sha, fresh: SymmetricKey(size: .bits256))
            try SealedFile.write(from: up.path, size: up.total, key: key, to: target, temporary: up.path + ".sealed")
        } else {
            guard rename(up.path, target) == 0 else {
                let e = errno
                unlink(up.path)
                throw StoreError(.io, code: e, operation: "rename", detail: target)
            }
            let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dfd >= 0 { fsync(dfd); close(dfd) }
        }
        return (sha, up.total)
    }

    /// Drops an unfinished upload.
    public func abandon(upload id: UUID) {
        guard let up = uploads.withLock({ $0.removeValue(forKey: id) }) else { return }
        close(up.fd)
        unlink(up.path)
    }

    private func expireStaleUploads() {
        let now = Date()
        let stale = uploads.withLock { u -> [UUID] in
            u.filter { now.timeIntervalSince($0.value.startedAt) > Self.uploadTimeoutSeconds }.map(\.key)
        }
        for id in stale { abandon(upload: id) }
    }

    /// Stores a whole file at once (uploads through the HTTP API).
    public func put(_ bytes: [UInt8], contentType: String) throws -> (sha256: String, sizeBytes: Int) {
        let id = UUID()
        do {
            try write(upload: id, offset: 0, total: bytes.count, contentType: contentType, chunk: bytes[...])
            return try finish(upload: id)
        } catch {
            abandon(upload: id)
            throw error
        }
    }

    /// The size of a stored file (its content, not its sealed form), nil if there is none.
    public func size(_ sha256: String) -> Int? {
        guard Self.isValidHash(sha256) else { return nil }
        if let header = SealedFile.header(path(sha256)) { return header.size }
        return (try? FileManager.default.attributesOfItem(atPath: path(sha256))[.size] as? Int) ?? nil
    }

    /// Bytes `offset..<offset+length` of a stored file (fewer at its end).
    public func read(_ sha256: String, offset: Int, length: Int) throws -> [UInt8] {
        guard Self.isValidHash(sha256), offset >= 0, length >= 0, length <= Self.maxFileBytes else {
            throw StoreError(.invalidArgument, operation: "attachment.read", detail: "no such range")
        }
        if let header = SealedFile.header(path(sha256)) {
            guard let keys, let key = try keys.fileKey(id: header.keyID) else {
                throw StoreError(.notFound, operation: "attachment.read", detail: "\(sha256) (its key was destroyed)")
            }
            return try SealedFile.read(path(sha256), header: header, key: key, offset: offset, length: length)
        }
        guard let h = FileHandle(forReadingAtPath: path(sha256)) else {
            throw StoreError(.notFound, operation: "attachment.read", detail: sha256)
        }
        defer { try? h.close() }
        try h.seek(toOffset: UInt64(offset))
        return Array(try h.read(upToCount: length) ?? Data())
    }

    /// Deletes a stored file for good (an erasure freed it): overwritten
    /// with zeros, fsynced, unlinked. A missing file is not an error.
    public func remove(_ sha256: String) throws {
        guard Self.isValidHash(sha256) else { return }
        try DurableFile.shred(path(sha256))
    }
}

/// Where an attachment store gets the data keys of files (the store's `KeyRing`).
public protocol FileKeys: Sendable {
    /// The key of file `sha256`: its existing key, or `fresh` made its key.
    func fileKey(sha256: String, fresh: SymmetricKey) throws -> DataKey
    /// The key with this id, nil once destroyed.
    func fileKey(id: UInt64) throws -> SymmetricKey?
}

extension JournalWriter: FileKeys {
    public func fileKey(sha256: String, fresh: SymmetricKey) throws -> DataKey {
        if let k = try keys.existingKey(.file(sha256), env) { return k }
        return try performBlocking("keys.adopt") { [keys] env in
            try env.write("keys.adopt") { txn in try keys.adopt(fresh, for: .file(sha256), txn, env).0 }
        }
    }

    public func fileKey(id: UInt64) throws -> SymmetricKey? { try keys.openingKey(id, env) }
}

/// A stored file sealed under its data key: a header (`CHFILE1\n`, key id
/// u64 LE, content size u64 LE, chunk size u32 LE), then the content in
/// chunks of `chunkBytes`, each `[nonce 12][ciphertext][tag 16]` with the
/// chunk's index, the size and the key id as authenticated data (a chunk
/// cannot be moved, dropped or the file cut short unnoticed). Ranges are
/// read chunk by chunk.
enum SealedFile {
    static let magic: [UInt8] = Array("CHFILE1\n".utf8)
    static let headerBytes = 8 + 8 + 8 + 4
    /// Content bytes per sealed chunk.
    static let chunkBytes = 64 << 10
    static let chunkOverhead = 12 + 16

    struct Header {
        let keyID: UInt64
        let size: Int
        let chunk: Int
    }

    static func aad(_ index: Int, _ h: Header) -> [UInt8] {
        var out = Array("chf".utf8)
        withUnsafeBytes(of: UInt64(index).littleEndian) { out += $0 }
        withUnsafeBytes(of: UInt64(h.size).littleEndian) { out += $0 }
        withUnsafeBytes(of: h.keyID.littleEndian) { out += $0 }
        return out
    }

    static func header(_ path: String) -> Header? {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        guard let raw = try? h.read(upToCount: headerBytes), raw.count == headerBytes, Array(raw.prefix(8)) == magic else { return nil }
        let b = Array(raw)
        func u64(_ at: Int) -> UInt64 { b[at..<(at + 8)].enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * $1.offset) } }
        let chunk = Int(b[24..<28].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) })
        let size = u64(16)
        guard chunk > 0, chunk <= 1 << 24, size <= UInt64(AttachmentStore.maxFileBytes) else { return nil }
        return Header(keyID: u64(8), size: Int(size), chunk: chunk)
    }

    /// Seals the file at `source` (`size` bytes) into `target` (through `temporary`, fsynced, renamed).
    static func write(from source: String, size: Int, key: DataKey, to target: String, temporary: String) throws {
        guard let input = FileHandle(forReadingAtPath: source) else { throw StoreError(.io, operation: "attachment.seal", detail: source) }
        defer { try? input.close() }
        let fd = open(temporary, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError(.io, code: errno, operation: "open", detail: temporary) }
        var ok = false
        defer { if !ok { close(fd); unlink(temporary) } }
        let h = Header(keyID: key.id, size: size, chunk: chunkBytes)
        var head = magic
        withUnsafeBytes(of: key.id.littleEndian) { head += $0 }
        withUnsafeBytes(of: UInt64(size).littleEndian) { head += $0 }
        withUnsafeBytes(of: UInt32(chunkBytes).littleEndian) { head += $0 }
        try writeAll(fd, head, temporary)
        var index = 0
        while index * chunkBytes < size || (size == 0 && index == 0) {
            let plain = Array(try input.read(upToCount: chunkBytes) ?? Data())
            let box = try AES.GCM.seal(plain, using: key.key, authenticating: aad(index, h))
            var out = [UInt8]()
            box.nonce.withUnsafeBytes { out += $0 }
            out += box.ciphertext
            out += box.tag
            try writeAll(fd, out, temporary)
            index += 1
            if size == 0 { break }
        }
        guard fsync(fd) == 0 else { throw StoreError(.io, code: errno, operation: "fsync", detail: temporary) }
        close(fd)
        ok = true
        guard rename(temporary, target) == 0 else {
            let e = errno
            unlink(temporary)
            throw StoreError(.io, code: e, operation: "rename", detail: target)
        }
        DurableFile.syncDirectory((target as NSString).deletingLastPathComponent)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw StoreError(.io, code: errno, operation: "write", detail: path)
                }
                done += n
            }
        }
    }

    /// Content bytes `offset..<offset+length` (fewer at the end).
    static func read(_ path: String, header h: Header, key: SymmetricKey, offset: Int, length: Int) throws -> [UInt8] {
        let end = min(h.size, offset + length)
        guard offset < end else { return [] }
        guard let file = FileHandle(forReadingAtPath: path) else { throw StoreError(.notFound, operation: "attachment.read", detail: path) }
        defer { try? file.close() }
        var out = [UInt8]()
        out.reserveCapacity(end - offset)
        for index in (offset / h.chunk)...((end - 1) / h.chunk) {
            let plainStart = index * h.chunk
            let plainCount = min(h.chunk, h.size - plainStart)
            try file.seek(toOffset: UInt64(headerBytes + index * (h.chunk + chunkOverhead)))
            let raw = Array(try file.read(upToCount: plainCount + chunkOverhead) ?? Data())
            guard raw.count == plainCount + chunkOverhead else {
                throw StoreError(.corrupted, operation: "attachment.read", detail: "\(path): chunk \(index) cut short")
            }
            let plain: [UInt8]
            do {
                let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: raw[0..<12]), ciphertext: raw[12..<(raw.count - 16)],
                                                tag: raw[(raw.count - 16)...])
                plain = Array(try AES.GCM.open(box, using: key, authenticating: aad(index, h)))
            } catch {
                throw StoreError(.corrupted, operation: "attachment.read", detail: "\(path): chunk \(index) does not open")
            }
            let from = max(offset, plainStart) - plainStart
            let to = min(end, plainStart + plainCount) - plainStart
            out += plain[from..<to]
        }
        return out
    }
}
