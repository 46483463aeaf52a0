import CommHubDomain
import CommHubGateways
import CommHubStandIns
import Foundation
import Synchronization
import Testing

/// MMS media downloads against the Twilio stand-in: credentials only to the
/// API's origin and never across the redirect, bounded retries with backoff,
/// and a give-up that says why.
@Suite struct TwilioMediaTests {
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + Array("standin-jpeg".utf8) + [0xFF, 0xD9]

    static func withStandIn(maxBytes: Int = ProviderHTTP.maxDownloadBytes,
                            _ body: (TwilioStandIn, TwilioMediaDownloader, TwilioCredentials) async throws -> Void) async throws {
        let standIn = TwilioStandIn()
        try await standIn.start()
        let http = ProviderHTTP(connectTimeout: .seconds(2), readTimeout: .seconds(5))
        let credentials = TwilioCredentials(accountSid: standIn.accountSid, authToken: standIn.authToken, apiBaseURL: standIn.baseURL)
        do {
            try await body(standIn, TwilioMediaDownloader(http: http, maxMediaBytes: maxBytes), credentials)
        } catch {
            await http.shutdown(); await standIn.stop(); throw error
        }
        await http.shutdown()
        await standIn.stop()
    }

    static func media(_ url: String, index: Int = 0) -> TwilioMedia {
        TwilioMedia(index: index, url: url, contentType: "image/jpeg", fileName: "mms-MM1-\(index).jpg")
    }

    @Test func aMediaURLIsFetchedWithBasicAuthAndTheRedirectWithoutIt() async throws {
        try await Self.withStandIn { standIn, downloader, credentials in
            let url = standIn.addMedia(messageSid: "MM1", contentType: "image/jpeg", bytes: Self.jpeg)
            let outcome = await downloader.download(url, credentials: credentials)
            #expect(outcome == .downloaded(bytes: Self.jpeg, contentType: "image/jpeg"))
            let first = try #require(standIn.mediaRequests.first)
            #expect(first.header("authorization") == "Basic " + Data("\(standIn.accountSid):\(standIn.authToken)".utf8).base64EncodedString())
            let cdn = try #require(standIn.cdnRequests.first)
            #expect(cdn.header("authorization") == nil, "the credentials must never reach the media host")
            #expect(cdn.query.contains("X-Amz-Signature"))
        }
    }

    @Test func credentialsGoOnlyToTheAPIsOrigin() async throws {
        try await Self.withStandIn { standIn, downloader, credentials in
            standIn.requireMediaAuth(false)
            let url = standIn.addMedia(messageSid: "MM1", contentType: "image/jpeg", bytes: Self.jpeg)
            // The channel's API is elsewhere: this URL gets no credentials.
            var elsewhere = credentials
            elsewhere.apiBaseURL = "https://api.twilio.com"
            #expect(await downloader.download(url, credentials: elsewhere) == .downloaded(bytes: Self.jpeg, contentType: "image/jpeg"))
            #expect(standIn.mediaRequests.last?.header("authorization") == nil)
            // Same host, another port: another origin.
            elsewhere.apiBaseURL = "http://127.0.0.1:1"
            _ = await downloader.download(url, credentials: elsewhere)
            #expect(standIn.mediaRequests.last?.header("authorization") == nil)
            // Without auth where it is required: 401 is given up, not retried, and says what to check.
            standIn.requireMediaAuth(true)
            guard case .gaveUp(let reason) = await downloader.download(url, credentials: nil) else { Issue.record("401 retried"); return }
            #expect(reason.contains("401") && reason.contains("auth_token"))
        }
    }

    @Test func answersAreClassifiedForRetry() async throws {
        try await Self.withStandIn(maxBytes: 1000) { standIn, downloader, credentials in
            let url = standIn.addMedia(messageSid: "MM1", contentType: "image/jpeg", bytes: Self.jpeg)
            standIn.server.enqueue(.json(503, ["code": 20503]), .json(429, ["code": 20429]), .json(404, ["code": 20404]),
                                   .respond(status: 307, headers: ["Location": "\(standIn.baseURL)/cdn/x"], body: []),
                                   .respond(status: 307, headers: ["Location": "\(standIn.baseURL)/again"], body: []),
                                   .respond(status: 302, headers: [:], body: []))
            guard case .retryLater(let r0) = await downloader.download(url, credentials: credentials) else { Issue.record("503"); return }
            #expect(r0.contains("503"))
            guard case .retryLater = await downloader.download(url, credentials: credentials) else { Issue.record("429"); return }
            guard case .gaveUp(let r2) = await downloader.download(url, credentials: credentials) else { Issue.record("404"); return }
            #expect(r2.contains("404"))
            // Two redirects in a row: one is followed, the second is given up.
            guard case .gaveUp(let r3) = await downloader.download(url, credentials: credentials) else { Issue.record("2 redirects"); return }
            #expect(r3.contains("redirect"))
            guard case .gaveUp(let r4) = await downloader.download(url, credentials: credentials) else { Issue.record("no Location"); return }
            #expect(r4.contains("Location"))
            #expect(!r0.contains(standIn.baseURL) && !r3.contains("cdn"), "reasons never carry a URL")
            // Larger than the bound: given up.
            let big = standIn.addMedia(messageSid: "MM1", contentType: "video/mp4", bytes: Array(repeating: 7, count: 1001))
            guard case .gaveUp(let r5) = await downloader.download(big, credentials: credentials) else { Issue.record("too large"); return }
            #expect(r5.contains("1000"))
            // Exactly at the bound: downloaded.
            let edge = standIn.addMedia(messageSid: "MM1", contentType: "video/mp4", bytes: Array(repeating: 7, count: 1000))
            guard case .downloaded(let bytes, _) = await downloader.download(edge, credentials: credentials) else { Issue.record("at the bound"); return }
            #expect(bytes.count == 1000)
        }
    }

    @Test func anUnreachableMediaHostIsRetriedLater() async throws {
        let probe = StandInServer(name: "closed") { _, _ in .json(200, [:]) }
        try await probe.start()
        let port = probe.port
        await probe.stop()
        let http = ProviderHTTP(connectTimeout: .seconds(1), readTimeout: .seconds(1))
        let outcome = await TwilioMediaDownloader(http: http).download("http://127.0.0.1:\(port)/m", credentials: nil)
        await http.shutdown()
        guard case .retryLater = outcome else { Issue.record("\(outcome)"); return }
    }

    @Test func aFetchThatFailsOnceIsRetriedAndStoredOnce() async throws {
        try await Self.withStandIn { standIn, downloader, credentials in
            let url = standIn.addMedia(messageSid: "MM1", contentType: "image/jpeg", bytes: Self.jpeg)
            standIn.server.enqueue(.json(500, ["code": 20500]))
            let stored = Shared<[[UInt8]]>([])
            let retries = Shared<[String]>([])
            let fetch = MediaFetch(downloader: downloader, policy: MediaRetryPolicy(delays: [.milliseconds(50), .milliseconds(50)]),
                                   slots: DownloadSlots(limit: 1))
            let result = await fetch.run(Self.media(url), credentials: credentials, onRetry: { _, reason in retries.withLock { $0.append(reason) } }) { bytes, type in
                #expect(type == "image/jpeg")
                stored.withLock { $0.append(bytes) }
            }
            #expect(result == .stored(attempts: 2))
            #expect(stored.withLock { $0 } == [Self.jpeg])
            #expect(retries.withLock { $0 }.count == 1 && retries.withLock { $0 }[0].contains("500"))
        }
    }

    @Test func aStoreThatFailsIsRetriedToo() async throws {
        try await Self.withStandIn { standIn, downloader, credentials in
            let url = standIn.addMedia(messageSid: "MM1", contentType: "image/jpeg", bytes: Self.jpeg)
            let calls = Shared(0)
            struct EngineAway: Error {}
            let fetch = MediaFetch(downloader: downloader, policy: MediaRetryPolicy(delays: [.milliseconds(20)]), slots: DownloadSlots(limit: 1))
            let result = await fetch.run(Self.media(url), credentials: credentials) { _, _ in
                let n = calls.withLock { c -> Int in
                    c += 1
                    return c
                }
                if n == 1 { throw EngineAway() }
            }
            #expect(result == .stored(attempts: 2))
            #expect(calls.withLock { $0 } == 2)
        }
    }

    @Test func aStoreRefusedForGoodIsNotTriedAgain() async throws {
        try await Self.withStandIn { standIn, downloader, credentials in
            let url = standIn.addMedia(messageSid: "MM1", contentType: "application/x-msdownload", bytes: [0x4D, 0x5A])
            let calls = Shared(0)
            let fetch = MediaFetch(downloader: downloader, policy: MediaRetryPolicy(delays: [.milliseconds(10), .milliseconds(10)]),
                                   slots: DownloadSlots(limit: 1))
            let result = await fetch.run(Self.media(url), credentials: credentials) { _, _ in
                calls.withLock { $0 += 1 }
                throw MediaRefused(reason: "type not taken")
            }
            #expect(result == .gaveUp(attempts: 1, reason: "type not taken"))
            #expect(calls.withLock { $0 } == 1 && standIn.mediaRequests.count == 1)
        }
    }

    @Test func retriesAreBoundedAndAPermanentRefusalStopsAtOnce() async throws {
        try await Self.withStandIn { standIn, downloader, credentials in
            let url = standIn.addMedia(messageSid: "MM1", contentType: "image/jpeg", bytes: Self.jpeg)
            standIn.server.enqueue(.json(503, [:]), .json(503, [:]), .json(503, [:]))
            let fetch = MediaFetch(downloader: downloader, policy: MediaRetryPolicy(delays: [.milliseconds(10), .milliseconds(10)]),
                                   slots: DownloadSlots(limit: 1))
            let result = await fetch.run(Self.media(url), credentials: credentials) { _, _ in Issue.record("nothing to store") }
            guard case .gaveUp(let attempts, let reason) = result else { Issue.record("\(result)"); return }
            #expect(attempts == 3 && reason.contains("503"))
            #expect(standIn.mediaRequests.count == 3)
            // A 404 is not tried again.
            let before = standIn.server.recorded.count
            let gone = await fetch.run(Self.media(standIn.baseURL + "/2010-04-01/Accounts/\(standIn.accountSid)/Messages/MM1/Media/MEnone"),
                                       credentials: credentials) { _, _ in }
            guard case .gaveUp(1, _) = gone else { Issue.record("\(gone)"); return }
            #expect(standIn.server.recorded.count == before + 1)
        }
    }

    @Test func theRetryScheduleIsBoundedWithJitter() {
        let p = MediaRetryPolicy.standard
        #expect(p.maxAttempts == 7)
        #expect(p.delay(afterAttempt: 1, jitter: 0.5) == .seconds(1))
        #expect(p.delay(afterAttempt: 1, jitter: 0) == .milliseconds(750))
        #expect(p.delay(afterAttempt: 6, jitter: 1) == .seconds(2250))
        #expect(p.delay(afterAttempt: 7) == nil && p.delay(afterAttempt: 0) == nil)
    }

    @Test func slotsLimitConcurrentDownloads() async {
        let slots = DownloadSlots(limit: 2)
        let running = Shared((now: 0, peak: 0))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    await slots.withSlot {
                        running.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                        try? await Task.sleep(for: .milliseconds(20))
                        running.withLock { $0.now -= 1 }
                    }
                }
            }
        }
        #expect(running.withLock { $0.peak } == 2)
    }
}

/// A value several tasks change, behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let state: Mutex<Value>
    init(_ value: Value) { state = Mutex(value) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { state.withLock { body(&$0) } }
}
