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

/// Routing for one thread type.
public struct TypeRoute: Codable, Sendable, Hashable {
    public var defaultAssignee: TeamReference?
    public var requiredSkills: [String]?
    public var priority: Priority?

    public init(defaultAssignee: TeamReference? = nil, requiredSkills: [String]? = nil, priority: Priority? = nil) {
        self.defaultAssignee = defaultAssignee; self.requiredSkills = requiredSkills; self.priority = priority
    }
}

/// `auto_assignment_rules` in the owner's shape: `default_assignee` (a
/// team), `skill_matching`, `escalation_after_hours`, `escalation_to`, plus
/// optional keyword rules and per-thread-type routes. Used per channel and,
/// as the engine's global rules, per thread type.
public struct AutoAssignmentRules: Codable, Sendable, Hashable {
    public var defaultAssignee: TeamReference?
    public var skillMatching: Bool?
    public var requiredSkills: [String]?
    public var escalationAfterHours: Double?
    public var escalationTo: TeamReference?
    public var keywordRules: [KeywordRule]?
    public var byThreadType: [String: TypeRoute]?

    public init(defaultAssignee: TeamReference? = nil, skillMatching: Bool? = nil, requiredSkills: [String]? = nil,
                escalationAfterHours: Double? = nil, escalationTo: TeamReference? = nil,
                keywordRules: [KeywordRule]? = nil, byThreadType: [String: TypeRoute]? = nil) {
        self.defaultAssignee = defaultAssignee; self.skillMatching = skillMatching; self.requiredSkills = requiredSkills
        self.escalationAfterHours = escalationAfterHours; self.escalationTo = escalationTo
        self.keywordRules = keywordRules; self.byThreadType = byThreadType
    }

    /// Checks what decoding cannot: thread types named in `by_thread_type`.
    public func validationErrors() -> [String] {
        var errors: [String] = []
        for key in (byThreadType ?? [:]).keys where ThreadType(rawValue: key) == nil {
            errors.append("by_thread_type: '\(key)' is not one of: \(ThreadType.allowedValues.joined(separator: ", "))")
        }
        for (i, rule) in (keywordRules ?? []).enumerated() where rule.keywords.isEmpty {
            errors.append("keyword_rules[\(i)]: keywords must not be empty")
        }
        return errors
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
        for (i, route) in routes.enumerated() {
            guard let route else { continue }
            if team == nil, let t = route.defaultAssignee {
                team = t
                reason = i == 0 ? "channel rule for \(type.rawValue)" : "global rule for \(type.rawValue)"
            }
            if let s = route.requiredSkills { skills += s }
            if requestedPriority == nil, let p = route.priority { priority = max(priority, p) }
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
            escalationAfterHours: channelRules?.escalationAfterHours ?? globalRules?.escalationAfterHours,
            escalationTo: channelRules?.escalationTo ?? globalRules?.escalationTo,
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
