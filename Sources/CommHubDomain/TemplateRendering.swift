/// Renders reply templates: `{{name}}` is replaced by the variable `name`,
/// `{{name|fallback}}` uses the fallback when the variable is missing or
/// empty. Unknown variables without a fallback are reported, not rendered
/// as empty text, so a customer never receives "Beste ,".
public enum TemplateRenderer {
    public struct Result: Sendable, Hashable {
        public var text: String
        public var missing: [String]
    }

    public static func render(_ template: String, variables: [String: String]) -> Result {
        var out = ""
        out.reserveCapacity(template.utf8.count + 32)
        var missing: [String] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                out += rest[open.lowerBound...]
                rest = ""
                break
            }
            let inner = rest[open.upperBound..<close.lowerBound]
            let parts = inner.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            let fallback = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : nil
            if let value = variables[name], !value.isEmpty {
                out += value
            } else if let fallback {
                out += fallback
            } else {
                if !missing.contains(name) { missing.append(name) }
                out += "{{\(name)}}"
            }
            rest = rest[close.upperBound...]
        }
        out += rest
        return Result(text: out, missing: missing)
    }

    /// The variable names a template uses, in order of first use.
    public static func variables(in template: String) -> [String] {
        var names: [String] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            let name = rest[open.upperBound..<close.lowerBound].split(separator: "|", maxSplits: 1,
                                                                        omittingEmptySubsequences: false)[0]
                .trimmingCharacters(in: .whitespaces)
            if !names.contains(name) { names.append(name) }
            rest = rest[close.upperBound...]
        }
        return names
    }
}

import Foundation
