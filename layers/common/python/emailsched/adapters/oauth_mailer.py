"""Sending as a mailbox connected by OAuth (issue 25): an SmtpMailer whose connections log
in with AUTH XOAUTH2 and the sender's current access token (adapters/oauth_tokens.py).

A connection authenticated with a token is not kept past the time that token is used until:
the round after it reconnects, so each login presents a live token and a mailbox whose grant
was revoked is noticed at its next login. A refused refresh fails the login as the pool's
callers expect of a refused password (an SMTPAuthenticationError, `reconnect: ...` when the
grant is revoked); a token endpoint or Redis that cannot be reached is a connection failure.
"""

from __future__ import annotations

import math
import smtplib
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from emailsched.adapters.smtp import SmtpMailer
from emailsched.adapters.smtp_account import login_xoauth2
from emailsched.domain.retry import SendResult
from emailsched.errors import EmailschedError, OAuthRefused
from emailsched.ports import AccessTokens, OutgoingEmail, PointOfNoReturn

Login = Callable[[smtplib.SMTP], None]


class OAuthSmtpMailer:
    def __init__(self, sender_id: uuid.UUID, provider: str, username: str,
                 tokens: AccessTokens, build: Callable[[Login], SmtpMailer],
                 clock: Callable[[], float] = time.time):
        self._sender_id, self._provider, self._username = sender_id, provider, username
        self._tokens, self._clock = tokens, clock
        self._lock = threading.Lock()
        self._renew_at = math.inf  # the earliest `use until` of a token a session logged in with
        self._inner = build(self._login)
        self.sessions = self._inner.sessions

    def send_round(self, emails: Sequence[OutgoingEmail],
                   point_of_no_return: PointOfNoReturn) -> list[SendResult | None]:
        with self._lock:
            renew = self._clock() >= self._renew_at
            if renew:
                self._renew_at = math.inf
        if renew:  # this thread's sessions close now, busy ones after their round
            self._inner.close()
        return self._inner.send_round(emails, point_of_no_return)

    def close(self) -> None:
        self._inner.close()

    def _login(self, connection: smtplib.SMTP) -> None:
        try:
            token, use_until = self._tokens.access_token(self._sender_id)
        except OAuthRefused as refused:
            if refused.revoked:  # no reply code: lastError must start with "reconnect:"
                raise smtplib.SMTPAuthenticationError(0, refused.message) from None
            raise smtplib.SMTPException(f"no access token: {refused.message}") from None
        except EmailschedError as error:
            raise smtplib.SMTPException(f"no access token: {error.message}") from None
        with self._lock:
            self._renew_at = min(self._renew_at, use_until)
        login_xoauth2(connection, self._username, token)
