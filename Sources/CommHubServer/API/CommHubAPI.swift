import CommHubDomain
import CommHubEngine
import CommHubStore
import Foundation
import Hummingbird
import Logging

/// The HTTP API of API.md. Handlers are thin: validate, check access, call
/// the supervisor, wait until the journal holds the change, answer.
public struct CommHubAPI: Sendable {
    public let engine: Engine
    public let secrets: SecretBox
    public let logger: Logger

    public init(engine: Engine, secrets: SecretBox, logger: Logger) {
        self.engine = engine
        self.secrets = secrets
        self.logger = logger
    }

    var supervisor: Supervisor { engine.supervisor }

    /// Registers every `/api` route on `group` (authentication already applied).
    func register(on api: RouterGroup<APIContext>) {
        registerThreads(api)
        registerCases(api)
        registerMessages(api)
        registerTasks(api)
        registerTemplates(api)
        registerConfiguration(api)
        registerIngest(api)
        registerAudit(api)
        registerAnalytics(api)
        registerKPIs(api)
        registerAttachments(api)
        registerWorkflow(api)
        registerPrivacy(api)
        registerRetention(api)
    }

    // MARK: Shared helpers

    func require(_ action: AccessPolicy.Action, _ context: APIContext) throws -> Identity {
        let who = try context.caller()
        guard let role = who.role else { throw APIError.forbidden("this token cannot do that") }
        guard AccessPolicy.allows(role, action) else {
            throw APIError.forbidden("role \(role.rawValue) may not \(Self.describe(action))")
        }
        return who
    }

    static func describe(_ a: AccessPolicy.Action) -> String {
        switch a {
        case .readThreads: "read threads"
        case .writeThreads: "change threads"
        case .reassignInTeam: "reassign threads"
        case .reassignAnywhere: "reassign threads outside their teams"
        case .readConfiguration: "read teams, contacts, routing rules and the channel list"
        case .readChannelConfiguration: "read channel configuration"
        case .writeConfiguration: "change configuration"
        case .manageTokens: "manage tokens"
        case .readAudit: "read the audit trail"
        case .readAnalytics: "read analytics"
        case .readAllAnalytics: "read analytics of other teams"
        case .writeTasks: "change tasks"
        case .writeTemplates: "change templates"
        case .writeDirectory: "change the customer directory"
        case .personalData: "export or erase a customer's personal data"
        }
    }

    /// Whether `who` may see this thread.
    func canSee(_ h: ThreadHeader, _ who: Identity) -> Bool {
        guard let c = who.contact else { return false }
        if AccessPolicy.seesAllThreads(c.role) { return true }
        if h.assignedToContactID == c.id { return true }
        return h.assignedTeamID.map(c.teams.contains) ?? false
    }

    /// The thread, or 404 (also when the caller may not see it: no existence leak).
    /// `history`: every message, older ones from the store (else the thread's recent messages).
    func visibleThread(_ id: ThreadID, _ who: Identity, history: Bool = false) async throws -> ThreadView {
        guard let v = await supervisor.thread(id, history: history), canSee(v.header, who) else {
            throw APIError.notFound("no thread with id \(id)")
        }
        return v
    }

    /// The thread's header and newest messages (`ThreadViewLimits`), or 404 as `visibleThread`.
    func visiblePage(_ id: ThreadID, _ who: Identity) async throws -> ThreadPage {
        guard let p = await supervisor.thread(id, latest: ThreadViewLimits.latestMessages), canSee(p.view.header, who) else {
            throw APIError.notFound("no thread with id \(id)")
        }
        return p
    }

    /// A thread as GET shows it (after a change the caller made and may see).
    func detail(_ id: ThreadID) async throws -> JSONValue {
        guard let p = await supervisor.thread(id, latest: ThreadViewLimits.latestMessages) else {
            throw APIError.notFound("no thread with id \(id)")
        }
        return try await threadDetail(p)
    }

    /// Records an audit entry and acknowledges once it (and everything before it) is durable.
    func audit(_ context: APIContext, _ action: String, _ entity: String, _ id: String,
               before: (some Encodable)?, after: (some Encodable)?) async throws {
        let who = context.identity
        let entry = AuditEntry(at: engine.clock.now(), actorContactID: who?.contactID, actorTokenID: who?.token.id,
                               action: action, entity: entity, entityID: id,
                               before: try before.map(View.json), after: try after.map(View.json),
                               requestID: context.requestID, scope: await dataScope(entity, id))
        let seq = try await supervisor.audit(entry)
        try await durable(seq)
    }

    /// Whose data an audit entry's before/after are when its entity alone
    /// does not say: a message's and a thread's task are their thread's (the
    /// entry is then shredded with the thread).
    func dataScope(_ entity: String, _ id: String) async -> DataScope? {
        switch entity {
        case "message":
            guard let m = MessageID(id), let t = await supervisor.threadOf(message: m) else { return nil }
            return .thread(t)
        case "task":
            guard let t = TaskID(id), let thread = await supervisor.task(t)?.threadID else { return nil }
            return .thread(thread)
        default:
            return nil
        }
    }

    /// How long a request waits for its commit before answering 503
    /// `not_stored_yet` (the change is applied and queued; it is written as
    /// soon as the journal can commit again).
    static let durableWait: Duration = .seconds(10)

    func durable(_ seq: UInt64) async throws {
        do {
            try await engine.durable(seq, timeout: Self.durableWait)
        } catch let e as StoreError where e.kind == .notYetDurable {
            logger.error("journal commit is late", metadata: ["journal.seq": "\(seq)", "error": "\(e)"])
            throw APIError(.serviceUnavailable, "not_stored_yet", "the change is accepted but not on disk yet (the journal "
                + "cannot write: see /healthz); it is written as soon as writing works again, so do not send it again")
        } catch {
            logger.error("journal commit failed", metadata: ["error": "\(ErrorText.describe(error))"])
            throw APIError(.serviceUnavailable, "not_stored", "the change could not be stored: \(ErrorText.describe(error))")
        }
    }

    static let none: JSONValue? = nil
}
