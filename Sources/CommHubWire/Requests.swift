import CommHubDomain
import Foundation

// The JSON request bodies of the HTTP API (API.md), decoded with
// `ContractJSON` (snake_case keys, ISO 8601 dates).

public struct CreateThreadRequest: Decodable {
    public var threadSubject: String
    public var threadType: ThreadType?
    public var priority: Priority?
    public var status: ThreadStatus?
    public var businessEntity: Brand?
    public var channelType: ChannelType?
    public var orderID: OrderID?
    public var customerID: CustomerID?
    public var customerOrganizationID: OrganizationID?
    public var partnerOrganizationID: OrganizationID?
    public var assignedToContactID: ContactID?
    public var teamID: TeamID?
    public var tags: [String]?
    public var externalReferences: [ExternalReference]?
}

/// Fields of a thread update. `assigned_to_contact_id: null` unassigns, so
/// "absent" and "null" are told apart.
public struct UpdateThreadRequest: Decodable {
    public var status: ThreadStatus?
    public var priority: Priority?
    public var threadType: ThreadType?
    public var threadSubject: String?
    public var tags: [String]?
    public var orderID: OrderID?
    public var customerID: CustomerID?
    public var customerOrganizationID: OrganizationID?
    public var partnerOrganizationID: OrganizationID?
    public var teamID: TeamID?
    public var assignedToContactID: ContactID??

    public enum CodingKeys: String, CodingKey {
        case status, priority, threadType, threadSubject, tags, orderID, customerID, customerOrganizationID
        case partnerOrganizationID, teamID, assignedToContactID
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decodeIfPresent(ThreadStatus.self, forKey: .status)
        priority = try c.decodeIfPresent(Priority.self, forKey: .priority)
        threadType = try c.decodeIfPresent(ThreadType.self, forKey: .threadType)
        threadSubject = try c.decodeIfPresent(String.self, forKey: .threadSubject)
        tags = try c.decodeIfPresent([String].self, forKey: .tags)
        orderID = try c.decodeIfPresent(OrderID.self, forKey: .orderID)
        customerID = try c.decodeIfPresent(CustomerID.self, forKey: .customerID)
        customerOrganizationID = try c.decodeIfPresent(OrganizationID.self, forKey: .customerOrganizationID)
        partnerOrganizationID = try c.decodeIfPresent(OrganizationID.self, forKey: .partnerOrganizationID)
        teamID = try c.decodeIfPresent(TeamID.self, forKey: .teamID)
        if c.contains(.assignedToContactID) {
            assignedToContactID = .some(try c.decodeIfPresent(ContactID.self, forKey: .assignedToContactID))
        }
        let known = Set(CodingKeys.allStrings)
        let given = try decoder.container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue)
        if let unknown = given.first(where: { !known.contains($0) }) {
            throw DecodingError.dataCorrupted(.init(codingPath: [AnyCodingKey(unknown)],
                                                    debugDescription: "unknown field; allowed: \(CodingKeys.allSnake.joined(separator: ", "))"))
        }
    }
}

public struct CallLog: Decodable {
    public enum Direction: String, ContractEnum { case inbound, outbound }
    public var direction: Direction
    public var durationSeconds: Int
    public var notes: String?
    /// The caller asked to be called back: a `callback` task is made (task rule `callback`).
    public var callbackRequested: Bool?
    /// When the callback is wanted (its task's due moment); default: the priority's response target.
    public var callbackAt: Date?
}

public struct CreateMessageRequest: Decodable {
    public var threadID: ThreadID
    public var messageType: MessageType
    public var channelID: ChannelID?
    public var channelType: ChannelType?
    public var subject: String?
    public var messageContent: String?
    public var messageHtml: String?
    public var attachments: [Attachment]?
    public var recipientExternal: ExternalParty?
    public var recipientContactID: ContactID?
    public var metadata: [String: JSONValue]?
    public var templateID: TemplateID?
    public var templateVariables: [String: String]?
    /// The message of this thread an agent answers explicitly (WhatsApp quotes it).
    public var replyToMessageID: MessageID?
    /// Status to set on the thread with this message (e.g. waiting_customer).
    public var threadStatus: ThreadStatus?
    /// For `channel_type: phone_call`.
    public var call: CallLog?
}

public struct UpdateMessageRequest: Decodable {
    public var deliveryStatus: DeliveryStatus?
}

public struct TaskRequest: Decodable {
    public var taskTitle: String?
    public var taskDescription: String?
    public var taskType: TaskType?
    public var priority: Priority?
    public var status: TaskStatus?
    public var assignedToContactID: ContactID?
    public var threadID: ThreadID?
    public var orderID: OrderID?
    public var dueDate: String?
    public var dueTime: String?
    public var completionNotes: String?
    public var reminderSettings: [String: JSONValue]?
}

public struct TemplateRequest: Decodable {
    public var templateName: String?
    public var templateCategory: TemplateCategory?
    public var channelType: TemplateChannelType?
    public var subjectTemplate: String?
    public var messageTemplate: String?
    public var htmlTemplate: String?
    public var variables: [String]?
    public var businessEntity: TemplateBusinessEntity?
    public var isActive: Bool?
    public var whatsappTemplateName: String?
    public var whatsappLanguage: String?
}

public struct RenderRequest: Decodable {
    public var variables: [String: String]
}

public struct ChannelRequest: Decodable {
    public var channelType: ChannelType?
    public var channelName: String?
    public var isActive: Bool?
    public var businessEntity: Brand?
    public var configuration: [String: JSONValue]?
    public var autoAssignmentRules: AutoAssignmentRules?
    public var responseSlaHours: Double?
    public var escalationRules: [String: JSONValue]?
}

public struct ContactRequest: Decodable {
    public var name: String?
    public var email: String?
    public var phone: String?
    public var role: ContactRole?
    public var teams: [TeamID]?
    public var skills: [String]?
    public var maxOpenThreads: Int?
    public var presence: Presence?
    /// Local hour (0–23) of the person's daily digest; `null` turns it off (absent: unchanged).
    public var dailyDigestHour: Int??

    enum CodingKeys: String, CodingKey {
        case name, email, phone, role, teams, skills, maxOpenThreads, presence, dailyDigestHour
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        email = try c.decodeIfPresent(String.self, forKey: .email)
        phone = try c.decodeIfPresent(String.self, forKey: .phone)
        role = try c.decodeIfPresent(ContactRole.self, forKey: .role)
        teams = try c.decodeIfPresent([TeamID].self, forKey: .teams)
        skills = try c.decodeIfPresent([String].self, forKey: .skills)
        maxOpenThreads = try c.decodeIfPresent(Int.self, forKey: .maxOpenThreads)
        presence = try c.decodeIfPresent(Presence.self, forKey: .presence)
        if c.contains(.dailyDigestHour) { dailyDigestHour = .some(try c.decodeIfPresent(Int.self, forKey: .dailyDigestHour)) }
    }
}

public struct TeamRequest: Decodable {
    public var name: String?
    public var handOverOnOffline: Bool?
    public var leaderID: ContactID?
    /// The team's business hours (`"08:00-17:00"` or a weekly object); `null` removes them (absent: unchanged).
    public var businessHours: JSONValue??

    enum CodingKeys: String, CodingKey { case name, handOverOnOffline, leaderID, businessHours }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        handOverOnOffline = try c.decodeIfPresent(Bool.self, forKey: .handOverOnOffline)
        leaderID = try c.decodeIfPresent(ContactID.self, forKey: .leaderID)
        if c.contains(.businessHours) {
            let v = try c.decode(JSONValue.self, forKey: .businessHours)
            businessHours = .some(v == .null ? nil : v)
        }
    }
}

public struct TokenRequest: Decodable {
    public var label: String?

    public init(label: String?) { self.label = label }
}

public struct DirectoryRequest: Decodable {
    public var organizations: [Organization]?
    public var customers: [Customer]?
    public var orders: [Order]?
}

/// A coding key of any name: lists the keys an object actually has.
public struct AnyCodingKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ s: String) { stringValue = s }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

extension UpdateThreadRequest.CodingKeys: CaseIterable {
    static var allStrings: [String] { allCases.map(\.stringValue) }
    static var allSnake: [String] {
        ["status", "priority", "thread_type", "thread_subject", "tags", "order_id", "customer_id",
         "customer_organization_id", "partner_organization_id", "team_id", "assigned_to_contact_id"]
    }
}
