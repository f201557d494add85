"""In-memory fakes of the ports, for unit tests. Contract tests run the same assertions
against each fake and its real adapter, so a fake cannot drift from what it stands for."""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from emailsched.domain.outgoing import OutgoingEmail
from emailsched.domain.retry import SendResult
from emailsched.domain.senders import CALENDAR_DAY_SECONDS
from emailsched.domain.windows import (
    day_span_ms,
    days_counted,
    next_window_start_ms,
    window_start_ms,
    windows_counted,
)
from emailsched.ports import (
    ClaimedEmail,
    Clock,
    DueEmail,
    EmailState,
    OutgoingMessage,
    Permit,
    PointOfNoReturn,
    PumpLedger,
    ReceivedMessage,
    Seed,
    SeedSource,
    SenderLedger,
    SendLimits,
)


class FakeClock:
    """A clock that moves only when told to (or when something sleeps)."""

    def __init__(self, start: datetime):
        self._now = start

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._now += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)


class InMemoryQueue:
    """A queue with delays and visibility timeouts on a FakeClock."""

    def __init__(self, clock: FakeClock):
        self._clock = clock
        self._messages: dict[str, tuple[str, datetime, int]] = {}  # id -> body, visible, count
        self._handles: dict[str, str] = {}
        self._ids = itertools.count(1)

    def send(self, messages: list[OutgoingMessage]) -> None:
        for message in messages:
            visible = self._clock.now() + timedelta(seconds=message.delay_seconds)
            self._messages[f"m{next(self._ids)}"] = (message.body, visible, 0)

    def receive(self, max_messages: int, wait_seconds: int) -> list[ReceivedMessage]:
        now, received = self._clock.now(), list[ReceivedMessage]()
        for message_id, (body, visible, count) in list(self._messages.items()):
            if visible <= now and len(received) < max_messages:
                handle = f"{message_id}:{count + 1}"
                self._handles[handle] = message_id
                self._messages[message_id] = (body, now + timedelta(seconds=30), count + 1)
                received.append(ReceivedMessage(message_id, handle, body,
                                                {"ApproximateReceiveCount": str(count + 1)}))
        return received

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        message_id = self._handles[receipt_handle]
        body, _, count = self._messages[message_id]
        self._messages[message_id] = (body, self._clock.now() + timedelta(seconds=seconds), count)

    def delete(self, receipt_handles: list[str]) -> None:
        for handle in receipt_handles:
            self._messages.pop(self._handles.pop(handle, ""), None)

    def depth(self) -> int:
        return len(self._messages)


class FakeLimiter:
    """The Redis limiter's rules (window count with spill, daily count with spill, minimum
    gap; every limit checked in one step) in a dict, on the injected clock, which stands
    for Redis's: the caller passes no time. Nothing is ever lost, so nothing is seeded."""

    def __init__(self, window_ms: int, min_gap_ms: int, clock: Clock, *,
                 day_seconds: int = CALENDAR_DAY_SECONDS):
        self._window_ms, self._min_gap_ms = window_ms, min_gap_ms
        self._clock, self._day_seconds = clock, day_seconds
        self._counts: dict[tuple[str, int], int] = {}
        self._days: dict[tuple[str, int], int] = {}
        self._last: dict[str, int] = {}

    def acquire(self, sender_id: str, limits: SendLimits, wanted: int = 1) -> Permit:
        now_ms = int(self._clock.now().timestamp() * 1000)
        limit = limits.per_window
        gap = self._min_gap_ms if limits.min_gap_ms is None else limits.min_gap_ms
        windows = windows_counted(now_ms, self._window_ms)
        used = [self._counts.get((sender_id, window), 0) for window in windows]
        if used[0] >= limit:
            return Permit(0, next_window_start_ms(now_ms, self._window_ms) - now_ms, now_ms)
        if len(used) > 1 and used[1] >= limit:
            return Permit(0, next_window_start_ms(now_ms, self._window_ms) - now_ms + 1,
                          now_ms)
        days: tuple[int, ...] = ()
        room = [limit - n for n in used]
        if limits.daily is not None:
            days = days_counted(now_ms, limits.timezone, self._day_seconds)
            day_end = day_span_ms(now_ms, limits.timezone, self._day_seconds)[1]
            day_used = [self._days.get((sender_id, day), 0) for day in days]
            if day_used[0] >= limits.daily:
                return Permit(0, day_end - now_ms, now_ms)
            if len(day_used) > 1 and day_used[1] >= limits.daily:
                return Permit(0, day_end - now_ms + 1, now_ms)
            room += [limits.daily - n for n in day_used]
        last = self._last.get(sender_id)
        if gap > 0 and last is not None and now_ms - last < gap:
            return Permit(0, last + gap - now_ms, now_ms)
        granted = 1 if gap > 0 else min(max(1, wanted), *room)
        for window in windows:
            self._counts[(sender_id, window)] = self._counts.get((sender_id, window), 0) + granted
        for day in days:
            self._days[(sender_id, day)] = self._days.get((sender_id, day), 0) + granted
        self._last[sender_id] = now_ms
        return Permit(granted, 0, now_ms)

    def refund(self, sender_id: str, granted_at_ms: int, limits: SendLimits,
               slots: int = 1) -> None:
        for window in windows_counted(granted_at_ms, self._window_ms):
            key = (sender_id, window)
            self._counts[key] = max(0, self._counts.get(key, 0) - slots)
        if limits.daily is not None:
            for day in days_counted(granted_at_ms, limits.timezone, self._day_seconds):
                key = (sender_id, day)
                self._days[key] = max(0, self._days.get(key, 0) - slots)

    def count(self, sender_id: str, at_ms: int) -> int:
        return self._counts.get((sender_id, window_start_ms(at_ms, self._window_ms)), 0)


@dataclass
class RecordingMailer:
    """Accepts everything unless `replies` says otherwise (one SendResult per email it
    delivers), `sessions` emails a round."""

    replies: list[SendResult] = field(default_factory=list)
    sent: list[OutgoingEmail] = field(default_factory=list)
    attempts: int = 0
    sessions: int = 1
    rounds: list[int] = field(default_factory=list)

    def send_round(self, emails: Sequence[OutgoingEmail],
                   point_of_no_return: PointOfNoReturn) -> list[SendResult | None]:
        assert 0 < len(emails) <= self.sessions
        self.attempts += len(emails)
        self.rounds.append(len(emails))
        go = set(point_of_no_return(list(range(len(emails)))))
        results: list[SendResult | None] = []
        for index, email in enumerate(emails):
            if index not in go:
                results.append(None)
                continue
            result = self.replies.pop(0) if self.replies else SendResult(True, 250, "OK")
            if result.accepted:
                self.sent.append(email)
            results.append(result)
        return results

    def close(self) -> None:
        pass


@dataclass
class FakeEmail:
    state: EmailState
    claimed: ClaimedEmail
    token: uuid.UUID | None = None
    sent_at: datetime | None = None
    failure_reason: str | None = None
    message_id: str | None = None
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def status(self) -> str:
        return self.state.status


class InMemoryLedger(SenderLedger, PumpLedger):
    """The sender's and the pump's ledger as conditional updates on a dict, with the
    preconditions of the SQL in adapters/db/ledger.py (tests/integration/
    test_ledger_contract.py runs both through the same assertions)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.emails: dict[uuid.UUID, FakeEmail] = {}
        self._clock = clock

    def add(self, *, sender_id: uuid.UUID, due: datetime, hourly_limit: int = 100,
            seq: int = 0, status: str = "queued") -> uuid.UUID:
        email_id = uuid.uuid4()
        state = EmailState(email_id, status, sender_id, hourly_limit, due, seq)
        claimed = ClaimedEmail(email_id, "sender@example.com", "Sender", f"r{seq}@example.com",
                               "Subject", "<p>Body</p>", 0, due_at=due)
        self.emails[email_id] = FakeEmail(state, claimed, updated_at=self._now())
        return email_id

    def status(self, email_id: uuid.UUID) -> str:
        return self.emails[email_id].status

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    def _move(self, email: FakeEmail, status: str | None = None,
              ready_at: datetime | None = None) -> None:
        email.state = replace(email.state, status=status or email.state.status,
                              ready_at=ready_at or email.state.ready_at)
        email.updated_at = self._now()

    def _named(self, ids: Sequence[uuid.UUID], *statuses: str) -> Iterator[FakeEmail]:
        for email_id in ids:
            email = self.emails.get(email_id)
            if email is not None and email.status in statuses:
                yield email

    # --- the sender's ledger -----------------------------------------------------------
    @contextlib.contextmanager
    def pinned(self) -> Iterator[None]:
        yield

    def look(self, ids: Sequence[uuid.UUID]) -> list[EmailState]:
        return [self.emails[i].state for i in ids if i in self.emails]

    def claim(self, ids: Sequence[uuid.UUID], lease_until: datetime,
              token: uuid.UUID) -> list[ClaimedEmail]:
        claimed = []
        for email in self._named(ids, "queued"):
            self._move(email, "sending", ready_at=lease_until)
            email.token = token
            claimed.append(email.claimed)
        return claimed

    def return_to_queue(self, ids: Sequence[uuid.UUID], token: uuid.UUID,
                        wake_at: datetime) -> list[uuid.UUID]:
        returned = []
        for email in self._named(ids, "sending"):
            if email.token == token:
                self._move(email, "queued", ready_at=wake_at)
                email.token = None
                returned.append(email.state.id)
        return returned

    def postpone(self, ids: Sequence[uuid.UUID], wake_at: datetime) -> None:
        for email in self._named(ids, "queued"):
            self._move(email, ready_at=max(email.state.ready_at, wake_at))

    def mark_sent(self, sends: Sequence[tuple[uuid.UUID, str]], token: uuid.UUID,
                  now: datetime) -> set[uuid.UUID]:
        marked = set()
        for email_id, message_id in sends:
            email = self.emails[email_id]
            if email.status == "sending" and email.token == token:
                self._move(email, "sent")
                email.claimed = replace(email.claimed, attempts=email.claimed.attempts + 1)
                email.sent_at, email.message_id, email.failure_reason = now, message_id, None
                marked.add(email_id)
        return marked

    def sent_by(self, ids: Sequence[uuid.UUID], token: uuid.UUID) -> set[uuid.UUID]:
        return {e.state.id for e in self._named(ids, "sent") if e.token == token}

    def record_outcome(self, email_id: uuid.UUID, token: uuid.UUID, *, status: str,
                       wake_at: datetime, reason: str, now: datetime, counted: int) -> None:
        email = self.emails[email_id]
        if email.token != token or email.status not in ("sending", "sent"):
            return
        self._move(email, status, ready_at=wake_at)
        email.claimed = replace(email.claimed, attempts=email.claimed.attempts + counted)
        email.failure_reason, email.sent_at, email.message_id = reason, None, None

    def return_to_pump(self, ids: Sequence[uuid.UUID]) -> None:
        for email in self._named(ids, "queued"):
            self._move(email, "scheduled")
            email.token = None

    # --- the pump's ledger -------------------------------------------------------------
    def recover_lost(self, now: datetime, lost_after: timedelta) -> int:
        recovered, lost_before = 0, now - lost_after
        for email in list(self.emails.values()):
            lease_expired = email.status == "sending" and email.state.ready_at < now
            lost = (email.status == "queued" and email.state.ready_at < lost_before
                    and email.updated_at < lost_before)
            if lease_expired or lost:
                self._move(email, "scheduled", ready_at=now)
                email.token = None if lease_expired else email.token
                recovered += 1
        return recovered

    def count_in_flight(self) -> int:
        return sum(1 for e in self.emails.values() if e.status in ("queued", "sending"))

    def claim_due(self, horizon_end: datetime, limit: int) -> list[DueEmail]:
        due = sorted((e for e in self.emails.values()
                      if e.status == "scheduled" and e.state.ready_at <= horizon_end),
                     key=lambda e: e.state.ready_at)[:limit]
        for email in due:
            self._move(email, "queued")
        return [DueEmail(e.state.id, e.state.sender_id, e.state.ready_at, e.state.seq)
                for e in due]


class NoSeed(SeedSource):
    """A ledger with nothing sent: every lost window starts empty."""

    def seed(self, sender_id: str, window_start: datetime,
             day_start: datetime | None = None) -> Seed:
        return Seed(0, None, None if day_start is None else 0)
