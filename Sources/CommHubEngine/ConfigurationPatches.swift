import CommHubDomain
import CommHubWire
import Foundation

// Partial updates of stored values (the PUT handlers). A patch names only
// the fields a caller sets; the supervisor applies it to the value it holds
// *now*, validates and journals the result in one step on its executor, so
// two concurrent PUTs that set different fields both land: no caller ever
// writes back a copy it read before another caller's change.

/// The outcome of a patch: the value before and after (for the audit
/// entry and the answer) and the sequence number to acknowledge after — the
/// change's own, or, when nothing changed, the last one the supervisor had
/// committed when it read the value (so the answer never shows what the
/// journal does not hold yet).
public struct PatchResult<Value: Sendable & Hashable>: Sendable {
    public var before: Value
    public var after: Value
    public var seq: UInt64
    public var changed: Bool { before != after }
}

/// Merges new secrets into a channel's sealed secrets. The engine never
/// handles a secret in clear and does not own the key: the server's
/// `SecretBox` opens, merges and seals inside `merge`, which the supervisor
/// calls with the channel's *current* sealed value on its own executor, so
/// two updates of different secrets of one channel cannot lose one another.
public struct SecretMerge: Sendable {
    public let merge: @Sendable (_ current: Data?) throws -> Data?

    public init(_ merge: @escaping @Sendable (_ current: Data?) throws -> Data?) { self.merge = merge }
}

/// A PUT of a channel. `configuration` is the plain part and replaces the
/// current one (a client sends the configuration it wants, as it read it);
/// secrets are write-only, so they merge key by key through `secrets`.
public struct ChannelPatch: Sendable {
    /// Must equal the channel's type when given: a type never changes.
    public var channelType: ChannelType?
    public var channelName: String?
    public var isActive: Bool?
    public var businessEntity: Brand?
    public var autoAssignmentRules: AutoAssignmentRules?
    public var responseSlaHours: Double?
    public var escalationRules: [String: JSONValue]?
    public var configuration: [String: JSONValue]?
    public var secrets: SecretMerge?

    public init() {}

    public func applied(to current: Channel) throws -> Channel {
        var c = current
        if let t = channelType, t != c.channelType {
            throw EngineError.invalid("channel_type cannot change; create a new channel")
        }
        if let v = channelName { c.channelName = v }
        if let v = isActive { c.isActive = v }
        if let v = businessEntity { c.businessEntity = v }
        if let v = autoAssignmentRules { c.autoAssignmentRules = v }
        if let v = responseSlaHours { c.responseSlaHours = v }
        if let v = escalationRules { c.escalationRules = v }
        if let v = configuration { c.configuration = v }
        if let secrets { c.sealedSecrets = try secrets.merge(c.sealedSecrets) }
        try EntityRules.check(c)
        return c
    }
}

/// A PUT of a person. Presence is applied by the supervisor as its own
/// step after the profile (going offline hands threads over).
public struct ContactPatch: Sendable {
    public var name: String?
    public var email: String?
    public var phone: String?
    public var role: ContactRole?
    public var teams: [TeamID]?
    public var skills: [String]?
    public var maxOpenThreads: Int?
    public var presence: Presence?
    /// `.some(nil)` turns the daily digest off.
    public var dailyDigestHour: Int??

    public init() {}

    /// Whether the patch sets nothing but what anyone may set for themselves
    /// (presence and the hour of their daily digest).
    public var onlyPresence: Bool {
        name == nil && email == nil && phone == nil && role == nil && teams == nil && skills == nil && maxOpenThreads == nil
    }

    /// The profile with every field but presence applied.
    public func appliedProfile(to current: Contact) throws -> Contact {
        var c = current
        if let v = name { c.name = v }
        if let v = email { c.email = v }
        if let v = phone { c.phone = v }
        if let v = role { c.role = v }
        if let v = teams { c.teams = v }
        if let v = skills { c.skills = v }
        if let v = maxOpenThreads { c.maxOpenThreads = v }
        if let v = dailyDigestHour { c.dailyDigestHour = v }
        try EntityRules.check(c)
        return c
    }
}

/// A PUT of a team. An empty name leaves the name as it is (as before).
public struct TeamPatch: Sendable {
    public var name: String?
    public var handOverOnOffline: Bool?
    public var leaderID: ContactID?
    /// `.some(nil)` removes the team's business hours.
    public var businessHours: JSONValue??

    public init() {}

    public func applied(to current: Team) -> Team {
        var t = current
        if let n = name?.trimmingCharacters(in: .whitespaces), !n.isEmpty { t.name = n }
        if let h = handOverOnOffline { t.handOverOnOffline = h }
        if let l = leaderID { t.leaderID = l }
        if let b = businessHours { t.businessHours = b }
        return t
    }
}

/// A PUT of a message template (its usage count is the engine's, not the caller's).
public struct TemplatePatch: Sendable {
    public var templateName: String?
    public var templateCategory: TemplateCategory?
    public var channelType: TemplateChannelType?
    public var subjectTemplate: String?
    public var messageTemplate: String?
    public var htmlTemplate: String?
    public var variables: [String]?
    public var businessEntity: TemplateBusinessEntity?
    public var isActive: Bool?
    /// Empty clears it.
    public var whatsappTemplateName: String?
    public var whatsappLanguage: String?

    public init() {}

    public func applied(to current: Template) throws -> Template {
        var t = current
        if let v = templateName { t.templateName = v }
        if let v = templateCategory { t.templateCategory = v }
        if let v = channelType { t.channelType = v }
        if let v = subjectTemplate { t.subjectTemplate = v }
        if let v = messageTemplate { t.messageTemplate = v }
        if let v = htmlTemplate { t.htmlTemplate = v }
        if let v = variables { t.variables = v }
        if let v = businessEntity { t.businessEntity = v }
        if let v = isActive { t.isActive = v }
        if let v = whatsappTemplateName { t.whatsappTemplateName = v.isEmpty ? nil : v }
        if let v = whatsappLanguage { t.whatsappLanguage = v.isEmpty ? nil : v }
        if let problem = WhatsAppTemplateRules.problem(t) { throw EngineError.invalid(problem) }
        guard !t.templateName.isEmpty, !t.messageTemplate.isEmpty else {
            throw EngineError.invalid("template_name and message_template must not be empty")
        }
        return t
    }
}

/// A PUT of an internal task.
public struct TaskPatch: Sendable {
    public var taskTitle: String?
    public var taskDescription: String?
    public var taskType: TaskType?
    public var priority: Priority?
    public var status: TaskStatus?
    public var assignedToContactID: ContactID?
    public var orderID: OrderID?
    public var dueDate: String?
    public var dueTime: String?
    public var completionNotes: String?
    public var reminderSettings: [String: JSONValue]?

    public init() {}

    public func applied(to current: InternalTask, now: Date) throws -> InternalTask {
        var t = current
        if let v = taskTitle { t.taskTitle = v }
        if let v = taskDescription { t.taskDescription = v }
        if let v = taskType { t.taskType = v }
        if let v = priority { t.priority = v }
        if let v = status { t.status = v }
        if let v = assignedToContactID { t.assignedToContactID = v }
        if let v = orderID { t.orderID = v }
        if let v = dueDate { t.dueDate = v }
        if let v = dueTime { t.dueTime = v }
        if let v = completionNotes { t.completionNotes = v }
        if let v = reminderSettings { t.reminderSettings = v }
        try EntityRules.check(&t, now: now)
        return t
    }
}

/// What a stored channel, person or task must satisfy, checked where it is
/// created (the POST handlers) and inside the supervisor when a patch is
/// applied. Messages name the field and what to send instead.
public enum EntityRules {
    public static func check(_ c: Channel) throws {
        if c.channelName.trimmingCharacters(in: .whitespaces).isEmpty {
            throw EngineError.invalid("channel_name must not be empty")
        }
        do {
            try Bounds.check(c.responseSlaHours, WireBounds.responseSlaHours, "response_sla_hours", unit: "hours")
        } catch {
            throw EngineError.invalid(error.description)
        }
        if let errors = c.autoAssignmentRules?.validationErrors(), !errors.isEmpty {
            throw EngineError.invalid("auto_assignment_rules: " + errors.joined(separator: "; "))
        }
    }

    /// The most open threads a person may be given.
    public static let maxOpenThreadsLimit = 10_000

    public static func check(_ c: Contact) throws {
        if c.name.trimmingCharacters(in: .whitespaces).isEmpty { throw EngineError.invalid("name must not be empty") }
        if let e = c.email, !e.isEmpty, EmailAddress(e) == nil { throw EngineError.invalid("email '\(e)' is not an e-mail address") }
        if !(0...maxOpenThreadsLimit).contains(c.maxOpenThreads) {
            throw EngineError.invalid("max_open_threads must be 0 to \(maxOpenThreadsLimit)")
        }
        if let h = c.dailyDigestHour, !(0...23).contains(h) {
            throw EngineError.invalid("daily_digest_hour must be a local hour 0 to 23, or null for no digest")
        }
    }

    /// Checks the due date and time, and sets or clears `completedAt` with the status.
    public static func check(_ task: inout InternalTask, now: Date) throws {
        if let d = task.dueDate, !isDate(d) {
            throw EngineError.invalid("due_date must be a date YYYY-MM-DD from 2000-01-01 to 2099-12-31")
        }
        if let t = task.dueTime, !isTime(t) { throw EngineError.invalid("due_time must be HH:MM") }
        do { _ = try TaskReminderSettings(task.reminderSettings) } catch { throw EngineError.invalid(error.description) }
        if task.status == .completed, task.completedAt == nil { task.completedAt = now }
        if task.status != .completed { task.completedAt = nil }
    }

    public static func isDate(_ s: String) -> Bool {
        let p = s.split(separator: "-")
        guard p.count == 3, p[0].count == 4, p[1].count == 2, p[2].count == 2,
              let y = Int(p[0]), let m = Int(p[1]), let d = Int(p[2]) else { return false }
        var c = DateComponents()
        c.year = y; c.month = m; c.day = d
        // The window of every date from outside (WireDates).
        let calendar = Calendar(identifier: .gregorian)
        guard (1...12).contains(m), (1...31).contains(d), (2000...2099).contains(y), let date = calendar.date(from: c) else {
            return false
        }
        return calendar.dateComponents([.day], from: date).day == d
    }

    public static func isTime(_ s: String) -> Bool {
        let p = s.split(separator: ":")
        guard p.count == 2, p[0].count == 2, p[1].count == 2, let h = Int(p[0]), let m = Int(p[1]) else { return false }
        return (0...23).contains(h) && (0...59).contains(m)
    }
}
