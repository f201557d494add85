"""A worker's SMTP connections per sender: each sender account gets its own SmtpMailer (its
server, its login), kept while it is busy, closed when idle, at most `max_mailers` at once.

The account (host, port, security, username, encrypted password) is read from the ledger
and cached for `ttl_seconds`; a changed account (its updated_at) gets a new mailer. The
password is decrypted here, in the sender function, and lives only inside the mailer.
Relay senders share the deployment's relay mailer.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from emailsched.domain.senders import SenderKind
from emailsched.errors import CredentialsUnreadable
from emailsched.ports import (
    CredentialCipher,
    Mailer,
    SmtpAccount,
    SmtpAccountSource,
    credential_context,
)

log = logging.getLogger(__name__)

MailerFactory = Callable[[SmtpAccount, str], Mailer]


@dataclass
class _Entry:
    mailer: Mailer
    version: object
    used_at: float


class SmtpMailerPool:
    def __init__(self, relay: Mailer, accounts: SmtpAccountSource,
                 cipher: Callable[[], CredentialCipher], factory: MailerFactory, *,
                 idle_seconds: float = 60.0, max_mailers: int = 200,
                 ttl_seconds: float = 10.0, monotonic: Callable[[], float] = time.monotonic):
        """`cipher` is called on first need, so a deployment without sender accounts needs
        no key."""
        self._relay, self._accounts, self._cipher = relay, accounts, cipher
        self._factory = factory
        self._idle, self._max, self._ttl = idle_seconds, max_mailers, ttl_seconds
        self._now = monotonic
        self._lock = threading.Lock()
        self._mailers: OrderedDict[uuid.UUID, _Entry] = OrderedDict()
        self._accounts_seen: dict[uuid.UUID, tuple[float, SmtpAccount | None]] = {}

    def mailer_for(self, sender_id: uuid.UUID | None, kind: SenderKind) -> Mailer:
        # Every kind with an account of its own (smtp, and google or microsoft by OAuth).
        if kind == SenderKind.RELAY or sender_id is None:
            return self._relay
        account = self._account(sender_id)
        if account is None:  # a relay sender now (changed meanwhile): the relay
            return self._relay
        now = self._now()
        with self._lock:
            entry = self._mailers.get(sender_id)
            if entry is not None and entry.version == account.version:
                entry.used_at = now
                self._mailers.move_to_end(sender_id)
                stale: list[Mailer] = []
            else:
                stale = [entry.mailer] if entry is not None else []
                entry = _Entry(self._build(account), account.version, now)
                self._mailers[sender_id] = entry
                self._mailers.move_to_end(sender_id)
            stale += self._evict(now)
        for mailer in stale:
            mailer.close()
        return entry.mailer

    def close(self) -> None:
        with self._lock:
            mailers = [entry.mailer for entry in self._mailers.values()]
            self._mailers.clear()
        for mailer in mailers:
            mailer.close()
        self._relay.close()

    @property
    def open_count(self) -> int:
        return len(self._mailers)

    def _account(self, sender_id: uuid.UUID) -> SmtpAccount | None:
        now = self._now()
        seen = self._accounts_seen.get(sender_id)
        if seen is not None and now - seen[0] < self._ttl:
            return seen[1]
        account = self._accounts.smtp_account(sender_id)
        self._accounts_seen[sender_id] = (now, account)
        return account

    def _build(self, account: SmtpAccount) -> Mailer:
        password = ""
        if account.password_enc:
            try:
                password = self._cipher().decrypt(
                    account.password_enc, credential_context(str(account.sender_id),
                                                             "smtp_password"))
            except CredentialsUnreadable:
                log.error("sender %s: its stored password does not decrypt",
                          account.sender_id)
                raise
        return self._factory(account, password)

    def _evict(self, now: float) -> list[Mailer]:
        """Mailers idle too long, and the least recently used beyond the bound."""
        gone = [sid for sid, e in self._mailers.items() if now - e.used_at > self._idle]
        while len(self._mailers) - len(gone) > self._max:
            oldest = next(sid for sid in self._mailers if sid not in gone)
            gone.append(oldest)
        return [self._mailers.pop(sid).mailer for sid in gone]
