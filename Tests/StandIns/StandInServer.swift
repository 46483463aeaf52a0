import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

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

    private let requests = Mutex<[RecordedRequest]>([])
    private let script = Mutex<[StandInAnswer]>([])
    private let responder: Responder
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let boundPort = Mutex<Int?>(nil)
    private let stopping = Mutex(false)
    public let name: String

    /// `responder` answers every request the script does not; it gets the request and its index.
    public init(name: String, responder: @escaping Responder) {
        self.name = name
        self.responder = responder
    }

    public var recorded: [RecordedRequest] { requests.withLock { $0 } }
    public func recorded(path suffix: String) -> [RecordedRequest] { recorded.filter { $0.path.hasSuffix(suffix) } }

    /// The next requests get these answers, in order, before the default.
    public func enqueue(_ answers: StandInAnswer...) { script.withLock { $0 += answers } }

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
        let recorded = RecordedRequest(method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                                       headers: headers, body: Array(body.readableBytesView), at: Date())
        let index = requests.withLock { r -> Int in
            r.append(recorded)
            return r.count - 1
        }
        let answer = script.withLock { s -> StandInAnswer? in s.isEmpty ? nil : s.removeFirst() } ?? responder(recorded, index)
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

/// The WhatsApp Cloud API as CommHub uses it: `POST /{phone_number_id}/messages`
/// answers `{"messaging_product":"whatsapp","contacts":[…],"messages":[{"id":"wamid.standin.N"}]}`.
public enum WhatsAppStandIn {
    public static func make() -> StandInServer {
        StandInServer(name: "whatsapp") { request, index in
            guard request.method == "POST", request.path.hasSuffix("/messages") else {
                return .json(404, ["error": ["message": "Unknown path", "code": 100]])
            }
            guard request.header("authorization")?.hasPrefix("Bearer ") == true else {
                return .json(401, ["error": ["message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190]])
            }
            let to = (request.json as? [String: Any])?["to"] as? String ?? ""
            return .json(200, ["messaging_product": "whatsapp", "contacts": [["input": to, "wa_id": to]],
                               "messages": [["id": "wamid.standin.\(index)"]]])
        }
    }

    /// A Meta error body.
    public static func error(_ status: Int, code: Int, message: String, details: String? = nil, headers: [String: String] = [:]) -> StandInAnswer {
        var e: [String: Any] = ["message": message, "type": "OAuthException", "code": code, "fbtrace_id": "standin"]
        if let details { e["error_data"] = ["messaging_product": "whatsapp", "details": details] }
        return .json(status, ["error": e], headers: headers)
    }
}
