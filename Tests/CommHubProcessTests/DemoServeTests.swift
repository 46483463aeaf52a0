import Foundation
import Testing

/// `commhub serve --demo` as `Scripts/serve` runs it on a new data
/// directory: the real binary fills the engine through the fixtures' seeder
/// (the server library holds no demo data) and the API shows a living
/// inbox, tasks and templates. Without `--demo` nothing fake appears.
@Suite struct DemoServeTests {
    static let token = "demo-test-admin-token"

    static func tempDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("commhub-demo-\(UUID().uuidString)").path
    }

    /// The `items` of a list answer, after checking that it is a 200.
    static func items(_ http: HTTPTestClient, _ path: String) async throws -> [[String: Any]] {
        let r = try await http.request("GET", path, token: token)
        #expect(r.status == 200, "\(path): \(r.status) \(r.text)")
        return try #require(try r.json() as? [String: Any])["items"] as? [[String: Any]] ?? []
    }

    struct Counts: Equatable {
        var threads: Int
        var overdueThreads: Int
        var tasks: Int
        var templates: Int
    }

    static func counts(_ server: ServerProcess) async throws -> Counts {
        let http = HTTPTestClient(port: server.httpPort)
        return Counts(threads: try await items(http, "/api/communication/threads?status=all&limit=500").count,
                      overdueThreads: try await items(http, "/api/communication/threads?overdue=true&limit=500").count,
                      tasks: try await items(http, "/api/tasks?limit=500").count,
                      templates: try await items(http, "/api/templates").count)
    }

    @Test func demoFillsANewDataDirectoryOnceAndARestartKeepsIt() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try ServerProcess(data: dir, token: Self.token, demo: true)
        try await first.waitReady()
        let seeded = try await Self.counts(first)
        #expect(seeded.threads > 100, "\(seeded)")
        #expect(seeded.overdueThreads > 0, "some threads are overdue: \(seeded)")
        #expect(seeded.tasks == 12 && seeded.templates == 65, "\(seeded)")

        // Tasks come with their agent, thread and order, some overdue; templates carry the variables.
        let http = HTTPTestClient(port: first.httpPort)
        let tasks = try await Self.items(http, "/api/tasks?limit=500")
        #expect(tasks.allSatisfy { $0["assigned_to_contact_id"] is String && $0["thread_id"] is String && $0["order_id"] is String })
        let today = try #require(tasks.compactMap { $0["due_date"] as? String }.sorted().dropFirst(4).first)
        #expect(tasks.filter { ($0["due_date"] as? String ?? "") < today }.count == 4, "four overdue tasks")
        let templates = try await Self.items(http, "/api/templates?channel_type=whatsapp_business&business_entity=laderthuis")
        #expect(templates.count == 5, "four replies and the auto-response: \(templates.map { $0["template_name"] ?? "" })")
        #expect(templates.allSatisfy { ($0["message_template"] as? String ?? "").contains("{{customer_name") })
        #expect(first.terminate() == 0)

        // A data directory that holds threads is never seeded again, even with --demo.
        let second = try ServerProcess(data: dir, token: Self.token, demo: true)
        try await second.waitReady()
        var again = try await Self.counts(second)
        again.overdueThreads = seeded.overdueThreads  // time moved on: more may be overdue now
        #expect(again == seeded)
        #expect(second.terminate() == 0)
    }

    @Test func withoutDemoANewDataDirectoryStartsEmpty() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(data: dir, token: Self.token)
        try await server.waitReady()
        #expect(try await Self.counts(server) == Counts(threads: 0, overdueThreads: 0, tasks: 0, templates: 0))
        #expect(server.terminate() == 0)
    }
}
