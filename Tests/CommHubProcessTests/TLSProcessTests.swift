import AsyncHTTPClient
import CommHubServer
import CommHubWire
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
    static func certificate(in dir: String, name: String = "") throws -> (cert: String, key: String) {
        let cert = dir + "/cert\(name).pem", key = dir + "/key\(name).pem"
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

    /// A client that trusts only `cert`, with short timeouts.
    static func client(trusting cert: String) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(cert))
        return HTTPClient(eventLoopGroupProvider: .singleton,
                          configuration: .init(tlsConfiguration: tls, timeout: .init(connect: .seconds(5), read: .seconds(10))))
    }

    static func healthy(_ client: HTTPClient, _ url: String) async -> Bool {
        (try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10)).status) == .ok
    }

    /// The TCP ingest port requires TLS when `serve` has a certificate: a
    /// plain client gets no welcome, a `commhub gateway --engine-tls` checking
    /// the engine's certificate connects with its token and serves its own
    /// webhooks over HTTPS; a gateway trusting another certificate never connects.
    @Test func theIngestPortRequiresTLSAndAGatewayConnectsOverIt() async throws {
        let dir = NSTemporaryDirectory() + "commhub-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (cert, key) = try Self.certificate(in: dir)
        let (otherCert, _) = try Self.certificate(in: dir, name: "-other")
        let token = "chub_tls-test-token-0123456789"
        let server = try ServerProcess(data: dir + "/data", token: token, extra: ["--tls-cert", cert, "--tls-key", key, "--no-gateway"])
        try await server.waitReady()
        #expect(server.log.contains("CommHub ingest tcp://127.0.0.1:\(server.ingestPort) (TLS required)"))
        let https = try Self.client(trusting: cert)
        do {
            // A plain-TCP hello gets no welcome frame: the TLS handshake fails first.
            let hello = IngestProtocol.Frame(kind: .hello, requestID: 0, payload: Array(#"{"token":"x","gateway":"plain","protocol":2}"#.utf8)).encoded()
            let reply = try await offThePool { try RawTCP.exchange(port: server.ingestPort, send: hello) }
            #expect(reply.isEmpty || reply[0] == 0x15, "plain TCP is not spoken: at most a TLS alert record comes back, got \(reply.prefix(16))")

            var request = HTTPClientRequest(url: "https://127.0.0.1:\(server.httpPort)/api/gateway-tokens")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: #"{"label":"tls gateway"}"#))
            let made = try await https.execute(request, timeout: .seconds(30))
            let body = try await made.body.collect(upTo: 1 << 16)
            let gatewayToken = try #require((try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])?["token"] as? String)

            let gateway = try GatewayProcess(engine: "tcp://127.0.0.1:\(server.ingestPort)", token: gatewayToken,
                                             extra: ["--engine-tls", "--engine-ca", cert, "--tls-cert", cert, "--tls-key", key])
            try await gateway.waitReady()
            #expect(gateway.log.contains("CommHub gateway serving https://127.0.0.1:\(gateway.httpPort)"))
            try await GatewayProcessTests.until("the gateway connects over TLS") {
                await Self.healthy(https, "https://127.0.0.1:\(gateway.httpPort)/healthz")
            }
            #expect(gateway.terminate() == 0)

            let distrusting = try GatewayProcess(engine: "tcp://127.0.0.1:\(server.ingestPort)", token: gatewayToken,
                                                 extra: ["--engine-tls", "--engine-ca", otherCert])
            try await distrusting.waitReady()
            try await Task.sleep(for: .seconds(2))
            let plainHTTP = HTTPClient(eventLoopGroupProvider: .singleton)
            let answer = try await plainHTTP.execute(HTTPClientRequest(url: "http://127.0.0.1:\(distrusting.httpPort)/healthz"), timeout: .seconds(10))
            #expect(answer.status == .serviceUnavailable, "a gateway that does not trust the engine's certificate never connects")
            try await plainHTTP.shutdown()
            #expect(distrusting.terminate() == 0)
        } catch {
            Issue.record("\(error)\n\(server.log.suffix(1500))")
        }
        try await https.shutdown()
        #expect(server.terminate() == 0)
    }

    /// SIGHUP reloads the certificate: later handshakes present the new one,
    /// and files that do not load leave the one in use serving.
    @Test func sighupReloadsTheCertificateAndABrokenRenewalKeepsTheOldOne() async throws {
        let dir = NSTemporaryDirectory() + "commhub-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (cert, key) = try Self.certificate(in: dir)
        let original = dir + "/original.pem"
        try FileManager.default.copyItem(atPath: cert, toPath: original)
        let server = try ServerProcess(data: dir + "/data", token: "chub_tls-test-token-0123456789",
                                       extra: ["--tls-cert", cert, "--tls-key", key])
        try await server.waitReady()
        let url = "https://127.0.0.1:\(server.httpPort)/healthz"
        let trustsOld = try Self.client(trusting: original)
        do {
            #expect(await Self.healthy(trustsOld, url))
            // A renewal: new key and certificate in place of the files, then SIGHUP.
            let (renewedCert, renewedKey) = try Self.certificate(in: dir, name: "-renewed")
            let renewed = dir + "/renewed-copy.pem"
            try FileManager.default.copyItem(atPath: renewedCert, toPath: renewed)
            #expect(rename(renewedCert, cert) == 0 && rename(renewedKey, key) == 0)
            let trustsNew = try Self.client(trusting: renewed)
            #expect(!(await Self.healthy(trustsNew, url)), "before SIGHUP the old certificate is presented")
            kill(server.process.processIdentifier, SIGHUP)
            try await GatewayProcessTests.until("the renewed certificate is presented") { await Self.healthy(trustsNew, url) }
            // A new client: the pooled connection of `trustsOld` was made before SIGHUP and keeps its certificate.
            let freshOld = try Self.client(trusting: original)
            #expect(!(await Self.healthy(freshOld, url)), "after SIGHUP the old certificate is no longer presented to new connections")
            try await freshOld.shutdown()

            // A broken renewal: the server keeps the pair in use and says so.
            try Data("-----BEGIN CERTIFICATE-----\nbroken\n".utf8).write(to: URL(fileURLWithPath: cert))
            kill(server.process.processIdentifier, SIGHUP)
            try await GatewayProcessTests.until("the failed reload is reported") { server.log.contains("TLS certificate not reloaded") }
            #expect(await Self.healthy(trustsNew, url), "a broken renewal leaves the working certificate serving")
            try await trustsNew.shutdown()
        } catch {
            Issue.record("\(error)\n\(server.log.suffix(1500))")
        }
        try await trustsOld.shutdown()
        #expect(server.terminate() == 0)
    }

    @Test func aNonLoopbackIngestPortWithoutTLSIsRefused() async throws {
        let dir = NSTemporaryDirectory() + "commhub-tls-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(data: dir + "/data", token: "chub_tls-test-token-0123456789", extra: ["--ingest-host", "0.0.0.0"])
        await #expect(throws: (any Error).self) { try await server.waitReady(timeout: .seconds(30)) }
        #expect(server.log.contains("--ingest-host 0.0.0.0 is not loopback"), "\(server.log.prefix(400))")
    }
}

/// One blocking exchange on a TCP connection to 127.0.0.1: sends, then reads until the peer closes or 5 s pass.
enum RawTCP {
    static func exchange(port: Int, send: [UInt8]) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ProcessFailure("socket") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { throw ProcessFailure("connect: errno \(errno)") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = send.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[..<n]
        }
        return out
    }
}
