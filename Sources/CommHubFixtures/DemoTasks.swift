import CommHubDomain
import Foundation

extension DemoCompany {
    /// One demo task before it is tied to a thread: what, for whom, when
    /// (days from today in Amsterdam; negative is overdue), and which
    /// customer topics (indexes into `inboundTexts`) it belongs to.
    struct TaskPlan {
        var type: TaskType
        var days: Int
        var time: String?
        var priority: Priority
        var status: TaskStatus = .open
        var assignee: String
        var topics: [Int]
        /// `{klant}` becomes the customer's name.
        var title: String
        /// `{order}` becomes the order number.
        var description: String
    }

    /// Four overdue, four due today (some of those already past their
    /// time), four in the coming days; follow-ups, callbacks and visits to
    /// schedule, each for an agent whose team does that work.
    static let taskPlans: [TaskPlan] = [
        TaskPlan(type: .callback, days: -3, time: "10:00", priority: .high, assignee: "Lucas Visser", topics: [0, 9],
                 title: "Terugbellen: {klant} over laadpaal die niet laadt",
                 description: "De laadpaal van bestelling {order} laadt niet meer. Bel terug en loop de reset met de aardlekschakelaar door."),
        TaskPlan(type: .scheduleVisit, days: -2, time: nil, priority: .high, assignee: "Bram Mulder", topics: [1],
                 title: "Installatieafspraak plannen met {klant}",
                 description: "Nog geen afspraak voor de installatie van bestelling {order}. Plan een monteur in en bevestig de datum."),
        TaskPlan(type: .followUp, days: -2, time: "12:00", priority: .normal, assignee: "Lotte de Boer", topics: [2],
                 title: "Offerte opvolgen voor {klant}",
                 description: "De offerte voor twee laadpalen is verstuurd (bestelling {order}). Vraag na of er nog vragen zijn."),
        TaskPlan(type: .callback, days: -1, time: "16:30", priority: .urgent, assignee: "Sanne de Vries", topics: [5],
                 title: "Klacht: {klant} terugbellen over gemiste afspraak",
                 description: "De monteur is niet gekomen voor bestelling {order}. Bied excuses aan en plan meteen een nieuwe afspraak."),
        TaskPlan(type: .scheduleVisit, days: 0, time: "09:00", priority: .high, status: .inProgress, assignee: "Fleur de Groot",
                 topics: [7], title: "Afspraak verzetten voor {klant}",
                 description: "De klant wil de installatie van bestelling {order} naar volgende week verplaatsen."),
        TaskPlan(type: .callback, days: 0, time: "11:30", priority: .high, assignee: "Julia Smit", topics: [3],
                 title: "Terugbellen: {klant} over foutcode E42",
                 description: "Foutcode E42 bij bestelling {order}. Controleer de firmware op afstand en bel de klant terug."),
        TaskPlan(type: .followUp, days: 0, time: "15:00", priority: .normal, assignee: "Emma Bakker", topics: [8],
                 title: "Factuur nasturen aan {klant}",
                 description: "De factuur van bestelling {order} is niet aangekomen. Stuur hem opnieuw en controleer het e-mailadres."),
        TaskPlan(type: .scheduleVisit, days: 0, time: "17:00", priority: .normal, assignee: "Thijs Meijer", topics: [6],
                 title: "Schouw meterkast inplannen bij {klant}",
                 description: "Beoordeel of de meterkast voor bestelling {order} uitgebreid moet worden voor een 3-fase laadpaal."),
        TaskPlan(type: .followUp, days: 1, time: "10:00", priority: .normal, assignee: "Daan Jansen", topics: [4],
                 title: "Verzendstatus doorgeven aan {klant}",
                 description: "De klant vraagt of bestelling {order} al verzonden is. Zoek de track & trace op en stuur die door."),
        TaskPlan(type: .callback, days: 1, time: "14:00", priority: .normal, assignee: "Lucas Visser", topics: [9],
                 title: "Terugbellen: {klant} over storing na stroomuitval",
                 description: "Storing code 5 na een stroomuitval bij bestelling {order}. Bel terug en plan zo nodig een monteur."),
        TaskPlan(type: .followUp, days: 3, time: nil, priority: .low, assignee: "Sanne de Vries", topics: [0, 3],
                 title: "Nabellen: laadt de laadpaal van {klant} weer?",
                 description: "Controleer een paar dagen na de storing of de laadpaal van bestelling {order} weer goed laadt."),
        TaskPlan(type: .scheduleVisit, days: 5, time: "08:30", priority: .normal, assignee: "Bram Mulder", topics: [1, 7],
                 title: "Monteur bevestigen voor {klant}",
                 description: "Bevestig monteur en tijdvak voor de installatie van bestelling {order} en stuur de klant een herinnering."),
    ]

    /// The demo tasks, each linked to a demo thread on its topic (a
    /// different one per task while there are enough), that thread's
    /// customer's order, and its agent; created by the team leader.
    /// Without threads the tasks stand alone.
    static func tasks(now: Date, conversations: [Conversation], customers: [Customer], orders: [Order],
                      people: [String: ContactID], rng: inout SplitMix) -> [InternalTask] {
        var used = Set<ThreadID>()
        var out: [InternalTask] = []
        for (n, plan) in taskPlans.enumerated() {
            let onTopic = conversations.filter { plan.topics.contains($0.topic) && !used.contains($0.threadID) }
            let pool = onTopic.isEmpty ? conversations.filter { !used.contains($0.threadID) } : onTopic
            let conversation = pool.isEmpty ? nil : pool[rng.index(pool.count)]
            if let conversation { used.insert(conversation.threadID) }
            let customer = conversation.map { customers[$0.customerIndex] }
            let order = conversation.map { orders[$0.customerIndex] }
            out.append(InternalTask(
                taskTitle: plan.title.replacingOccurrences(of: "{klant}", with: customer?.name ?? "klant"),
                taskDescription: plan.description.replacingOccurrences(of: "{order}", with: order?.orderNumber ?? "onbekend"),
                taskType: plan.type, priority: plan.priority, status: plan.status,
                assignedToContactID: people[plan.assignee], createdByContactID: people["Ruben Bos"],
                threadID: conversation?.threadID, orderID: order?.id,
                dueDate: amsterdamDate(now, plusDays: plan.days), dueTime: plan.time,
                createdAt: now.addingTimeInterval(-Double(4 - min(plan.days, 0)) * 86_400 + Double(n) * 60)))
        }
        return out
    }

    /// The calendar day `days` from `now` in Amsterdam, as YYYY-MM-DD (the tasks' `due_date`).
    public static func amsterdamDate(_ now: Date, plusDays days: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Amsterdam") ?? TimeZone(identifier: "UTC")!
        let day = calendar.date(byAdding: .day, value: days, to: now) ?? now
        let c = calendar.dateComponents([.year, .month, .day], from: day)
        return String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }
}
