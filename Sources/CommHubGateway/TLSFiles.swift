import Foundation
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The certificate chain and private key that `serve` and `gateway` read
/// (`--tls-cert`, `--tls-key`, PEM files), checked by building a server TLS
/// context, so a wrong path, a key that does not fit or a broken file stops
/// the start with a message naming the option instead of failing on the
/// first client.
///
/// Reload: `reload()` (on SIGHUP, `TLSReloadOnHangup`) reads both files
/// again and, when they make a usable context, every handshake from then on
/// presents the new pair (through NIOSSL's per-handshake context callback);
/// connections already open keep theirs. Files that do not load leave the
/// pair in use unchanged and are reported, so a half-copied renewal cannot
/// take the server down. Behind a reverse proxy, leave both options off.
public final class TLSCertificates: Sendable {
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    struct Pair: Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
    }

    public let certificatePath: String
    public let keyPath: String
    private let pair: Mutex<Pair>
    /// How many times new files were taken in (for logs and tests).
    private let reloads = Mutex(0)

    public init(certificate: String, key: String) throws {
        certificatePath = certificate
        keyPath = key
        pair = Mutex(try Self.load(certificate: certificate, key: key))
    }

    static func load(certificate: String, key: String) throws -> Pair {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw Problem(description: "--tls-cert \(certificate): not a readable PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw Problem(description: "--tls-cert \(certificate): no certificate in the file") }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw Problem(description: "--tls-key \(key): not a readable PEM private key (\(error))")
        }
        do {
            _ = try NIOSSLContext(configuration: plainConfiguration(Pair(chain: chain, key: privateKey)))
        } catch {
            throw Problem(description: "--tls-cert and --tls-key do not make a usable TLS context (does the key fit the certificate?): \(error)")
        }
        return Pair(chain: chain, key: privateKey)
    }

    static func plainConfiguration(_ p: Pair) -> TLSConfiguration {
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: p.chain.map { .certificate($0) },
                                                         privateKey: .privateKey(p.key))
        c.minimumTLSVersion = .tlsv12
        return c
    }

    /// Reads the files again; the new pair serves every later handshake.
    /// Throws (and keeps the pair in use) when they do not load.
    public func reload() throws {
        let fresh = try Self.load(certificate: certificatePath, key: keyPath)
        pair.withLock { $0 = fresh }
        reloads.withLock { $0 += 1 }
    }

    public var reloadCount: Int { reloads.withLock { $0 } }

    /// A server configuration whose handshakes present the pair current at that moment.
    public var serverConfiguration: TLSConfiguration {
        var c = Self.plainConfiguration(pair.withLock { $0 })
        c.sslContextCallback = { [self] _, promise in
            let p = pair.withLock { $0 }
            var o = NIOSSLContextConfigurationOverride()
            o.certificateChain = p.chain.map { .certificate($0) }
            o.privateKey = .privateKey(p.key)
            promise.succeed(o)
        }
        return c
    }

    /// A server context for raw NIO pipelines (the ingest port).
    public func serverContext() throws -> NIOSSLContext { try NIOSSLContext(configuration: serverConfiguration) }
}

/// Reloads TLS certificates on SIGHUP (`kill -HUP <pid>` after renewing
/// them, as nginx and HAProxy do), logging what happened.
public struct TLSReloadOnHangup: Service {
    let certificates: [TLSCertificates]
    let logger: Logger

    public init(certificates: [TLSCertificates], logger: Logger) {
        self.certificates = certificates
        self.logger = logger
    }

    public func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        try? await cancelWhenGracefulShutdown {
            for await _ in hangups {
                for c in certificates {
                    do {
                        try c.reload()
                        logger.notice("TLS certificate reloaded", metadata: ["tls.certificate": "\(c.certificatePath)"])
                    } catch {
                        logger.error("TLS certificate not reloaded; the previous one stays in use",
                                     metadata: ["tls.certificate": "\(c.certificatePath)", "error": "\(error)"])
                    }
                }
            }
        }
    }
}
