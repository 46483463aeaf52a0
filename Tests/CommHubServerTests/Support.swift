import CommHubDomain
import CommHubEngine
import CommHubGateway
@testable import CommHubServer
import CommHubStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

// MARK: - The server under test

/// One data directory with a durable engine on a simulated clock: real LMDB
/// files in a fresh temporary directory, removed by `Harness.run`.
struct TestEnv: Sendable {
    let root: String
    let clock: SimulatedClock
    let key: SymmetricKey
    let durable: DurableEngine
    let secrets: SecretBox
    var engine: Engine { durable.engine }
    var store: String { Self.storeDirectory(root) }

    static func storeDirectory(_ root: String) -> String { root + "/lmdb" }

    /// Every event the journal has handed out a number for: the state fingerprint.
    var lastSeq: UInt64 { engine.journal.lastAssignedSeq }
}

/// A running server: its environment, a client over loopback, and the
/// gateway running beside it (as `commhub serve` runs one).
struct Live: Sendable {
    let env: TestEnv
    let client: any TestClientProtocol
    let gateway: Gateway
    var engine: Engine { env.engine }
    var port: Int { client.port! }
    var http: HTTP { HTTP(client: client) }

    /// Waits until the gateway knows every channel as the engine has it (the
    /// engine pushes changes; a test that changed a channel waits for that).
    func gatewaySynced(seconds: Double = 10) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            let engineChannels = await engine.supervisor.channelList()
            let known = gateway.directory.all
            if await gateway.link.isConnected, known.count == engineChannels.count,
               zip(known.sorted { $0.id < $1.id }, engineChannels.sorted { $0.id < $1.id }).allSatisfy({
                   $0.id == $1.id && $0.isActive == $1.isActive && $0.configuration == $1.configuration
               }) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the gateway did not catch up with the engine's channels")
    }
}

enum Harness {
    static let adminToken = "chub_test-admin-token-0f1e2d3c4b5a"
    static let logger: Logger = {
        var l = Logger(label: "commhub.apitests")
        l.logLevel = .critical
        return l
    }()


    static func makeRoot() throws -> String {
        let root = NSTemporaryDirectory() + "commhub-apitests-" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    /// Opens (or reopens) the engine of a data directory and makes sure the admin token exists.
    static func open(root: String, clock: SimulatedClock, key: SymmetricKey, sync: SyncMode = .noSync) async throws -> TestEnv {
        var options = JournalOptions(syncMode: sync, mapSize: 256 << 20)
        options.maxBatchEvents = 4096
        let durable = try DurableEngine(directory: TestEnv.storeDirectory(root), clock: clock, options: options, logger: logger)
        let created = try await AdminBootstrap.ensure(durable.engine, environment: ["COMMHUB_ADMIN_TOKEN": adminToken], logger: logger)
        #expect(created == nil, "a token given in COMMHUB_ADMIN_TOKEN is never printed back")
        return TestEnv(root: root, clock: clock, key: key, durable: durable, secrets: SecretBox(key: key))
    }

    /// Serves `env` over loopback for the duration of `body`; returns when the server has stopped.
    static func serve<T: Sendable>(_ env: TestEnv, options: HTTPOptions = .unlimited,
                                   _ body: @Sendable (Live) async throws -> T) async throws -> T {
        // The ingest listener on a Unix socket and a gateway on it, as `serve` runs them.
        let socket = env.root + "/ingest.sock"
        let secret = TokenSecret.generate()
        let listener = IngestListener(engine: env.engine, secrets: env.secrets, endpoint: .unix(path: socket), logger: logger,
                                      embeddedGatewaySecret: secret)
        let gateway = Gateway(endpoint: .unix(path: socket), token: secret, name: "test-gateway", logger: logger)
        let app = buildHTTPApplication(engine: env.engine, durable: env.durable, secrets: env.secrets, options: options,
                                       logger: logger, webhooks: gateway.webhooks)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            group.addTask { await gateway.run() }
            defer { group.cancelAll() }
            return try await app.test(.live) { client in
                try await body(Live(env: env, client: client, gateway: gateway))
            }
        }
    }

    /// Fresh directory, engine and server; everything is shut down and removed afterwards.
    static func run<T: Sendable>(options: HTTPOptions = .unlimited, _ body: @Sendable (Live) async throws -> T) async throws -> T {
        let root = try makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let env = try await open(root: root, clock: SimulatedClock(), key: SymmetricKey(size: .bits256))
        do {
            let value = try await serve(env, options: options, body)
            await env.durable.shutdown(snapshot: false)
            return value
        } catch {
            await env.durable.shutdown(snapshot: false)
            throw error
        }
    }
}

// MARK: - HTTP

struct Reply: Sendable, CustomStringConvertible {
    let status: Int
    let headers: HTTPFields
    let text: String
    var json: JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .null }
    var items: [JSONValue] { json["items"]?.array ?? [] }
    var errorCode: String? { json["error"]?["code"]?.string }
    var errorMessage: String? { json["error"]?["message"]?.string }
    var id: String { json["id"]?.string ?? "" }
    var description: String { "\(status) \(text.prefix(600))" }

    /// `{"error": {"code": "...", "message": "..."}}` and nothing else.
    var isErrorShape: Bool {
        guard let o = json.objectValue, o.count == 1, let e = o["error"]?.objectValue, e.count == 2,
              let code = e["code"]?.string, !code.isEmpty, let m = e["message"]?.string, !m.isEmpty else { return false }
        return true
    }
}

enum Body: Sendable {
    case none
    case json(String)
    case bytes(ByteBuffer)
}

struct HTTP: Sendable {
    typealias Exec = @Sendable (String, HTTPRequest.Method, HTTPFields, ByteBuffer?) async throws -> (HTTPResponse, ByteBuffer)
    let exec: Exec

    init(client: any TestClientProtocol) {
        exec = { uri, method, headers, body in
            let r = try await client.executeRequest(uri: uri, method: method, headers: headers, body: body)
            return (r.head, r.body)
        }
    }

    /// Over a one-off connection that the server may close afterwards.
    init(oneOff client: TestClient) {
        exec = { uri, method, headers, body in
            var headers = headers
            headers[.connection] = "close"
            let r = try await client.execute(TestClient.Request(uri, method: method, authority: "localhost", headers: headers, body: body))
            return (r.head, r.body ?? ByteBuffer())
        }
    }

    func call(_ method: HTTPRequest.Method, _ path: String, token: String? = nil, body: Body = .none,
              headers extra: HTTPFields = [:]) async throws -> Reply {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        var buffer: ByteBuffer?
        switch body {
        case .none: break
        case .json(let s):
            buffer = ByteBuffer(string: s)
            headers[.contentType] = "application/json"
        case .bytes(let b):
            buffer = b
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        }
        let (head, data) = try await exec(path, method, headers, buffer)
        return Reply(status: Int(head.status.code), headers: head.headerFields, text: String(buffer: data))
    }

    func get(_ path: String, _ token: String?) async throws -> Reply { try await call(.get, path, token: token) }
    func post(_ path: String, _ token: String?, _ json: String) async throws -> Reply {
        try await call(.post, path, token: token, body: .json(json))
    }
    func put(_ path: String, _ token: String?, _ json: String) async throws -> Reply {
        try await call(.put, path, token: token, body: .json(json))
    }
    func delete(_ path: String, _ token: String?) async throws -> Reply { try await call(.delete, path, token: token) }

    /// Follows `next_cursor` to the end; fails the test on a repeated cursor.
    func all(_ path: String, _ token: String?, limit: Int) async throws -> (items: [JSONValue], pages: Int) {
        var items: [JSONValue] = []
        var cursor: String?
        var seen = Set<String>()
        var pages = 0
        repeat {
            let sep = path.contains("?") ? "&" : "?"
            var url = "\(path)\(sep)limit=\(limit)"
            if let cursor { url += "&cursor=\(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor)" }
            let r = try await get(url, token)
            try #require(r.status == 200, "\(url): \(r)")
            let page = r.items
            #expect(page.count <= limit)
            items += page
            pages += 1
            cursor = r.json["next_cursor"]?.string
            if let c = cursor {
                #expect(!page.isEmpty, "a page with a next cursor has items")
                #expect(seen.insert(c).inserted, "cursor repeated: \(c)")
            } else {
                #expect(r.json.objectValue?.keys.contains("next_cursor") == true, "next_cursor is present (null) on the last page")
            }
        } while cursor != nil && pages < 1000
        return (items, pages)
    }
}

/// A JSON string literal (quotes and escapes).
func q(_ s: String) -> String {
    String(decoding: try! JSONEncoder().encode(s), as: UTF8.self)
}

extension JSONValue {
    subscript(key: String) -> JSONValue? { objectValue?[key] }
    subscript(index: Int) -> JSONValue? {
        guard case .array(let a) = self, a.indices.contains(index) else { return nil }
        return a[index]
    }
    var string: String? { stringValue }
    var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    var number: Double? { if case .number(let n) = self { n } else { nil } }
    var int: Int? { number.map { Int($0) } }
    var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    var isNull: Bool { if case .null = self { true } else { false } }
    var ids: [String] { (array ?? []).compactMap { $0["id"]?.string } }
}

extension [JSONValue] {
    var ids: [String] { compactMap { $0["id"]?.string } }
}

extension Reply {
    var ids: [String] { items.compactMap { $0["id"]?.string } }
}

// MARK: - A small company, seeded through the API

/// The roles of the matrix, each with its own token.
enum Role: String, CaseIterable, Sendable, CustomStringConvertible {
    case agent, teamLeader = "team_leader", manager, admin, executive
    var description: String { rawValue }
}

/// Two teams (A and B), a person of every role, an agent in each team,
/// channels routed to each team (one with a secret), a thread per team.
struct World: Sendable {
    var teamA = "", teamB = ""
    /// Contact ids.
    var agentA = "", agentA2 = "", leadA = "", agentB = "", manager = "", executive = "", admin = ""
    /// Token secrets.
    var tokens: [Role: String] = [:]
    var agentBToken = "", agentA2Token = ""
    var gatewayToken = ""
    var emailChannel = "", whatsappChannel = ""
    var threadA = "", threadB = ""

    var adminToken: String { Harness.adminToken }
    func token(_ r: Role) -> String { tokens[r]! }
    func contact(_ r: Role) -> String {
        switch r {
        case .agent: agentA
        case .teamLeader: leadA
        case .manager: manager
        case .admin: admin
        case .executive: executive
        }
    }

    static func seed(_ http: HTTP) async throws -> World {
        var w = World()
        let admin = Harness.adminToken
        w.teamA = try await created(http.post("/api/teams", admin, #"{"name":"Team A"}"#)).id
        w.teamB = try await created(http.post("/api/teams", admin, #"{"name":"Team B"}"#)).id
        func person(_ name: String, _ role: String, _ teams: [String]) async throws -> String {
            let body = #"{"name":\#(q(name)),"email":"\#(name.lowercased().replacingOccurrences(of: " ", with: "."))@chargecars.nl","role":"\#(role)","teams":[\#(teams.map(q).joined(separator: ","))],"presence":"offline"}"#
            return try await created(http.post("/api/contacts", admin, body)).id
        }
        w.agentA = try await person("Anna Agent", "agent", [w.teamA])
        w.agentA2 = try await person("Arie Agent", "agent", [w.teamA])
        w.leadA = try await person("Lotte Leader", "team_leader", [w.teamA])
        w.agentB = try await person("Bram Agent", "agent", [w.teamB])
        w.manager = try await person("Mark Manager", "manager", [])
        w.executive = try await person("Eva Executive", "executive", [])
        let contacts = try await http.get("/api/contacts", admin)
        w.admin = contacts.items.first { $0["role"]?.string == "admin" }?["id"]?.string ?? ""
        func token(_ contact: String) async throws -> String {
            let r = try await created(http.post("/api/contacts/\(contact)/tokens", admin, #"{"label":"test"}"#))
            return r.json["token"]!.string!
        }
        w.tokens[.agent] = try await token(w.agentA)
        w.tokens[.teamLeader] = try await token(w.leadA)
        w.tokens[.manager] = try await token(w.manager)
        w.tokens[.executive] = try await token(w.executive)
        w.tokens[.admin] = admin
        w.agentBToken = try await token(w.agentB)
        w.agentA2Token = try await token(w.agentA2)
        w.gatewayToken = try await created(http.post("/api/gateway-tokens", admin, #"{"label":"gw"}"#)).json["token"]!.string!
        w.emailChannel = try await created(http.post("/api/communication/channels", admin, #"""
            {"channel_type":"email_outlook","channel_name":"Support e-mail","business_entity":"chargecars",
             "auto_assignment_rules":{"default_assignee":"\#(w.teamA)"},"response_sla_hours":2,
             "configuration":{"mailbox":"support@chargecars.nl","client_secret":"email-client-secret-value"}}
            """#)).id
        w.whatsappChannel = try await created(http.post("/api/communication/channels", admin, #"""
            {"channel_type":"whatsapp_business","channel_name":"WhatsApp","business_entity":"laderthuis",
             "auto_assignment_rules":{"default_assignee":"\#(w.teamB)"},
             "configuration":{"phone_number_id":"1234567890"}}
            """#)).id
        w.threadA = try await created(http.post("/api/communication/threads", admin,
                                                #"{"thread_subject":"Thread of team A","team_id":"\#(w.teamA)"}"#)).id
        w.threadB = try await created(http.post("/api/communication/threads", admin,
                                                #"{"thread_subject":"Thread of team B","team_id":"\#(w.teamB)"}"#)).id
        return w
    }

    /// A new thread of a team (as admin).
    func thread(_ http: HTTP, team: String, _ extra: String = "") async throws -> String {
        let body = #"{"thread_subject":"thread \#(UUID().uuidString.prefix(8))","team_id":"\#(team)"\#(extra.isEmpty ? "" : "," + extra)}"#
        return try await created(http.post("/api/communication/threads", adminToken, body)).id
    }

    /// Ingests one inbound message through the gateway token.
    func ingest(_ http: HTTP, channel: String, externalID: String, subject: String = "Vraag", text: String = "Hallo",
                email: String = "klant@example.nl", receivedAt: String = "2026-11-25T09:00:00Z") async throws -> JSONValue {
        let r = try await http.post("/api/ingest", gatewayToken, #"""
            {"events":[\#(Self.inbound(channel: channel, externalID: externalID, subject: subject, text: text, email: email, receivedAt: receivedAt))]}
            """#)
        try #require(r.status == 200, "\(r)")
        return r.json["results"]![0]!
    }

    static func inbound(channel: String, externalID: String, subject: String = "Vraag", text: String = "Hallo",
                        email: String = "klant@example.nl", receivedAt: String = "2026-11-25T09:00:00Z") -> String {
        #"""
        {"type":"message","channel_id":"\#(channel)","external_message_id":\#(q(externalID)),
         "sender_external":{"name":"Klant","email":\#(q(email))},"subject":\#(q(subject)),
         "message_content":\#(q(text)),"in_reply_to":[],"attachments":[],"received_at":"\#(receivedAt)"}
        """#
    }
}

/// Requires a 201 and returns the reply.
@discardableResult
func created(_ r: Reply, sourceLocation: SourceLocation = #_sourceLocation) throws -> Reply {
    try #require(r.status == 201, "expected 201: \(r)", sourceLocation: sourceLocation)
    return r
}

@discardableResult
func ok(_ r: Reply, sourceLocation: SourceLocation = #_sourceLocation) throws -> Reply {
    try #require(r.status == 200, "expected 200: \(r)", sourceLocation: sourceLocation)
    return r
}
