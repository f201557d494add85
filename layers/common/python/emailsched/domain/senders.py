"""Sender accounts (SPEC.md "Senders"): what a sender is, which From addresses may use the
shared relay, the days a daily cap counts in, and when a broken mailbox is held. No I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import idna

CALENDAR_DAY_SECONDS = 86_400


class SenderKind(StrEnum):
    SMTP = "smtp"  # the user's own account, verified before it is stored
    RELAY = "relay"  # the deployment's SMTP_* relay, for RELAY_SENDER_DOMAINS only
    GOOGLE = "google"  # a Google mailbox connected by OAuth (SMTP/IMAP XOAUTH2)
    MICROSOFT = "microsoft"  # a Microsoft 365 mailbox connected by OAuth


class SenderStatus(StrEnum):
    ACTIVE = "active"
    FAILING = "failing"  # its server failed it too often in a row: its emails are held


class Security(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


@dataclass(frozen=True)
class MailServer:
    """An SMTP or IMAP account as routes show it: never the password (stored encrypted)."""

    host: str
    port: int
    security: Security
    username: str


@dataclass(frozen=True)
class SenderLimits:
    """A sender's own caps; None means no cap of its own (the batch's still holds)."""

    hourly_limit: int | None = None
    daily_limit: int | None = None
    min_delay_ms: int | None = None
    timezone: str = "UTC"


# --- the shared relay ------------------------------------------------------------------

def relay_allowed(email: str, relay_domains: str) -> bool:
    """Whether `email` may send through the shared relay under RELAY_SENDER_DOMAINS
    (comma-separated domains, `*` any, empty none). Domains match exactly, compared in
    IDNA form and case-insensitively; a subdomain is not its parent."""
    allowed = [entry.strip() for entry in relay_domains.split(",") if entry.strip()]
    if "*" in allowed:
        return True
    domain = _domain_key(email.rpartition("@")[2])
    return domain is not None and domain in {_domain_key(entry) for entry in allowed}


def _domain_key(domain: str) -> str | None:
    domain = domain.strip().rstrip(".")
    if not domain:
        return None
    try:
        return idna.encode(domain, uts46=True).decode("ascii").lower()
    except idna.IDNAError:
        return None


# --- days of a daily cap -------------------------------------------------------------

def zone(timezone: str) -> ZoneInfo:
    """The IANA zone, or ValueError naming it."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {timezone!r} (an IANA name such as "
                         "Europe/Berlin)") from None


def day_start_ms(at_ms: int, timezone: str, day_seconds: int = CALENDAR_DAY_SECONDS) -> int:
    """When the day containing `at_ms` began: the local midnight in `timezone` for
    calendar days, else the start of the epoch-aligned stretch of `day_seconds`."""
    if day_seconds != CALENDAR_DAY_SECONDS:
        return at_ms - at_ms % (day_seconds * 1000)
    tz = zone(timezone)
    local_date = dt.datetime.fromtimestamp(at_ms / 1000, tz).date()
    start = _midnight_ms(local_date, tz, fold=0)
    return start if start <= at_ms else _midnight_ms(local_date, tz, fold=1)


def next_day_start_ms(at_ms: int, timezone: str,
                      day_seconds: int = CALENDAR_DAY_SECONDS) -> int:
    """When the day after the one containing `at_ms` begins (always after `at_ms`)."""
    if day_seconds != CALENDAR_DAY_SECONDS:
        return day_start_ms(at_ms, timezone, day_seconds) + day_seconds * 1000
    tz = zone(timezone)
    next_date = dt.datetime.fromtimestamp(at_ms / 1000, tz).date() + dt.timedelta(days=1)
    start = _midnight_ms(next_date, tz, fold=0)
    # Where clocks fall back across midnight, the first midnight can precede `at_ms`.
    return start if start > at_ms else _midnight_ms(next_date, tz, fold=1)


def _midnight_ms(date: dt.date, tz: ZoneInfo, fold: int) -> int:
    # A midnight skipped by a clock change (fold 0 takes the offset before it) lands on
    # the moment the clocks jumped: the first instant of that local date.
    midnight = dt.datetime(date.year, date.month, date.day, tzinfo=tz, fold=fold)
    return int(midnight.timestamp() * 1000)


# --- a broken mailbox holds ----------------------------------------------------------

class Outcome(StrEnum):
    """What one attempt tells about the sender's own account (not about a recipient)."""

    ACCEPTED = "accepted"  # connected and logged in (the recipient may still refuse)
    CONNECTION_FAILED = "connection_failed"  # unreachable, TLS failed, hung up
    LOGIN_REFUSED = "login_refused"  # the server refused AUTH


@dataclass(frozen=True)
class SenderHealth:
    """A sender's run of account failures. `failures_before_hold` in a row make it
    failing (its emails held); a success ends the run; only a verify reactivates it."""

    status: SenderStatus = SenderStatus.ACTIVE
    consecutive_failures: int = 0
    last_error: str | None = None

    @property
    def failing(self) -> bool:
        return self.status is SenderStatus.FAILING

    def after(self, outcome: Outcome, failures_before_hold: int,
              error: str | None = None) -> SenderHealth:
        if outcome is Outcome.ACCEPTED:
            return replace(self, consecutive_failures=0)
        failures = self.consecutive_failures + 1
        status = SenderStatus.FAILING if failures >= failures_before_hold else self.status
        return SenderHealth(status, failures, error or outcome.value)

    def verified(self) -> SenderHealth:
        """The account passed a check (verify, or a PATCH that fixed it): active again."""
        return SenderHealth()

    def newly_failing(self, before: SenderHealth) -> bool:
        """This change turned the sender failing: hold its unsent emails now."""
        return self.failing and not before.failing
