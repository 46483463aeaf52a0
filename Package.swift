// swift-tools-version:6.1
// CommHub: an actor-based, in-memory communication engine with an LMDB
// write-ahead journal and snapshots. Module direction (top may import below):
//   commhub → CommHubServer → CommHubEngine → CommHubStore → CommHubDomain
//                         ↘                             ↘ CLMDB
//                           CommHubGateways → CommHubDomain   (provider webhooks,
//                         ↘                   signatures; pure values, + Crypto)
//                           CommHubWire → CommHubDomain       (the wire contract: ingest
//                                             framing, compact codec, request bodies,
//                                             strict JSON; Foundation only, no NIO)
//   commhub → CommHubLoadTest → CommHubServer, CommHubFixtures (`commhub loadtest`:
//                               the ingest client, WebSocket clients, histograms,
//                               AsyncHTTPClient; none of them in the server library)
//   commhub → CommHubFixtures → CommHubEngine                  (the demo company and its
//                               seeded generator; `serve --demo` passes its seeder to
//                               ServeOptions.seedDemo, so the server holds no demo data)
// Benchmarks live in their own package under Benchmarks/ so that the default
// build and `Scripts/test` stay fast.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "CommHub",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "commhub", targets: ["commhub"]),
        .library(name: "CommHubDomain", targets: ["CommHubDomain"]),
        .library(name: "CommHubStore", targets: ["CommHubStore"]),
        .library(name: "CommHubEngine", targets: ["CommHubEngine"]),
        .library(name: "CommHubGateways", targets: ["CommHubGateways"]),
        .library(name: "CommHubGateway", targets: ["CommHubGateway"]),
        .library(name: "CommHubWire", targets: ["CommHubWire"]),
        .library(name: "CommHubServer", targets: ["CommHubServer"]),
        .library(name: "CommHubFixtures", targets: ["CommHubFixtures"]),
        .library(name: "CommHubLoadTest", targets: ["CommHubLoadTest"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.20.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        // TLS termination in `serve` (`--tls-cert`, `--tls-key`).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.27.0"),
        // Reply templates (sections for order lines, optional blocks); no dependencies, no I/O.
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.0"),
        // The web app's sign-in: bcrypt password hashes, and Entra ID tokens checked against the tenant's JWKS.
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // Pure values and rules. Its one dependency, Mustache, is itself pure
        // (no I/O, no dependencies): template rendering is domain logic and
        // stays testable without actors, sockets or disks.
        .target(
            name: "CommHubDomain",
            dependencies: [.product(name: "Mustache", package: "swift-mustache")],
            swiftSettings: strict
        ),
        .target(
            name: "CommHubStore",
            dependencies: [
                "CLMDB",
                "CommHubDomain",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "CommHubEngine",
            dependencies: [
                "CommHubDomain",
                "CommHubWire",
                "CommHubStore",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "CommHubGateways",
            dependencies: [
                "CommHubDomain",
                "CommHubWire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The wire contract without Hummingbird or NIO, so that fuzz targets
        // and gateways written elsewhere build on it alone.
        .target(
            name: "CommHubWire",
            dependencies: ["CommHubDomain"],
            swiftSettings: strict
        ),
        // The process side of a gateway: the link to the engine, webhooks, delivery.
        .target(
            name: "CommHubGateway",
            dependencies: [
                "CommHubDomain",
                "CommHubWire",
                "CommHubGateways",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "CommHubServer",
            dependencies: [
                "CommHubEngine",
                "CommHubGateways",
                "CommHubGateway",
                "CommHubWire",
                .product(name: "Hummingbird", package: "hummingbird"),
                // HTTPEdge: the HTTP child channel (ServerChildChannel, HTTPServerBuilder).
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                // HTTPEdge: the first request's parse errors and deadline.
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                // The web app: password hashes, Entra ID tokens, Web Push and the OIDC token call.
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            // The web app's static files (HTML, CSS, JS modules), served at `/`.
            resources: [.copy("Web/Assets")],
            swiftSettings: strict
        ),
        // The demo company (and any data shared by demos and tests): built
        // on the engine alone, no HTTP, so the server library never carries it.
        .target(
            name: "CommHubFixtures",
            dependencies: ["CommHubDomain", "CommHubEngine"],
            swiftSettings: strict
        ),
        // `commhub loadtest`: drives an embedded engine with the real HTTP app, or a running one.
        .target(
            name: "CommHubLoadTest",
            dependencies: [
                "CommHubDomain",
                "CommHubEngine",
                "CommHubFixtures",
                "CommHubServer",
                "CommHubStore",
                "CommHubWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                // `--subscribers`: WebSocket clients of /api/events.
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "commhub",
            dependencies: [
                "CommHubServer",
                "CommHubGateway",
                "CommHubFixtures",
                "CommHubLoadTest",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // Provider stand-ins on loopback (WhatsApp, SMS, Graph) for the tests.
        .target(
            name: "CommHubStandIns",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                // The Graph stand-in posts notifications to the gateway, as Graph does.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                // The OIDC stand-in signs RS256 ID tokens.
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            path: "Tests/StandIns",
            swiftSettings: strict
        ),
        // CommHubFixtures: the seeded SplitMix of the oracle tests.
        .testTarget(name: "CommHubDomainTests", dependencies: ["CommHubDomain", "CommHubFixtures"], swiftSettings: strict),
        .testTarget(name: "CommHubStoreTests", dependencies: ["CommHubStore"], swiftSettings: strict),
        .testTarget(name: "CommHubEngineTests", dependencies: ["CommHubEngine", "CommHubFixtures"], swiftSettings: strict),
        // CommHubFixtures: the seeded SplitMix of the fuzz test.
        .testTarget(name: "CommHubGatewaysTests", dependencies: ["CommHubGateways", "CommHubFixtures", "CommHubStandIns"],
                    swiftSettings: strict),
        .testTarget(name: "CommHubWireTests", dependencies: ["CommHubWire", "CommHubFixtures"], swiftSettings: strict),
        .testTarget(name: "CommHubFixturesTests", dependencies: ["CommHubFixtures", "CommHubEngine", "CommHubDomain"],
                    swiftSettings: strict),
        // Real `commhub serve` processes: kill -9 crash rounds, SIGTERM shutdown.
        // HTTP through AsyncHTTPClient (HTTPTestClient); ingest through CommHubLoadTest's protocol client.
        .testTarget(name: "CommHubProcessTests", dependencies: ["CommHubServer", "CommHubLoadTest", "CommHubStandIns",
                                                               .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                               .product(name: "NIOCore", package: "swift-nio"),
                                                               .product(name: "NIOHTTP1", package: "swift-nio"),
                                                               .product(name: "NIOSSL", package: "swift-nio-ssl")],
                    swiftSettings: strict),
        .testTarget(
            name: "CommHubServerTests",
            dependencies: [
                "CommHubServer",
                "CommHubGateway",
                "CommHubStandIns",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            swiftSettings: strict
        ),
    ]
)

// MARK: - Fuzz targets (only with COMMHUB_FUZZ=1)
//
// libFuzzer targets for the decoders that read bytes from outside: the
// journal's event codec, the WhatsApp webhook parser and signature check,
// the ingest framing, the compact ingest codec and the JSON request bodies.
// They join the package only when COMMHUB_FUZZ=1, so the normal build and
// CI never compile them, and none depends on Hummingbird or NIO: a
// `-sanitize=fuzzer` build instruments every Swift module it compiles.
// `Scripts/fuzz` builds them into `.build-fuzz` and runs each over its seed
// corpus in Tests/FuzzCorpus/<target>/.
if Context.environment["COMMHUB_FUZZ"] == "1" {
    package.targets += [
        // libFuzzer's driver entry point; `-sanitize=fuzzer` links the library.
        .systemLibrary(name: "CLibFuzzer", path: "Tests/Fuzz/CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer", "CommHubDomain", "CommHubWire"],
                path: "Tests/Fuzz/FuzzSupport", swiftSettings: strict),
    ]
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzJournalCodec", ["CommHubDomain"]),
        // The webhook source itself (a symlink), not the CommHubGateways
        // module, which also holds the provider senders and so needs
        // AsyncHTTPClient and NIO.
        ("FuzzWhatsAppWebhook", ["CommHubDomain", .product(name: "Crypto", package: "swift-crypto")]),
        ("FuzzIngestFrames", ["CommHubDomain", "CommHubWire"]),
        ("FuzzIngestCompact", ["CommHubDomain", "CommHubWire"]),
        ("FuzzRequestJSON", ["CommHubDomain", "CommHubWire"]),
        // The Twilio form, message, status and signature sources (symlinks), as above.
        ("FuzzTwilioWebhook", ["CommHubDomain", .product(name: "Crypto", package: "swift-crypto")]),
    ]
    for t in fuzzTargets {
        package.targets.append(.executableTarget(
            name: t.name, dependencies: ["FuzzSupport"] + t.dependencies, path: "Tests/Fuzz/\(t.name)",
            swiftSettings: strict))
    }
}
