import CommHubDomain
@testable import CommHubEngine
import Foundation
import Testing

/// The authentication read model: the same answers as the supervisor's own
/// tables, from committed events, and from a restored state.
@Suite("Authentication index") struct AuthenticationIndexTests {
    static let at = Date(timeIntervalSince1970: 1_790_000_000)

    static func token(_ hash: String, _ contact: ContactID?, kind: TokenKind = .person) -> APIToken {
        APIToken(kind: kind, contactID: contact, label: hash, secretHash: hash, createdAt: at)
    }

    /// What the supervisor's state answers for a hash (the reference the index must equal).
    static func reference(_ s: EngineState, _ hash: String) -> (APIToken, Contact?)? {
        guard let id = s.tokenByHash[hash], let t = s.tokens[id], t.revokedAt == nil else { return nil }
        return (t, t.contactID.flatMap { s.contacts[$0] })
    }

    @Test func followsIssuesRevocationsAndPeople() throws {
        let anna = Contact(name: "Anna", role: .agent)
        let t1 = Self.token("h1", anna.id)
        let t2 = Self.token("h1", anna.id)  // the same secret hash, issued again after t1's revocation
        let gateway = Self.token("hg", nil, kind: .gateway)
        let ghost = Self.token("hx", ContactID())  // a person the engine does not know
        var promoted = anna
        promoted.role = .admin
        let events: [EngineEvent] = [
            .contactUpserted(anna), .tokenIssued(t1), .tokenIssued(gateway), .tokenIssued(ghost),
            .contactUpserted(promoted), .presenceChanged(contact: anna.id, presence: .online),
            .tokenRevoked(token: t1.id, at: Self.at), .tokenIssued(t2),
        ]
        var table = AuthenticationTable()
        var state = EngineState()
        for (i, e) in events.enumerated() {
            table.apply(e)
            state.apply(SequencedEvent(seq: UInt64(i + 1), event: e))
            for hash in ["h1", "hg", "hx", "nope"] {
                let got = table.authenticate(secretHash: hash)
                let want = Self.reference(state, hash)
                #expect(got?.0 == want?.0 && got?.1 == want?.1, "after event \(i), \(hash)")
            }
        }
        // A repeated revocation of the old token leaves the new one with the same hash alone
        // (the supervisor refuses the repeat; the index does not rely on that).
        table.apply(.tokenRevoked(token: t1.id, at: Self.at))
        let (token, contact) = try #require(table.authenticate(secretHash: "h1"))
        #expect(token.id == t2.id)
        #expect(contact?.role == .admin && contact?.presence == .online)
        #expect(table.authenticate(secretHash: "hg")?.1 == nil, "a gateway token has no person")
        #expect(table.authenticate(secretHash: "hx").map { $0.1 == nil } == true, "a token whose person is unknown has none")
        #expect(table.liveTokens == 3)
        // Seeded from the state: the same table.
        let seeded = AuthenticationTable(state)
        for hash in ["h1", "hg", "hx"] {
            #expect(seeded.authenticate(secretHash: hash)?.0 == table.authenticate(secretHash: hash)?.0)
            #expect(seeded.authenticate(secretHash: hash)?.1 == table.authenticate(secretHash: hash)?.1)
        }
        #expect(seeded.liveTokens == 3)
    }

    @Test func onlyTokenAndPersonEventsConcernIt() {
        #expect(AuthenticationTable.concerns(.tokenIssued(Self.token("h", nil))))
        #expect(AuthenticationTable.concerns(.contactUpserted(Contact(name: "x"))))
        #expect(!AuthenticationTable.concerns(.teamUpserted(Team(name: "t"))))
        #expect(!AuthenticationTable.concerns(.channelUpserted(Channel(channelType: .sms, channelName: "s"))))
    }

    /// Through the engine: the index is fed by the commit relay, so a caller
    /// that awaited the change's durability sees it.
    @Test func theEngineFeedsItFromCommittedEvents() async throws {
        let w = World()
        let team = await w.team("Support")
        let anna = try await w.agent("Anna", [team])
        let token = Self.token("secret-hash", anna.id)
        try await w.engine.durable(try await w.sup.issueToken(token))
        #expect(w.engine.authentication.authenticate(secretHash: "secret-hash")?.1?.role == .agent)
        var patch = ContactPatch()
        patch.role = .manager
        try await w.engine.durable(try await w.sup.updateContact(anna.id, patch).seq)
        #expect(w.engine.authentication.authenticate(secretHash: "secret-hash")?.1?.role == .manager)
        try await w.engine.durable(try await w.sup.revokeToken(token.id))
        #expect(w.engine.authentication.authenticate(secretHash: "secret-hash") == nil)
    }
}
