"""Lead statuses (SPEC.md, "Inbox"): the values, which of them end the conversation, what
the reply poller may change, and when an away lead's next follow-up goes out.

A lead is one recipient of one batch. The poller sets `replied`, `out_of_office`,
`bounced` and `unsubscribed`; the user sets any. The poller never overrides what the user
decided (a lead they marked `interested` who writes again stays `interested`), except that
a bounce or a request to be removed always wins: nothing may be sent to them any more.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from emailsched.domain.sending_window import SendingWindow, local_instant_ms


class LeadStatus(StrEnum):
    NEW = "new"
    REPLIED = "replied"
    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"
    MEETING_BOOKED = "meeting_booked"
    OUT_OF_OFFICE = "out_of_office"
    WRONG_PERSON = "wrong_person"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    CLOSED = "closed"


# Follow-ups continue only for these; any other status ends the lead's sequence.
CONTINUING = frozenset({LeadStatus.NEW, LeadStatus.REPLIED, LeadStatus.OUT_OF_OFFICE})
# What the poller may replace with `replied` / `out_of_office`: its own guesses only.
_POLLER_OWNED = frozenset({LeadStatus.NEW, LeadStatus.REPLIED, LeadStatus.OUT_OF_OFFICE})
_ALWAYS = frozenset({LeadStatus.BOUNCED, LeadStatus.UNSUBSCRIBED})
MORNING = time(9, 0)


def ends_conversation(status: LeadStatus) -> bool:
    return status not in CONTINUING


def poller_change(current: LeadStatus, proposed: LeadStatus) -> LeadStatus | None:
    """The status the poller sets on a lead now `current` that it reads as `proposed`,
    or None to leave it."""
    if proposed == current or current in _ALWAYS:
        return None
    if proposed in _ALWAYS or current in _POLLER_OWNED:
        return proposed
    return None


def resume_at(back: date, window: SendingWindow | None, timezone: str = "UTC") -> datetime:
    """The morning after `back` (09:00 in the window's zone, or `timezone`), moved to the
    window's next opening when it is shut then."""
    zone_name = window.timezone if window is not None else timezone
    at_ms = local_instant_ms(back + timedelta(days=1), MORNING, ZoneInfo(zone_name))
    if window is not None:
        at_ms = window.next_opening_ms(at_ms)
    return datetime.fromtimestamp(at_ms / 1000, ZoneInfo("UTC"))
