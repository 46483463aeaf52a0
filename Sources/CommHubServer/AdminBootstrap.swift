import CommHubDomain
import CommHubEngine
import Foundation
import Logging

/// Makes sure an admin can reach the API. With `COMMHUB_ADMIN_TOKEN` set,
/// that token becomes (or stays) an admin token. Otherwise, when no admin
/// token exists yet, one is created and printed once; only its hash is kept.
public enum AdminBootstrap {
    /// Returns the new secret when one was created (the caller prints it).
    public static func ensure(_ engine: Engine, environment: [String: String] = ProcessInfo.processInfo.environment,
                              logger: Logger) async throws -> String? {
        let s = engine.supervisor
        let given = environment["COMMHUB_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if let given, engine.authentication.authenticate(secretHash: TokenSecret.hash(given)) != nil { return nil }
        if given == nil, await s.hasLiveAdminToken() { return nil }
        let admin: Contact
        if let existing = await s.contactList().first(where: { $0.role == .admin && $0.name == "CommHub admin" }) {
            admin = existing
        } else {
            admin = Contact(name: "CommHub admin", role: .admin, maxOpenThreads: 0, presence: .offline)
            _ = try await s.upsertContact(admin)
        }
        let secret = given ?? TokenSecret.generate()
        let seq = try await s.issueToken(APIToken(kind: .person, contactID: admin.id,
                                                  label: given == nil ? "first admin token" : "COMMHUB_ADMIN_TOKEN",
                                                  secretHash: TokenSecret.hash(secret), createdAt: engine.clock.now()))
        try await engine.durable(seq)
        logger.info("admin token registered", metadata: ["token.source": "\(given == nil ? "generated" : "environment")"])
        return given == nil ? secret : nil
    }
}
