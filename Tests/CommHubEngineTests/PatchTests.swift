import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

/// Patches applied inside the supervisor: each to the value it holds when
/// it runs, validated there, refused as a whole.
@Suite("Patches") struct PatchTests {
    @Test func aChannelPatchChangesOnlyWhatItNames() throws {
        let current = Channel(channelType: .whatsappBusiness, channelName: "WA", businessEntity: .laderthuis,
                              configuration: ["phone_number_id": .string("1")], sealedSecrets: Data([1]), responseSlaHours: 2)
        var p = ChannelPatch()
        p.isActive = false
        let after = try p.applied(to: current)
        var expected = current
        expected.isActive = false
        #expect(after == expected)

        // Secrets: the merge is handed the sealed value the channel has now.
        var s = ChannelPatch()
        s.secrets = SecretMerge { current in (current ?? Data()) + Data([2]) }
        #expect(try s.applied(to: current).sealedSecrets == Data([1, 2]))

        var wrongType = ChannelPatch()
        wrongType.channelType = .sms
        #expect(throws: EngineError.invalid("channel_type cannot change; create a new channel")) { try wrongType.applied(to: current) }
        var empty = ChannelPatch()
        empty.channelName = "  "
        #expect(throws: EngineError.invalid("channel_name must not be empty")) { try empty.applied(to: current) }
        var sla = ChannelPatch()
        sla.responseSlaHours = .infinity
        #expect(throws: EngineError.self) { try sla.applied(to: current) }
    }

    @Test func aContactPatchIsValidatedAsAWhole() throws {
        let c = Contact(name: "Anna", email: "anna@chargecars.nl", maxOpenThreads: 5)
        var p = ContactPatch()
        p.presence = .online
        #expect(p.onlyPresence)
        #expect(try p.appliedProfile(to: c) == c, "presence is the supervisor's own second step")
        p.maxOpenThreads = EntityRules.maxOpenThreadsLimit + 1
        #expect(!p.onlyPresence)
        #expect(throws: EngineError.invalid("max_open_threads must be 0 to 10000")) { try p.appliedProfile(to: c) }
        var mail = ContactPatch()
        mail.email = "not-an-address"
        #expect(throws: EngineError.invalid("email 'not-an-address' is not an e-mail address")) { try mail.appliedProfile(to: c) }
    }

    @Test func updatesThroughTheSupervisorKeepEachOther() async throws {
        let w = World()
        let a = await w.team("A")
        let b = await w.team("B")
        let anna = try await w.agent("Anna", [a], presence: .offline)
        // Interleaved calls on the actor, each naming one field.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask {
                    var p = ContactPatch()
                    switch i % 4 {
                    case 0: p.skills = ["s\(i)"]
                    case 1: p.maxOpenThreads = 3
                    case 2: p.teams = [a.id, b.id]
                    default: p.presence = .online
                    }
                    _ = try await w.sup.updateContact(anna.id, p)
                }
            }
            try await group.waitForAll()
        }
        let after = try #require(await w.sup.contact(anna.id))
        #expect(after.maxOpenThreads == 3 && after.teams == [a.id, b.id] && after.presence == .online && after.skills.count == 1)
        #expect(await w.sup.state.board.agents[anna.id]?.maxOpenThreads == 3, "the board follows")

        // A refused patch changes nothing and journals nothing.
        let seq = w.engine.journal.lastAssignedSeq
        var bad = ContactPatch()
        bad.teams = [TeamID()]
        await #expect(throws: EngineError.self) { try await w.sup.updateContact(anna.id, bad) }
        #expect(w.engine.journal.lastAssignedSeq == seq)
        // Nothing to change: nothing journaled, the answer is the current value.
        var same = ContactPatch()
        same.maxOpenThreads = 3
        let r = try await w.sup.updateContact(anna.id, same)
        #expect(!r.changed && r.after == after && w.engine.journal.lastAssignedSeq == seq)
    }

    @Test func teamNamesStayUniqueAndLeadersKnown() async throws {
        let w = World()
        let a = await w.team("Support")
        let b = await w.team("Planning")
        await #expect(throws: EngineError(.conflict, "a team named 'support' exists")) {
            try await w.sup.createTeam(Team(name: "support"))
        }
        var rename = TeamPatch()
        rename.name = "SUPPORT"
        await #expect(throws: EngineError(.conflict, "a team named 'SUPPORT' exists")) { try await w.sup.updateTeam(b.id, rename) }
        #expect(try await w.sup.updateTeam(a.id, rename).after.name == "SUPPORT", "a team may change the case of its own name")
        var leader = TeamPatch()
        leader.leaderID = ContactID()
        await #expect(throws: EngineError.self) { try await w.sup.updateTeam(a.id, leader) }
    }

    @Test func aDirectoryImportIsAllOrNothing() async throws {
        let w = World()
        let org = Organization(name: "Woonstad", kind: .customer)
        let customer = Customer(name: "Jan", organizationID: org.id)
        let order = Order(orderNumber: "12345", customerID: customer.id, organizationID: org.id, brand: .chargecars)
        let seq = w.engine.journal.lastAssignedSeq
        let stranger = CustomerID()
        await #expect(throws: EngineError.invalid("orders[1].customer_id \(stranger) is unknown")) {
            try await w.sup.importDirectory(organizations: [org], customers: [customer], orders: [
                order, Order(orderNumber: "9", customerID: stranger, brand: .chargecars),
            ])
        }
        #expect(w.engine.journal.lastAssignedSeq == seq, "nothing of the batch was journaled")
        #expect(await w.sup.customer(customer.id) == nil)
        let last = try await w.sup.importDirectory(organizations: [org], customers: [customer], orders: [order])
        #expect(last == seq + 3)
        #expect(await w.sup.order(number: "12345")?.id == order.id)
        #expect(try await w.sup.importDirectory(organizations: [], customers: [], orders: []) == nil)
    }
}
