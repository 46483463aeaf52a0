import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Testing

/// `serve --tls-cert --tls-key` terminates TLS itself: HTTPS with the
/// given certificate answers, plain HTTP on that port gets nothing, and
/// files that do not make a TLS context stop the start with a message
/// naming the option.
@Suite("TLS") struct TLSProcessTests {
    /// A self-signed certificate for 127.0.0.1 made with openssl, and its key.
    static func certificate(in dir: String) throws -> (cert: String, key: String) {
        let cert = dir + "/cert.pem", key = dir + "/key.pem"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                       "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "openssl could not make a test certificate")
        return (cert, key)
    }

    @Test func servesHTTPSWithTheGivenCertificateOnly() async throws {
        let dir = NSTemporaryDirectory() + "commhub-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (cert, key) = try Self.certificate(in: dir)
        let server = try ServerProcess(data: dir + "/data", token: "chub_tls-test-token-0123456789",
                                       extra: ["--tls-cert", cert, "--tls-key", key])
        try await server.waitReady()
        #expect(server.log.contains("CommHub serving https://127.0.0.1:\(server.httpPort)"))

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(cert))
        let trusting = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        let untrusting = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(5), read: .seconds(5))))
        do {
            var request = HTTPClientRequest(url: "https://127.0.0.1:\(server.httpPort)/api/communication/threads")
            request.headers.add(name: "Authorization", value: "Bearer chub_tls-test-token-0123456789")
            let ok = try await trusting.execute(request, timeout: .seconds(30))
            #expect(ok.status == .ok, "HTTPS with the served certificate answers")
            // A client that does not trust the certificate is refused in the handshake.
            await #expect(throws: (any Error).self) {
                _ = try await untrusting.execute(HTTPClientRequest(url: "https://127.0.0.1:\(server.httpPort)/healthz"), timeout: .seconds(10))
            }
            // Plain HTTP on the TLS port gets no HTTP answer.
            await #expect(throws: (any Error).self) {
                _ = try await untrusting.execute(HTTPClientRequest(url: "http://127.0.0.1:\(server.httpPort)/healthz"), timeout: .seconds(10))
            }
        } catch {
            Issue.record("\(error)")
        }
        try await trusting.shutdown()
        try await untrusting.shutdown()
        #expect(server.terminate() == 0)
    }

    @Test func unusableFilesStopTheStartNamingTheOption() async throws {
        let dir = NSTemporaryDirectory() + "commhub-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (cert, _) = try Self.certificate(in: dir)
        try Data("not a key".utf8).write(to: URL(fileURLWithPath: dir + "/broken.pem"))
        for (args, expected) in [(["--tls-cert", cert], "--tls-cert and --tls-key go together"),
                                 (["--tls-cert", dir + "/missing.pem", "--tls-key", dir + "/broken.pem"], "--tls-cert"),
                                 (["--tls-cert", cert, "--tls-key", dir + "/broken.pem"], "--tls-key")] {
            let server = try ServerProcess(data: dir + "/data", token: "chub_tls-test-token-0123456789", extra: args)
            await #expect(throws: (any Error).self) { try await server.waitReady(timeout: .seconds(30)) }
            #expect(server.log.contains(expected), "\(args): \(server.log.prefix(400))")
        }
    }
}
