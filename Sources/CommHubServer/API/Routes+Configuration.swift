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
            let list = await supervisor.channelList()
            return try JSONResponse.list(try list.map { try channelView($0, for: who) }, next: nil)
        }
        api.get("communication/channels/:id") { _, context in
            let who = try require(.readConfiguration, context)
            let id = try context.id("id", ChannelKind.self)
            guard let c = await supervisor.channel(id) else { throw APIError.notFound("no channel with id \(id)") }
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
            try EntityRules.check(c)
            try await durable(try await supervisor.upsertChannel(c))
            try await audit(context, "channel.create", "channel", c.id.description, before: CommHubAPI.none,
                            after: try View.channel(c, secretNames: try secretNames(c)))
            return try JSONResponse.make(try View.channel(c, secretNames: try secretNames(c)), status: .created)
        }
        api.put("communication/channels/:id") { request, context in
            _ = try require(.writeConfiguration, context)
            let id = try context.id("id", ChannelKind.self)
            // The type is read first because it decides which configuration keys
            // are secrets; it never changes, so reading it apart is no race.
            guard let current = await supervisor.channel(id) else { throw APIError.notFound("no channel with id \(id)") }
            let body = try await request.decodeJSON(ChannelRequest.self, context: context)
            let change = try await mapped { try await supervisor.updateChannel(id, try channelPatch(body, type: current.channelType)) }
            try await durable(change.seq)
            try await audit(context, "channel.update", "channel", id.description,
                            before: try View.channel(change.before, secretNames: try secretNames(change.before)),
                            after: try View.channel(change.after, secretNames: try secretNames(change.after)))
            return try JSONResponse.make(try View.channel(change.after, secretNames: try secretNames(change.after)))
        }

        api.get("contacts") { _, context in
            _ = try require(.readConfiguration, context)
            return try JSONResponse.list(await supervisor.contactList(), next: nil)
        }
        api.get("contacts/:id") { _, context in
            _ = try require(.readConfiguration, context)
            let id = try context.id("id", ContactKind.self)
            guard let c = await supervisor.contact(id) else { throw APIError.notFound("no contact with id \(id)") }
            return try JSONResponse.make(c)
        }
        api.post("contacts") { request, context in
            _ = try require(.writeConfiguration, context)
            let body = try await request.decodeJSON(ContactRequest.self, context: context)
            guard let name = body.name, !name.isEmpty else { throw APIError(.unprocessableContent, "invalid", "name is required") }
            let c = Contact(name: name, email: body.email, phone: body.phone, role: body.role ?? .agent, teams: body.teams ?? [],
                            skills: body.skills ?? [], maxOpenThreads: body.maxOpenThreads ?? 25, presence: body.presence ?? .offline,
                            dailyDigestHour: body.dailyDigestHour ?? nil)
            try EntityRules.check(c)
            try await durable(try await mapped { try await supervisor.upsertContact(c) })
            try await audit(context, "contact.create", "contact", c.id.description, before: CommHubAPI.none, after: c)
            return try JSONResponse.make(c, status: .created)
        }
        api.put("contacts/:id") { request, context in
            let who = try context.caller()
            let id = try context.id("id", ContactKind.self)
            // People are never deleted: an unknown id answers 404 before the access check, as always.
            guard await supervisor.contact(id) != nil else { throw APIError.notFound("no contact with id \(id)") }
            let body = try await request.decodeJSON(ContactRequest.self, context: context)
            var patch = ContactPatch()
            patch.name = body.name; patch.email = body.email; patch.phone = body.phone; patch.role = body.role
            patch.teams = body.teams; patch.skills = body.skills; patch.maxOpenThreads = body.maxOpenThreads
            patch.presence = body.presence
            patch.dailyDigestHour = body.dailyDigestHour
            // Anyone may set their own presence and digest hour; everything else is configuration.
            if !(patch.onlyPresence && who.contactID == id) { _ = try require(.writeConfiguration, context) }
            let change = try await mapped { try await supervisor.updateContact(id, patch) }
            try await durable(change.seq)
            if change.changed {
                try await audit(context, "contact.update", "contact", id.description, before: change.before, after: change.after)
            }
            return try JSONResponse.make(change.after)
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
            return try JSONResponse.list(try await supervisor.tokenList().map(View.token), next: nil)
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
            let list = try await supervisor.teamList().map { t -> JSONValue in
                var o = try View.json(t.team).objectValue ?? [:]
                o["members"] = .array(t.members.map { .string($0.description) })
                o["queue_depth"] = .number(Double(t.queueDepth))
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
            let t = Team(name: name, handOverOnOffline: body.handOverOnOffline ?? true, leaderID: body.leaderID,
                         businessHours: body.businessHours ?? nil)
            try await durable(try await mapped { try await supervisor.createTeam(t) })
            try await audit(context, "team.create", "team", t.id.description, before: CommHubAPI.none, after: t)
            return try JSONResponse.make(t, status: .created)
        }
        api.put("teams/:id") { request, context in
            _ = try require(.writeConfiguration, context)
            let id = try context.id("id", TeamKind.self)
            let body = try await request.decodeJSON(TeamRequest.self, context: context)
            var patch = TeamPatch()
            patch.name = body.name; patch.handOverOnOffline = body.handOverOnOffline; patch.leaderID = body.leaderID
            patch.businessHours = body.businessHours
            let change = try await mapped { try await supervisor.updateTeam(id, patch) }
            try await durable(change.seq)
            try await audit(context, "team.update", "team", id.description, before: change.before, after: change.after)
            return try JSONResponse.make(change.after)
        }

        api.get("routing-rules") { _, context in
            _ = try require(.readConfiguration, context)
            return try JSONResponse.make(await supervisor.routingRules())
        }
        api.put("routing-rules") { request, context in
            _ = try require(.writeConfiguration, context)
            let rules = try await request.decodeJSON(AutoAssignmentRules.self, context: context)
            let change = try await mapped { try await supervisor.replaceRoutingRules(rules) }
            try await durable(change.seq)
            try await audit(context, "routing.update", "routing_rules", "global", before: change.before, after: change.after)
            return try JSONResponse.make(change.after)
        }

        // The customer directory: bulk upsert, organisations first, then customers, then orders.
        api.post("directory") { request, context in
            _ = try require(.writeDirectory, context)
            let body = try await request.decodeJSON(DirectoryRequest.self, context: context)
            let total = (body.organizations?.count ?? 0) + (body.customers?.count ?? 0) + (body.orders?.count ?? 0)
            guard total > 0 else { throw APIError(.unprocessableContent, "invalid", "send organizations, customers and/or orders") }
            // Checked and journaled in one step inside the supervisor: a bad record changes nothing.
            let last = try await mapped {
                try await supervisor.importDirectory(organizations: body.organizations ?? [], customers: body.customers ?? [],
                                                     orders: body.orders ?? [])
            }
            if let last { try await durable(last) }
            try await audit(context, "directory.upsert", "directory", "bulk", before: CommHubAPI.none,
                            after: JSONValue.object(["organizations": .number(Double(body.organizations?.count ?? 0)),
                                                     "customers": .number(Double(body.customers?.count ?? 0)),
                                                     "orders": .number(Double(body.orders?.count ?? 0))]))
            return try JSONResponse.make(JSONValue.object(["upserted": .number(Double(total))]))
        }
        api.get("customers") { request, context in
            _ = try require(.readThreads, context)
            let all = await supervisor.customers(matching: try request.textQuery("q"))
            let page = try request.offsetPage(all)
            return try JSONResponse.list(page.items, next: page.next)
        }
        api.get("orders/:number") { _, context in
            _ = try require(.readThreads, context)
            let number = context.parameters.get("number") ?? ""
            guard let o = await supervisor.order(number: number) else { throw APIError.notFound("no order \(number)") }
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
        let split = try splitConfiguration(conf, for: c.channelType)
        c.configuration = split.plain
        if let merge = secretMerge(split.secrets) { c.sealedSecrets = try merge.merge(c.sealedSecrets) }
    }

    func splitConfiguration(_ conf: [String: JSONValue], for type: ChannelType) throws -> ChannelConfigurationSchema.Split {
        do {
            return try ChannelConfigurationSchema.split(conf, for: type)
        } catch {
            throw APIError(.unprocessableContent, "invalid", error.description)
        }
    }

    /// Seals `new` into the channel's current secrets, key by key (a null
    /// value removes a secret; nil when there is nothing to change). Runs where
    /// it is given the current sealed value: inside the supervisor for a PUT,
    /// so concurrent secret updates merge instead of overwriting each other.
    func secretMerge(_ new: [String: String?]) -> SecretMerge? {
        guard !new.isEmpty else { return nil }
        let box = secrets
        return SecretMerge { current in
            var all = try current.map(box.open) ?? [:]
            for (k, v) in new { all[k] = v }
            return all.isEmpty ? nil : try box.seal(all)
        }
    }

    /// A channel PUT body as a patch the supervisor applies to the channel it holds.
    func channelPatch(_ body: ChannelRequest, type: ChannelType) throws -> ChannelPatch {
        if let t = body.channelType, t != type {
            throw APIError(.unprocessableContent, "invalid", "channel_type cannot change; create a new channel")
        }
        var patch = ChannelPatch()
        patch.channelType = body.channelType
        patch.channelName = body.channelName
        patch.isActive = body.isActive
        patch.businessEntity = body.businessEntity
        patch.autoAssignmentRules = body.autoAssignmentRules
        patch.responseSlaHours = body.responseSlaHours
        patch.escalationRules = body.escalationRules
        if let conf = body.configuration {
            let split = try splitConfiguration(conf, for: type)
            patch.configuration = split.plain
            patch.secrets = secretMerge(split.secrets)
        }
        return patch
    }

    func secretNames(_ c: Channel) throws -> [String] {
        guard let sealed = c.sealedSecrets else { return [] }
        return Array((try secrets.open(sealed)).keys)
    }
}
