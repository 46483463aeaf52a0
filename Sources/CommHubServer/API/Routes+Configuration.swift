import CommHubDomain
import CommHubWire
import CommHubEngine
import Foundation
import Hummingbird

extension CommHubAPI {
    func registerConfiguration(_ api: RouterGroup<APIContext>) {
        // Channels: secrets are split off the configuration and sealed; the
        // API shows only which secrets are set.
        // Agents and team leaders get the summary (AccessPolicy: readChannelConfiguration).
        api.get("communication/channels") { _, context in
            let who = try require(.readConfiguration, context)
            let list = await supervisor.state.channels.values.sorted { $0.channelName < $1.channelName }
            return try JSONResponse.list(try list.map { try channelView($0, for: who) }, next: nil)
        }
        api.get("communication/channels/:id") { _, context in
            let who = try require(.readConfiguration, context)
            let id = try context.id("id", ChannelKind.self)
            guard let c = await supervisor.state.channels[id] else { throw APIError.notFound("no channel with id \(id)") }
            return try JSONResponse.make(try channelView(c, for: who))
        }
        api.post("communication/channels") { request, context in
            _ = try require(.writeConfiguration, context)
            let body = try await request.decodeJSON(ChannelRequest.self, context: context)
            guard let type = body.channelType, let name = body.channelName, !name.isEmpty else {
                throw APIError(.unprocessableContent, "invalid", "channel_type and channel_name are required")
            }
            var c = Channel(channelType: type, channelName: name, isActive: body.isActive ?? true, businessEntity: body.businessEntity,
                            autoAssignmentRules: body.autoAssignmentRules, responseSlaHours: body.responseSlaHours,
                            escalationRules: body.escalationRules)
            try applyConfiguration(body.configuration ?? [:], to: &c)
            try validate(c)
            try await durable(try await supervisor.upsertChannel(c))
            try await audit(context, "channel.create", "channel", c.id.description, before: CommHubAPI.none,
                            after: try View.channel(c, secretNames: try secretNames(c)))
            return try JSONResponse.make(try View.channel(c, secretNames: try secretNames(c)), status: .created)
        }
        api.put("communication/channels/:id") { request, context in
            _ = try require(.writeConfiguration, context)
            let id = try context.id("id", ChannelKind.self)
            guard let before = await supervisor.state.channels[id] else { throw APIError.notFound("no channel with id \(id)") }
            let body = try await request.decodeJSON(ChannelRequest.self, context: context)
            var c = before
            if let t = body.channelType, t != c.channelType {
                throw APIError(.unprocessableContent, "invalid", "channel_type cannot change; create a new channel")
            }
            if let n = body.channelName { c.channelName = n }
            if let a = body.isActive { c.isActive = a }
            if let b = body.businessEntity { c.businessEntity = b }
            if let r = body.autoAssignmentRules { c.autoAssignmentRules = r }
            if let h = body.responseSlaHours { c.responseSlaHours = h }
            if let e = body.escalationRules { c.escalationRules = e }
            if let conf = body.configuration { try applyConfiguration(conf, to: &c) }
            try validate(c)
            try await durable(try await supervisor.upsertChannel(c))
            try await audit(context, "channel.update", "channel", id.description,
                            before: try View.channel(before, secretNames: try secretNames(before)),
                            after: try View.channel(c, secretNames: try secretNames(c)))
            return try JSONResponse.make(try View.channel(c, secretNames: try secretNames(c)))
        }

        api.get("contacts") { _, context in
            _ = try require(.readConfiguration, context)
            let list = await supervisor.state.contacts.values.sorted { $0.name < $1.name }
            return try JSONResponse.list(list, next: nil)
        }
        api.get("contacts/:id") { _, context in
            _ = try require(.readConfiguration, context)
            let id = try context.id("id", ContactKind.self)
            guard let c = await supervisor.state.contacts[id] else { throw APIError.notFound("no contact with id \(id)") }
            return try JSONResponse.make(c)
        }
        api.post("contacts") { request, context in
            _ = try require(.writeConfiguration, context)
            let body = try await request.decodeJSON(ContactRequest.self, context: context)
            guard let name = body.name, !name.isEmpty else { throw APIError(.unprocessableContent, "invalid", "name is required") }
            let c = Contact(name: name, email: body.email, phone: body.phone, role: body.role ?? .agent, teams: body.teams ?? [],
                            skills: body.skills ?? [], maxOpenThreads: body.maxOpenThreads ?? 25, presence: body.presence ?? .offline)
            try validate(c)
            try await durable(try await mapped { try await supervisor.upsertContact(c) })
            try await audit(context, "contact.create", "contact", c.id.description, before: CommHubAPI.none, after: c)
            return try JSONResponse.make(c, status: .created)
        }
        api.put("contacts/:id") { request, context in
            let who = try context.caller()
            let id = try context.id("id", ContactKind.self)
            guard let before = await supervisor.state.contacts[id] else { throw APIError.notFound("no contact with id \(id)") }
            let body = try await request.decodeJSON(ContactRequest.self, context: context)
            // Anyone may set their own presence; everything else is configuration.
            let onlyPresence = body.name == nil && body.email == nil && body.phone == nil && body.role == nil
                && body.teams == nil && body.skills == nil && body.maxOpenThreads == nil
            if !(onlyPresence && who.contactID == id) { _ = try require(.writeConfiguration, context) }
            var c = before
            if let v = body.name { c.name = v }
            if let v = body.email { c.email = v }
            if let v = body.phone { c.phone = v }
            if let v = body.role { c.role = v }
            if let v = body.teams { c.teams = v }
            if let v = body.skills { c.skills = v }
            if let v = body.maxOpenThreads { c.maxOpenThreads = v }
            try validate(c)
            var last: UInt64?
            if c != before {
                var withoutPresence = c
                withoutPresence.presence = before.presence
                last = try await mapped { try await supervisor.upsertContact(withoutPresence) }
            }
            if let p = body.presence, p != before.presence {
                last = try await mapped { try await supervisor.setPresence(id, p) }.last?.seq ?? last
            }
            if let last { try await durable(last) }
            let after = await supervisor.state.contacts[id]!
            if after != before { try await audit(context, "contact.update", "contact", id.description, before: before, after: after) }
            return try JSONResponse.make(after)
        }

        api.post("contacts/:id/tokens") { request, context in
            _ = try require(.manageTokens, context)
            let id = try context.id("id", ContactKind.self)
            let body = try await request.decodeOptionalJSON(TokenRequest.self, context: context) ?? TokenRequest(label: nil)
            return try await issue(.person, contact: id, label: body.label ?? "api token", context)
        }
        api.post("gateway-tokens") { request, context in
            _ = try require(.manageTokens, context)
            let body = try await request.decodeOptionalJSON(TokenRequest.self, context: context) ?? TokenRequest(label: nil)
            return try await issue(.gateway, contact: nil, label: body.label ?? "gateway", context)
        }
        api.get("tokens") { _, context in
            _ = try require(.manageTokens, context)
            let list = await supervisor.state.tokens.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
            return try JSONResponse.list(try list.map(View.token), next: nil)
        }
        api.delete("tokens/:id") { _, context in
            _ = try require(.manageTokens, context)
            let id = try context.id("id", TokenKind_.self)
            let seq = try await mapped { try await supervisor.revokeToken(id) }
            try await durable(seq)
            try await audit(context, "token.revoke", "token", id.description, before: CommHubAPI.none, after: CommHubAPI.none)
            return Response(status: .noContent)
        }

        api.get("teams") { _, context in
            _ = try require(.readConfiguration, context)
            let state = await supervisor.state
            let list = try state.teams.values.sorted { $0.name < $1.name }.map { t -> JSONValue in
                var o = try View.json(t).objectValue ?? [:]
                o["members"] = .array(state.board.teams[t.id]?.members.map { .string($0.description) } ?? [])
                o["queue_depth"] = .number(Double(state.board.queueDepth(t.id)))
                return .object(o)
            }
            return try JSONResponse.list(list, next: nil)
        }
        api.post("teams") { request, context in
            _ = try require(.writeConfiguration, context)
            let body = try await request.decodeJSON(TeamRequest.self, context: context)
            guard let name = body.name?.trimmingCharacters(in: .whitespaces), !name.isEmpty else {
                throw APIError(.unprocessableContent, "invalid", "name is required")
            }
            let state = await supervisor.state
            guard !state.teams.values.contains(where: { $0.name.lowercased() == name.lowercased() }) else {
                throw APIError.conflict("a team named '\(name)' exists")
            }
            let t = Team(name: name, handOverOnOffline: body.handOverOnOffline ?? true, leaderID: body.leaderID)
            try await durable(try await supervisor.upsertTeam(t))
            try await audit(context, "team.create", "team", t.id.description, before: CommHubAPI.none, after: t)
            return try JSONResponse.make(t, status: .created)
        }
        api.put("teams/:id") { request, context in
            _ = try require(.writeConfiguration, context)
            let id = try context.id("id", TeamKind.self)
            guard let before = await supervisor.state.teams[id] else { throw APIError.notFound("no team with id \(id)") }
            let body = try await request.decodeJSON(TeamRequest.self, context: context)
            var t = before
            if let n = body.name, !n.isEmpty { t.name = n }
            if let h = body.handOverOnOffline { t.handOverOnOffline = h }
            if let l = body.leaderID { t.leaderID = l }
            try await durable(try await supervisor.upsertTeam(t))
            try await audit(context, "team.update", "team", id.description, before: before, after: t)
            return try JSONResponse.make(t)
        }

        api.get("routing-rules") { _, context in
            _ = try require(.readConfiguration, context)
            return try JSONResponse.make(await supervisor.state.rules)
        }
        api.put("routing-rules") { request, context in
            _ = try require(.writeConfiguration, context)
            let before = await supervisor.state.rules
            let rules = try await request.decodeJSON(AutoAssignmentRules.self, context: context)
            let seq = try await mapped { try await supervisor.setRoutingRules(rules) }
            try await durable(seq)
            try await audit(context, "routing.update", "routing_rules", "global", before: before, after: rules)
            return try JSONResponse.make(rules)
        }

        // The customer directory: bulk upsert, organisations first, then customers, then orders.
        api.post("directory") { request, context in
            _ = try require(.writeDirectory, context)
            let body = try await request.decodeJSON(DirectoryRequest.self, context: context)
            let total = (body.organizations?.count ?? 0) + (body.customers?.count ?? 0) + (body.orders?.count ?? 0)
            guard total > 0 else { throw APIError(.unprocessableContent, "invalid", "send organizations, customers and/or orders") }
            guard total <= 10_000 else { throw APIError(.unprocessableContent, "invalid", "at most 10000 records per call") }
            // Validate everything first so a bad record changes nothing.
            let state = await supervisor.state
            let orgIDs = Set(state.index.organizations.keys).union((body.organizations ?? []).map(\.id))
            let customerIDs = Set(state.index.customers.keys).union((body.customers ?? []).map(\.id))
            for (i, c) in (body.customers ?? []).enumerated() {
                if c.name.isEmpty { throw APIError(.unprocessableContent, "invalid", "customers[\(i)].name is required") }
                if let o = c.organizationID, !orgIDs.contains(o) { throw APIError(.unprocessableContent, "invalid", "customers[\(i)].organization_id \(o) is unknown") }
            }
            for (i, o) in (body.orders ?? []).enumerated() {
                if o.orderNumber.isEmpty { throw APIError(.unprocessableContent, "invalid", "orders[\(i)].order_number is required") }
                if let c = o.customerID, !customerIDs.contains(c) { throw APIError(.unprocessableContent, "invalid", "orders[\(i)].customer_id \(c) is unknown") }
                if let g = o.organizationID, !orgIDs.contains(g) { throw APIError(.unprocessableContent, "invalid", "orders[\(i)].organization_id \(g) is unknown") }
            }
            var last: UInt64 = 0
            for o in body.organizations ?? [] { last = try await supervisor.upsertOrganization(o) }
            for c in body.customers ?? [] { last = try await mapped { try await supervisor.upsertCustomer(c) } }
            for o in body.orders ?? [] { last = try await mapped { try await supervisor.upsertOrder(o) } }
            try await durable(last)
            try await audit(context, "directory.upsert", "directory", "bulk", before: CommHubAPI.none,
                            after: JSONValue.object(["organizations": .number(Double(body.organizations?.count ?? 0)),
                                                     "customers": .number(Double(body.customers?.count ?? 0)),
                                                     "orders": .number(Double(body.orders?.count ?? 0))]))
            return try JSONResponse.make(JSONValue.object(["upserted": .number(Double(total))]))
        }
        api.get("customers") { request, context in
            _ = try require(.readThreads, context)
            let q = try request.textQuery("q")?.lowercased()
            let all = await supervisor.state.index.customers.values.filter { c in
                guard let q, !q.isEmpty else { return true }
                return c.name.lowercased().contains(q) || c.emails.contains { $0.normalized.contains(q) }
                    || c.phones.contains { $0.e164.contains(q) }
            }.sorted { $0.name < $1.name }
            let page = try request.offsetPage(all)
            return try JSONResponse.list(page.items, next: page.next)
        }
        api.get("orders/:number") { _, context in
            _ = try require(.readThreads, context)
            let number = context.parameters.get("number") ?? ""
            guard let o = await supervisor.state.index.order(number: number) else { throw APIError.notFound("no order \(number)") }
            return try JSONResponse.make(o)
        }
    }

    func issue(_ kind: TokenKind, contact: ContactID?, label: String, _ context: APIContext) async throws -> Response {
        let secret = TokenSecret.generate()
        let token = APIToken(kind: kind, contactID: contact, label: label, secretHash: TokenSecret.hash(secret),
                             createdAt: engine.clock.now())
        let seq = try await mapped { try await supervisor.issueToken(token) }
        try await durable(seq)
        try await audit(context, "token.issue", "token", token.id.description, before: CommHubAPI.none, after: try View.token(token))
        var o = try View.token(token).objectValue ?? [:]
        o["token"] = .string(secret)
        return try JSONResponse.make(JSONValue.object(o), status: .created)
    }

    /// The full channel for those who may read channel configuration, the summary for everyone else.
    func channelView(_ c: Channel, for who: Identity) throws -> JSONValue {
        guard let role = who.role, AccessPolicy.allows(role, .readChannelConfiguration) else { return View.channelSummary(c) }
        return try View.channel(c, secretNames: try secretNames(c))
    }

    /// Splits the declared secrets off a configuration (`ChannelConfigurationSchema`)
    /// and seals them, merging with the secrets already set; refuses
    /// undeclared secret-looking keys and credentials in URLs, at any depth.
    func applyConfiguration(_ conf: [String: JSONValue], to c: inout Channel) throws {
        let split: ChannelConfigurationSchema.Split
        do {
            split = try ChannelConfigurationSchema.split(conf, for: c.channelType)
        } catch {
            throw APIError(.unprocessableContent, "invalid", error.description)
        }
        c.configuration = split.plain
        if !split.secrets.isEmpty {
            var current = try c.sealedSecrets.map(secrets.open) ?? [:]
            for (k, v) in split.secrets { current[k] = v }
            c.sealedSecrets = current.isEmpty ? nil : try secrets.seal(current)
        }
    }

    func secretNames(_ c: Channel) throws -> [String] {
        guard let sealed = c.sealedSecrets else { return [] }
        return Array((try secrets.open(sealed)).keys)
    }

    func validate(_ c: Channel) throws {
        if c.channelName.trimmingCharacters(in: .whitespaces).isEmpty {
            throw APIError(.unprocessableContent, "invalid", "channel_name must not be empty")
        }
        do {
            try Bounds.check(c.responseSlaHours, WireBounds.responseSlaHours, "response_sla_hours", unit: "hours")
        } catch {
            throw APIError(.unprocessableContent, "invalid", error.description)
        }
        if let errors = c.autoAssignmentRules?.validationErrors(), !errors.isEmpty {
            throw APIError(.unprocessableContent, "invalid", "auto_assignment_rules: " + errors.joined(separator: "; "))
        }
    }

    func validate(_ c: Contact) throws {
        if c.name.trimmingCharacters(in: .whitespaces).isEmpty { throw APIError(.unprocessableContent, "invalid", "name must not be empty") }
        if let e = c.email, !e.isEmpty, EmailAddress(e) == nil { throw APIError(.unprocessableContent, "invalid", "email '\(e)' is not an e-mail address") }
        if !(0...10_000).contains(c.maxOpenThreads) { throw APIError(.unprocessableContent, "invalid", "max_open_threads must be 0 to 10000") }
    }
}
