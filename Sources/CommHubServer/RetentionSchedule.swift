import CommHubDomain
import CommHubEngine
import Foundation
import Logging
import ServiceLifecycle

/// Enforces the retention policy (`PUT /api/retention`) on a schedule:
/// every `interval`, `Engine.enforceRetention` at the engine's clock (so a
/// simulated clock moves it too). A run that fails is logged and retried
/// at the next tick; it never stops the server.
public struct RetentionSchedule: Service {
    let engine: Engine
    let logger: Logger
    /// Time between runs.
    public static let interval: Duration = .seconds(600)

    public init(engine: Engine, logger: Logger) {
        self.engine = engine
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: Self.interval) } catch { return }
                do {
                    let done = try await engine.enforceRetention()
                    if done.threads > 0 || done.auditEntries > 0 {
                        logger.notice("retention enforced", metadata: ["retention.threads_expired": "\(done.threads)",
                                                                       "retention.audit_entries_deleted": "\(done.auditEntries)"])
                    }
                } catch {
                    logger.error("retention run failed", metadata: ["error": "\(ErrorText.describe(error))"])
                }
            }
        }
    }
}
