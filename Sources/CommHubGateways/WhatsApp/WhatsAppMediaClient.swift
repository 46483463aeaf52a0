import AsyncHTTPClient
import CommHubDomain
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// A file downloaded from a provider.
public struct DownloadedFile: Sendable {
    public var bytes: [UInt8]
    public var contentType: String
    public var fileName: String?
}

/// Why a download did not give a file; `retry` says whether trying again later may help.
public struct DownloadFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
    public let retry: Bool
    public init(_ description: String, retry: Bool) {
        self.description = description
        self.retry = retry
    }
}

/// Downloads and uploads WhatsApp media through the Cloud API:
/// `GET {base}/{media-id}` gives a short-lived URL (`url`, `mime_type`,
/// `sha256`, `file_size`), which is fetched with the same bearer token;
/// `POST {base}/{phone-number-id}/media` (multipart) uploads a file for an
/// outgoing message and gives its media id.
public struct WhatsAppMediaClient: Sendable {
    public let http: ProviderHTTP

    public init(http: ProviderHTTP) { self.http = http }

    public func download(mediaID: String, channel: GatewayChannelSettings) async throws(DownloadFailure) -> DownloadedFile {
        guard let token = channel.secrets["access_token"], !token.isEmpty else {
            throw DownloadFailure("the channel has no access_token", retry: false)
        }
        let base = (channel.string("graph_base_url") ?? WhatsAppOutbound.defaultBaseURL).trimmingSuffix("/")
        var lookup = HTTPClientRequest(url: "\(base)/\(mediaID)")
        lookup.headers.add(name: "Authorization", value: "Bearer \(token)")
        let info: [String: JSONValue]
        switch await http.call(lookup) {
        case .answered(let status, _, let body) where (200..<300).contains(status):
            guard let v = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)), let o = v.objectValue else {
                throw DownloadFailure("the media lookup answered no JSON object", retry: true)
            }
            info = o
        case .answered(let status, _, let body):
            let why = WhatsAppOutbound.APIError.parse(body)?.text ?? "HTTP \(status)"
            throw DownloadFailure("media lookup: \(why)", retry: status >= 500 || status == 429)
        case .notSent(let reason), .unknown(let reason):
            throw DownloadFailure("media lookup: \(reason)", retry: true)
        }
        guard let url = info["url"]?.stringValue, url.hasPrefix("http") else {
            throw DownloadFailure("the media lookup named no url", retry: true)
        }
        if case .number(let size)? = info["file_size"], size > Double(ProviderHTTP.maxDownloadBytes) {
            throw DownloadFailure("the file is \(Int(size)) bytes, more than \(ProviderHTTP.maxDownloadBytes)", retry: false)
        }
        var fetch = HTTPClientRequest(url: url)
        fetch.headers.add(name: "Authorization", value: "Bearer \(token)")
        switch await http.call(fetch, maxAnswerBytes: ProviderHTTP.maxDownloadBytes) {
        case .answered(let status, let headers, let body) where (200..<300).contains(status):
            let bytes = Array(body.readableBytesView)
            if let expected = info["sha256"]?.stringValue?.lowercased(), !expected.isEmpty {
                let got = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
                guard got == expected else { throw DownloadFailure("the file does not match Meta's sha256 (cut short?)", retry: true) }
            }
            let type = info["mime_type"]?.stringValue ?? headers.first(name: "Content-Type") ?? "application/octet-stream"
            return DownloadedFile(bytes: bytes, contentType: type, fileName: nil)
        case .answered(let status, _, _):
            // The URL lives five minutes: a retry looks the media up again.
            throw DownloadFailure("media download answered \(status)", retry: status >= 400)
        case .notSent(let reason), .unknown(let reason):
            throw DownloadFailure("media download: \(reason)", retry: true)
        }
    }

    /// Uploads a file for an outgoing message; returns Meta's media id.
    public func upload(_ file: DownloadedFile, channel: GatewayChannelSettings) async -> Result<String, DeliveryReportError> {
        guard let token = channel.secrets["access_token"], let phoneNumberID = channel.string("phone_number_id") else {
            return .failure(.init(report: .failed(code: "configuration", reason: "the channel has no access_token or phone_number_id")))
        }
        let base = (channel.string("graph_base_url") ?? WhatsAppOutbound.defaultBaseURL).trimmingSuffix("/")
        let boundary = "commhub-\(UUID().uuidString)"
        var body = ByteBuffer()
        func field(_ name: String, _ value: String) {
            body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
        }
        field("messaging_product", "whatsapp")
        field("type", file.contentType)
        let name = (file.fileName ?? "file").replacingOccurrences(of: "\"", with: "")
        body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(name)\"\r\nContent-Type: \(file.contentType)\r\n\r\n")
        body.writeBytes(file.bytes)
        body.writeString("\r\n--\(boundary)--\r\n")
        var request = HTTPClientRequest(url: "\(base)/\(phoneNumberID)/media")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        request.body = .bytes(body)
        switch await http.call(request) {
        case .answered(let status, _, let answer) where (200..<300).contains(status):
            guard let v = try? JSONDecoder().decode(JSONValue.self, from: Data(answer.readableBytesView)),
                  let id = v.objectValue?["id"]?.stringValue, !id.isEmpty else {
                return .failure(.init(report: .unknown(reason: "the media upload answered without an id")))
            }
            return .success(id)
        case .answered(let status, let headers, let answer):
            let e = WhatsAppOutbound.APIError.parse(answer)
            return .failure(.init(report: ProviderHTTP.genericReport(status: status, headers: headers, code: e?.code.map(String.init),
                                                                     reason: "media upload: \(e?.text ?? "HTTP \(status)")", now: Date())))
        case .notSent(let reason):
            // Nothing was sent yet (the message itself goes after the upload): retry it all later.
            return .failure(.init(report: .retryAfter(until: Date().addingTimeInterval(30), code: "connect", reason: "media upload: \(reason)")))
        case .unknown(let reason):
            // An unknown upload is harmless (the message was not sent): retry it all later.
            return .failure(.init(report: .retryAfter(until: Date().addingTimeInterval(30), code: "upload", reason: "media upload: \(reason)")))
        }
    }
}

/// A report that ends a send before the message itself went out.
public struct DeliveryReportError: Error, Sendable {
    public let report: DeliveryReport
}
