import CommHubDomain
import CommHubEngine
import CommHubFixtures
import Foundation
import Testing

/// The demo company on an in-memory engine at 2026-11-25 11:00 in Amsterdam
/// (the simulated clock's start): what `commhub serve --demo` shows a
/// newcomer, and that it is the same every time.
@Suite struct DemoCompanyTests {
    static let today = "2026-11-25"

    static func seeded(threads: Int = 60) async throws -> Engine {
        let engine = Engine.inMemory(clock: SimulatedClock())
        try await DemoCompany.seed(engine, threads: threads)
        return engine
    }

    @Test func everyBrandHasADutchReplyPerChannelAndCategoryAndOneAutoResponse() async throws {
        let engine = try await Self.seeded()
        let templates = await engine.supervisor.templates { _ in true }
        // Typed once: as a literal expression inside #expect it sits at the type checker's limit.
        let expected: Int = 5 * 3 * 4 + 5
        #expect(templates.count == expected)
        for brand in Brand.allCases {
            let own = templates.filter { $0.businessEntity.rawValue == brand.rawValue }
            for channel in [TemplateChannelType.emailOutlook, .whatsappBusiness, .sms] {
                for category in [TemplateCategory.customerService, .installationScheduling, .technicalSupport, .followUp] {
                    let found = own.filter { $0.channelType == channel && $0.templateCategory == category }
                    #expect(found.count == 1, "\(brand) \(channel) \(category): \(found.count) templates")
                }
            }
            let auto = own.filter { $0.templateCategory == .autoResponse }
            #expect(auto.count == 1 && auto.first?.channelType == .any, "\(brand): \(auto.map(\.templateName))")
        }
    }

    @Test func repliesUseTheThreeVariablesAndRenderCompletely() async throws {
        let engine = try await Self.seeded()
        let values = ["customer_name": "Noor Dekker", "order_number": "240117", "agent_name": "Sanne de Vries"]
        for t in await engine.supervisor.templates(where: { _ in true }) {
            let rendered = TemplateRenderer.render(t.messageTemplate, variables: values)
            #expect(rendered.missing.isEmpty && !rendered.text.contains("{{"), "\(t.templateName): \(rendered.missing)")
            #expect(rendered.text.contains("Noor Dekker"), "\(t.templateName) greets the customer by name")
            guard t.templateCategory != .autoResponse else {
                // Sent before anyone answers: no agent, maybe no order, and a fallback for the name.
                #expect(t.variables == ["customer_name"], "\(t.templateName): \(t.variables)")
                #expect(TemplateRenderer.render(t.messageTemplate, variables: [:]).missing.isEmpty)
                continue
            }
            #expect(Set(t.variables) == Set(values.keys), "\(t.templateName): \(t.variables)")
            #expect(rendered.text.contains("240117") && rendered.text.contains("Sanne de Vries"), "\(t.templateName)")
            #expect((t.subjectTemplate != nil) == (t.channelType == .emailOutlook), "\(t.templateName): only mail has a subject")
            #expect(rendered.text.contains("Beste") || rendered.text.contains("Hoi"), "\(t.templateName) is Dutch")
        }
    }

    @Test func aDozenTasksForAgentsOnDemoThreadsAndTheirOrders() async throws {
        let engine = try await Self.seeded()
        let s = engine.supervisor
        let tasks = await s.tasks { _ in true }
        #expect(tasks.count == 12)
        #expect(Set(tasks.map(\.taskType)) == [.followUp, .callback, .scheduleVisit])
        let overdue = tasks.filter { ($0.dueDate ?? "") < Self.today }
        let dueToday = tasks.filter { $0.dueDate == Self.today }
        #expect(overdue.count == 4 && dueToday.count == 4, "overdue \(overdue.count), today \(dueToday.count)")
        #expect(tasks.allSatisfy { $0.status == .open || $0.status == .inProgress })
        #expect(Set(tasks.compactMap(\.threadID)).count == 12, "each task on its own thread")
        for t in tasks {
            let assignee = try #require(await t.assignedToContactID.asyncMap { await s.contact($0) } ?? nil, "\(t.taskTitle) has no demo agent")
            #expect(assignee.role == .agent, "\(t.taskTitle) is for \(assignee.name), a \(assignee.role)")
            let creator = await t.createdByContactID.asyncMap { await s.contact($0) } ?? nil
            #expect(creator?.name == "Ruben Bos")
            let thread = try #require(await t.threadID.asyncMap { await s.thread($0) } ?? nil, "\(t.taskTitle) has no thread")
            let order = try #require(await t.orderID.asyncMap { await s.order($0) } ?? nil, "\(t.taskTitle) has no order")
            #expect(order.customerID == thread.header.customerID, "\(t.taskTitle): the order is not the thread customer's")
            let customer = try #require(await order.customerID.asyncMap { await s.customer($0) } ?? nil)
            #expect(t.taskTitle.contains(customer.name), "\(t.taskTitle) names the customer")
            #expect(t.taskDescription?.contains(order.orderNumber) == true, "\(t.taskTitle) names the order")
        }
    }

    /// Two engines seeded at the same moment hold the same company, compared by content (ids are fresh UUIDs).
    @Test func theDemoIsTheSameEveryTime() async throws {
        let a = try await Self.fingerprint(Self.seeded())
        let b = try await Self.fingerprint(Self.seeded())
        #expect(a == b)
        #expect(!a.isEmpty)
    }

    /// Templates, tasks (with their thread's first message and their agent) and every thread's messages, by content.
    static func fingerprint(_ engine: Engine) async -> [String] {
        let s = engine.supervisor
        var lines = await s.templates { _ in true }.map { "template \($0.templateName) \($0.subjectTemplate ?? "") \($0.messageTemplate)" }
        for t in await s.tasks(where: { _ in true }) {
            let first = await t.threadID.asyncMap { await s.thread($0)?.messages.first?.externalMessageID } ?? nil
            let agent = await t.assignedToContactID.asyncMap { await s.contact($0)?.name } ?? nil
            lines.append("task \(t.taskType) \(t.taskTitle) \(t.dueDate ?? "-") \(t.dueTime ?? "-") \(agent ?? "-") \(first ?? "-")")
        }
        lines.append("threads \(await s.threadCount)")
        return lines.sorted()
    }

    @Test func dueDatesAreAmsterdamCalendarDays() {
        // 23:30 UTC on 25 November is 00:30 on the 26th in Amsterdam (UTC+1 in winter).
        let lateEvening = Date(timeIntervalSince1970: 1_795_649_400)
        #expect(DemoCompany.amsterdamDate(lateEvening, plusDays: 0) == "2026-11-26")
        #expect(DemoCompany.amsterdamDate(lateEvening, plusDays: -3) == "2026-11-23")
        #expect(DemoCompany.amsterdamDate(SimulatedClock().now(), plusDays: 0) == Self.today)
    }

    @Test func splitMixMatchesTheReferenceSequence() {
        // SplitMix64 from seed 0 (Steele, Lea and Flood; the reference C code by Vigna).
        var rng = SplitMix(seed: 0)
        #expect([rng.next(), rng.next(), rng.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
    }
}

extension Optional {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
