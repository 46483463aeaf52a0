@testable import CommHubDomain
import Foundation
import Testing

@Suite("Template rendering (Mustache)")
struct TemplateRendererTests {
    typealias R = TemplateRenderer

    static let order: JSONValue = .object([
        "number": .string("240117"),
        "lines": .array([
            .object(["description": .string("Zaptec Go 22 kW"), "quantity": .number(1), "price": .string("€ 1.249,00")]),
            .object(["description": .string("Installatie"), "quantity": .number(1), "price": .null]),
        ]),
    ])

    @Test("variables, dotted names, sections over order lines and optional blocks")
    func sections() throws {
        let mail = """
            Beste {{customer.name}},

            Uw bestelling {{order.number}}:
            {{#order.lines}}
            - {{quantity}} × {{description}}{{#price}} ({{price}}){{/price}}
            {{/order.lines}}
            {{#discount}}Korting: {{discount}}
            {{/discount}}{{^discount}}Geen korting.
            {{/discount}}
            Groet, {{agent_name}}
            """
        let text = try R.render(mail, values: ["customer": .object(["name": .string("Noor Dekker")]), "order": Self.order,
                                               "agent_name": .string("Emma")], format: .text)
        #expect(text == """
            Beste Noor Dekker,

            Uw bestelling 240117:
            - 1 × Zaptec Go 22 kW (€ 1.249,00)
            - 1 × Installatie
            Geen korting.
            Groet, Emma
            """)
        // A section over an empty list renders nothing; the inverted one does.
        let none = try R.render("{{#order.lines}}x{{/order.lines}}{{^order.lines}}geen regels{{/order.lines}}",
                                values: ["order": .object(["number": .string("1"), "lines": .array([])])], format: .text)
        #expect(none == "geen regels")
        // Inside a section, names the element lacks come from further down the stack.
        let stacked = try R.render("{{#order.lines}}{{description}} voor {{customer_name}}; {{/order.lines}}",
                                   values: ["order": Self.order, "customer_name": .string("Jan")], format: .text)
        #expect(stacked == "Zaptec Go 22 kW voor Jan; Installatie voor Jan; ")
    }

    @Test("a missing variable is an error naming it, wherever it stands; never blank text")
    func missing() throws {
        #expect(throws: TemplateError.missing(["customer_name"])) {
            try R.render("Beste {{customer_name}},", values: [:], format: .text)
        }
        // Null and blank values count as missing.
        #expect(throws: TemplateError.missing(["a", "b"])) {
            try R.render("{{a}} {{b}} {{a}}", values: ["a": .null, "b": .string("  ")], format: .text)
        }
        // A dotted name through a missing object names the whole path; a missing field of a present object too.
        #expect(throws: TemplateError.missing(["customer.name", "order.number"])) {
            try R.render("{{customer.name}} {{order.number}}", values: ["customer": .null, "order": .object(["number": .null])],
                         format: .text)
        }
        // Inside a section (a line without its description), and through a function.
        #expect(throws: TemplateError.missing(["order.lines.description"])) {
            try R.render("{{#order.lines}}{{description}}{{/order.lines}}",
                         values: ["order": .object(["lines": .array([.object(["description": .null])])])], format: .text)
        }
        #expect(throws: TemplateError.missing(["name"])) {
            try R.render("{{uppercased(name)}}", values: [:], format: .text)
        }
        // A section may test a missing value: that is how a template says "optional".
        #expect(try R.render("a{{#x}}{{x}}{{/x}}b{{^y}}c{{/y}}", values: [:], format: .text) == "abc")
        #expect(TemplateError.missing(["a", "b"]).description == "template variables missing: a, b")
    }

    @Test("HTML templates escape values, text templates do not; triple braces never escape")
    func escaping() throws {
        let v: [String: JSONValue] = ["name": .string("Jan <b>&</b> \"Co\"")]
        #expect(try R.render("<p>{{name}}</p>", values: v, format: .html) == "<p>Jan &lt;b&gt;&amp;&lt;/b&gt; &quot;Co&quot;</p>")
        #expect(try R.render("<p>{{{name}}}</p>", values: v, format: .html) == "<p>Jan <b>&</b> \"Co\"</p>")
        #expect(try R.render("<p>{{&name}}</p>", values: v, format: .html) == "<p>Jan <b>&</b> \"Co\"</p>")
        #expect(try R.render("{{name}}", values: v, format: .text) == "Jan <b>&</b> \"Co\"")
        // Inside sections of a text template too.
        #expect(try R.render("{{#order.lines}}{{description}}&{{/order.lines}}",
                             values: ["order": .object(["lines": .array([.object(["description": .string("a<b")])])])],
                             format: .text) == "a<b&")
        // Whole numbers without ".0", others as they are.
        #expect(try R.render("{{a}} {{b}}", values: ["a": .number(3), "b": .number(2.5)], format: .text) == "3 2.5")
    }

    @Test("{{name|fallback}} is rewritten to an inverted section, on save and when rendering")
    func fallbackMigration() throws {
        #expect(TemplateSyntax.migrated("Beste {{customer_name|klant}},")
                == "Beste {{#customer_name}}{{customer_name}}{{/customer_name}}{{^customer_name}}klant{{/customer_name}},")
        #expect(TemplateSyntax.migrated("x{{ v | met spaties }}y") == "x{{#v}}{{v}}{{/v}}{{^v}}met spaties{{/v}}y")
        #expect(TemplateSyntax.migrated("{{{v|<i>geen</i>}}}") == "{{#v}}{{{v}}}{{/v}}{{^v}}<i>geen</i>{{/v}}")
        let once = TemplateSyntax.migrated("{{a|b}} en {{c}}")
        #expect(TemplateSyntax.migrated(once) == once, "migrating twice changes nothing")
        #expect(TemplateSyntax.migrated("geen tags") == "geen tags")

        // Rendered as before: the value when there, else the fallback (empty text counts as not there).
        #expect(try R.render("Beste {{ naam |klant}}.", values: ["naam": .string("Jan")], format: .text) == "Beste Jan.")
        #expect(try R.render("Beste {{naam|klant}}.", values: ["naam": .string("")], format: .text) == "Beste klant.")
        #expect(try R.render("x{{v|}}y", values: [:], format: .text) == "xy")
        // The flat API of before keeps working.
        let r = R.render("Beste {{ naam }}, order {{order}} op {{datum|binnenkort}}.", variables: ["naam": "mevrouw Jansen", "order": "CC-300123"])
        #expect(r == TemplateRenderer.Result(text: "Beste mevrouw Jansen, order CC-300123 op binnenkort.", missing: []))
        #expect(R.render("{{a}} en {{b}} en {{a}}", variables: ["b": "twee"]) == TemplateRenderer.Result(text: "", missing: ["a"]))
        #expect(TemplateSyntax.fallback(for: "customer_name", in: "Beste {{customer_name|klant}},") == "klant")
        #expect(TemplateSyntax.fallback(for: "customer_name", in: "Beste {{customer_name}},") == nil)
    }

    @Test("syntax errors name line, column and what to do; CommHub refuses what Mustache would render blank")
    func syntax() throws {
        func problem(_ s: String) -> String? {
            do {
                _ = try TemplateSyntax.checkedForSaving(s, field: "message_template")
                return nil
            } catch {
                return error.description
            }
        }
        #expect(problem("Beste {{naam}},\n{{#order.lines}}x") == "message_template line 2, column 1: {{#order.lines}} is opened but never closed; add {{/order.lines}}")
        #expect(problem("{{#a}}x{{/b}}")?.contains("closed with another name") == true)
        #expect(problem("{{#a}}{{#b}}{{/b}}\n  {{^c}}") == "message_template line 2, column 3: {{^c}} is opened but never closed; add {{/c}}")
        #expect(problem("regel 1\nopen {{naam zonder einde")?.hasPrefix("message_template line 2") == true)
        #expect(problem("a\n  {{> voettekst}}") == "message_template line 2, column 3: {{> voettekst}}: partials ({{> name}}) are not supported: write the text into the template")
        #expect(problem("{{=<% %>=}}")?.contains("changing the delimiters") == true)
        #expect(problem("{{customer.nmae}}") == "message_template line 1, column 1: {{customer.nmae}}: customer has no field 'nmae'; its fields are name, email, phone")
        #expect(problem("{{shout(name)}}")?.contains("shout(…) is not a known function") == true)
        #expect(problem("{{order.lines}}")?.contains("order.lines is a list") == true)
        #expect(problem("{{#order.lines}}{{description}}{{/order.lines}}") == nil)
        #expect(problem("{{uppercased(customer.name)}} {{! a comment }}") == nil)
        // Saving returns the migrated text.
        #expect(try TemplateSyntax.checkedForSaving("{{a|b}}", field: "x") == "{{#a}}{{a}}{{/a}}{{^a}}b{{/a}}")
        // Rendering a template that does not parse is a syntax error, not blank text.
        #expect(throws: TemplateError.self) { try R.render("{{#a}}", values: ["a": .bool(true)], format: .text) }
        #expect(R.render("{{#a}}", variables: [:]).missing.first?.hasPrefix("template: line 1") == true)
    }

    @Test("a preview shows missing variables as placeholders and lists them")
    func preview() throws {
        let p = try R.preview("Beste {{customer_name}}, op {{date}} om {{time|een tijd}}.", values: ["customer_name": .string("Jan")],
                              format: .text)
        #expect(p.text == "Beste Jan, op {{date}} om een tijd.")
        #expect(p.missing == ["date"])
    }

    @Test("variables: top-level names in order of first use")
    func variables() {
        #expect(R.variables(in: "{{a}} {{ b|x }} {{a}} {{#order.lines}}{{description}}{{/order.lines}} {{uppercased(c.d)}}")
                == ["a", "b", "order", "description", "c"])
        let r = try? R.render("Geachte {{naam}} — café “{{plaats}}” 🚗⚡️", values: ["naam": .string("Zoë Çelik"), "plaats": .string("Zürich")],
                              format: .text)
        #expect(r == "Geachte Zoë Çelik — café “Zürich” 🚗⚡️")
    }

    @Test("the thread context: objects, flat names of before, nulls for what the thread lacks")
    func context() throws {
        let customer = Customer(name: "Noor Dekker", emails: [EmailAddress("noor@example.nl")!], phones: [PhoneNumber("0612345678")!])
        let order = Order(orderNumber: "240117", customerID: customer.id, brand: .laderthuis,
                          lines: [OrderLine(description: "Laadpaal", quantity: 2, price: "€ 99,00")])
        let agent = Contact(name: "Emma Bakker", email: "emma@chargecars.nl")
        let thread = ThreadHeader(threadSubject: "Levering", businessEntity: .laderthuis, channelType: .emailOutlook, createdAt: Date())
        let v = TemplateContext.values(thread: thread, customer: customer, order: order, agent: agent,
                                       channel: Channel(channelType: .emailOutlook, channelName: "LaderThuis mail"), brand: nil)
        let text = try R.render("{{customer_name}}/{{customer.email}}/{{customer.phone}}/{{order_number}}/{{#order.lines}}{{quantity}}x{{description}}{{/order.lines}}/{{agent.name}}/{{brand.name}}/{{brand_name}}/{{channel.type}}/{{thread.subject}}",
                                values: v, format: .text)
        #expect(text == "Noor Dekker/noor@example.nl/+31612345678/240117/2xLaadpaal/Emma Bakker/LaderThuis/LaderThuis/email_outlook/Levering")
        let bare = TemplateContext.values(thread: thread, customer: nil, order: nil, agent: nil, channel: nil, brand: nil)
        #expect(throws: TemplateError.missing(["customer_name", "order.number", "agent.name"])) {
            try R.render("{{customer_name}} {{order.number}} {{agent.name}}", values: bare, format: .text)
        }
        #expect(TemplateContext.text("customer.name", in: v) == "Noor Dekker")
        #expect(TemplateContext.text("order.lines", in: v) == nil)
        #expect(TemplateContext.text("nothing", in: v) == nil)
    }

    /// Parsed once, rendered many times: the cache gives the same text and
    /// the same errors as a fresh parse, per format, and holds at most
    /// `maxParsedTemplates`.
    @Test func parsedTemplatesAreReusedAndBounded() throws {
        let source = "Beste {{name}}, <b>{{shop}}</b>"
        let values: [String: JSONValue] = ["name": .string("Noor & co"), "shop": .string("<Laderthuis>")]
        let text = try R.render(source, values: values, format: .text)
        #expect(try R.render(source, values: values, format: .text) == text)
        #expect(text == "Beste Noor & co, <b><Laderthuis></b>")
        #expect(try R.render(source, values: values, format: .html) == "Beste Noor &amp; co, <b>&lt;Laderthuis&gt;</b>",
                "the HTML form is cached apart from the text form")
        for _ in 0..<2 {
            #expect(throws: TemplateError.self) { try R.render("Beste {{#name}}", values: values, format: .text) }
            #expect(throws: TemplateError.missing(["shop"])) { try R.render(source, values: ["name": .string("x")], format: .text) }
        }
        for i in 0..<(R.maxParsedTemplates + 10) { _ = try R.render("Nummer \(i) {{name}}", values: values, format: .text) }
        #expect(R.parsedTemplateCount <= R.maxParsedTemplates)
    }
}
