import CommHubServer
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// A plain POSIX stream socket for tests that must control exactly which
/// bytes go out and whether answers are read at all (hostile clients).
/// Blocking calls run on their own threads (`RawSocket.blocking`), never
/// on the Swift concurrency pool the server needs.
final class RawSocket: @unchecked Sendable {
    let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    struct Failure: Error, CustomStringConvertible { let description: String }

    static func tcp(port: Int, receiveBufferBytes: Int? = nil) async throws -> RawSocket {
        try await blocking {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
            let s = RawSocket(fd: fd)
            if let receiveBufferBytes { s.setReceiveBuffer(receiveBufferBytes) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let r = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard r == 0 else { _ = Glibc.close(fd); throw Failure(description: "connect to port \(port): errno \(errno)") }
            return s
        }
    }

    static func unix(path: String) async throws -> RawSocket {
        try await blocking {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { _ = Glibc.close(fd); throw Failure(description: "path too long") }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in bytes.enumerated() { raw[i] = b }
            }
            let r = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard r == 0 else { _ = Glibc.close(fd); throw Failure(description: "connect to \(path): errno \(errno)") }
            return RawSocket(fd: fd)
        }
    }

    func setReceiveBuffer(_ bytes: Int) {
        var v = Int32(bytes)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Sends everything (blocking until the peer's buffers take it); false when the peer closed.
    @discardableResult
    func send(_ bytes: [UInt8]) async -> Bool {
        await RawSocket.blockingValue { self.sendNow(bytes) }
    }

    func sendNow(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    /// Reads until the peer closes (or `seconds` pass): everything received, and whether the peer closed.
    func readToEnd(seconds: Double = 10) async -> (bytes: [UInt8], closed: Bool) {
        await RawSocket.blockingValue { self.readNow(until: { _ in false }, seconds: seconds) }
    }

    /// Reads until `enough` says so, the peer closes, or `seconds` pass.
    func read(seconds: Double = 10, until enough: @escaping @Sendable ([UInt8]) -> Bool) async -> (bytes: [UInt8], closed: Bool) {
        await RawSocket.blockingValue { self.readNow(until: enough, seconds: seconds) }
    }

    private func readNow(until enough: ([UInt8]) -> Bool, seconds: Double) -> (bytes: [UInt8], closed: Bool) {
        var out: [UInt8] = []
        let deadline = Date().addingTimeInterval(seconds)
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 50)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR || errno == EAGAIN { continue }
            if n <= 0 { return (out, true) }
            out += chunk[..<n]
            if enough(out) { return (out, false) }
        }
        return (out, false)
    }

    /// Wakes any thread blocked on this socket, then closes it.
    func close() {
        _ = shutdown(fd, Int32(SHUT_RDWR))
        _ = Glibc.close(fd)
    }

    /// Runs blocking socket work on its own thread.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            Thread { c.resume(with: Result { try body() }) }.start()
        }
    }

    static func blockingValue<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { c in
            Thread { c.resume(returning: body()) }.start()
        }
    }
}

/// The frames in `bytes` (complete ones only).
func ingestFrames(_ bytes: [UInt8]) -> [IngestProtocol.Frame] {
    var reader = IngestProtocol.FrameReader()
    reader.append(bytes)
    var out: [IngestProtocol.Frame] = []
    while let f = try? reader.next(maxFrameBytes: IngestProtocol.maxFrame) { out.append(f) }
    return out
}

extension IngestProtocol.Frame {
    var errorCode: String? {
        guard kind == IngestProtocol.Kind.error.rawValue,
              let o = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any],
              let e = o["error"] as? [String: Any] else { return nil }
        return e["code"] as? String
    }

    var text: String { String(decoding: payload, as: UTF8.self) }
}

/// Polls `condition` every 20 ms for up to `seconds`; records an issue when it never holds.
@discardableResult
func eventually(_ what: String, seconds: Double = 10, sourceLocation: SourceLocation = #_sourceLocation,
                _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
    return false
}
