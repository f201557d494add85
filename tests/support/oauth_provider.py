"""A local OAuth 2.0 provider standing in for Google and Microsoft in tests: an authorization
endpoint that approves at once as the mailbox the test chose, a token endpoint checking the
client, the redirect URI and PKCE (S256), refresh with rotation, revocation, short-lived
access tokens, and an introspection endpoint (RFC 7662) for Dovecot's oauth2 passdb.

    with OAuthProvider(access_ttl=5).start() as provider:
        provider.mailbox = "sales@example.com"
        ... provider.valid(token) is the mailbox while the token lives ...

Everything it issued and every use is recorded for the tests to check: `refreshes` (one
entry per refresh: the mailbox and when), `rotated_out` (refresh tokens that were replaced).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlparse

CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret-never-shown"


@dataclass
class _Code:
    mailbox: str
    challenge: str
    redirect_uri: str
    scope: str


@dataclass
class Grant:
    mailbox: str
    refresh_token: str
    revoked: bool = False


@dataclass
class OAuthProvider:
    access_ttl: float = 5.0
    rotate: bool = True
    mailbox: str = "sales@example.com"
    id_token_email: bool = True  # False: an ID token with only `preferred_username`
    refuse_codes: bool = False  # the token endpoint answers invalid_grant to every code
    host: str = "127.0.0.1"
    port: int = 0
    refreshes: list[tuple[str, float]] = field(default_factory=list)
    rotated_out: set[str] = field(default_factory=set)
    issued: list[str] = field(default_factory=list)  # every token it gave out, any kind

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._grants: dict[str, Grant] = {}  # live refresh token -> grant
        self._access: dict[str, tuple[Grant, float]] = {}  # access token -> grant, expiry
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Self:
        provider = self

        class Handler(_Handler):
            owner = provider

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def endpoints(self, smtp_port: int, imap_port: int | None = None) -> dict[str, Any]:
        """This provider's entry of OAUTH_PROVIDER_ENDPOINTS."""
        return {"authorizationUrl": f"{self.url}/authorize", "tokenUrl": f"{self.url}/token",
                "smtpHost": "127.0.0.1", "smtpPort": smtp_port, "smtpSecurity": "none",
                "imapHost": "127.0.0.1" if imap_port else "", "imapPort": imap_port or 993,
                "imapSecurity": "none"}

    # -- what the tests look at -------------------------------------------------------------
    def valid(self, access_token: str) -> str | None:
        """The mailbox a live access token is for, else None."""
        with self._lock:
            found = self._access.get(access_token)
            if found is None or found[0].revoked or found[1] <= time.time():
                return None
            return found[0].mailbox

    def revoke(self, mailbox: str) -> None:
        """The user revoked the app: its refresh and access tokens stop working."""
        with self._lock:
            for grant in self._grants.values():
                if grant.mailbox == mailbox:
                    grant.revoked = True

    def refresh_count(self, mailbox: str | None = None) -> int:
        with self._lock:
            return sum(1 for who, _ in self.refreshes if mailbox in (None, who))

    # -- endpoints ----------------------------------------------------------------------------
    def authorize(self, query: dict[str, str]) -> str:
        assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = _Code(self.mailbox, query["code_challenge"],
                                      query["redirect_uri"], query["scope"])
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") == "authorization_code":
            return self._exchange(form)
        if form.get("grant_type") == "refresh_token":
            return self._refresh(form.get("refresh_token", ""))
        return 400, {"error": "unsupported_grant_type"}

    def introspect(self, token: str) -> dict[str, Any]:
        mailbox = self.valid(token)
        return {"active": True, "email": mailbox} if mailbox else {"active": False}

    def _exchange(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)  # a code works once
        if code is None or self.refuse_codes:
            return 400, {"error": "invalid_grant", "error_description": "Bad code."}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if challenge.rstrip(b"=").decode() != code.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE check failed."}
        if form.get("redirect_uri") != code.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs."}
        grant = Grant(code.mailbox, self._new())
        with self._lock:
            self._grants[grant.refresh_token] = grant
        answer = self._access_answer(grant)
        answer.update(refresh_token=grant.refresh_token, scope=code.scope,
                      id_token=self._id_token(code.mailbox))
        return 200, answer

    def _refresh(self, refresh_token: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            grant = self._grants.get(refresh_token)
            if grant is None or grant.revoked:
                return 400, {"error": "invalid_grant",
                             "error_description": "Token has been expired or revoked."}
            self.refreshes.append((grant.mailbox, time.time()))
            if self.rotate:
                del self._grants[refresh_token]
                self.rotated_out.add(refresh_token)
                grant.refresh_token = self._new()
                self._grants[grant.refresh_token] = grant
        answer = self._access_answer(grant)
        if self.rotate:
            answer["refresh_token"] = grant.refresh_token
        return 200, answer

    def _access_answer(self, grant: Grant) -> dict[str, Any]:
        token = self._new()
        with self._lock:
            self._access[token] = (grant, time.time() + self.access_ttl)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.access_ttl}

    def _id_token(self, mailbox: str) -> str:
        # Microsoft's tokens often carry no `email`, only `preferred_username`.
        claims = {"sub": mailbox, "aud": CLIENT_ID, "iss": self.url,
                  "preferred_username": mailbox}
        if self.id_token_email:
            claims["email"] = mailbox
        part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"eyJhbGciOiJub25lIn0.{part}.sig"

    def _new(self) -> str:
        token = "tok-" + secrets.token_urlsafe(24)
        self.issued.append(token)
        return token


class _Handler(BaseHTTPRequestHandler):
    owner: OAuthProvider

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path != "/authorize":
            return self._json(404, {"error": "not_found"})
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.send_response(302)
        self.send_header("Location", self.owner.authorize(query))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if self.path == "/token":
            return self._json(*self.owner.token(form))
        if self.path.startswith("/introspect"):
            token = form.get("token") or self.headers.get("Authorization", "")[7:]
            return self._json(200, self.owner.introspect(token))
        return self._json(404, {"error": "not_found"})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return None
