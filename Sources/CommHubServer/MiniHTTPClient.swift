import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small blocking HTTP/1.1 client (one keep-alive connection, JSON
/// bodies, Content-Length responses), for the load-test harness and
/// process-level tests that must not depend on the server's own stack.
public final class MiniHTTPClient: @unchecked Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        public func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(body)) }
    }

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    let host: String
    let port: Int
    private var fd: Int32 = -1
    private var pending: [UInt8] = []

    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }

    deinit { if fd >= 0 { close(fd) } }

    public func request(_ method: String, _ path: String, token: String? = nil, body: [UInt8]? = nil,
                        headers: [String: String] = [:]) throws -> Response {
        do {
            return try attempt(method, path, token, body, headers)
        } catch {
            // A keep-alive connection the server closed: reconnect once.
            disconnect()
            return try attempt(method, path, token, body, headers)
        }
    }

    public func json(_ method: String, _ path: String, token: String?, _ value: Any) throws -> Response {
        try request(method, path, token: token, body: Array(try JSONSerialization.data(withJSONObject: value)))
    }

    private func attempt(_ method: String, _ path: String, _ token: String?, _ body: [UInt8]?, _ headers: [String: String]) throws -> Response {
        if fd < 0 { try connectSocket() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        try writeAll(Array(head.utf8) + (body ?? []))
        return try readResponse()
    }

    private func connectSocket() throws {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let ai = res else { throw Failure(description: "cannot resolve \(host)") }
        defer { freeaddrinfo(res) }
        fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        guard connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
            let e = errno
            disconnect()
            throw Failure(description: "cannot connect to \(host):\(port): \(String(cString: strerror(e)))")
        }
        pending = []
    }

    private func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
        pending = []
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR { continue }; throw Failure(description: "send failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { if errno == EINTR { continue }; throw Failure(description: "recv failed: \(String(cString: strerror(errno)))") }
            if n == 0 { throw Failure(description: "connection closed") }
            pending += chunk[..<n]
            return
        }
    }

    private func readResponse() throws -> Response {
        let crlf2: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        while end == nil {
            if let r = find(crlf2, in: pending) { end = r } else { try fill() }
        }
        let head = String(decoding: pending[..<end!], as: UTF8.self)
        pending.removeFirst(end! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure(description: "bad status line") }
        var headers: [String: String] = [:]
        for l in lines {
            guard let colon = l.firstIndex(of: ":") else { continue }
            headers[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body: [UInt8] = []
        if let te = headers["transfer-encoding"], te.lowercased().contains("chunked") {
            while true {
                var lineEnd: Int?
                while lineEnd == nil { if let r = find([13, 10], in: pending) { lineEnd = r } else { try fill() } }
                let sizeText = String(decoding: pending[..<lineEnd!], as: UTF8.self).split(separator: ";")[0]
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw Failure(description: "bad chunk") }
                pending.removeFirst(lineEnd! + 2)
                while pending.count < size + 2 { try fill() }
                body += pending[..<size]
                pending.removeFirst(size + 2)
                if size == 0 { break }
            }
        } else {
            let length = Int(headers["content-length"] ?? "0") ?? 0
            while pending.count < length { try fill() }
            body = Array(pending[..<length])
            pending.removeFirst(length)
        }
        if headers["connection"]?.lowercased() == "close" { disconnect() }
        return Response(status: status, headers: headers, body: body)
    }

    private func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] {
            if Array(hay[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}

/// Runs blocking I/O (the small HTTP and admin clients) on a thread of its
/// own: blocking a thread of Swift's cooperative pool can starve the very
/// server the call is waiting for (on two cores the pool has two threads).
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
