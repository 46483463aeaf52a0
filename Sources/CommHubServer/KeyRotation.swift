import CommHubDomain
import CommHubEngine
import CommHubStore
import Crypto
import Foundation
import Logging
import Synchronization

/// Moves every key CommHub holds under a new master key while the server
/// runs (`commhub keys rotate`, the admin socket's `keys rotate`):
///
/// 1. the next key is staged durably (`MasterKeys.stageNext`);
/// 2. the store and the `SecretBox` seal with it from now on (both keys open);
/// 3. the KEK is rolled: a new generation wrapped under the new key, every
///    data key rewrapped under it in bounded transactions, the old KEK file
///    overwritten and deleted;
/// 4. every stored secret (channel secrets, gateway state, the Microsoft
///    sign-in client secret, the Web Push key) is journaled again, re-sealed
///    under the new key, in bounded journal writes; the last write and the
///    switch that stops the old key opening secrets happen in one supervisor turn;
/// 5. the new key replaces the old one (`MasterKeys.finishRotation`), which
///    is overwritten and deleted; the rotation is audited (`keys.rotate`).
///
/// Ingest, replies and API calls go on throughout. A rotation killed at any
/// point resumes at the next start (`resumeIfInterrupted`): both keys are
/// loaded while `master.key.next` (or `master.key.rotation`) exists, and each
/// step is idempotent. Backups exported before a rotation need the old key.
public final class KeyRotation: Sendable {
    /// Set to a step name, the rotation stops there (prints a line, then
    /// waits forever) so crash tests can kill the process at that point.
    public static let failpointVariable = "COMMHUB_FAILPOINT_KEY_ROTATION"
    public static let failpointSteps = ["next-key-staged", "kek-rolled", "secrets-resealed", "old-key-linked", "new-key-in-place"]

    let durable: DurableEngine
    let secrets: SecretBox
    let dataDirectory: String
    let logger: Logger
    private let running = Mutex(false)
    private let failpoint: String?

    public init(durable: DurableEngine, secrets: SecretBox, dataDirectory: String, logger: Logger,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.durable = durable
        self.secrets = secrets
        self.dataDirectory = dataDirectory
        self.logger = logger
        self.failpoint = environment[Self.failpointVariable]
    }

    /// What `keys` on the admin socket shows.
    public var status: JSONValue {
        let m = durable.writer.masterKeys
        return .object(["master_key": .string(Self.describe(m.source)),
                        "rotation_in_progress": .bool(m.next != nil),
                        "kek_generations": .array(durable.writer.kekGenerations.map { .number(Double($0)) })])
    }

    /// Makes the supervisor re-seal, on commit, a secret a request sealed
    /// under a key a rotation moved past (`Supervisor.secretReseal`). Before serving.
    public func installReseal() async {
        let box = secrets
        await durable.engine.supervisor.installSecretReseal { try box.resealed($0) }
    }

    /// Finishes a rotation a crash cut short. Run at start, before serving.
    public func resumeIfInterrupted() async throws {
        guard durable.writer.masterKeys.next != nil else { return }
        logger.notice("finishing an interrupted master key rotation")
        _ = try await rotate(newKeyFile: nil, via: "start")
    }

    /// Rotates; `newKeyFile` names the new key's file (required when the
    /// master key comes from `COMMHUB_MASTER_KEY`). One rotation at a time.
    public func rotate(newKeyFile: String?, via: String) async throws -> JSONValue {
        guard running.withLock({ r -> Bool in defer { r = true }; return !r }) else {
            throw EngineError(.conflict, "a key rotation is running; wait for it to finish")
        }
        defer { running.withLock { $0 = false } }
        let began = ContinuousClock.now
        let writer = durable.writer
        let engine = durable.engine
        let resumed = writer.masterKeys.next != nil
        let staged = try MasterKeys.stageNext(dataDirectory: dataDirectory, current: writer.masterKeys, newKeyFile: newKeyFile)
        stop(at: "next-key-staged")
        writer.useNextMasterKey(staged.key, path: staged.path)
        secrets.useNext(staged.key)
        try await writer.rollKEK()
        stop(at: "kek-rolled")
        var resealed = 0
        while true {
            let box = secrets
            let batch = try await engine.supervisor.resealSecrets(with: { try box.resealed($0) }, afterLastBatch: { box.retireOlder() })
            resealed += batch.resealed
            if let seq = batch.seq { try await engine.durable(seq) }
            if batch.done { break }
        }
        stop(at: "secrets-resealed")
        let before = writer.masterKeys
        _ = try MasterKeys.finishRotation(dataDirectory: dataDirectory, keys: before) { self.stop(at: $0) }
        writer.promoteNextMasterKey()
        let generation = writer.kekGenerations.last ?? 0
        let entry = AuditEntry(at: engine.clock.now(), actorContactID: nil, actorTokenID: nil, action: "keys.rotate",
                               entity: "master_key", entityID: "kek generation \(generation), \(resealed) secrets re-sealed",
                               scope: .system, via: via)
        try await engine.durable(try await engine.supervisor.audit(entry))
        let elapsed = ContinuousClock.now - began
        logger.notice("master key rotated", metadata: ["keys.kek_generation": "\(generation)", "keys.secrets_resealed": "\(resealed)",
                                                       "keys.resumed": "\(resumed)"])
        var answer: [String: JSONValue] = [
            "kek_generation": .number(Double(generation)), "secrets_resealed": .number(Double(resealed)),
            "resumed": .bool(resumed), "master_key": .string(Self.describe(before.source)),
            "milliseconds": .number(Double(elapsed.components.seconds * 1000) + Double(elapsed.components.attoseconds / 1_000_000_000_000_000)),
        ]
        if before.source == .environment {
            answer["next_step"] = .string("set \(MasterKeys.environmentVariable) to the key in \(staged.path) before the next start; "
                + "the old key no longer opens anything in the data directory")
        }
        return .object(answer)
    }

    static func describe(_ source: MasterKeys.Source) -> String {
        switch source {
        case .environment: MasterKeys.environmentVariable
        case .file(let path): path
        }
    }

    private func stop(at step: String) {
        guard failpoint == step else { return }
        FileHandle.standardOutput.write(Data("key rotation stopped at failpoint \(step)\n".utf8))
        while true { sleep(3600) }
    }
}
