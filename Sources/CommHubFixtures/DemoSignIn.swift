import CommHubDomain
import CommHubEngine
import Foundation

/// Sign-in for the demo company: every demo person gets the password
/// `chargecars-demo`, so the web app can be tried at once (`serve --demo`
/// only: a real company's people get invite links or passwords from an
/// admin). The hash is bcrypt (cost 10) of that password, made once, so the
/// fixtures need no bcrypt of their own.
public enum DemoSignIn {
    public static let password = "chargecars-demo"
    static let bcryptHash = "$2b$10$PIuznVwV6r6N.4huSCp02eWB7AVzlIJiVvACEv3pM.WyaIM32Wawa"

    public static func seed(_ engine: Engine) async throws {
        let s = engine.supervisor
        let now = engine.clock.now()
        let people = await s.contactList().filter { $0.email != nil }
        guard !people.isEmpty else { return }
        let seq = try await s.recordWebAccess(people.map {
            .passwordSet(contact: $0.id, record: PasswordRecord(bcryptHash: bcryptHash, setAt: now))
        })
        try await engine.durable(seq)
    }
}
