import CommHubDomain
import CommHubWire
import CommHubEngine
import Foundation
import Hummingbird
import NIOCore

/// Who is calling: the token and, for person tokens, the person.
public struct Identity: Sendable, Hashable {
    public var token: APIToken
    public var contact: Contact?

    public var role: ContactRole? { contact?.role }
    public var contactID: ContactID? { contact?.id }
    public var isGateway: Bool { token.kind == .gateway }
}

/// The request context of the API: the caller's identity (set by the
/// authentication middleware) and the request id.
public struct APIContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?
    public var requestID: String
    public var remoteAddress: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        identity = nil
        requestID = ""
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? source.channel.remoteAddress?.description ?? "local"
    }

    /// Largest accepted request body; larger ones get 413.
    public var maxUploadSize: Int { APIContext.maxBody }
    public static let maxBody = 2 * 1024 * 1024

    /// The identity, or 401 (the auth middleware guarantees it on /api).
    public func caller() throws -> Identity {
        guard let identity else { throw APIError.unauthorized("missing bearer token") }
        return identity
    }
}

/// An API error: status, a stable code and a message a person can act on.
/// Rendered as `{"error": {"code": "...", "message": "..."}}`.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public static func badRequest(_ m: String) -> APIError { APIError(.badRequest, "invalid_request", m) }
    public static func notFound(_ m: String) -> APIError { APIError(.notFound, "not_found", m) }
    public static func forbidden(_ m: String) -> APIError { APIError(.forbidden, "forbidden", m) }
    public static func unauthorized(_ m: String) -> APIError {
        APIError(.unauthorized, "unauthorized", m, headers: [.wwwAuthenticate: "Bearer"])
    }
    public static func conflict(_ m: String) -> APIError { APIError(.conflict, "conflict", m) }

    public init(_ e: EngineError) {
        switch e.code {
        case .notFound: self.init(.notFound, "not_found", e.message)
        case .invalid: self.init(.unprocessableContent, "invalid", e.message)
        case .conflict: self.init(.conflict, "conflict", e.message)
        case .unavailable: self.init(.serviceUnavailable, "unavailable", e.message)
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = JSONValue.object(["error": .object(["code": .string(code), "message": .string(message)])])
        var response = try JSONResponse.make(body, status: status)
        for field in headers { response.headers.append(field) }
        return response
    }
}

/// Encodes responses with the contract's conventions.
public enum JSONResponse {
    public static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try ContractJSON.sharedEncoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `{"items": [...], "next_cursor": ...}`
    public static func list(_ items: some Encodable, next: String?) throws -> Response {
        try make(ListPage(items: items, nextCursor: next))
    }

    struct ListPage<Items: Encodable>: Encodable {
        var items: Items
        var nextCursor: String?
        enum CodingKeys: String, CodingKey { case items, nextCursor }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(items, forKey: .items)
            if let nextCursor { try c.encode(nextCursor, forKey: .nextCursor) } else { try c.encodeNil(forKey: .nextCursor) }
        }
    }
}

extension Request {
    /// Decodes the JSON body strictly (`WireJSON`: duplicate keys, nesting
    /// and sizes, then the contract's decoder, then range checks); errors
    /// name the bad field: 400 for what is not the contract's JSON, 422 for
    /// a value outside its range.
    func decodeJSON<T: Decodable>(_ type: T.Type, context: APIContext) async throws -> T {
        let buffer = try await readBody(context)
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("request body is empty; JSON expected") }
        return try Self.decode(T.self, buffer)
    }

    /// Like `decodeJSON`, for optional bodies: nil when the body is empty, the same errors otherwise.
    func decodeOptionalJSON<T: Decodable>(_ type: T.Type, context: APIContext) async throws -> T? {
        let buffer = try await readBody(context)
        guard buffer.readableBytes > 0 else { return nil }
        return try Self.decode(T.self, buffer)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
        do {
            return try buffer.readableBytesView.withContiguousStorageIfAvailable { bytes in
                try WireJSON.decode(T.self, from: bytes, limits: .requestBody)
            } ?? WireJSON.decode(T.self, from: Array(buffer.readableBytesView), limits: .requestBody)
        } catch let e as FieldRangeError {
            throw APIError(.unprocessableContent, "invalid", e.description)
        } catch {
            throw APIError(.badRequest, "invalid_json", WireJSON.describe(error))
        }
    }

    /// The whole body, at most `APIContext.maxBody` bytes (413). A body that
    /// stops arriving is bounded by the connection's idle timeout
    /// (`HTTPOptions.idleTimeoutSeconds`): Hummingbird closes a connection
    /// whose request has not progressed for that long.
    func readBody(_ context: APIContext) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: APIContext.maxBody)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "too_large", "request body is larger than \(APIContext.maxBody) bytes")
        }
    }

    func query(_ name: String) -> String? {
        uri.queryParameters.get(name)
    }

    /// A free-text query parameter (`q`): at most `maxCharacters`, else 400.
    func textQuery(_ name: String, maxCharacters: Int = 200) throws -> String? {
        guard let raw = query(name), !raw.isEmpty else { return nil }
        guard raw.unicodeScalars.count <= maxCharacters else {
            throw APIError.badRequest("\(name) must be at most \(maxCharacters) characters")
        }
        return raw
    }

    /// A comma-separated enum filter (`status=open,escalated`).
    func enumSet<E: ContractEnum>(_ name: String, _ type: E.Type) throws -> Set<E> {
        guard let raw = query(name), !raw.isEmpty else { return [] }
        var out = Set<E>()
        for part in raw.split(separator: ",") {
            guard let v = E(rawValue: String(part)) else {
                throw APIError.badRequest("\(name): '\(part)' is not one of: \(E.allowedValues.joined(separator: ", "))")
            }
            out.insert(v)
        }
        return out
    }

    func uuidQuery<K>(_ name: String, _: K.Type) throws -> EntityID<K>? {
        guard let raw = query(name), !raw.isEmpty else { return nil }
        guard let id = EntityID<K>(raw) else { throw APIError.badRequest("\(name): '\(raw)' is not a UUID") }
        return id
    }

    /// One page of an in-memory list: `cursor` is the offset this server
    /// gave out as `next_cursor`; anything else is refused, so a client can
    /// never page in circles.
    func offsetPage<T>(_ items: [T]) throws -> (items: [T], next: String?) {
        var offset = 0
        if let raw = query("cursor") {
            guard let n = Int(raw), n >= 0, n <= items.count else {
                throw APIError.badRequest("cursor is not one this server gave out (or the list has changed)")
            }
            offset = n
        }
        let page = Array(items.dropFirst(offset).prefix(try limit()))
        return (page, offset + page.count < items.count ? String(offset + page.count) : nil)
    }

    func limit() throws -> Int {
        guard let raw = query("limit") else { return 50 }
        guard let n = Int(raw), (1...500).contains(n) else { throw APIError.badRequest("limit must be a number from 1 to 500") }
        return n
    }

    func boolQuery(_ name: String) throws -> Bool {
        guard let raw = query(name) else { return false }
        switch raw { case "true", "1": return true; case "false", "0": return false
        default: throw APIError.badRequest("\(name) must be true or false") }
    }
}

extension APIContext {
    func id<K>(_ name: String, _: K.Type) throws -> EntityID<K> {
        let raw = parameters.get(name) ?? ""
        guard let id = EntityID<K>(raw) else { throw APIError.notFound("'\(raw)' is not a known id (ids are UUIDs)") }
        return id
    }
}

/// Runs engine calls and maps their errors to API errors.
func mapped<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let e as EngineError {
        throw APIError(e)
    }
}

extension SocketAddress {
    var ipAddress: String? {
        switch self {
        case .v4(let a): a.host
        case .v6(let a): a.host
        default: nil
        }
    }
}
