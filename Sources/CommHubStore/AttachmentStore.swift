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

    public init(root: String) throws {
        self.root = root
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
            unlink(up.path)  // the same content is stored once
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

    /// The size of a stored file, nil if there is none.
    public func size(_ sha256: String) -> Int? {
        guard Self.isValidHash(sha256) else { return nil }
        return (try? FileManager.default.attributesOfItem(atPath: path(sha256))[.size] as? Int) ?? nil
    }

    /// Bytes `offset..<offset+length` of a stored file (fewer at its end).
    public func read(_ sha256: String, offset: Int, length: Int) throws -> [UInt8] {
        guard Self.isValidHash(sha256), offset >= 0, length >= 0, length <= Self.maxFileBytes else {
            throw StoreError(.invalidArgument, operation: "attachment.read", detail: "no such range")
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
