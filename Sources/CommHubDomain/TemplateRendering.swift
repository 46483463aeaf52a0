import Foundation
import Mustache
import Synchronization

/// Renders reply templates with Mustache (hummingbird-project/swift-mustache):
/// `{{name}}`, dotted names (`{{customer.name}}`), sections for lists and
/// optional blocks (`{{#order.lines}}…{{/order.lines}}`), inverted sections
/// (`{{^order}}…{{/order}}`). What it adds to Mustache:
///
/// - **A missing variable is an error naming it, never blank text.** A
///   `{{variable}}` whose value is absent, null or only whitespace, wherever
///   it stands (also inside a section), fails the whole rendering with
///   `TemplateError.missing` listing every such name; a customer never
///   receives "Beste ,". Sections and inverted sections may test a missing
///   value: that is how a template says "optional".
/// - **Escaping by format.** `message_template` and `subject_template` are
///   text (`.text`): nothing is escaped, `{{name}}` and `{{{name}}}` are the
///   same. `html_template` is HTML (`.html`): `{{name}}` escapes `<>&"'`,
///   `{{{name}}}` and `{{&name}}` insert the value as it is.
/// - **The old fallback syntax** `{{name|fallback}}` is rewritten to
///   `{{#name}}{{name}}{{/name}}{{^name}}fallback{{/name}}` (see
///   `TemplateSyntax.migrated`) before parsing, so stored templates keep working.
public enum TemplateRenderer {
    /// A rendering for callers that check `missing` themselves (the first
    /// API of this type): `text` is empty whenever `missing` is not.
    public struct Result: Sendable, Hashable {
        public var text: String
        /// Missing variables; a template that does not parse is reported here
        /// too (as "template: <problem>"), so that nothing half-rendered is sent.
        public var missing: [String]

        public init(text: String, missing: [String]) { self.text = text; self.missing = missing }
    }

    /// Renders `template` with flat string variables as text (the first API, kept for its callers).
    public static func render(_ template: String, variables: [String: String]) -> Result {
        do {
            let text = try render(template, values: variables.mapValues(JSONValue.string), format: .text)
            return Result(text: text, missing: [])
        } catch .missing(let names) {
            return Result(text: "", missing: names)
        } catch {
            return Result(text: "", missing: ["template: \(error.description)"])
        }
    }

    /// Renders `source` (migrated from the old fallback syntax first) with `values`.
    public static func render(_ source: String, values: [String: JSONValue], format: TemplateFormat) throws(TemplateError) -> String {
        let (text, missing) = try run(source, values: values, format: format, placeholders: false)
        guard missing.isEmpty else { throw .missing(missing) }
        return text
    }

    /// A preview for a person: missing variables show as `{{name}}` in the
    /// text and are listed; a template that does not parse still throws.
    public static func preview(_ source: String, values: [String: JSONValue],
                               format: TemplateFormat) throws(TemplateError) -> (text: String, missing: [String]) {
        try run(source, values: values, format: format, placeholders: true)
    }

    static func run(_ source: String, values: [String: JSONValue], format: TemplateFormat,
                    placeholders: Bool) throws(TemplateError) -> (String, [String]) {
        let template = try parsed(source, format: format).get()
        let recorder = MissingRecorder(placeholders: placeholders)
        let text = template.render(RootScope(values, recorder))
        return (text, recorder.names)
    }

    /// Parsed templates by source and format, at most `maxParsedTemplates`
    /// (then the cache starts over): a template is rendered for every
    /// message written with it, and parsing took more than 99% of a render.
    static let parsedTemplates = Mutex([ParsedKey: Swift.Result<MustacheTemplate, TemplateError>]())
    public static let maxParsedTemplates = 1_024

    struct ParsedKey: Hashable {
        let source: String
        let html: Bool
    }

    static func parsed(_ source: String, format: TemplateFormat) -> Swift.Result<MustacheTemplate, TemplateError> {
        let key = ParsedKey(source: source, html: format == .html)
        if let hit = parsedTemplates.withLock({ $0[key] }) { return hit }
        let result: Swift.Result<MustacheTemplate, TemplateError>
        let migrated = TemplateSyntax.migrated(source)
        if let problem = TemplateSyntax.problem(in: migrated) {
            result = .failure(.syntax(problem))
        } else {
            do {
                // Mustache escapes for HTML unless told otherwise; the pragma is a tag of its own and adds no text.
                result = .success(try MustacheTemplate(string: format == .text ? "{{%CONTENT_TYPE:TEXT}}" + migrated : migrated))
            } catch {
                result = .failure(.syntax(TemplateSyntax.describe(error, in: migrated)))
            }
        }
        parsedTemplates.withLock { cache in
            if cache.count >= maxParsedTemplates { cache.removeAll(keepingCapacity: true) }
            cache[key] = result
        }
        return result
    }

    /// Parsed templates held now (tests).
    static var parsedTemplateCount: Int { parsedTemplates.withLock { $0.count } }

    /// The top-level variable names a template uses, in order of first use
    /// (the old fallback syntax read as its name). Sections count; names
    /// inside a section that the section's own value provides do too, as
    /// the template cannot tell them apart.
    public static func variables(in template: String) -> [String] {
        TemplateSyntax.variables(in: template)
    }
}

/// How a template's output is used, which decides escaping.
public enum TemplateFormat: Sendable, Hashable {
    /// Plain text (message text, subject, SMS, WhatsApp): nothing escaped.
    case text
    /// HTML mail: `{{name}}` is HTML-escaped, `{{{name}}}` is not.
    case html
}

/// Why a template could not be rendered. `description` is the sentence the API returns.
public enum TemplateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The template is not valid (line and column, what is wrong, what to write instead).
    case syntax(String)
    /// Variables without a value, by name (`customer_name`, `order.number`).
    case missing([String])

    public var description: String {
        switch self {
        case .syntax(let s): s
        case .missing(let names): "template variables missing: \(names.joined(separator: ", "))"
        }
    }
}

// MARK: - The render context

/// Collects the names of variables that rendered without a value.
final class MissingRecorder {
    private(set) var names: [String] = []
    /// Whether a missing value shows as `{{name}}` (a preview) instead of nothing.
    let placeholders: Bool
    init(placeholders: Bool) { self.placeholders = placeholders }

    func record(_ name: String) -> String {
        if !names.contains(name) { names.append(name) }
        return placeholders ? "{{\(name)}}" : ""
    }
}

/// A value that is not there: sections treat it as false (`isNull`), an
/// inverted section renders, and a `{{variable}}` reading it records its name.
final class MissingValue: MustacheCustomRenderable, MustacheParent, MustacheTransformable {
    let name: String
    let recorder: MissingRecorder
    init(_ name: String, _ recorder: MissingRecorder) { self.name = name; self.recorder = recorder }

    var renderText: String { recorder.record(name) }
    var isNull: Bool { true }
    /// `{{customer.name}}` when there is no customer: missing as `customer.name`.
    func child(named: String) -> Any? { MissingValue(name + "." + named, recorder) }
    /// `{{uppercased(name)}}` of a missing name stays missing (not silently blank).
    func transform(_ name: String) -> Any? { self }
}

/// The bottom of Mustache's context stack: every look-up that nothing above
/// answered ends here, so a name it does not have is missing.
final class RootScope: MustacheParent {
    let values: [String: JSONValue]
    let recorder: MissingRecorder
    init(_ values: [String: JSONValue], _ recorder: MissingRecorder) { self.values = values; self.recorder = recorder }

    func child(named name: String) -> Any? {
        guard let v = values[name] else { return MissingValue(name, recorder) }
        return ObjectScope.wrap(v, path: name, recorder)
    }
}

/// An object value (`customer`, an order line). A field it has but whose
/// value is null or blank is missing; a name it does not have at all is
/// looked up further down the stack (so `{{customer_name}}` inside
/// `{{#order.lines}}` still finds the top-level value).
final class ObjectScope: MustacheParent {
    let fields: [String: JSONValue]
    let path: String
    let recorder: MissingRecorder
    init(_ fields: [String: JSONValue], path: String, _ recorder: MissingRecorder) {
        self.fields = fields; self.path = path; self.recorder = recorder
    }

    func child(named name: String) -> Any? {
        guard let v = fields[name] else { return nil }
        return Self.wrap(v, path: path + "." + name, recorder)
    }

    /// What Mustache sees of a JSON value: text, a whole number without ".0",
    /// a flag, a list of scopes, a scope; null and blank text are missing.
    static func wrap(_ v: JSONValue, path: String, _ recorder: MissingRecorder) -> Any {
        switch v {
        case .null:
            return MissingValue(path, recorder)
        case .string(let s):
            return s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? MissingValue(path, recorder) : s
        case .number(let d):
            if d.rounded() == d, abs(d) < 1e15 { return String(Int64(d)) }
            return String(d)
        case .bool(let b):
            return b
        case .array(let a):
            return a.map { wrap($0, path: path, recorder) }
        case .object(let o):
            return ObjectScope(o, path: path, recorder)
        }
    }
}

// MARK: - Syntax: tags, migration, checks

/// One `{{…}}` tag of a template, as found by `TemplateSyntax.tags`.
public struct TemplateTag: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case variable, unescaped, section, inverted, close, comment
        /// Not supported in CommHub templates: partials `>`, parents `<`, blocks `$`, delimiters `=`, pragmas `%`.
        case unsupported(Character)
    }
    public var kind: Kind
    /// The name without sigil and surrounding spaces (`customer.name`, `first(order.lines)`).
    public var name: String
    /// The old `{{name|fallback}}` syntax: the fallback text.
    public var fallback: String?
    /// 1-based line and column of the opening braces.
    public var line: Int
    public var column: Int
    /// Where the whole tag stands in the source.
    public var range: Range<String.Index>
}

/// The template language's surface: finding tags, rewriting the old
/// fallback syntax, and checking what Mustache itself would accept silently
/// but CommHub refuses (partials, delimiter changes, unknown functions,
/// fields the thread context does not have).
public enum TemplateSyntax {
    /// Functions a tag may apply (swift-mustache transforms): on text
    /// `uppercased`, `lowercased`, `capitalized`; on lists `first`, `last`,
    /// `count`, `empty`, `reversed`. Others would render blank without a word.
    public static let allowedFunctions: Set<String> = ["uppercased", "lowercased", "capitalized",
                                                       "first", "last", "count", "empty", "reversed"]

    /// Every tag in source order. Text between tags is not returned. A `{{`
    /// without closing braces ends the scan (the parser reports it).
    public static func tags(in source: String) -> [TemplateTag] {
        var out: [TemplateTag] = []
        var i = source.startIndex
        // Line counting: `counted` is how far newlines have been counted, `lineStart` where the current line begins.
        var line = 1
        var lineStart = source.startIndex
        var counted = source.startIndex
        func count(to end: String.Index) {
            while counted < end {
                if source[counted].isNewline {
                    line += 1
                    lineStart = source.index(after: counted)
                }
                counted = source.index(after: counted)
            }
        }
        while let open = find("{{", in: source, from: i) {
            count(to: open.lowerBound)
            let column = source.distance(from: lineStart, to: open.lowerBound) + 1
            let triple = source[open.upperBound...].first == "{"
            guard let close = find(triple ? "}}}" : "}}", in: source, from: open.upperBound) else { break }
            var inner = source[open.upperBound..<close.lowerBound]
            var kind: TemplateTag.Kind = .variable
            if triple {
                inner = inner.dropFirst()
                kind = .unescaped
            } else if let sigil = inner.first {
                switch sigil {
                case "#": kind = .section
                case "^": kind = .inverted
                case "/": kind = .close
                case "!": kind = .comment
                case "&": kind = .unescaped
                case ">", "<", "$", "=", "%": kind = .unsupported(sigil)
                default: break
                }
                if kind != .variable { inner = inner.dropFirst() }
            }
            var name = inner.trimmingCharacters(in: .whitespaces)
            var fallback: String?
            if kind == .variable || kind == .unescaped, let bar = name.firstIndex(of: "|") {
                fallback = name[name.index(after: bar)...].trimmingCharacters(in: .whitespaces)
                name = name[..<bar].trimmingCharacters(in: .whitespaces)
            }
            out.append(TemplateTag(kind: kind, name: name, fallback: fallback, line: line, column: column,
                                   range: open.lowerBound..<close.upperBound))
            i = close.upperBound
        }
        return out
    }

    /// Where ASCII `needle` next occurs in `source` from `start`, scanning
    /// UTF-8 bytes (Foundation's `range(of:)` bridges the whole string on
    /// every call on Linux, which made scanning a mail template cost hundreds
    /// of microseconds). Indices of ASCII bytes are valid `String` indices.
    static func find(_ needle: StaticString, in source: String, from start: String.Index) -> Range<String.Index>? {
        let utf8 = source.utf8
        let bytes = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        guard let first = bytes.first else { return nil }
        var i = start
        while let hit = utf8[i...].firstIndex(of: first) {
            var j = hit
            var matched = true
            for b in bytes {
                guard j < utf8.endIndex, utf8[j] == b else { matched = false; break }
                j = utf8.index(after: j)
            }
            if matched { return hit..<j }
            i = utf8.index(after: hit)
        }
        return nil
    }

    /// The old `{{name|fallback}}` rewritten as Mustache: the value when it
    /// is there, else the fallback text —
    /// `{{#name}}{{name}}{{/name}}{{^name}}fallback{{/name}}`.
    /// Everything else is left exactly as it was; applying it twice changes nothing.
    public static func migrated(_ source: String) -> String {
        let old = tags(in: source).filter { $0.fallback != nil }
        guard !old.isEmpty else { return source }
        var out = ""
        var i = source.startIndex
        for t in old {
            out += source[i..<t.range.lowerBound]
            let value = t.kind == .unescaped ? "{{{\(t.name)}}}" : "{{\(t.name)}}"
            out += "{{#\(t.name)}}\(value){{/\(t.name)}}{{^\(t.name)}}\(t.fallback!){{/\(t.name)}}"
            i = t.range.upperBound
        }
        out += source[i...]
        return out
    }

    /// The fallback text a template gives `name` in the migrated form of
    /// `{{name|fallback}}`, for parameters that are not rendered by Mustache
    /// (an approved WhatsApp template's body parameters); nil when it has none.
    public static func fallback(for name: String, in source: String) -> String? {
        let migrated = migrated(source)
        let head = "{{#\(name)}}{{\(name)}}{{/\(name)}}{{^\(name)}}"
        guard let start = migrated.range(of: head),
              let end = migrated.range(of: "{{/\(name)}}", range: start.upperBound..<migrated.endIndex) else { return nil }
        let text = String(migrated[start.upperBound..<end.lowerBound])
        return text.contains("{{") || text.trimmingCharacters(in: .whitespaces).isEmpty ? nil : text
    }

    /// Why `source` (already migrated) cannot be a CommHub template, or nil.
    /// The sentence names the line, the column and what to write instead.
    public static func problem(in source: String) -> String? {
        for t in tags(in: source) {
            let at = "line \(t.line), column \(t.column)"
            let shown = String(source[t.range].prefix(60))
            if case .unsupported(let sigil) = t.kind {
                let what = switch sigil {
                case ">": "partials ({{> name}}) are not supported: write the text into the template"
                case "<", "$": "template inheritance ({{< }} and {{$ }}) is not supported"
                case "=": "changing the delimiters ({{= }}) is not supported: keep {{ and }}"
                default: "pragmas ({{% }}) are not supported"
                }
                return "\(at): \(shown): \(what)"
            }
            if t.fallback != nil {
                return "\(at): \(shown): write a fallback as {{#name}}{{name}}{{/name}}{{^name}}fallback{{/name}}"
            }
            guard t.kind != .comment else { continue }
            if let problem = nameProblem(t.name) { return "\(at): \(shown): \(problem)" }
            if t.kind == .variable || t.kind == .unescaped, TemplateContext.listFields.contains(t.name) {
                return "\(at): \(shown): \(t.name) is a list; repeat a block for each element with {{#\(t.name)}}…{{/\(t.name)}}"
            }
        }
        return nil
    }

    /// A tag name's problem: an unknown function, or a field that an object of the thread context does not have.
    static func nameProblem(_ raw: String) -> String? {
        var name = Substring(raw)
        while let open = name.firstIndex(of: "("), name.last == ")" {
            let function = String(name[..<open])
            guard allowedFunctions.contains(function) else {
                return "\(function)(…) is not a known function; use one of: \(allowedFunctions.sorted().joined(separator: ", "))"
            }
            name = name[name.index(after: open)..<name.index(before: name.endIndex)]
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, let fields = TemplateContext.fields[parts[0]] else { return nil }
        if parts.count == 2, !fields.contains(parts[1]) {
            return "\(parts[0]) has no field '\(parts[1])'; its fields are \(fields.joined(separator: ", "))"
        }
        return nil
    }

    /// Turns swift-mustache's parse error into a sentence with line and column.
    static func describe(_ error: any Error, in source: String) -> String {
        guard let e = error as? MustacheTemplate.ParserError else { return "the template does not parse: \(error)" }
        let what: String
        switch e.error as? MustacheTemplate.Error {
        case .sectionCloseNameIncorrect?:
            what = "a section is closed with another name than it was opened with; close {{#name}} with {{/name}}"
        case .unfinishedName?:
            what = "a tag is not closed with }} or its name holds characters other than letters, digits, _ - and ."
        case .expectedSectionEnd?:
            // Point at the section that stays open, not at the end of the text where the parser noticed.
            if let open = unclosedSection(in: source) {
                let sigil = open.kind == .inverted ? "^" : "#"
                return "line \(open.line), column \(open.column): {{\(sigil)\(open.name)}} is opened but never closed; add {{/\(open.name)}}"
            }
            what = "a section is opened but never closed; add {{/name}}"
        default:
            what = "\(e.error)"
        }
        return "line \(e.context.lineNumber), column \(e.context.columnNumber): \(what)"
    }

    /// The innermost section or inverted section that is never closed.
    static func unclosedSection(in source: String) -> TemplateTag? {
        var open: [TemplateTag] = []
        for t in tags(in: source) {
            switch t.kind {
            case .section, .inverted: open.append(t)
            case .close: if let i = open.lastIndex(where: { $0.name == t.name }) { open.removeSubrange(i...) }
            default: break
            }
        }
        return open.last
    }

    /// Top-level names in order of first use; see `TemplateRenderer.variables(in:)`.
    public static func variables(in source: String) -> [String] {
        var names: [String] = []
        for t in tags(in: source) {
            switch t.kind {
            case .variable, .unescaped, .section, .inverted: break
            default: continue
            }
            var name = Substring(t.name)
            while let open = name.firstIndex(of: "("), name.last == ")" {
                name = name[name.index(after: open)..<name.index(before: name.endIndex)]
            }
            guard let top = name.split(separator: ".").first.map(String.init), !top.isEmpty else { continue }
            if !names.contains(top) { names.append(top) }
        }
        return names
    }

    /// Checks one template field for saving: migrates the old fallback
    /// syntax, then refuses what cannot render. Returns the text to store.
    public static func checkedForSaving(_ source: String, field: String) throws(TemplateError) -> String {
        let migrated = migrated(source)
        if let problem = problem(in: migrated) { throw .syntax("\(field) \(problem)") }
        do {
            _ = try MustacheTemplate(string: migrated)
        } catch {
            throw .syntax("\(field) \(describe(error, in: migrated))")
        }
        return migrated
    }
}
