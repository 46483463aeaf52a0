import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The process tests' HTTP client: AsyncHTTPClient (a production client
/// stack, not the server's own) against one `commhub serve` on loopback.
/// An answer carries status, headers, body and a JSON view, so that each
/// assertion stays one line. Every call has a deadline: a server that
/// stops answering fails the test instead of hanging it.
struct HTTPTestClient: Sendable {
    /// Longest wait for one answer, connecting included. Generous: a full
    /// disk holds a request until space comes back (DiskFullTests).
    static let timeoutSeconds: Int64 = 60
    /// Largest answer read (thread lists of a crash run are far smaller).
    static let maxResponseBytes = 64 << 20

    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(body)) }
    }

    let base: String

    init(host: String = "127.0.0.1", port: Int) {
        base = "http://\(host):\(port)"
    }

    /// `method path` with an optional bearer token and JSON body.
    func request(_ method: String, _ path: String, token: String? = nil, body: [UInt8]? = nil,
                 headers: [String: String] = [:]) async throws -> Response {
        var request = HTTPClientRequest(url: base + path)
        request.method = HTTPMethod(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Self.timeoutSeconds))
        let bytes = try await response.body.collect(upTo: Self.maxResponseBytes)
        return Response(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
    }

    /// `method path` with `value` (anything JSONSerialization takes) as the body.
    func json(_ method: String, _ path: String, token: String?, _ value: Any) async throws -> Response {
        try await request(method, path, token: token, body: Array(try JSONSerialization.data(withJSONObject: value)))
    }
}
