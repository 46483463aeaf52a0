import Foundation

/// An enum whose raw values are part of the owner's external contract.
/// Decoding an unknown value fails with a message that lists the allowed ones.
public protocol ContractEnum: RawRepresentable, CaseIterable, Codable, Sendable, Hashable
where RawValue == String {}

extension ContractEnum {
    public static var allowedValues: [String] { allCases.map(\.rawValue) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let value = Self(rawValue: raw) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "'\(raw)' is not one of: \(Self.allowedValues.joined(separator: ", "))"
            )
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The case's index. These enums have no payloads and fewer than 256
    /// cases, so a value is one byte: its case tag.
    @inlinable
    public var caseTag: UInt8 {
        withUnsafeBytes(of: self) { $0[0] }
    }

    /// Equality and hashing by case, not by raw string: the standard
    /// library's defaults for String-backed enums compare and hash the
    /// strings, and the engine compares statuses and priorities everywhere.
    @inlinable
    public static func == (a: Self, b: Self) -> Bool { a.caseTag == b.caseTag }

    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(caseTag) }
}

/// communication_channel.channel_type
public enum ChannelType: String, ContractEnum {
    case emailOutlook = "email_outlook"
    case whatsappBusiness = "whatsapp_business"
    case internalComment = "internal_comment"
    case internalTask = "internal_task"
    case internalTicket = "internal_ticket"
    case sms
    case phoneCall = "phone_call"

    /// Channels that carry conversations with people outside the company.
    public var isExternal: Bool {
        switch self {
        case .emailOutlook, .whatsappBusiness, .sms, .phoneCall: true
        case .internalComment, .internalTask, .internalTicket: false
        }
    }
}

/// communication_thread.thread_type
public enum ThreadType: String, ContractEnum {
    case customerSupport = "customer_support"
    case partnerInquiry = "partner_inquiry"
    case installationCoordination = "installation_coordination"
    case technicalIssue = "technical_issue"
    case salesInquiry = "sales_inquiry"
    case complaint
    case internalTask = "internal_task"
    case projectDiscussion = "project_discussion"
}

/// Priority of threads and tasks. `rank` orders urgency (critical first).
public enum Priority: String, ContractEnum, Comparable {
    case low, normal, high, urgent, critical

    /// 0 = most urgent.
    public var rank: UInt8 {
        switch self {
        case .critical: 0
        case .urgent: 1
        case .high: 2
        case .normal: 3
        case .low: 4
        }
    }

    public static func < (a: Priority, b: Priority) -> Bool { a.rank > b.rank }
}

/// communication_thread.status
public enum ThreadStatus: String, ContractEnum {
    case open
    case inProgress = "in_progress"
    case waitingCustomer = "waiting_customer"
    case waitingInternal = "waiting_internal"
    case escalated
    case resolved
    case closed

    /// Open threads count towards an agent's load and can receive new messages.
    public var isOpen: Bool { self != .resolved && self != .closed }
}

/// communication_message.message_type
public enum MessageType: String, ContractEnum {
    case incoming
    case outgoing
    case internalNote = "internal_note"
    case systemNotification = "system_notification"
    case autoResponse = "auto_response"
}

/// communication_message.delivery_status
public enum DeliveryStatus: String, ContractEnum {
    case pending, sent, delivered, read, failed, bounced

    /// How far a message has come: pending < sent < failed/bounced <
    /// delivered < read. Providers (Meta, Graph, SMS gateways) do not promise
    /// to report in order, and they repeat reports.
    public var progressRank: Int {
        switch self {
        case .pending: 0
        case .sent: 1
        case .failed, .bounced: 2
        case .delivered: 3
        case .read: 4
        }
    }

    /// Whether a provider's report of `self` moves a message that is at `current` forward.
    public func advances(from current: DeliveryStatus) -> Bool { progressRank > current.progressRank }
}

/// internal_task.task_type
public enum TaskType: String, ContractEnum {
    case followUp = "follow_up"
    case callback
    case sendEmail = "send_email"
    case scheduleVisit = "schedule_visit"
    case escalate
    case research
    case documentation
    case approvalRequest = "approval_request"
    case other
}

/// internal_task.status
public enum TaskStatus: String, ContractEnum {
    case open
    case inProgress = "in_progress"
    case waiting
    case completed
    case cancelled
}

/// communication_template.template_category
public enum TemplateCategory: String, ContractEnum {
    case customerService = "customer_service"
    case installationScheduling = "installation_scheduling"
    case technicalSupport = "technical_support"
    case salesInquiry = "sales_inquiry"
    case complaintResponse = "complaint_response"
    case followUp = "follow_up"
    case autoResponse = "auto_response"
    case internalNotification = "internal_notification"
}

/// communication_template.channel_type (a channel type or `any`).
public enum TemplateChannelType: String, ContractEnum {
    case emailOutlook = "email_outlook"
    case whatsappBusiness = "whatsapp_business"
    case internalComment = "internal_comment"
    case sms
    case any
}

/// The brands. Templates may also name `all` (see `TemplateBusinessEntity`).
public enum Brand: String, ContractEnum {
    case chargecars, laderthuis, meterkastthuis, zaptecshop, ratioshop
}

/// communication_template.business_entity: a brand or `all`.
public enum TemplateBusinessEntity: String, ContractEnum {
    case chargecars, laderthuis, meterkastthuis, zaptecshop, ratioshop, all
}

/// contact.role, for internal people.
public enum ContactRole: String, ContractEnum {
    case agent
    case teamLeader = "team_leader"
    case manager, admin, executive
}

/// contact.presence
public enum Presence: String, ContractEnum {
    case online, away, offline
}

/// Organization kind in the customer directory.
public enum OrganizationKind: String, ContractEnum {
    case customer, partner
}
