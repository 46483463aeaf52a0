import CommHubDomain
import Foundation
import Testing

@Suite("auto_assignment_rules in the owner's shape")
struct OwnerRulesTests {
    static func decode(_ json: String) throws -> AutoAssignmentRules {
        try ContractJSON.decoder().decode(AutoAssignmentRules.self, from: Data(json.utf8))
    }

    @Test("thread types as top-level keys read as by_thread_type, with their escalation")
    func ownerShape() throws {
        let rules = try Self.decode(#"""
            {"customer_support": {"default_assignee": "customer_service_team", "escalation_after_hours": 4, "escalation_to": "support_manager"},
             "technical_issue": {"default_assignee": "technical", "required_skills": ["ev"], "priority": "high"},
             "default_assignee": "customer service"}
            """#)
        #expect(rules.validationErrors().isEmpty)
        #expect(rules.defaultAssignee == "customer service")
        let support = try #require(rules.byThreadType?["customer_support"])
        #expect(support.defaultAssignee == "customer_service_team" && support.escalationAfterHours == 4 && support.escalationTo == "support_manager")
        #expect(rules.byThreadType?["technical_issue"]?.priority == .high)
        // Stored and returned as by_thread_type, and read back the same.
        let encoded = String(decoding: try ContractJSON.encoder().encode(rules), as: UTF8.self)
        #expect(encoded.contains(#""by_thread_type":{"customer_support":{"default_assignee":"customer_service_team","escalation_after_hours":4,"escalation_to":"support_manager"}"#))
        #expect(try Self.decode(encoded) == rules)
        // The journal's coder (Swift's names, no key strategy) too.
        let journal = JSONDecoder()
        #expect(try journal.decode(AutoAssignmentRules.self, from: JSONEncoder().encode(rules)) == rules)

        // The route's escalation wins over the rules' own for its thread type.
        let plan = RoutingPlanner.plan(subject: "Vraag", body: "", requestedType: .customerSupport, requestedPriority: nil,
                                       channelRules: nil, globalRules: AutoAssignmentRules(
                                           escalationAfterHours: 8, escalationTo: "management",
                                           byThreadType: ["customer_support": TypeRoute(defaultAssignee: "cs", escalationAfterHours: 4, escalationTo: "support_manager")]))
        #expect(plan.team == "cs" && plan.escalationAfterHours == 4 && plan.escalationTo == "support_manager")
        let other = RoutingPlanner.plan(subject: "Offerte", body: "", requestedType: .salesInquiry, requestedPriority: nil,
                                        channelRules: nil, globalRules: AutoAssignmentRules(escalationAfterHours: 8, escalationTo: "management"))
        #expect(other.escalationAfterHours == 8 && other.escalationTo == "management")
    }

    @Test("today's by_thread_type shape keeps working; both shapes may be mixed")
    func oldShape() throws {
        let old = try Self.decode(#"{"by_thread_type":{"sales_inquiry":{"default_assignee":"Team B","priority":"normal"}}}"#)
        #expect(old.validationErrors().isEmpty && old.byThreadType?["sales_inquiry"]?.defaultAssignee == "Team B")
        let mixed = try Self.decode(#"{"complaint":{"default_assignee":"klachten"},"by_thread_type":{"sales_inquiry":{"default_assignee":"sales"}}}"#)
        #expect(mixed.validationErrors().isEmpty)
        #expect(Set(mixed.byThreadType?.keys.map { $0 } ?? []) == ["complaint", "sales_inquiry"])
    }

    @Test("unknown keys and a thread type given twice are errors naming them, never dropped")
    func unknownKeys() throws {
        let typo = try Self.decode(#"{"default_asignee":"x","customer_suport":{"default_assignee":"y"}}"#)
        let errors = typo.validationErrors()
        #expect(errors.count == 2)
        #expect(errors.contains { $0.hasPrefix("'default_asignee' is not a rules key; use default_assignee, skill_matching,") })
        #expect(errors.contains { $0.contains("'customer_suport' is not a rules key") && $0.contains("customer_support, partner_inquiry") })
        let inner = try Self.decode(#"{"technical_issue":{"default_assignee":"t","escalate_after":2}}"#)
        #expect(inner.validationErrors() == ["technical_issue.'escalate_after' is not a key of a thread type's rule; use default_assignee, required_skills, priority, escalation_after_hours, escalation_to"])
        let twice = try Self.decode(#"{"complaint":{"default_assignee":"a"},"by_thread_type":{"complaint":{"default_assignee":"b"}}}"#)
        #expect(twice.validationErrors() == ["complaint is given twice (at the top level and in by_thread_type); give it once"])
        let gossip = try Self.decode(#"{"by_thread_type":{"gossip":{}}}"#)
        #expect(gossip.validationErrors().first?.contains("'gossip' is not one of") == true)
        // A value of the wrong type is a decoding error, as before.
        #expect(throws: DecodingError.self) { try Self.decode(#"{"customer_support":"team"}"#) }
    }

    @Test("team references: id, name, or slug with or without _team")
    func slugs() {
        #expect(TeamReferenceMatch.slug("Customer Service") == "customer_service")
        #expect(TeamReferenceMatch.slug("customer_service_team") == "customer_service")
        #expect(TeamReferenceMatch.slug("  Klant-service  & Co ") == "klant_service_co")
        #expect(TeamReferenceMatch.names("customer_service_team", "customer service"))
        #expect(TeamReferenceMatch.names("CUSTOMER SERVICE", "customer service"))
        #expect(TeamReferenceMatch.names("customer-service", "Customer service"))
        #expect(!TeamReferenceMatch.names("support_manager", "customer service"))
        #expect(!TeamReferenceMatch.names("", "!!"))
    }
}

@Suite("Satisfaction survey values")
struct SatisfactionTests {
    @Test("a score is 1 to 5 and nothing else")
    func scores() {
        for (text, score) in [("4", 4), (" 5 ", 5), ("1.", 1), ("3!", 3), ("4/5", 4), ("4 / 5", 4), ("5️⃣", 5), ("4⃣", 4),
                              ("⭐⭐⭐", 3), ("★★★★★", 5), ("2\n", 2)] {
            #expect(CSATScore.read(text) == score, "\(text)")
        }
        for text in ["0", "6", "45", "4 maar de monteur was laat", "vier", "", "⭐⭐⭐⭐⭐⭐", "٤", "4/10", "-3"] {
            #expect(CSATScore.read(text) == nil, "\(text)")
        }
    }

    @Test("channel settings: on with csat_survey, window 1 to 90 days (default 7), question text")
    func settings() {
        func channel(_ c: [String: JSONValue]) -> Channel { Channel(channelType: .sms, channelName: "s", configuration: c) }
        #expect(CSATSettings.of(channel([:])) == nil)
        #expect(CSATSettings.of(channel(["csat_survey": .bool(false)])) == nil)
        let on = CSATSettings.of(channel(["csat_survey": .bool(true)]))
        #expect(on?.windowDays == 7 && on?.window == 7 * 86_400)
        #expect(on?.text(brand: .zaptecshop).contains("van ZaptecShop") == true)
        #expect(CSATSettings.of(channel(["csat_survey": .bool(true), "csat_window_days": .number(14)]))?.windowDays == 14)
        #expect(CSATSettings.of(channel(["csat_survey": .bool(true), "csat_window_days": .number(500)]))?.windowDays == 7)
        #expect(CSATSettings.of(channel(["csat_survey": .bool(true), "csat_question": .string("Cijfer?")]))?.text(brand: nil) == "Cijfer?")
    }
}
