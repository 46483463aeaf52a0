import Foundation

/// communication_channel: one inbound/outbound medium of one brand.
/// `configuration` holds the non-secret settings (base URLs, numbers,
/// mailbox); secrets are sealed by the server (AES-GCM) into `sealedSecrets`
/// and never leave it in clear text.
public struct Channel: Codable, Sendable, Hashable {
    public var id: ChannelID
    public var channelType: ChannelType
    public var channelName: String
    public var isActive: Bool
    public var businessEntity: Brand?
    public var configuration: [String: JSONValue]
    public var sealedSecrets: Data?
    public var autoAssignmentRules: AutoAssignmentRules?
    public var responseSlaHours: Double?
    public var escalationRules: [String: JSONValue]?

    public init(id: ChannelID = ChannelID(), channelType: ChannelType, channelName: String, isActive: Bool = true,
                businessEntity: Brand? = nil, configuration: [String: JSONValue] = [:], sealedSecrets: Data? = nil,
                autoAssignmentRules: AutoAssignmentRules? = nil, responseSlaHours: Double? = nil,
                escalationRules: [String: JSONValue]? = nil) {
        self.id = id; self.channelType = channelType; self.channelName = channelName; self.isActive = isActive
        self.businessEntity = businessEntity; self.configuration = configuration; self.sealedSecrets = sealedSecrets
        self.autoAssignmentRules = autoAssignmentRules; self.responseSlaHours = responseSlaHours
        self.escalationRules = escalationRules
    }
}

/// A team of internal people; threads are routed to a team, then to a person.
public struct Team: Codable, Sendable, Hashable {
    public var id: TeamID
    public var name: String
    /// When a member goes offline: hand their open threads to colleagues
    /// (`true`) or keep them with the member until they return (`false`).
    public var handOverOnOffline: Bool
    public var leaderID: ContactID?
    /// The team's business hours (`BusinessHoursSpec`), for deadlines of its
    /// threads whose channel sets none; nil: the engine's default.
    public var businessHours: JSONValue?

    public init(id: TeamID = TeamID(), name: String, handOverOnOffline: Bool = true, leaderID: ContactID? = nil,
                businessHours: JSONValue? = nil) {
        self.id = id; self.name = name; self.handOverOnOffline = handOverOnOffline; self.leaderID = leaderID
        self.businessHours = businessHours
    }
}

/// contact: an internal person who can handle threads.
public struct Contact: Codable, Sendable, Hashable {
    public var id: ContactID
    public var name: String
    public var email: String?
    public var phone: String?
    public var role: ContactRole
    public var teams: [TeamID]
    public var skills: [String]
    public var maxOpenThreads: Int
    public var presence: Presence
    /// The local hour (0–23, the engine's calendar time zone) at which the
    /// person gets the daily e-mail digest of pending work; nil: no digest.
    public var dailyDigestHour: Int?

    public init(id: ContactID = ContactID(), name: String, email: String? = nil, phone: String? = nil,
                role: ContactRole = .agent, teams: [TeamID] = [], skills: [String] = [],
                maxOpenThreads: Int = 25, presence: Presence = .offline, dailyDigestHour: Int? = nil) {
        self.id = id; self.name = name; self.email = email; self.phone = phone; self.role = role
        self.teams = teams; self.skills = skills; self.maxOpenThreads = maxOpenThreads; self.presence = presence
        self.dailyDigestHour = dailyDigestHour
    }
}

/// A customer person in the directory, found by e-mail or phone.
public struct Customer: Codable, Sendable, Hashable {
    public var id: CustomerID
    public var name: String
    public var emails: [EmailAddress]
    public var phones: [PhoneNumber]
    public var organizationID: OrganizationID?

    public init(id: CustomerID = CustomerID(), name: String, emails: [EmailAddress] = [], phones: [PhoneNumber] = [],
                organizationID: OrganizationID? = nil) {
        self.id = id; self.name = name; self.emails = emails; self.phones = phones; self.organizationID = organizationID
    }
}

/// A customer or partner organisation (installer, housing corporation, fleet owner).
public struct Organization: Codable, Sendable, Hashable {
    public var id: OrganizationID
    public var name: String
    public var kind: OrganizationKind

    public init(id: OrganizationID = OrganizationID(), name: String, kind: OrganizationKind) {
        self.id = id; self.name = name; self.kind = kind
    }
}

/// An order, found by its order number in a subject or body.
public struct Order: Codable, Sendable, Hashable {
    public var id: OrderID
    public var orderNumber: String
    public var customerID: CustomerID?
    public var organizationID: OrganizationID?
    public var brand: Brand

    public init(id: OrderID = OrderID(), orderNumber: String, customerID: CustomerID? = nil,
                organizationID: OrganizationID? = nil, brand: Brand) {
        self.id = id; self.orderNumber = orderNumber; self.customerID = customerID
        self.organizationID = organizationID; self.brand = brand
    }
}

/// A reference that ties provider traffic to a thread.
public struct ExternalReference: Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, ContractEnum {
        /// Microsoft Graph `conversationId`.
        case outlookConversation = "outlook_conversation_id"
        /// RFC 5322 Message-ID (for In-Reply-To / References matching).
        case emailMessageID = "email_message_id"
        /// WhatsApp chat: `<business phone number id>:<customer wa_id>`.
        case whatsappChat = "whatsapp_chat_id"
        /// SMS conversation: `<our number>:<customer number>`, both E.164.
        case smsChat = "sms_chat_id"
    }

    public var kind: Kind
    public var value: String

    public init(_ kind: Kind, _ value: String) {
        self.kind = kind
        self.value = value
    }

    public static func whatsapp(business: String, customer: String) -> ExternalReference {
        let c = PhoneNumber(customer)?.e164 ?? customer
        return ExternalReference(.whatsappChat, "\(business):\(c)")
    }

    public static func sms(ours: String, theirs: String) -> ExternalReference {
        let o = PhoneNumber(ours)?.e164 ?? ours
        let t = PhoneNumber(theirs)?.e164 ?? theirs
        return ExternalReference(.smsChat, "\(o):\(t)")
    }

    public var description: String { "\(kind.rawValue):\(value)" }
}

/// Who sent or receives a message outside the company (sender_external / recipient_external).
public struct ExternalParty: Codable, Sendable, Hashable {
    public var name: String?
    public var email: String?
    public var phone: String?
    public var waID: String?

    public init(name: String? = nil, email: String? = nil, phone: String? = nil, waID: String? = nil) {
        self.name = name; self.email = email; self.phone = phone; self.waID = waID
    }
}

/// Attachment metadata (the bytes stay with the provider or a blob store).
///
/// A file in CommHub's own attachment store has its `sha256` (lowercase hex)
/// and is served at `/api/attachments/<sha256>?message_id=<id>`; a file
/// still at the provider (its download follows the message) has only the
/// provider's reference in `url` (`whatsapp-media:<id>`, an MMS URL).
public struct Attachment: Codable, Sendable, Hashable {
    public var fileName: String
    public var contentType: String
    public var sizeBytes: Int
    public var url: String?
    public var sha256: String?

    public init(fileName: String, contentType: String, sizeBytes: Int, url: String? = nil, sha256: String? = nil) {
        self.fileName = fileName; self.contentType = contentType; self.sizeBytes = sizeBytes; self.url = url
        self.sha256 = sha256
    }
}

/// Something learnt about a message after it was recorded, kept with its
/// body: a file that followed it, a customer's reaction, the provider's
/// reason for a failed delivery. The journal writer patches the stored body
/// in the same transaction as the event.
public enum MessageAnnotation: Codable, Sendable, Hashable {
    /// Attachment `index` is now in the attachment store.
    case attachment(index: Int, Attachment)
    /// `from` reacted with `emoji`; nil or empty removes their reaction.
    case reaction(from: String, emoji: String?)
    /// The provider reported the delivery failed, with its code and title.
    case deliveryError(code: String?, title: String?)
    /// The provider's own copy of a message CommHub sent (Outlook's Sent
    /// Items): its id there (the message's `external_message_id` from now
    /// on) and the Message-ID it went out with.
    case providerCopy(channelID: ChannelID, externalMessageID: String, internetMessageID: String?)
    /// The message left its folder at the provider (deleted, or moved out of a synchronised folder).
    case removedAtProvider(reason: String?, folder: String?)
}

extension MessageBody {
    /// Reactions kept per person, at most (a flood of distinct senders cannot grow a body without bound).
    public static let maxReactions = 100

    /// The body with the annotation applied (`metadata.reactions`, `metadata.delivery_error`, `attachments[index]`).
    public func applying(_ a: MessageAnnotation) -> MessageBody {
        var b = self
        switch a {
        case .attachment(let index, let attachment):
            if attachments.indices.contains(index) {
                b.attachments[index] = attachment
            } else if index == attachments.count {
                b.attachments.append(attachment)
            }
        case .reaction(let from, let emoji):
            var reactions = b.metadata["reactions"]?.objectValue ?? [:]
            if let emoji, !emoji.isEmpty {
                if reactions[from] != nil || reactions.count < Self.maxReactions { reactions[from] = .string(emoji) }
            } else {
                reactions[from] = nil
            }
            b.metadata["reactions"] = reactions.isEmpty ? nil : .object(reactions)
        case .deliveryError(let code, let title):
            b.metadata["delivery_error"] = .object(["code": code.map(JSONValue.string) ?? .null,
                                                    "reason": title.map(JSONValue.string) ?? .null])
        case .providerCopy(_, let id, let internetMessageID):
            b.metadata["provider_message_id"] = .string(id)
            if let internetMessageID { b.metadata["internet_message_id"] = .string(internetMessageID) }
        case .removedAtProvider(let reason, let folder):
            b.metadata["removed_at_provider"] = .object(["reason": reason.map(JSONValue.string) ?? .null,
                                                         "folder": folder.map(JSONValue.string) ?? .null])
        }
        return b
    }
}

/// The thread header: everything of communication_thread that the engine
/// keeps live in the thread's actor. Message bodies are not part of it.
public struct ThreadHeader: Codable, Sendable, Hashable {
    public var id: ThreadID
    public var threadSubject: String
    public var threadType: ThreadType
    public var priority: Priority
    public var status: ThreadStatus
    public var businessEntity: Brand?
    /// The channel type of the first message (the inbox's channel filter).
    public var channelType: ChannelType
    public var orderID: OrderID?
    public var customerID: CustomerID?
    public var customerOrganizationID: OrganizationID?
    public var partnerOrganizationID: OrganizationID?
    public var assignedTeamID: TeamID?
    public var assignedToContactID: ContactID?
    public var createdByContactID: ContactID?
    public var createdAt: Date
    public var updatedAt: Date
    public var lastMessageAt: Date?
    /// Set while a customer message waits for our answer; nil once answered.
    public var responseDueAt: Date?
    /// When the oldest unanswered inbound message arrived (SLA start).
    public var awaitingResponseSince: Date?
    public var resolvedAt: Date?
    public var tags: [String]
    public var externalReferences: [ExternalReference]
    public var messageCount: Int
    /// Skills whoever handles this thread needs (from routing rules).
    public var requiredSkills: [String]

    public init(id: ThreadID = ThreadID(), threadSubject: String, threadType: ThreadType = .customerSupport,
                priority: Priority = .normal, status: ThreadStatus = .open, businessEntity: Brand? = nil,
                channelType: ChannelType, orderID: OrderID? = nil, customerID: CustomerID? = nil,
                customerOrganizationID: OrganizationID? = nil, partnerOrganizationID: OrganizationID? = nil,
                assignedTeamID: TeamID? = nil, assignedToContactID: ContactID? = nil,
                createdByContactID: ContactID? = nil, createdAt: Date, tags: [String] = [],
                externalReferences: [ExternalReference] = [], requiredSkills: [String] = []) {
        self.id = id; self.threadSubject = threadSubject; self.threadType = threadType; self.priority = priority
        self.status = status; self.businessEntity = businessEntity; self.channelType = channelType
        self.orderID = orderID; self.customerID = customerID; self.customerOrganizationID = customerOrganizationID
        self.partnerOrganizationID = partnerOrganizationID; self.assignedTeamID = assignedTeamID
        self.assignedToContactID = assignedToContactID; self.createdByContactID = createdByContactID
        self.createdAt = createdAt; self.updatedAt = createdAt; self.lastMessageAt = nil; self.responseDueAt = nil
        self.awaitingResponseSince = nil; self.resolvedAt = nil; self.tags = tags
        self.externalReferences = externalReferences; self.messageCount = 0
        self.requiredSkills = requiredSkills
    }
}

extension ThreadHeader {
    /// The most messages one thread can hold: more than any journal can
    /// carry, far enough below `Int.max` that counting one more cannot
    /// trap. A stored count outside `0...maxMessagesPerThread` is damage,
    /// and the journal and snapshot readers refuse it (the compact form
    /// cannot even hold a negative count, so it would not survive a restart).
    public static let maxMessagesPerThread = 1 << 40

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(ThreadID.self, forKey: .id)
        threadSubject = try c.decode(String.self, forKey: .threadSubject)
        threadType = try c.decode(ThreadType.self, forKey: .threadType)
        priority = try c.decode(Priority.self, forKey: .priority)
        status = try c.decode(ThreadStatus.self, forKey: .status)
        businessEntity = try c.decodeIfPresent(Brand.self, forKey: .businessEntity)
        channelType = try c.decode(ChannelType.self, forKey: .channelType)
        orderID = try c.decodeIfPresent(OrderID.self, forKey: .orderID)
        customerID = try c.decodeIfPresent(CustomerID.self, forKey: .customerID)
        customerOrganizationID = try c.decodeIfPresent(OrganizationID.self, forKey: .customerOrganizationID)
        partnerOrganizationID = try c.decodeIfPresent(OrganizationID.self, forKey: .partnerOrganizationID)
        assignedTeamID = try c.decodeIfPresent(TeamID.self, forKey: .assignedTeamID)
        assignedToContactID = try c.decodeIfPresent(ContactID.self, forKey: .assignedToContactID)
        createdByContactID = try c.decodeIfPresent(ContactID.self, forKey: .createdByContactID)
        createdAt = try c.decode(Date.self, forKey: .createdAt)
        updatedAt = try c.decode(Date.self, forKey: .updatedAt)
        lastMessageAt = try c.decodeIfPresent(Date.self, forKey: .lastMessageAt)
        responseDueAt = try c.decodeIfPresent(Date.self, forKey: .responseDueAt)
        awaitingResponseSince = try c.decodeIfPresent(Date.self, forKey: .awaitingResponseSince)
        resolvedAt = try c.decodeIfPresent(Date.self, forKey: .resolvedAt)
        tags = try c.decode([String].self, forKey: .tags)
        externalReferences = try c.decode([ExternalReference].self, forKey: .externalReferences)
        messageCount = try c.decode(Int.self, forKey: .messageCount)
        guard (0...Self.maxMessagesPerThread).contains(messageCount) else {
            throw DecodingError.dataCorruptedError(
                forKey: .messageCount, in: c,
                debugDescription: "\(messageCount) is not a message count (0...\(Self.maxMessagesPerThread))")
        }
        requiredSkills = try c.decode([String].self, forKey: .requiredSkills)
    }
}

/// The header of a communication_message: what the engine keeps in memory.
public struct MessageHeader: Codable, Sendable, Hashable {
    public var id: MessageID
    public var threadID: ThreadID
    public var channelID: ChannelID?
    public var channelType: ChannelType
    public var messageType: MessageType
    public var senderContactID: ContactID?
    public var senderExternal: ExternalParty?
    public var recipientContactID: ContactID?
    public var recipientExternal: ExternalParty?
    public var subject: String?
    public var externalMessageID: String?
    public var deliveryStatus: DeliveryStatus
    public var readAt: Date?
    public var createdAt: Date

    public init(id: MessageID = MessageID(), threadID: ThreadID, channelID: ChannelID?, channelType: ChannelType,
                messageType: MessageType, senderContactID: ContactID? = nil, senderExternal: ExternalParty? = nil,
                recipientContactID: ContactID? = nil, recipientExternal: ExternalParty? = nil,
                subject: String? = nil, externalMessageID: String? = nil, deliveryStatus: DeliveryStatus,
                readAt: Date? = nil, createdAt: Date) {
        self.id = id; self.threadID = threadID; self.channelID = channelID; self.channelType = channelType
        self.messageType = messageType; self.senderContactID = senderContactID; self.senderExternal = senderExternal
        self.recipientContactID = recipientContactID; self.recipientExternal = recipientExternal
        self.subject = subject; self.externalMessageID = externalMessageID; self.deliveryStatus = deliveryStatus
        self.readAt = readAt; self.createdAt = createdAt
    }
}

/// The large part of a message, kept in the body store (LMDB), not in actors.
public struct MessageBody: Codable, Sendable, Hashable {
    public var messageContent: String
    public var messageHtml: String?
    public var attachments: [Attachment]
    public var metadata: [String: JSONValue]

    public init(messageContent: String, messageHtml: String? = nil, attachments: [Attachment] = [],
                metadata: [String: JSONValue] = [:]) {
        self.messageContent = messageContent; self.messageHtml = messageHtml
        self.attachments = attachments; self.metadata = metadata
    }
}

/// internal_task
public struct InternalTask: Codable, Sendable, Hashable {
    public var id: TaskID
    public var taskTitle: String
    public var taskDescription: String?
    public var taskType: TaskType
    public var priority: Priority
    public var status: TaskStatus
    public var assignedToContactID: ContactID?
    public var createdByContactID: ContactID?
    public var threadID: ThreadID?
    public var orderID: OrderID?
    /// YYYY-MM-DD
    public var dueDate: String?
    /// HH:MM
    public var dueTime: String?
    public var completedAt: Date?
    public var completionNotes: String?
    public var reminderSettings: [String: JSONValue]?
    public var createdAt: Date

    public init(id: TaskID = TaskID(), taskTitle: String, taskDescription: String? = nil, taskType: TaskType = .other,
                priority: Priority = .normal, status: TaskStatus = .open, assignedToContactID: ContactID? = nil,
                createdByContactID: ContactID? = nil, threadID: ThreadID? = nil, orderID: OrderID? = nil,
                dueDate: String? = nil, dueTime: String? = nil, reminderSettings: [String: JSONValue]? = nil,
                createdAt: Date) {
        self.id = id; self.taskTitle = taskTitle; self.taskDescription = taskDescription; self.taskType = taskType
        self.priority = priority; self.status = status; self.assignedToContactID = assignedToContactID
        self.createdByContactID = createdByContactID; self.threadID = threadID; self.orderID = orderID
        self.dueDate = dueDate; self.dueTime = dueTime; self.completedAt = nil; self.completionNotes = nil
        self.reminderSettings = reminderSettings; self.createdAt = createdAt
    }
}

/// communication_template
public struct Template: Codable, Sendable, Hashable {
    public var id: TemplateID
    public var templateName: String
    public var templateCategory: TemplateCategory
    public var channelType: TemplateChannelType
    public var subjectTemplate: String?
    public var messageTemplate: String
    public var htmlTemplate: String?
    public var variables: [String]
    public var businessEntity: TemplateBusinessEntity
    public var isActive: Bool
    public var usageCount: Int
    /// The name of the template as approved at Meta: sending it through
    /// WhatsApp sends that template (allowed outside the 24-hour window),
    /// with `variables` as its body parameters in order.
    public var whatsappTemplateName: String?
    /// The approved translation's language code (`nl`, `en_US`).
    public var whatsappLanguage: String?

    public init(id: TemplateID = TemplateID(), templateName: String, templateCategory: TemplateCategory,
                channelType: TemplateChannelType, subjectTemplate: String? = nil, messageTemplate: String,
                htmlTemplate: String? = nil, variables: [String] = [], businessEntity: TemplateBusinessEntity = .all,
                isActive: Bool = true, usageCount: Int = 0, whatsappTemplateName: String? = nil, whatsappLanguage: String? = nil) {
        self.id = id; self.templateName = templateName; self.templateCategory = templateCategory
        self.channelType = channelType; self.subjectTemplate = subjectTemplate; self.messageTemplate = messageTemplate
        self.htmlTemplate = htmlTemplate; self.variables = variables; self.businessEntity = businessEntity
        self.isActive = isActive; self.usageCount = usageCount
        self.whatsappTemplateName = whatsappTemplateName; self.whatsappLanguage = whatsappLanguage
    }
}

/// A normalised inbound message as a gateway hands it to the engine.
public struct InboundMessage: Codable, Sendable, Hashable {
    public var channelID: ChannelID
    /// The provider's message id; with channelID the idempotency key.
    public var externalMessageID: String
    /// The conversation reference (Outlook conversation, WhatsApp chat, SMS chat).
    public var threadReference: ExternalReference?
    /// E-mail Message-IDs this message answers (In-Reply-To, References).
    public var inReplyTo: [String]
    /// This e-mail's own RFC 5322 Message-ID, so that answers to it match.
    public var internetMessageID: String?
    public var senderExternal: ExternalParty
    public var subject: String?
    public var messageContent: String
    public var messageHtml: String?
    public var attachments: [Attachment]
    public var receivedAt: Date
    /// What the provider says beyond the text: the message it replies to
    /// (`reply_to_external_id`), a button's `payload`, an interactive reply
    /// (`interactive`: type, id, title, description), `unsupported`.
    public var metadata: [String: JSONValue]
    /// A machine wrote it (ingest `auto_submitted`: the mail's `Auto-Submitted`,
    /// `X-Autoreply`, `Precedence: auto_reply/bulk`, an out-of-office reply; see
    /// `AutoReplyDetection`). It is recorded like any message, but starts no
    /// response clock, changes no status and is never answered automatically.
    public var autoSubmitted: Bool

    public init(channelID: ChannelID, externalMessageID: String, threadReference: ExternalReference? = nil,
                inReplyTo: [String] = [], internetMessageID: String? = nil, senderExternal: ExternalParty, subject: String? = nil,
                messageContent: String, messageHtml: String? = nil, attachments: [Attachment] = [],
                receivedAt: Date, metadata: [String: JSONValue] = [:], autoSubmitted: Bool = false) {
        self.channelID = channelID; self.externalMessageID = externalMessageID; self.threadReference = threadReference
        self.inReplyTo = inReplyTo; self.internetMessageID = internetMessageID; self.senderExternal = senderExternal; self.subject = subject
        self.messageContent = messageContent; self.messageHtml = messageHtml; self.attachments = attachments
        self.receivedAt = receivedAt; self.metadata = metadata; self.autoSubmitted = autoSubmitted
    }
}

extension InboundMessage {
    enum CodingKeys: String, CodingKey {
        case channelID, externalMessageID, threadReference, inReplyTo, internetMessageID, senderExternal, subject
        case messageContent, messageHtml, attachments, receivedAt, metadata, autoSubmitted
    }

    /// Lists that gateways may leave out (`in_reply_to`, `attachments`) default to empty.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        channelID = try c.decode(ChannelID.self, forKey: .channelID)
        externalMessageID = try c.decode(String.self, forKey: .externalMessageID)
        threadReference = try c.decodeIfPresent(ExternalReference.self, forKey: .threadReference)
        inReplyTo = try c.decodeIfPresent([String].self, forKey: .inReplyTo) ?? []
        internetMessageID = try c.decodeIfPresent(String.self, forKey: .internetMessageID)
        senderExternal = try c.decode(ExternalParty.self, forKey: .senderExternal)
        subject = try c.decodeIfPresent(String.self, forKey: .subject)
        messageContent = try c.decode(String.self, forKey: .messageContent)
        messageHtml = try c.decodeIfPresent(String.self, forKey: .messageHtml)
        attachments = try c.decodeIfPresent([Attachment].self, forKey: .attachments) ?? []
        receivedAt = try c.decode(Date.self, forKey: .receivedAt)
        metadata = try c.decodeIfPresent([String: JSONValue].self, forKey: .metadata) ?? [:]
        autoSubmitted = try c.decodeIfPresent(Bool.self, forKey: .autoSubmitted) ?? false
    }
}

extension Customer {
    enum CodingKeys: String, CodingKey { case id, name, emails, phones, organizationID }

    /// A directory record may leave out `emails` or `phones` (a customer known only by phone, or only by e-mail).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(CustomerID.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        emails = try c.decodeIfPresent([EmailAddress].self, forKey: .emails) ?? []
        phones = try c.decodeIfPresent([PhoneNumber].self, forKey: .phones) ?? []
        organizationID = try c.decodeIfPresent(OrganizationID.self, forKey: .organizationID)
    }
}
