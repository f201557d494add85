"""Sender accounts (SPEC.md "Senders"): list, create, change, verify and delete a user's
senders, and put a sender's held emails back on the plan once it is active again.

An account is checked before it is stored (and again when changed); its password is
encrypted under the CredentialCipher, bound to the sender's id (generated here, before
encrypting), and never leaves this module but into the cipher and the verifier.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from emailsched.domain.model import EMAIL_TRANSITIONS, EmailStatus, EmailTransition
from emailsched.domain.recipient_zones import recipient_zone
from emailsched.domain.senders import (
    MailServer,
    SenderKind,
    SenderStatus,
    day_start_ms,
    relay_allowed,
    zone,
)
from emailsched.errors import Conflict, EmailschedError, InvalidRequest, NotFound
from emailsched.ports import (
    AccessTokens,
    Clock,
    CredentialCipher,
    MailboxVerifier,
    MailLogin,
    SenderAccount,
    SenderSession,
    SenderStore,
    StoredAccountVerifier,
    credential_context,
)
from emailsched.services.sender_plans import BatchShape, Pacing, plan_share

log = logging.getLogger(__name__)
OAUTH_KINDS = (SenderKind.GOOGLE, SenderKind.MICROSOFT)


@dataclass(frozen=True)
class AccountInput:
    """An SMTP or IMAP block as the user sends it, password included."""

    host: str
    port: int
    security: str
    username: str
    password: str

    def login(self) -> MailLogin:
        return MailLogin(self.host, self.port, self.security, self.username, self.password)


@dataclass(frozen=True)
class SenderInput:
    email: str
    name: str = ""
    smtp: AccountInput | None = None
    imap: AccountInput | None = None
    hourly_limit: int | None = None
    daily_limit: int | None = None
    min_delay_ms: int | None = None
    timezone: str = "UTC"


@dataclass(frozen=True)
class SenderView:
    account: SenderAccount
    sent_today: int


@dataclass(frozen=True)
class SenderRules:
    relay_domains: str  # RELAY_SENDER_DOMAINS
    pacing: Pacing


class StoredAccountCheck:
    """A stored account checked with its decrypted passwords: what the verifier function
    runs on AWS (the only function besides the sender and the reply poller that may
    decrypt), and what a local stack runs in-process (one key there)."""

    def __init__(self, store: SenderStore, verifier: MailboxVerifier,
                 cipher: Callable[[], CredentialCipher],
                 tokens: Callable[[], AccessTokens] | None = None):
        """`tokens`: access tokens of senders connected by OAuth, checked with XOAUTH2."""
        self._store, self._verifier, self._cipher = store, verifier, cipher
        self._tokens = tokens

    def verify_stored(self, user_id: uuid.UUID, sender_id: uuid.UUID) -> None:
        with self._store.transaction() as store:
            account = store.get_sender(user_id, sender_id)
        if account is None:
            raise NotFound("no such sender")
        smtp, imap = self._stored_login(account, "smtp"), self._stored_login(account, "imap")
        if smtp is not None:
            self._verifier.verify_smtp(smtp)
        if imap is not None:
            self._verifier.verify_imap(imap)

    def _stored_login(self, account: SenderAccount, prefix: str) -> MailLogin | None:
        server: MailServer | None = getattr(account, prefix)
        token = getattr(account, f"{prefix}_password_enc")
        if server is None:
            return None
        if account.kind in OAUTH_KINDS and self._tokens is not None:
            access_token, _ = self._tokens().access_token(account.id)
            return MailLogin(server.host, server.port, server.security.value,
                             server.username, access_token, oauth=True)
        password = self._cipher().decrypt(token, credential_context(
            str(account.id), f"{prefix}_password")) if token else ""
        return MailLogin(server.host, server.port, server.security.value, server.username,
                         password)


class SenderAccountService:
    def __init__(self, store: SenderStore, verifier: MailboxVerifier,
                 cipher: Callable[[], CredentialCipher], clock: Clock, rules: SenderRules,
                 stored: StoredAccountVerifier | None = None):
        """`cipher` is asked for on first need: relay senders need no key. The API only
        encrypts: a stored account is checked by `stored` (on AWS the verifier function,
        which may decrypt; by default in-process, with `cipher`)."""
        self._store, self._verifier, self._cipher = store, verifier, cipher
        self._clock, self._rules = clock, rules
        self._stored = stored or StoredAccountCheck(store, verifier, cipher)

    # --- reads -------------------------------------------------------------------------
    def all(self, user_id: uuid.UUID) -> list[SenderView]:
        with self._store.transaction() as store:
            return self._views(store, store.list_senders(user_id))

    def get(self, user_id: uuid.UUID, sender_id: uuid.UUID) -> SenderView:
        with self._store.transaction() as store:
            return self._views(store, [self._found(store, user_id, sender_id)])[0]

    # --- changes -----------------------------------------------------------------------
    def create(self, user_id: uuid.UUID, given: SenderInput) -> SenderView:
        _check_zone(given.timezone)
        if given.smtp is None and not relay_allowed(given.email, self._rules.relay_domains):
            raise InvalidRequest("this deployment's relay does not send for that domain: "
                                 "give the sender an smtp account", details=[
                                     {"field": "smtp", "message": "required for this address"}])
        self._verify(given.smtp, given.imap)  # nothing is stored unless it passes
        sender_id = uuid.uuid4()
        values: dict[str, object] = {
            "email": given.email, "name": given.name,
            "kind": SenderKind.SMTP if given.smtp else SenderKind.RELAY,
            "hourly_limit": given.hourly_limit, "daily_limit": given.daily_limit,
            "min_delay_ms": given.min_delay_ms, "timezone": given.timezone,
            **self._account_columns(sender_id, "smtp", given.smtp),
            **self._account_columns(sender_id, "imap", given.imap)}
        with self._store.transaction() as store:
            store.insert_sender(sender_id, user_id, values)
            found = store.get_sender(user_id, sender_id)
            assert found is not None
            log.info("sender %s created (%s)", sender_id, values["kind"])
            return self._views(store, [found])[0]

    def update(self, user_id: uuid.UUID, sender_id: uuid.UUID,
               changes: dict[str, object]) -> SenderView:
        """`changes`: SenderInput's fields that the PATCH named (smtp/imap None removes
        the block)."""
        if "timezone" in changes:
            _check_zone(str(changes["timezone"]))
        smtp = changes.get("smtp")
        imap = changes.get("imap")
        assert smtp is None or isinstance(smtp, AccountInput)
        assert imap is None or isinstance(imap, AccountInput)
        with self._store.transaction() as store:
            current = self._found(store, user_id, sender_id)
        email = str(changes.get("email", current.email))
        if "smtp" in changes and smtp is None and not relay_allowed(
                email, self._rules.relay_domains):
            raise InvalidRequest("this deployment's relay does not send for that domain",
                                 details=[{"field": "smtp", "message": "cannot be removed"}])
        self._verify(smtp, imap)
        values: dict[str, object] = {
            name: changes[name] for name in ("email", "name", "hourly_limit", "daily_limit",
                                             "min_delay_ms", "timezone") if name in changes}
        reverified = False
        if "smtp" in changes:
            values.update(self._account_columns(sender_id, "smtp", smtp))
            values["kind"] = SenderKind.SMTP if smtp else SenderKind.RELAY
            reverified = True
        if "imap" in changes:
            values.update(self._account_columns(sender_id, "imap", imap))
        with self._store.transaction() as store:
            self._found(store, user_id, sender_id, lock=True)
            store.update_sender(sender_id, values)
            if reverified:
                self._activate(store, user_id, sender_id)
            found = self._found(store, user_id, sender_id)
            return self._views(store, [found])[0]

    def verify(self, user_id: uuid.UUID, sender_id: uuid.UUID) -> SenderView:
        """Checks the stored account again; a failing sender that passes is active again
        and its held emails go out. A refusal is AccountUnverified (and is recorded)."""
        with self._store.transaction() as store:
            current = self._found(store, user_id, sender_id)
        try:
            self._stored.verify_stored(user_id, current.id)
        except EmailschedError as error:  # a refusal, or the server unreachable
            message = error.message
            with self._store.transaction() as store:
                store.update_sender(sender_id, {"last_error": message})
            raise
        with self._store.transaction() as store:
            self._found(store, user_id, sender_id, lock=True)
            self._activate(store, user_id, sender_id)
            return self._views(store, [self._found(store, user_id, sender_id)])[0]

    def delete(self, user_id: uuid.UUID, sender_id: uuid.UUID) -> None:
        with self._store.transaction() as store:
            self._found(store, user_id, sender_id, lock=True)
            unsent = store.unsent_count(sender_id)
            if unsent:
                raise Conflict(f"the sender has {unsent} unsent email(s): cancel their "
                               "batches first", details=[{"field": "id", "message": "in use"}])
            store.delete_sender(sender_id)

    def connected(self, user_id: uuid.UUID, email: str, values: dict[str, object],
                  refresh_token: str, limits: dict[str, object]) -> SenderView:
        """Stores a mailbox connected by OAuth (services/oauth_connect.py checked it): a new
        sender with `values`, `limits` and the refresh token encrypted, or, for an address
        the user has, its account and token replaced and the sender active again, its held
        emails released."""
        with self._store.transaction() as store:
            found = store.sender_by_email(user_id, email)
            sender_id = found.id if found is not None else uuid.uuid4()
            sealed = self._cipher().encrypt(refresh_token, credential_context(
                str(sender_id), "oauth_refresh"))
            values = {**values, "oauth_refresh_token_enc": sealed}
            if found is None:
                store.insert_sender(sender_id, user_id, {"email": email, **values, **limits})
            else:
                store.update_sender(sender_id, values)
                self._activate(store, user_id, sender_id)
            log.info("sender %s connected by OAuth (%s)", sender_id, values.get("kind"))
            return self._views(store, [self._found(store, user_id, sender_id)])[0]

    # --- held emails ---------------------------------------------------------------------
    def _activate(self, store: SenderSession, user_id: uuid.UUID,
                  sender_id: uuid.UUID) -> None:
        """Active, its run of failures over, and its held emails re-planned from now: in
        their order, each batch under its own limits and the sender's."""
        store.update_sender(sender_id, {"status": SenderStatus.ACTIVE, "last_error": None,
                                        "consecutive_failures": 0})
        held = store.held_emails(sender_id)
        if not held:
            return
        account = self._found(store, user_id, sender_id)  # its limits as they stand now
        now_ms = int(self._clock.now().timestamp() * 1000)
        released = EMAIL_TRANSITIONS[EmailTransition.RELEASE_HELD][1]
        for batch_id in dict.fromkeys(h.batch_id for h in held):  # batches in due order
            share = [h for h in held if h.batch_id == batch_id]
            if share[0].batch_paused:  # its resume plans it
                store.release_held([h.id for h in share], [_ms(h.due_at) for h in share],
                                   EmailStatus.PAUSED)
                continue
            earliest = [max(now_ms, _ms(h.due_at)) for h in share]
            # Inside the batch's window from now on, its jitter from the batch's seed.
            shape = BatchShape.stored(share[0].sending_window, share[0].random_delay_ms,
                                      share[0].plan_seed)
            zones = [recipient_zone({"timezone": h.timezone} if h.timezone else None)
                     for h in share]
            due = plan_share(store, sender_id, account.limits, earliest, len(share),
                             share[0].hourly_limit, share[0].delay_ms, self._rules.pacing,
                             shape, zones)
            store.release_held([h.id for h in share], due, released)
        log.info("sender %s active again: %d held email(s) re-planned", sender_id, len(held))

    # --- helpers -------------------------------------------------------------------------
    def _found(self, store: SenderSession, user_id: uuid.UUID, sender_id: uuid.UUID,
               lock: bool = False) -> SenderAccount:
        found = store.get_sender(user_id, sender_id, lock)
        if found is None:  # another user's sender is no sender of yours
            raise NotFound("no such sender")
        return found

    def _verify(self, smtp: AccountInput | MailLogin | None,
                imap: AccountInput | MailLogin | None) -> None:
        if smtp is not None:
            self._verifier.verify_smtp(smtp.login() if isinstance(smtp, AccountInput) else smtp)
        if imap is not None:
            self._verifier.verify_imap(imap.login() if isinstance(imap, AccountInput) else imap)

    def _account_columns(self, sender_id: uuid.UUID, prefix: str,
                         given: AccountInput | None) -> dict[str, object]:
        if given is None:
            return {f"{prefix}_{name}": None for name in ("host", "port", "security",
                                                          "username", "password_enc")}
        token = self._cipher().encrypt(given.password, credential_context(
            str(sender_id), f"{prefix}_password")) if given.password else None
        return {f"{prefix}_host": given.host, f"{prefix}_port": given.port,
                f"{prefix}_security": given.security, f"{prefix}_username": given.username,
                f"{prefix}_password_enc": token}

    def _views(self, store: SenderSession, accounts: list[SenderAccount]) -> list[SenderView]:
        now_ms = int(self._clock.now().timestamp() * 1000)
        since = {a.id: datetime.fromtimestamp(day_start_ms(
            now_ms, a.limits.timezone, self._rules.pacing.day_seconds) / 1000, UTC)
            for a in accounts}
        sent = store.sent_since([a.id for a in accounts], since)
        return [SenderView(replace(a, smtp_password_enc=None, imap_password_enc=None,
                                   oauth_refresh_token_enc=None),
                           sent.get(a.id, 0)) for a in accounts]


def _check_zone(timezone: str) -> None:
    try:
        zone(timezone)
    except ValueError as error:
        raise InvalidRequest(str(error), details=[
            {"field": "timezone", "message": str(error)}]) from None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
