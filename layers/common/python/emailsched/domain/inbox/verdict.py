"""What the reply poller makes of an inbound message matched to a lead: the lead status it
proposes, whether the lead asked to be removed, and the date an away lead is back.

    verdict = read_verdict(MessageKind.AUTO_REPLY, subject, text, received_at)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from emailsched.domain.inbox.away import is_out_of_office, return_date
from emailsched.domain.inbox.leads import LeadStatus
from emailsched.domain.inbox.removal import asks_removal


class MessageKind(StrEnum):
    """SPEC's `kind` of a thread message."""

    EMAIL = "email"
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"


@dataclass(frozen=True)
class Verdict:
    status: LeadStatus | None  # what the poller proposes; None: leave the lead as it is
    remove: bool = False  # suppress the address (`unsubscribed`) and end the sequence
    back_on: date | None = None  # an out-of-office's return date


def read_verdict(kind: MessageKind, subject: str, text: str, received_at: datetime,
                 hard_bounce: bool = False) -> Verdict:
    if kind is MessageKind.BOUNCE:
        return Verdict(LeadStatus.BOUNCED if hard_bounce else None)
    if kind is MessageKind.AUTO_REPLY:
        if not is_out_of_office(subject, text):
            return Verdict(None)
        return Verdict(LeadStatus.OUT_OF_OFFICE, back_on=return_date(text, received_at))
    if asks_removal(text):
        return Verdict(LeadStatus.UNSUBSCRIBED, remove=True)
    return Verdict(LeadStatus.REPLIED)
