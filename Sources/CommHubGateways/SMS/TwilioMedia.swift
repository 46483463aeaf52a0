import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The account credentials for Twilio's media URLs, and the one origin they
/// may be sent to (the channel's `api_base_url`, `https://api.twilio.com`
/// by default). A media URL elsewhere is fetched without them.
public struct TwilioCredentials: Sendable {
    public var accountSid: String
    public var authToken: String
    public var apiBaseURL: String

    public init(accountSid: String, authToken: String, apiBaseURL: String) {
        self.accountSid = accountSid
        self.authToken = authToken
        self.apiBaseURL = apiBaseURL
    }

    var basicAuthorization: String { "Basic " + Data("\(accountSid):\(authToken)".utf8).base64EncodedString() }

    /// Whether `url` is on the API's origin (scheme, host and port alike).
    func mayReceive(_ url: String) -> Bool {
        guard let a = Origin(url), let b = Origin(apiBaseURL) else { return false }
        return a == b
    }

    struct Origin: Equatable {
        var scheme: String
        var host: String
        var port: Int

        init?(_ text: String) {
            guard let u = URL(string: text), let scheme = u.scheme?.lowercased(), let host = u.host?.lowercased(),
                  scheme == "http" || scheme == "https" else { return nil }
            self.scheme = scheme
            self.host = host
            port = u.port ?? (scheme == "https" ? 443 : 80)
        }
    }
}

/// Downloads one media file of an incoming MMS, once.
///
/// `GET MediaUrl{N}` with HTTP Basic auth (`AccountSid:AuthToken`) when the
/// URL is on the API's origin — Twilio requires it on accounts that enforce
/// media authentication and ignores it otherwise. Twilio answers with a
/// redirect to its media host (a pre-signed URL); exactly one redirect is
/// followed, and the credentials are never sent there (the media host is
/// another party, and pre-signed storage refuses requests that carry both).
public struct TwilioMediaDownloader: Sendable {
    public let http: ProviderHTTP
    /// Largest file downloaded; a larger one is given up (the attachment keeps Twilio's URL).
    public let maxMediaBytes: Int
    /// Redirects followed at most.
    public static let maxRedirects = 1
    /// The longest one download may take, connecting through reading the last byte.
    public static let downloadDeadline: TimeAmount = .seconds(300)

    public init(http: ProviderHTTP, maxMediaBytes: Int = ProviderHTTP.maxDownloadBytes) {
        self.http = http
        self.maxMediaBytes = max(0, maxMediaBytes)
    }

    public enum Outcome: Sendable, Equatable {
        case downloaded(bytes: [UInt8], contentType: String?)
        /// Worth another try later (no connection, timeout, 408, 429, 5xx).
        case retryLater(String)
        /// Another try would get the same answer (404, 401, 403, too large, a second redirect).
        case gaveUp(String)
    }

    /// One attempt. Reasons never include a URL: a pre-signed one is a credential.
    public func download(_ url: String, credentials: TwilioCredentials?) async -> Outcome {
        var current = url
        var authorized = credentials?.mayReceive(url) ?? false
        for hop in 0...Self.maxRedirects {
            var request = HTTPClientRequest(url: current)
            request.method = .GET
            if authorized, let credentials { request.headers.add(name: "Authorization", value: credentials.basicAuthorization) }
            let response: HTTPClientResponse
            do {
                response = try await http.client.execute(request, timeout: Self.downloadDeadline)
            } catch {
                return .retryLater("the media request failed: \(Self.describe(error))")
            }
            let status = Int(response.status.code)
            if [301, 302, 303, 307, 308].contains(status) {
                await Self.discard(response)
                guard hop < Self.maxRedirects else { return .gaveUp("more than \(Self.maxRedirects) redirect") }
                guard let location = response.headers.first(name: "Location"),
                      let next = URL(string: location, relativeTo: URL(string: current))?.absoluteURL,
                      ["http", "https"].contains(next.scheme?.lowercased() ?? "") else {
                    return .gaveUp("a redirect (HTTP \(status)) without a usable http(s) Location")
                }
                current = next.absoluteString
                authorized = false  // never to the media host
                continue
            }
            guard (200..<300).contains(status) else {
                await Self.discard(response)
                if status == 408 || status == 429 || status >= 500 { return .retryLater("the media host answered HTTP \(status)") }
                return .gaveUp("the media host answered HTTP \(status)"
                               + (status == 401 ? " (check the channel's account_sid and auth_token)" : ""))
            }
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > maxMediaBytes {
                await Self.discard(response)
                return .gaveUp("the file has \(length) bytes; at most \(maxMediaBytes) are downloaded")
            }
            do {
                let body = try await response.body.collect(upTo: maxMediaBytes)
                return .downloaded(bytes: Array(body.readableBytesView), contentType: response.headers.first(name: "Content-Type"))
            } catch is NIOTooManyBytesError {
                return .gaveUp("the file is larger than \(maxMediaBytes) bytes")
            } catch {
                return .retryLater("the download broke off: \(Self.describe(error))")
            }
        }
        return .gaveUp("more than \(Self.maxRedirects) redirect")
    }

    /// Reads and drops a small answer body, so the connection can be reused.
    static func discard(_ response: HTTPClientResponse) async {
        _ = try? await response.body.collect(upTo: 64 * 1024)
    }

    static func describe(_ error: any Error) -> String {
        String(String(describing: error).prefix(300))
    }
}

extension TwilioMediaDownloader {
    /// One attempt for the gateway's `MediaFetcher`: the file, or a failure
    /// that says whether trying again later may help. The content type is
    /// Twilio's `MediaContentType{N}` (the media host does not always repeat it).
    public func file(_ media: TwilioMedia, credentials: TwilioCredentials?) async throws(DownloadFailure) -> DownloadedFile {
        switch await download(media.url, credentials: credentials) {
        case .downloaded(let bytes, _):
            return DownloadedFile(bytes: bytes, contentType: media.contentType, fileName: media.fileName)
        case .retryLater(let reason):
            throw DownloadFailure(reason, retry: true)
        case .gaveUp(let reason):
            throw DownloadFailure(reason, retry: false)
        }
    }
}
