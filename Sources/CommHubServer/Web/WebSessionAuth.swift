import CommHubDomain
import CommHubEngine
import Foundation
import Hummingbird
import HTTPTypes

/// The web app's session cookie as an identity for `/api` and `/api/events`.
///
/// A request carrying the cookie is the person of the session, as if it
/// carried their token, with two extra rules: every request that changes
/// something (anything but GET, HEAD and OPTIONS) must carry the session's
/// CSRF token in `X-CSRF-Token` (403 `csrf` otherwise), and a request whose
/// `Origin` names another host is refused. Bearer-token clients are not
/// affected: browsers never attach an `Authorization` header by themselves,
/// so a bearer request cannot be forged from another site.
enum WebSessionAuth {
    /// nil when the request carries no live session cookie.
    static func identity(_ request: Request, tokens: AuthenticationIndex, now: Date) throws -> Identity? {
        guard let secret = SessionCookies.value(SessionCookies.session, in: request.headers[.cookie]),
              let (session, contact) = tokens.authenticate(sessionSecretHash: TokenSecret.hash(secret), at: now) else {
            return nil
        }
        if let origin = request.headers[.origin], !WebOrigin.sameHost(origin: origin, request: request) {
            throw APIError(.forbidden, "cross_origin", "requests with CommHub's session cookie must come from CommHub's own page")
        }
        if ![.get, .head, .options].contains(request.method),
           !CSRFToken.matches(request.headers[HTTPField.Name(CSRFToken.header)!], sessionSecret: secret) {
            throw APIError(.forbidden, "csrf",
                           "this change came with the session cookie but without the page's X-CSRF-Token header; reload the page and try again")
        }
        return Identity(token: token(for: session), contact: contact)
    }

    /// The session as the token the API's identity, audit trail and rate
    /// limits expect: its id is the session's id, its hash the session's.
    static func token(for s: WebSession) -> APIToken {
        APIToken(id: TokenID(s.id.uuid), kind: .person, contactID: s.contactID, label: "web session (\(s.method.rawValue))",
                 secretHash: s.secretHash, createdAt: s.createdAt)
    }

    /// The person of a WebSocket upgrade carrying the session cookie from CommHub's own page.
    static func webSocketContact(_ request: Request, tokens: AuthenticationIndex, now: Date) -> Contact? {
        guard let secret = SessionCookies.value(SessionCookies.session, in: request.headers[.cookie]),
              let (_, contact) = tokens.authenticate(sessionSecretHash: TokenSecret.hash(secret), at: now) else { return nil }
        // Browsers always send Origin on a WebSocket; another site's page must not ride on the cookie.
        guard let origin = request.headers[.origin], WebOrigin.sameHost(origin: origin, request: request) else { return nil }
        return contact
    }
}
