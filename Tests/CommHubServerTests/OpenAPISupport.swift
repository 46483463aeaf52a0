import CommHubDomain
@testable import CommHubServer
import Foundation
import HTTPTypes
import Synchronization
import Testing

/// The served OpenAPI document, parsed, with the lookups the contract tests
/// need: the documented routes, operations by concrete path, and a checker
/// of JSON values against the document's schemas.
struct OpenAPIDoc: Sendable {
    let root: JSONValue

    static let methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    init(_ text: String = openAPIDocumentJSON) throws {
        root = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    var paths: [String: JSONValue] { root["paths"]?.objectValue ?? [:] }

    /// `GET /api/communication/threads/{id}`, for every documented operation.
    var routes: Set<String> {
        var out = Set<String>()
        for (path, item) in paths {
            for m in Self.methods where item[m] != nil { out.insert("\(m.uppercased()) \(path)") }
        }
        return out
    }

    /// The documented path template a concrete path belongs to; literal segments win over `{parameters}`.
    func template(for path: String) -> String? {
        let segments = path.split(separator: "?").first.map { $0.split(separator: "/") } ?? []
        var best: (template: String, literals: Int)?
        for template in paths.keys {
            let parts = template.split(separator: "/")
            guard parts.count == segments.count else { continue }
            var literals = 0
            var fits = true
            for (p, s) in zip(parts, segments) {
                if p.hasPrefix("{") && p.hasSuffix("}") { continue }
                if p == s { literals += 1 } else { fits = false; break }
            }
            if fits, best == nil || literals > best!.literals { best = (template, literals) }
        }
        return best?.template
    }

    /// Resolves a local `$ref` (`#/components/...`).
    func resolve(_ value: JSONValue) -> JSONValue {
        var v = value
        var hops = 0
        while let ref = v["$ref"]?.string, hops < 32 {
            var node: JSONValue? = root
            for part in ref.dropFirst(2).split(separator: "/") { node = node?[String(part)] }
            guard let target = node else { return .null }
            v = target
            hops += 1
        }
        return v
    }

    /// The documented JSON schema of an answer, or a problem.
    func responseSchema(method: String, path: String, status: Int) -> Result<JSONValue?, ContractProblem> {
        guard let template = template(for: path) else { return .failure(.init("\(path) is not documented")) }
        guard let op = paths[template]?[method.lowercased()] else {
            return .failure(.init("\(method.uppercased()) \(template) is not documented"))
        }
        guard let response = op["responses"]?[String(status)].map(resolve) else {
            return .failure(.init("\(method.uppercased()) \(template) does not document status \(status)"))
        }
        guard let content = response["content"]?.objectValue else { return .success(nil) }
        let json = content.first { $0.key.hasPrefix("application/json") }?.value
        return .success(json?["schema"])
    }

    // MARK: Checking values

    /// Why `value` does not fit `schema`; empty when it fits.
    ///
    /// Stricter than JSON Schema in one way, on purpose: an object schema
    /// that lists `properties` and does not say `additionalProperties`
    /// accepts no other keys here. The published document leaves answers
    /// open so that clients tolerate new fields; this test makes sure every
    /// field the server sends is documented, under its exact name.
    /// `openKeys`: the keys of this object are checked by an enclosing `allOf`.
    func problems(_ value: JSONValue, _ schema: JSONValue, at path: String = "$", openKeys: Bool = false) -> [String] {
        let s = resolve(schema)
        var out: [String] = []
        if let branches = s["allOf"]?.array {
            for b in branches { out += problems(value, b, at: path, openKeys: true) }
            if !openKeys, case .object(let o) = value, let known = documentedKeys(s) {
                for key in o.keys.sorted() where !known.contains(key) { out.append("\(path).\(key) is not documented") }
            }
        }
        for keyword in ["oneOf", "anyOf"] {
            if let branches = s[keyword]?.array {
                let fits = branches.filter { problems(value, $0, at: path).isEmpty }.count
                if keyword == "oneOf" ? fits != 1 : fits == 0 {
                    out.append("\(path) fits \(fits) of the \(keyword) branches: \(branches.map { problems(value, $0, at: path) })")
                }
            }
        }
        if let types = typeNames(s), !types.contains(where: { Self.has(value, type: $0) }) {
            out.append("\(path) is \(Self.describe(value)), documented as \(types.joined(separator: " or "))")
            return out
        }
        if let allowed = s["enum"]?.array, !allowed.contains(value) {
            out.append("\(path) = \(Self.text(value)) is not one of \(Self.text(.array(allowed)))")
        }
        if let c = s["const"], c != value { out.append("\(path) = \(Self.text(value)) is not \(Self.text(c))") }
        if case .string(let text) = value {
            switch s["format"]?.string {
            case "uuid": if UUID(uuidString: text) == nil { out.append("\(path) = '\(text)' is not a UUID") }
            case "date-time": if Date(iso8601: text) == nil { out.append("\(path) = '\(text)' is not an ISO 8601 time") }
            default: break
            }
        }
        if case .number(let n) = value {
            if let min = s["minimum"]?.number, n < min { out.append("\(path) = \(n) is below \(min)") }
            if let max = s["maximum"]?.number, n > max { out.append("\(path) = \(n) is above \(max)") }
        }
        if case .array(let items) = value, let itemSchema = s["items"] {
            for (i, item) in items.enumerated() { out += problems(item, itemSchema, at: "\(path)[\(i)]") }
        }
        if case .object(let o) = value {
            for key in s["required"]?.array?.compactMap(\.string) ?? [] where o[key] == nil {
                out.append("\(path).\(key) is required but missing")
            }
            let properties = s["properties"]?.objectValue ?? [:]
            for (key, v) in o.sorted(by: { $0.key < $1.key }) {
                if let p = properties[key] {
                    out += problems(v, p, at: "\(path).\(key)")
                } else if let names = s["propertyNames"], !problems(.string(key), names, at: path).isEmpty {
                    out.append("\(path): key '\(key)' is not allowed here")
                } else if let extra = s["additionalProperties"] {
                    if case .bool(false) = extra { out.append("\(path).\(key) is not allowed (additionalProperties: false)") }
                    else if extra.objectValue != nil { out += problems(v, extra, at: "\(path).\(key)") }
                } else if !properties.isEmpty, !openKeys {
                    out.append("\(path).\(key) is not documented")
                }
            }
        }
        return out
    }

    /// Keys an object may have under `schema` (with `allOf`), or nil when any key is fine.
    func documentedKeys(_ schema: JSONValue) -> Set<String>? {
        let s = resolve(schema)
        if s["additionalProperties"] != nil { return nil }
        var keys = Set((s["properties"]?.objectValue ?? [:]).keys)
        for b in s["allOf"]?.array ?? [] {
            guard let more = documentedKeys(b) else { return nil }
            keys.formUnion(more)
        }
        if keys.isEmpty, s["allOf"] == nil { return nil }  // a free-form object
        return keys
    }

    func typeNames(_ s: JSONValue) -> [String]? {
        switch s["type"] {
        case .string(let t)?: [t]
        case .array(let a)?: a.compactMap(\.string)
        default: nil
        }
    }

    static func has(_ v: JSONValue, type: String) -> Bool {
        switch (type, v) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object), ("number", .number):
            true
        case ("integer", .number(let n)):
            n.rounded() == n
        default:
            false
        }
    }

    static func text(_ v: JSONValue) -> String {
        (try? String(decoding: JSONEncoder().encode(v), as: UTF8.self)) ?? "\(v)"
    }

    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

struct ContractProblem: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// An `HTTP` client that checks every answer against the document: the
/// status is documented for the operation, and the body fits its schema
/// with no undocumented field.
final class CheckedHTTP: Sendable {
    let http: HTTP
    let doc: OpenAPIDoc
    /// `METHOD /template` of every operation called so far.
    let called = Mutex<Set<String>>([])

    init(http: HTTP, doc: OpenAPIDoc) {
        self.http = http
        self.doc = doc
    }

    @discardableResult
    func call(_ method: String, _ path: String, _ token: String?, _ json: String? = nil, expect status: Int,
              sourceLocation: SourceLocation = #_sourceLocation) async throws -> Reply {
        let m = HTTPRequest.Method(method.uppercased())!
        let r = try await http.call(m, path, token: token, body: json.map(Body.json) ?? .none)
        if let template = doc.template(for: path) { called.withLock { _ = $0.insert("\(method.uppercased()) \(template)") } }
        #expect(r.status == status, "\(method) \(path): \(r)", sourceLocation: sourceLocation)
        switch doc.responseSchema(method: method, path: path, status: r.status) {
        case .failure(let p):
            Issue.record("\(method) \(path) answered \(r.status): \(p)", sourceLocation: sourceLocation)
        case .success(let schema?):
            let problems = doc.problems(r.json, schema)
            #expect(problems.isEmpty, "\(method) \(path) answered \(r.status) outside the document:\n\(problems.joined(separator: "\n"))\n\(r)",
                    sourceLocation: sourceLocation)
        case .success(nil):
            break
        }
        return r
    }
}
