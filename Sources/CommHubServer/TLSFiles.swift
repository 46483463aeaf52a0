import Foundation
import NIOSSL

/// The certificate chain and private key `serve --tls-cert --tls-key` reads
/// (PEM files), checked once at start by building a server TLS context, so
/// a wrong path, a key that does not fit or a broken file stops the start
/// with a message naming the file instead of failing on the first client.
///
/// Reload: the files are read at start; renewing a certificate means a
/// restart (a few seconds: the journal makes it lossless). Behind a reverse
/// proxy, leave both options off and let the proxy terminate TLS.
public enum TLSFiles {
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    public static func configuration(certificate: String, key: String) throws -> TLSConfiguration {
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
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                         privateKey: .privateKey(privateKey))
        c.minimumTLSVersion = .tlsv12
        do {
            _ = try NIOSSLContext(configuration: c)
        } catch {
            throw Problem(description: "--tls-cert and --tls-key do not make a usable TLS context (does the key fit the certificate?): \(error)")
        }
        return c
    }
}
