import CommHubDomain
import CommHubEngine
import CommHubStore
import Foundation
import Hummingbird
import NIOCore

/// Files of messages.
///
/// - `POST /api/attachments?file_name=NAME` takes the raw bytes (with
///   `Content-Type` and `Content-Length`), stores them by their hash and
///   answers `{sha256, size_bytes, content_type, file_name}`; an outgoing
///   message then names the file by `sha256` in its `attachments`.
/// - `GET /api/attachments/{sha256}?message_id=ID` serves a file to whoever
///   may see that message's thread, and only when that message carries it.
///   Files are served with `X-Content-Type-Options: nosniff`, a sandboxing
///   Content-Security-Policy, and as downloads unless they are images, PDFs,
///   audio or video, so a file never runs in CommHub's origin.
extension CommHubAPI {
    /// Largest file taken through the API (a photo or a PDF from an agent).
    static let maxUploadBytes = 16 << 20

    func registerAttachments(_ api: RouterGroup<APIContext>) {
        api.post("attachments") { request, context in
            _ = try require(.writeThreads, context)
            guard let files = engine.attachments else { throw APIError(.serviceUnavailable, "unavailable", "this server keeps no files") }
            let name = request.query("file_name") ?? "file"
            guard !name.isEmpty, name.utf8.count <= 255, !name.contains("/"), !name.contains("\\") else {
                throw APIError.badRequest("file_name must be 1 to 255 bytes without slashes")
            }
            guard let type = request.headers[.contentType], !type.isEmpty else { throw APIError.badRequest("Content-Type must name the file's type") }
            guard let lengthText = request.headers[.contentLength], let length = Int(lengthText), length >= 0 else {
                throw APIError(.lengthRequired, "length_required", "send Content-Length with the file")
            }
            guard length <= Self.maxUploadBytes else {
                throw APIError(.contentTooLarge, "too_large", "a file is at most \(Self.maxUploadBytes) bytes")
            }
            let upload = UUID()
            var offset = 0
            do {
                for try await chunk in request.body {
                    guard offset + chunk.readableBytes <= length else { throw APIError.badRequest("the body is longer than Content-Length") }
                    try files.write(upload: upload, offset: offset, total: length, contentType: type, chunk: Array(chunk.readableBytesView)[...])
                    offset += chunk.readableBytes
                }
                if length == 0 { try files.write(upload: upload, offset: 0, total: 0, contentType: type, chunk: [][...]) }
                let (sha, size) = try files.finish(upload: upload)
                return try JSONResponse.make(JSONValue.object([
                    "sha256": .string(sha), "size_bytes": .number(Double(size)),
                    "content_type": .string(AttachmentStore.normalizedType(type)), "file_name": .string(name),
                ]), status: .created)
            } catch let e as StoreError {
                files.abandon(upload: upload)
                throw APIError(.unprocessableContent, "invalid", e.detail ?? e.description)
            } catch {
                files.abandon(upload: upload)
                throw error
            }
        }

        api.get("attachments/:sha256") { request, context in
            let who = try require(.readThreads, context)
            guard let files = engine.attachments else { throw APIError(.serviceUnavailable, "unavailable", "this server keeps no files") }
            let sha = context.parameters.get("sha256") ?? ""
            guard AttachmentStore.isValidHash(sha) else { throw APIError.notFound("'\(sha.prefix(80))' is not a file hash") }
            guard let message = try request.uuidQuery("message_id", MessageKind.self) else {
                throw APIError.badRequest("give message_id: the message that carries the file")
            }
            // The message must carry the file, and its thread must be visible: else 404, never a hint that it exists.
            guard let thread = await supervisor.threadOf(message: message),
                  let body = try engine.bodies.body(for: message),
                  let attachment = body.attachments.first(where: { $0.sha256 == sha }) else {
                throw APIError.notFound("no file \(sha) on message \(message)")
            }
            _ = try await visibleThread(thread, who)
            guard let size = files.size(sha) else { throw APIError.notFound("no file \(sha) on message \(message)") }
            let type = AttachmentStore.normalizedType(attachment.contentType)
            let inline = type.hasPrefix("image/") || type.hasPrefix("audio/") || type.hasPrefix("video/") || type == "application/pdf"
            let safeName = attachment.fileName.filter { $0.isLetter || $0.isNumber || "._- ".contains($0) }
            var headers: HTTPFields = [
                .contentType: type,
                .contentLength: String(size),
                .init("X-Content-Type-Options")!: "nosniff",
                .init("Content-Security-Policy")!: "default-src 'none'; sandbox",
                .cacheControl: "private, max-age=86400, immutable",
            ]
            headers[.contentDisposition] = "\(inline ? "inline" : "attachment"); filename=\"\(safeName.isEmpty ? "file" : safeName)\""
            let chunk = 1 << 20
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                var offset = 0
                while offset < size {
                    let bytes = try files.read(sha, offset: offset, length: min(chunk, size - offset))
                    guard !bytes.isEmpty else { break }
                    try await writer.write(ByteBuffer(bytes: bytes))
                    offset += bytes.count
                }
                try await writer.finish(nil)
            })
        }
    }
}
