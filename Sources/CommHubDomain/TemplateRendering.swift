/// Renders reply templates: `{{name}}` is replaced by the variable `name`,
/// `{{name|fallback}}` uses the fallback when the variable is missing or
/// empty. Unknown variables without a fallback are reported, not rendered
/// as empty text, so a customer never receives "Beste ,".
public enum TemplateRenderer {
    public struct Result: Sendable, Hashable {
        public var text: String
        public var missing: [String]
    }

    /// Scans the template's UTF-8 bytes once (placeholders are ASCII
    /// braces, which never occur inside a multi-byte character), copying the
    /// text between placeholders in whole runs.
    public static func render(_ template: String, variables: [String: String]) -> Result {
        var missing: [String] = []
        var t = template
        let bytes: [UInt8] = t.withUTF8 { b in
            var out: [UInt8] = []
            out.reserveCapacity(b.count + 64)
            let n = b.count
            var copied = 0
            var i = 0
            while i + 1 < n {
                guard b[i] == UInt8(ascii: "{"), b[i + 1] == UInt8(ascii: "{") else { i += 1; continue }
                var close = i + 2
                while close + 1 < n, !(b[close] == UInt8(ascii: "}") && b[close + 1] == UInt8(ascii: "}")) { close += 1 }
                guard close + 1 < n else { break }  // no closing braces: the rest is text
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[copied..<i]))
                let inner = UnsafeBufferPointer(rebasing: b[(i + 2)..<close])
                let bar = inner.firstIndex(of: UInt8(ascii: "|"))
                let name = trimmed(UnsafeBufferPointer(rebasing: inner[..<(bar ?? inner.endIndex)]))
                let fallback = bar.map { trimmed(UnsafeBufferPointer(rebasing: inner[($0 + 1)...])) }
                if let value = variables[name], !value.isEmpty {
                    out.append(contentsOf: value.utf8)
                } else if let fallback {
                    out.append(contentsOf: fallback.utf8)
                } else {
                    if !missing.contains(name) { missing.append(name) }
                    out.append(contentsOf: "{{\(name)}}".utf8)
                }
                i = close + 2
                copied = i
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[copied...]))
            return out
        }
        return Result(text: String(decoding: bytes, as: UTF8.self), missing: missing)
    }

    /// A placeholder part without surrounding whitespace (ASCII fast path;
    /// Foundation's notion of whitespace for anything else).
    private static func trimmed(_ b: UnsafeBufferPointer<UInt8>) -> String {
        var lo = b.startIndex
        var hi = b.endIndex
        while lo < hi, b[lo] == 0x20 || b[lo] == 0x09 { lo += 1 }
        while hi > lo, b[hi - 1] == 0x20 || b[hi - 1] == 0x09 { hi -= 1 }
        let slice = UnsafeBufferPointer(rebasing: b[lo..<hi])
        let s = String(decoding: slice, as: UTF8.self)
        return slice.contains { $0 >= 0x80 } ? s.trimmingCharacters(in: .whitespaces) : s
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
