"""The reply poller keeps what it matches (issue 26): every reply, automatic reply and
bounce that names one of our emails is stored in its lead's thread, and read for what it
does to the lead: `replied`, `out_of_office` (its follow-ups moved past the return date),
`unsubscribed` (a "remove me" reply: the address suppressed), `bounced`.

    keeper.keep(mailbox, raw, reading, inbound_id)   # called by ReplyPoller per message

The poller still records replies and bounces its own way (stops, bounce counts); the
keeper only adds the inbox, idempotently, so the two may run in either order.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from emailsched.domain.inbound.reading import Bounce, Kind, Reading
from emailsched.domain.inbox.content import KeptMessage, read_content
from emailsched.domain.inbox.verdict import MessageKind, Verdict, read_verdict
from emailsched.ports import Clock, MatchedEmail, ReplyMailbox, ReplyStore

# What the poller read (domain/inbound) as the inbox keeps it; complaints and other
# messages are not a lead's conversation.
_KINDS = {Kind.REPLY: MessageKind.REPLY, Kind.AUTO_REPLY: MessageKind.AUTO_REPLY,
          Kind.BOUNCE: MessageKind.BOUNCE}


class InboxKeeperStore(Protocol):
    def keep(self, email: MatchedEmail, sender_id: uuid.UUID, message: KeptMessage,
             verdict: Verdict) -> bool:
        """Store `message` in the lead's thread and act on `verdict` (False: had it)."""


class InboxKeeper:
    def __init__(self, store: InboxKeeperStore, matcher: ReplyStore, clock: Clock):
        self._store, self._matcher, self._clock = store, matcher, clock

    def keep(self, mailbox: ReplyMailbox, raw: bytes, reading: Reading,
             inbound_id: str) -> int:
        """How many threads newly got this message (0: unmatched or already kept)."""
        kind = _KINDS.get(reading.kind)
        if kind is None:
            return 0
        recipients, hard = None, False
        if kind is MessageKind.BOUNCE:
            recipients = {r.email.lower() for r in reading.recipients}
            hard = any(r.bounce is Bounce.HARD for r in reading.recipients)
        matched = _latest_per_lead(self._matcher.emails_by_message_id(
            mailbox.sender_id, list(reading.message_ids)))
        if recipients is not None and len(matched) > 1:
            matched = [email for email in matched if email.recipient.lower() in recipients]
        if not matched:
            return 0
        content = read_content(raw)
        message = KeptMessage(inbound_id, kind.value, content, self._clock.now())
        verdict = read_verdict(kind, content.headers.get("Subject", ""), content.text,
                               message.received_at, hard)
        return sum(self._store.keep(email, mailbox.sender_id, message, verdict)
                   for email in matched)


def _latest_per_lead(matched: list[MatchedEmail]) -> list[MatchedEmail]:
    """One email per (batch, recipient): the latest step they were sent."""
    best: dict[tuple[uuid.UUID, str], MatchedEmail] = {}
    for email in matched:
        key = (email.batch_id, email.recipient.lower())
        if key not in best or email.step > best[key].step:
            best[key] = email
    return list(best.values())
