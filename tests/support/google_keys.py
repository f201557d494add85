"""A stand-in for Google's side of Sign in with Google: real RSA keys, real self-signed X.509
certificates served over real HTTP, and real RS256 ID tokens. Nothing in the verifier is faked;
tests point its certificates URL at `GoogleCertServer.url`."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

TEST_CLIENT_ID = "emailsched-test.apps.googleusercontent.com"


@dataclass(frozen=True)
class SigningKey:
    """An RSA key pair, its key id and a self-signed certificate for its public half."""

    kid: str
    private_key: rsa.RSAPrivateKey
    certificate_pem: str


def make_signing_key(kid: str | None = None) -> SigningKey:
    """A fresh 2048-bit RSA key with a certificate valid from yesterday for a year."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emailsched test signer")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(private_key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return SigningKey(kid or uuid.uuid4().hex, private_key, pem)


def make_google_token(
    key: SigningKey,
    kid: str | None = None,
    *,
    sub: str = "108234567890123456789",
    email: str = "ada@example.com",
    aud: str = TEST_CLIENT_ID,
    iss: str = "https://accounts.google.com",
    exp_delta: int = 3600,
    email_verified: Any = True,
    name: str | None = "Ada Lovelace",
    picture: str | None = "https://lh3.googleusercontent.com/a/ada",
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """An RS256 ID token shaped like Google's, signed by `key` with `kid` (default the key's
    own) in its header. Like Google's, it is issued an hour before it expires."""
    exp = int(time.time()) + exp_delta
    claims: dict[str, Any] = {
        "iss": iss,
        "azp": aud,
        "aud": aud,
        "sub": sub,
        "email": email,
        "email_verified": email_verified,
        "iat": exp - 3600,
        "exp": exp,
        "name": name,
        "picture": picture,
    }
    claims = {k: v for k, v in claims.items() if v is not None} | (extra_claims or {})
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": kid or key.kid})


@dataclass
class _Published:
    """What the server answers, changed by tests while it runs."""

    certificates: dict[str, str] = field(default_factory=dict)
    cache_control: str | None = "public, max-age=3600"
    request_count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class GoogleCertServer:
    """Serves `{kid: PEM}` at /certs over HTTP on a free local port, with a Cache-Control
    header, and counts the requests it answers."""

    def __init__(self, *keys: SigningKey, max_age: int = 3600) -> None:
        self._published = _Published({k.kid: k.certificate_pem for k in keys})
        self.set_max_age(max_age)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the server is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/certs"

    @property
    def request_count(self) -> int:
        with self._published.lock:
            return self._published.request_count

    def publish(self, *keys: SigningKey) -> None:
        """Replace the served certificates, as Google does when it rotates its keys."""
        with self._published.lock:
            self._published.certificates = {k.kid: k.certificate_pem for k in keys}

    def set_max_age(self, seconds: int) -> None:
        self.set_cache_control(f"public, max-age={seconds}, must-revalidate, no-transform")

    def set_cache_control(self, value: str | None) -> None:
        with self._published.lock:
            self._published.cache_control = value

    def start(self) -> GoogleCertServer:
        handler = type("Handler", (_CertsHandler,), {"published": self._published})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            # A short poll keeps stop() quick: shutdown() waits for the next poll.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="google-cert-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _CertsHandler(BaseHTTPRequestHandler):
    published: _Published

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/certs":
            self.send_error(404)
            return
        with self.published.lock:
            self.published.request_count += 1
            body = json.dumps(self.published.certificates).encode()
            cache_control = self.published.cache_control
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        if cache_control is not None:
            self.send_header("Cache-Control", cache_control)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: pytest output is for failures, not for every certificate fetch.
        pass


@pytest.fixture(scope="session")
def google_signing_key() -> SigningKey:
    """The key the fake Google signs with; generated once, as RSA generation is slow-ish."""
    return make_signing_key()


@pytest.fixture
def google_cert_server(google_signing_key: SigningKey) -> Iterator[GoogleCertServer]:
    """A running certificate server publishing `google_signing_key`, fresh per test."""
    server = GoogleCertServer(google_signing_key).start()
    yield server
    server.stop()
