import Foundation

/// Mail HTML made safe to show, and a clean text rendition of it.
///
/// **The rule** (an allow-list; anything not named here is removed):
///
/// 1. Elements are kept only from `allowedElements` (text formatting,
///    paragraphs, lists, tables, links, images). Their text is kept for
///    `unwrappedElements` and any unknown or namespaced element (`html`,
///    `body`, `form`, `label`, `o:p`, …): the tag goes, the words stay.
///    `droppedElements` go with everything inside them: `script`, `style`,
///    `head`, `title`, `iframe`, `frame(set)`, `object`, `embed`, `applet`,
///    `svg` (and its scripts), `math`, `template`, `noscript`, form controls
///    (`input`, `button`, `select`, `textarea`), media (`audio`, `video`,
///    `source`, `track`, `canvas`), `base`, `link`, `meta` (so no
///    `<meta http-equiv=refresh>`), `map`/`area`. An element left open drops
///    the rest of the document. Comments (Outlook's conditional ones too),
///    doctypes and processing instructions are removed.
/// 2. Attributes are kept only from `allowedAttributes` (per element, plus a
///    few presentational ones everywhere). No event handler (`on*`), no
///    `id`, `class`, `srcset`, `background`, `formaction`, `xlink:href`,
///    `poster`, `ping`, `action`.
/// 3. Links (`a href`) keep only `http:`, `https:`, `mailto:` and `tel:`
///    URLs, judged after decoding every character reference and removing
///    whitespace and control characters (`java&#115;cript:` is refused);
///    they open in a new window with `rel="noopener noreferrer nofollow"`.
/// 4. Images load nothing remote: `src` is kept only as a `cid:` reference
///    of the mail's own inline parts, rewritten to the stored attachment
///    (`inlineImages`), or as a `data:image/(png|gif|jpeg|webp|bmp)` URL.
///    Any other `src` (`http(s):`, tracking pixels, `data:image/svg+xml`)
///    is removed and counted as a blocked remote image.
/// 5. `style` attributes keep only `allowedCSSProperties` whose value has
///    no `url(`, `image-set(`, `expression`, `@import`, `javascript:`,
///    `behavior`, `-moz-binding`, backslash escapes or comments: no CSS can
///    load anything or run script.
/// 6. Everything is re-serialised from the parsed tokens: attribute values
///    double-quoted and escaped (`& < > " '`), text escaped, so what the
///    browser parses is exactly what was checked.
///
/// The web app shows the result inside `<iframe sandbox srcdoc>` with a
/// Content-Security-Policy that blocks remote loads: this is the first of
/// the two lines. Bounds: `maxInputBytes` (the rest is cut), at most
/// `maxAttributesPerElement` attributes, values at most
/// `maxAttributeCharacters`.
public enum MailHTML {
    public static let maxInputBytes = 2 << 20
    public static let maxAttributesPerElement = 64
    public static let maxAttributeCharacters = 4_096

    public static let allowedElements: Set<String> = [
        "a", "abbr", "acronym", "address", "b", "bdi", "bdo", "big", "blockquote", "br", "caption", "center", "cite", "code",
        "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
        "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub",
        "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var", "wbr",
    ]
    public static let unwrappedElements: Set<String> = ["html", "body", "form", "label", "fieldset", "legend", "article",
                                                        "section", "header", "footer", "main", "nav", "aside", "figure",
                                                        "figcaption", "details", "summary"]
    public static let droppedElements: Set<String> = [
        "script", "style", "head", "title", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
        "template", "noscript", "noembed", "noframes", "textarea", "select", "button", "option", "optgroup", "input",
        "canvas", "audio", "video", "source", "track", "picture", "xmp", "plaintext", "xml", "base", "link", "meta",
        "param", "map", "area", "portal", "dialog", "slot", "keygen", "isindex", "image",
    ]
    /// Elements whose content is raw text: skipped to their end tag without parsing.
    static let rawTextElements: Set<String> = ["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
                                               "noscript", "plaintext"]
    static let voidElements: Set<String> = ["area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta",
                                            "param", "source", "track", "wbr", "isindex", "image"]

    static let globalAttributes: Set<String> = ["title", "dir", "lang", "align", "valign", "width", "height", "bgcolor", "color",
                                                "border", "style", "nowrap", "face", "size"]
    public static let allowedAttributes: [String: Set<String>] = [
        "a": ["href"], "img": ["src", "alt", "hspace", "vspace"],
        "table": ["cellpadding", "cellspacing", "summary", "frame", "rules"],
        "td": ["colspan", "rowspan", "headers", "scope", "abbr"], "th": ["colspan", "rowspan", "headers", "scope", "abbr"],
        "col": ["span"], "colgroup": ["span"], "ol": ["start", "type", "reversed"], "ul": ["type"], "li": ["value", "type"],
        "q": ["cite"], "blockquote": ["cite"], "del": ["datetime"], "ins": ["datetime"], "abbr": ["title"],
    ]
    public static let allowedCSSProperties: Set<String> = [
        "color", "background-color", "background", "font", "font-family", "font-size", "font-style", "font-weight",
        "font-variant", "text-align", "text-decoration", "text-indent", "text-transform", "letter-spacing", "word-spacing",
        "line-height", "vertical-align", "white-space", "word-break", "word-wrap", "overflow-wrap", "direction", "margin",
        "margin-top", "margin-right", "margin-bottom", "margin-left", "padding", "padding-top", "padding-right",
        "padding-bottom", "padding-left", "border", "border-top", "border-right", "border-bottom", "border-left",
        "border-color", "border-style", "border-width", "border-collapse", "border-spacing", "border-radius", "width",
        "max-width", "min-width", "height", "max-height", "min-height", "display", "list-style", "list-style-type",
        "table-layout", "float", "clear", "text-wrap",
    ]
    static let forbiddenCSS = ["url(", "image-set(", "image(", "expression", "@import", "javascript:", "vbscript:", "behavior",
                               "-moz-binding", "\\", "/*", "*/", "<", ">", "&#", "element("]
    static let linkSchemes = ["http:", "https:", "mailto:", "tel:"]
    static let dataImageTypes = ["data:image/png;", "data:image/gif;", "data:image/jpeg;", "data:image/jpg;", "data:image/webp;",
                                 "data:image/bmp;"]

    /// The result of `sanitise`.
    public struct Sanitised: Sendable, Hashable {
        public var html: String
        /// The words of the mail: for previews, search and `message_content`.
        public var text: String
        /// Images whose remote `src` was removed.
        public var blockedImages: Int
        /// Content ids of inline parts the HTML refers to (`cid:`), lowercased.
        public var referencedContentIDs: [String]
    }

    /// Sanitises `html` by the rule above. `inlineImages` maps a content id
    /// (lowercased, without `<>`) to the URL its stored attachment is served at.
    public static func sanitise(_ html: String, inlineImages: [String: String] = [:]) -> Sanitised {
        var input = html
        if input.utf8.count > maxInputBytes { input = String(decoding: input.utf8.prefix(maxInputBytes), as: UTF8.self) }
        var out = Writer(inlineImages: inlineImages)
        var tokenizer = Tokenizer(Array(input.unicodeScalars))
        var skipping: [String] = []  // dropped elements open around the current token
        while let token = tokenizer.next() {
            switch token {
            case .start(let name, let attributes, let selfClosing):
                if !skipping.isEmpty {
                    if !selfClosing, !voidElements.contains(name), name == skipping.last { skipping.append(name) }
                    continue
                }
                if droppedElements.contains(name) {
                    if rawTextElements.contains(name) {
                        tokenizer.skipRawText(name)
                    } else if !selfClosing, !voidElements.contains(name) {
                        skipping.append(name)
                    }
                    continue
                }
                guard allowedElements.contains(name) else { continue }  // unwrapped or unknown: its content stays
                out.start(name, attributes, selfClosing: selfClosing || voidElements.contains(name))
            case .end(let name):
                if !skipping.isEmpty {
                    if name == skipping.last { skipping.removeLast() }
                    continue
                }
                guard allowedElements.contains(name), !voidElements.contains(name) else { continue }
                out.end(name)
            case .text(let raw):
                guard skipping.isEmpty else { continue }
                out.text(decodeEntities(raw))
            }
        }
        return Sanitised(html: out.html, text: out.plainText, blockedImages: out.blocked, referencedContentIDs: out.contentIDs)
    }

    /// Plain text as HTML: escaped, line breaks as `<br>`.
    public static func fromText(_ text: String) -> String {
        escapeText(text).replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "<br>\n")
    }

    // MARK: Writer

    struct Writer {
        let inlineImages: [String: String]
        var html = ""
        var textParts: [String] = []
        var blocked = 0
        var contentIDs: [String] = []
        var preDepth = 0
        var pendingLinks: [String?] = []

        init(inlineImages: [String: String]) { self.inlineImages = inlineImages }

        mutating func start(_ name: String, _ attributes: [(String, String)], selfClosing: Bool) {
            var kept: [(String, String)] = []
            let allowed = MailHTML.allowedAttributes[name] ?? []
            var href: String?
            for (a, value) in attributes.prefix(MailHTML.maxAttributesPerElement) {
                guard MailHTML.globalAttributes.contains(a) || allowed.contains(a) else { continue }
                guard value.unicodeScalars.count <= MailHTML.maxAttributeCharacters else { continue }
                switch a {
                case "href":
                    if let safe = MailHTML.safeLink(value) { kept.append((a, safe)); href = safe }
                case "cite":
                    if let safe = MailHTML.safeLink(value) { kept.append((a, safe)) }
                case "src":
                    if let safe = image(value) { kept.append((a, safe)) } else { blocked += 1 }
                case "style":
                    let css = MailHTML.safeStyle(value)
                    if !css.isEmpty { kept.append((a, css)) }
                case "bgcolor", "color":
                    if value.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "#" }) {
                        kept.append((a, value))
                    }
                case "width", "height", "border", "cellpadding", "cellspacing", "colspan", "rowspan", "span", "start", "hspace",
                     "vspace", "size", "value":
                    if value.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || $0 == "%" || $0 == "." || $0 == "p" || $0 == "x" }) {
                        kept.append((a, value))
                    }
                default:
                    kept.append((a, value))
                }
            }
            if name == "a", href != nil {
                kept.append(("target", "_blank"))
                kept.append(("rel", "noopener noreferrer nofollow"))
            }
            html += "<" + name
            for (a, v) in kept { html += " \(a)=\"\(MailHTML.escapeAttribute(v))\"" }
            html += ">"
            // Text rendition.
            switch name {
            case "br": textParts.append("\n")
            case "li": textParts.append("\n- ")
            case "td", "th": textParts.append(" ")
            case "img":
                if let alt = attributes.first(where: { $0.0 == "alt" })?.1.trimmingCharacters(in: .whitespacesAndNewlines), !alt.isEmpty {
                    textParts.append("[\(alt)]")
                }
            case "pre": preDepth += 1; textParts.append("\n\n")
            case "a": pendingLinks.append(href)
            default: if MailHTML.blockElements.contains(name) { textParts.append("\n\n") }
            }
            if selfClosing, name == "a" { pendingLinks.removeLast() }
        }

        mutating func end(_ name: String) {
            html += "</\(name)>"
            switch name {
            case "pre": preDepth = max(0, preDepth - 1); textParts.append("\n\n")
            case "a":
                if let link = pendingLinks.popLast(), let link, !link.hasPrefix("mailto:"), !link.hasPrefix("tel:") {
                    let recent = textParts.suffix(8).joined()
                    if !recent.contains(link) { textParts.append(" (\(link))") }
                }
            default: if MailHTML.blockElements.contains(name) { textParts.append("\n\n") }
            }
        }

        mutating func text(_ s: String) {
            html += MailHTML.escapeText(s)
            if preDepth > 0 {
                textParts.append(s)
            } else {
                // Collapse white space as a browser would.
                var collapsed = ""
                var space = false
                for ch in s {
                    if ch.isWhitespace { if !space { collapsed.append(" ") }; space = true } else { collapsed.append(ch); space = false }
                }
                textParts.append(collapsed)
            }
        }

        /// A safe image source: a mapped `cid:` part or an inline raster image; nil blocks it.
        mutating func image(_ raw: String) -> String? {
            let value = MailHTML.stripControls(raw)
            let lower = value.lowercased()
            if lower.hasPrefix("cid:") {
                let id = MailHTML.contentID(String(value.dropFirst(4)))
                contentIDs.append(id)
                return inlineImages[id]
            }
            if MailHTML.dataImageTypes.contains(where: { lower.hasPrefix($0) }), lower.contains(";base64,") { return value }
            return nil
        }

        var plainText: String { MailHTML.tidyText(textParts.joined()) }
    }

    static let blockElements: Set<String> = ["p", "div", "tr", "table", "ul", "ol", "dl", "dt", "dd", "blockquote", "h1", "h2", "h3",
                                             "h4", "h5", "h6", "hr", "address", "center", "caption"]

    /// A content id as `cid:` names it (RFC 2392: URL-encoded) and as the part's `Content-ID` header gives it (`<…>`): lowercased, bare.
    public static func contentID(_ raw: String) -> String {
        var s = raw.trimmingCharacters(in: .whitespaces)
        if s.hasPrefix("<"), s.hasSuffix(">") { s = String(s.dropFirst().dropLast()) }
        return (s.removingPercentEncoding ?? s).lowercased()
    }

    // MARK: Links and styles

    /// A link target CommHub lets a reader follow, or nil.
    static func safeLink(_ raw: String) -> String? {
        let value = stripControls(raw)
        let lower = value.lowercased()
        guard linkSchemes.contains(where: { lower.hasPrefix($0) }) else { return nil }
        return value
    }

    /// The value without white space and control characters (which browsers ignore inside a scheme).
    static func stripControls(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.filter { !($0.value <= 0x20 || (0x7F...0x9F).contains($0.value)) }))
    }

    /// The declarations of a `style` attribute that pass rule 5, re-joined.
    static func safeStyle(_ css: String) -> String {
        var kept: [String] = []
        for declaration in css.split(separator: ";") {
            guard let colon = declaration.firstIndex(of: ":") else { continue }
            let property = declaration[..<colon].trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            let value = declaration[declaration.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            guard allowedCSSProperties.contains(property), !value.isEmpty, value.count <= 500 else { continue }
            let lower = value.lowercased()
            guard !forbiddenCSS.contains(where: { lower.contains($0) }),
                  value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else { continue }
            kept.append("\(property): \(value)")
        }
        return kept.joined(separator: "; ")
    }

    // MARK: Escaping and entities

    static func escapeText(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    static func escapeAttribute(_ s: String) -> String {
        escapeText(s).replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
    }

    static let namedEntities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}", "copy": "©", "reg": "®", "trade": "™",
        "euro": "€", "hellip": "…", "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”",
        "bull": "•", "middot": "·", "laquo": "«", "raquo": "»", "deg": "°", "times": "×", "shy": "\u{00AD}", "zwnj": "\u{200C}",
        "eacute": "é", "egrave": "è", "euml": "ë", "ecirc": "ê", "aacute": "á", "agrave": "à", "auml": "ä", "iuml": "ï",
        "iacute": "í", "ouml": "ö", "oacute": "ó", "uuml": "ü", "uacute": "ú", "ccedil": "ç", "szlig": "ß", "Eacute": "É",
        "Euml": "Ë", "Ouml": "Ö", "Uuml": "Ü", "Auml": "Ä", "ntilde": "ñ",
    ]

    /// Decodes character references: named ones of `namedEntities` (with
    /// `;`), numeric ones with or without `;` as browsers do. Others stay as written.
    public static func decodeEntities(_ s: String) -> String {
        guard s.contains("&") else { return s }
        let scalars = Array(s.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "&" else { out.append(scalars[i]); i += 1; continue }
            var j = i + 1
            if j < scalars.count, scalars[j] == "#" {
                j += 1
                var hex = false
                if j < scalars.count, scalars[j] == "x" || scalars[j] == "X" { hex = true; j += 1 }
                var value: UInt32 = 0
                var digits = 0
                while j < scalars.count, let d = hex ? scalars[j].hexDigitValue : scalars[j].decimalDigitValue {
                    if value < 0x110000 { value = value * (hex ? 16 : 10) + UInt32(d) }
                    digits += 1
                    j += 1
                }
                if digits > 0 {
                    if j < scalars.count, scalars[j] == ";" { j += 1 }
                    let ok = value != 0 && value < 0x110000 && !(0xD800...0xDFFF).contains(value)
                    out.append(ok ? Unicode.Scalar(value)! : "\u{FFFD}")
                    i = j
                    continue
                }
            } else {
                while j < scalars.count, j - i <= 10, scalars[j].properties.isAlphabetic || scalars[j].decimalDigitValue != nil { j += 1 }
                if j < scalars.count, scalars[j] == ";",
                   let v = namedEntities[String(String.UnicodeScalarView(scalars[(i + 1)..<j]))] {
                    out.append(contentsOf: v.unicodeScalars)
                    i = j + 1
                    continue
                }
            }
            out.append("&")
            i += 1
        }
        return String(out)
    }

    /// Lines trimmed, runs of spaces collapsed, at most one empty line in a row.
    static func tidyText(_ s: String) -> String {
        var lines: [String] = []
        var blank = 0
        for raw in s.replacingOccurrences(of: "\u{00A0}", with: " ").split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                .trimmingCharacters(in: .whitespaces)
            if line.isEmpty {
                blank += 1
                if blank == 1, !lines.isEmpty { lines.append("") }
            } else {
                blank = 0
                lines.append(line)
            }
        }
        while lines.last == "" { lines.removeLast() }
        return lines.joined(separator: "\n")
    }
}

extension Unicode.Scalar {
    var decimalDigitValue: Int? { ("0"..."9").contains(self) ? Int(value - 48) : nil }
    var hexDigitValue: Int? {
        switch self {
        case "0"..."9": Int(value - 48)
        case "a"..."f": Int(value - 87)
        case "A"..."F": Int(value - 55)
        default: nil
        }
    }
}

/// An HTML tokenizer good enough to sanitise by: start tags with their
/// attributes (values decoded), end tags, text (raw); comments, doctypes
/// and processing instructions are consumed and dropped.
struct Tokenizer {
    enum Token {
        case start(String, [(String, String)], selfClosing: Bool)
        case end(String)
        case text(String)
    }

    private let s: [Unicode.Scalar]
    private var i = 0

    init(_ scalars: [Unicode.Scalar]) { s = scalars }

    private func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }
    private static func isLetter(_ c: Unicode.Scalar?) -> Bool {
        guard let c else { return false }
        return ("a"..."z").contains(c) || ("A"..."Z").contains(c)
    }
    private static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0C}" }

    mutating func next() -> Token? {
        while i < s.count {
            if s[i] != "<" {
                let start = i
                while i < s.count, s[i] != "<" { i += 1 }
                return .text(String(String.UnicodeScalarView(s[start..<i])))
            }
            let c = at(i + 1)
            if Self.isLetter(c) {
                if let t = startTag() { return t }
                i = s.count  // a tag cut off at the end: dropped
                return nil
            }
            if c == "/" {
                if Self.isLetter(at(i + 2)) {
                    i += 2
                    let name = readName()
                    skipTo(">")
                    return .end(name)
                }
                i += 2
                skipTo(">")  // `</>` or a bogus comment
                continue
            }
            if c == "!" {
                if at(i + 2) == "-", at(i + 3) == "-" {
                    i += 4
                    while i < s.count, !(s[i] == "-" && at(i + 1) == "-" && at(i + 2) == ">") { i += 1 }
                    i = min(s.count, i + 3)
                } else {
                    i += 2
                    skipTo(">")
                }
                continue
            }
            if c == "?" {
                i += 2
                skipTo(">")
                continue
            }
            i += 1
            return .text("<")
        }
        return nil
    }

    private mutating func skipTo(_ end: Unicode.Scalar) {
        while i < s.count, s[i] != end { i += 1 }
        i = min(s.count, i + 1)
    }

    private mutating func readName() -> String {
        let start = i
        while i < s.count, !Self.isSpace(s[i]), s[i] != "/", s[i] != ">" { i += 1 }
        return String(String.UnicodeScalarView(s[start..<i])).lowercased()
    }

    private mutating func startTag() -> Token? {
        i += 1
        let name = readName()
        var attributes: [(String, String)] = []
        var selfClosing = false
        while i < s.count {
            while i < s.count, Self.isSpace(s[i]) { i += 1 }
            guard i < s.count else { return nil }
            if s[i] == ">" { i += 1; return .start(name, attributes, selfClosing: selfClosing) }
            if s[i] == "/" { selfClosing = true; i += 1; continue }
            selfClosing = false
            let start = i
            while i < s.count, !Self.isSpace(s[i]), s[i] != "=", s[i] != ">", s[i] != "/" || i == start { i += 1 }
            let attribute = String(String.UnicodeScalarView(s[start..<i])).lowercased()
            while i < s.count, Self.isSpace(s[i]) { i += 1 }
            var value = ""
            if i < s.count, s[i] == "=" {
                i += 1
                while i < s.count, Self.isSpace(s[i]) { i += 1 }
                guard i < s.count else { return nil }
                if s[i] == "\"" || s[i] == "'" {
                    let quote = s[i]
                    i += 1
                    let v = i
                    while i < s.count, s[i] != quote { i += 1 }
                    guard i < s.count else { return nil }
                    value = String(String.UnicodeScalarView(s[v..<i]))
                    i += 1
                } else {
                    let v = i
                    while i < s.count, !Self.isSpace(s[i]), s[i] != ">" { i += 1 }
                    value = String(String.UnicodeScalarView(s[v..<i]))
                }
            }
            if !attribute.isEmpty, !attributes.contains(where: { $0.0 == attribute }) {
                attributes.append((attribute, MailHTML.decodeEntities(value)))
            }
        }
        return nil
    }

    /// Skips the content of a raw-text element up to and including its end tag (all of it when there is none).
    mutating func skipRawText(_ name: String) {
        let target = Array(name.unicodeScalars)
        while i < s.count {
            if s[i] == "<", at(i + 1) == "/" {
                var k = 0
                while k < target.count, let c = at(i + 2 + k), String(c).lowercased() == String(target[k]) { k += 1 }
                if k == target.count, let after = at(i + 2 + k), Self.isSpace(after) || after == ">" || after == "/" {
                    i += 2 + k
                    skipTo(">")
                    return
                }
            }
            i += 1
        }
    }
}
