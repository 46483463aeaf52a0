import AsyncHTTPClient
import CommHubDomain
import Foundation
import NIOCore
import NIOHTTP1

/// The target's HTTP API as the load test calls it: AsyncHTTPClient's
/// shared connection pool (kept-alive connections, so the latencies are the
/// server's and not the handshakes'), the bearer token on every call, JSON
/// bodies, and a deadline so that a stalled server fails the run instead of
/// hanging it.
struct TargetAPI: Sendable {
    /// Longest wait for one answer, connecting included.
    static let requestTimeoutSeconds: Int64 = 30
    /// Largest answer read; the inbox pages asked for are far smaller.
    static let maxResponseBytes = 16 << 20

    struct Answer: Sendable {
        var status: Int
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        /// The `items` of a list answer, as loosely typed JSON objects (empty when there are none).
        var items: [[String: Any]] {
            ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["items"] as? [[String: Any]] ?? []
        }
    }

    let base: String
    let token: String

    init(host: String, port: Int, token: String) {
        base = "http://\(host):\(port)"
        self.token = token
    }

    func call(_ method: HTTPMethod, _ path: String, json: JSONValue? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: Array(try ContractJSON.sharedEncoder.encode(json))))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Self.requestTimeoutSeconds))
        let body = try await response.body.collect(upTo: Self.maxResponseBytes)
        return Answer(status: Int(response.status.code), body: Data(body.readableBytesView))
    }
}
