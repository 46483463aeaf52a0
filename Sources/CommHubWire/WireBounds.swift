import CommHubDomain
import Foundation

/// The named bounds of every number, count and length that comes in over
/// the wire, checked where it enters (`RangeChecked`). Generous for real
/// use, small enough that nothing from outside can make the engine keep,
/// encode or loop over absurd amounts.
public enum WireBounds {
    // Numbers
    /// A channel's response deadline: from 6 minutes to 30 days.
    public static let responseSlaHours: ClosedRange<Double> = 0.1...720
    /// Routing's escalation delay: from 6 minutes to 30 days.
    public static let escalationAfterHours: ClosedRange<Double> = 0.1...720
    /// A logged phone call: up to a day.
    public static let callDurationSeconds: ClosedRange<Int> = 0...86_400
    /// Threads one person may hold.
    public static let maxOpenThreads: ClosedRange<Int> = 0...10_000
    /// Pieces of one product on an order line.
    public static let orderLineQuantity: ClosedRange<Int> = 0...1_000_000
    /// An attachment's size as the provider reports it: up to 10 GiB.
    public static let attachmentSizeBytes: ClosedRange<Int> = 0...(10 << 30)

    // Lengths (characters)
    public static let maxNameCharacters = 200
    public static let maxSubjectCharacters = 1_000
    public static let maxTagCharacters = 100
    public static let maxIdentifierCharacters = 1_000
    public static let maxURLCharacters = 4_096
    public static let maxShortTextCharacters = 10_000

    // Counts
    public static let maxTags = 50
    public static let maxExternalReferences = 20
    public static let maxAttachments = 100
    public static let maxInReplyTo = 100
    public static let maxTemplateVariables = 100
    public static let maxSkills = 50
    public static let maxTeamsPerContact = 100
    public static let maxKeywordRules = 200
    public static let maxKeywordsPerRule = 100
    public static let maxEmailsOrPhonesPerCustomer = 20
    /// Attendee addresses of one calendar follow-up.
    public static let maxAttendees = 200
    /// Lines of one order (templates repeat a block per line).
    public static let maxOrderLines = 200
}

extension Attachment {
    func checkRanges(_ field: @autoclosure () -> String) throws(FieldRangeError) {
        try Bounds.check(sizeBytes, WireBounds.attachmentSizeBytes, "\(field()).size_bytes", unit: "bytes")
        try Bounds.length(fileName, max: WireBounds.maxIdentifierCharacters, "\(field()).file_name")
        try Bounds.length(contentType, max: WireBounds.maxNameCharacters, "\(field()).content_type")
        try Bounds.length(url, max: WireBounds.maxURLCharacters, "\(field()).url")
    }
}

func checkAttachments(_ list: [Attachment]?, _ field: @autoclosure () -> String) throws(FieldRangeError) {
    try Bounds.count(list, max: WireBounds.maxAttachments, field())
    for (i, a) in (list ?? []).enumerated() { try a.checkRanges("\(field())[\(i)]") }
}

extension ExternalParty {
    func checkRanges(_ field: @autoclosure () -> String) throws(FieldRangeError) {
        try Bounds.length(name, max: WireBounds.maxNameCharacters, "\(field()).name")
        try Bounds.length(email, max: WireBounds.maxNameCharacters, "\(field()).email")
        try Bounds.length(phone, max: WireBounds.maxNameCharacters, "\(field()).phone")
        try Bounds.length(waID, max: WireBounds.maxNameCharacters, "\(field()).wa_id")
    }
}

func checkReferences(_ list: [ExternalReference]?, _ field: @autoclosure () -> String) throws(FieldRangeError) {
    try Bounds.count(list, max: WireBounds.maxExternalReferences, field())
    for (i, r) in (list ?? []).enumerated() {
        try Bounds.length(r.value, max: WireBounds.maxIdentifierCharacters, "\(field())[\(i)].value", allowEmpty: false)
    }
}

func checkTags(_ tags: [String]?, _ field: @autoclosure () -> String = "tags") throws(FieldRangeError) {
    try Bounds.count(tags, max: WireBounds.maxTags, field())
    try Bounds.lengths(tags, max: WireBounds.maxTagCharacters, field())
}

extension InboundMessage {
    func checkRanges(_ field: @autoclosure () -> String) throws(FieldRangeError) {
        try Bounds.length(externalMessageID, max: WireBounds.maxIdentifierCharacters, "\(field()).external_message_id", allowEmpty: false)
        if let r = threadReference {
            try Bounds.length(r.value, max: WireBounds.maxIdentifierCharacters, "\(field()).thread_reference.value", allowEmpty: false)
        }
        try Bounds.count(inReplyTo, max: WireBounds.maxInReplyTo, "\(field()).in_reply_to")
        try Bounds.lengths(inReplyTo, max: WireBounds.maxIdentifierCharacters, "\(field()).in_reply_to")
        try Bounds.length(internetMessageID, max: WireBounds.maxIdentifierCharacters, "\(field()).internet_message_id")
        try senderExternal.checkRanges("\(field()).sender_external")
        try Bounds.length(subject, max: WireBounds.maxSubjectCharacters, "\(field()).subject")
        try checkAttachments(attachments, "\(field()).attachments")
        try Bounds.date(receivedAt, "\(field()).received_at")
        try FreeFormJSON.check(metadata, "\(field()).metadata")
    }
}

extension IngestItem {
    /// The item's bounds; `field` is its place in the batch (`events[3]`).
    public func checkRanges(_ field: @autoclosure () -> String) throws(FieldRangeError) {
        switch self {
        case .message(let m):
            try m.checkRanges(field())
        case .delivery(_, let ext, _, let at, let error):
            try Bounds.length(ext, max: WireBounds.maxIdentifierCharacters, "\(field()).external_message_id", allowEmpty: false)
            try Bounds.date(at, "\(field()).at")
            try Bounds.length(error?.code, max: WireBounds.maxIdentifierCharacters, "\(field()).error_code")
            try Bounds.length(error?.title, max: 1_000, "\(field()).error_title")
        case .reaction(_, let ext, let from, let emoji, let at):
            try Bounds.length(ext, max: WireBounds.maxIdentifierCharacters, "\(field()).external_message_id", allowEmpty: false)
            try Bounds.length(from, max: WireBounds.maxIdentifierCharacters, "\(field()).from", allowEmpty: false)
            try Bounds.length(emoji, max: 32, "\(field()).emoji")
            try Bounds.date(at, "\(field()).at")
        case .mailbox(.outgoing(let o)):
            try o.message.checkRanges(field())
            try o.recipient?.checkRanges("\(field()).recipient_external")
        case .mailbox(.removed(let r)):
            try Bounds.length(r.externalMessageID, max: WireBounds.maxIdentifierCharacters, "\(field()).external_message_id", allowEmpty: false)
            try Bounds.length(r.reason, max: WireBounds.maxIdentifierCharacters, "\(field()).reason")
            try Bounds.length(r.folder, max: WireBounds.maxNameCharacters, "\(field()).folder")
            try Bounds.date(r.at, "\(field()).at")
        case .mailbox(.followUp(let f)):
            try Bounds.length(f.eventID, max: WireBounds.maxIdentifierCharacters, "\(field()).event_id", allowEmpty: false)
            try Bounds.length(f.title, max: WireBounds.maxSubjectCharacters, "\(field()).title")
            try Bounds.length(f.description, max: WireBounds.maxShortTextCharacters, "\(field()).description")
            try Bounds.length(f.organizerEmail, max: WireBounds.maxNameCharacters, "\(field()).organizer_email")
            try Bounds.date(f.dueAt, "\(field()).due_at")
            try Bounds.count(f.attendeeEmails, max: WireBounds.maxAttendees, "\(field()).attendee_emails")
            try Bounds.lengths(f.attendeeEmails, max: WireBounds.maxNameCharacters, "\(field()).attendee_emails")
        }
    }
}

extension IngestBatch: RangeChecked {
    /// The count (1…`maxEvents`) is checked by the receiver, which answers it with its own status.
    public func checkRanges() throws(FieldRangeError) {
        for (i, e) in events.enumerated() { try e.checkRanges("events[\(i)]") }
    }
}

extension CreateThreadRequest: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {
        try checkTags(tags)
        try checkReferences(externalReferences, "external_references")
    }
}

extension UpdateThreadRequest: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {
        try checkTags(tags)
    }
}

extension CreateMessageRequest: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {
        try Bounds.length(subject, max: WireBounds.maxSubjectCharacters, "subject")
        try checkAttachments(attachments, "attachments")
        try recipientExternal?.checkRanges("recipient_external")
        try FreeFormJSON.check(metadata, "metadata")
        try Bounds.count(templateVariables, max: WireBounds.maxTemplateVariables, "template_variables")
        for (k, v) in templateVariables ?? [:] {
            try Bounds.length(k, max: WireBounds.maxNameCharacters, "template_variables (a name)")
            try Bounds.length(v, max: WireBounds.maxShortTextCharacters, "template_variables.\(k.prefix(WireBounds.maxNameCharacters))")
        }
        if let call {
            try Bounds.check(call.durationSeconds, WireBounds.callDurationSeconds, "call.duration_seconds", unit: "seconds")
            try Bounds.length(call.notes, max: WireBounds.maxShortTextCharacters * 10, "call.notes")
            try Bounds.date(call.callbackAt, "call.callback_at")
        }
    }
}

extension TaskRequest: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {
        try Bounds.length(taskTitle, max: WireBounds.maxSubjectCharacters, "task_title")
        try FreeFormJSON.check(reminderSettings, "reminder_settings")
    }
}

extension TemplateRequest: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {
        try Bounds.length(templateName, max: WireBounds.maxNameCharacters, "template_name")
        try Bounds.count(variables, max: WireBounds.maxTemplateVariables, "variables")
        try Bounds.lengths(variables, max: WireBounds.maxNameCharacters, "variables")
    }
}

extension MergeThreadRequest: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {}
}

extension SplitThreadRequest: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {}
}

extension RenderRequest: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {
        try Bounds.count(variables, max: WireBounds.maxTemplateVariables, "variables")
        for (k, v) in variables ?? [:] {
            try Bounds.length(k, max: WireBounds.maxNameCharacters, "variables (a name)")
            try Bounds.length(v, max: WireBounds.maxShortTextCharacters, "variables.\(k.prefix(WireBounds.maxNameCharacters))")
        }
    }
}

extension AutoAssignmentRules: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {
        try checkRanges("")
    }

    /// `prefix` is where the rules sit in the body (`auto_assignment_rules.`), empty for the rules alone.
    func checkRanges(_ prefix: String) throws(FieldRangeError) {
        try Bounds.check(escalationAfterHours, WireBounds.escalationAfterHours, prefix + "escalation_after_hours", unit: "hours")
        try Bounds.count(requiredSkills, max: WireBounds.maxSkills, prefix + "required_skills")
        try Bounds.lengths(requiredSkills, max: WireBounds.maxTagCharacters, prefix + "required_skills")
        try Bounds.count(keywordRules, max: WireBounds.maxKeywordRules, prefix + "keyword_rules")
        for (i, rule) in (keywordRules ?? []).enumerated() {
            try Bounds.count(rule.keywords, max: WireBounds.maxKeywordsPerRule, prefix + "keyword_rules[\(i)].keywords")
            try Bounds.lengths(rule.keywords, max: WireBounds.maxTagCharacters, prefix + "keyword_rules[\(i)].keywords")
        }
        try Bounds.count(byThreadType, max: ThreadType.allCases.count, prefix + "by_thread_type")
        for key in (byThreadType ?? [:]).keys.sorted() {
            let route = byThreadType![key]!
            try Bounds.check(route.escalationAfterHours, WireBounds.escalationAfterHours, prefix + "\(key).escalation_after_hours", unit: "hours")
            try Bounds.count(route.requiredSkills, max: WireBounds.maxSkills, prefix + "\(key).required_skills")
            try Bounds.lengths(route.requiredSkills, max: WireBounds.maxTagCharacters, prefix + "\(key).required_skills")
        }
    }
}

extension ChannelRequest: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {
        try Bounds.length(channelName, max: WireBounds.maxNameCharacters, "channel_name")
        try Bounds.check(responseSlaHours, WireBounds.responseSlaHours, "response_sla_hours", unit: "hours")
        try autoAssignmentRules?.checkRanges("auto_assignment_rules.")
        try FreeFormJSON.check(configuration, "configuration")
        try FreeFormJSON.check(escalationRules, "escalation_rules")
    }
}

extension ContactRequest: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {
        try Bounds.length(name, max: WireBounds.maxNameCharacters, "name")
        try Bounds.length(email, max: WireBounds.maxNameCharacters, "email")
        try Bounds.length(phone, max: WireBounds.maxNameCharacters, "phone")
        try Bounds.count(teams, max: WireBounds.maxTeamsPerContact, "teams")
        try Bounds.count(skills, max: WireBounds.maxSkills, "skills")
        try Bounds.lengths(skills, max: WireBounds.maxTagCharacters, "skills")
        try Bounds.check(maxOpenThreads, WireBounds.maxOpenThreads, "max_open_threads")
        if case .some(.some(let h)) = dailyDigestHour { try Bounds.check(h, 0...23, "daily_digest_hour", unit: "(a local hour)") }
    }
}

extension TeamRequest: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {
        try Bounds.length(name, max: WireBounds.maxNameCharacters, "name")
        if case .some(.some(let b)) = businessHours {
            try FreeFormJSON.check(b, "business_hours")  // its format: the supervisor (BusinessHoursSpec)
        }
    }
}

extension TokenRequest: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {
        try Bounds.length(label, max: WireBounds.maxNameCharacters, "label")
    }
}

extension DirectoryRequest: RangeChecked {
    public func checkRanges() throws(FieldRangeError) {
        for (i, o) in (organizations ?? []).enumerated() {
            try Bounds.length(o.name, max: WireBounds.maxNameCharacters * 5, "organizations[\(i)].name")
        }
        for (i, c) in (customers ?? []).enumerated() {
            try Bounds.length(c.name, max: WireBounds.maxNameCharacters * 5, "customers[\(i)].name")
            try Bounds.count(c.emails, max: WireBounds.maxEmailsOrPhonesPerCustomer, "customers[\(i)].emails")
            try Bounds.count(c.phones, max: WireBounds.maxEmailsOrPhonesPerCustomer, "customers[\(i)].phones")
        }
        for (i, o) in (orders ?? []).enumerated() {
            try Bounds.length(o.orderNumber, max: WireBounds.maxNameCharacters, "orders[\(i)].order_number")
            try Bounds.count(o.lines, max: WireBounds.maxOrderLines, "orders[\(i)].lines")
            for (j, l) in (o.lines ?? []).enumerated() {
                try Bounds.length(l.description, max: WireBounds.maxShortTextCharacters, "orders[\(i)].lines[\(j)].description")
                try Bounds.length(l.price, max: WireBounds.maxNameCharacters, "orders[\(i)].lines[\(j)].price")
                try Bounds.check(l.quantity, WireBounds.orderLineQuantity, "orders[\(i)].lines[\(j)].quantity")
            }
        }
    }
}
