import CommHubDomain
import CommHubGateways
import CommHubWire
import Foundation
import Logging

/// Delivers outgoing messages: one worker per channel claims messages from
/// the engine's outbox under a lease, hands each to the channel type's
/// provider adapter, and reports the outcome.
///
/// - A channel's sends run beside each other up to `concurrencyPerChannel`;
///   a provider that hangs holds only its own channel's slots, so one
///   failing channel never slows the others.
/// - The engine journals a claim before answering it, so nothing is sent
///   that the engine does not know was claimed. Reports are kept until the
///   engine acknowledges them and sent again after a reconnect (a repeat
///   answers `ignored`): an outcome is never lost with the connection.
/// - Workers wake on the engine's `outboxReady` push, after every finished
///   send and reconnect, and every `pollInterval` (retries coming due).
public actor DeliveryService {
    let link: EngineLink
    let directory: ChannelDirectory
    let adapters: [ChannelType: any OutboundAdapter]
    let logger: Logger
    /// Sends of one channel in flight at most.
    public let concurrencyPerChannel: Int
    /// The lease asked for each claim; longer than the adapters' read timeout.
    public let leaseSeconds: Int
    public let pollInterval: Duration
    /// Reports waiting for the engine's acknowledgement, at most; beyond it the
    /// oldest is dropped (its claim's lease runs out: the engine marks the outcome unknown).
    public static let maxPendingReports = 100_000
    static let requestTimeout: Duration = .seconds(15)

    private var wakeups: [ChannelID: AsyncStream<Void>.Continuation] = [:]
    private var inFlight: [ChannelID: Int] = [:]
    private var pendingReports: [MessageID: GatewayProtocol.ReportFrame] = [:]
    private var sent = 0

    public init(link: EngineLink, directory: ChannelDirectory, adapters: [any OutboundAdapter], logger: Logger,
                concurrencyPerChannel: Int = 4, leaseSeconds: Int = 90, pollInterval: Duration = .seconds(1)) {
        self.link = link
        self.directory = directory
        self.adapters = Dictionary(adapters.map { ($0.channelType, $0) }, uniquingKeysWith: { $1 })
        self.logger = logger
        self.concurrencyPerChannel = max(1, concurrencyPerChannel)
        self.leaseSeconds = leaseSeconds
        self.pollInterval = pollInterval
    }

    /// Outcomes reported and acknowledged so far.
    public var deliveredCount: Int { sent }
    public var unacknowledgedReports: Int { pendingReports.count }

    /// Wakes the worker of a channel (the engine said it has messages to claim).
    public nonisolated func wake(_ channel: ChannelID) {
        Task { await self.wakeNow(channel) }
    }

    /// Wakes every worker (after a reconnect: claims and reports resume).
    public nonisolated func wakeAll() {
        Task { await self.wakeEveryone() }
    }

    private func wakeNow(_ channel: ChannelID) { wakeups[channel]?.yield() }
    private func wakeEveryone() { for c in wakeups.values { c.yield() } }

    /// Runs the workers until cancelled; in-flight sends finish and report first.
    public func run() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                for c in directory.all where c.isActive && adapters[c.channelType] != nil && wakeups[c.id] == nil {
                    let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
                    wakeups[c.id] = continuation
                    let id = c.id
                    group.addTask { await self.work(channel: id, wakes: stream) }
                }
                wakeEveryone()
                await flushReports()
                try? await Task.sleep(for: pollInterval)
            }
            for c in wakeups.values { c.finish() }
            wakeups = [:]
        }
        await flushReports()
    }

    private func work(channel id: ChannelID, wakes: AsyncStream<Void>) async {
        await withDiscardingTaskGroup { sends in
            for await _ in wakes {
                guard let channel = directory[id], channel.isActive, let adapter = adapters[channel.channelType],
                      adapter.canSend(on: channel) else { continue }
                guard await link.isConnected else { continue }
                let free = concurrencyPerChannel - inFlight[id, default: 0]
                guard free > 0 else { continue }
                let claimed: [GatewayProtocol.OutgoingMessage]
                do {
                    claimed = try await claim(id, max: free)
                } catch {
                    logger.notice("claim failed", metadata: ["channel.id": "\(id)", "error": "\(error)"])
                    continue
                }
                guard !claimed.isEmpty else { continue }
                inFlight[id, default: 0] += claimed.count
                for m in claimed {
                    sends.addTask {
                        let settings = self.directory[m.channelID] ?? channel
                        let report = await adapter.send(m, channel: settings)
                        await self.finished(m, report)
                    }
                }
            }
        }
    }

    private func claim(_ channel: ChannelID, max: Int) async throws -> [GatewayProtocol.OutgoingMessage] {
        let request = GatewayProtocol.ClaimRequest(channelIDs: [channel], max: max, leaseSeconds: leaseSeconds)
        let answer = try await link.request(.claim, payload: Array(try ContractJSON.sharedEncoder.encode(request)),
                                            timeout: Self.requestTimeout)
        guard answer.kind == IngestProtocol.Kind.claimed.rawValue else {
            throw EngineUnavailable(description: "claim refused: \(String(decoding: answer.payload.prefix(300), as: UTF8.self))")
        }
        return try ContractJSON.sharedDecoder.decode(GatewayProtocol.Claimed.self, from: Data(answer.payload)).messages
    }

    private func finished(_ m: GatewayProtocol.OutgoingMessage, _ report: DeliveryReport) async {
        inFlight[m.channelID, default: 1] -= 1
        let frame = GatewayProtocol.ReportFrame(messageID: m.messageID, attempt: m.attempt, report: report)
        if pendingReports.count >= Self.maxPendingReports, let oldest = pendingReports.keys.first {
            pendingReports[oldest] = nil
            logger.error("too many unacknowledged reports; dropped one (its lease will expire as unknown)",
                         metadata: ["message.id": "\(oldest)"])
        }
        pendingReports[m.messageID] = frame
        logger.info("delivery", metadata: ["message.id": "\(m.messageID)", "channel.id": "\(m.channelID)",
                                           "delivery.outcome": "\(report.name)", "delivery.attempt": "\(m.attempt)"])
        await acknowledge(frame)
        wakeups[m.channelID]?.yield()
    }

    /// Sends every unacknowledged report (after reconnects, every poll).
    private func flushReports() async {
        for frame in pendingReports.values { await acknowledge(frame) }
    }

    private func acknowledge(_ frame: GatewayProtocol.ReportFrame) async {
        do {
            let answer = try await link.request(.report, payload: Array(try ContractJSON.sharedEncoder.encode(frame)),
                                                timeout: Self.requestTimeout)
            guard answer.kind == IngestProtocol.Kind.reportResult.rawValue else { return }  // an error frame: keep it, try again
            if pendingReports.removeValue(forKey: frame.messageID) != nil { sent += 1 }
        } catch {
            // Kept; sent again on the next poll or reconnect.
        }
    }
}
