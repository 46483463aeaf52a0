import CommHubDomain
@testable import CommHubServer
import Foundation
import Testing

/// The HTTP edge over raw sockets: what a client library would never send
/// (malformed requests, oversized heads, silence), answered as HTTP/1.1
/// says and with the connection closed.
@Suite("HTTP edge") struct HTTPEdgeTests {
    /// Sends `request` on a fresh connection and reads until the server closes (or 10 s pass).
    static func raw(_ live: Live, _ request: String) async throws -> (text: String, closed: Bool) {
        let s = try await RawSocket.tcp(port: live.port)
        defer { s.close() }
        await s.send(Array(request.utf8))
        let r = await s.readToEnd(seconds: 10)
        return (String(decoding: r.bytes, as: UTF8.self), r.closed)
    }

    @Test func malformedHTTPGets400AndTheConnectionIsClosed() async throws {
        try await Harness.run { live in
            for request in ["GARBAGE\r\n\r\n",
                            "GET /healthz HTTP/1.1\r\nBad Header : x\r\n\r\n",
                            "GET /healthz HTTP/9.x\r\n\r\n",
                            "\u{1}\u{2}\u{3}\u{4}\r\n\r\n"] {
                let r = try await Self.raw(live, request)
                #expect(r.text.hasPrefix("HTTP/1.1 400"), "\(request.debugDescription): \(r.text.debugDescription)")
                #expect(r.text.contains(#""code":"bad_request""#), "\(r.text)")
                #expect(r.closed, "\(request.debugDescription): the connection must be closed")
            }
            // The server is fine afterwards.
            let health = try await Self.raw(live, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(health.text.hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test func headersOverTheLimitGet431AndClose() async throws {
        var options = HTTPOptions.unlimited
        options.maxHeaderBytes = 16 * 1024
        try await Harness.run(options: options) { live in
            let under = try await Self.raw(live, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 8 * 1024))\r\nConnection: close\r\n\r\n")
            #expect(under.text.hasPrefix("HTTP/1.1 200"), "\(under.text.prefix(200))")
            let over = try await Self.raw(live, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 20 * 1024))\r\n\r\n")
            #expect(over.text.hasPrefix("HTTP/1.1 431"), "\(over.text.prefix(200))")
            #expect(over.closed)
            let many = (0..<200).map { "X-H\($0): v" }.joined(separator: "\r\n")
            let tooMany = try await Self.raw(live, "GET /healthz HTTP/1.1\r\nHost: x\r\n\(many)\r\n\r\n")
            #expect(tooMany.text.hasPrefix("HTTP/1.1 4"), "\(tooMany.text.prefix(200))")
            #expect(tooMany.closed)
        }
    }

    @Test func aSlowOrSilentClientIsTimedOut() async throws {
        // Two servers: a short head deadline with a long idle timeout, then the other way round, so a
        // busy machine that takes a moment to parse a complete head never meets the other timer.
        var headOptions = HTTPOptions.unlimited
        headOptions.requestHeadTimeoutSeconds = 0.5
        headOptions.idleTimeoutSeconds = 30
        try await Harness.run(options: headOptions) { live in
            // Nothing at all, then half a head: 408 and closed.
            for partial in ["", "GET /healthz HTTP/1.1\r\nHo"] {
                let r = try await Self.raw(live, partial)
                #expect(r.text.hasPrefix("HTTP/1.1 408"), "\(partial.debugDescription): \(r.text.debugDescription)")
                #expect(r.closed)
            }
        }
        var options = HTTPOptions.unlimited
        options.requestHeadTimeoutSeconds = 30
        options.idleTimeoutSeconds = 0.5
        try await Harness.run(options: options) { live in
            // A keep-alive connection that goes quiet after its answer is closed.
            let s = try await RawSocket.tcp(port: live.port)
            defer { s.close() }
            await s.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let idle = await s.readToEnd(seconds: 10)
            #expect(String(decoding: idle.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            #expect(idle.closed, "closed after the idle timeout")

            // A body that stops arriving: the connection is closed after the idle timeout, and nothing is stored.
            let before = live.env.lastSeq
            let body = try await RawSocket.tcp(port: live.port)
            defer { body.close() }
            await body.send(Array(("POST /api/communication/threads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(Harness.adminToken)\r\n"
                + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"thread_su").utf8))
            let slow = await body.readToEnd(seconds: 10)
            #expect(slow.closed, "closed: \(String(decoding: slow.bytes, as: UTF8.self).debugDescription)")
            #expect(live.env.lastSeq == before)
        }
    }
}
