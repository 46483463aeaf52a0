import ArgumentParser
import CommHubGateway
import Foundation
import Logging
import NIOSSL
import ServiceLifecycle

/// `commhub gateway`: a stateless gateway process beside the engine.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Serve provider webhooks and deliver outgoing messages for a running engine.",
        discussion: """
        The gateway keeps nothing on disk: it learns the channels (secrets included, in memory only) over its \
        authenticated connection to the engine and follows changes live. While the engine is away it answers \
        webhooks with 503, so providers retry, and reconnects with backoff. Run the engine with \
        `commhub serve --no-gateway` to leave all gateway work to processes like this one.
        """)

    @Option(help: "The engine's ingest protocol: tcp://HOST:PORT or unix:PATH.") var engine: String
    @Option(help: "A gateway token (POST /api/gateway-tokens). Prefer the environment: COMMHUB_GATEWAY_TOKEN.")
    var token: String?
    @Option(help: "HTTP address for the provider webhooks.") var httpHost = "127.0.0.1"
    @Option(help: "HTTP port for the provider webhooks (0 picks a free one).") var httpPort = 8090
    @Option(help: "This gateway's name in claims and logs (default: host and process id).") var name: String?
    @Option(help: "Outgoing sends in flight per channel.") var concurrency = 4
    @Option(help: "Seconds to connect to a provider before the send counts as not sent (and is retried).")
    var providerConnectTimeout = 5
    @Option(help: "Seconds to wait for a provider's answer after the request was written (then the outcome is unknown).")
    var providerReadTimeout = 30
    @Option(help: "Seconds a claim is leased (default: connect + read timeout + 60). A claim not reported in time becomes 'delivery unknown'.")
    var leaseSeconds: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"
    @Flag(help: "Speak TLS to a tcp:// engine (whose `serve` has --tls-cert/--tls-key); its certificate is checked.")
    var engineTLS = false
    @Option(help: "PEM trust roots for the engine's certificate (default: the system's).") var engineCA: String?
    @Option(help: "PEM certificate chain: serve the webhooks over HTTPS (with --tls-key; reloaded on SIGHUP).") var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert.") var tlsKey: String?

    func validate() throws {
        guard let endpoint = EngineEndpoint(engine) else { throw ValidationError("--engine must be tcp://HOST:PORT or unix:PATH") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        if engineCA != nil, !engineTLS { throw ValidationError("--engine-ca needs --engine-tls") }
        if engineTLS, case .unix = endpoint { throw ValidationError("--engine-tls needs a tcp:// engine (a Unix socket stays on this machine)") }
        guard (0...65_535).contains(httpPort) else { throw ValidationError("--http-port must be 0 to 65535") }
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be 1 to 64") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be trace, debug, info, notice, warning or error") }
        guard (1...60).contains(providerConnectTimeout) else { throw ValidationError("--provider-connect-timeout must be 1 to 60 seconds") }
        guard (1...300).contains(providerReadTimeout) else { throw ValidationError("--provider-read-timeout must be 1 to 300 seconds") }
        if let lease = leaseSeconds {
            guard (5...600).contains(lease) else { throw ValidationError("--lease-seconds must be 5 to 600") }
            guard lease > providerConnectTimeout + providerReadTimeout else {
                throw ValidationError("--lease-seconds must be longer than the connect and read timeouts together, or a send could outlive its lease")
            }
        }
    }

    func run() async throws {
        var logger = Logger(label: "commhub.gateway")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        guard let secret = token ?? ProcessInfo.processInfo.environment["COMMHUB_GATEWAY_TOKEN"], !secret.isEmpty else {
            throw ValidationError("give a gateway token with --token or COMMHUB_GATEWAY_TOKEN")
        }
        let endpoint = EngineEndpoint(engine)!
        let gatewayName = name ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        var engineTLSContext: NIOSSLContext?
        if engineTLS {
            var c = TLSConfiguration.makeClientConfiguration()
            c.minimumTLSVersion = .tlsv12
            if let engineCA {
                do {
                    c.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(engineCA))
                } catch {
                    throw ValidationError("--engine-ca \(engineCA): not a readable PEM certificate file (\(error))")
                }
            }
            engineTLSContext = try NIOSSLContext(configuration: c)
        }
        var certificates: TLSCertificates?
        if let tlsCert, let tlsKey {
            do {
                certificates = try TLSCertificates(certificate: tlsCert, key: tlsKey)
            } catch let e as TLSCertificates.Problem {
                throw ValidationError(e.description)
            }
        }
        let gateway = Gateway(endpoint: endpoint, token: secret, name: gatewayName, logger: logger,
                              providerTimeouts: (.seconds(providerConnectTimeout), .seconds(providerReadTimeout)),
                              leaseSeconds: leaseSeconds, concurrencyPerChannel: concurrency, engineTLS: engineTLSContext)
        let scheme = certificates == nil ? "http" : "https"
        let http = try buildGatewayApplication(gateway, host: httpHost, port: httpPort, logger: logger, tls: certificates) { port in
            let line = "CommHub gateway serving \(scheme)://\(httpHost):\(port)  engine \(endpoint)\(engineTLS ? " (TLS)" : "")\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        let reload: [ServiceGroupConfiguration.ServiceConfiguration] = certificates.map {
            [.init(service: TLSReloadOnHangup(certificates: [$0], logger: logger))]
        } ?? []
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: GatewayService(gateway: gateway)), .init(service: http)] + reload,
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
