"""adapters/oauth_mailer.py with a fake SMTP connection, token source and clock: each login
presents the current token with XOAUTH2, connections are renewed once their token's use is
over, and a refused refresh fails the login the way the send path reads it."""

from __future__ import annotations

import base64
import smtplib
import uuid
from typing import Any

import pytest

from emailsched.adapters.oauth_mailer import OAuthSmtpMailer
from emailsched.errors import OAuthRefused, ServiceUnavailable

pytestmark = pytest.mark.unit
SENDER = uuid.uuid4()


class FakeTokens:
    def __init__(self) -> None:
        self.issued = 0
        self.use_until = 100.0
        self.error: Exception | None = None

    def access_token(self, sender_id: uuid.UUID) -> tuple[str, float]:
        if self.error is not None:
            raise self.error
        self.issued += 1
        return f"token-{self.issued}", self.use_until


class FakeConnection:
    """What login_xoauth2 asks of an smtplib.SMTP."""

    esmtp_features = {"auth": "XOAUTH2"}

    def __init__(self) -> None:
        self.sent: list[str] = []

    def ehlo_or_helo_if_needed(self) -> None:
        return None

    def has_extn(self, name: str) -> bool:
        return name == "auth"

    def auth(self, mechanism: str, answer: Any, initial_response_ok: bool = True) -> None:
        self.sent.append(f"{mechanism} {answer()}")


class FakeInner:
    """An SmtpMailer that logs in on each round after a close (as its sessions reconnect)."""

    sessions = 1

    def __init__(self, login: Any) -> None:
        self.login, self.connected, self.closes = login, False, 0
        self.connections: list[FakeConnection] = []

    def send_round(self, emails: Any, point_of_no_return: Any) -> list[Any]:
        if not self.connected:
            connection = FakeConnection()
            self.login(connection)
            self.connections.append(connection)
            self.connected = True
        return [None]

    def close(self) -> None:
        self.closes += 1
        self.connected = False


def mailer(tokens: FakeTokens, clock: list[float]) -> tuple[OAuthSmtpMailer, FakeInner]:
    built: list[FakeInner] = []

    def build(login: Any) -> Any:
        built.append(FakeInner(login))
        return built[0]

    made = OAuthSmtpMailer(SENDER, "google", "a@x.example", tokens, build, clock=lambda: clock[0])
    return made, built[0]


def test_a_connection_is_kept_while_its_token_is_in_use_and_renewed_after():
    tokens, clock = FakeTokens(), [0.0]
    sending, inner = mailer(tokens, clock)
    for at in (0.0, 50.0, 99.0):
        clock[0] = at
        sending.send_round([object()], lambda ready: ready)
    assert (tokens.issued, inner.closes) == (1, 0)
    tokens.use_until = 200.0
    clock[0] = 100.0
    sending.send_round([object()], lambda ready: ready)
    assert (tokens.issued, inner.closes) == (2, 1)
    sent = [c.sent[0] for c in inner.connections]
    assert sent == [f"XOAUTH2 user=a@x.example\x01auth=Bearer token-{n}\x01\x01" for n in (1, 2)]
    assert base64.b64encode(sent[0].encode())  # what smtplib then base64-encodes


def test_a_revoked_grant_fails_the_login_with_its_reconnect_message_and_no_code():
    tokens, clock = FakeTokens(), [0.0]
    tokens.error = OAuthRefused("reconnect: google no longer accepts ...", error="invalid_grant")
    sending, _ = mailer(tokens, clock)
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        sending.send_round([object()], lambda ready: ready)
    assert refused.value.smtp_code == 0
    assert str(refused.value.smtp_error).startswith("reconnect:")


@pytest.mark.parametrize("error", [OAuthRefused("google refused: temporarily_unavailable",
                                                error="temporarily_unavailable"),
                                   ServiceUnavailable("token endpoint unreachable")])
def test_an_outage_of_the_token_endpoint_is_a_connection_failure_not_a_refusal(error):
    tokens, clock = FakeTokens(), [0.0]
    tokens.error = error
    sending, _ = mailer(tokens, clock)
    with pytest.raises(smtplib.SMTPException) as failed:
        sending.send_round([object()], lambda ready: ready)
    assert not isinstance(failed.value, smtplib.SMTPAuthenticationError)
