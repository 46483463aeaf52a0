"""Stand-ins for the providers the browser tests reach, on loopback.

- WhatsAppCloud: the Cloud API as CommHub's gateway uses it
  (`POST /v21.0/{phone_number_id}/messages`); it records every send so a test
  can see a reply the browser sent actually reached "Meta".
- EntraID: Microsoft's OpenID Connect endpoints for one tenant (discovery,
  authorize, token, JWKS). `authorize` shows a small consent page with a
  "sign in" button, as Microsoft's own page would; the token endpoint checks
  the client secret, the redirect URI and the PKCE verifier (S256) and answers
  an RS256 ID token signed with a key the JWKS lists.

Both are plain `http.server` threads: no framework, nothing from outside.
"""

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _Server:
    """A threaded HTTP server on 127.0.0.1 with any free port."""

    def __init__(self, handler_factory):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: the test output is for the tests
                pass

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_GET(self):
                owner.handle(self, "GET", b"")

            def do_POST(self):
                owner.handle(self, "POST", self._body())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def answer(h, status, body, content_type="application/json", headers=None):
        data = body if isinstance(body, bytes) else (json.dumps(body) if content_type == "application/json" else body).encode()
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)


class WhatsAppCloud(_Server):
    """Records sends; answers like the Cloud API."""

    def __init__(self):
        super().__init__(None)
        self.lock = threading.Lock()
        self.sends = []  # (path, json body)
        self.counter = 0

    def handle(self, h, method, body):
        if not (h.headers.get("Authorization") or "").startswith("Bearer "):
            return self.answer(h, 401, {"error": {"message": "Invalid OAuth access token.", "code": 190}})
        if method == "POST" and h.path.endswith("/messages"):
            try:
                doc = json.loads(body or b"{}")
            except ValueError:
                return self.answer(h, 400, {"error": {"message": "bad json", "code": 100}})
            if doc.get("status") == "read":
                return self.answer(h, 200, {"success": True})
            with self.lock:
                self.counter += 1
                n = self.counter
                self.sends.append((h.path, doc))
            to = doc.get("to", "")
            return self.answer(h, 200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                                        "messages": [{"id": f"wamid.browser.{n}"}]})
        return self.answer(h, 404, {"error": {"message": "Unsupported request", "code": 100}})

    def sent(self):
        with self.lock:
            return list(self.sends)


def sign_whatsapp(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


class EntraID(_Server):
    """One tenant's OpenID Connect endpoints, with a consent page."""

    tenant = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
    client_id = "6731de76-14a6-49ae-97bc-6eba6914391e"
    client_secret = "browser-standin-client-secret"
    kid = "browser-standin-key"

    def __init__(self, clock=time.time):
        super().__init__(None)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.grants = {}
        self.lock = threading.Lock()
        self.clock = clock  # CommHub's clock (simulated in tests): iat/exp follow it
        self.email = None  # who signs in on the consent page
        self.token_requests = []

    @property
    def issuer(self):
        return f"{self.base_url}/{self.tenant}/v2.0"

    def handle(self, h, method, body):
        url = urllib.parse.urlsplit(h.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        p = f"/{self.tenant}"
        if method == "GET" and url.path == p + "/v2.0/.well-known/openid-configuration":
            return self.answer(h, 200, {
                "issuer": f"{self.base_url}/{{tenantid}}/v2.0",
                "authorization_endpoint": f"{self.base_url}{p}/oauth2/v2.0/authorize",
                "token_endpoint": f"{self.base_url}{p}/oauth2/v2.0/token",
                "jwks_uri": f"{self.base_url}{p}/discovery/v2.0/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            })
        if method == "GET" and url.path == p + "/discovery/v2.0/keys":
            n = self.key.public_key().public_numbers()
            return self.answer(h, 200, {"keys": [{
                "kty": "RSA", "use": "sig", "kid": self.kid,
                "n": b64url(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                "e": b64url(n.e.to_bytes(3, "big")),
            }]})
        if method == "GET" and url.path == p + "/oauth2/v2.0/authorize":
            return self.consent_page(h, q)
        if method == "POST" and url.path == p + "/oauth2/v2.0/consent":
            return self.consent(h, dict(urllib.parse.parse_qsl(body.decode())))
        if method == "POST" and url.path == p + "/oauth2/v2.0/token":
            return self.token(h, dict(urllib.parse.parse_qsl(body.decode())))
        return self.answer(h, 404, {"error": "not_found"})

    def consent_page(self, h, q):
        need = ["redirect_uri", "state", "code_challenge", "nonce", "client_id"]
        if any(k not in q for k in need) or q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return self.answer(h, 400, "invalid_request", "text/plain")
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(q[k])}">' for k in need)
        page = (f'<!doctype html><html lang="en"><head><title>Sign in to your account</title></head><body>'
                f'<main><h1>Microsoft (stand-in)</h1><form method="post" action="/{self.tenant}/oauth2/v2.0/consent">{hidden}'
                f'<label for="login">Email</label><input id="login" name="login" value="{html.escape(self.email or "")}">'
                f'<button id="accept" type="submit">Sign in</button></form></main></body></html>')
        return self.answer(h, 200, page, "text/html; charset=utf-8")

    def consent(self, h, f):
        code = "code-" + secrets.token_urlsafe(16)
        with self.lock:
            self.grants[code] = f
        loc = f["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": f["state"], "session_state": "s"})
        return self.answer(h, 302, b"", "text/plain", {"Location": loc})

    def token(self, h, f):
        self.token_requests.append(f)
        with self.lock:
            grant = self.grants.pop(f.get("code", ""), None)
        if grant is None or f.get("grant_type") != "authorization_code":
            return self.answer(h, 400, {"error": "invalid_grant", "error_description": "AADSTS70008: unknown or used code"})
        if f.get("client_id") != self.client_id or f.get("client_secret") != self.client_secret:
            return self.answer(h, 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"})
        if f.get("redirect_uri") != grant["redirect_uri"]:
            return self.answer(h, 400, {"error": "invalid_grant", "error_description": "AADSTS50148: redirect_uri mismatch"})
        challenge = b64url(hashlib.sha256(f.get("code_verifier", "").encode()).digest())
        if challenge != grant["code_challenge"]:
            return self.answer(h, 400, {"error": "invalid_grant", "error_description": "AADSTS501481: code_verifier mismatch"})
        return self.answer(h, 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": "standin",
                                    "id_token": self.id_token(grant)})

    def id_token(self, grant):
        t = int(self.clock())
        email = grant.get("login", "")
        claims = {"aud": self.client_id, "iss": self.issuer, "iat": t, "nbf": t, "exp": t + 3600, "nonce": grant["nonce"],
                  "tid": self.tenant, "oid": secrets.token_hex(8), "sub": "sub-" + email, "name": email,
                  "preferred_username": email, "email": email, "ver": "2.0"}
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(sig)
