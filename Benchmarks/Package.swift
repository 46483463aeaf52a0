// swift-tools-version:6.1
// CommHub benchmark suites (package-benchmark). Kept out of the main package
// so that `swift build`, `Scripts/test` and CI never compile them.
//
//   cd Benchmarks && swift package benchmark                      # all suites
//   swift package benchmark --target EngineBenchmarks              # one suite
//   swift package benchmark --target EngineBenchmarks --filter 'Rebalance.*'
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its directory: "main" in the
// integrator's checkout, the branch name in a worktree. Take it from the
// checkout so that the benchmarks build from any of them.
let commHub = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "CommHubBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.6.0"),
    ],
    targets: [
        // Data builders shared by the suites and the profiling driver.
        .target(
            name: "BenchFixtures",
            dependencies: [
                .product(name: "CommHubEngine", package: commHub),
                .product(name: "CommHubStore", package: commHub),
                .product(name: "CommHubDomain", package: commHub),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fixtures"
        ),
        // Runs one benchmark operation in a loop, for valgrind/perf.
        .executableTarget(
            name: "BenchProfile",
            dependencies: [
                "BenchFixtures",
                .product(name: "CommHubEngine", package: commHub),
                .product(name: "CommHubDomain", package: commHub),
                .product(name: "CommHubStore", package: commHub),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "BenchProfile"
        ),
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: [
                "BenchFixtures",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CommHubEngine", package: commHub),
                .product(name: "CommHubDomain", package: commHub),
            ],
            path: "EngineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "StoreBenchmarks",
            dependencies: [
                "BenchFixtures",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CommHubEngine", package: commHub),
                .product(name: "CommHubStore", package: commHub),
                .product(name: "CommHubDomain", package: commHub),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "StoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The HTTP/WebSocket service over loopback and the provider webhooks.
        .executableTarget(
            name: "ServerBenchmarks",
            dependencies: [
                "BenchFixtures",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CommHubServer", package: commHub),
                .product(name: "CommHubGateways", package: commHub),
                .product(name: "CommHubEngine", package: commHub),
                .product(name: "CommHubDomain", package: commHub),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "ServerBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
