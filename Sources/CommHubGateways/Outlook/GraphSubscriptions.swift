import CommHubDomain
import Foundation

/// One thing a channel subscribes to: a mail folder's messages or the calendar's events.
public struct SubscriptionTarget: Sendable, Hashable {
    /// `folder:inbox`, `folder:sentitems`, `folder:<id>`, `calendar`: the key under which state is kept.
    public var key: String
    /// Graph's `resource`: `users/{mailbox}/mailFolders('inbox')/messages`, `users/{user}/events`.
    public var resource: String
    /// `created,updated` for mail (updates carry read state), `created,updated,deleted` for events.
    public var changeType: String

    public init(key: String, resource: String, changeType: String) {
        self.key = key; self.resource = resource; self.changeType = changeType
    }

    public static func folder(_ f: OutlookFolder, mailbox: String) -> SubscriptionTarget {
        SubscriptionTarget(key: "folder:\(f.key)", resource: "users/\(GraphClient.segment(mailbox))/\(f.path)/messages",
                           changeType: f.key == OutlookFolder.sentItems.key ? "created" : "created,updated")
    }

    public static func calendar(user: String) -> SubscriptionTarget {
        SubscriptionTarget(key: "calendar", resource: "users/\(GraphClient.segment(user))/events", changeType: "created,updated,deleted")
    }
}

/// A subscription as the gateway keeps it in the engine (key `sub:<id>`;
/// its `clientState` is a sealed secret under the same key).
public struct StoredSubscription: Sendable, Hashable, Codable {
    public var id: String
    public var target: String
    public var resource: String
    public var changeType: String
    public var expiresAt: Date
    public var notificationURL: String
    public var lifecycleURL: String

    public init(id: String, target: String, resource: String, changeType: String, expiresAt: Date, notificationURL: String,
                lifecycleURL: String) {
        self.id = id; self.target = target; self.resource = resource; self.changeType = changeType; self.expiresAt = expiresAt
        self.notificationURL = notificationURL; self.lifecycleURL = lifecycleURL
    }

    public var json: JSONValue {
        .object(["target": .string(target), "resource": .string(resource), "change_type": .string(changeType),
                 "expires_at": .string(expiresAt.iso8601), "notification_url": .string(notificationURL),
                 "lifecycle_url": .string(lifecycleURL)])
    }

    public init?(id: String, json: JSONValue) {
        guard let target = json["target"]?.stringValue, let resource = json["resource"]?.stringValue,
              let change = json["change_type"]?.stringValue, let expires = json["expires_at"]?.stringValue.flatMap({ Date(iso8601: $0) }),
              let url = json["notification_url"]?.stringValue, let lifecycle = json["lifecycle_url"]?.stringValue else { return nil }
        self.init(id: id, target: target, resource: resource, changeType: change, expiresAt: expires, notificationURL: url,
                  lifecycleURL: lifecycle)
    }
}

/// What to do about subscriptions now.
public enum SubscriptionAction: Sendable, Hashable {
    case create(SubscriptionTarget)
    case renew(StoredSubscription)
    case delete(StoredSubscription)
}

/// Decides which subscriptions to create, renew and delete, as a pure
/// function of what the channel wants and what exists.
///
/// - Lifetime: `lifetimeMinutes` (4,200: under the 4,230-minute maximum
///   older Graph documents give for Outlook messages and events, so it also
///   holds under the newer 10,080).
/// - Renewal: once less than half the lifetime is left (about 35 hours
///   ahead), so that a gateway down for a day still renews in time.
/// - One subscription per target; an extra one, one for a target no longer
///   configured, or one whose URLs or resource changed (a lifecycle URL
///   cannot be added by renewing) is deleted, and a fresh one created.
public enum SubscriptionPlanner {
    public static let lifetimeMinutes = 4_200
    public static var lifetime: TimeInterval { Double(lifetimeMinutes) * 60 }
    public static var renewWhenLeft: TimeInterval { lifetime / 2 }

    public static func expiry(from now: Date) -> Date { now.addingTimeInterval(lifetime) }

    public static func plan(targets: [SubscriptionTarget], existing: [StoredSubscription], notificationURL: String,
                            lifecycleURL: String, now: Date) -> [SubscriptionAction] {
        var actions: [SubscriptionAction] = []
        var wanted = Set<String>()
        for t in targets {
            wanted.insert(t.key)
            let current = existing.filter {
                $0.target == t.key && $0.resource == t.resource && $0.changeType == t.changeType
                    && $0.notificationURL == notificationURL && $0.lifecycleURL == lifecycleURL && $0.expiresAt > now
            }.sorted { ($0.expiresAt, $0.id) > ($1.expiresAt, $1.id) }
            guard let keep = current.first else {
                actions.append(.create(t))
                continue
            }
            if keep.expiresAt.timeIntervalSince(now) < renewWhenLeft { actions.append(.renew(keep)) }
            for extra in current.dropFirst() { actions.append(.delete(extra)) }
        }
        let kept = Set(actions.compactMap { a -> String? in if case .renew(let s) = a { s.id } else { nil } })
        for s in existing {
            let isCurrent = targets.contains {
                $0.key == s.target && $0.resource == s.resource && $0.changeType == s.changeType
            } && s.notificationURL == notificationURL && s.lifecycleURL == lifecycleURL && s.expiresAt > now
            if !isCurrent, !kept.contains(s.id) { actions.append(.delete(s)) }
        }
        return actions
    }
}

/// One page of a delta round (`messages/delta`, `calendarView/delta`).
public struct DeltaPage: Sendable {
    /// Present items (new or changed): their JSON.
    public var items: [JSONValue]
    /// Items gone (`@removed`): id and reason.
    public var removed: [(id: String, reason: String?)]
    public var nextLink: String?
    public var deltaLink: String?

    /// Items one page may hold at most (Graph pages are a few dozen to a few hundred).
    public static let maxItems = 5_000

    public static func parse(_ json: JSONValue?) throws(OutlookMessageError) -> DeltaPage {
        guard let json, let list = json["value"]?.arrayItems else { throw OutlookMessageError("a delta page needs value: [...]") }
        guard list.count <= maxItems else { throw OutlookMessageError("a delta page of \(list.count) items is more than \(maxItems)") }
        let next = json["@odata.nextLink"]?.stringValue
        let delta = json["@odata.deltaLink"]?.stringValue
        guard (next == nil) != (delta == nil) else {
            throw OutlookMessageError("a delta page has exactly one of @odata.nextLink and @odata.deltaLink")
        }
        var page = DeltaPage(items: [], removed: [], nextLink: next, deltaLink: delta)
        for item in list {
            guard let id = item["id"]?.stringValue, !id.isEmpty, id.count <= GraphMessage.maxFieldCharacters else { continue }
            if let removed = item["@removed"] {
                page.removed.append((id, removed["reason"]?.stringValue))
            } else {
                page.items.append(item)
            }
        }
        return page
    }
}

/// How a delta round ended.
public enum DeltaOutcome: Sendable {
    /// Every page was handled; the `@odata.deltaLink` to store for the next round.
    case completed(deltaLink: String)
    /// The stored link is no longer valid (`410 Gone`, `syncStateNotFound`…): start again from scratch.
    case resyncNeeded(String)
    /// Stopped (Graph or the engine unavailable); try again at `retryAt`.
    case failed(String, retryAt: Date?)
}

/// Walks a delta round: requests `start`, hands each page to `handle`,
/// follows `@odata.nextLink` verbatim until a page carries
/// `@odata.deltaLink`. A `410` or an error code saying the sync state is
/// gone asks for a full resync. At most `maxPages` pages per round.
public struct DeltaWalker: Sendable {
    public static let maxPages = 2_000
    /// `Prefer: odata.maxpagesize`.
    public static let pageSize = 50
    static let resyncCodes: Set<String> = ["syncstatenotfound", "syncstateinvalid", "resyncrequired", "invaliddeltatoken"]

    public let client: GraphClient

    public init(client: GraphClient) { self.client = client }

    public func run(from start: String, now: @Sendable () -> Date,
                    handle: @Sendable (DeltaPage) async throws -> Void) async -> DeltaOutcome {
        var link = start
        for _ in 0..<Self.maxPages {
            let result = await client.call(.GET, link, prefer: ["odata.maxpagesize=\(Self.pageSize)"],
                                           maxAnswerBytes: 16 << 20)
            guard case .answered(let a) = result else {
                if case .noToken(let e) = result { return .failed(e.description, retryAt: e.retryAt) }
                return .failed(result.description, retryAt: nil)
            }
            if a.status == 410 || Self.resyncCodes.contains((a.errorCode ?? "").lowercased()) {
                return .resyncNeeded(a.errorText)
            }
            guard a.ok else { return .failed(a.errorText, retryAt: ProviderHTTP.retryAfter(a.headers, now: now())) }
            let page: DeltaPage
            do {
                page = try DeltaPage.parse(a.json)
            } catch {
                return .failed(error.description, retryAt: nil)
            }
            do {
                try await handle(page)
            } catch {
                return .failed("\(error)", retryAt: nil)
            }
            if let delta = page.deltaLink { return .completed(deltaLink: delta) }
            link = page.nextLink!
        }
        return .failed("a delta round ran over \(Self.maxPages) pages", retryAt: nil)
    }
}
