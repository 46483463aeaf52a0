import CommHubDomain
import CommHubGateways
import CommHubWire
import Foundation
import Logging

/// Brings the files of inbound messages into the engine's attachment store
/// after the messages themselves were ingested (the message exists first;
/// the file follows). A download that fails is tried again with growing
/// pauses, `maxAttempts` times; the message never depends on it.
public actor MediaFetcher {
    /// One file to fetch: attachment `index` of the message `externalMessageID` on `channel`.
    public struct Job: Sendable {
        public var channel: ChannelID
        public var externalMessageID: String
        public var index: Int
        public var fileName: String
        public var download: @Sendable (GatewayChannelSettings) async throws(DownloadFailure) -> DownloadedFile
        var attempt = 0

        public init(channel: ChannelID, externalMessageID: String, index: Int, fileName: String,
                    download: @escaping @Sendable (GatewayChannelSettings) async throws(DownloadFailure) -> DownloadedFile) {
            self.channel = channel; self.externalMessageID = externalMessageID; self.index = index
            self.fileName = fileName; self.download = download
        }
    }

    /// Jobs waiting at most; beyond it a new job is dropped and logged (the message keeps the provider's reference).
    public static let maxQueuedJobs = 1000
    /// Downloads at once.
    public static let maxConcurrent = 4
    public static let maxAttempts = 8
    /// Pause before attempt n (n ≥ 2): `firstRetryDelay` × 2^(n-2), at most `maxRetryDelay`.
    public let firstRetryDelay: Duration
    public static let maxRetryDelay: Duration = .seconds(600)

    let link: EngineLink
    let directory: ChannelDirectory
    let logger: Logger
    private var waiting: [(due: ContinuousClock.Instant, job: Job)] = []
    private var running = 0
    private var wake: AsyncStream<Void>.Continuation?
    private(set) var stored = 0
    private(set) var gaveUp = 0

    public init(link: EngineLink, directory: ChannelDirectory, logger: Logger, firstRetryDelay: Duration = .seconds(5)) {
        self.link = link
        self.directory = directory
        self.logger = logger
        self.firstRetryDelay = firstRetryDelay
    }

    public func enqueue(_ job: Job) {
        guard waiting.count < Self.maxQueuedJobs else {
            logger.error("media queue full; a file stays at the provider", metadata: ["message.external_id": "\(job.externalMessageID)"])
            return
        }
        waiting.append((.now, job))
        wake?.yield()
    }

    /// Files stored so far and files given up (for tests and logs).
    public var counts: (stored: Int, gaveUp: Int, waiting: Int) { (stored, gaveUp, waiting.count) }

    /// Runs downloads until cancelled.
    public func run() async {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wake = continuation
        await withDiscardingTaskGroup { group in
            group.addTask {
                // A tick for retries coming due.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(250))
                    continuation.yield()
                }
            }
            for await _ in stream {
                for job in takeDue() {
                    group.addTask { await self.attempt(job) }
                }
            }
        }
    }

    private func takeDue() -> [Job] {
        let now = ContinuousClock.now
        var out: [Job] = []
        var keep: [(due: ContinuousClock.Instant, job: Job)] = []
        for w in waiting {
            if w.due <= now, running + out.count < Self.maxConcurrent { out.append(w.job) } else { keep.append(w) }
        }
        waiting = keep
        running += out.count
        return out
    }

    private func attempt(_ job: Job) async {
        var job = job
        job.attempt += 1
        do {
            guard let channel = directory[job.channel] else { throw DownloadFailure("the channel is unknown to this gateway", retry: true) }
            let file = try await job.download(channel)
            _ = try await link.storeAttachment(file.bytes, fileName: file.fileName ?? job.fileName, contentType: file.contentType,
                                               target: .init(channelID: job.channel, externalMessageID: job.externalMessageID,
                                                             index: job.index))
            finished(stored: true)
        } catch {
            let retry = error is AttachmentRefused ? false : (error as? DownloadFailure)?.retry ?? true
            if retry, job.attempt < Self.maxAttempts {
                let pause = min(Self.maxRetryDelay, firstRetryDelay * (1 << (job.attempt - 1)))
                logger.notice("media download failed; trying again", metadata: [
                    "message.external_id": "\(job.externalMessageID)", "media.attempt": "\(job.attempt)", "error": "\(error)"])
                reschedule(job, after: pause)
            } else {
                logger.error("media download given up; the file stays at the provider", metadata: [
                    "message.external_id": "\(job.externalMessageID)", "media.attempt": "\(job.attempt)", "error": "\(error)"])
                finished(stored: false)
            }
        }
    }

    private func finished(stored ok: Bool) {
        running -= 1
        if ok { stored += 1 } else { gaveUp += 1 }
        wake?.yield()
    }

    private func reschedule(_ job: Job, after pause: Duration) {
        running -= 1
        waiting.append((.now + pause, job))
    }
}
