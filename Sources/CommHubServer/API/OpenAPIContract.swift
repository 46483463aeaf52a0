import Foundation
import Hummingbird
import NIOCore

/// Serves the HTTP contract, `openAPIDocumentJSON` (OpenAPI 3.1), at
/// `GET /api/openapi.json` — without a token, because integrators (the ERP
/// pushing the directory, mobile clients, gateways written elsewhere) read
/// the contract before they have one. Read-only: the document is a constant
/// of the binary, encoded once.
///
/// The document is the one source of truth for routes, parameters, bodies,
/// enums and error shapes; `OpenAPIContractTests` fails when a registered
/// route is missing from it or a documented one is not registered, when an
/// enum differs from `CommHubDomain`, and when the server's answers have
/// fields the document does not name.
enum OpenAPIContract {
    static let path = "/api/openapi.json"

    /// The document's bytes, as served.
    static let body = ByteBuffer(string: openAPIDocumentJSON)

    static func register(on group: RouterGroup<APIContext>) {
        group.get(RouterPath(path)) { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                     body: .init(byteBuffer: body))
        }
    }
}
