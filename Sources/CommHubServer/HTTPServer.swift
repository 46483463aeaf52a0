import CommHubDomain
import CommHubEngine
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Builds the HTTP application. This first cut serves `/healthz`; the API of
/// API.md is added on the same router.
public func buildHTTPApplication(engine: Engine, restore: DurableEngine.RestoreReport?, host: String, port: Int,
                                 logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
    -> some ApplicationProtocol {
    let router = Router()
    router.get("/healthz") { _, _ -> Response in
        var fields: [String: JSONValue] = [
            "status": .string("ok"),
            "last_seq": .number(Double(engine.journal.lastAssignedSeq)),
            "threads": .number(Double(engine.inbox.count)),
        ]
        if let r = restore {
            fields["restore"] = .object([
                "snapshot_id": r.snapshotID.map { .number(Double($0)) } ?? .null,
                "replayed_events": .number(Double(r.replayedEvents)),
                "dropped_tail_events": .number(Double(r.droppedTailSeqs.count)),
                "milliseconds": .number(Double(r.milliseconds)),
            ])
        }
        let data = try JSONEncoder().encode(JSONValue.object(fields))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
    return Application(
        router: router,
        configuration: .init(address: .hostname(host, port: port), serverName: "CommHub"),
        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
        logger: logger)
}
