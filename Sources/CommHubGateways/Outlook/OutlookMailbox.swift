import CommHubDomain
import CommHubWire
import Foundation

/// One `email_outlook` channel kept in step with its mailbox.
///
/// Its state lives in the engine (`OutlookStateKey`): `sub:<id>` per
/// Graph subscription (target, resource, expiry, URLs; its `clientState`
/// a sealed secret under the same key), `delta:<target>` the
/// `@odata.deltaLink` of each folder and of the calendar, `q:<hash>` the
/// queued notifications. On start it loads that state, then each step:
///
/// 1. **Subscriptions** (`SubscriptionPlanner`): one per synchronised
///    folder (`sync_folders`, default Inbox and Sent Items) and for the
///    calendar, created with a fresh secret `clientState`, renewed at half
///    their life, deleted when no longer wanted.
/// 2. **Queue**: each notification's message is fetched
///    (`GET /users/{mailbox}/messages/{id}` with `OutlookNormaliser.selectFields`),
///    normalised and ingested: a customer's mail as `message`, mail of Sent
///    Items (or from the mailbox) as `outgoing_message`; its files follow
///    (`attachments`, large ones by `/$value`). Lifecycle events:
///    `reauthorizationRequired` → `POST /subscriptions/{id}/reauthorize`;
///    `subscriptionRemoved` → the subscription is forgotten, created again
///    and its target caught up by delta; `missed` → catch up by delta.
/// 3. **Delta** per target at start, after `missed`/`subscriptionRemoved`
///    and every `deltaIntervalSeconds`: `@odata.nextLink` followed verbatim
///    to the `@odata.deltaLink`, which is stored; `@removed` marks known
///    messages removed (never creates one); `410`/an invalid token starts a
///    full round again, whose repeats the engine answers as duplicates.
///
/// Failures: Graph or the engine unavailable → the step stops and is tried
/// again with growing pauses (or at Graph's `Retry-After`); the queue entry stays.
public actor OutlookMailbox {
    public nonisolated let channelID: ChannelID
    unowned let owner: OutlookMailboxes
    var engine: any OutlookEngine { owner.engine }

    private var values: [String: JSONValue] = [:]
    private var secrets: [String: String] = [:]
    private(set) var loaded = false
    private var wake: AsyncStream<Void>.Continuation?
    private var retryAt = Date.distantPast
    /// Graph asked us to wait until then (`Retry-After`).
    private var throttledUntil = Date.distantPast
    private var failures = 0
    private var nextSubscriptionCheck = Date.distantPast
    private var nextDelta: [String: Date] = [:]
    private var lastConfiguration: [String: JSONValue]?
    private var folderIDs: [String: String] = [:]
    private var recent = RecentIDs(capacity: 10_000)
    private var lastProblem: String?

    /// How often each target is caught up by delta even when notifications flow.
    public static let deltaIntervalSeconds: TimeInterval = 900
    /// How often subscriptions are checked (renewals are hours away; config changes are noticed at once).
    public static let subscriptionCheckSeconds: TimeInterval = 300
    /// Queue entries handled per step.
    public static let maxQueuePerStep = 50
    /// How far back the first delta round of a folder reaches.
    public static let initialSyncDays = 14.0
    /// Pauses after failures: 5 s doubling, at most 5 minutes.
    static let minPauseSeconds = 5.0
    static let maxPauseSeconds = 300.0
    /// A `Retry-After` longer than this is cut to it (a mistaken "come back tomorrow" must not stop mail for a day).
    static let maxRetryAfterSeconds = 3_600.0
    /// Inline images (`cid:`) fetched with the mail itself, at most, each at most `OutlookOutbound.maxInlineAttachmentBytes`.
    static let maxInlineImages = 20

    init(channelID: ChannelID, owner: OutlookMailboxes) {
        self.channelID = channelID
        self.owner = owner
    }

    private var now: Date { owner.now() }

    // MARK: Running

    /// Runs until cancelled or the channel is gone or inactive.
    func run() async {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wake = continuation
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(500))
                    continuation.yield()
                }
            }
            for await _ in stream {
                guard !Task.isCancelled, let channel = engine.channel(channelID), channel.isActive,
                      channel.channelType == .emailOutlook else { break }
                await step(channel)
            }
            group.cancelAll()
        }
    }

    /// Queue entries `/webhooks/outlook` stored: handled on the next step, which starts now.
    func enqueued(_ entries: [String: JSONValue]) {
        for (k, v) in entries { values[k] = v }
        retryAt = max(min(retryAt, now), throttledUntil)
        wake?.yield()
    }

    func step(_ channel: GatewayChannelSettings) async {
        guard now >= retryAt else { return }
        do {
            if !loaded { try await load() }
            let client: GraphClient
            switch GraphClient.make(for: channel, http: owner.http, tokens: owner.tokens) {
            case .success(let c): client = c
            case .failure(let e):
                problem("outlook channel not configured: \(e.description)")
                retryAt = now.addingTimeInterval(30)
                return
            }
            if channel.configuration != lastConfiguration {
                lastConfiguration = channel.configuration
                nextSubscriptionCheck = .distantPast
            }
            if now >= nextSubscriptionCheck { try await maintainSubscriptions(channel, client) }
            try await drainQueue(channel, client)
            try await runDueDeltas(channel, client)
            failures = 0
            lastProblem = nil
        } catch let f as SyncFailure {
            failed(f)
        } catch {
            failed(SyncFailure(description: "\(error)", transient: true, retryAt: nil))
        }
    }

    /// Pauses the channel: until Graph's `Retry-After` when it named one (429, 503: Graph
    /// knows best, and a new notification does not cut it short), else by growing pauses.
    private func failed(_ f: SyncFailure) {
        failures += 1
        let pause = min(Self.maxPauseSeconds, Self.minPauseSeconds * pow(2, Double(min(failures - 1, 10))))
        if let said = f.retryAt, said > now {
            let graphSaid = min(said, now.addingTimeInterval(Self.maxRetryAfterSeconds))
            retryAt = graphSaid
            throttledUntil = graphSaid
        } else {
            retryAt = now.addingTimeInterval(pause)
        }
        problem("outlook synchronisation paused: \(f.description)")
    }

    /// Logs a problem once until it changes (a broken channel does not flood the log).
    private func problem(_ text: String) {
        guard text != lastProblem else { return }
        lastProblem = text
        engine.log(.notice, text, ["channel.id": channelID.description])
    }

    private func load() async throws {
        let state: GatewayProtocol.ChannelState
        do {
            state = try await engine.loadState(channelID)
        } catch {
            throw SyncFailure(description: "loading the channel's state: \(error)", transient: true, retryAt: nil)
        }
        values = state.values
        secrets = state.secrets
        loaded = true
        publishSubscriptions()
        engine.log(.info, "outlook channel loaded", ["channel.id": channelID.description, "outlook.subscriptions": "\(subscriptions.count)",
                                                     "outlook.queued": "\(queue.count)"])
    }

    /// Applies a change here and in the engine (durable before it returns).
    private func save(set: [String: JSONValue] = [:], remove: [String] = [], secrets changes: [String: JSONValue] = [:]) async throws {
        guard !(set.isEmpty && remove.isEmpty && changes.isEmpty) else { return }
        do {
            try await engine.saveState(GatewayProtocol.StatePut(channelID: channelID, set: set, remove: remove, secrets: changes))
        } catch {
            throw SyncFailure(description: "storing the channel's state: \(error)", transient: true, retryAt: nil)
        }
        for k in remove { values[k] = nil }
        for (k, v) in set { values[k] = v }
        for (k, v) in changes { secrets[k] = v.stringValue }
        publishSubscriptions()
    }

    private var subscriptions: [StoredSubscription] {
        values.compactMap { k, v in k.hasPrefix("sub:") ? StoredSubscription(id: String(k.dropFirst(4)), json: v) : nil }
    }

    private var queue: [(key: String, value: JSONValue)] {
        // Oldest first, by time (not by the text: "…:42Z" sorts after "…:42.5Z").
        func at(_ v: JSONValue) -> Date { v["at"]?.stringValue.flatMap { Date(iso8601: $0) } ?? .distantPast }
        return values.filter { $0.key.hasPrefix("q:") }.sorted { (at($0.value), $0.key) < (at($1.value), $1.key) }
            .map { ($0.key, $0.value) }
    }

    private func publishSubscriptions() {
        var entries: [String: OutlookSubscriptionIndex.Entry] = [:]
        for s in subscriptions {
            guard let secret = secrets[OutlookStateKey.subscription(s.id)] else { continue }
            entries[s.id] = .init(channel: channelID, target: s.target, clientState: secret)
        }
        owner.index.replace(channel: channelID, with: entries)
    }

    // MARK: Subscriptions

    func targets(_ channel: GatewayChannelSettings, _ client: GraphClient) async throws -> [SubscriptionTarget] {
        var out: [SubscriptionTarget] = []
        for name in OutlookFolder.configured(channel) {
            if let f = try await folder(name, client) { out.append(.folder(f, mailbox: client.mailbox)) }
        }
        if let rule = CalendarFollowUpRule(channel: channel) { out.append(.calendar(user: rule.user)) }
        return out
    }

    /// A configured folder: well-known, or looked up by display name (cached for the process's life).
    private func folder(_ name: String, _ client: GraphClient) async throws -> OutlookFolder? {
        if let f = OutlookFolder.wellKnown(name) { return f }
        if let id = folderIDs[name] { return OutlookFolder(key: id, displayName: name) }
        let filter = "displayName eq '\(name.replacingOccurrences(of: "'", with: "''"))'"
        let path = "\(client.userPath)/mailFolders?$filter=\(GraphForm.encode(filter))&$select=id,displayName"
        let r = await client.call(.GET, path)
        guard let a = r.answer, a.ok else { throw SyncFailure.from(r, "looking up folder '\(name)'", now: now) }
        guard let id = a.json?["value"]?.arrayItems?.first?["id"]?.stringValue else {
            problem("outlook folder '\(name)' of sync_folders does not exist in the mailbox")
            return nil
        }
        folderIDs[name] = id
        return OutlookFolder(key: id, displayName: name)
    }

    static func lifecycleURL(_ channel: GatewayChannelSettings) -> String? {
        if let url = channel.string("lifecycle_url"), !url.isEmpty { return url }
        guard let webhook = channel.string("webhook_url"), !webhook.isEmpty else { return nil }
        let cut = webhook.firstIndex { $0 == "?" || $0 == "#" } ?? webhook.endIndex
        return String(webhook[..<cut]).trimmingSuffix("/") + "/lifecycle" + String(webhook[cut...])
    }

    private func maintainSubscriptions(_ channel: GatewayChannelSettings, _ client: GraphClient) async throws {
        guard let notificationURL = channel.string("webhook_url"), !notificationURL.isEmpty,
              let lifecycleURL = Self.lifecycleURL(channel) else {
            problem("outlook channel has no webhook_url: no push notifications, delta every \(Int(Self.deltaIntervalSeconds / 60)) minutes only")
            nextSubscriptionCheck = now.addingTimeInterval(Self.subscriptionCheckSeconds)
            return
        }
        let wanted = try await targets(channel, client)
        let actions = SubscriptionPlanner.plan(targets: wanted, existing: subscriptions, notificationURL: notificationURL,
                                               lifecycleURL: lifecycleURL, now: now)
        for action in actions {
            switch action {
            case .create(let t): try await create(t, channel: channel, client: client, notificationURL: notificationURL, lifecycleURL: lifecycleURL)
            case .renew(let s): try await renew(s, client: client)
            case .delete(let s): try await delete(s, client: client)
            }
        }
        nextSubscriptionCheck = now.addingTimeInterval(Self.subscriptionCheckSeconds)
    }

    private func create(_ t: SubscriptionTarget, channel: GatewayChannelSettings, client: GraphClient, notificationURL: String,
                        lifecycleURL: String) async throws {
        let secret = channel.secrets["client_state"].flatMap { $0.isEmpty ? nil : $0 } ?? ClientState.make()
        let expires = SubscriptionPlanner.expiry(from: now)
        let body = JSONValue.object([
            "changeType": .string(t.changeType), "notificationUrl": .string(notificationURL),
            "lifecycleNotificationUrl": .string(lifecycleURL), "resource": .string(t.resource),
            "expirationDateTime": .string(expires.iso8601), "clientState": .string(secret),
            "latestSupportedTlsVersion": .string("v1_2"),
        ])
        // Graph validates both URLs and may notify before it answers: the secret is known here first.
        owner.index.creating(secret, channel: channelID, target: t.key)
        defer { owner.index.created(secret) }
        let r = await client.call(.POST, "/subscriptions", body: body)
        guard let a = r.answer, a.ok, let id = a.json?["id"]?.stringValue, !id.isEmpty, id.count <= 256 else {
            throw SyncFailure.from(r, "creating the subscription for \(t.key)", now: now)
        }
        // Graph's expiry when it is sane (in the future, within the newest documented maximum), else ours.
        var expiresAt = expires
        if let given = a.json?["expirationDateTime"]?.stringValue.flatMap({ Date(iso8601: $0) }),
           given > now, given <= now.addingTimeInterval(10_080 * 60) { expiresAt = given }
        let stored = StoredSubscription(id: id, target: t.key, resource: t.resource, changeType: t.changeType, expiresAt: expiresAt,
                                        notificationURL: notificationURL, lifecycleURL: lifecycleURL)
        try await save(set: [OutlookStateKey.subscription(id): stored.json], secrets: [OutlookStateKey.subscription(id): .string(secret)])
        engine.log(.info, "outlook subscription created", ["channel.id": channelID.description, "outlook.target": t.key,
                                                           "outlook.subscription": id, "outlook.expires_at": expiresAt.iso8601])
    }

    private func renew(_ s: StoredSubscription, client: GraphClient) async throws {
        let expires = SubscriptionPlanner.expiry(from: now)
        let r = await client.call(.PATCH, "/subscriptions/\(GraphClient.segment(s.id))",
                                  body: .object(["expirationDateTime": .string(expires.iso8601)]))
        if let a = r.answer, a.status == 404 {
            try await forget(s.id)  // gone at Graph: the next check creates it again
            nextSubscriptionCheck = .distantPast
            nextDelta[s.target] = .distantPast
            return
        }
        guard let a = r.answer, a.ok else { throw SyncFailure.from(r, "renewing subscription \(s.id)", now: now) }
        var renewed = s
        renewed.expiresAt = a.json?["expirationDateTime"]?.stringValue.flatMap { Date(iso8601: $0) }.flatMap { $0 > now ? $0 : nil } ?? expires
        try await save(set: [OutlookStateKey.subscription(s.id): renewed.json])
        engine.log(.info, "outlook subscription renewed", ["channel.id": channelID.description, "outlook.subscription": s.id,
                                                           "outlook.expires_at": renewed.expiresAt.iso8601])
    }

    private func delete(_ s: StoredSubscription, client: GraphClient) async throws {
        let r = await client.call(.DELETE, "/subscriptions/\(GraphClient.segment(s.id))")
        guard let a = r.answer, a.ok || a.status == 404 else { throw SyncFailure.from(r, "deleting subscription \(s.id)", now: now) }
        try await forget(s.id)
    }

    private func forget(_ id: String) async throws {
        let key = OutlookStateKey.subscription(id)
        try await save(remove: [key], secrets: [key: .null])
    }

    // MARK: Queue

    private func drainQueue(_ channel: GatewayChannelSettings, _ client: GraphClient) async throws {
        var done: [String] = []
        var stop: (any Error)?
        for (key, entry) in queue.prefix(Self.maxQueuePerStep) {
            let target = entry["target"]?.stringValue ?? ""
            let id = entry["id"]?.stringValue ?? ""
            do {
                switch entry["kind"]?.stringValue {
                case "message":
                    try await message(id, target: target, change: entry["change"]?.stringValue ?? "created", channel: channel, client: client)
                case "event":
                    try await event(id, change: entry["change"]?.stringValue ?? "updated", channel: channel, client: client)
                case "lifecycle":
                    try await lifecycle(GraphLifecycleEvent(entry["event"]?.stringValue ?? ""), subscription: id, target: target,
                                        channel: channel, client: client)
                default:
                    break  // not ours to understand: dropped
                }
            } catch let f as SyncFailure where !f.transient {
                engine.log(.warning, "outlook notification dropped: \(f.description)", ["channel.id": channelID.description])
            } catch {
                stop = error  // kept in the queue; tried again after a pause
                break
            }
            done.append(key)
        }
        // What was handled leaves the queue (a crash before this repeats it: ingest is idempotent).
        try await save(remove: done)
        if let stop { throw stop }
    }

    private func lifecycle(_ event: GraphLifecycleEvent, subscription: String, target: String, channel: GatewayChannelSettings,
                           client: GraphClient) async throws {
        engine.log(.info, "outlook lifecycle event", ["channel.id": channelID.description, "outlook.lifecycle": event.name,
                                                      "outlook.subscription": subscription, "outlook.target": target])
        switch event {
        case .reauthorizationRequired:
            let r = await client.call(.POST, "/subscriptions/\(GraphClient.segment(subscription))/reauthorize")
            if let a = r.answer, a.status == 404 {
                try await forget(subscription)
                nextSubscriptionCheck = .distantPast
                try await delta(target, channel: channel, client: client)
                return
            }
            guard let a = r.answer, a.ok else { throw SyncFailure.from(r, "reauthorizing subscription \(subscription)", now: now) }
        case .subscriptionRemoved:
            if values[OutlookStateKey.subscription(subscription)] != nil { try await forget(subscription) }
            nextSubscriptionCheck = .distantPast
            try await maintainSubscriptions(channel, client)
            try await delta(target, channel: channel, client: client)
        case .missed:
            try await delta(target, channel: channel, client: client)
        case .other:
            break
        }
    }

    // MARK: Messages

    /// Fetches, normalises and ingests one message; its files follow.
    private func message(_ id: String, target: String, change: String, channel: GatewayChannelSettings, client: GraphClient) async throws {
        let r = await client.call(.GET, "\(client.userPath)/messages/\(GraphClient.segment(id))?$select=\(OutlookNormaliser.selectFields)",
                                  maxAnswerBytes: 8 << 20)
        if let a = r.answer, a.status == 404 { return }  // deleted or moved out of reach before we came: nothing to do
        guard let a = r.answer, a.ok, let json = a.json else { throw SyncFailure.from(r, "fetching a message", now: now) }
        let m: GraphMessage
        do {
            m = try GraphMessage(json: json)
        } catch {
            throw SyncFailure(description: "a message Graph sent is unreadable: \(error.description)", transient: false, retryAt: nil)
        }
        guard !m.isDraft else { return }
        let folder = target.hasPrefix("folder:") ? String(target.dropFirst(7)) : target
        let outgoing = OutlookNormaliser.isFromMailbox(m, mailbox: client.mailbox, folder: folder)
        if outgoing, Self.internalOnly(m, mailbox: client.mailbox) { return }  // colleague to colleague: not a customer conversation
        let files = try await attachments(m, client: client)
        let folderName = folder == OutlookFolder.sentItems.key ? "Sent Items" : folder == OutlookFolder.inbox.key ? "Inbox" : folder
        let item: JSONValue
        do {
            item = outgoing
                ? try OutlookNormaliser.itemJSON(OutlookNormaliser.outgoing(m, channelID: channelID, folder: folderName, attachments: files.list,
                                                                            inlineImages: files.inline, now: now))
                : try OutlookNormaliser.itemJSON(OutlookNormaliser.inbound(m, channelID: channelID, folder: folderName, attachments: files.list,
                                                                           inlineImages: files.inline, now: now))
        } catch {
            throw SyncFailure(description: "encoding a message: \(error)", transient: false, retryAt: nil)
        }
        var items = [item]
        if !outgoing, m.isRead {
            // Read in Outlook: the message's read state follows (never moves back).
            items.append(.object(["type": .string("delivery_status"), "channel_id": .string(channelID.description),
                                  "external_message_id": .string(m.id), "delivery_status": .string("read"), "at": .string(now.iso8601)]))
        }
        let results = try await ingest(items)
        let status = results.first?["status"]?.stringValue
        recent.insert(m.id)
        guard status == "created" else { return }
        engine.log(.info, "outlook mail ingested", ["channel.id": channelID.description, "outlook.folder": folderName,
                                                    "outlook.direction": outgoing ? "outgoing" : "incoming",
                                                    "thread.id": results.first?["thread_id"]?.stringValue ?? "-"])
        for (index, later) in files.later {
            let download = later.download
            await engine.fetchLater(channel: channelID, externalMessageID: m.id, index: index, fileName: later.name) { channel throws(DownloadFailure) in
                try await download(channel)
            }
        }
    }

    /// Colleagues mailing each other from the support mailbox: every recipient in the mailbox's own domain.
    static func internalOnly(_ m: GraphMessage, mailbox: String) -> Bool {
        guard let domain = mailbox.split(separator: "@").last?.lowercased() else { return false }
        let recipients = (m.to + m.cc).compactMap { $0.address?.lowercased() }
        return !recipients.isEmpty && recipients.allSatisfy { $0.hasSuffix("@" + domain) }
    }

    private func ingest(_ items: [JSONValue]) async throws -> [JSONValue] {
        let results: [JSONValue]
        do {
            results = try await engine.ingest(items)
        } catch {
            throw SyncFailure(description: "the engine did not take it: \(error)", transient: true, retryAt: nil)
        }
        if let bad = results.first(where: { $0["status"]?.stringValue == "error" }) {
            let code = bad["error"]?["code"]?.stringValue ?? "error"
            let text = bad["error"]?["message"]?.stringValue ?? ""
            throw SyncFailure(description: "the engine refused it: \(code) \(text)", transient: code == "unavailable" || code == "not_stored",
                              retryAt: nil)
        }
        return results
    }

    struct LaterFile {
        var name: String
        var download: @Sendable (GatewayChannelSettings) async throws(DownloadFailure) -> DownloadedFile
    }

    /// The mail's attachment list; inline images it shows are stored now (so its HTML can point at
    /// them), every other file is fetched after the message is ingested.
    private func attachments(_ m: GraphMessage, client: GraphClient) async throws
        -> (list: [Attachment], inline: [String: String], later: [(Int, LaterFile)]) {
        guard m.hasAttachments || m.body.contains("cid:") else { return ([], [:], []) }
        let base = "\(client.userPath)/messages/\(GraphClient.segment(m.id))/attachments"
        let r = await client.call(.GET, "\(base)?$select=id,name,contentType,size,isInline,contentId")
        guard let a = r.answer, a.ok else { throw SyncFailure.from(r, "listing attachments", now: now) }
        let referenced = Set(MailHTML.sanitise(m.body).referencedContentIDs)
        var list: [Attachment] = []
        var inline: [String: String] = [:]
        var later: [(Int, LaterFile)] = []
        for item in (a.json?["value"]?.arrayItems ?? []).prefix(WireBounds.maxAttachments) {
            guard let part = GraphAttachment(json: item) else { continue }
            let index = list.count
            let contentID = part.contentID.map(MailHTML.contentID)
            if part.kind == .file, let cid = contentID, referenced.contains(cid), inline.count < Self.maxInlineImages,
               part.size <= OutlookOutbound.maxInlineAttachmentBytes {
                let file = try await GraphAttachmentDownloader(client: client).download(messageID: m.id, part: part)
                    .mapError { SyncFailure(description: $0.description, transient: $0.retry, retryAt: nil) }.get()
                let stored: GatewayProtocol.StoredAttachment
                do {
                    stored = try await engine.storeFile(file.bytes, fileName: part.name, contentType: file.contentType)
                } catch {
                    throw SyncFailure(description: "storing an inline image: \(error)", transient: true, retryAt: nil)
                }
                inline[cid] = stored.url
                list.append(Attachment(fileName: part.name, contentType: stored.contentType, sizeBytes: stored.sizeBytes,
                                       url: stored.url, sha256: stored.sha256))
                continue
            }
            list.append(Attachment(fileName: part.name, contentType: part.contentType, sizeBytes: part.size,
                                   url: "graph-attachment:\(part.id)"))
            guard part.kind != .reference else { continue }
            let downloader = GraphAttachmentDownloader(client: client)
            let messageID = m.id
            later.append((index, LaterFile(name: part.name) { _ throws(DownloadFailure) in
                try await downloader.download(messageID: messageID, part: part).get()
            }))
        }
        return (list, inline, later)
    }

    // MARK: Calendar

    private func event(_ id: String, change: String, channel: GatewayChannelSettings, client: GraphClient) async throws {
        guard let rule = CalendarFollowUpRule(channel: channel) else { return }
        let followUp: CalendarFollowUp
        if change == "deleted" {
            followUp = CalendarFollowUp(channelID: channelID, eventID: id, title: "", cancelled: true)
        } else {
            let path = "/users/\(GraphClient.segment(rule.user))/events/\(GraphClient.segment(id))?$select=\(CalendarFollowUpRule.selectFields)"
            let r = await client.call(.GET, path, prefer: [#"outlook.timezone="UTC""#])
            if let a = r.answer, a.status == 404 {
                followUp = CalendarFollowUp(channelID: channelID, eventID: id, title: "", cancelled: true)
            } else {
                guard let a = r.answer, a.ok, let json = a.json else { throw SyncFailure.from(r, "fetching an event", now: now) }
                guard let f = rule.followUp(json, channelID: channelID) else { return }
                followUp = f
            }
        }
        _ = try await ingest([try OutlookNormaliser.itemJSON(followUp)])
    }

    // MARK: Delta

    private func runDueDeltas(_ channel: GatewayChannelSettings, _ client: GraphClient) async throws {
        for t in try await targets(channel, client) where (nextDelta[t.key] ?? .distantPast) <= now {
            try await delta(t.key, channel: channel, client: client)
        }
    }

    /// One delta round of a target (a full one when no link is stored or the stored one is no longer valid).
    func delta(_ target: String, channel: GatewayChannelSettings, client: GraphClient) async throws {
        for _ in 0..<2 {
            let start = values[OutlookStateKey.delta(target)]?.stringValue ?? initialDeltaURL(target, channel: channel, client: client)
            guard let start else { return }
            let walker = DeltaWalker(client: client)
            let owner = self.owner
            let outcome = await walker.run(from: start, now: { owner.now() }) { page in
                try await self.handle(page, target: target, channel: channel, client: client)
            }
            switch outcome {
            case .completed(let link):
                try await save(set: [OutlookStateKey.delta(target): .string(link)])
                nextDelta[target] = now.addingTimeInterval(Self.deltaIntervalSeconds)
                return
            case .resyncNeeded(let why):
                engine.log(.notice, "outlook delta link no longer valid; full resync", ["channel.id": channelID.description,
                                                                                        "outlook.target": target, "reason": why])
                try await save(remove: [OutlookStateKey.delta(target)])
            case .failed(let why, let retryAt):
                throw SyncFailure(description: "delta of \(target): \(why)", transient: true, retryAt: retryAt)
            }
        }
    }

    func initialDeltaURL(_ target: String, channel: GatewayChannelSettings, client: GraphClient) -> String? {
        if target == "calendar" {
            guard let rule = CalendarFollowUpRule(channel: channel) else { return nil }
            let from = now.addingTimeInterval(-CalendarFollowUpRule.windowPastDays * 86_400).iso8601
            let to = now.addingTimeInterval(CalendarFollowUpRule.windowAheadDays * 86_400).iso8601
            return "/users/\(GraphClient.segment(rule.user))/calendarView/delta?startDateTime=\(GraphForm.encode(from))&endDateTime=\(GraphForm.encode(to))"
        }
        guard target.hasPrefix("folder:") else { return nil }
        let folder = OutlookFolder(key: String(target.dropFirst(7)), displayName: "")
        let since = now.addingTimeInterval(-Self.initialSyncDays * 86_400).iso8601
        return "\(client.userPath)/\(folder.path)/messages/delta?$select=id,receivedDateTime"
            + "&$filter=\(GraphForm.encode("receivedDateTime ge \(since)"))"
    }

    private func handle(_ page: DeltaPage, target: String, channel: GatewayChannelSettings, client: GraphClient) async throws {
        if target == "calendar" {
            guard let rule = CalendarFollowUpRule(channel: channel) else { return }
            var items: [JSONValue] = []
            for e in page.items { if let f = rule.followUp(e, channelID: channelID) { items.append(try OutlookNormaliser.itemJSON(f)) } }
            for (id, _) in page.removed {
                items.append(try OutlookNormaliser.itemJSON(CalendarFollowUp(channelID: channelID, eventID: id, title: "", cancelled: true)))
            }
            if !items.isEmpty { _ = try await ingest(items) }
            return
        }
        let folderName = target == "folder:\(OutlookFolder.sentItems.key)" ? "Sent Items"
            : target == "folder:\(OutlookFolder.inbox.key)" ? "Inbox" : String(target.dropFirst(7))
        if !page.removed.isEmpty {
            let removals = try page.removed.map {
                try OutlookNormaliser.itemJSON(MessageRemoval(channelID: channelID, externalMessageID: $0.id, reason: $0.reason,
                                                              folder: folderName, at: now))
            }
            _ = try await ingest(removals)
        }
        for item in page.items {
            guard let id = item["id"]?.stringValue, !recent.contains(id) else { continue }
            do {
                try await message(id, target: target, change: "created", channel: channel, client: client)
            } catch let f as SyncFailure where !f.transient {
                engine.log(.warning, "outlook message skipped: \(f.description)", ["channel.id": channelID.description])
            }
        }
    }
}

/// Ids seen lately (bounded, oldest forgotten first): a delta round does not fetch again what a notification just brought.
struct RecentIDs {
    let capacity: Int
    private var order: [String] = []
    private var set: Set<String> = []
    private var start = 0

    init(capacity: Int) { self.capacity = capacity }

    func contains(_ id: String) -> Bool { set.contains(id) }

    mutating func insert(_ id: String) {
        guard set.insert(id).inserted else { return }
        order.append(id)
        if set.count > capacity {
            set.remove(order[start])
            start += 1
            if start > capacity { order.removeFirst(start); start = 0 }
        }
    }
}
