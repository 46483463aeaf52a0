import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Microsoft's login service and Microsoft Graph as CommHub uses them, on loopback.
///
/// - Token endpoint: `POST /login/{tenant}/oauth2/v2.0/token` (client
///   credentials, `scope` `https://graph.microsoft.com/.default`) answers
///   `{"token_type":"Bearer","expires_in":…,"ext_expires_in":…,"access_token":…}`,
///   or `401 {"error":"invalid_client",…}` for a wrong secret.
/// - Graph under `/v1.0`, every call with a bearer token it issued and that
///   has not expired (`expireTokens()`), else `401 InvalidAuthenticationToken`:
///   subscriptions (create with the validation handshake to both URLs,
///   renew, delete, reauthorize), one mailbox's messages (get with
///   `$select`, attachments with `contentBytes` and `/$value`, mark read),
///   `messages/delta` per folder (pages of `odata.maxpagesize`,
///   `@odata.nextLink` / `@odata.deltaLink`, `@removed`, `410` for tokens
///   made invalid by `expireDeltaTokens()`), `reply` and `sendMail` (202,
///   and a copy in Sent Items with the custom headers of the request),
///   calendar events and `calendarView/delta`.
/// - Towards the gateway, as Graph does: change notifications when mail
///   arrives (unless `loseNotifications`), and lifecycle notifications on demand.
/// Faults: `server.enqueue(…, when:)` (429 with Retry-After, 5xx, hangs).
public final class GraphStandIn: Sendable {
    public let server: StandInServer
    public let tenant: String
    public let clientID: String
    public let clientSecret: String
    public let mailbox: String
    let world: World
    let client = HTTPClient(eventLoopGroupProvider: .singleton)

    public init(tenant: String = "contoso-tenant-id", clientID: String = "commhub-app-id", clientSecret: String = "entra-client-secret",
                mailbox: String = "support@chargecars.nl") {
        self.tenant = tenant
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.mailbox = mailbox
        let world = World(mailbox: mailbox)
        self.world = world
        let box = Mutex<GraphStandIn?>(nil)
        server = StandInServer(name: "graph", asyncResponder: { request, _ in
            guard let me = box.withLock({ $0 }) else { return .respond(status: 503, headers: [:], body: []) }
            return await me.answer(request)
        })
        box.withLock { $0 = self }
    }

    public func start() async throws { try await server.start() }
    public func stop() async {
        await server.stop()
        try? await client.shutdown()
    }

    public var baseURL: String { server.baseURL }
    public var loginBaseURL: String { server.baseURL + "/login" }
    public var graphBaseURL: String { server.baseURL + "/v1.0" }

    // MARK: The model

    public struct Address: Sendable, Hashable {
        public var name: String?
        public var address: String
        public init(_ address: String, name: String? = nil) { self.address = address; self.name = name }
        var json: [String: Any] { ["emailAddress": ["name": name ?? address, "address": address]] }
    }

    public struct File: Sendable {
        public var id: String
        public var name: String
        public var contentType: String
        public var bytes: [UInt8]
        public var isInline: Bool
        public var contentID: String?
        /// `file`, `item`, `reference`.
        public var kind: String
        public init(name: String, contentType: String, bytes: [UInt8], isInline: Bool = false, contentID: String? = nil, kind: String = "file") {
            self.id = "ATT" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
            self.name = name; self.contentType = contentType; self.bytes = bytes; self.isInline = isInline
            self.contentID = contentID; self.kind = kind
        }
    }

    public struct Mail: Sendable {
        public var id: String = ""
        public var folder: String = "inbox"
        public var from: Address
        public var to: [Address]
        public var cc: [Address] = []
        public var replyTo: [Address] = []
        public var subject: String
        public var html: Bool = false
        public var body: String
        public var conversationID: String = "CONV-" + UUID().uuidString
        public var internetMessageID: String = "<\(UUID().uuidString)@mail.example.org>"
        public var headers: [(String, String)] = []
        public var receivedAt: Date = Date()
        public var isRead: Bool = false
        public var files: [File] = []

        public init(from: Address, to: [Address], subject: String, body: String, html: Bool = false) {
            self.from = from; self.to = to; self.subject = subject; self.body = body; self.html = html
        }
    }

    public struct Event: Sendable {
        public var id: String = "EVT-" + UUID().uuidString
        public var subject: String
        public var bodyPreview: String = ""
        public var categories: [String] = []
        public var start: Date
        public var organizer: Address
        public var attendees: [Address] = []
        public var isCancelled = false
        public init(subject: String, start: Date, organizer: Address) { self.subject = subject; self.start = start; self.organizer = organizer }
    }

    public struct Subscription: Sendable {
        public var id: String
        public var resource: String
        public var changeType: String
        public var notificationURL: String
        public var lifecycleURL: String?
        public var clientState: String?
        public var expiration: Date
    }

    final class World: Sendable {
        struct State {
            var tokens: [String: Date] = [:]
            var tokenLifetime = 3599
            var tokensIssued = 0
            var messages: [String: Mail] = [:]
            /// Per folder: (seq, id, removed).
            var log: [String: [(seq: Int, id: String, removed: Bool)]] = [:]
            var seq = 0
            var deltaValidFrom = 0
            var pageSizeCap = 1000
            var subscriptions: [String: Subscription] = [:]
            var events: [String: Event] = [:]
            var eventLog: [(seq: Int, id: String, removed: Bool)] = []
            var loseNotifications = false
            var notificationAnswers: [Int] = []
            var validationFailures = 0
            var counter = 0
        }
        let state: Mutex<State>
        let mailbox: String
        init(mailbox: String) { self.mailbox = mailbox; state = Mutex(State()) }
    }

    // MARK: Controls

    /// Every token issued so far is refused from now on (401 InvalidAuthenticationToken).
    public func expireTokens() { world.state.withLock { $0.tokens = $0.tokens.mapValues { _ in .distantPast } } }
    public func tokenLifetime(_ seconds: Int) { world.state.withLock { $0.tokenLifetime = seconds } }
    public var tokensIssued: Int { world.state.withLock { $0.tokensIssued } }
    /// Every delta token handed out so far answers 410 Gone.
    public func expireDeltaTokens() { world.state.withLock { $0.seq += 1; $0.deltaValidFrom = $0.seq } }
    /// Delta pages at most this long (to make rounds of several pages).
    public func capPageSize(_ n: Int) { world.state.withLock { $0.pageSizeCap = n } }
    /// Mail arrives, but Graph sends no notification (a lost notification).
    public func loseNotifications(_ on: Bool) { world.state.withLock { $0.loseNotifications = on } }
    public var subscriptions: [Subscription] { world.state.withLock { Array($0.subscriptions.values) } }
    public var notificationAnswers: [Int] { world.state.withLock { $0.notificationAnswers } }
    public func message(_ id: String) -> Mail? { world.state.withLock { $0.messages[id] } }
    public var sentItems: [Mail] { world.state.withLock { $0.messages.values.filter { $0.folder == "sentitems" } } }

    /// A mail arrives in `folder` (Inbox by default); Graph notifies each subscription of that folder. Returns its id.
    @discardableResult
    public func deliver(_ mail: Mail, folder: String = "inbox") async -> String {
        let id = store(mail, folder: folder)
        await notifyCreated(id, folder: folder)
        return id
    }

    func store(_ mail: Mail, folder: String) -> String {
        world.state.withLock { s in
            s.counter += 1
            var m = mail
            m.id = "AAMkAG\(s.counter)-" + UUID().uuidString.replacingOccurrences(of: "-", with: "") + "="
            m.folder = folder
            s.messages[m.id] = m
            s.seq += 1
            s.log[folder, default: []].append((s.seq, m.id, false))
            return m.id
        }
    }

    /// The mail leaves its folder (deleted): delta reports it `@removed`.
    public func remove(_ id: String) {
        world.state.withLock { s in
            guard let m = s.messages.removeValue(forKey: id) else { return }
            s.seq += 1
            s.log[m.folder, default: []].append((s.seq, id, true))
        }
    }

    /// Change notifications for a message (as Graph sends them), to each subscription of `folder`.
    public func notifyCreated(_ id: String, folder: String, changeType: String = "created", force: Bool = false) async {
        let (subs, lose) = world.state.withLock { s in (s.subscriptions.values.filter { Self.resource($0.resource, isFolder: folder) }, s.loseNotifications) }
        guard !lose || force else { return }
        for sub in subs {
            let body: [String: Any] = ["value": [[
                "id": "lsgTZMr9KwAAA", "subscriptionId": sub.id, "subscriptionExpirationDateTime": Self.iso(sub.expiration),
                "clientState": sub.clientState ?? NSNull(), "changeType": changeType,
                "resource": "Users/00000000-0000-0000-0000-000000000001/Messages/\(id)", "tenantId": tenant,
                "resourceData": ["@odata.type": "#Microsoft.Graph.Message", "@odata.id": "Users/00000000-0000-0000-0000-000000000001/Messages/\(id)",
                                 "@odata.etag": "W/\"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf\"", "id": id],
            ] as [String: Any]]]
            let status = await post(sub.notificationURL, json: body)
            world.state.withLock { $0.notificationAnswers.append(status) }
        }
    }

    /// Posts a notification body to the gateway as Graph does; returns the status (0: no answer).
    public func post(_ url: String, json: Any, contentType: String = "application/json; charset=utf-8") async -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: json)) ?? Data()))
        guard let response = try? await client.execute(request, timeout: .seconds(10)) else { return 0 }
        _ = try? await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    /// A lifecycle notification for a subscription (`reauthorizationRequired`, `subscriptionRemoved`, `missed`).
    /// `subscriptionRemoved` also removes it here, as Graph does.
    public func lifecycle(_ event: String, subscription id: String) async -> Int {
        guard let sub = world.state.withLock({ $0.subscriptions[id] }), let url = sub.lifecycleURL else { return 0 }
        if event == "subscriptionRemoved" { _ = world.state.withLock { $0.subscriptions.removeValue(forKey: id) } }
        return await post(url, json: ["value": [[
            "subscriptionId": id, "subscriptionExpirationDateTime": Self.iso(sub.expiration), "tenantId": tenant,
            "clientState": sub.clientState ?? NSNull(), "lifecycleEvent": event,
        ] as [String: Any]]])
    }

    /// A calendar event is created or changed; Graph notifies the events subscriptions.
    public func put(_ event: Event) async {
        let subs = world.state.withLock { s in
            let existed = s.events[event.id] != nil
            s.events[event.id] = event
            s.seq += 1
            s.eventLog.append((s.seq, event.id, false))
            return (s.subscriptions.values.filter { $0.resource.hasSuffix("/events") }, existed, s.loseNotifications)
        }
        guard !subs.2 else { return }
        for sub in subs.0 { await notifyEvent(sub, event.id, subs.1 ? "updated" : "created") }
    }

    public func deleteEvent(_ id: String) async {
        let subs = world.state.withLock { s in
            s.events[id] = nil
            s.seq += 1
            s.eventLog.append((s.seq, id, true))
            return s.subscriptions.values.filter { $0.resource.hasSuffix("/events") }
        }
        for sub in subs { await notifyEvent(sub, id, "deleted") }
    }

    func notifyEvent(_ sub: Subscription, _ id: String, _ change: String) async {
        let status = await post(sub.notificationURL, json: ["value": [[
            "subscriptionId": sub.id, "subscriptionExpirationDateTime": Self.iso(sub.expiration), "clientState": sub.clientState ?? NSNull(),
            "changeType": change, "resource": "Users/u/Events/\(id)", "tenantId": tenant,
            "resourceData": ["@odata.type": "#Microsoft.Graph.Event", "@odata.id": "Users/u/Events/\(id)", "id": id],
        ] as [String: Any]]])
        world.state.withLock { $0.notificationAnswers.append(status) }
    }

    public static func resource(_ resource: String, isFolder folder: String) -> Bool {
        resource.lowercased().contains("mailfolders('\(folder.lowercased())')")
    }

    static func iso(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: d)
    }

    static func date(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime]
        if let d = f.date(from: s) { return d }
        // 7 fractional digits, as Graph writes them.
        if let dot = s.firstIndex(of: "."), s.hasSuffix("Z") { return date(String(s[..<dot]) + "Z") }
        return nil
    }

    // MARK: Answers

    static func error(_ status: Int, _ code: String, _ message: String, headers: [String: String] = [:]) -> StandInAnswer {
        .json(status, ["error": ["code": code, "message": message,
                                 "innerError": ["date": iso(Date()), "request-id": UUID().uuidString, "client-request-id": UUID().uuidString]]],
              headers: headers)
    }

    func answer(_ r: RecordedRequest) async -> StandInAnswer {
        let segments = r.path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        if segments.first == "login" { return token(r, segments) }
        guard segments.first == "v1.0" else { return Self.error(404, "NotFound", "no such path") }
        guard let bearer = r.header("authorization"), bearer.hasPrefix("Bearer "),
              let expiry = world.state.withLock({ $0.tokens[String(bearer.dropFirst(7))] }), expiry > Date() else {
            return Self.error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        }
        let rest = Array(segments.dropFirst())
        if rest.first == "subscriptions" { return await subscriptions(r, rest) }
        guard rest.count >= 2, rest[0] == "users" else { return Self.error(404, "BadRequest", "Resource not found for the segment.") }
        let user = rest[1]
        let tail = Array(rest.dropFirst(2))
        if tail.first == "calendarView" || tail.first == "events" { return events(r, tail) }
        guard user.lowercased() == mailbox.lowercased() else {
            return Self.error(403, "ErrorAccessDenied", "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.")
        }
        return mail(r, tail)
    }

    func token(_ r: RecordedRequest, _ segments: [String]) -> StandInAnswer {
        guard r.method == "POST", segments.count == 5, segments[1] == tenant, segments[2] == "oauth2", segments[3] == "v2.0",
              segments[4] == "token" else {
            return .json(400, ["error": "invalid_request", "error_description": "AADSTS900144: unknown tenant or path"])
        }
        let form = Dictionary(r.text.split(separator: "&").map { pair -> (String, String) in
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            return (kv[0], kv.count > 1 ? kv[1] : "")
        }, uniquingKeysWith: { a, _ in a })
        guard form["grant_type"] == "client_credentials", form["scope"] == "https://graph.microsoft.com/.default" else {
            return .json(400, ["error": "invalid_scope", "error_description": "AADSTS70011: The provided value for the input parameter 'scope' is not valid."])
        }
        guard form["client_id"] == clientID, form["client_secret"] == clientSecret else {
            return .json(401, ["error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.",
                               "error_codes": [7000215]])
        }
        let (token, lifetime) = world.state.withLock { s -> (String, Int) in
            s.tokensIssued += 1
            let t = "standin-access-token-\(s.tokensIssued)-\(UUID().uuidString)"
            s.tokens[t] = Date().addingTimeInterval(Double(s.tokenLifetime))
            return (t, s.tokenLifetime)
        }
        return .json(200, ["token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token])
    }

    // MARK: Subscriptions

    func subscriptions(_ r: RecordedRequest, _ rest: [String]) async -> StandInAnswer {
        if r.method == "POST", rest.count == 1 {
            guard let body = r.json as? [String: Any], let change = body["changeType"] as? String,
                  let url = body["notificationUrl"] as? String, let resource = body["resource"] as? String,
                  let expiry = (body["expirationDateTime"] as? String).flatMap(Self.date) else {
                return Self.error(400, "InvalidRequest", "changeType, notificationUrl, resource and expirationDateTime are required")
            }
            guard expiry > Date(), expiry <= Date().addingTimeInterval(4_230 * 60) else {
                return Self.error(400, "InvalidRequest", "Subscription expiration can only be 4230 minutes in the future.")
            }
            let state = body["clientState"] as? String
            guard (state?.count ?? 0) <= 128 else { return Self.error(400, "InvalidRequest", "clientState is longer than 128 characters") }
            // The validation handshake, to the notification URL and the lifecycle URL.
            for u in [url, body["lifecycleNotificationUrl"] as? String].compactMap({ $0 }) {
                guard await validate(u) else {
                    world.state.withLock { $0.validationFailures += 1 }
                    return Self.error(400, "InvalidRequest", "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.")
                }
            }
            let sub = Subscription(id: UUID().uuidString.lowercased(), resource: resource, changeType: change, notificationURL: url,
                                   lifecycleURL: body["lifecycleNotificationUrl"] as? String, clientState: state, expiration: expiry)
            world.state.withLock { $0.subscriptions[sub.id] = sub }
            return .json(201, subscriptionJSON(sub))
        }
        guard rest.count >= 2 else {
            let all = world.state.withLock { Array($0.subscriptions.values) }
            return .json(200, ["value": all.map(subscriptionJSON)])
        }
        let id = rest[1]
        guard let sub = world.state.withLock({ $0.subscriptions[id] }) else {
            return Self.error(404, "ResourceNotFound", "The object was not found.")
        }
        switch (r.method, rest.count) {
        case ("PATCH", 2):
            guard let expiry = ((r.json as? [String: Any])?["expirationDateTime"] as? String).flatMap(Self.date),
                  expiry <= Date().addingTimeInterval(4_230 * 60) else {
                return Self.error(400, "InvalidRequest", "expirationDateTime is missing or too far away")
            }
            var s = sub
            s.expiration = expiry
            world.state.withLock { $0.subscriptions[id] = s }
            return .json(200, subscriptionJSON(s))
        case ("DELETE", 2):
            _ = world.state.withLock { $0.subscriptions.removeValue(forKey: id) }
            return .respond(status: 204, headers: [:], body: [])
        case ("POST", 3) where rest[2] == "reauthorize":
            return .respond(status: 204, headers: [:], body: [])
        default:
            return .json(200, subscriptionJSON(sub))
        }
    }

    func subscriptionJSON(_ s: Subscription) -> [String: Any] {
        ["@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity", "id": s.id, "resource": s.resource,
         "applicationId": clientID, "changeType": s.changeType, "clientState": s.clientState ?? NSNull(), "notificationUrl": s.notificationURL,
         "lifecycleNotificationUrl": s.lifecycleURL ?? NSNull(), "expirationDateTime": Self.iso(s.expiration),
         "creatorId": "8ee44408-0679-472c-bc2a-692812af3437", "latestSupportedTlsVersion": "v1_2",
         "notificationContentType": "application/json", "includeResourceData": NSNull()]
    }

    /// `POST {url}?validationToken=…`: 200, text/plain, the decoded token, within 10 seconds.
    func validate(_ url: String) async -> Bool {
        let token = "Validation: Testing client application reachability for subscription Request-Id: \(UUID().uuidString)"
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encoded = (token.addingPercentEncoding(withAllowedCharacters: allowed) ?? token).replacingOccurrences(of: "%20", with: "+")
        var request = HTTPClientRequest(url: url + (url.contains("?") ? "&" : "?") + "validationToken=" + encoded)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        guard let response = try? await client.execute(request, timeout: .seconds(10)),
              let body = try? await response.body.collect(upTo: 1 << 16) else { return false }
        return response.status == .ok && response.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true
            && String(buffer: body) == token
    }

    // MARK: Mail

    func mail(_ r: RecordedRequest, _ tail: [String]) -> StandInAnswer {
        if r.method == "POST", tail == ["sendMail"] { return sendMail(r) }
        if r.method == "GET", tail.first == "mailFolders", tail.count == 1 {
            // $filter=displayName eq 'X': only the well-known folders exist here.
            return .json(200, ["value": [] as [Any]])
        }
        if r.method == "GET", tail.count == 4, tail[0] == "mailFolders", tail[2] == "messages", tail[3] == "delta" {
            let folder = tail[1].replacingOccurrences(of: "('", with: "").replacingOccurrences(of: "')", with: "")
            return delta(r, folder: folder)
        }
        if tail.count >= 1, tail[0].hasPrefix("mailFolders("), tail.count == 3, tail[2] == "delta" {
            let folder = String(tail[0].dropFirst("mailFolders('".count).dropLast(2))
            return delta(r, folder: folder)
        }
        guard tail.count >= 2, tail[0] == "messages" else { return Self.error(400, "BadRequest", "Unsupported segment \(tail)") }
        let id = tail[1]
        guard let m = world.state.withLock({ $0.messages[id] }) else {
            return Self.error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        }
        switch (r.method, tail.count) {
        case ("GET", 2): return .json(200, messageJSON(m, select: Self.query(r.query)["$select"]))
        case ("PATCH", 2):
            if let read = (r.json as? [String: Any])?["isRead"] as? Bool {
                world.state.withLock { s in
                    s.messages[id]?.isRead = read
                    s.seq += 1
                    s.log[m.folder, default: []].append((s.seq, id, false))
                }
            }
            return .json(200, messageJSON(world.state.withLock { $0.messages[id] } ?? m, select: nil))
        case ("POST", 3) where tail[2] == "reply": return reply(r, to: m)
        case ("GET", 3) where tail[2] == "attachments":
            let select = Self.query(r.query)["$select"]
            return .json(200, ["value": m.files.map { attachmentJSON($0, content: select == nil) }])
        case ("GET", 4) where tail[2] == "attachments":
            guard let f = m.files.first(where: { $0.id == tail[3] }) else { return Self.error(404, "ErrorItemNotFound", "no attachment") }
            return .json(200, attachmentJSON(f, content: f.kind == "file"))
        case ("GET", 5) where tail[2] == "attachments" && tail[4] == "$value":
            guard let f = m.files.first(where: { $0.id == tail[3] }) else { return Self.error(404, "ErrorItemNotFound", "no attachment") }
            if f.kind == "reference" { return Self.error(405, "ErrorInvalidRequest", "reference attachments have no content") }
            return .respond(status: 200, headers: ["Content-Type": f.kind == "item" ? "message/rfc822" : f.contentType], body: f.bytes)
        default:
            return Self.error(405, "ErrorInvalidRequest", "\(r.method) \(tail) is not supported here")
        }
    }

    func attachmentJSON(_ f: File, content: Bool) -> [String: Any] {
        var o: [String: Any] = ["@odata.type": "#microsoft.graph.\(f.kind)Attachment", "id": f.id, "name": f.name,
                                "contentType": f.contentType, "size": f.bytes.count + 200, "isInline": f.isInline,
                                "contentId": f.contentID ?? NSNull(), "lastModifiedDateTime": Self.iso(Date())]
        if content, f.kind == "file" { o["contentBytes"] = Data(f.bytes).base64EncodedString() }
        return o
    }

    func messageJSON(_ m: Mail, select: String?) -> [String: Any] {
        var o: [String: Any] = [
            "@odata.etag": "W/\"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf\"", "id": m.id, "conversationId": m.conversationID,
            "internetMessageId": m.internetMessageID, "subject": m.subject, "bodyPreview": String(m.body.prefix(255)),
            "body": ["contentType": m.html ? "html" : "text", "content": m.body], "from": m.from.json, "sender": m.from.json,
            "toRecipients": m.to.map(\.json), "ccRecipients": m.cc.map(\.json), "replyTo": m.replyTo.map(\.json),
            "receivedDateTime": Self.iso(m.receivedAt), "sentDateTime": Self.iso(m.receivedAt.addingTimeInterval(-5)),
            "isRead": m.isRead, "isDraft": false, "hasAttachments": m.files.contains { !$0.isInline },
            "parentFolderId": "FOLDER-\(m.folder)",
        ]
        guard let select else { return o }
        let fields = Set(select.split(separator: ",").map(String.init))
        if fields.contains("internetMessageHeaders") {
            var headers: [[String: String]] = [["name": "Message-ID", "value": m.internetMessageID]]
            headers += m.headers.map { ["name": $0.0, "value": $0.1] }
            o["internetMessageHeaders"] = headers
        }
        return o.filter { fields.contains($0.key) || $0.key.hasPrefix("@") }
    }

    /// `POST …/messages/{id}/reply`: 202; a copy in Sent Items in the original's conversation.
    func reply(_ r: RecordedRequest, to original: Mail) -> StandInAnswer {
        guard let body = r.json as? [String: Any] else { return Self.error(400, "ErrorInvalidRequest", "a JSON body is required") }
        let message = body["message"] as? [String: Any] ?? [:]
        if body["comment"] != nil, message["body"] != nil {
            return Self.error(400, "ErrorInvalidRequest", "Specify either a comment or the body property of the message parameter, not both.")
        }
        var copy = Mail(from: Address(mailbox, name: "Support"), to: Self.addresses(message["toRecipients"]) ?? [original.replyTo.first ?? original.from],
                        subject: "RE: " + original.subject, body: (body["comment"] as? String ?? "") + "<hr>" + original.body, html: true)
        copy.conversationID = original.conversationID
        copy.internetMessageID = "<standin.\(UUID().uuidString)@\(mailbox.split(separator: "@").last ?? "x")>"
        copy.headers = [("In-Reply-To", original.internetMessageID), ("References", original.internetMessageID)] + Self.customHeaders(message)
        copy.isRead = true
        return sent(copy)
    }

    /// `POST …/sendMail`: 202; a copy in Sent Items (`saveToSentItems` defaults to true).
    func sendMail(_ r: RecordedRequest) -> StandInAnswer {
        guard let body = r.json as? [String: Any], let message = body["message"] as? [String: Any],
              let to = Self.addresses(message["toRecipients"]), !to.isEmpty else {
            return Self.error(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
        }
        let content = (message["body"] as? [String: Any])?["content"] as? String ?? ""
        var copy = Mail(from: Address(mailbox, name: "Support"), to: to, subject: message["subject"] as? String ?? "", body: content,
                        html: ((message["body"] as? [String: Any])?["contentType"] as? String)?.lowercased() == "html")
        copy.internetMessageID = message["internetMessageId"] as? String ?? "<standin.\(UUID().uuidString)@chargecars.nl>"
        copy.headers = Self.customHeaders(message)
        copy.isRead = true
        guard body["saveToSentItems"] as? Bool != false else { return .respond(status: 202, headers: [:], body: []) }
        return sent(copy)
    }

    func sent(_ copy: Mail) -> StandInAnswer {
        let id = store(copy, folder: "sentitems")
        Task {
            try? await Task.sleep(for: .milliseconds(100))
            await self.notifyCreated(id, folder: "sentitems")
        }
        return .respond(status: 202, headers: [:], body: [])
    }

    static func customHeaders(_ message: [String: Any]) -> [(String, String)] {
        (message["internetMessageHeaders"] as? [[String: Any]] ?? []).compactMap { h in
            guard let n = h["name"] as? String, let v = h["value"] as? String, n.lowercased().hasPrefix("x-") else { return nil }
            return (n, v)
        }
    }

    static func addresses(_ v: Any?) -> [Address]? {
        guard let list = v as? [[String: Any]] else { return nil }
        return list.compactMap { e in
            guard let a = e["emailAddress"] as? [String: Any], let address = a["address"] as? String else { return nil }
            return Address(address, name: a["name"] as? String)
        }
    }

    static func query(_ q: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            out[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
        return out
    }

    static func pageSize(_ r: RecordedRequest) -> Int {
        guard let prefer = r.header("prefer"), let range = prefer.range(of: "odata.maxpagesize=") else { return 10 }
        return Int(prefer[range.upperBound...].prefix { $0.isNumber }) ?? 10
    }

    // MARK: Delta

    /// `messages/delta`: a round is the initial listing (or the changes after a `$deltatoken`), in pages.
    func delta(_ r: RecordedRequest, folder: String) -> StandInAnswer {
        let q = Self.query(r.query)
        let size = min(Self.pageSize(r), world.state.withLock { $0.pageSizeCap })
        let base = "\(baseURL)\(r.path)"
        // A round's items are fixed when it starts: the skiptoken names the round and the offset.
        let (items, end): ([[String: Any]], Int)
        let offset: Int
        if let skip = q["$skiptoken"] {
            let parts = skip.split(separator: ".").map(String.init)
            guard parts.count == 3, let from = Int(parts[1]), let end0 = Int(parts[2]), let off = Int(parts[0]) else {
                return Self.error(400, "BadRequest", "bad skiptoken")
            }
            (items, end) = (changes(folder: folder, after: from, upTo: end0, since: nil), end0)
            offset = off
        } else if let token = q["$deltatoken"] {
            guard let from = Int(token), from >= world.state.withLock({ $0.deltaValidFrom }) else {
                return Self.error(410, "SyncStateNotFound", "The sync state generation was not found.", headers: ["Location": base])
            }
            let endNow = world.state.withLock { $0.seq }
            (items, end) = (changes(folder: folder, after: from, upTo: endNow, since: nil), endNow)
            offset = 0
        } else {
            let since = q["$filter"].flatMap { f in f.components(separatedBy: " ge ").last.flatMap(Self.date) }
            let endNow = world.state.withLock { $0.seq }
            (items, end) = (changes(folder: folder, after: -1, upTo: endNow, since: since), endNow)
            offset = 0
        }
        let page = Array(items.dropFirst(offset).prefix(size))
        var o: [String: Any] = ["@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(message)", "value": page]
        if offset + size < items.count {
            let from = q["$skiptoken"].flatMap { Int($0.split(separator: ".")[1]) } ?? Int(q["$deltatoken"] ?? "-1") ?? -1
            o["@odata.nextLink"] = "\(base)?$skiptoken=\(offset + size).\(from).\(end)"
        } else {
            o["@odata.deltaLink"] = "\(base)?$deltatoken=\(end)"
        }
        return .json(200, o)
    }

    /// Items of a folder changed in (after, upTo]; the initial round (after -1) lists what is there now.
    func changes(folder: String, after: Int, upTo: Int, since: Date?) -> [[String: Any]] {
        world.state.withLock { s in
            var seen = Set<String>()
            var out: [[String: Any]] = []
            for entry in (s.log[folder] ?? []).reversed() where entry.seq > after && entry.seq <= upTo && !seen.contains(entry.id) {
                seen.insert(entry.id)
                if let m = s.messages[entry.id], m.folder == folder, !entry.removed {
                    if let since, m.receivedAt < since { continue }
                    out.append(["@odata.type": "#microsoft.graph.message", "id": m.id, "receivedDateTime": Self.iso(m.receivedAt)])
                } else if after >= 0 {
                    out.append(["@odata.type": "#microsoft.graph.message", "id": entry.id, "@removed": ["reason": "deleted"]])
                }
            }
            return out.reversed()
        }
    }

    // MARK: Calendar

    func events(_ r: RecordedRequest, _ tail: [String]) -> StandInAnswer {
        if tail.count == 2, tail[0] == "events", r.method == "GET" {
            guard let e = world.state.withLock({ $0.events[tail[1]] }) else {
                return Self.error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            }
            return .json(200, eventJSON(e))
        }
        guard tail == ["calendarView", "delta"] else { return Self.error(400, "BadRequest", "unsupported") }
        let q = Self.query(r.query)
        let endNow = world.state.withLock { $0.seq }
        let after: Int
        if let token = q["$deltatoken"] {
            guard let t = Int(token), t >= world.state.withLock({ $0.deltaValidFrom }) else {
                return Self.error(410, "SyncStateNotFound", "The sync state generation was not found.")
            }
            after = t
        } else {
            guard q["startDateTime"] != nil, q["endDateTime"] != nil else {
                return Self.error(400, "ErrorInvalidParameter", "startDateTime and endDateTime are required")
            }
            after = -1
        }
        let items: [[String: Any]] = world.state.withLock { s in
            var seen = Set<String>()
            var out: [[String: Any]] = []
            for entry in s.eventLog.reversed() where entry.seq > after && entry.seq <= endNow && !seen.contains(entry.id) {
                seen.insert(entry.id)
                if let e = s.events[entry.id], !entry.removed { out.append(eventJSON(e)) } else if after >= 0 {
                    out.append(["id": entry.id, "@removed": ["reason": "deleted"]])
                }
            }
            return out.reversed()
        }
        return .json(200, ["value": items, "@odata.deltaLink": "\(baseURL)\(r.path)?$deltatoken=\(endNow)"])
    }

    func eventJSON(_ e: Event) -> [String: Any] {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.0000000"
        return ["id": e.id, "subject": e.subject, "bodyPreview": e.bodyPreview, "categories": e.categories,
                "start": ["dateTime": f.string(from: e.start), "timeZone": "UTC"],
                "end": ["dateTime": f.string(from: e.start.addingTimeInterval(1800)), "timeZone": "UTC"],
                "isAllDay": false, "isCancelled": e.isCancelled, "type": "singleInstance",
                "organizer": e.organizer.json, "attendees": e.attendees.map { ["type": "required", "emailAddress": ["name": $0.name ?? $0.address, "address": $0.address]] },
                "lastModifiedDateTime": Self.iso(Date())]
    }
}

extension StandInServer {
    /// Requests to a Graph path ending in `suffix` (method too, when given).
    public func graph(_ method: String? = nil, _ suffix: String) -> [RecordedRequest] {
        recorded.filter { ($0.path.removingPercentEncoding ?? $0.path).hasSuffix(suffix) && (method == nil || $0.method == method) }
    }
}
