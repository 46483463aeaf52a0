import Synchronization
import Testing
@testable import CommHubEngine

/// Snapshots run one at a time: callers that arrive while one is written
/// share it (twenty concurrent admin `snapshot` commands used to write twenty
/// copies of the engine at once, 0.4 → 1.2 GB).
@Suite struct SingleFlightTests {
    final class Probe: Sendable {
        let state = Mutex((running: 0, maxRunning: 0, runs: 0))
        func enter() { state.withLock { $0.running += 1; $0.runs += 1; $0.maxRunning = max($0.maxRunning, $0.running) } }
        func leave() { state.withLock { $0.running -= 1 } }
    }

    @Test func concurrentCallersNeverRunTheJobTwiceAtOnceAndAllGetAResult() async throws {
        let flight = SingleFlight<Int>()
        let probe = Probe()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await flight.run {
                        probe.enter()
                        defer { probe.leave() }
                        try await Task.sleep(for: .milliseconds(20))
                        return probe.state.withLock { $0.runs }
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.count == 20)
        #expect(probe.state.withLock { $0.maxRunning } == 1)
        // Callers share runs: every result names a run that happened.
        let runs = probe.state.withLock { $0.runs }
        #expect(results.allSatisfy { (1...runs).contains($0) })
    }

    @Test func aFailedRunIsSharedAndTheNextCallRunsAgain() async throws {
        let flight = SingleFlight<Int>()
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await flight.run { throw Boom() } }
        #expect(try await flight.run { 7 } == 7)
    }
}
