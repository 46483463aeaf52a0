import CommHubDomain

extension DemoCompany {
    /// The brands as customers read them.
    static func displayName(_ brand: Brand) -> String {
        switch brand {
        case .chargecars: "ChargeCars"
        case .laderthuis: "LaderThuis"
        case .meterkastthuis: "MeterkastThuis"
        case .zaptecshop: "ZaptecShop"
        case .ratioshop: "RatioShop"
        }
    }

    /// The reply categories every brand has for every external channel.
    public static let replyCategories: [TemplateCategory] = [.customerService, .installationScheduling, .technicalSupport, .followUp]
    /// The channel types that get their own wording: mail is formal with a subject, WhatsApp informal, SMS short.
    public static let replyChannels: [TemplateChannelType] = [.emailOutlook, .whatsappBusiness, .sms]

    /// Dutch reply templates: one per brand, channel type and reply category,
    /// using `{{customer_name}}`, `{{order_number}}` and `{{agent_name}}`
    /// (the API fills them from the thread and the sender), plus one
    /// `auto_response` per brand for any channel. An automatic answer has no
    /// agent and often no order yet, so it names only the customer, with a
    /// fallback: it must never go out as "Beste ,".
    public static func templates() -> [Template] {
        var out: [Template] = []
        for brand in Brand.allCases {
            let entity = TemplateBusinessEntity(rawValue: brand.rawValue)!
            let name = displayName(brand)
            for category in replyCategories {
                for channel in replyChannels {
                    let (subject, text) = wording(category, channel, brand: name)
                    out.append(template("\(name) – \(label(category)) (\(label(channel)))", category, channel,
                                        subject: subject, text: text, brand: entity))
                }
            }
            out.append(template("\(name) – automatisch antwoord", .autoResponse, .any,
                                subject: "We hebben uw bericht ontvangen",
                                text: """
                                Beste {{customer_name|klant}},

                                Bedankt voor uw bericht aan \(name). We reageren binnen één werkdag (maandag tot en met \
                                vrijdag, 08:30–17:30). Gaat het over een bestelling? Noem dan het bestelnummer, dan helpen \
                                we u sneller.

                                Met vriendelijke groet,
                                \(name) klantenservice
                                """,
                                brand: entity))
        }
        return out
    }

    static func template(_ name: String, _ category: TemplateCategory, _ channel: TemplateChannelType, subject: String?,
                         text: String, brand: TemplateBusinessEntity) -> Template {
        var used = TemplateRenderer.variables(in: subject ?? "")
        for v in TemplateRenderer.variables(in: text) where !used.contains(v) { used.append(v) }
        return Template(templateName: name, templateCategory: category, channelType: channel,
                        subjectTemplate: subject, messageTemplate: text, variables: used, businessEntity: brand)
    }

    static func label(_ category: TemplateCategory) -> String {
        switch category {
        case .customerService: "klantenservice"
        case .installationScheduling: "installatie plannen"
        case .technicalSupport: "technische hulp"
        case .followUp: "opvolging"
        default: category.rawValue
        }
    }

    static func label(_ channel: TemplateChannelType) -> String {
        switch channel {
        case .emailOutlook: "e-mail"
        case .whatsappBusiness: "WhatsApp"
        case .sms: "sms"
        default: channel.rawValue
        }
    }

    /// Subject (mail only) and text of one reply.
    static func wording(_ category: TemplateCategory, _ channel: TemplateChannelType, brand: String) -> (String?, String) {
        switch (category, channel) {
        case (.customerService, .emailOutlook):
            return ("Uw vraag over bestelling {{order_number}}", mail("""
            Hartelijk dank voor uw bericht over bestelling {{order_number}}. We hebben uw vraag in behandeling en laten \
            u binnen één werkdag weten hoe het ervoor staat.
            """, signature: "\(brand) klantenservice"))
        case (.customerService, .whatsappBusiness):
            return (nil, "Hoi {{customer_name}}, dank je voor je bericht over bestelling {{order_number}}! Ik zoek het voor je uit en kom er vandaag nog op terug. Groet, {{agent_name}} van \(brand)")
        case (.customerService, _):
            return (nil, "\(brand): Beste {{customer_name}}, we hebben uw vraag over bestelling {{order_number}} ontvangen. {{agent_name}} neemt vandaag contact met u op.")
        case (.installationScheduling, .emailOutlook):
            return ("Installatieafspraak voor bestelling {{order_number}}", mail("""
            Graag plannen we de installatie van uw laadpaal (bestelling {{order_number}}). Wilt u ons laten weten op \
            welke dagen u de komende twee weken thuis bent? De monteur heeft ongeveer een halve dag nodig en moet bij \
            de meterkast kunnen.
            """, signature: "\(brand) planning"))
        case (.installationScheduling, .whatsappBusiness):
            return (nil, "Hoi {{customer_name}}, we willen de installatie van bestelling {{order_number}} inplannen. Welke dagen schikken jou de komende twee weken? Groet, {{agent_name}} (\(brand))")
        case (.installationScheduling, _):
            return (nil, "\(brand): Beste {{customer_name}}, we plannen graag de installatie van bestelling {{order_number}}. Welke dagen schikken u? Groet, {{agent_name}}")
        case (.technicalSupport, .emailOutlook):
            return ("Storing laadpaal, bestelling {{order_number}}", mail("""
            Vervelend dat uw laadpaal (bestelling {{order_number}}) niet goed werkt. Wilt u de laadpaal 30 seconden \
            stroomloos maken met de aardlekschakelaar in de meterkast en daarna weer aanzetten? Blijft de storing, \
            stuur ons dan een foto van het display of de lampjes; dan kijkt onze technische dienst met u mee.
            """, signature: "\(brand) technische dienst"))
        case (.technicalSupport, .whatsappBusiness):
            return (nil, "Hoi {{customer_name}}, vervelend dat je laadpaal (bestelling {{order_number}}) niet werkt. Zet hem 30 seconden uit met de aardlekschakelaar en daarna weer aan. Werkt hij nog niet? Stuur een foto van de lampjes, dan kijk ik mee. {{agent_name}}, \(brand)")
        case (.technicalSupport, _):
            return (nil, "\(brand): Beste {{customer_name}}, zet uw laadpaal (bestelling {{order_number}}) 30 sec. uit met de aardlekschakelaar. Blijft de storing? Bel ons. {{agent_name}}")
        case (.followUp, .emailOutlook):
            return ("Werkt alles naar wens? (bestelling {{order_number}})", mail("""
            Onlangs hebben we uw vraag over bestelling {{order_number}} afgehandeld. Werkt alles naar wens? Laat het \
            ons gerust weten als er nog iets is.
            """, signature: brand))
        case (.followUp, .whatsappBusiness):
            return (nil, "Hoi {{customer_name}}, even checken: werkt alles naar wens met bestelling {{order_number}}? Laat het gerust weten als er nog iets is. Groet, {{agent_name}} (\(brand))")
        default:
            return (nil, "\(brand): Beste {{customer_name}}, werkt alles naar wens met bestelling {{order_number}}? Antwoord gerust op dit bericht. Groet, {{agent_name}}")
        }
    }

    /// A formal mail: salutation, the paragraph, the agent's signature.
    static func mail(_ paragraph: String, signature: String) -> String {
        """
        Beste {{customer_name}},

        \(paragraph)

        Met vriendelijke groet,
        {{agent_name}}
        \(signature)
        """
    }
}
