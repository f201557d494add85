"""In-memory fakes of the ports, for unit tests. Contract tests run the same assertions
against each fake and its real adapter, so a fake cannot drift from what it stands for."""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from emailsched.adapters.db.ledger import ClaimedEmail, EmailState
from emailsched.adapters.redis_limiter import Seed
from emailsched.domain.retry import SendResult
from emailsched.domain.windows import next_window_start_ms, window_start_ms, windows_counted
from emailsched.ports import (
    OutgoingEmail,
    OutgoingMessage,
    Permit,
    PointOfNoReturn,
    ReceivedMessage,
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
    """The Redis limiter's rules (window count with spill, minimum gap) in a dict."""

    def __init__(self, window_ms: int, min_gap_ms: int):
        self._window_ms, self._min_gap_ms = window_ms, min_gap_ms
        self._counts: dict[tuple[str, int], int] = {}
        self._last: dict[str, int] = {}

    def acquire(self, sender_id: str, limit: int, now_ms: int, wanted: int = 1) -> Permit:
        windows = windows_counted(now_ms, self._window_ms)
        used = [self._counts.get((sender_id, window), 0) for window in windows]
        if used[0] >= limit:
            return Permit(0, next_window_start_ms(now_ms, self._window_ms) - now_ms)
        if len(used) > 1 and used[1] >= limit:
            return Permit(0, next_window_start_ms(now_ms, self._window_ms) - now_ms + 1)
        last = self._last.get(sender_id)
        if last is not None and now_ms - last < self._min_gap_ms:
            return Permit(0, last + self._min_gap_ms - now_ms)
        granted = 1 if self._min_gap_ms > 0 else min(wanted, *(limit - n for n in used))
        for window in windows:
            self._counts[(sender_id, window)] = self._counts.get((sender_id, window), 0) + granted
        self._last[sender_id] = now_ms
        return Permit(granted)

    def refund(self, sender_id: str, granted_at_ms: int) -> None:
        for window in windows_counted(granted_at_ms, self._window_ms):
            key = (sender_id, window)
            self._counts[key] = max(0, self._counts.get(key, 0) - 1)

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


class InMemoryLedger:
    """The sender's side of the ledger (look, claim, outcomes), as conditional updates on a
    dict, with the same preconditions as the SQL in adapters/db/ledger.py."""

    def __init__(self) -> None:
        self.emails: dict[uuid.UUID, FakeEmail] = {}

    def add(self, *, sender_id: uuid.UUID, due: datetime, hourly_limit: int = 100,
            seq: int = 0, status: str = "queued") -> uuid.UUID:
        email_id = uuid.uuid4()
        state = EmailState(email_id, status, sender_id, hourly_limit, due, seq)
        claimed = ClaimedEmail(email_id, "sender@example.com", "Sender", f"r{seq}@example.com",
                               "Subject", "<p>Body</p>", 0)
        self.emails[email_id] = FakeEmail(state, claimed)
        return email_id

    def status(self, email_id: uuid.UUID) -> str:
        return self.emails[email_id].state.status

    def look(self, ids: Sequence[uuid.UUID]) -> list[EmailState]:
        return [self.emails[i].state for i in ids if i in self.emails]

    def claim(self, email_id: uuid.UUID, lease_until: datetime,
              token: uuid.UUID) -> ClaimedEmail | None:
        email = self.emails.get(email_id)
        if email is None or email.state.status != "queued":
            return None
        email.state = replace(email.state, status="sending", ready_at=lease_until)
        email.token = token
        return email.claimed

    def claim_many(self, ids: Sequence[uuid.UUID], lease_until: datetime,
                   token: uuid.UUID) -> list[ClaimedEmail]:
        claimed = (self.claim(email_id, lease_until, token) for email_id in ids)
        return [email for email in claimed if email is not None]

    def release(self, ids: Sequence[uuid.UUID], token: uuid.UUID,
                wake_at: datetime) -> list[uuid.UUID]:
        released = []
        for email_id in ids:
            email = self.emails[email_id]
            if email.state.status == "sending" and email.token == token:
                email.state = replace(email.state, status="queued", ready_at=wake_at)
                email.token = None
                released.append(email_id)
        return released

    @contextlib.contextmanager
    def pinned(self) -> Iterator[None]:
        yield

    def postpone(self, ids: Sequence[uuid.UUID], wake_at: datetime) -> None:
        for email_id in ids:
            email = self.emails[email_id]
            if email.state.status == "queued":
                email.state = replace(email.state, ready_at=max(email.state.ready_at, wake_at))

    def mark_sent(self, sends: Sequence[tuple[uuid.UUID, str]], token: uuid.UUID,
                  now: datetime) -> set[uuid.UUID]:
        marked = set()
        for email_id, _ in sends:
            email = self.emails[email_id]
            if email.state.status == "sending" and email.token == token:
                email.state = replace(email.state, status="sent")
                email.claimed = replace(email.claimed, attempts=email.claimed.attempts + 1)
                email.sent_at = now
                marked.add(email_id)
        return marked

    def sent_by(self, ids: Sequence[uuid.UUID], token: uuid.UUID) -> set[uuid.UUID]:
        return {i for i in ids
                if self.emails[i].token == token and self.emails[i].state.status == "sent"}

    def record_outcome(self, email_id: uuid.UUID, token: uuid.UUID, *, status: str,
                       wake_at: datetime, reason: str, now: datetime, counted: int) -> None:
        email = self.emails[email_id]
        if email.token != token or email.state.status not in ("sending", "sent"):
            return
        email.state = replace(email.state, status=status, ready_at=wake_at)
        email.claimed = replace(email.claimed, attempts=email.claimed.attempts + counted)
        email.failure_reason, email.sent_at = reason, None

    def hand_back_to_pump(self, ids: Sequence[uuid.UUID]) -> None:
        for email_id in ids:
            email = self.emails[email_id]
            if email.state.status == "queued":
                email.state = replace(email.state, status="scheduled")

    def seed(self, sender_id: str, window_start: datetime) -> Seed:
        return Seed(0, None)
