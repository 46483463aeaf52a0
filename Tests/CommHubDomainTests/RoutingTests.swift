import CommHubDomain
import Testing

@Suite("Routing plan: which team, which type")
struct RoutingPlannerTests {
    let technical = KeywordRule(keywords: ["werkt niet", "storing"], threadType: .technicalIssue, priority: .high)

    func plan(_ body: String, subject: String? = nil, type: ThreadType? = nil, priority: Priority? = nil,
              channel: AutoAssignmentRules?, global: AutoAssignmentRules?) -> RoutingDecision {
        RoutingPlanner.plan(subject: subject, body: body, requestedType: type, requestedPriority: priority,
                            channelRules: channel, globalRules: global)
    }

    /// Rules that name a different team at every level, so the winner shows which level decided.
    func layered(keywordTeam: String? = "kw-team", channelType: String? = "ch-type", globalType: String? = "gl-type",
                 channelDefault: String? = "ch-default", globalDefault: String? = "gl-default")
        -> (AutoAssignmentRules, AutoAssignmentRules) {
        var kw = technical
        kw.assignTo = keywordTeam
        let channel = AutoAssignmentRules(
            defaultAssignee: channelDefault, keywordRules: [kw],
            byThreadType: channelType.map { ["technical_issue": TypeRoute(defaultAssignee: $0)] })
        let global = AutoAssignmentRules(
            defaultAssignee: globalDefault,
            byThreadType: globalType.map { ["technical_issue": TypeRoute(defaultAssignee: $0)] })
        return (channel, global)
    }

    @Test("precedence: keyword rule → channel by_thread_type → global by_thread_type → channel default → global default")
    func precedence() {
        let body = "De laadpaal werkt niet"
        var (c, g) = layered()
        #expect(plan(body, channel: c, global: g).team == "kw-team")
        #expect(plan(body, channel: c, global: g).reason.contains("keyword"))
        (c, g) = layered(keywordTeam: nil)
        #expect(plan(body, channel: c, global: g).team == "ch-type")
        #expect(plan(body, channel: c, global: g).reason == "channel rule for technical_issue")
        (c, g) = layered(keywordTeam: nil, channelType: nil)
        #expect(plan(body, channel: c, global: g).team == "gl-type")
        #expect(plan(body, channel: c, global: g).reason == "global rule for technical_issue")
        (c, g) = layered(keywordTeam: nil, channelType: nil, globalType: nil)
        #expect(plan(body, channel: c, global: g).team == "ch-default")
        #expect(plan(body, channel: c, global: g).reason == "channel default_assignee")
        (c, g) = layered(keywordTeam: nil, channelType: nil, globalType: nil, channelDefault: nil)
        #expect(plan(body, channel: c, global: g).team == "gl-default")
        #expect(plan(body, channel: c, global: g).reason == "global default_assignee")
        (c, g) = layered(keywordTeam: nil, channelType: nil, globalType: nil, channelDefault: nil, globalDefault: nil)
        #expect(plan(body, channel: c, global: g).team == nil)
    }

    @Test("a type route only applies to its own type")
    func typeRouteOnlyForItsType() {
        let (c, g) = layered(keywordTeam: nil)
        // No keyword: the thread stays customer_support, so the technical routes do not apply.
        let d = plan("Wanneer komt de monteur?", channel: c, global: g)
        #expect(d.threadType == .customerSupport)
        #expect(d.team == "ch-default")
    }

    @Test("keyword classification", arguments: [
        ("Mijn laadpaal werkt niet meer", ThreadType.technicalIssue, Priority.high),
        ("STORING bij de laadpaal", .technicalIssue, .high),
        ("Er is een Storing", .technicalIssue, .high),
        ("Wanneer wordt er geïnstalleerd?", .customerSupport, .normal),
        ("werktniet", .customerSupport, .normal),
    ] as [(String, ThreadType, Priority)])
    func classification(_ body: String, _ type: ThreadType, _ priority: Priority) {
        let d = plan(body, channel: AutoAssignmentRules(keywordRules: [technical]), global: nil)
        #expect(d.threadType == type)
        #expect(d.priority == priority)
    }

    @Test("keywords in the subject count too; channel keyword rules come before global ones")
    func subjectAndOrder() {
        let complaint = KeywordRule(keywords: ["klacht"], threadType: .complaint, assignTo: "complaints")
        let d = plan("Zie onderwerp", subject: "Klacht: storing", channel: AutoAssignmentRules(keywordRules: [complaint]),
                     global: AutoAssignmentRules(keywordRules: [technical]))
        #expect(d.threadType == .complaint)
        #expect(d.team == "complaints")
    }

    @Test("a requested type or priority is not overridden by keywords; keyword priority only raises")
    func requested() {
        let rules = AutoAssignmentRules(keywordRules: [technical])
        let d = plan("storing", type: .complaint, priority: .low, channel: rules, global: nil)
        #expect(d.threadType == .complaint)
        #expect(d.priority == .low)
        let lowRule = KeywordRule(keywords: ["storing"], priority: .low)
        let e = plan("storing", channel: AutoAssignmentRules(keywordRules: [lowRule]), global: nil)
        #expect(e.priority == .normal)
    }

    @Test("skills are gathered from keyword, type route and channel, lower-cased and unique")
    func skills() {
        var kw = technical
        kw.requiredSkills = ["EV", "dutch"]
        let channel = AutoAssignmentRules(skillMatching: true, requiredSkills: ["Dutch"], keywordRules: [kw],
                                          byThreadType: ["technical_issue": TypeRoute(requiredSkills: ["electrician"])])
        let d = plan("storing", channel: channel, global: AutoAssignmentRules(escalationAfterHours: 8, escalationTo: "managers"))
        #expect(d.requiredSkills == ["ev", "dutch", "electrician"])
        #expect(d.skillMatching)
        #expect(d.escalationAfterHours == 8)
        #expect(d.escalationTo == "managers")
    }

    @Test("validation names bad thread types and empty keyword lists")
    func validation() {
        let r = AutoAssignmentRules(keywordRules: [KeywordRule(keywords: [])], byThreadType: ["techincal_issue": TypeRoute()])
        let errors = r.validationErrors()
        #expect(errors.count == 2)
        #expect(errors.contains { $0.contains("'techincal_issue'") && $0.contains("technical_issue") })
        #expect(errors.contains { $0.contains("keyword_rules[0]") })
        #expect(AutoAssignmentRules(byThreadType: ["complaint": TypeRoute()]).validationErrors().isEmpty)
    }
}

@Suite("Agent picking within a team")
struct AgentPickerTests {
    func agent(_ order: Int, _ presence: Presence = .online, skills: Set<String> = [], open: Int = 0, max: Int = 10) -> AgentCandidate {
        AgentCandidate(id: ContactID(), presence: presence, skills: skills, openThreads: open, maxOpenThreads: max, order: order)
    }

    @Test("only online members")
    func onlineOnly() {
        let away = agent(0, .away), offline = agent(1, .offline), online = agent(2, open: 9)
        #expect(AgentPicker.pick([away, offline, online], requiredSkills: [], skillMatching: true, lastOrder: nil)?.id == online.id)
        #expect(AgentPicker.pick([away, offline], requiredSkills: [], skillMatching: true, lastOrder: nil) == nil)
    }

    @Test("required skills, unless skill matching is off")
    func skills() {
        let plain = agent(0), ev = agent(1, skills: ["ev", "dutch"], open: 5)
        #expect(AgentPicker.pick([plain, ev], requiredSkills: ["ev"], skillMatching: true, lastOrder: nil)?.id == ev.id)
        #expect(AgentPicker.pick([plain, ev], requiredSkills: ["ev", "german"], skillMatching: true, lastOrder: nil) == nil)
        #expect(AgentPicker.pick([plain, ev], requiredSkills: ["ev"], skillMatching: false, lastOrder: nil)?.id == plain.id)
    }

    @Test("free capacity")
    func capacity() {
        let full = agent(0, open: 3, max: 3), zero = agent(1, max: 0), room = agent(2, open: 8, max: 9)
        #expect(AgentPicker.pick([full, zero, room], requiredSkills: [], skillMatching: true, lastOrder: nil)?.id == room.id)
        #expect(AgentPicker.pick([full, zero], requiredSkills: [], skillMatching: true, lastOrder: nil) == nil)
    }

    @Test("least loaded wins")
    func leastLoaded() {
        let a = agent(0, open: 4), b = agent(1, open: 2), c = agent(2, open: 3)
        #expect(AgentPicker.pick([a, b, c], requiredSkills: [], skillMatching: true, lastOrder: 0)?.id == b.id)
    }

    @Test("ties go round-robin after the previous pick, wrapping around")
    func roundRobin() {
        let team = [agent(0, open: 1), agent(1, open: 1), agent(2, open: 1), agent(3, open: 5)]
        func pick(_ last: Int?) -> Int? {
            AgentPicker.pick(team, requiredSkills: [], skillMatching: true, lastOrder: last)?.order
        }
        #expect(pick(nil) == 0)
        #expect(pick(0) == 1)
        #expect(pick(1) == 2)
        #expect(pick(2) == 0)   // 3 is busier: wrap to 0
        #expect(pick(3) == 0)
        // Simulated sequence of equal-load picks cycles through everyone.
        var last: Int?
        var seen: [Int] = []
        for _ in 0..<6 { last = pick(last); seen.append(last!) }
        #expect(seen == [0, 1, 2, 0, 1, 2])
    }
}
