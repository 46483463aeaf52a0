import CommHubDomain
import CommHubStore
import CommHubWire
import Foundation

/// Files into and out of the attachment store for gateways (chunked over
/// the ingest connection) and the HTTP API. A file that belongs to a message
/// already recorded becomes that message's attachment by an annotation: the
/// message exists first, the file follows.
public struct AttachmentService: Sendable {
    public let engine: Engine
    public let store: AttachmentStore

    public init(engine: Engine, store: AttachmentStore) {
        self.engine = engine
        self.store = store
    }

    /// The URL a stored file of a message is served at.
    public static func url(sha256: String, message: MessageID) -> String {
        "/api/attachments/\(sha256)?message_id=\(message)"
    }

    /// Takes one chunk; on the last one, stores the file and (with a target)
    /// records it on its message. Returns the stored file and the seq to wait
    /// for, or nil while more chunks are due.
    public func receive(_ chunk: GatewayProtocol.AttachmentChunk, data: ArraySlice<UInt8>) async throws
        -> (GatewayProtocol.StoredAttachment, UInt64?)? {
        guard chunk.fileName.utf8.count <= 255, chunk.contentType.utf8.count <= 255 else {
            throw EngineError.invalid("file_name and content_type are at most 255 bytes")
        }
        do {
            try store.write(upload: chunk.uploadID, offset: chunk.offset, total: chunk.totalBytes,
                            contentType: chunk.contentType, chunk: data)
            guard chunk.last else { return nil }
            let (sha, size) = try store.finish(upload: chunk.uploadID)
            let type = AttachmentStore.normalizedType(chunk.contentType)
            guard let target = chunk.target else {
                return (GatewayProtocol.StoredAttachment(sha256: sha, sizeBytes: size, contentType: type, fileName: chunk.fileName,
                                                         url: "/api/attachments/\(sha)"), nil)
            }
            guard (0..<1000).contains(target.index) else { throw EngineError.invalid("attachment index must be 0 to 999") }
            guard let (_, message) = await engine.supervisor.message(channel: target.channelID, externalID: target.externalMessageID) else {
                throw EngineError.notFound("message \(target.externalMessageID) on channel", target.channelID)
            }
            let url = Self.url(sha256: sha, message: message)
            let attachment = Attachment(fileName: chunk.fileName, contentType: type, sizeBytes: size, url: url, sha256: sha)
            let seq = try await engine.supervisor.annotate(message, .attachment(index: target.index, attachment))
            return (GatewayProtocol.StoredAttachment(sha256: sha, sizeBytes: size, contentType: type, fileName: chunk.fileName, url: url), seq)
        } catch let e as StoreError {
            store.abandon(upload: chunk.uploadID)
            throw EngineError.invalid(e.detail ?? e.description)
        } catch {
            store.abandon(upload: chunk.uploadID)
            throw error
        }
    }

    /// A range of a stored file.
    public func read(_ range: GatewayProtocol.AttachmentRange) throws -> [UInt8] {
        guard AttachmentStore.isValidHash(range.sha256) else { throw EngineError.invalid("sha256 must be 64 lowercase hex digits") }
        guard range.offset >= 0, (1...GatewayProtocol.AttachmentChunk.maxChunkBytes).contains(range.length) else {
            throw EngineError.invalid("a range is 1 to \(GatewayProtocol.AttachmentChunk.maxChunkBytes) bytes from offset 0 or more")
        }
        guard store.size(range.sha256) != nil else { throw EngineError.notFound("file", range.sha256) }
        do {
            return try store.read(range.sha256, offset: range.offset, length: range.length)
        } catch {
            throw EngineError.notFound("file", range.sha256)
        }
    }
}
