import Benchmark
import BenchFixtures
import CommHubDomain
import CommHubEngine
import CommHubGateways
import CommHubServer
import Crypto
import Foundation
import HummingbirdWSClient
import Logging

// Server benchmarks: the WebSocket fan-out over real sockets on loopback.
// An in-memory engine serves `/api/events` through the real Hummingbird
// application; 1,000 WebSocket clients (HummingbirdWSClient, in this process)
// hold an admin token and so receive every event. One iteration ingests a
// reply into an existing WhatsApp chat and waits until every client has the
// `message.created` frame of that message. Target (issue #5): p99 ≤ 5 ms.

let fanout = Holder<FanoutFixture>()
let fanoutCounter = Holder<Int>()

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        timeUnits: .microseconds,
        warmupIterations: 10,
        maxDuration: .seconds(5),
        maxIterations: 2_000
    )

    for clients in [1, 100, 1_000] {
        Benchmark("WebSocket.fanout\(clients)", closure: { benchmark in
            let f = fanout.get
            let n = fanoutCounter.get + 1
            fanoutCounter.value = n
            let m = f.engine.whatsapp(from: n % 100, message: n)
            benchmark.startMeasurement()
            let r = try await f.engine.engine.supervisor.ingest(m)
            await f.arrivals.wait(for: r.seq)
            benchmark.stopMeasurement()
        }, setup: {
            fanout.value = try await FanoutFixture.make(clients: clients)
            fanoutCounter.value = 0
        }, teardown: {
            await fanout.value?.stop()
            fanout.value = nil
        })
    }
    webhookBenchmarks()
}

/// A served in-memory engine with `clients` WebSocket subscribers.
struct FanoutFixture: @unchecked Sendable {  // EngineFixture holds only Sendable parts but is not marked
    let engine: EngineFixture
    let arrivals: Arrivals
    let server: Task<Void, any Error>
    let clients: [Task<Void, Never>]

    static func make(clients n: Int) async throws -> FanoutFixture {
        let f = try await makeEngine()
        // The chats the iterations reply to exist before measuring.
        for c in 0..<100 { _ = try await f.engine.supervisor.ingest(f.whatsapp(from: c, message: 0)) }
        var quiet = Logger(label: "bench")
        quiet.logLevel = .critical
        let token = "bench-" + UUID().uuidString
        _ = try await AdminBootstrap.ensure(f.engine, environment: ["COMMHUB_ADMIN_TOKEN": token], logger: quiet)
        let port = PortWaiter()
        let app = buildHTTPApplication(engine: f.engine, durable: nil, secrets: SecretBox(key: SymmetricKey(size: .bits256)),
                                       options: .unlimited, logger: quiet) { await port.set($0) }
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        let p = try await port.wait()
        let arrivals = Arrivals(expected: n)
        let connected = Arrivals(expected: n)
        var tasks: [Task<Void, Never>] = []
        for _ in 0..<n {
            tasks.append(Task {
                var config = WebSocketClientConfiguration()
                config.additionalHeaders[.authorization] = "Bearer \(token)"
                _ = try? await WebSocketClient.connect(url: "ws://127.0.0.1:\(p)/api/events", configuration: config,
                                                       logger: quiet) { inbound, _, _ in
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        if text.contains(#""type":"hello""#) { connected.arrived(0); continue }
                        guard text.contains(#""type":"message.created""#), let seq = seqOf(text) else { continue }
                        arrivals.arrived(seq)
                    }
                }
            })
        }
        await connected.wait(for: 0)
        return FanoutFixture(engine: f, arrivals: arrivals, server: server, clients: tasks)
    }

    func stop() async {
        for t in clients { t.cancel() }
        server.cancel()
        _ = await server.result
    }
}

/// The `"seq":N` of a frame (keys are sorted: data, seq, type).
func seqOf(_ text: String) -> UInt64? {
    guard let r = text.range(of: #""seq":"#, options: .backwards) else { return nil }
    return UInt64(text[r.upperBound...].prefix { $0.isNumber })
}

actor PortWaiter {
    private var port: Int?
    func set(_ p: Int) { port = p }
    func wait() async throws -> Int {
        for _ in 0..<500 {
            if let port { return port }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CancellationError()
    }
}

// MARK: Webhooks

/// A WhatsApp Cloud API notification as Meta sends it: one inbound text
/// message from a customer (about 600 bytes).
let whatsappNotification = Data("""
    {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{\
    "messaging_product":"whatsapp","metadata":{"display_phone_number":"31850001234","phone_number_id":"100200300"},\
    "contacts":[{"profile":{"name":"Mevrouw Jansen"},"wa_id":"31612345678"}],"messages":[{"from":"31612345678",\
    "id":"wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQTdCRjFFNjM3MzE1QkM2RkQ0NAA=","timestamp":"1795600800","type":"text",\
    "text":{"body":"Goedemorgen, mijn laadpaal (order 300123) geeft sinds gisteren een rode foutcode. Kunt u helpen?"}}]},\
    "field":"messages"}]}]}
    """.utf8)
let appSecret = "bench-app-secret-0123456789abcdef"
let channelForWebhook = ChannelID()

let webhookBenchmarks: @Sendable () -> Void = {
    // What POST /webhooks/whatsapp does before it reaches the engine: check
    // X-Hub-Signature-256 (HMAC-SHA256 of the raw body) and parse the payload
    // into InboundMessage values.
    let header = WhatsAppSignature.header(for: whatsappNotification, appSecret: appSecret)
    let verifier = WhatsAppSignatureVerifier(appSecret: appSecret)
    let parser = WhatsAppWebhookParser()
    Benchmark("Webhook.whatsapp.verifyAndParse", configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(3)),
              closure: { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try verifier.verify(body: whatsappNotification, signatureHeader: header)
            blackHole(try parser.parse(whatsappNotification).inboundMessages(channelID: channelForWebhook))
        }
        benchmark.stopMeasurement()
    }, setup: {
        try verifier.verify(body: whatsappNotification, signatureHeader: header)
        let parsed = try parser.parse(whatsappNotification).inboundMessages(channelID: channelForWebhook)
        precondition(parsed.count == 1)
    })
    Benchmark("Webhook.whatsapp.verifyOnly", configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(2)),
              closure: { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try verifier.verify(body: whatsappNotification, signatureHeader: header)
        }
        benchmark.stopMeasurement()
    })
}
