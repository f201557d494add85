"""Programmable SMTP servers for tests (aiosmtpd): they record what arrives and answer as
scripted, so a test can make a server refuse, defer, hang up or disappear.

    sink = RecordingSink(script=per_message("451 4.3.0 try later")).start()
    ... send ...
    sink.wait_for(3)            # three messages stored, each after one deferral
    sink.down_for(2.0)          # refuses connections for two seconds, then comes back

A script sees each end-of-DATA as a `DataAttempt` and returns the reply line, or
DROP_BEFORE_STORE / DROP_AFTER_STORE to close the connection without replying (the message
forgotten or kept). Messages are stored when the reply is 2xx.
"""

from __future__ import annotations

import asyncio
import datetime
import hmac
import ipaddress
import ssl
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from aiosmtpd.smtp import AuthResult, LoginPassword

from emailsched.local.inbox import SmtpController, subject_and_message_id

OK = "250 2.0.0 OK"
DROP_BEFORE_STORE = "drop-before-store"
DROP_AFTER_STORE = "drop-after-store"


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    to: tuple[str, ...]
    message_id: str
    subject: str
    raw: bytes
    received_at: float  # time.time()


@dataclass(frozen=True)
class DataAttempt:
    """One end-of-DATA: `number` counts them all on this sink (from 1); `attempt` counts
    those carrying this Message-ID (1 the first time the message arrives)."""

    number: int
    attempt: int
    message_id: str
    mail_from: str
    to: tuple[str, ...]


Script = Callable[[DataAttempt], str]
RcptScript = Callable[[str], str | None]  # a reply refuses the recipient; None accepts


def always(reply: str) -> Script:
    """Every message gets `reply`, e.g. always("550 5.1.1 no such user")."""
    return lambda attempt: reply


def sequence(*replies: str, then: str = OK) -> Script:
    """The n-th DATA on this sink gets replies[n-1]; later ones get `then`."""
    return lambda attempt: replies[attempt.number - 1] if attempt.number <= len(replies) else then


def per_message(*replies: str, then: str = OK) -> Script:
    """The n-th arrival of each Message-ID gets replies[n-1], e.g. per_message("451 ...")
    defers every message once and accepts its retry."""
    return lambda attempt: replies[attempt.attempt - 1] if attempt.attempt <= len(replies) else then


def every(n: int, reply: str, then: str = OK) -> Script:
    """Every n-th DATA gets `reply` (every(3, "421 ...") refuses a third of them)."""
    return lambda attempt: reply if attempt.number % n == 0 else then


class RecordingSink:
    """An SMTP server on host:port (0: a free port, kept across stop and start) that
    records messages and answers as `script` says. Thread-safe; `script` and `rcpt_script`
    may be replaced while it runs."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, script: Script | None = None,
                 rcpt_script: RcptScript | None = None, smtputf8: bool = True):
        self.host = host
        self.smtputf8 = smtputf8  # whether EHLO offers SMTPUTF8 (strict ASCII without it)
        self.port = port
        self.script: Script = script or always(OK)
        self.rcpt_script = rcpt_script
        self._received: list[ReceivedMessage] = []
        self._attempts = 0
        self._per_message: Counter[str] = Counter()
        self._changed = threading.Condition()
        self._controller: SmtpController | None = None

    def start(self) -> Self:
        self._controller = SmtpController(self._handler(), hostname=self.host, port=self.port,
                                          server_hostname="sink.test",
                                          enable_SMTPUTF8=self.smtputf8, decode_data=False,
                                          **self._smtp_options())
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        """Stop listening (safe to call twice); start() again comes back on the same port."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def down_for(self, seconds: float) -> threading.Thread:
        """Stop now and start again after `seconds`; join the thread to wait for it."""
        self.stop()
        comeback = threading.Timer(seconds, self.start)
        comeback.start()
        return comeback

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Stored messages, in order of arrival."""
        with self._changed:
            return list(self._received)

    @property
    def message_ids(self) -> list[str]:
        return [message.message_id for message in self.messages]

    @property
    def data_attempts(self) -> int:
        """How many times a client reached end-of-DATA, whatever the reply."""
        with self._changed:
            return self._attempts

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Wait until at least `count` messages are stored; TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._received)} of {count} messages arrived "
                                       f"within {timeout} s")
                self._changed.wait(left)
            return list(self._received)

    def clear(self) -> None:
        """Forget stored messages and counts."""
        with self._changed:
            self._received.clear()
            self._attempts = 0
            self._per_message.clear()

    def _smtp_options(self) -> dict[str, Any]:
        return {}

    def _handler(self) -> Any:
        return _Handler(self)

    def _begin(self, envelope: Any) -> tuple[DataAttempt, ReceivedMessage]:
        raw = envelope.original_content or b""
        subject, message_id = subject_and_message_id(raw)
        message = ReceivedMessage(envelope.mail_from or "", tuple(envelope.rcpt_tos),
                                  message_id, subject, raw, time.time())
        with self._changed:
            self._attempts += 1
            self._per_message[message_id] += 1
            attempt = DataAttempt(self._attempts, self._per_message[message_id], message_id,
                                  message.mail_from, message.to)
        return attempt, message

    def _store(self, message: ReceivedMessage) -> None:
        with self._changed:
            self._received.append(message)
            self._changed.notify_all()


class _Handler:
    def __init__(self, sink: RecordingSink):
        self._sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        script = self._sink.rcpt_script
        refusal = script(address) if script else None
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        attempt, message = self._sink._begin(envelope)
        reply = self._sink.script(attempt)
        if reply == DROP_AFTER_STORE or reply.startswith("2"):
            self._sink._store(message)
        if reply in (DROP_BEFORE_STORE, DROP_AFTER_STORE):
            server.transport.close()
            # Closing makes aiosmtpd cancel this coroutine, so no reply is ever written.
            await asyncio.sleep(30)
        return reply


class TlsAuthSink(RecordingSink):
    """A RecordingSink that requires STARTTLS (self-signed certificate for 127.0.0.1 and
    localhost) and then AUTH LOGIN or PLAIN as `user`/`password`; a wrong password gets
    535. `client_context()` trusts its certificate."""

    def __init__(self, user: str, password: str, host: str = "127.0.0.1", port: int = 0,
                 script: Script | None = None, rcpt_script: RcptScript | None = None,
                 cert_dir: Path | None = None):
        super().__init__(host, port, script, rcpt_script)
        self.user, self.password = user, password
        self.auth_mechanisms: list[str] = []  # one entry per AUTH the server answered
        self.certfile, keyfile = make_self_signed_cert(cert_dir or Path(tempfile.mkdtemp()))
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(self.certfile, keyfile)

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certfile))

    def _smtp_options(self) -> dict[str, Any]:
        return {"tls_context": self._tls, "require_starttls": True, "auth_required": True,
                "auth_require_tls": True, "authenticator": self._authenticate}

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        self.auth_mechanisms.append(mechanism)
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        valid = (hmac.compare_digest(auth_data.login, self.user.encode())
                 and hmac.compare_digest(auth_data.password, self.password.encode()))
        return AuthResult(success=valid, handled=False)


def make_self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A fresh key and a self-signed certificate for localhost and 127.0.0.1, as PEM files
    in folder: (certificate, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    certfile, keyfile = folder / "sink-cert.pem", folder / "sink-key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile


class ImplicitTlsAuthSink(TlsAuthSink):
    """A TlsAuthSink that speaks TLS from the first byte (SMTPS, port 465 style) instead of
    STARTTLS. aiosmtpd does not count implicit TLS as TLS for `auth_require_tls` (and warns
    that AUTH without it is unsafe: here every byte is encrypted)."""

    def _smtp_options(self) -> dict[str, Any]:
        return {"ssl_context": self._tls, "auth_required": True, "auth_require_tls": False,
                "authenticator": self._authenticate}


class XOAuth2Sink(RecordingSink):
    """A RecordingSink that offers only AUTH XOAUTH2 and requires it, accepting a token that
    `valid(token)` says is live for the user it names (tests/support/oauth_provider.py).
    Every login is recorded as (user, token, accepted, time)."""

    def __init__(self, valid: Callable[[str], str | None], host: str = "127.0.0.1",
                 port: int = 0, script: Script | None = None):
        super().__init__(host, port, script)
        self.valid = valid
        self.logins: list[tuple[str, str, bool, float]] = []

    def _smtp_options(self) -> dict[str, Any]:
        return {"auth_required": True, "auth_require_tls": False,
                "auth_exclude_mechanism": ["LOGIN", "PLAIN"]}

    def _handler(self) -> Any:
        return _XOAuth2Handler(self)


class _XOAuth2Handler(_Handler):
    def __init__(self, sink: XOAuth2Sink):
        super().__init__(sink)
        self._oauth = sink

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        import base64

        if len(args) > 1:
            response = args[1]
        else:
            answer = await server.challenge_auth("", encode_to_b64=False)
            response = answer.decode() if isinstance(answer, bytes) else str(answer)
        try:
            fields = dict(part.split("=", 1) for part in
                          base64.b64decode(response).decode().split("\x01") if "=" in part)
        except ValueError:
            return AuthResult(success=False, handled=False)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        accepted = bool(user) and self._oauth.valid(token) == user
        self._oauth.logins.append((user, token, accepted, time.time()))
        return AuthResult(success=accepted, handled=False, auth_data=user if accepted else None,
                          message=None if accepted else "535 5.7.8 Username and token not "
                          "accepted")
