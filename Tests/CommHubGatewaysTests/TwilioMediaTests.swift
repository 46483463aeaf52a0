import CommHubDomain
import CommHubGateways
import CommHubStandIns
import Foundation
import Testing

/// MMS media downloads against the Twilio stand-in: credentials only to the
/// API's origin and never across the redirect, and for every answer whether
/// the gateway's `MediaFetcher` should try again.
@Suite struct TwilioMediaTests {
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + Array("standin-jpeg".utf8) + [0xFF, 0xD9]

    static func withStandIn(maxBytes: Int = ProviderHTTP.maxDownloadBytes,
                            _ body: (TwilioStandIn, TwilioMediaDownloader, TwilioCredentials) async throws -> Void) async throws {
        let standIn = TwilioStandIn()
        try await standIn.start()
        let http = ProviderHTTP(connectTimeout: .seconds(2), readTimeout: .seconds(30))
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
        // Port 1 on loopback: nothing listens there (see TwilioSenderTests).
        let http = ProviderHTTP(connectTimeout: .seconds(1), readTimeout: .seconds(1))
        let outcome = await TwilioMediaDownloader(http: http).download("http://127.0.0.1:1/m", credentials: nil)
        await http.shutdown()
        guard case .retryLater = outcome else { Issue.record("\(outcome)"); return }
    }

    @Test func oneAttemptForTheMediaFetcherSaysWhetherToTryAgain() async throws {
        try await Self.withStandIn(maxBytes: 100) { standIn, downloader, credentials in
            let url = standIn.addMedia(messageSid: "MM1", contentType: "image/jpeg", bytes: Self.jpeg)
            // A file: Twilio's content type and our file name.
            let file = try await downloader.file(Self.media(url), credentials: credentials)
            #expect(file.bytes == Self.jpeg && file.contentType == "image/jpeg" && file.fileName == "mms-MM1-0.jpg")
            // A 503: try again later.
            standIn.server.enqueue(.json(503, ["code": 20503]))
            do throws(DownloadFailure) {
                _ = try await downloader.file(Self.media(url), credentials: credentials)
                Issue.record("a 503 gave a file")
            } catch {
                #expect(error.retry && error.description.contains("503"))
            }
            // Too large: trying again would not help.
            let big = standIn.addMedia(messageSid: "MM1", contentType: "video/mp4", bytes: Array(repeating: 1, count: 101))
            do throws(DownloadFailure) {
                _ = try await downloader.file(Self.media(big), credentials: credentials)
                Issue.record("a file over the bound was downloaded")
            } catch {
                #expect(!error.retry && error.description.contains("100"))
            }
        }
    }
}
