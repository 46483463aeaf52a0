import CommHubDomain
import CommHubWire
import Foundation

/// One attachment of a mail as `GET …/messages/{id}/attachments` lists it
/// (without its content).
public struct GraphAttachment: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// `#microsoft.graph.fileAttachment`: a file.
        case file
        /// `#microsoft.graph.itemAttachment`: an attached mail or event (its MIME by `/$value`).
        case item
        /// `#microsoft.graph.referenceAttachment`: a link to a file elsewhere; no content.
        case reference
    }

    public var id: String
    public var kind: Kind
    public var name: String
    public var contentType: String
    /// Graph's size (approximate: includes metadata), range-checked.
    public var size: Int
    public var isInline: Bool
    public var contentID: String?

    public init?(json: JSONValue) {
        guard let id = json["id"]?.stringValue, !id.isEmpty, id.count <= GraphMessage.maxFieldCharacters else { return nil }
        self.id = id
        switch json["@odata.type"]?.stringValue?.lowercased() {
        case "#microsoft.graph.itemattachment": kind = .item
        case "#microsoft.graph.referenceattachment": kind = .reference
        default: kind = .file
        }
        let rawName = json["name"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "attachment"
        name = String(rawName.filter { !$0.isNewline && $0 != "/" && $0 != "\\" }.prefix(200))
        if kind == .item, !name.lowercased().hasSuffix(".eml") { name += ".eml" }
        contentType = kind == .item ? "message/rfc822"
            : json["contentType"]?.stringValue.flatMap { $0.isEmpty || $0.count > 200 ? nil : $0 } ?? "application/octet-stream"
        if case .number(let n)? = json["size"], n.isFinite, n >= 0, n <= Double(WireBounds.attachmentSizeBytes.upperBound) {
            size = Int(n)
        } else {
            size = 0
        }
        isInline = json["isInline"]?.boolValue ?? false
        contentID = json["contentId"]?.stringValue.flatMap { $0.isEmpty || $0.count > 1_000 ? nil : $0 }
    }
}

/// Downloads an attachment's bytes: small files in one JSON answer
/// (`GET …/attachments/{id}` with `contentBytes`, base64), files over
/// `smallFileBytes` and attached items through the raw-content endpoint
/// (`GET …/attachments/{id}/$value`: no base64 in JSON, up to
/// `ProviderHTTP.maxDownloadBytes`; the engine's store takes at most
/// `maxStoredBytes`, a larger file stays at the provider and its message says so).
public struct GraphAttachmentDownloader: Sendable {
    public static let smallFileBytes = 3 * 1024 * 1024
    public static let maxStoredBytes = 64 << 20

    public let client: GraphClient

    public init(client: GraphClient) { self.client = client }

    public func download(messageID: String, part: GraphAttachment) async -> Result<DownloadedFile, DownloadFailure> {
        guard part.kind != .reference else { return .failure(DownloadFailure("a reference attachment has no content", retry: false)) }
        guard part.size <= Self.maxStoredBytes else {
            return .failure(DownloadFailure("the file is \(part.size) bytes, more than \(Self.maxStoredBytes)", retry: false))
        }
        let path = "\(client.userPath)/messages/\(GraphClient.segment(messageID))/attachments/\(GraphClient.segment(part.id))"
        if part.kind == .file, part.size <= Self.smallFileBytes {
            let r = await client.call(.GET, path, maxAnswerBytes: Self.smallFileBytes * 2)
            guard let a = r.answer, a.ok else { return .failure(failure(r)) }
            guard let b64 = a.json?["contentBytes"]?.stringValue, let data = Data(base64Encoded: b64) else {
                return .failure(DownloadFailure("the attachment answer has no contentBytes", retry: true))
            }
            return .success(DownloadedFile(bytes: Array(data), contentType: part.contentType, fileName: part.name))
        }
        let r = await client.call(.GET, path + "/$value", maxAnswerBytes: ProviderHTTP.maxDownloadBytes)
        guard let a = r.answer, a.ok else { return .failure(failure(r)) }
        let bytes = Array(a.body.readableBytesView)
        guard bytes.count <= Self.maxStoredBytes else {
            return .failure(DownloadFailure("the file is more than \(Self.maxStoredBytes) bytes", retry: false))
        }
        return .success(DownloadedFile(bytes: bytes, contentType: part.contentType, fileName: part.name))
    }

    func failure(_ r: GraphResult) -> DownloadFailure {
        switch r {
        case .answered(let a):
            return DownloadFailure("attachment: \(a.errorText)", retry: a.status == 429 || a.status >= 500 || a.status == 401)
        default:
            return DownloadFailure("attachment: \(r.description)", retry: true)
        }
    }
}
