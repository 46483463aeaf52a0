import CommHubDomain
import Foundation
import Testing

@Suite("Template selection and suggestions")
struct TemplateSelectionTests {
    static func t(_ name: String, _ category: TemplateCategory = .customerService, _ channel: TemplateChannelType = .any,
                  _ brand: TemplateBusinessEntity = .all, uses: Int = 0, active: Bool = true) -> Template {
        Template(templateName: name, templateCategory: category, channelType: channel, messageTemplate: name,
                 businessEntity: brand, isActive: active, usageCount: uses)
    }

    @Test("a template fits the thread's brand or all, the message's channel or any; anything else is refused with a reason")
    func fit() {
        let mine = Self.t("LaderThuis WhatsApp", .customerService, .whatsappBusiness, .laderthuis)
        #expect(TemplateFit.refusal(mine, brand: .laderthuis, channelType: .whatsappBusiness) == nil)
        #expect(TemplateFit.refusal(mine, brand: .chargecars, channelType: .whatsappBusiness)
                == "template 'LaderThuis WhatsApp' is for laderthuis; this thread is chargecars's: choose a template for chargecars or all brands")
        #expect(TemplateFit.refusal(mine, brand: nil, channelType: .whatsappBusiness)?.contains("this thread has no brand") == true)
        #expect(TemplateFit.refusal(mine, brand: .laderthuis, channelType: .sms)
                == "template 'LaderThuis WhatsApp' is for whatsapp_business messages; this message goes out as sms: choose a sms or any template")
        let any = Self.t("Iedereen")
        #expect(TemplateFit.refusal(any, brand: nil, channelType: .phoneCall) == nil)
        #expect(TemplateFit.refusal(Self.t("Notitie", .internalNotification, .internalComment), brand: nil, channelType: .internalTask) == nil)
        #expect(TemplateFit.refusal(Self.t("Mail", .customerService, .emailOutlook), brand: nil, channelType: .phoneCall)?
            .contains("choose a any template") == true)
    }

    @Test("selection by business_entity (falling back to all) and channel_type (falling back to any), most specific first")
    func selection() {
        let all = [Self.t("d all+any", .autoResponse), Self.t("c all+wa", .autoResponse, .whatsappBusiness),
                   Self.t("b brand+any", .autoResponse, .any, .zaptecshop), Self.t("a brand+wa", .autoResponse, .whatsappBusiness, .zaptecshop),
                   Self.t("other brand", .autoResponse, .whatsappBusiness, .ratioshop), Self.t("sms", .autoResponse, .sms),
                   Self.t("inactive", .autoResponse, .whatsappBusiness, .zaptecshop, active: false),
                   Self.t("other category", .followUp, .whatsappBusiness, .zaptecshop)]
        #expect(TemplateFit.candidates(all, category: .autoResponse, brand: .zaptecshop, channelType: .whatsappBusiness).map(\.templateName)
                == ["a brand+wa", "b brand+any", "c all+wa", "d all+any"])
        #expect(TemplateFit.best(all, category: .autoResponse, brand: .chargecars, channelType: .whatsappBusiness)?.templateName == "c all+wa")
        #expect(TemplateFit.best(all, category: .autoResponse, brand: .chargecars, channelType: .emailOutlook)?.templateName == "d all+any")
        #expect(TemplateFit.best(all, category: .complaintResponse, brand: .chargecars, channelType: .emailOutlook) == nil)
    }

    @Test("suggestions: category of the thread type, then similar threads' sends, then specificity, then usage, then name")
    func ranking() {
        let support = Self.t("1 support all+any", .customerService, uses: 50)
        let supportBrand = Self.t("2 support brand", .customerService, .any, .chargecars)
        let supportUsedHere = Self.t("3 support used in similar threads", .customerService)
        let followUp = Self.t("4 follow-up", .followUp, .emailOutlook, .chargecars, uses: 900)
        let technical = Self.t("5 technical", .technicalSupport, .emailOutlook, .chargecars, uses: 1000)
        let technicalB = Self.t("6 technical (b)", .technicalSupport, .emailOutlook, .chargecars, uses: 1000)
        let auto = Self.t("auto", .autoResponse)
        let wrongChannel = Self.t("sms only", .customerService, .sms)
        let wrongBrand = Self.t("ratioshop", .customerService, .any, .ratioshop)
        let all = [technicalB, auto, support, wrongBrand, followUp, supportUsedHere, technical, supportBrand, wrongChannel]
        let uses = [supportUsedHere.id: 3, technical.id: 1]

        let open = TemplateSuggester.rank(all, threadType: .customerSupport, status: .open, brand: .chargecars,
                                          channelType: .emailOutlook, similarUses: uses)
        #expect(open.map(\.template.templateName) == [
            "3 support used in similar threads",  // the thread type's category; 3 sends in similar threads
            "2 support brand",                    // same category, no sends: the brand's own before an all-brands one
            "1 support all+any",                  // usage_count (50) counts only after specificity
            "5 technical",                        // other categories: one send in similar threads first
            "6 technical (b)",                    // equal specificity: usage_count 1000 …
            "4 follow-up",                        // … before 900 (follow-up ranks as any other while the thread is open)
        ])
        #expect(open.map(\.categoryTier) == [0, 0, 0, 2, 2, 2])
        // Waiting for the customer: follow-up templates come right after the thread type's own.
        let waiting = TemplateSuggester.rank(all, threadType: .customerSupport, status: .waitingCustomer, brand: .chargecars,
                                             channelType: .emailOutlook, similarUses: uses)
        #expect(waiting.map(\.template.templateName) == ["3 support used in similar threads", "2 support brand", "1 support all+any",
                                                         "4 follow-up", "5 technical", "6 technical (b)"])
        #expect(waiting[3].categoryTier == 1 && waiting[3].brandExact && waiting[3].channelExact && waiting[3].similarUses == 0)
        // A technical issue: the technical templates first, the one sent in similar threads before its twin.
        let tech = TemplateSuggester.rank(all, threadType: .technicalIssue, status: .open, brand: .chargecars,
                                          channelType: .emailOutlook, similarUses: uses)
        #expect(tech.prefix(2).map(\.template.templateName) == ["5 technical", "6 technical (b)"])
        #expect(!tech.contains { $0.template.templateCategory == .autoResponse }, "auto-responses are the engine's")
        #expect(TemplateSuggester.category(for: .installationCoordination) == .installationScheduling)
        #expect(TemplateSuggester.category(for: .complaint) == .complaintResponse)
    }
}
