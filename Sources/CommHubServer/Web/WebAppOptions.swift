import Foundation

/// Settings of the web app and its sign-in (`commhub serve --public-url …`).
public struct WebAppOptions: Sendable {
    /// The address people open, e.g. `https://commhub.chargecars.nl` (no path).
    /// It decides the Entra ID redirect URL, the invite links, and — when it is
    /// https — that cookies are `Secure`. nil: taken from each request's Host
    /// (and `X-Forwarded-Proto`), which suits loopback and tests.
    public var publicURL: String?
    /// How long a browser session lasts from sign-in. Absolute, not sliding:
    /// sessions are journaled, and renewing one on every request would journal
    /// every request. A working week, so a field technician's phone stays
    /// signed in from Monday to Friday.
    public var sessionLifetimeSeconds: Double = 7 * 24 * 3600
    /// How long an invite link works.
    public var inviteLifetimeSeconds: Double = 7 * 24 * 3600
    /// bcrypt cost (log2 rounds, 4…31). 12 costs about a quarter of a second
    /// per sign-in on a server core; tests use 4.
    public var passwordHashCost: UInt8 = 12
    /// Shortest password accepted (NIST SP 800-63B asks for 8 at least); bcrypt reads at most 72 bytes.
    public var minPasswordCharacters = 10
    public var maxPasswordBytes = 72
    /// Failed sign-ins allowed per account, and per client address, within
    /// `signInWindowSeconds`; then 429 until the window has passed.
    public var maxFailedSignInsPerAccount = 5
    public var maxFailedSignInsPerAddress = 20
    public var signInWindowSeconds: Double = 15 * 60
    /// Sign-ins with Microsoft started and not finished, kept in memory; the oldest goes beyond it.
    public var maxPendingMicrosoftSignIns = 10_000
    /// Seconds a person has to finish signing in at Microsoft.
    public var microsoftSignInSeconds: Double = 600
    /// The contact URI in VAPID tokens (RFC 8292 §2.1): push services write there about problems.
    public var pushContact = "mailto:webpush@chargecars.nl"
    /// Push messages waiting to be sent; beyond it the oldest is dropped (and logged).
    public var maxQueuedPushes = 1_000
    /// Accept `http://127.0.0.1` / `localhost` push endpoints (a local push
    /// stand-in in tests). Off in production: a push endpoint is a URL the
    /// server posts to, and anyone signed in may register one.
    public var allowLoopbackPushEndpoints = false

    public init() {}

    public var problems: [String] {
        var out: [String] = []
        if let u = publicURL {
            if URL(string: u)?.scheme.map({ ["http", "https"].contains($0) }) != true || URL(string: u)?.host == nil {
                out.append("the public URL must be http(s)://host[:port]")
            }
        }
        if !(sessionLifetimeSeconds.isFinite && (60...(366 * 86_400)).contains(sessionLifetimeSeconds)) {
            out.append("the session lifetime must be 60 seconds to 366 days")
        }
        if !(inviteLifetimeSeconds.isFinite && (60...(366 * 86_400)).contains(inviteLifetimeSeconds)) {
            out.append("the invite lifetime must be 60 seconds to 366 days")
        }
        if !(4...31).contains(passwordHashCost) { out.append("the bcrypt cost must be 4 to 31") }
        if !(1...1_000).contains(maxFailedSignInsPerAccount) || !(1...100_000).contains(maxFailedSignInsPerAddress) {
            out.append("failed sign-in limits must be 1 to 1000 per account and 1 to 100000 per address")
        }
        return out
    }

    /// Cookies are `Secure` when the public URL is https.
    var publicURLIsHTTPS: Bool { publicURL?.lowercased().hasPrefix("https://") == true }
}
