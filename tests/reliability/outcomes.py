"""What became of every email: the ledger's word and the SMTP sink's, side by side.

An email is *duplicated* when its Message-ID reached the sink more than once, *lost* when
it never reached a final state (sent or failed) or the ledger says sent but the sink never
got it, and a *window over its limit* is a sender's rate window in which the sink received
more of its emails than that sender's hourlyLimit allows. The sink is the judge of windows:
it is what a recipient's server sees.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy

from tests.support.smtp_sinks import ReceivedMessage

FINAL = ("sent", "failed", "cancelled")

READ_LEDGER = sqlalchemy.text("""
    SELECT e.id, e.status, e.attempts, e.failure_reason,
           extract(epoch FROM e.due_at), extract(epoch FROM e.sent_at), s.email,
           b.hourly_limit, e.recipient_email, b.subject, u.email, e.batch_id
    FROM emails e JOIN batches b ON b.id = e.batch_id JOIN senders s ON s.id = e.sender_id
         JOIN users u ON u.id = e.user_id
""")


@dataclass(frozen=True)
class LedgerEmail:
    id: uuid.UUID
    status: str
    attempts: int
    failure_reason: str | None
    due_at: float  # epoch seconds
    sent_at: float | None
    sender: str
    hourly_limit: int
    recipient: str
    subject: str
    user: str  # the email address the owner signed in with
    batch_id: uuid.UUID


def read_ledger(database_url: str) -> list[LedgerEmail]:
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(READ_LEDGER).all()
    finally:
        engine.dispose()
    return [LedgerEmail(r[0], r[1], r[2], r[3], float(r[4]), None if r[5] is None
                        else float(r[5]), r[6], r[7], r[8], r[9], r[10], r[11]) for r in rows]


def email_id(message_id: str) -> uuid.UUID | None:
    """The email a Message-ID `<email-id@domain>` names, or None for a stranger."""
    try:
        return uuid.UUID(message_id.strip("<>").split("@", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class WindowOverLimit:
    sender: str
    window_start: float
    received: int
    limit: int


@dataclass
class Outcome:
    scheduled: int
    sent: int
    failed: int
    duplicated: list[uuid.UUID] = field(default_factory=list)
    lost: list[uuid.UUID] = field(default_factory=list)
    windows_over_limit: list[WindowOverLimit] = field(default_factory=list)
    strangers: int = 0  # arrivals whose Message-ID names no email of this ledger
    lost_states: list[str] = field(default_factory=list)  # what the ledger says of each lost

    def figures(self) -> dict[str, int]:
        return {"scheduled": self.scheduled, "sent": self.sent, "failed": self.failed,
                "duplicated": len(self.duplicated), "lost": len(self.lost),
                "windows_over_limit": len(self.windows_over_limit)}

    def is_clean(self) -> bool:
        return not (self.duplicated or self.lost or self.windows_over_limit or self.strangers)

    def explain(self) -> str:
        return (f"{self.figures()}; strangers={self.strangers}; duplicated={self.duplicated[:5]}"
                f"; lost={self.lost_states[:5]}; over limit={self.windows_over_limit[:5]}")


def judge(ledger: list[LedgerEmail], arrivals: Sequence[ReceivedMessage],
          window_seconds: int, users: set[str] | None = None) -> Outcome:
    """Compare the ledger with what the sink received, for the emails of `users` (all when
    None; a stack shared by several scenarios tells them apart by user)."""
    known = {email.id for email in ledger}
    counts = Counter(email_id(m.message_id) for m in arrivals)
    strangers = sum(n for i, n in counts.items() if i not in known)
    mine = [e for e in ledger if users is None or e.user in users]
    by_id = {email.id: email for email in mine}
    received = [m for m in arrivals if email_id(m.message_id) in by_id]
    statuses = Counter(email.status for email in mine)
    lost_emails = [e for e in mine if e.status not in FINAL
                   or (e.status == "sent" and counts[e.id] == 0)]
    lost = [e.id for e in lost_emails]
    outcome = Outcome(scheduled=len(mine), sent=statuses["sent"], failed=statuses["failed"],
                      duplicated=sorted(i for i, n in counts.items() if i in by_id and n > 1),
                      lost=lost, strangers=strangers,
                      lost_states=[f"{e.id} {e.status} attempts={e.attempts} due={e.due_at:.1f} "
                                   f"sent={e.sent_at} reason={e.failure_reason!r}"
                                   for e in lost_emails],
                      windows_over_limit=windows_over_limit(received, by_id, window_seconds))
    return outcome


def windows_over_limit(received: list[ReceivedMessage], by_id: dict[uuid.UUID, LedgerEmail],
                       window_seconds: int) -> list[WindowOverLimit]:
    limits: dict[str, int] = {}
    for email in by_id.values():
        limits[email.sender] = min(limits.get(email.sender, email.hourly_limit),
                                   email.hourly_limit)
    per_window = Counter((m.mail_from, int(m.received_at // window_seconds)) for m in received)
    return [WindowOverLimit(sender, index * window_seconds, n, limits[sender])
            for (sender, index), n in sorted(per_window.items())
            if sender in limits and n > limits[sender]]


def arrival_times(arrivals: Iterable[ReceivedMessage]) -> dict[uuid.UUID, float]:
    """When each email first reached the sink."""
    first: dict[uuid.UUID, float] = {}
    for message in arrivals:
        found = email_id(message.message_id)
        if found is not None and found not in first:
            first[found] = message.received_at
    return first
