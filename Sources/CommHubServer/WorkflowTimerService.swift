import CommHubEngine
import Logging
import ServiceLifecycle

/// Runs the engine's workflow timers (the SLA ladder, follow-up tasks, task
/// reminders, daily digests) once a second on the engine's clock. Nothing
/// is scanned: each tick asks the supervisor's timer heap what is due. On a
/// simulated clock, `clock advance` runs them at once as well.
public struct WorkflowTimerService: Service {
    let engine: Engine
    let logger: Logger
    public static let tick: Duration = .seconds(1)

    public init(engine: Engine, logger: Logger) {
        self.engine = engine
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let run = await engine.supervisor.runDueTimers()
                if run.slaSteps + run.tasksCreated + run.taskReminders + run.digests > 0 {
                    logger.info("workflow timers ran", metadata: [
                        "sla.steps": "\(run.slaSteps)", "tasks.created": "\(run.tasksCreated)",
                        "tasks.reminders": "\(run.taskReminders)", "digests.sent": "\(run.digests)"])
                }
                do { try await Task.sleep(for: Self.tick) } catch { return }
            }
        }
    }
}
