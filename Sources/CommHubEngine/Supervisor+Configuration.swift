import CommHubDomain
import Foundation

/// Changes of configuration and other stored values made in one step on the
/// supervisor's executor: read the current value, apply the caller's patch,
/// validate, journal. Nothing suspends between the read and the journal
/// append, so concurrent updates of different fields never lose one another
/// (see `ConfigurationPatches.swift`).
extension Supervisor {
    public func updateChannel(_ id: ChannelID, _ patch: ChannelPatch) throws -> PatchResult<Channel> {
        guard let before = state.channels[id] else { throw EngineError.notFound("channel", id) }
        let after = try patch.applied(to: before)
        guard after != before else { return PatchResult(before: before, after: after, seq: lastCommittedSeq) }
        let seq = try commit([.channelUpserted(after)]).last!.seq
        return PatchResult(before: before, after: after, seq: seq)
    }

    /// Applies the profile fields, then presence (its own event: going
    /// offline hands threads over). Both are journaled before the first
    /// suspension, so `after` is exactly what this call made of `before`.
    public func updateContact(_ id: ContactID, _ patch: ContactPatch) async throws -> PatchResult<Contact> {
        guard let before = state.contacts[id] else { throw EngineError.notFound("contact", id) }
        let profile = try patch.appliedProfile(to: before)
        var events: [SequencedEvent] = []
        do {
            if profile != before { events += try contactEvents(profile) }
            if let p = patch.presence { events += try presenceEvents(id, p) }
        } catch {
            await notifyAgents(events)  // the profile may be journaled although the presence was refused
            throw error
        }
        let after = state.contacts[id] ?? profile
        await notifyAgents(events)
        return PatchResult(before: before, after: after, seq: events.last?.seq ?? lastCommittedSeq)
    }

    /// Creates a team; its name must be free (routing rules name teams).
    public func createTeam(_ t: Team) async throws -> UInt64 {
        try checkTeam(t)
        return try await upsertTeam(t)
    }

    public func updateTeam(_ id: TeamID, _ patch: TeamPatch) async throws -> PatchResult<Team> {
        guard let before = state.teams[id] else { throw EngineError.notFound("team", id) }
        let after = patch.applied(to: before)
        guard after != before else { return PatchResult(before: before, after: after, seq: lastCommittedSeq) }
        try checkTeam(after)
        let events = try commit([.teamUpserted(after)]) + drainQueue(id)
        await notifyAgents(events)
        return PatchResult(before: before, after: after, seq: events.last!.seq)
    }

    /// A team's name is unique (case-insensitively: routing rules find teams
    /// by name) and its leader, when named, is a known person.
    private func checkTeam(_ t: Team) throws {
        let lower = t.name.lowercased()
        if state.teams.values.contains(where: { $0.id != t.id && $0.name.lowercased() == lower }) {
            throw EngineError(.conflict, "a team named '\(t.name)' exists")
        }
        if let l = t.leaderID, state.contacts[l] == nil { throw EngineError.notFound("contact", l) }
        if let b = t.businessHours {
            do { _ = try BusinessHoursSpec.calendar(b, path: "business_hours") } catch { throw EngineError.invalid(error.description) }
        }
    }

    /// Replaces the global routing rules; returns them before and after.
    public func replaceRoutingRules(_ rules: AutoAssignmentRules) throws -> PatchResult<AutoAssignmentRules> {
        let before = state.rules
        let seq = try setRoutingRules(rules)
        return PatchResult(before: before, after: rules, seq: seq)
    }

    public func updateTemplate(_ id: TemplateID, _ patch: TemplatePatch) throws -> PatchResult<Template> {
        guard let before = state.templates[id] else { throw EngineError.notFound("template", id) }
        let after = try patch.applied(to: before)
        guard after != before else { return PatchResult(before: before, after: after, seq: lastCommittedSeq) }
        let seq = try commit([.templateUpserted(after)]).last!.seq
        return PatchResult(before: before, after: after, seq: seq)
    }

    /// Counts one use of a template (a message was sent with it); nil when
    /// the template no longer exists. Counted here, not written back from a
    /// copy, so concurrent sends count every use and keep concurrent edits.
    public func countTemplateUse(_ id: TemplateID) throws -> UInt64? {
        guard var t = state.templates[id] else { return nil }
        t.usageCount = t.usageCount < Int.max ? t.usageCount + 1 : t.usageCount
        return try commit([.templateUpserted(t)]).last!.seq
    }

    public func updateTask(_ id: TaskID, _ patch: TaskPatch) throws -> PatchResult<InternalTask> {
        guard let before = state.tasks[id] else { throw EngineError.notFound("task", id) }
        let after = try patch.applied(to: before, now: clock.now())
        if let a = after.assignedToContactID, state.contacts[a] == nil {
            throw EngineError.notFound("contact", a)
        }
        guard after != before else { return PatchResult(before: before, after: after, seq: lastCommittedSeq) }
        let seq = try commit([.taskUpserted(after)]).last!.seq
        return PatchResult(before: before, after: after, seq: seq)
    }

    /// The largest directory import one call may make (records of all kinds).
    public static let maxDirectoryRecords = 10_000

    /// Upserts organisations, customers and orders as one journal append:
    /// every record is checked first (against the directory and the batch
    /// itself), so a bad record changes nothing. Returns the last seq, or
    /// nil for an empty import.
    public func importDirectory(organizations: [Organization], customers: [Customer], orders: [Order]) throws -> UInt64? {
        let total = organizations.count + customers.count + orders.count
        guard total <= Self.maxDirectoryRecords else {
            throw EngineError.invalid("at most \(Self.maxDirectoryRecords) records per call")
        }
        guard total > 0 else { return nil }
        let newOrganizations = Set(organizations.map(\.id))
        let newCustomers = Set(customers.map(\.id))
        func knownOrganization(_ o: OrganizationID) -> Bool { newOrganizations.contains(o) || state.index.organizations[o] != nil }
        for (i, c) in customers.enumerated() {
            if c.name.isEmpty { throw EngineError.invalid("customers[\(i)].name is required") }
            if let o = c.organizationID, !knownOrganization(o) { throw EngineError.invalid("customers[\(i)].organization_id \(o) is unknown") }
        }
        for (i, o) in orders.enumerated() {
            if o.orderNumber.isEmpty { throw EngineError.invalid("orders[\(i)].order_number is required") }
            if let c = o.customerID, !newCustomers.contains(c), state.index.customers[c] == nil {
                throw EngineError.invalid("orders[\(i)].customer_id \(c) is unknown")
            }
            if let g = o.organizationID, !knownOrganization(g) { throw EngineError.invalid("orders[\(i)].organization_id \(g) is unknown") }
        }
        let events = organizations.map(EngineEvent.organizationUpserted) + customers.map(EngineEvent.customerUpserted)
            + orders.map(EngineEvent.orderUpserted)
        return try commit(events).last?.seq
    }
}
