"""Ports: the narrow interfaces services depend on. Real adapters live in emailsched.adapters;
in-memory fakes in emailsched.fakes. Contract tests run against both."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

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
class Permit:
    slots: int  # sends counted now, from 0 to the number asked for
    wait_ms: int = 0  # when none: how long until a send may succeed

    @property
    def granted(self) -> bool:
        return self.slots > 0


class RateLimiter(Protocol):
    def acquire(self, sender_id: str, limit: int, now_ms: int, wanted: int = 1) -> Permit:
        """Count up to `wanted` sends for the sender, as many as its window allows now
        (one at most while a minimum gap between sends applies)."""

    def refund(self, sender_id: str, granted_at_ms: int) -> None:
        """Give back a slot granted at `granted_at_ms` for a send that did not happen."""
