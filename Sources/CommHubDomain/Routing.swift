/// A reference to a team in routing rules: its id or its name (as people
/// write rules by hand, `"technical"` is accepted as well as a UUID).
public typealias TeamReference = String

/// A keyword rule: when the first message mentions one of `keywords`
/// (case-insensitive), it sets the thread type and/or priority and may send
/// the thread to a team with required skills.
public struct KeywordRule: Codable, Sendable, Hashable {
    public var keywords: [String]
    public var threadType: ThreadType?
    public var priority: Priority?
    public var assignTo: TeamReference?
    public var requiredSkills: [String]?

    public init(keywords: [String], threadType: ThreadType? = nil, priority: Priority? = nil,
                assignTo: TeamReference? = nil, requiredSkills: [String]? = nil) {
        self.keywords = keywords; self.threadType = threadType; self.priority = priority
        self.assignTo = assignTo; self.requiredSkills = requiredSkills
    }
}

/// What a decoder refused while reading a value (unknown keys): kept for
/// validation to report, but not part of the value. Two values that differ
/// only in these notes are equal, so a journal record read, written and
/// read again is the same event (the fuzzer's round trip found the notes
/// lost on writing, as intended, and the event unequal).
public struct DecodingNotes: Sendable, Hashable {
    public var problems: [String] = []
    public static func == (_: Self, _: Self) -> Bool { true }
    public func hash(into _: inout Hasher) {}
}

/// Routing for one thread type: its team (`default_assignee`), the skills and
/// priority its threads get, and where they escalate
/// (`escalation_after_hours`, `escalation_to`; these beat the rules' own).
public struct TypeRoute: Sendable, Hashable {
    public var defaultAssignee: TeamReference?
    public var requiredSkills: [String]?
    public var priority: Priority?
    public var escalationAfterHours: Double?
    public var escalationTo: TeamReference?
    /// What the decoder refused (unknown keys), reported by `AutoAssignmentRules.validationErrors()`; never encoded.
    public var decodingProblems: [String] {
        get { decodingNotes.problems }
        set { decodingNotes.problems = newValue }
    }
    var decodingNotes = DecodingNotes()

    public init(defaultAssignee: TeamReference? = nil, requiredSkills: [String]? = nil, priority: Priority? = nil,
                escalationAfterHours: Double? = nil, escalationTo: TeamReference? = nil) {
        self.defaultAssignee = defaultAssignee; self.requiredSkills = requiredSkills; self.priority = priority
        self.escalationAfterHours = escalationAfterHours; self.escalationTo = escalationTo
    }
}

/// `auto_assignment_rules` in the owner's shape: `default_assignee` (a
/// team), `skill_matching`, `escalation_after_hours`, `escalation_to`, plus
/// optional keyword rules and per-thread-type routes. Used per channel and,
/// as the engine's global rules, per thread type.
///
/// Per-thread-type routes come in two shapes, read alike: the owner's, with
/// thread types as top-level keys
/// (`{"customer_support": {"default_assignee": "customer_service_team", "escalation_after_hours": 4, "escalation_to": "support_manager"}}`),
/// and `by_thread_type` (`{"by_thread_type": {"customer_support": {…}}}`).
/// Both may be mixed, but a thread type given twice is an error; the rules
/// are stored and returned as `by_thread_type`. Any other key is an error
/// naming it and the keys allowed (`validationErrors()`), never dropped.
public struct AutoAssignmentRules: Sendable, Hashable {
    public var defaultAssignee: TeamReference?
    public var skillMatching: Bool?
    public var requiredSkills: [String]?
    public var escalationAfterHours: Double?
    public var escalationTo: TeamReference?
    public var keywordRules: [KeywordRule]?
    public var byThreadType: [String: TypeRoute]?
    /// What the decoder refused (unknown or repeated keys), reported by `validationErrors()`; never encoded.
    public var decodingProblems: [String] {
        get { decodingNotes.problems }
        set { decodingNotes.problems = newValue }
    }
    var decodingNotes = DecodingNotes()

    public init(defaultAssignee: TeamReference? = nil, skillMatching: Bool? = nil, requiredSkills: [String]? = nil,
                escalationAfterHours: Double? = nil, escalationTo: TeamReference? = nil,
                keywordRules: [KeywordRule]? = nil, byThreadType: [String: TypeRoute]? = nil) {
        self.defaultAssignee = defaultAssignee; self.skillMatching = skillMatching; self.requiredSkills = requiredSkills
        self.escalationAfterHours = escalationAfterHours; self.escalationTo = escalationTo
        self.keywordRules = keywordRules; self.byThreadType = byThreadType
    }

    /// Checks what decoding cannot: thread types named in `by_thread_type`, unknown keys.
    public func validationErrors() -> [String] {
        var errors = decodingProblems
        for key in (byThreadType ?? [:]).keys.sorted() {
            if ThreadType(rawValue: key) == nil {
                errors.append("by_thread_type: '\(key)' is not one of: \(ThreadType.allowedValues.joined(separator: ", "))")
            }
            errors += byThreadType![key]!.decodingProblems.map { "\(key).\($0)" }
        }
        for (i, rule) in (keywordRules ?? []).enumerated() where rule.keywords.isEmpty {
            errors.append("keyword_rules[\(i)]: keywords must not be empty")
        }
        return errors
    }

    /// Every team reference of the rules with where it stands
    /// (`default_assignee`, `customer_support.default_assignee`,
    /// `keyword_rules[0].assign_to`), for checking them against the teams.
    public var teamReferences: [(path: String, team: TeamReference)] {
        var out: [(String, TeamReference)] = []
        if let t = defaultAssignee { out.append(("default_assignee", t)) }
        for (i, r) in (keywordRules ?? []).enumerated() {
            if let t = r.assignTo { out.append(("keyword_rules[\(i)].assign_to", t)) }
        }
        for key in (byThreadType ?? [:]).keys.sorted() {
            if let t = byThreadType![key]!.defaultAssignee { out.append(("\(key).default_assignee", t)) }
        }
        return out
    }
}

/// Coding of the rules. Keys are matched in snake_case whatever spelling
/// reaches the decoder: the contract's decoder turns `customer_support`
/// into `customerSupport`, the journal's keeps Swift's names.
extension AutoAssignmentRules: Codable {
    static let ruleKeys = ["default_assignee", "skill_matching", "required_skills", "escalation_after_hours",
                           "escalation_to", "keyword_rules", "by_thread_type"]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        var routes: [String: TypeRoute] = [:]
        var problems: [String] = []
        func add(_ type: String, _ route: TypeRoute, from where_: String) {
            if routes[type] != nil {
                problems.append("\(type) is given twice (at the top level and in by_thread_type); give it once")
            } else {
                routes[type] = route
            }
        }
        var byThreadTypeGiven = false
        for key in c.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
            let name = ContractJSON.snake(key.stringValue)
            switch name {
            case "default_assignee": defaultAssignee = try c.decodeIfPresent(String.self, forKey: key)
            case "skill_matching": skillMatching = try c.decodeIfPresent(Bool.self, forKey: key)
            case "required_skills": requiredSkills = try c.decodeIfPresent([String].self, forKey: key)
            case "escalation_after_hours": escalationAfterHours = try c.decodeIfPresent(Double.self, forKey: key)
            case "escalation_to": escalationTo = try c.decodeIfPresent(String.self, forKey: key)
            case "keyword_rules": keywordRules = try c.decodeIfPresent([KeywordRule].self, forKey: key)
            case "by_thread_type":
                guard try !c.decodeNil(forKey: key) else { continue }
                byThreadTypeGiven = true
                let nested = try c.nestedContainer(keyedBy: Key.self, forKey: key)
                for k in nested.allKeys {
                    // Not read as snake_case: a thread type is a value here, and the contract keeps it as sent.
                    let type = ThreadType(rawValue: k.stringValue) != nil ? k.stringValue : ContractJSON.snake(k.stringValue)
                    add(type, try nested.decode(TypeRoute.self, forKey: k), from: "by_thread_type")
                }
            default:
                if ThreadType(rawValue: name) != nil {
                    add(name, try c.decode(TypeRoute.self, forKey: key), from: "top level")
                } else {
                    problems.append("'\(name)' is not a rules key; use \(Self.ruleKeys.joined(separator: ", ")), "
                                    + "or a thread type (\(ThreadType.allowedValues.joined(separator: ", "))) as a key")
                }
            }
        }
        if byThreadTypeGiven || !routes.isEmpty { byThreadType = routes }
        decodingProblems = problems
    }

    enum CodingKeys: String, CodingKey {
        case defaultAssignee, skillMatching, requiredSkills, escalationAfterHours, escalationTo, keywordRules, byThreadType
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(defaultAssignee, forKey: .defaultAssignee)
        try c.encodeIfPresent(skillMatching, forKey: .skillMatching)
        try c.encodeIfPresent(requiredSkills, forKey: .requiredSkills)
        try c.encodeIfPresent(escalationAfterHours, forKey: .escalationAfterHours)
        try c.encodeIfPresent(escalationTo, forKey: .escalationTo)
        try c.encodeIfPresent(keywordRules, forKey: .keywordRules)
        try c.encodeIfPresent(byThreadType, forKey: .byThreadType)
    }
}

extension TypeRoute: Codable {
    static let routeKeys = ["default_assignee", "required_skills", "priority", "escalation_after_hours", "escalation_to"]

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AutoAssignmentRules.Key.self)
        for key in c.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
            switch ContractJSON.snake(key.stringValue) {
            case "default_assignee": defaultAssignee = try c.decodeIfPresent(String.self, forKey: key)
            case "required_skills": requiredSkills = try c.decodeIfPresent([String].self, forKey: key)
            case "priority": priority = try c.decodeIfPresent(Priority.self, forKey: key)
            case "escalation_after_hours": escalationAfterHours = try c.decodeIfPresent(Double.self, forKey: key)
            case "escalation_to": escalationTo = try c.decodeIfPresent(String.self, forKey: key)
            case let other:
                decodingProblems.append("'\(other)' is not a key of a thread type's rule; use \(Self.routeKeys.joined(separator: ", "))")
            }
        }
    }

    enum CodingKeys: String, CodingKey { case defaultAssignee, requiredSkills, priority, escalationAfterHours, escalationTo }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(defaultAssignee, forKey: .defaultAssignee)
        try c.encodeIfPresent(requiredSkills, forKey: .requiredSkills)
        try c.encodeIfPresent(priority, forKey: .priority)
        try c.encodeIfPresent(escalationAfterHours, forKey: .escalationAfterHours)
        try c.encodeIfPresent(escalationTo, forKey: .escalationTo)
    }
}

/// What routing decided for a new thread, before a person is chosen.
public struct RoutingDecision: Sendable, Hashable {
    public var threadType: ThreadType
    public var priority: Priority
    public var team: TeamReference?
    public var requiredSkills: [String]
    public var skillMatching: Bool
    public var escalationAfterHours: Double?
    public var escalationTo: TeamReference?
    /// Which rule decided the team, for the audit trail and the admin socket.
    public var reason: String
}

/// Pure routing choice for a new thread: keyword rules classify the first
/// message, then the channel's rules, then the engine's global rules decide
/// the team. Precedence, most specific first:
/// keyword rule team → channel by_thread_type → global by_thread_type →
/// channel default_assignee → global default_assignee.
public enum RoutingPlanner {
    public static func plan(subject: String?, body: String, requestedType: ThreadType?, requestedPriority: Priority?,
                            channelRules: AutoAssignmentRules?, globalRules: AutoAssignmentRules?) -> RoutingDecision {
        let text = ((subject ?? "") + "\n" + body).lowercased()
        var type = requestedType ?? .customerSupport
        var priority = requestedPriority ?? .normal
        var team: TeamReference?
        var skills: [String] = []
        var reason = "default"

        let keywordRules = (channelRules?.keywordRules ?? []) + (globalRules?.keywordRules ?? [])
        if requestedType == nil || requestedPriority == nil {
            for rule in keywordRules where rule.keywords.contains(where: { !$0.isEmpty && text.contains($0.lowercased()) }) {
                if requestedType == nil, let t = rule.threadType { type = t }
                if requestedPriority == nil, let p = rule.priority { priority = max(priority, p) }
                if team == nil, let t = rule.assignTo {
                    team = t
                    reason = "keyword rule (\(rule.keywords.joined(separator: ", ")))"
                }
                if let s = rule.requiredSkills { skills += s }
                break
            }
        }
        let routes = [channelRules?.byThreadType?[type.rawValue], globalRules?.byThreadType?[type.rawValue]]
        var escalationAfterHours: Double?
        var escalationTo: TeamReference?
        for (i, route) in routes.enumerated() {
            guard let route else { continue }
            if team == nil, let t = route.defaultAssignee {
                team = t
                reason = i == 0 ? "channel rule for \(type.rawValue)" : "global rule for \(type.rawValue)"
            }
            if let s = route.requiredSkills { skills += s }
            if requestedPriority == nil, let p = route.priority { priority = max(priority, p) }
            // The most specific thread-type rule that names an escalation wins.
            if escalationAfterHours == nil { escalationAfterHours = route.escalationAfterHours }
            if escalationTo == nil { escalationTo = route.escalationTo }
        }
        if team == nil, let t = channelRules?.defaultAssignee {
            team = t
            reason = "channel default_assignee"
        }
        if team == nil, let t = globalRules?.defaultAssignee {
            team = t
            reason = "global default_assignee"
        }
        skills += channelRules?.requiredSkills ?? []
        var seen = Set<String>()
        skills = skills.map { $0.lowercased() }.filter { seen.insert($0).inserted }
        return RoutingDecision(
            threadType: type, priority: priority, team: team, requiredSkills: skills,
            skillMatching: channelRules?.skillMatching ?? globalRules?.skillMatching ?? true,
            escalationAfterHours: escalationAfterHours ?? channelRules?.escalationAfterHours ?? globalRules?.escalationAfterHours,
            escalationTo: escalationTo ?? channelRules?.escalationTo ?? globalRules?.escalationTo,
            reason: reason)
    }
}

/// One agent as the assignment choice sees it.
public struct AgentCandidate: Sendable, Hashable {
    public var id: ContactID
    public var presence: Presence
    public var skills: Set<String>
    public var openThreads: Int
    public var maxOpenThreads: Int
    /// Position in the team's stable order, for round-robin tie breaking.
    public var order: Int

    public init(id: ContactID, presence: Presence, skills: Set<String>, openThreads: Int, maxOpenThreads: Int, order: Int) {
        self.id = id; self.presence = presence; self.skills = skills; self.openThreads = openThreads
        self.maxOpenThreads = maxOpenThreads; self.order = order
    }

    public var hasCapacity: Bool { openThreads < maxOpenThreads }
}

/// Pure choice of a person within a team: among online members with the
/// required skills and free capacity, the least loaded; ties go round-robin,
/// starting after the member who got the previous tie (`lastOrder`).
public enum AgentPicker {
    @inlinable
    public static func pick(_ candidates: some Sequence<AgentCandidate>, requiredSkills: [String],
                            skillMatching: Bool, lastOrder: Int?) -> AgentCandidate? {
        var best: AgentCandidate?
        for c in candidates where c.presence == .online && c.hasCapacity {
            if skillMatching, !requiredSkills.allSatisfy({ c.skills.contains($0) }) { continue }
            guard let b = best else { best = c; continue }
            if c.openThreads < b.openThreads {
                best = c
            } else if c.openThreads == b.openThreads,
                      roundRobinDistance(c.order, after: lastOrder) < roundRobinDistance(b.order, after: lastOrder) {
                best = c
            }
        }
        return best
    }

    /// Distance going forward from `last` (exclusive), wrapping around.
    @inlinable @inline(__always)
    public static func roundRobinDistance(_ order: Int, after last: Int?) -> Int {
        guard let last else { return order }
        return order > last ? order - last : order - last + Int(Int32.max)
    }
}

/// How a team reference in rules (`default_assignee`, `assign_to`) finds its
/// team, in this order: the team's id; its name, ignoring case; its slug.
/// A slug is the name in lower case with every run of characters other
/// than letters and digits as one `_`, and a trailing `_team` does not
/// count: `customer_service_team`, `customer-service` and `Customer Service`
/// all name the team "Customer service".
public enum TeamReferenceMatch {
    public static func slug(_ s: String) -> String {
        var out = ""
        var gap = false
        for ch in s.lowercased() {
            if ch.isLetter || ch.isNumber {
                if gap, !out.isEmpty { out.append("_") }
                out.append(ch)
                gap = false
            } else {
                gap = true
            }
        }
        return out.hasSuffix("_team") ? String(out.dropLast(5)) : out
    }

    /// Whether `reference` names the team called `name` by name or slug.
    public static func names(_ reference: String, _ name: String) -> Bool {
        reference.lowercased() == name.lowercased() || (!slug(reference).isEmpty && slug(reference) == slug(name))
    }
}
