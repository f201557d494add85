"""Ports: the narrow interfaces services depend on. Real adapters live in emailsched.adapters;
in-memory fakes in emailsched.fakes. Contract tests run against both."""

from __future__ import annotations

from collections.abc import Callable
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


class Mailer(Protocol):
    def send(self, email: OutgoingEmail, point_of_no_return: Callable[[], bool]) -> SendResult:
        """Send one email. `point_of_no_return` is called once the server holds the whole
        message but has not been told to deliver it; if it returns False the transaction is
        abandoned and nothing is delivered."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class Permit:
    granted: bool
    wait_ms: int = 0  # when not granted: how long until a send may succeed


class RateLimiter(Protocol):
    def acquire(self, sender_id: str, limit: int, now_ms: int) -> Permit:
        """Count one send for the sender if its window and minimum gap allow it now."""

    def refund(self, sender_id: str, granted_at_ms: int) -> None:
        """Give back a slot granted at `granted_at_ms` for a send that did not happen."""
