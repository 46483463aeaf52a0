import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Crypto

/// A request a stand-in received.
public struct RecordedRequest: Sendable {
    public var method: String
    public var path: String
    public var query: String
    public var headers: [String: String]
    public var body: [UInt8]
    public var at: Date

    public var text: String { String(decoding: body, as: UTF8.self) }
    public var json: Any? { try? JSONSerialization.jsonObject(with: Data(body)) }
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// What a stand-in answers (or does instead).
public enum StandInAnswer: Sendable {
    case respond(status: Int, headers: [String: String], body: [UInt8])
    /// Never answers (a provider that hangs): the client's read timeout decides.
    case hang
    /// Answers after a pause.
    case delayed(Duration, status: Int, headers: [String: String], body: [UInt8])

    public static func json(_ status: Int, _ object: Any, headers: [String: String] = [:]) -> StandInAnswer {
        var h = headers
        h["Content-Type"] = "application/json"
        return .respond(status: status, headers: h, body: Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data()))
    }
}

/// A small HTTP server on loopback that speaks a provider's wire format for
/// tests: it logs every request and answers from a script of faults first
/// (5xx, 429 with Retry-After, hangs, expired tokens), then from its default.
public final class StandInServer: Sendable {
    public typealias Responder = @Sendable (RecordedRequest, Int) -> StandInAnswer
    /// A responder that may call out before it answers (Graph validates a webhook URL before it creates a subscription).
    public typealias AsyncResponder = @Sendable (RecordedRequest, Int) async -> StandInAnswer

    private let requests = Mutex<[RecordedRequest]>([])
    private let script = Mutex<[(matches: @Sendable (RecordedRequest) -> Bool, answer: StandInAnswer)]>([])
    private let responder: AsyncResponder
    private let scriptedByDefault: @Sendable (RecordedRequest) -> Bool
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let boundPort = Mutex<Int?>(nil)
    private let stopping = Mutex(false)
    public let name: String

    /// `responder` answers every request the script does not; it gets the request and its index.
    /// `scripted` says which requests scripted answers are for unless `enqueue` names others
    /// (a WhatsApp stand-in's faults are for sends, not for read receipts).
    public init(name: String, scripted: @escaping @Sendable (RecordedRequest) -> Bool = { _ in true }, responder: @escaping Responder) {
        self.name = name
        self.responder = { request, index in responder(request, index) }
        self.scriptedByDefault = scripted
    }

    public init(name: String, scripted: @escaping @Sendable (RecordedRequest) -> Bool = { _ in true },
                asyncResponder: @escaping AsyncResponder) {
        self.name = name
        self.responder = asyncResponder
        self.scriptedByDefault = scripted
    }

    public var recorded: [RecordedRequest] { requests.withLock { $0 } }
    public func recorded(path suffix: String) -> [RecordedRequest] { recorded.filter { $0.path.hasSuffix(suffix) } }

    /// The next requests (those `when` matches, else the server's scripted kind) get these answers,
    /// in order, before the default.
    public func enqueue(_ answers: StandInAnswer..., when: (@Sendable (RecordedRequest) -> Bool)? = nil) {
        let matches = when ?? scriptedByDefault
        script.withLock { $0 += answers.map { (matches, $0) } }
    }

    public var port: Int { boundPort.withLock { $0 } ?? 0 }
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts on a free loopback port; returns once it listens.
    public func start() async throws {
        let router = Router(context: BasicRequestContext.self)
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { [self] request, _ in
            try await self.handle(request)
        }
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("**", method: method, use: handler)
        }
        var logger = Logger(label: "standin.\(name)")
        logger.logLevel = .critical
        let ready = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in ready.continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        let t = Task { try await app.runService(gracefulShutdownSignals: []) }
        task.withLock { $0 = t }
        var it = ready.stream.makeAsyncIterator()
        let p = await it.next() ?? 0
        boundPort.withLock { $0 = p }
    }

    public func stop() async {
        stopping.withLock { $0 = true }
        let t = task.withLock { $0 }
        t?.cancel()
        _ = try? await t?.value
    }

    private func handle(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 64 << 20)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
        // HTTP/1's Host header is the request's authority in HTTPTypes, not a header field.
        if headers["host"] == nil, let authority = request.head.authority { headers["host"] = authority }
        let recorded = RecordedRequest(method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                                       headers: headers, body: Array(body.readableBytesView), at: Date())
        let index = requests.withLock { r -> Int in
            r.append(recorded)
            return r.count - 1
        }
        let scripted = script.withLock { s -> StandInAnswer? in
            guard let i = s.firstIndex(where: { $0.matches(recorded) }) else { return nil }
            return s.remove(at: i).answer
        }
        let answer: StandInAnswer
        if let scripted { answer = scripted } else { answer = await responder(recorded, index) }
        switch answer {
        case .hang:
            // Until the client gives up, or the stand-in stops (so stopping never waits an hour).
            while !stopping.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(50)) }
            return Response(status: .gatewayTimeout)
        case .delayed(let pause, let status, let h, let b):
            try await Task.sleep(for: pause)
            return Self.response(status, h, b)
        case .respond(let status, let h, let b):
            return Self.response(status, h, b)
        }
    }

    static func response(_ status: Int, _ headers: [String: String], _ body: [UInt8]) -> Response {
        var fields = HTTPFields()
        for (k, v) in headers { if let name = HTTPField.Name(k) { fields[name] = v } }
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Files a WhatsApp stand-in serves as media (by media id), and the ones uploaded to it.
public final class WhatsAppMediaShelf: Sendable {
    public struct File: Sendable {
        public var bytes: [UInt8]
        public var mimeType: String
    }
    private let files = Mutex<[String: File]>([:])
    public init() {}
    public func put(_ id: String, bytes: [UInt8], mimeType: String) { files.withLock { $0[id] = File(bytes: bytes, mimeType: mimeType) } }
    public func file(_ id: String) -> File? { files.withLock { $0[id] } }
}

/// The WhatsApp Cloud API as CommHub uses it:
/// - `POST /{phone_number_id}/messages` sends and answers
///   `{"messaging_product":"whatsapp","contacts":[…],"messages":[{"id":"wamid.standin.N"}]}`,
///   or, for `{"status":"read","message_id":…}`, marks a message read: `{"success":true}`;
/// - `POST /{phone_number_id}/media` (multipart) uploads: `{"id":"media.upload.N"}`;
/// - `GET /{media_id}` looks a shelf file up: `{"messaging_product","url","mime_type","sha256","file_size","id"}`,
///   and `GET /files/{media_id}` (the short-lived URL) gives its bytes, both only with a bearer token.
/// Scripted faults are for sends unless `enqueue(…, when:)` says otherwise.
public enum WhatsAppStandIn {
    public static func make(media: WhatsAppMediaShelf = WhatsAppMediaShelf()) -> StandInServer {
        StandInServer(name: "whatsapp", scripted: isSend) { request, index in
            guard request.header("authorization")?.hasPrefix("Bearer ") == true else {
                return .json(401, ["error": ["message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190]])
            }
            let parts = request.path.split(separator: "/").map(String.init)
            if request.method == "POST", request.path.hasSuffix("/messages") {
                let body = request.json as? [String: Any]
                if body?["status"] as? String == "read" { return .json(200, ["success": true]) }
                let to = body?["to"] as? String ?? ""
                return .json(200, ["messaging_product": "whatsapp", "contacts": [["input": to, "wa_id": to]],
                                   "messages": [["id": "wamid.standin.\(index)"]]])
            }
            if request.method == "POST", request.path.hasSuffix("/media") {
                return .json(200, ["id": "media.upload.\(index)"])
            }
            if request.method == "GET", parts.count == 2, parts[0] == "files", let file = media.file(parts[1]) {
                return .respond(status: 200, headers: ["Content-Type": file.mimeType], body: file.bytes)
            }
            if request.method == "GET", let id = parts.last, let file = media.file(id) {
                let host = request.header("host") ?? "127.0.0.1"
                let digest = SHA256.hash(data: file.bytes).map { String(format: "%02x", $0) }.joined()
                return .json(200, ["messaging_product": "whatsapp", "url": "http://\(host)/files/\(id)", "mime_type": file.mimeType,
                                   "sha256": digest, "file_size": file.bytes.count, "id": id])
            }
            return .json(404, ["error": ["message": "Unsupported request", "type": "GraphMethodException", "code": 100]])
        }
    }

    /// A message send (not a read receipt).
    public static let isSend: @Sendable (RecordedRequest) -> Bool = { request in
        request.method == "POST" && request.path.hasSuffix("/messages") && (request.json as? [String: Any])?["status"] as? String != "read"
    }
    /// A read receipt (`{"status":"read"}`).
    public static let isReadReceipt: @Sendable (RecordedRequest) -> Bool = { request in
        request.method == "POST" && request.path.hasSuffix("/messages") && (request.json as? [String: Any])?["status"] as? String == "read"
    }
    /// A Meta error body.
    public static func error(_ status: Int, code: Int, message: String, details: String? = nil, headers: [String: String] = [:]) -> StandInAnswer {
        var e: [String: Any] = ["message": message, "type": "OAuthException", "code": code, "fbtrace_id": "standin"]
        if let details { e["error_data"] = ["messaging_product": "whatsapp", "details": details] }
        return .json(status, ["error": e], headers: headers)
    }
}

extension StandInServer {
    /// The WhatsApp messages it was asked to send (read receipts and media calls left out).
    public var whatsappSends: [RecordedRequest] { recorded.filter(WhatsAppStandIn.isSend) }
    /// The read receipts it got.
    public var whatsappReadReceipts: [RecordedRequest] { recorded.filter(WhatsAppStandIn.isReadReceipt) }
}
