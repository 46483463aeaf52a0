import CommHubDomain
import CommHubEngine
import Foundation

/// Fills an empty engine with a realistic company: the five brands, a
/// channel of each type per brand, five teams, a dozen agents with skills,
/// Dutch customers, organisations and orders, routing rules, a few hundred
/// threads in Dutch and English (some of them overdue), Dutch reply
/// templates per brand and channel, and a dozen tasks for the agents.
///
/// Everything that is chosen at random comes from one `SplitMix` with a
/// fixed seed, so two demo engines started at the same moment hold the same
/// company (ids aside, which are fresh UUIDs like everywhere else). Dates
/// are relative to the engine's clock, so the inbox always looks current.
public enum DemoCompany {
    public static let randomSeed: UInt64 = 2026

    public static func seed(_ engine: Engine, threads: Int = 300) async throws {
        let s = engine.supervisor
        let now = engine.clock.now()
        var rng = SplitMix(seed: randomSeed)
        let people = try await seedPeople(s)
        let channels = try await seedChannels(s)
        let (customers, orders) = try await seedCustomers(s)
        let conversations = try await seedThreads(s, count: threads, now: now, customers: customers, channels: channels,
                                                  agents: people.agents, rng: &rng)
        for t in templates() { _ = try await s.upsertTemplate(t) }
        let plan = tasks(now: now, conversations: conversations, customers: customers, orders: orders,
                         people: people.byName, rng: &rng)
        for t in plan { _ = try await s.upsertTask(t) }
        try await engine.durable(engine.journal.lastAssignedSeq)
    }

    /// A demo thread as the tasks need it: which customer wrote, about what.
    public struct Conversation: Sendable, Hashable {
        public var threadID: ThreadID
        /// Index into the demo customers (and their orders).
        public var customerIndex: Int
        /// Index into `inboundTexts`: what the customer wrote about.
        public var topic: Int
    }

    // MARK: People, channels, customers

    struct People {
        var agents: [ContactID]
        var byName: [String: ContactID]
    }

    static func seedPeople(_ s: Supervisor) async throws -> People {
        let teamNames = ["customer service", "technical", "sales", "planning", "management"]
        var teams: [String: TeamID] = [:]
        for name in teamNames {
            let t = Team(name: name, handOverOnOffline: name != "management")
            teams[name] = t.id
            _ = try await s.upsertTeam(t)
        }
        let people: [(String, ContactRole, [String], [String])] = [
            ("Sanne de Vries", .agent, ["customer service"], ["nl", "en", "email", "whatsapp"]),
            ("Daan Jansen", .agent, ["customer service"], ["nl", "whatsapp", "sms"]),
            ("Emma Bakker", .agent, ["customer service", "sales"], ["nl", "en", "email"]),
            ("Lucas Visser", .agent, ["technical"], ["nl", "zaptec", "alfen", "meterkast"]),
            ("Julia Smit", .agent, ["technical"], ["nl", "en", "zaptec", "easee"]),
            ("Thijs Meijer", .agent, ["technical", "planning"], ["nl", "meterkast", "alfen"]),
            ("Lotte de Boer", .agent, ["sales"], ["nl", "en", "b2b"]),
            ("Bram Mulder", .agent, ["planning"], ["nl", "planning"]),
            ("Fleur de Groot", .agent, ["planning"], ["nl", "en", "planning"]),
            ("Ruben Bos", .teamLeader, ["customer service", "technical"], ["nl", "en", "email", "zaptec"]),
            ("Anouk Vos", .manager, ["management"], ["nl", "en"]),
            ("Mark Peters", .executive, ["management"], ["nl", "en"]),
        ]
        var out = People(agents: [], byName: [:])
        for (i, p) in people.enumerated() {
            let c = Contact(name: p.0, email: p.0.lowercased().replacingOccurrences(of: " ", with: ".") + "@chargecars.nl",
                            role: p.1, teams: p.2.compactMap { teams[$0] }, skills: p.3, maxOpenThreads: 30,
                            presence: i % 5 == 4 ? .away : (i == 7 ? .offline : .online))
            out.agents.append(c.id)
            out.byName[p.0] = c.id
            _ = try await s.upsertContact(c)
        }
        _ = try await s.setRoutingRules(AutoAssignmentRules(
            defaultAssignee: "customer service", skillMatching: true,
            escalationAfterHours: 8, escalationTo: "management",
            keywordRules: [
                KeywordRule(keywords: ["werkt niet", "storing", "error", "foutcode", "not working", "laadt niet"],
                            threadType: .technicalIssue, priority: .high, assignTo: "technical"),
                KeywordRule(keywords: ["klacht", "complaint", "teleurgesteld"], threadType: .complaint, priority: .high),
                KeywordRule(keywords: ["offerte", "quote", "prijs", "price"], threadType: .salesInquiry, assignTo: "sales"),
                KeywordRule(keywords: ["installatie", "afspraak", "monteur", "planning"],
                            threadType: .installationCoordination, assignTo: "planning"),
            ]))
        return out
    }

    /// A mail, WhatsApp and SMS channel per brand (returned), plus the internal and phone channels.
    static func seedChannels(_ s: Supervisor) async throws -> [Channel] {
        var channels: [Channel] = []
        for brand in Brand.allCases {
            let mail = Channel(channelType: .emailOutlook, channelName: "\(brand.rawValue) mail", businessEntity: brand,
                               configuration: ["mailbox": .string("info@\(brand.rawValue).nl")])
            let wa = Channel(channelType: .whatsappBusiness, channelName: "\(brand.rawValue) WhatsApp", businessEntity: brand,
                             configuration: ["phone_number_id": .string("10\(brand.rawValue.count)2030405")],
                             autoAssignmentRules: AutoAssignmentRules(defaultAssignee: "customer service", requiredSkills: ["whatsapp"]))
            let sms = Channel(channelType: .sms, channelName: "\(brand.rawValue) SMS", businessEntity: brand,
                              configuration: ["from_number": .string("+3197010\(brand.rawValue.count)0000")])
            channels += [mail, wa, sms]
            for c in [mail, wa, sms] { _ = try await s.upsertChannel(c) }
        }
        for type in [ChannelType.internalComment, .internalTask, .internalTicket, .phoneCall] {
            _ = try await s.upsertChannel(Channel(channelType: type, channelName: type.rawValue.replacingOccurrences(of: "_", with: " ")))
        }
        return channels
    }

    /// 80 customers (every tenth at a housing corporation), each with one order; index i owns order i.
    static func seedCustomers(_ s: Supervisor) async throws -> ([Customer], [Order]) {
        let firstNames = ["Jan", "Pieter", "Kees", "Marieke", "Ingrid", "Sophie", "Willem", "Noor", "Femke", "Joost",
                          "Hanna", "Tim", "Eva", "Sem", "Lieke", "Milan", "Iris", "Koen", "Anna", "Rik"]
        let lastNames = ["Jansen", "de Jong", "van den Berg", "Bakker", "Hendriks", "Dekker", "van Leeuwen", "Kok",
                         "Willems", "Brouwer", "Vermeulen", "Prins", "Huisman", "Kuipers", "Sanders"]
        let org = Organization(name: "Woonstichting De Linie", kind: .customer)
        let partner = Organization(name: "Installatiebedrijf Groen & Zn", kind: .partner)
        _ = try await s.upsertOrganization(org)
        _ = try await s.upsertOrganization(partner)
        var customers: [Customer] = []
        var orders: [Order] = []
        for i in 0..<80 {
            let name = "\(firstNames[i % firstNames.count]) \(lastNames[(i * 7) % lastNames.count])"
            let email = EmailAddress(name.lowercased().replacingOccurrences(of: " ", with: ".") + "\(i)@example.nl")!
            let phone = PhoneNumber(String(format: "06%08d", 12_000_000 + i * 7919))!
            let c = Customer(name: name, emails: [email], phones: [phone], organizationID: i % 10 == 0 ? org.id : nil)
            customers.append(c)
            _ = try await s.upsertCustomer(c)
            let o = Order(orderNumber: "\(240_100 + i)", customerID: c.id, organizationID: c.organizationID,
                          brand: Brand.allCases[i % Brand.allCases.count])
            orders.append(o)
            _ = try await s.upsertOrder(o)
        }
        return (customers, orders)
    }

    // MARK: Threads

    /// What customers write (subject, text; `%02d` is their order's last digits). Tasks refer to these by index.
    static let inboundTexts: [(String?, String)] = [
        ("Laadpaal werkt niet meer", "Goedemiddag, sinds gisteren laadt onze Zaptec niet meer. Het lampje knippert rood. Bestelling 2401%02d."),
        ("Vraag over installatie", "Hallo, wanneer komt de monteur voor de installatie? Ik heb nog geen afspraak ontvangen."),
        ("Offerte aanvragen", "Kunnen jullie een offerte maken voor twee laadpalen bij ons bedrijf?"),
        ("Charger not working", "Hi, my charger shows error E42 since this morning. Order #2401%02d"),
        (nil, "Hoi! Is mijn laadpaal al verzonden? Groetjes"),
        ("Klacht over monteur", "Ik ben erg teleurgesteld, de monteur is niet op komen dagen."),
        ("Meterkast uitbreiden", "Moet mijn meterkast worden aangepast voor een 3-fase laadpaal?"),
        (nil, "Can I change my installation appointment to next week?"),
        ("Factuur", "Ik heb de factuur nog niet ontvangen voor bestelling 2401%02d."),
        ("Storing na stroomuitval", "Na een stroomuitval doet de laadpaal niets meer, storing code 5."),
    ]

    static func seedThreads(_ s: Supervisor, count: Int, now: Date, customers: [Customer], channels: [Channel],
                            agents: [ContactID], rng: inout SplitMix) async throws -> [Conversation] {
        var out: [Conversation] = []
        for i in 0..<count {
            let customerIndex = rng.index(customers.count)
            let channel = channels[rng.index(channels.count)]
            let topic = i % inboundTexts.count
            // Spread over the last three days, oldest first, so each thread's messages are in order.
            let ageMinutes = Double(count - i) * (3 * 24 * 60) / Double(count) + Double(rng.next() % 10)
            let received = now.addingTimeInterval(-ageMinutes * 60)
            let m = inbound(i, topic: topic, customer: customers[customerIndex], customerIndex: customerIndex,
                            channel: channel, received: received)
            let r = try await s.ingest(m)
            out.append(Conversation(threadID: r.threadID, customerIndex: customerIndex, topic: topic))
            // Some conversations get answered, resolved or escalated.
            let roll = rng.next() % 10
            if roll < 3 {
                let answer = MessageHeader(threadID: r.threadID, channelID: channel.id, channelType: channel.channelType,
                                           messageType: .outgoing, senderContactID: agents[Int(rng.next() % 9)],
                                           deliveryStatus: .delivered, createdAt: received.addingTimeInterval(1800))
                _ = try await s.addMessage(answer, body: MessageBody(messageContent: "Dank voor uw bericht, we kijken ernaar."),
                                           statusAfter: roll == 0 ? .resolved : .waitingCustomer)
            } else if roll == 9 {
                _ = try await s.updateThread(r.threadID, change: ThreadChange(status: .escalated, priority: .urgent),
                                             assignTo: nil, team: nil)
            }
        }
        return out
    }

    /// Demo message `i` as the channel's gateway would hand it over.
    static func inbound(_ i: Int, topic: Int, customer: Customer, customerIndex: Int, channel: Channel,
                        received: Date) -> InboundMessage {
        let (subject, template) = inboundTexts[topic]
        let body = template.contains("%02d") ? String(format: template, customerIndex % 100) : template
        var m = InboundMessage(channelID: channel.id, externalMessageID: "demo-\(i)",
                               senderExternal: ExternalParty(name: customer.name), subject: nil,
                               messageContent: body, receivedAt: received)
        switch channel.channelType {
        case .emailOutlook:
            m.senderExternal.email = customer.emails.first?.normalized
            m.subject = subject ?? "Vraag"
            m.threadReference = ExternalReference(.outlookConversation, "demo-conv-\(i)")
            m.internetMessageID = "<demo-\(i)@example.nl>"
        case .whatsappBusiness:
            let wa = String(customer.phones.first!.e164.dropFirst())
            m.senderExternal.waID = wa
            m.threadReference = .whatsapp(business: channel.configuration["phone_number_id"]?.stringValue ?? "", customer: wa)
        default:
            m.senderExternal.phone = customer.phones.first?.e164
            m.threadReference = .sms(ours: channel.configuration["from_number"]?.stringValue ?? "", theirs: customer.phones.first!.e164)
        }
        return m
    }
}
