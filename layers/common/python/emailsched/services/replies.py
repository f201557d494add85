"""The reply poller: reads each sender's mailbox for replies and delivery reports, and ends
the sequences they name.

    poller.run(time_budget_seconds=50)   # the scheduled function `replies`, every minute

Mailboxes are read in round-robin order (the least recently polled sender first, marked
before it is read, so one that fails or is slow does not keep the others waiting), each
from its checkpoint (UIDVALIDITY and last UID, in the ledger) in chunks; the checkpoint is
saved after each chunk's messages are recorded, so a poller that dies re-reads at most one
chunk, and recording is idempotent (one reply or bounce per (email, inbound Message-ID)),
so nothing is counted twice. A folder whose UIDVALIDITY changed is read again from its
start, the same idempotence keeping the count.

Each message is classified (domain/replies.py) and matched by its In-Reply-To and
References against our Message-IDs (a lookup on ix_emails_message_id):
- a reply (not automatic) ends the recipient's sequence in that batch: `replied`;
- an automatic reply (Auto-Submitted other than `no`, vacation headers, ...) is ignored;
- a delivery status report (RFC 3464, domain/dsn.py) names the original Message-ID: a
  hard bounce fails the email, suppresses the address (`hard_bounce`) and ends the
  sequence; a soft one (delayed, 4.x.x) is only counted and logged;
- anything else is counted as unmatched.

A mailbox that cannot be read (refused login, unreachable server) is logged and skipped
until its next turn; the poller carries on with the others.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emailsched.domain.bounces import BounceClass
from emailsched.domain.dsn import parse_dsn
from emailsched.domain.replies import InboundKind, inbound_from_bytes, normalize_message_id
from emailsched.errors import EmailschedError
from emailsched.ports import (
    Clock,
    InboundRaw,
    MailboxOpener,
    MailboxReader,
    MatchedEmail,
    Metrics,
    ReplyMailbox,
    ReplyStore,
)

if TYPE_CHECKING:
    from emailsched.services.inbox_keeper import InboxKeeper

log = logging.getLogger(__name__)

FOLDER = "INBOX"
CHUNK = 200
MAILBOXES_PER_RUN = 1000
SAFETY_SECONDS = 10.0


@dataclass
class PollReport:
    mailboxes: int = 0
    messages: int = 0
    replies: int = 0
    auto_replies: int = 0
    hard_bounces: int = 0
    soft_bounces: int = 0
    unmatched: int = 0
    duplicates: int = 0
    failed_mailboxes: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"mailboxes": self.mailboxes, "messages": self.messages,
                "replies": self.replies, "autoReplies": self.auto_replies,
                "hardBounces": self.hard_bounces, "softBounces": self.soft_bounces,
                "unmatched": self.unmatched, "duplicates": self.duplicates,
                "failedMailboxes": self.failed_mailboxes}


@dataclass(frozen=True)
class ReplyConfig:
    include_relay: bool = False  # also read relay senders' (dev) Maildirs
    chunk: int = CHUNK
    folder: str = FOLDER


class ReplyPoller:
    def __init__(self, store: ReplyStore, opener: MailboxOpener, clock: Clock,
                 config: ReplyConfig | None = None, metrics: Metrics | None = None,
                 inbox: InboxKeeper | None = None):
        self._store, self._opener, self._clock = store, opener, clock
        self._config = config or ReplyConfig()
        self._metrics = metrics
        self._inbox = inbox  # keeps what is matched in its lead's thread (issue 26)

    def run(self, time_budget_seconds: float | None = None) -> PollReport:
        """Every mailbox in turn, within the budget; the rest wait for the next run."""
        deadline = None if time_budget_seconds is None else time.monotonic() + time_budget_seconds
        report = PollReport()
        for mailbox in self._store.mailboxes_to_poll(self._config.include_relay,
                                                     MAILBOXES_PER_RUN):
            if deadline is not None and time.monotonic() >= deadline:
                break
            self._store.mark_polled(mailbox.sender_id, self._clock.now())
            try:
                self.poll(mailbox, report, deadline)
            except EmailschedError as error:  # this mailbox only: the others still run
                report.failed_mailboxes += 1
                report.errors.append(f"{mailbox.email}: {error.message}")
                log.warning("cannot read the mailbox of %s: %s", mailbox.email, error.message)
        if self._metrics is not None:
            self._count(report)
        return report

    def _count(self, report: PollReport) -> None:
        assert self._metrics is not None
        for name, value in (("inbound_messages", report.messages),
                            ("inbound_replies", report.replies),
                            ("inbound_auto_replies", report.auto_replies),
                            ("mailbox_failures", report.failed_mailboxes)):
            if value:
                self._metrics.count(name, value)
        if report.hard_bounces:
            self._metrics.count("inbound_bounces", report.hard_bounces, kind="hard")
        if report.soft_bounces:
            self._metrics.count("inbound_bounces", report.soft_bounces, kind="soft")

    def poll(self, mailbox: ReplyMailbox, report: PollReport | None = None,
             deadline: float | None = None) -> PollReport:
        """Read one sender's mailbox from its checkpoint to its end (or the deadline)."""
        report = report if report is not None else PollReport()
        reader = self._opener.open(mailbox)
        if reader is None:
            return report
        report.mailboxes += 1
        try:
            self._read(mailbox, reader, report, deadline)
        finally:
            reader.close()
        return report

    def _read(self, mailbox: ReplyMailbox, reader: MailboxReader, report: PollReport,
              deadline: float | None) -> None:
        folder = self._config.folder
        position = self._store.position(mailbox.sender_id, folder)
        while True:
            messages, after = reader.fetch_new(position, self._config.chunk)
            for message in messages:
                self._handle(mailbox, message, report)
            report.messages += len(messages)
            if after != position:
                self._store.save_position(mailbox.sender_id, folder, after)
            position = after
            if len(messages) < self._config.chunk:
                return
            if deadline is not None and time.monotonic() >= deadline:
                return

    def _handle(self, mailbox: ReplyMailbox, message: InboundRaw, report: PollReport) -> None:
        inbound = inbound_from_bytes(message.raw)
        inbound_id = inbound.message_id or "sha256:" + hashlib.sha256(message.raw).hexdigest()
        if self._inbox is not None:
            self._inbox.keep(mailbox, message.raw, inbound, inbound_id)
        if inbound.kind is InboundKind.AUTO_REPLY:
            report.auto_replies += 1
            log.info("automatic reply ignored (%s)", inbound.reason)
            return
        if inbound.kind is InboundKind.DSN:
            self._bounce(mailbox, message.raw, inbound.references, inbound_id, report)
            return
        matched = self._store.emails_by_message_id(mailbox.sender_id, list(inbound.references))
        if inbound.kind is not InboundKind.REPLY or not matched:
            report.unmatched += 1
            return
        for email in _one_per_recipient(matched):
            if self._store.record_reply(email, inbound_id):
                report.replies += 1
            else:
                report.duplicates += 1

    def _bounce(self, mailbox: ReplyMailbox, raw: bytes, references: tuple[str, ...],
                inbound_id: str, report: PollReport) -> None:
        dsn = parse_dsn(raw)
        if dsn is None:
            report.unmatched += 1
            return
        original = normalize_message_id(dsn.original_message_id or "")
        ids = list(dict.fromkeys([*([original] if original else []), *references]))
        matched = self._store.emails_by_message_id(mailbox.sender_id, ids)
        if not matched:
            report.unmatched += 1
            return
        for recipient in dsn.recipients:
            kind = recipient.bounce_class
            if kind is None:
                continue
            email = _for_recipient(matched, recipient.final_recipient)
            if email is None:
                report.unmatched += 1
            elif kind is BounceClass.HARD_BOUNCE:
                reason = f"hard bounce {recipient.status}: {recipient.diagnostic or ''}".strip()
                if self._store.record_hard_bounce(email, inbound_id, reason):
                    report.hard_bounces += 1
                else:
                    report.duplicates += 1
            else:
                report.soft_bounces += 1
                log.info("soft bounce (%s, %s) for email %s", kind.value, recipient.status,
                         email.id)


def _one_per_recipient(matched: list[MatchedEmail]) -> list[MatchedEmail]:
    """The latest step per (batch, recipient): a reply naming several of our emails to one
    person stops their sequence once."""
    best: dict[tuple[object, str], MatchedEmail] = {}
    for email in matched:
        key = (email.batch_id, email.recipient.lower())
        if key not in best or email.step > best[key].step:
            best[key] = email
    return list(best.values())


def _for_recipient(matched: list[MatchedEmail], address: str) -> MatchedEmail | None:
    """The matched email to `address`; the only one when the report's address was rewritten."""
    wanted = address.lower()
    for email in matched:
        if email.recipient.lower() == wanted:
            return email
    return matched[0] if len(matched) == 1 else None
