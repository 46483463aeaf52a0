import CommHubDomain
import CommHubStore
import Foundation

/// The admin socket's command language: one command per line, one JSON
/// object per answer (`{"ok":true,...}` or `{"ok":false,"error":{...}}`).
/// Transport-free, so tests and the CLI can drive it directly.
public struct AdminConsole: Sendable {
    public let engine: Engine
    /// Present when the engine runs on a simulated clock (`serve --simulated-clock`).
    public let simulatedClock: SimulatedClock?
    /// Takes a snapshot now; provided by the durable host.
    public let snapshot: (@Sendable () async throws -> JSONValue)?
    /// Writes a hot copy to a directory; provided by the durable host.
    public let export: (@Sendable (String) async throws -> JSONValue)?
    /// The LMDB journal, when the engine has one (`journal`, `journal check`).
    public let journal: JournalWriter?
    /// `keys` and `keys rotate [FILE]` (the words after `keys`); provided by the server, which holds the master keys.
    public let keys: (@Sendable ([String]) async throws -> JSONValue)?

    public init(engine: Engine, simulatedClock: SimulatedClock? = nil,
                snapshot: (@Sendable () async throws -> JSONValue)? = nil,
                export: (@Sendable (String) async throws -> JSONValue)? = nil,
                journal: JournalWriter? = nil,
                keys: (@Sendable ([String]) async throws -> JSONValue)? = nil) {
        self.engine = engine
        self.keys = keys
        self.simulatedClock = simulatedClock
        self.snapshot = snapshot
        self.export = export
        self.journal = journal
    }

    public static let commands: [(String, String)] = [
        ("help", "this list"),
        ("stats", "threads by status, agents by presence, queue depths, events/s, last seq, memory"),
        ("stats kpi NAME [DAYS] [channel_type|team_id|agent|business_entity|thread_type]",
         "one KPI (response_times, sla_compliance, volume, …) over the last DAYS days (default 7), optionally grouped"),
        ("agents", "every agent with presence, load and capacity"),
        ("agent ID", "one agent: profile, counters, open threads"),
        ("thread ID", "one thread: header, assignment, message headers"),
        ("queues", "threads waiting for capacity, per team"),
        ("rebalance agent ID", "move an agent's open threads to colleagues (one event)"),
        ("rebalance team ID", "even out a team's load (one event)"),
        ("presence ID online|away|offline", "change an agent's presence"),
        ("snapshot", "write a snapshot now"),
        ("journal", "the journal's health (ok, degraded, stopped), durable seq, commit counters"),
        ("journal check", "validate every journal record and list damage (read-only; repair needs a stopped engine)"),
        ("export DIR", "snapshot, then write a consistent hot copy of the store to DIR"),
        ("clock", "the engine's time"),
        ("clock advance DURATION", "move a simulated clock forward (90m, 5h, 2d) and run what became due"),
        ("timers", "run the workflow timers that are due (SLA ladder, follow-ups, task reminders, digests); count the rest"),
        ("retention", "the retention policy (content of finished threads, audit trail)"),
        ("retention run", "enforce the retention policy now (it also runs on a schedule)"),
        ("keys", "where the master key comes from, whether a rotation is in progress, the KEK generations"),
        ("keys rotate [NEW_KEY_FILE]", "move every data key and stored secret under a new master key while serving (the file is required when the key comes from COMMHUB_MASTER_KEY)"),
    ]

    /// `stats kpi NAME [DAYS] [GROUP]`: the KPI's totals (and groups) from the analytics read model.
    private func kpi(_ w: [String]) async throws -> JSONValue {
        guard let kpi = KPI(rawValue: w[2].lowercased()) else {
            throw EngineError.invalid("no KPI '\(w[2])'; known: \(KPI.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var days = 7
        var group: AnalyticsQuery.Dimension?
        for word in w.dropFirst(3) {
            if let n = Int(word) {
                guard (1...AnalyticsQuery.maxDayBucketsDays).contains(n) else {
                    throw EngineError.invalid("DAYS must be 1…\(AnalyticsQuery.maxDayBucketsDays)")
                }
                days = n
            } else if let g = AnalyticsQuery.Dimension(rawValue: word.lowercased()) {
                group = g
            } else {
                throw EngineError.invalid("'\(word)' is neither a number of days nor a dimension (\(AnalyticsQuery.Dimension.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        let now = engine.clock.now()
        let q = AnalyticsQuery(from: now.addingTimeInterval(-Double(days) * 86_400), to: now, groupBy: group)
        let answer = await engine.supervisor.analyticsFigures().answer(q)
        let prices = engine.configuration.messagePrices
        func object(_ values: [(String, Double?)]) -> JSONValue {
            .object(Dictionary(values.map { ($0.0, $0.1.map(JSONValue.number) ?? .null) }, uniquingKeysWith: { a, _ in a }))
        }
        let workload = answer.latestWorkload
        var out: [String: JSONValue] = ["kpi": .string(kpi.rawValue), "days": .number(Double(days)),
                                        "total": object(kpi.figures(answer.total, workload: workload, prices: prices))]
        if let group {
            var sums: [String: AnalyticsTally] = [:]
            for c in answer.cells { sums[c.group, default: AnalyticsTally()].merge(c.tally) }
            out["group_by"] = .string(group.rawValue)
            out["groups"] = .object(sums.mapValues { object(kpi.figures($0, workload: [:], prices: prices)) })
        }
        return .object(out)
    }

    /// Commands that change state: each one that succeeds is recorded in the
    /// audit trail (`admin.<command>`, entity `admin_socket`, its arguments).
    /// Reading commands are not recorded.
    public static func changesState(_ words: [String]) -> Bool {
        switch words.first?.lowercased() {
        case "rebalance", "presence", "snapshot", "export", "timers": return true
        case "retention": return words.count == 2
        case "keys": return words.count >= 2
        case "clock": return words.count == 3
        default: return false
        }
    }

    /// Answers one command line with one JSON line (no trailing newline).
    public func handle(_ line: String) async -> String {
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        do {
            let body = try await answer(words)
            if Self.changesState(words) { try await recordInTrail(words) }
            var object = body.objectValue ?? ["result": body]
            object["ok"] = .bool(true)
            return Self.encode(.object(object))
        } catch let e as EngineError {
            return Self.error(e.code.rawValue, e.message)
        } catch {
            return Self.error("failed", "\(ErrorText.describe(error))")
        }
    }

    /// An error answer line, for transports that fail before a command runs.
    public static func errorLine(_ code: String, _ message: String) -> String { error(code, message) }

    static func error(_ code: String, _ message: String) -> String {
        encode(.object(["ok": .bool(false), "error": .object(["code": .string(code), "message": .string(message)])]))
    }

    public static func encode(_ v: JSONValue) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? e.encode(v)) ?? Data("{}".utf8), as: UTF8.self)
    }

    private func answer(_ w: [String]) async throws -> JSONValue {
        guard let command = w.first?.lowercased() else { throw EngineError.invalid("empty command; try 'help'") }
        let s = engine.supervisor
        switch (command, w.count) {
        case ("help", 1):
            return .object(["commands": .array(Self.commands.map { .object(["command": .string($0.0), "does": .string($0.1)]) })])

        case ("stats", 1):
            var byStatus: [String: JSONValue] = [:]
            for st in ThreadStatus.allCases { byStatus[st.rawValue] = .number(0) }
            for (st, n) in engine.inbox.countsByStatus() { byStatus[st.rawValue] = .number(Double(n)) }
            var byPresence: [String: JSONValue] = [:]
            for p in Presence.allCases { byPresence[p.rawValue] = .number(0) }
            for p in await s.people() {
                let key = p.contact.presence.rawValue
                byPresence[key] = .number((byPresence[key]?.number ?? 0) + 1)
            }
            let queues = await s.teamWorkloads().reduce(into: [String: JSONValue]()) { $0[$1.name] = .number(Double($1.queueDepth)) }
            let mem = ProcessMemory.residentBytes()
            let threadCount = await s.threadCount
            let recent = await s.recentMessageIDCounts()
            return .object([
                "threads": .number(Double(threadCount)),
                "threads_by_status": .object(byStatus),
                "agents_by_presence": .object(byPresence),
                "queue_depths": .object(queues),
                "overdue": .number(Double(engine.inbox.overdueCount(at: engine.clock.now()))),
                "events_per_second": .number((engine.eventRate() * 10).rounded() / 10),
                "events_committed": .number(Double(engine.committedEvents)),
                "last_seq": .number(Double(engine.journal.lastAssignedSeq)),
                "bus_subscribers": .number(Double(engine.bus.subscriberCount)),
                "recent_provider_ids": .number(Double(recent.external)),
                "recent_message_threads": .number(Double(recent.messageThread)),
                "memory_rss_bytes": .number(Double(mem)),
                "memory_rss_per_thread_bytes": .number(threadCount > 0 ? (Double(mem) / Double(threadCount)).rounded() : 0),
                "uptime_seconds": .number(engine.clock.now().timeIntervalSince(engine.startedAt).rounded()),
            ])

        case ("stats", 3...5) where w[1].lowercased() == "kpi":
            return try await kpi(w)

        case ("agents", 1):
            return .object(["agents": .array(await s.people().map(agentSummary))])

        case ("agent", 2):
            let id = try contactID(w[1])
            guard let p = await s.person(id), let a = await s.agentState(id) else { throw EngineError.notFound("agent", w[1]) }
            let c = p.contact
            var teamNames: [String] = []
            for t in c.teams { teamNames.append(await s.team(t)?.name ?? t.description) }
            var o = agentSummary(p).objectValue!
            o["assigned_total"] = .number(Double(a.assignedTotal))
            o["moved_away"] = .number(Double(a.movedAway))
            o["messages_sent"] = .number(Double(a.messagesSent))
            o["skills"] = .array(c.skills.map(JSONValue.string))
            o["teams"] = .array(teamNames.map(JSONValue.string))
            o["open_threads"] = .array(await s.openThreads(of: id).map(\.description).sorted().map(JSONValue.string))
            return .object(["agent": .object(o)])

        case ("thread", 2):
            guard let id = ThreadID(w[1]) else { throw EngineError.invalid("'\(w[1])' is not a thread id") }
            guard let p = await s.thread(id, latest: ThreadViewLimits.latestMessages) else { throw EngineError.notFound("thread", w[1]) }
            return .object(["thread": try Self.json(p.view.header), "messages": try Self.json(p.view.messages),
                            "messages_truncated": .bool(p.olderLeftOut)])

        case ("queues", 1):
            let list = await s.teamWorkloads(queueHead: 100).sorted { ($0.name, $0.id) < ($1.name, $1.id) }.map { t -> JSONValue in
                .object(["team_id": .string(t.id.description), "team": .string(t.name),
                         "depth": .number(Double(t.queueDepth)),
                         "threads": .array(t.queueHead.map { .string($0.description) })])
            }
            return .object(["queues": .array(list)])

        case ("journal", 1):
            guard let journal else { throw EngineError(.unavailable, "this engine keeps no journal") }
            let st = journal.stats
            var o: [String: JSONValue] = ["durable_seq": .number(Double(st.durableSeq)),
                                          "last_seq": .number(Double(st.lastAssignedSeq)),
                                          "batches_committed": .number(Double(st.batchesCommitted)),
                                          "commit_retries": .number(Double(st.commitRetries)),
                                          "map_bytes": .number(Double(st.mapSize))]
            switch journal.health {
            case .ok: o["state"] = .string("ok")
            case .degraded(let e, let since):
                o["state"] = .string("degraded"); o["error"] = .string(e.description); o["since"] = .string(since.iso8601)
            case .stopped(let e):
                o["state"] = .string("stopped"); o["error"] = .string(e.description)
            }
            return .object(["journal": .object(o)])

        case ("journal", 2) where w[1] == "check":
            guard let journal else { throw EngineError(.unavailable, "this engine keeps no journal") }
            return .object(["check": try JournalMaintenance.report(journal).json])

        case ("rebalance", 3) where w[1] == "agent":
            let report = try await s.rebalance(agent: try contactID(w[2]))
            if let seq = report.seq { try await engine.durable(seq) }
            return rebalanceJSON(report)

        case ("rebalance", 3) where w[1] == "team":
            guard let id = await s.teamID(named: w[2]) else { throw EngineError.notFound("team", w[2]) }
            let report = try await s.rebalance(team: id)
            if let seq = report.seq { try await engine.durable(seq) }
            return rebalanceJSON(report)

        case ("presence", 3):
            guard let p = Presence(rawValue: w[2].lowercased()) else {
                throw EngineError.invalid("presence must be one of: \(Presence.allowedValues.joined(separator: ", "))")
            }
            let events = try await s.setPresence(try contactID(w[1]), p)
            if let last = events.last?.seq { try await engine.durable(last) }
            return .object(["presence": .string(p.rawValue), "events": .number(Double(events.count)),
                            "seq": events.last.map { .number(Double($0.seq)) } ?? .null])

        case ("snapshot", 1):
            guard let snapshot else { throw EngineError(.unavailable, "this engine keeps no snapshots (in-memory journal)") }
            return .object(["snapshot": try await snapshot()])

        case ("export", 2):
            guard let export else { throw EngineError(.unavailable, "this engine keeps no store (in-memory journal)") }
            guard w[1].hasPrefix("/") else { throw EngineError.invalid("give an absolute directory path") }
            return .object(["export": try await export(w[1])])

        case ("clock", 1):
            return .object(["now": .string(engine.clock.now().iso8601), "simulated": .bool(simulatedClock != nil)])

        case ("clock", 3) where w[1] == "advance":
            guard let clock = simulatedClock else {
                throw EngineError(.unavailable, "the clock is real; start with 'serve --simulated-clock' to move it")
            }
            guard let seconds = DurationText.seconds(w[2]) else {
                throw EngineError.invalid("'\(w[2])' is not a duration such as 90m, 5h or 2d")
            }
            let now = clock.advance(by: seconds)
            // What the new time made due happens now, not at the next tick: the demo shows it at once.
            let run = await s.runDueTimers()
            // Answered once what the timers did is in the journal: a kill -9 after the answer loses none of it.
            try await engine.durable(engine.journal.lastAssignedSeq)
            return .object(["now": .string(now.iso8601), "simulated": .bool(true), "timers": Self.timerJSON(run)])

        case ("timers", 1):
            let run = await s.runDueTimers()
            try await engine.durable(engine.journal.lastAssignedSeq)
            return .object(["pending": .number(Double(await s.timerCount)), "ran": Self.timerJSON(run)])

        case ("retention", 1):
            return .object(["retention": try Self.json(await s.retentionPolicy())])

        case ("keys", 1), ("keys", 2) where w[1].lowercased() == "rotate", ("keys", 3) where w[1].lowercased() == "rotate":
            guard let keys else { throw EngineError(.unavailable, "this engine has no store keys (in-memory engine)") }
            return try await keys(Array(w.dropFirst()))

        case ("retention", 2) where w[1] == "run":
            let done = try await engine.enforceRetention()
            return .object(["threads_expired": .number(Double(done.threads)), "audit_entries_deleted": .number(Double(done.auditEntries))])

        default:
            if Self.commands.contains(where: { $0.0.split(separator: " ").first.map(String.init) == command }) {
                throw EngineError.invalid("wrong arguments for '\(command)'; try 'help'")
            }
            throw EngineError.invalid("unknown command '\(command)'; try 'help'")
        }
    }

    /// The audit entry of an admin-socket command (after it succeeded). The
    /// socket is reachable only by who may open the file (0600, the server's
    /// user): the entry names the socket, not a token.
    private func recordInTrail(_ words: [String]) async throws {
        let entry = AuditEntry(at: engine.clock.now(), actorContactID: nil, actorTokenID: nil,
                               action: "admin." + words.prefix(words.first == "clock" || words.first == "keys" || words.first == "rebalance" ? 2 : 1)
                                   .joined(separator: ".").lowercased(),
                               entity: "admin_socket", entityID: words.dropFirst().joined(separator: " "),
                               scope: .system, via: "admin_socket")
        let seq = try await engine.supervisor.audit(entry)
        try await engine.durable(seq)
    }

    static func timerJSON(_ r: TimerRun) -> JSONValue {
        .object(["due": .number(Double(r.timersDue)), "sla_steps": .number(Double(r.slaSteps)),
                 "tasks_created": .number(Double(r.tasksCreated)), "task_reminders": .number(Double(r.taskReminders)),
                 "digests": .number(Double(r.digests))])
    }

    private func contactID(_ text: String) throws -> ContactID {
        guard let id = ContactID(text) else { throw EngineError.invalid("'\(text)' is not a contact id") }
        return id
    }

    private func agentSummary(_ p: PersonWorkload) -> JSONValue {
        let c = p.contact
        return .object([
            "id": .string(c.id.description), "name": .string(c.name), "role": .string(c.role.rawValue),
            "presence": .string(c.presence.rawValue), "open_threads": .number(Double(p.load)),
            "max_open_threads": .number(Double(c.maxOpenThreads)),
        ])
    }

    private func rebalanceJSON(_ r: RebalanceReport) -> JSONValue {
        .object([
            "moved": .number(Double(r.moves.filter { $0.to != nil }.count)),
            "queued": .number(Double(r.moves.filter { $0.to == nil }.count)),
            "seq": r.seq.map { .number(Double($0)) } ?? .null,
            "engine_microseconds": .number((Double(r.nanoseconds) / 100).rounded() / 10),
        ])
    }

    static func json(_ value: some Encodable) throws -> JSONValue {
        let data = try ContractJSON.sharedEncoder.encode(value)
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }
}

extension JSONValue {
    var number: Double? { if case .number(let n) = self { n } else { nil } }
}

/// Reads this process's resident memory.
public enum ProcessMemory {
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
