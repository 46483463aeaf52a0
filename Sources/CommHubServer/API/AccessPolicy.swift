import CommHubDomain

/// What each role may do. A pure table, walked by the role × endpoint test.
///
/// - agent: threads of their teams and threads assigned to them; may
///   answer, note and change status/priority/tags; no reassignment, no configuration.
/// - team_leader: as agent, plus reassign within their teams, team analytics.
/// - manager: every thread, reassign anywhere, all analytics.
/// - admin: everything, including configuration, channels, templates, contacts, tokens, audit.
/// - executive: read-only, everything.
public enum AccessPolicy {
    public enum Action: String, Sendable, CaseIterable {
        case readThreads, writeThreads, reassignInTeam, reassignAnywhere
        case readConfiguration, writeConfiguration, manageTokens, readAudit
        case readAnalytics, readAllAnalytics, writeTasks, writeTemplates, writeDirectory
    }

    public static func allows(_ role: ContactRole, _ action: Action) -> Bool {
        switch role {
        case .admin:
            return true
        case .executive:
            return [.readThreads, .readConfiguration, .readAudit, .readAnalytics, .readAllAnalytics].contains(action)
        case .manager:
            return ![.writeConfiguration, .manageTokens].contains(action)
        case .teamLeader:
            return [.readThreads, .writeThreads, .reassignInTeam, .readConfiguration, .readAnalytics, .writeTasks].contains(action)
        case .agent:
            return [.readThreads, .writeThreads, .readConfiguration, .writeTasks].contains(action)
        }
    }

    /// Whether the role sees every thread (otherwise: own teams and own assignments).
    public static func seesAllThreads(_ role: ContactRole) -> Bool {
        role == .admin || role == .manager || role == .executive
    }
}
