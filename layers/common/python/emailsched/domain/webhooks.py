"""Outgoing webhooks (SPEC.md, "Webhooks (Standard Webhooks 1.0)"): event types, secrets,
signatures, the retry schedule and which answers deliver.

Signatures follow Standard Webhooks 1.0: HMAC-SHA256 over `{id}.{timestamp}.{body}`,
keyed with the base64-decoded part of the `whsec_` secret, sent as `v1,<base64>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

EVENT_TYPES = ("email.sent", "email.failed", "email.bounced", "email.opened", "email.clicked",
               "reply.received", "lead.status_changed", "recipient.unsubscribed",
               "batch.completed", "sender.failing", "webhook.test")
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
DEFAULT_RETRY_SECONDS = (5, 300, 1800, 7200, 18000, 36000, 36000)
DISABLE_AFTER = timedelta(days=5)  # of failing every attempt
TIMEOUT_SECONDS = 15.0
MAX_BODY_BYTES = 256 * 1024
# Retry-After is honoured, within reason: a day at most.
MAX_RETRY_AFTER_SECONDS = 86_400


def secret_from(random_bytes: bytes) -> str:
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header's value."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def body(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    """`{type, timestamp, data}`: the timestamp is when the event happened (the header's
    is when the attempt was made)."""
    stamp = occurred_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": stamp, "data": data},
                      separators=(",", ":")).encode()


def headers(secret: str, message_id: str, timestamp: int, payload: bytes) -> dict[str, str]:
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, message_id, timestamp, payload),
            "content-type": "application/json", "user-agent": "emailsched-webhooks/1"}


def parse_retry_seconds(setting: str) -> tuple[int, ...]:
    """WEBHOOK_RETRY_SECONDS: comma-separated delays; empty: the standard schedule."""
    values = tuple(int(float(part)) for part in setting.split(",") if part.strip())
    if any(value < 0 for value in values):
        raise ValueError("WEBHOOK_RETRY_SECONDS: delays must not be negative")
    return values or DEFAULT_RETRY_SECONDS


@dataclass(frozen=True)
class Outcome:
    """One attempt's result."""

    status_code: int | None
    error: str | None = None
    retry_after: float | None = None
    response_body: str | None = None
    duration_ms: int = 0

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def next_delay(failures: int, schedule: tuple[int, ...], outcome: Outcome) -> float | None:
    """Seconds until the next attempt after `failures` failed ones (this one included), or
    None when the schedule is spent. Retry-After (429, 503) may only push it later."""
    if failures > len(schedule):
        return None
    delay = float(schedule[failures - 1])
    if outcome.status_code in (429, 503) and outcome.retry_after is not None:
        delay = max(delay, min(outcome.retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Endpoint:
    id: Any  # uuid.UUID
    url: str
    events: tuple[str, ...]
    description: str
    status: str
    disabled_reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class Message:
    """One event due to one endpoint (a row of the outbox)."""

    id: int
    event_id: str
    type: str
    data: dict[str, Any]
    occurred_at: datetime
    attempts: int
    failures: int


@dataclass(frozen=True)
class Attempt:
    """A line of the delivery log."""

    event_id: str
    type: str
    attempt: int
    status_code: int | None
    error: str | None
    response_body: str | None
    duration_ms: int
    at: datetime
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class Result:
    """What to record of one attempt: the message's new state and the log line."""

    message: Message
    outcome: Outcome
    at: datetime
    state: str  # pending, delivered or failed
    next_attempt_at: datetime | None


def result(message: Message, outcome: Outcome, at: datetime,
           schedule: tuple[int, ...]) -> Result:
    """The message after one attempt: delivered, tried again later, or given up."""
    if outcome.delivered:
        return Result(message, outcome, at, "delivered", None)
    delay = None if outcome.gone else next_delay(message.failures + 1, schedule, outcome)
    if delay is None:
        return Result(message, outcome, at, "failed", None)
    return Result(message, outcome, at, "pending", at + timedelta(seconds=delay))
