"""Ports: the narrow interfaces services depend on, and the values they exchange. Real
adapters live in emailsched.adapters; in-memory fakes in emailsched.fakes. Contract tests
run against both.

Each service declares what it needs of the ledger by its own port (the sender's, the
pump's, scheduling's, batch control's, the read side's, auth's), as listmonk's manager
declares its Store: one Postgres adapter implements several of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from emailsched.domain.records import BatchRow, EmailRow, User
from emailsched.domain.retry import SendResult


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""

    def sleep(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class OutgoingMessage:
    body: str
    delay_seconds: int = 0


@dataclass(frozen=True)
class ReceivedMessage:
    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)


class Queue(Protocol):
    def send(self, messages: list[OutgoingMessage]) -> None:
        """Put messages on the send queue; raises on any message not accepted."""

    def change_visibility(self, receipt_handle: str, seconds: int) -> None: ...

    def receive(self, max_messages: int, wait_seconds: int) -> list[ReceivedMessage]: ...

    def delete(self, receipt_handles: list[str]) -> None: ...


@dataclass(frozen=True)
class OutgoingEmail:
    message_id: str  # <id@domain>, derived from the email's id
    sender_email: str
    sender_name: str
    recipient: str
    subject: str
    body_html: str


# Told which emails of a round the server now holds whole, it answers those that may be
# delivered: the others are abandoned, and nothing of them is delivered.
PointOfNoReturn = Callable[[list[int]], Collection[int]]


class Mailer(Protocol):
    # Emails it takes to the point of no return side by side, one connection each.
    sessions: int

    def send_round(self, emails: Sequence[OutgoingEmail],
                   point_of_no_return: PointOfNoReturn) -> list[SendResult | None]:
        """Send up to `sessions` emails side by side. Each is written whole, then
        `point_of_no_return` is called once with the positions of those the server holds
        but has not been told to deliver, and only the positions it answers are delivered.
        A result per email: None for one abandoned at the point of no return."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class SendLimits:
    """Every limit one send of a sender counts against, checked together in one step.

    The batch's `hourly` and the sender's own `sender_hourly` both count the sender's sends
    (all its batches) in the current rate window: the smaller holds. `daily` counts them
    per day of `timezone` (calendar days, or DAILY_WINDOW_SECONDS stretches aligned to the
    epoch when that is shorter). `min_gap_ms` None means the deployment's
    MIN_DELAY_BETWEEN_EMAILS_MS."""

    hourly: int
    sender_hourly: int | None = None
    daily: int | None = None
    timezone: str = "UTC"
    min_gap_ms: int | None = None

    @property
    def per_window(self) -> int:
        """The rate window's cap: the smaller of the batch's and the sender's."""
        if self.sender_hourly is None:
            return self.hourly
        return min(self.hourly, self.sender_hourly)


@dataclass(frozen=True)
class Permit:
    slots: int  # sends counted now, from 0 to the number asked for
    wait_ms: int = 0  # when none: how long until a send may succeed
    # The limiter's own time of the grant (Redis TIME): a refund finds the periods with it.
    granted_at_ms: int = 0

    @property
    def granted(self) -> bool:
        return self.slots > 0


class RateLimiter(Protocol):
    """Takes the time from its own store, never from the caller, so a worker whose clock
    is off cannot count into the wrong window or day."""

    def acquire(self, sender_id: str, limits: SendLimits, wanted: int = 1) -> Permit:
        """Count up to `wanted` sends for the sender, as many as all of `limits` allow now
        (one at most while a minimum gap between sends applies), in one atomic step."""

    def refund(self, sender_id: str, granted_at_ms: int, limits: SendLimits) -> None:
        """Give back a slot granted at `granted_at_ms` (Permit.granted_at_ms) for a send
        that did not happen."""


@dataclass(frozen=True)
class Seed:
    count: int  # sends to count in the window already
    last_send_ms: int | None
    day_count: int | None = None  # sends to count in the day already, when one was asked


class SeedSource(Protocol):
    def seed(self, sender_id: str, window_start: datetime,
             day_start: datetime | None = None) -> Seed:
        """What the sender has used of the window counted from `window_start` (and of the
        day counted from `day_start`), for a limiter that lost its counts: sends since
        then, plus the emails held in `sending` (each took its slot before its claim)."""


# --- the ledger, as each service sees it ------------------------------------------------
@dataclass(frozen=True)
class DueEmail:
    id: uuid.UUID
    sender_id: uuid.UUID
    wake_at: datetime
    seq: int


@dataclass(frozen=True)
class EmailState:
    id: uuid.UUID
    status: str
    sender_id: uuid.UUID
    hourly_limit: int  # the batch's
    ready_at: datetime  # not before: the due time, or the end of a backoff or throttle
    seq: int
    # The sender's own limits (senders.*): None is no cap of its own / the default gap.
    sender_hourly_limit: int | None = None
    daily_limit: int | None = None
    timezone: str = "UTC"
    min_delay_ms: int | None = None

    @property
    def limits(self) -> SendLimits:
        """What the limiter checks for this email's send."""
        return SendLimits(self.hourly_limit, self.sender_hourly_limit, self.daily_limit,
                          self.timezone, self.min_delay_ms)


@dataclass(frozen=True)
class ClaimedEmail:
    id: uuid.UUID
    sender_email: str
    sender_name: str
    recipient: str
    subject: str
    body: str
    attempts: int


class SenderLedger(Protocol):
    """The sender's calls; each is one atomic step that opens (or shares) its connection.
    Raise ServiceUnavailable when the ledger cannot be reached."""

    def pinned(self) -> AbstractContextManager[None]:
        """The calls made inside share one connection (a message's worth of work)."""

    def look(self, ids: Sequence[uuid.UUID]) -> list[EmailState]: ...

    def claim(self, ids: Sequence[uuid.UUID], lease_until: datetime,
              token: uuid.UUID) -> list[ClaimedEmail]:
        """The named emails that were still `queued`, now `sending` under `token`."""

    def return_to_queue(self, ids: Sequence[uuid.UUID], token: uuid.UUID,
                        wake_at: datetime) -> list[uuid.UUID]:
        """Claimed emails back to `queued`, unsent; the ones that were still ours."""

    def postpone(self, ids: Sequence[uuid.UUID], wake_at: datetime) -> None: ...

    def mark_sent(self, sends: Sequence[tuple[uuid.UUID, str]], token: uuid.UUID,
                  now: datetime) -> set[uuid.UUID]:
        """Emails (id, Message-ID) now `sent` under `token`: the ones still claimed by it."""

    def sent_by(self, ids: Sequence[uuid.UUID], token: uuid.UUID) -> set[uuid.UUID]:
        """The emails that read `sent` under `token`, asked on a fresh connection."""

    def record_outcome(self, email_id: uuid.UUID, token: uuid.UUID, *, status: str,
                       wake_at: datetime, reason: str, now: datetime, counted: int) -> None: ...

    def return_to_pump(self, ids: Sequence[uuid.UUID]) -> None:
        """Queued emails back to `scheduled`, for the pump to enqueue afresh."""


class PumpLedger(Protocol):
    """The pump's calls; each opens and commits its own transaction."""

    def recover_lost(self, now: datetime, lost_after: timedelta) -> int:
        """Expired leases and lost messages back to `scheduled`; how many."""

    def count_in_flight(self) -> int: ...

    def claim_due(self, horizon_end: datetime, limit: int) -> list[DueEmail]:
        """The soonest `scheduled` emails due by `horizon_end`, now `queued`."""

    def return_to_pump(self, ids: Sequence[uuid.UUID]) -> None: ...


class Quotas(Protocol):
    """Per-user abuse limits on scheduling, shared by every API instance."""

    def check_request(self, user_id: uuid.UUID, now_seconds: float) -> None:
        """Count a schedule request; TooManyRequests past the per-minute cap."""

    def reserve_recipients(self, user_id: uuid.UUID, count: int, now_seconds: float) -> str:
        """Reserve `count` of today's recipients; returns the key to release them by."""

    def release(self, key: str, count: int) -> None: ...


class AccountStore(Protocol):
    def upsert_user_by_email(self, email: str, name: str) -> User: ...

    def upsert_user_by_google_sub(self, sub: str, email: str, name: str,
                                  avatar: str | None) -> User | None:
        """None when the email belongs to a different Google account."""

    def get_user(self, user_id: uuid.UUID) -> User | None: ...


class ReadSession(Protocol):
    def list_emails(self, user_id: uuid.UUID, *, finished: bool, batch_id: uuid.UUID | None,
                    limit: int, offset: int) -> tuple[list[EmailRow], int]: ...

    def list_batches(self, user_id: uuid.UUID, limit: int,
                     offset: int) -> tuple[list[BatchRow], int]: ...

    def get_batch(self, user_id: uuid.UUID, batch_id: uuid.UUID) -> BatchRow | None: ...

    def batch_counts(self, batch_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]: ...

    def status_counts(self, user_id: uuid.UUID) -> dict[str, int]: ...

    def per_hour(self, user_id: uuid.UUID,
                 since: datetime) -> dict[datetime, tuple[int, int]]: ...

    def sent_since(self, user_id: uuid.UUID, since: datetime) -> int: ...


class ReadStore(Protocol):
    def reading(self) -> AbstractContextManager[ReadSession]:
        """One connection for the reads of one answer."""


class SenderUsage(Protocol):
    def sender_usage(self, sender_id: uuid.UUID, since: datetime,
                     window_ms: int) -> dict[int, int]:
        """Sends planned or made per window start from `since` on, for planning around."""


class SchedulingSession(SenderUsage, Protocol):
    def upsert_sender(self, user_id: uuid.UUID, email: str, name: str) -> uuid.UUID:
        """The sender's id; its row stays locked until the transaction ends."""

    def insert_batch(self, **values: object) -> uuid.UUID: ...

    def insert_emails(self, *, batch_id: uuid.UUID, user_id: uuid.UUID, sender_id: uuid.UUID,
                      recipients: list[str], due_ms: list[int]) -> None: ...


class SchedulingStore(Protocol):
    def transaction(self) -> AbstractContextManager[SchedulingSession]:
        """Everything inside commits together, or nothing does."""


@dataclass(frozen=True)
class LockedBatch:
    status: str
    sender_id: uuid.UUID
    delay_ms: int
    hourly_limit: int


class BatchControlSession(SenderUsage, Protocol):
    def lock_batch(self, user_id: uuid.UUID, batch_id: uuid.UUID) -> LockedBatch | None: ...

    def lock_sender(self, sender_id: uuid.UUID) -> None: ...

    def pending_count(self, batch_id: uuid.UUID) -> int: ...

    def set_status(self, batch_id: uuid.UUID, status: str) -> None: ...

    def hold_emails(self, batch_id: uuid.UUID, from_statuses: list[str], status: str) -> int: ...

    def paused_emails(self, batch_id: uuid.UUID) -> list[tuple[uuid.UUID, datetime]]: ...

    def resume_emails(self, ids: list[uuid.UUID], due_ms: list[int]) -> None: ...

    def set_end(self, batch_id: uuid.UUID, end: datetime) -> None: ...


class BatchControlStore(Protocol):
    def transaction(self) -> AbstractContextManager[BatchControlSession]: ...
