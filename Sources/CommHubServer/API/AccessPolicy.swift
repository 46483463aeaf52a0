import CommHubDomain

/// What each role may do. A pure table, walked by the role × endpoint test.
///
/// - agent: threads of their teams and threads assigned to them; may
///   answer, note and change status/priority/tags; no reassignment, no configuration.
/// - team_leader: as agent, plus reassign within their teams, team analytics.
/// - manager: every thread, reassign anywhere, all analytics.
/// - admin: everything, including configuration, channels, templates, contacts, tokens, audit.
/// - executive: read-only, everything.
///
/// Reading is split in two: `readConfiguration` is what the inbox needs to
/// work (teams, contacts, routing rules, and the channel list as id, name,
/// type, brand and active flag: every role); `readChannelConfiguration` is
/// a channel's settings (`configuration`, the names of its secrets,
/// assignment and escalation rules, SLA): managers, admins, executives.
/// Agents and team leaders never see a channel's configuration.
public enum AccessPolicy {
    public enum Action: String, Sendable, CaseIterable {
        case readThreads, writeThreads, reassignInTeam, reassignAnywhere
        case readConfiguration, readChannelConfiguration, writeConfiguration, manageTokens, readAudit
        case readAnalytics, readAllAnalytics, writeTasks, writeTemplates, writeDirectory
        /// GDPR export and erasure: admins only.
        case personalData
    }

    public static func allows(_ role: ContactRole, _ action: Action) -> Bool {
        switch role {
        case .admin:
            return true
        case .executive:
            return [.readThreads, .readConfiguration, .readChannelConfiguration, .readAudit, .readAnalytics,
                    .readAllAnalytics].contains(action)
        case .manager:
            return ![.writeConfiguration, .manageTokens, .personalData].contains(action)
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
