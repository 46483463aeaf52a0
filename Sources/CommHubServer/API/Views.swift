import CommHubDomain
import CommHubEngine
import Foundation

/// JSON shapes of the API (snake_case through `ContractJSON`).
enum View {
    static func json(_ value: some Encodable) throws -> JSONValue {
        let data = try ContractJSON.sharedEncoder.encode(value)
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// A message: header fields plus body fields.
    static func message(_ h: MessageHeader, body: MessageBody?) throws -> JSONValue {
        var o = try json(h).objectValue ?? [:]
        if let body, let b = try json(body).objectValue { o.merge(b) { a, _ in a } }
        return .object(o)
    }

    /// A channel with its secrets removed: only their names are listed.
    static func channel(_ c: Channel, secretNames: [String]) throws -> JSONValue {
        var o = try json(c).objectValue ?? [:]
        o["sealed_secrets"] = nil
        o["secrets_set"] = .array(secretNames.sorted().map(JSONValue.string))
        return .object(o)
    }

    static func token(_ t: APIToken) throws -> JSONValue {
        var o = try json(t).objectValue ?? [:]
        o["secret_hash"] = nil
        return .object(o)
    }
}

// MARK: Requests

struct CreateThreadRequest: Decodable {
    var threadSubject: String
    var threadType: ThreadType?
    var priority: Priority?
    var status: ThreadStatus?
    var businessEntity: Brand?
    var channelType: ChannelType?
    var orderID: OrderID?
    var customerID: CustomerID?
    var customerOrganizationID: OrganizationID?
    var partnerOrganizationID: OrganizationID?
    var assignedToContactID: ContactID?
    var teamID: TeamID?
    var tags: [String]?
    var externalReferences: [ExternalReference]?
}

/// Fields of a thread update. `assigned_to_contact_id: null` unassigns, so
/// "absent" and "null" are told apart.
struct UpdateThreadRequest: Decodable {
    var status: ThreadStatus?
    var priority: Priority?
    var threadType: ThreadType?
    var threadSubject: String?
    var tags: [String]?
    var orderID: OrderID?
    var customerID: CustomerID?
    var customerOrganizationID: OrganizationID?
    var partnerOrganizationID: OrganizationID?
    var teamID: TeamID?
    var assignedToContactID: ContactID??

    enum CodingKeys: String, CodingKey {
        case status, priority, threadType, threadSubject, tags, orderID, customerID, customerOrganizationID
        case partnerOrganizationID, teamID, assignedToContactID
    }

    init(from decoder: any Decoder) throws {
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

struct CallLog: Decodable {
    enum Direction: String, ContractEnum { case inbound, outbound }
    var direction: Direction
    var durationSeconds: Int
    var notes: String?
}

struct CreateMessageRequest: Decodable {
    var threadID: ThreadID
    var messageType: MessageType
    var channelID: ChannelID?
    var channelType: ChannelType?
    var subject: String?
    var messageContent: String?
    var messageHtml: String?
    var attachments: [Attachment]?
    var recipientExternal: ExternalParty?
    var recipientContactID: ContactID?
    var metadata: [String: JSONValue]?
    var templateID: TemplateID?
    var templateVariables: [String: String]?
    /// Status to set on the thread with this message (e.g. waiting_customer).
    var threadStatus: ThreadStatus?
    /// For `channel_type: phone_call`.
    var call: CallLog?
}

struct UpdateMessageRequest: Decodable {
    var deliveryStatus: DeliveryStatus?
}

struct TaskRequest: Decodable {
    var taskTitle: String?
    var taskDescription: String?
    var taskType: TaskType?
    var priority: Priority?
    var status: TaskStatus?
    var assignedToContactID: ContactID?
    var threadID: ThreadID?
    var orderID: OrderID?
    var dueDate: String?
    var dueTime: String?
    var completionNotes: String?
    var reminderSettings: [String: JSONValue]?
}

struct TemplateRequest: Decodable {
    var templateName: String?
    var templateCategory: TemplateCategory?
    var channelType: TemplateChannelType?
    var subjectTemplate: String?
    var messageTemplate: String?
    var htmlTemplate: String?
    var variables: [String]?
    var businessEntity: TemplateBusinessEntity?
    var isActive: Bool?
}

struct RenderRequest: Decodable {
    var variables: [String: String]
}

struct ChannelRequest: Decodable {
    var channelType: ChannelType?
    var channelName: String?
    var isActive: Bool?
    var businessEntity: Brand?
    var configuration: [String: JSONValue]?
    var autoAssignmentRules: AutoAssignmentRules?
    var responseSlaHours: Double?
    var escalationRules: [String: JSONValue]?
}

struct ContactRequest: Decodable {
    var name: String?
    var email: String?
    var phone: String?
    var role: ContactRole?
    var teams: [TeamID]?
    var skills: [String]?
    var maxOpenThreads: Int?
    var presence: Presence?
}

struct TeamRequest: Decodable {
    var name: String?
    var handOverOnOffline: Bool?
    var leaderID: ContactID?
}

struct TokenRequest: Decodable {
    var label: String?
}

struct DirectoryRequest: Decodable {
    var organizations: [Organization]?
    var customers: [Customer]?
    var orders: [Order]?
}

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension UpdateThreadRequest.CodingKeys: CaseIterable {
    static var allStrings: [String] { allCases.map(\.stringValue) }
    static var allSnake: [String] {
        ["status", "priority", "thread_type", "thread_subject", "tags", "order_id", "customer_id",
         "customer_organization_id", "partner_organization_id", "team_id", "assigned_to_contact_id"]
    }
}
