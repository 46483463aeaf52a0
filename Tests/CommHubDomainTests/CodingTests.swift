import CommHubDomain
import Foundation
import Testing

let t0 = Date(timeIntervalSince1970: 1_795_600_800)  // 2026-11-25T10:00:00Z

func sampleHeader() -> ThreadHeader {
    var h = ThreadHeader(threadSubject: "Laadpaal werkt niet", threadType: .technicalIssue, priority: .urgent,
                         status: .inProgress, businessEntity: .laderthuis, channelType: .whatsappBusiness,
                         orderID: OrderID(), customerID: CustomerID(), customerOrganizationID: OrganizationID(),
                         partnerOrganizationID: OrganizationID(), assignedTeamID: TeamID(), assignedToContactID: ContactID(),
                         createdByContactID: ContactID(), createdAt: t0, tags: ["vip", "storing"],
                         externalReferences: [.whatsapp(business: "1099", customer: "0612345678"),
                                              ExternalReference(.emailMessageID, "<m1@x.nl>")],
                         requiredSkills: ["ev"])
    h.lastMessageAt = t0.addingTimeInterval(60)
    h.responseDueAt = t0.addingTimeInterval(3600.5)
    h.awaitingResponseSince = t0.addingTimeInterval(60)
    h.resolvedAt = nil
    h.messageCount = 3
    h.updatedAt = t0.addingTimeInterval(120)
    return h
}

@Suite("Contract JSON")
struct ContractJSONTests {
    @Test("ThreadHeader round-trips with snake_case keys and ISO 8601 UTC times")
    func threadHeaderRoundTrip() throws {
        let h = sampleHeader()
        let data = try ContractJSON.encoder().encode(h)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["id", "thread_subject", "thread_type", "priority", "status", "business_entity", "channel_type",
                    "order_id", "customer_id", "customer_organization_id", "partner_organization_id",
                    "assigned_team_id", "assigned_to_contact_id", "created_by_contact_id", "created_at", "updated_at",
                    "last_message_at", "response_due_at", "awaiting_response_since", "tags", "external_references",
                    "message_count", "required_skills"] {
            #expect(object[key] != nil, "missing key \(key)")
        }
        #expect(!object.keys.contains { $0.contains(where: \.isUppercase) }, "\(object.keys.sorted())")
        #expect(object["thread_type"] as? String == "technical_issue")
        #expect(object["status"] as? String == "in_progress")
        #expect(object["channel_type"] as? String == "whatsapp_business")
        #expect(object["created_at"] as? String == "2026-11-25T10:00:00Z")
        #expect(object["response_due_at"] as? String == "2026-11-25T11:00:00.500Z")
        #expect(object["order_id"] as? String == h.orderID!.description)
        let refs = try #require(object["external_references"] as? [[String: Any]])
        #expect(refs.first?["kind"] as? String == "whatsapp_chat_id")
        #expect(refs.first?["value"] as? String == "1099:+31612345678")

        let back = try ContractJSON.decoder().decode(ThreadHeader.self, from: data)
        #expect(back == h)
    }

    @Test("an unknown enum value is refused with the allowed values listed, naming the field")
    func unknownEnum() throws {
        var object = try #require(try JSONSerialization.jsonObject(with: ContractJSON.encoder().encode(sampleHeader())) as? [String: Any])
        object["priority"] = "extreme"
        let data = try JSONSerialization.data(withJSONObject: object)
        let error = try #require(throws: DecodingError.self) { try ContractJSON.decoder().decode(ThreadHeader.self, from: data) }
        let text = ContractJSON.describe(error)
        #expect(text.contains("'priority'"), "\(text)")
        #expect(text.contains("'extreme' is not one of: low, normal, high, urgent, critical"), "\(text)")
        #expect(ThreadStatus.allowedValues == ["open", "in_progress", "waiting_customer", "waiting_internal", "escalated", "resolved", "closed"])
    }

    @Test("describe names the field for missing, mistyped, null and nested values")
    func describe() throws {
        let good = try #require(try JSONSerialization.jsonObject(with: ContractJSON.encoder().encode(sampleHeader())) as? [String: Any])
        func message(_ edit: (inout [String: Any]) -> Void) throws -> String {
            var o = good
            edit(&o)
            let data = try JSONSerialization.data(withJSONObject: o)
            do {
                _ = try ContractJSON.decoder().decode(ThreadHeader.self, from: data)
                return "decoded"
            } catch {
                return ContractJSON.describe(error)
            }
        }
        #expect(try message { $0["thread_subject"] = nil } == "missing field 'thread_subject'")
        #expect(try message { $0["message_count"] = "three" } == "field 'message_count' must be a number")
        #expect(try message { $0["thread_subject"] = NSNull() } == "field 'thread_subject' must be a string, not null")
        #expect(try message { $0["tags"] = "vip" } == "field 'tags' must be an array")
        let nested = try message { o in
            var refs = o["external_references"] as! [[String: Any]]
            refs[1]["kind"] = "fax_number"
            o["external_references"] = refs
        }
        #expect(nested.hasPrefix("field 'external_references[1].kind': 'fax_number' is not one of: "), "\(nested)")
        #expect(try message { $0["created_at"] = "yesterday" }.contains("'created_at'"))
        #expect(try message { $0["order_id"] = "not-a-uuid" } == "field 'order_id': 'not-a-uuid' is not a UUID")
        #expect(ContractJSON.describe(DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "x"))) == "body is not valid JSON")
    }

    @Test("camelCase mapping of contract keys")
    func camelCase() {
        #expect(ContractJSON.camelCase("thread_id") == "threadID")
        #expect(ContractJSON.camelCase("assigned_to_contact_id") == "assignedToContactID")
        #expect(ContractJSON.camelCase("message_html") == "messageHtml")
        #expect(ContractJSON.camelCase("status") == "status")
    }

    @Test("auto_assignment_rules: by_thread_type keys stay thread type values through the contract coders")
    func rulesRoundTrip() throws {
        let json = #"""
        {"default_assignee":"support","skill_matching":true,"escalation_after_hours":4,"escalation_to":"managers",
         "keyword_rules":[{"keywords":["werkt niet","storing"],"thread_type":"technical_issue","priority":"high"}],
         "by_thread_type":{"technical_issue":{"default_assignee":"technical","required_skills":["ev"]}}}
        """#
        let rules = try ContractJSON.decoder().decode(AutoAssignmentRules.self, from: Data(json.utf8))
        #expect(rules.defaultAssignee == "support")
        #expect(rules.escalationAfterHours == 4)
        #expect(rules.keywordRules?.first?.threadType == .technicalIssue)
        #expect(rules.byThreadType?["technical_issue"]?.defaultAssignee == "technical")
        #expect(rules.validationErrors().isEmpty)
        let again = try ContractJSON.decoder().decode(AutoAssignmentRules.self, from: ContractJSON.encoder().encode(rules))
        #expect(again == rules)
    }
}

@Suite("Event codec (journal format 1)")
struct EventCodecTests {
    static func everyEvent() -> [EngineEvent] {
        let team = Team(name: "support", handOverOnOffline: false, leaderID: ContactID())
        let contact = Contact(name: "Anna", email: "anna@chargecars.nl", phone: "+31201234567", role: .teamLeader,
                              teams: [team.id], skills: ["ev", "dutch"], maxOpenThreads: 12, presence: .away)
        let org = Organization(name: "Woonstichting", kind: .partner)
        let customer = Customer(name: "Jan", emails: [EmailAddress("jan@example.nl")!], phones: [PhoneNumber("0612345678")!],
                                organizationID: org.id)
        let order = Order(orderNumber: "12345", customerID: customer.id, organizationID: org.id, brand: .zaptecshop)
        let rules = AutoAssignmentRules(defaultAssignee: "support", skillMatching: false, requiredSkills: ["dutch"],
                                        escalationAfterHours: 2.5, escalationTo: "managers",
                                        keywordRules: [KeywordRule(keywords: ["storing"], threadType: .technicalIssue,
                                                                   priority: .high, assignTo: "technical", requiredSkills: ["ev"])],
                                        byThreadType: ["complaint": TypeRoute(defaultAssignee: "complaints", requiredSkills: ["senior"], priority: .urgent)])
        let channel = Channel(channelType: .whatsappBusiness, channelName: "WhatsApp ChargeCars", businessEntity: .chargecars,
                              configuration: ["phone_number_id": .string("1099"), "retries": .number(3), "sandbox": .bool(false),
                                              "nested": .object(["list": .array([.null, .string("x")])])],
                              sealedSecrets: Data([1, 2, 3, 255]), autoAssignmentRules: rules, responseSlaHours: 0.5,
                              escalationRules: ["after_hours": .number(1)])
        let header = sampleHeader()
        let message = MessageHeader(threadID: header.id, channelID: channel.id, channelType: .whatsappBusiness,
                                    messageType: .incoming, senderContactID: nil,
                                    senderExternal: ExternalParty(name: "Jan", email: nil, phone: "+31612345678", waID: "31612345678"),
                                    recipientContactID: contact.id, recipientExternal: ExternalParty(email: "x@y.nl"),
                                    subject: "Storing", externalMessageID: "wamid.HBgL", deliveryStatus: .delivered,
                                    readAt: t0.addingTimeInterval(30.25), createdAt: t0.addingTimeInterval(0.5))
        let body = MessageBody(messageContent: "Mijn laadpaal werkt niet 🙁", messageHtml: "<p>werkt niet</p>",
                               attachments: [Attachment(fileName: "foto.jpg", contentType: "image/jpeg", sizeBytes: 123_456, url: "https://x/y")],
                               metadata: ["wa": .object(["type": .string("text")])])
        var task = InternalTask(taskTitle: "Terugbellen", taskDescription: "Voor 17:00", taskType: .callback, priority: .high,
                                status: .inProgress, assignedToContactID: contact.id, createdByContactID: ContactID(),
                                threadID: header.id, orderID: order.id, dueDate: "2026-11-26", dueTime: "16:30",
                                reminderSettings: ["minutes_before": .number(15)], createdAt: t0)
        task.completionNotes = "gebeld"
        task.completedAt = t0.addingTimeInterval(7200)
        let template = Template(templateName: "Bevestiging", templateCategory: .installationScheduling, channelType: .any,
                                subjectTemplate: "Afspraak {{datum}}", messageTemplate: "Beste {{naam}}", htmlTemplate: "<b>{{naam}}</b>",
                                variables: ["naam", "datum"], businessEntity: .all, isActive: false, usageCount: 7)
        return [
            .channelUpserted(channel),
            .teamUpserted(team),
            .contactUpserted(contact),
            .presenceChanged(contact: contact.id, presence: .online),
            .customerUpserted(customer),
            .organizationUpserted(org),
            .orderUpserted(order),
            .routingRulesChanged(rules),
            .threadOpened(header),
            .threadChanged(thread: header.id, change: ThreadChange(status: .escalated, priority: .critical, threadType: .complaint,
                                                                    threadSubject: "Klacht", tags: ["a"], orderID: order.id,
                                                                    customerID: customer.id, customerOrganizationID: org.id,
                                                                    partnerOrganizationID: OrganizationID(),
                                                                    responseDueAt: t0.addingTimeInterval(1800), clearResponseDue: false),
                           at: t0.addingTimeInterval(5)),
            .threadChanged(thread: header.id, change: ThreadChange(), at: t0),
            .referenceAdded(thread: header.id, reference: ExternalReference(.outlookConversation, "AAQk==")),
            .messageAdded(header: message, body: body, responseDueAt: t0.addingTimeInterval(3600)),
            .messageAdded(header: message, body: nil, responseDueAt: nil),
            .deliveryStatusChanged(message: message.id, thread: header.id, status: .read, at: t0.addingTimeInterval(99)),
            .threadAssigned(thread: header.id, team: team.id, agent: contact.id, reason: "queue"),
            .threadAssigned(thread: header.id, team: nil, agent: nil, reason: "queued: nobody free"),
            .threadsRebalanced(moves: [ThreadMove(thread: header.id, from: contact.id, to: ContactID()),
                                       ThreadMove(thread: ThreadID(), from: ContactID(), to: nil)], reason: "rebalance team"),
            .taskUpserted(task),
            .templateUpserted(template),
        ]
    }

    @Test("every EngineEvent case survives encode → decode unchanged")
    func roundTrip() throws {
        let codec = EventCodec()
        let events = Self.everyEvent()
        let names = Set(events.map(\.name))
        #expect(names == ["channel.upserted", "team.upserted", "contact.upserted", "contact.presence", "customer.upserted",
                          "organization.upserted", "order.upserted", "routing.changed", "thread.opened", "thread.updated",
                          "thread.reference", "message.created", "message.updated", "thread.assigned", "thread.rebalanced",
                          "task.upserted", "template.upserted"], "one sample per case of journal format 1")
        for e in events {
            let bytes = try codec.encode(e)
            let back = try codec.decode(bytes, version: EventCodec.formatVersion)
            #expect(back == e, "\(e.name)")
            // Stable: encoding again gives the same bytes (sorted keys).
            #expect(try codec.encode(back) == bytes, "\(e.name)")
        }
    }

    @Test("times with arbitrary fractions (as Date() and provider timestamps have) survive the journal exactly")
    func fractionalDates() throws {
        let codec = EventCodec()
        // Dates built in the reference-date space (Date(), addingTimeInterval) whose low bit does not
        // fit a seconds-since-1970 Double: 0.123 s after t0 is one of them.
        let odd = t0.addingTimeInterval(0.123)
        let e = EngineEvent.threadChanged(thread: ThreadID(), change: ThreadChange(responseDueAt: odd), at: odd)
        let back = try codec.decode(codec.encode(e), version: 1)
        // Format 1 writes the Double that Date itself holds (seconds since 2001), so nothing is lost.
        #expect(back == e)
        if case .threadChanged(_, _, let at) = back { #expect(at == odd) }
    }

    @Test("dates are seconds since the 2001 reference date; unknown versions are refused")
    func format() throws {
        let codec = EventCodec()
        let bytes = try codec.encode(.presenceChanged(contact: ContactID(), presence: .offline))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"presenceChanged":{"#), "\(text)")
        #expect(text.contains(#""presence":"offline""#))
        let dated = String(decoding: try codec.encode(.threadChanged(thread: ThreadID(), change: ThreadChange(), at: t0)), as: UTF8.self)
        #expect(dated.contains(#""at":817293600"#), "\(dated)")
        #expect(throws: EventCodec.CodecError.unknownVersion(2)) { try codec.decode(bytes, version: 2) }
        #expect(throws: DecodingError.self) { try codec.decode(Array("{}".utf8), version: 1) }
    }
}
