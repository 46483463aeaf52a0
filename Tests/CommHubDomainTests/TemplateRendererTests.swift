import CommHubDomain
import Testing

@Suite("Template rendering")
struct TemplateRendererTests {
    typealias R = TemplateRenderer

    @Test("placeholders, fallbacks and missing variables")
    func placeholders() {
        let r = R.render("Beste {{ naam }}, uw order {{order}} staat gepland op {{datum|binnenkort}}.",
                         variables: ["naam": "mevrouw Jansen", "order": "CC-300123"])
        #expect(r.text == "Beste mevrouw Jansen, uw order CC-300123 staat gepland op binnenkort.")
        #expect(r.missing.isEmpty)

        let m = R.render("{{a}} en {{b}} en {{a}}", variables: ["b": "twee"])
        #expect(m.text == "{{a}} en twee en {{a}}")
        #expect(m.missing == ["a"])

        // An empty value counts as missing; the fallback may be empty text.
        #expect(R.render("x{{v|standaard}}y", variables: ["v": ""]).text == "xstandaardy")
        #expect(R.render("x{{v|}}y", variables: [:]).text == "xy")
        #expect(R.render("x{{ v | met spaties }}y", variables: [:]).text == "xmet spatiesy")
    }

    @Test("text that only looks like a placeholder stays as it is")
    func literalBraces() {
        #expect(R.render("open {{naam zonder einde", variables: ["naam": "x"]).text == "open {{naam zonder einde")
        #expect(R.render("{ enkel } en }} en {", variables: [:]).text == "{ enkel } en }} en {")
        #expect(R.render("", variables: [:]).text == "")
        #expect(R.render("{{", variables: [:]).text == "{{")
        #expect(R.render("{{}}", variables: [:]).missing == [""])
        #expect(R.render("{{a}}{{b}}", variables: ["a": "1", "b": "2"]).text == "12")
        #expect(R.render("{{a}}}", variables: ["a": "1"]).text == "1}")
    }

    @Test("non-ASCII text and values pass through unchanged")
    func unicode() {
        let r = R.render("Geachte {{naam}} — café “{{plaats}}” 🚗⚡️ {{\u{00A0}merk\u{00A0}}}",
                         variables: ["naam": "Zoë Çelik", "plaats": "Zürich", "merk": "Laderthuis"])
        #expect(r.text == "Geachte Zoë Çelik — café “Zürich” 🚗⚡️ Laderthuis")
        #expect(R.variables(in: "{{a}} {{ b|x }} {{a}}") == ["a", "b"])
    }
}
