import CommHubDomain

/// How many message headers a thread keeps in memory when the store's
/// history holds every one: the newest `open` for an open thread, the newest
/// `resolved` for a resolved or closed one, and always each channel's last
/// incoming message (`ThreadState.trimMessages`).
public struct RecentMessageWindow: Sendable, Hashable {
    public var open: Int
    public var resolved: Int

    public init(open: Int, resolved: Int) {
        self.open = max(0, open)
        self.resolved = max(0, resolved)
    }

    public func keep(_ status: ThreadStatus) -> Int { status.isOpen ? open : resolved }

    /// A thread is trimmed once it holds this many: a quarter of the window
    /// above it, or four above a window under 16, so a busy thread does not
    /// shift its array on every message and a resolved one is not trimmed
    /// again for each late receipt. Actors, replay and restore all use it.
    public func trimAt(_ status: ThreadStatus) -> Int {
        let k = keep(status)
        return k + (k < 16 ? 4 : k / 4)
    }
}
