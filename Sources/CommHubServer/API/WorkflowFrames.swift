import CommHubDomain
import CommHubEngine
import Foundation

/// The WebSocket frames of workflow alerts, sent only to the people they
/// concern (the event's recipients). Each carries `title` and `body`, ready
/// for a browser notification, beside the machine-readable fields:
///
/// - `sla.alert`: `thread_id`, `thread_subject`, `step` (`reminder_75`,
///   `team_leader_90`, `manager_escalation`, `executive_24h`),
///   `response_due_at` (the deadline the step is about), `at`, `priority`,
///   `recipients`;
/// - `task.reminder`: `task_id`, `task_title`, `thread_id`, `kind`
///   (`before_due` with `minutes_before`, or `overdue`), `due_at`, `at`, `recipients`.
enum WorkflowFrames {
    static func frame(for e: SequencedEvent, contact: Contact, engine: Engine) async -> JSONValue? {
        switch e.event {
        case .slaStepFired(let t, let step, let deadline, let recipients, let at):
            guard recipients.contains(contact.id) else { return nil }
            let header = await engine.supervisor.thread(t)?.header
            let subject = header?.threadSubject ?? ""
            let title: String = switch step {
            case .reminder75: "Answer due soon"
            case .teamLeader90: "SLA alert: a thread of your team is almost overdue"
            case .managerEscalation: "Escalated: a customer waits past the deadline"
            case .executive24h: "Executive alert: a customer waits long past the deadline"
            }
            return frame(e.seq, "sla.alert", [
                "thread_id": .string(t.description), "thread_subject": .string(subject), "step": .string(step.rawValue),
                "response_due_at": .string(deadline.iso8601), "at": .string(at.iso8601),
                "priority": header.map { .string($0.priority.rawValue) } ?? .null,
                "recipients": .array(recipients.map { .string($0.description) }),
                "title": .string(title), "body": .string("\(subject) — due \(deadline.iso8601)"),
            ])
        case .taskReminderFired(let id, let key, let due, let recipients, let at):
            guard recipients.contains(contact.id) else { return nil }
            let task = await engine.supervisor.task(id)
            var data: [String: JSONValue] = [
                "task_id": .string(id.description), "task_title": .string(task?.taskTitle ?? ""),
                "thread_id": task?.threadID.map { .string($0.description) } ?? .null,
                "due_at": .string(due.iso8601), "at": .string(at.iso8601),
                "recipients": .array(recipients.map { .string($0.description) }),
            ]
            if key == "overdue" {
                data["kind"] = .string("overdue")
                data["title"] = .string("Task overdue")
            } else {
                let minutes = Int(key.split(separator: ":").last ?? "") ?? 0
                data["kind"] = .string("before_due")
                data["minutes_before"] = .number(Double(minutes))
                data["title"] = .string("Task due in \(minutes) minutes")
            }
            data["body"] = .string(task?.taskTitle ?? "")
            return frame(e.seq, "task.reminder", data)
        default:
            return nil
        }
    }

    static func frame(_ seq: UInt64, _ type: String, _ data: [String: JSONValue]) -> JSONValue {
        .object(["seq": .number(Double(seq)), "type": .string(type), "data": .object(data)])
    }
}
