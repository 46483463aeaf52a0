import CommHubDomain
import CommHubEngine
import Crypto
import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOCore

/// The web app's static files (HTML, CSS, JavaScript modules, icons, the
/// service worker), read once from the package's resources
/// (`Sources/CommHubServer/Web/Assets`) into memory. No build step: what is
/// in the folder is what the browser gets.
public struct WebAssets: Sendable {
    public struct File: Sendable {
        public let bytes: ByteBuffer
        public let contentType: String
        public let etag: String
    }

    /// By URL path: `/index.html`, `/assets/app.css`, `/sw.js`.
    public let files: [String: File]

    /// The folder the package ships; nil when the resource bundle is missing (a broken install).
    public static func load() -> WebAssets {
        guard let root = Bundle.module.resourceURL?.appendingPathComponent("Assets") else { return WebAssets(files: [:]) }
        return load(from: root)
    }

    public static func load(from root: URL) -> WebAssets {
        var files: [String: File] = [:]
        let base = root.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return WebAssets(files: [:])
        }
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true,
                  let data = FileManager.default.contents(atPath: url.path) else { continue }
            var relative = String(url.standardizedFileURL.path.dropFirst(base.count))
            if !relative.hasPrefix("/") { relative = "/" + relative }
            let digest = SHA256.hash(data: data).prefix(12).map { String(format: "%02x", $0) }.joined()
            files[relative] = File(bytes: ByteBuffer(bytes: data), contentType: contentType(url.pathExtension), etag: "\"\(digest)\"")
        }
        return WebAssets(files: files)
    }

    static func contentType(_ ext: String) -> String {
        switch ext.lowercased() {
        case "html": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "json": "application/json; charset=utf-8"
        case "webmanifest": "application/manifest+json"
        default: "application/octet-stream"
        }
    }

    /// The app's pages run only CommHub's own scripts and styles, connect
    /// only to CommHub (its API and WebSocket), load images only from
    /// CommHub or the page itself (`data:`/`blob:` previews), and may not be
    /// framed. Mail HTML is shown in `<iframe sandbox srcdoc>`: a srcdoc frame
    /// inherits this policy, so a mail can load nothing remote and, without
    /// `allow-scripts`, runs nothing. Inline styles are refused too, so the
    /// app never depends on them (and neither do mails' `style` attributes).
    public static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
        "media-src 'self' blob:", "connect-src 'self'", "font-src 'none'", "object-src 'none'", "frame-src 'none'",
        "worker-src 'self'", "manifest-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    /// The answer for a file, with its security headers; 304 when the browser's copy is current.
    func response(_ file: File, request: Request, extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: file.contentType, .cacheControl: "no-cache", .eTag: file.etag]
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        if file.contentType.hasPrefix("text/html") {
            headers[HTTPField.Name("Content-Security-Policy")!] = Self.contentSecurityPolicy
            headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
            headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
            headers[HTTPField.Name("Permissions-Policy")!] = "camera=(self), microphone=(self), geolocation=(), payment=()"
        }
        for f in extra { headers[f.name] = f.value }
        if request.headers[.ifNoneMatch] == file.etag {
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: file.bytes))
    }
}

/// Serves the static files under `/assets/`, and `/sw.js` and
/// `/manifest.webmanifest` at the root (a service worker controls only
/// pages below its own path). A middleware, not routes: the set of files is
/// the folder's, and the API's contract lists only `GET /`.
struct WebAssetsMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let assets: WebAssets

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard request.method == .get || request.method == .head,
              path.hasPrefix("/assets/") || path == "/sw.js" || path == "/manifest.webmanifest",
              !path.contains(".."), let file = assets.files[path] else {
            return try await next(request, context)
        }
        let extra: HTTPFields = path == "/sw.js" ? [HTTPField.Name("Service-Worker-Allowed")!: "/"] : [:]
        return assets.response(file, request: request, extra: extra)
    }
}
