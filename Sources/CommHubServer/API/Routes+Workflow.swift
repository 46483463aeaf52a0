import CommHubDomain
import CommHubEngine
import CommHubWire
import Foundation
import Hummingbird

extension CommHubAPI {
    /// `GET/PUT /api/workflow-settings`: business hours, SLA targets and
    /// ladder, task response targets, task rules, digest (`WorkflowSettings`).
    /// PUT replaces the whole settings (a key left out takes its default);
    /// anything wrong is refused with a message naming the key, and nothing changes.
    func registerWorkflow(_ api: RouterGroup<APIContext>) {
        api.get("workflow-settings") { _, context in
            _ = try require(.readConfiguration, context)
            return try JSONResponse.make(await supervisor.workflowSettings())
        }
        api.put("workflow-settings") { request, context in
            _ = try require(.writeConfiguration, context)
            let settings = try await request.decodeJSON(WorkflowSettings.self, context: context)
            let change = try await mapped { try await supervisor.setWorkflowSettings(settings) }
            try await durable(change.seq)
            try await audit(context, "workflow.update", "workflow_settings", "global", before: change.before, after: change.after)
            return try JSONResponse.make(change.after)
        }
    }
}
