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

Each message is read by domain/inbound (read_inbound, which `emailsched inbound` shows)
and matched by the Message-IDs it names against ours (a lookup on ix_emails_message_id):
- a reply (not automatic) ends the recipient's sequence in that batch: `replied`;
- an automatic reply (Auto-Submitted other than `no`, vacation headers, ...) is ignored;
- a bounce (RFC 3464 anywhere, or a text bounce of many formats) names its failed
  recipients, matched through the returned or quoted original's Message-ID, else by
  address among the sender's recent emails: a hard bounce fails the email, suppresses
  the address (`hard_bounce`) and ends the sequence; a soft failure (one per email, however
  many reports name it) counts towards SOFT_BOUNCES_BEFORE_SUPPRESS in a row, which
  suppress it too; a delay warning counts nothing (the message may yet arrive);
- a complaint (ARF, JMRP) suppresses the address (`complaint`), ends the sequence and
  counts on the batch and the sender, whose batches pause over the complaint rate;
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

from emailsched.domain.inbound import Bounce, Kind, Reading, Recipient, read_inbound
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
    suppressed_after_soft: int = 0
    delayed: int = 0
    complaints: int = 0
    unmatched: int = 0
    duplicates: int = 0
    failed_mailboxes: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"mailboxes": self.mailboxes, "messages": self.messages,
                "replies": self.replies, "autoReplies": self.auto_replies,
                "hardBounces": self.hard_bounces, "softBounces": self.soft_bounces,
                "suppressedAfterSoft": self.suppressed_after_soft,
                "delayed": self.delayed,
                "complaints": self.complaints,
                "unmatched": self.unmatched, "duplicates": self.duplicates,
                "failedMailboxes": self.failed_mailboxes}


@dataclass(frozen=True)
class ReplyConfig:
    include_relay: bool = False  # also read relay senders' (dev) Maildirs
    chunk: int = CHUNK
    folder: str = FOLDER


class ReplyPoller:
    def __init__(self, store: ReplyStore, opener: MailboxOpener, clock: Clock,
                 config: ReplyConfig, metrics: Metrics,
                 inbox: InboxKeeper | None = None):
        self._store, self._opener, self._clock = store, opener, clock
        self._config = config
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
        self._count(report)
        return report

    def _count(self, report: PollReport) -> None:
        for name, value in (("inbound_messages", report.messages),
                            ("inbound_replies", report.replies),
                            ("inbound_auto_replies", report.auto_replies),
                            ("inbound_complaints", report.complaints),
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
        reading = read_inbound(message.raw)
        inbound_id = reading.message_id or "sha256:" + hashlib.sha256(message.raw).hexdigest()
        if self._inbox is not None:
            self._inbox.keep(mailbox, message.raw, reading, inbound_id)
        if reading.kind in (Kind.BOUNCE, Kind.COMPLAINT):
            self._report(mailbox, reading, inbound_id, report)
            return
        if reading.kind is Kind.AUTO_REPLY:
            report.auto_replies += 1
            log.info("automatic reply ignored (%s)", reading.reason)
            return
        matched = self._store.emails_by_message_id(mailbox.sender_id, list(reading.message_ids))
        if reading.kind is not Kind.REPLY or not matched:
            report.unmatched += 1
            return
        for email in _one_per_recipient(matched):
            if self._store.record_reply(email, inbound_id):
                report.replies += 1
            else:
                report.duplicates += 1

    def _report(self, mailbox: ReplyMailbox, reading: Reading, inbound_id: str,
                report: PollReport) -> None:
        """A bounce or a complaint: each recipient it names, matched by our Message-ID
        (returned, quoted or threaded) or else by address among the sender's emails."""
        matched = self._store.emails_by_message_id(mailbox.sender_id, list(reading.message_ids))
        if not reading.recipients and reading.kind is Kind.COMPLAINT and matched:
            for named in _one_per_recipient(matched):  # a redacted report: the original says
                self._complaint(named, inbound_id, report)
            return
        if not reading.recipients:
            report.unmatched += 1
            log.info("delivery report without a recipient (%s)", reading.reason)
        for recipient in reading.recipients:
            email = (_for_recipient(matched, recipient.email, len(reading.recipients) == 1)
                     or self._store.email_to(mailbox.sender_id, recipient.email))
            if email is None:
                report.unmatched += 1
            elif reading.kind is Kind.COMPLAINT:
                self._complaint(email, inbound_id, report)
            elif recipient.bounce is Bounce.HARD:
                self._hard(email, recipient, inbound_id, report)
            else:
                self._soft(email, recipient, report)

    def _hard(self, email: MatchedEmail, recipient: Recipient, inbound_id: str,
              report: PollReport) -> None:
        reason = f"hard bounce {recipient.status or ''}: {recipient.diagnostic or ''}"
        if self._store.record_hard_bounce(email, inbound_id, " ".join(reason.split())):
            report.hard_bounces += 1
        else:
            report.duplicates += 1

    def _soft(self, email: MatchedEmail, recipient: Recipient, report: PollReport) -> None:
        if recipient.action == "delayed":  # still being tried: may yet arrive
            report.delayed += 1
            log.info("delivery delayed (%s) for email %s", recipient.status, email.id)
            return
        suppressed = self._store.record_soft_bounce(email)
        if suppressed is None:
            report.duplicates += 1
            return
        report.soft_bounces += 1
        report.suppressed_after_soft += int(suppressed)
        log.info("soft bounce (%s, %s) for email %s%s", recipient.action, recipient.status,
                 email.id, ": suppressed after repeated soft bounces" if suppressed else "")

    def _complaint(self, email: MatchedEmail, inbound_id: str, report: PollReport) -> None:
        paused = self._store.record_complaint(email, inbound_id)
        if paused is None:
            report.duplicates += 1
            return
        report.complaints += 1
        if paused:
            log.warning("complaint rate over the limit: the batches of sender of email %s "
                        "paused", email.id)


def _one_per_recipient(matched: list[MatchedEmail]) -> list[MatchedEmail]:
    """The latest step per (batch, recipient): a reply naming several of our emails to one
    person stops their sequence once."""
    best: dict[tuple[object, str], MatchedEmail] = {}
    for email in matched:
        key = (email.batch_id, email.recipient.lower())
        if key not in best or email.step > best[key].step:
            best[key] = email
    return list(best.values())


def _for_recipient(matched: list[MatchedEmail], address: str,
                   alone: bool) -> MatchedEmail | None:
    """The matched email to `address`; the only one when the report names one address and
    it was rewritten on the way (an alias, a forward)."""
    wanted = address.lower()
    for email in matched:
        if email.recipient.lower() == wanted:
            return email
    return matched[0] if alone and len(matched) == 1 else None
