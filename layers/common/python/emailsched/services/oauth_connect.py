"""Connecting a Google or Microsoft mailbox by OAuth (SPEC.md "Mailboxes connected by OAuth"):
the consent's start (a single-use state bound to the user, PKCE S256) and its callback (the
code exchanged, the address read from the ID token, SMTP and IMAP checked with the access
token, the sender stored with its refresh token encrypted, or updated and revived).

A bad state is InvalidRequest (400) and stores nothing. Anything else that goes wrong after
the state was accepted (the user declined, the provider refused the code, no address, a
server refusing the token) stores nothing either and sends the browser back to the dashboard
with `?error=<why>`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

from emailsched.domain import oauth
from emailsched.domain.oauth import ProviderEndpoints, TakenState
from emailsched.domain.senders import zone
from emailsched.errors import (
    AccountUnverified,
    EmailschedError,
    InvalidRequest,
    NotFound,
)
from emailsched.ports import Clock, MailboxVerifier, MailLogin
from emailsched.services.senders import SenderAccountService

log = logging.getLogger(__name__)
BAD_STATE = "the consent's state is missing, unknown, already used or expired: start again"


class StateStore(Protocol):
    def save_state(self, hash_: str, user_id: uuid.UUID, provider: str,
                   options: dict[str, Any], expires_at: datetime, now: datetime) -> None: ...

    def take_state(self, hash_: str) -> TakenState | None: ...


class Tokens(Protocol):
    access_token: str
    refresh_token: str | None
    id_token: str | None
    scope: str


class CodeExchange(Protocol):
    def __call__(self, provider: ProviderEndpoints, code: str, verifier: str,
                 redirect_uri: str) -> Tokens: ...


@dataclass(frozen=True)
class ConnectConfig:
    public_url: str  # the callback is PUBLIC_URL/senders/oauth/{provider}/callback
    dashboard_url: str  # where the browser goes back to, `#/senders?...` appended
    pkce_key: bytes
    # The provider's endpoints and client id; ProviderNotConfigured when it has none.
    provider: Callable[[str], tuple[ProviderEndpoints, str]]


class OAuthConnectService:
    def __init__(self, states: StateStore, exchange: CodeExchange, verifier: MailboxVerifier,
                 senders: SenderAccountService, clock: Clock, config: ConnectConfig,
                 forget_token: Callable[[uuid.UUID], None] = lambda sender_id: None):
        self._states, self._exchange, self._verifier = states, exchange, verifier
        self._senders, self._clock, self._config = senders, clock, config
        self._forget = forget_token

    def start(self, user_id: uuid.UUID, provider: str, options: dict[str, Any]) -> str:
        """The provider's consent page for this user, with a fresh single-use state."""
        endpoints, client_id = self._provider(provider)
        if options.get("timezone"):
            _check_zone(str(options["timezone"]))
        state, now = oauth.new_state(), self._clock.now()
        self._states.save_state(oauth.state_hash(state), user_id, provider, options,
                                now + timedelta(seconds=oauth.STATE_TTL_SECONDS), now)
        challenge = oauth.code_challenge(oauth.code_verifier(self._config.pkce_key, state))
        return oauth.authorization_url(endpoints, client_id, self.redirect_uri(provider),
                                       state, challenge)

    def callback(self, provider: str, query: dict[str, str]) -> str:
        """Where to send the browser: the dashboard with `?connected=<id>` or `?error=`."""
        endpoints, _ = self._provider(provider)
        state = query.get("state", "")
        taken = self._states.take_state(oauth.state_hash(state)) if state else None
        if taken is None or taken.provider != provider or taken.expires_at <= self._clock.now():
            raise InvalidRequest(BAD_STATE, details=[{"field": "state", "message": BAD_STATE}])
        try:
            sender_id = self._connect(endpoints, taken, state, query)
        except EmailschedError as error:
            log.info("OAuth connect (%s) refused: %s", provider, error.message)
            return self._back(f"error={quote(error.message, safe='')}")
        return self._back(f"connected={sender_id}")

    def redirect_uri(self, provider: str) -> str:
        return f"{self._config.public_url}/senders/oauth/{provider}/callback"

    def _connect(self, endpoints: ProviderEndpoints, taken: TakenState, state: str,
                 query: dict[str, str]) -> uuid.UUID:
        if query.get("error"):  # the user declined, or the provider would not ask
            raise AccountUnverified(f"{endpoints.name}: "
                                    f"{query.get('error_description') or query['error']}")
        if not query.get("code"):
            raise AccountUnverified(f"{endpoints.name} sent no authorization code")
        verifier = oauth.code_verifier(self._config.pkce_key, state)
        tokens = self._exchange(endpoints, query["code"], verifier,
                                self.redirect_uri(endpoints.name))
        email = oauth.mailbox_address(endpoints.name, tokens.id_token)
        if email is None:
            raise AccountUnverified(f"{endpoints.name}'s ID token names no mailbox address")
        if not tokens.refresh_token:
            raise AccountUnverified(f"{endpoints.name} granted no offline access (no refresh "
                                    "token)")
        self._check(endpoints, email, tokens.access_token)
        view = self._senders.connected(taken.user_id, email, self._values(
            endpoints, email, tokens), tokens.refresh_token, _limits(endpoints.name, email,
                                                                     taken.options))
        self._forget(view.account.id)  # a token of the grant this one replaced
        return view.account.id

    def _check(self, endpoints: ProviderEndpoints, email: str, access_token: str) -> None:
        self._verifier.verify_smtp(MailLogin(endpoints.smtp_host, endpoints.smtp_port,
                                             endpoints.smtp_security.value, email,
                                             access_token, oauth=True))
        if endpoints.imap_host:
            self._verifier.verify_imap(MailLogin(endpoints.imap_host, endpoints.imap_port,
                                                 endpoints.imap_security.value, email,
                                                 access_token, oauth=True))

    def _values(self, endpoints: ProviderEndpoints, email: str,
                tokens: Tokens) -> dict[str, object]:
        imap = bool(endpoints.imap_host)
        return {"kind": endpoints.name, "smtp_host": endpoints.smtp_host,
                "smtp_port": endpoints.smtp_port,
                "smtp_security": endpoints.smtp_security.value, "smtp_username": email,
                "smtp_password_enc": None, "imap_host": endpoints.imap_host if imap else None,
                "imap_port": endpoints.imap_port if imap else None,
                "imap_security": endpoints.imap_security.value if imap else None,
                "imap_username": email if imap else None, "imap_password_enc": None,
                "oauth_scopes": tokens.scope or endpoints.scopes,
                "oauth_connected_at": self._clock.now()}

    def _provider(self, provider: str) -> tuple[ProviderEndpoints, str]:
        if provider not in oauth.PROVIDERS:
            raise NotFound(f"no OAuth provider {provider!r} (google or microsoft)")
        return self._config.provider(provider)

    def _back(self, query: str) -> str:
        return f"{self._config.dashboard_url}#/senders?{query}"


def _limits(provider: str, email: str, options: dict[str, Any]) -> dict[str, object]:
    """A new sender's settings: those given at the start, the provider's daily cap else."""
    return {"name": options.get("name") or "",
            "hourly_limit": options.get("hourlyLimit"),
            "daily_limit": options.get("dailyLimit") or oauth.suggested_daily_limit(
                provider, email),
            "min_delay_ms": options.get("minDelayMs"),
            "timezone": options.get("timezone") or "UTC"}


def _check_zone(timezone: str) -> None:
    try:
        zone(timezone)
    except ValueError as error:
        raise InvalidRequest(str(error), details=[
            {"field": "timezone", "message": str(error)}]) from None


