"""Sender rules as tables: who may use the shared relay, the days a daily cap counts in,
and when a broken mailbox is held."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from emailsched.domain.senders import (
    Outcome,
    SenderHealth,
    SenderStatus,
    day_start_ms,
    next_day_start_ms,
    relay_allowed,
    zone,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("email, domains, allowed", [
    ("me@example.com", "", False),
    ("me@example.com", "*", True),
    ("me@example.com", "example.com", True),
    ("me@Example.COM", "example.com", True),
    ("me@example.com", " other.org , EXAMPLE.com ", True),
    ("me@example.com.", "example.com", True),
    ("me@mail.example.com", "example.com", False),
    ("me@example.com", "mail.example.com", False),
    ("me@evil-example.com", "example.com", False),
    ("me@bücher.de", "xn--bcher-kva.de", True),
    ("me@xn--bcher-kva.de", "Bücher.de", True),
    ("me@BÜCHER.de", "bücher.de", True),
    ("me@buecher.de", "bücher.de", False),
    ("no-at-sign", "*", True),
    ("no-at-sign", "example.com", False),
    ("me@", "example.com", False),
    ("me@example.com", ",,", False),
])
def test_relay_sender_domains(email, domains, allowed):
    assert relay_allowed(email, domains) is allowed


def ms(text: str, tz: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def utc_ms(text: str) -> int:
    return ms(text, "UTC")


@pytest.mark.parametrize("at, tz, start, next_start", [
    ("2026-03-10T15:00", "UTC", "2026-03-10T00:00+00:00", "2026-03-11T00:00+00:00"),
    ("2026-03-10T23:30", "Europe/Berlin", "2026-03-10T00:00+01:00", "2026-03-11T00:00+01:00"),
    # Berlin springs forward on 29 March 2026: a 23-hour day.
    ("2026-03-29T12:00", "Europe/Berlin", "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00"),
    # ...and falls back on 25 October 2026: a 25-hour day.
    ("2026-10-25T02:30", "Europe/Berlin", "2026-10-25T00:00+02:00", "2026-10-26T00:00+01:00"),
    ("2026-06-01T00:00", "America/New_York", "2026-06-01T00:00-04:00",
     "2026-06-02T00:00-04:00"),
    ("2026-06-01T05:00", "Asia/Kolkata", "2026-06-01T00:00+05:30", "2026-06-02T00:00+05:30"),
    # Santiago skips midnight on 6 September 2026 (00:00 -> 01:00): the day starts at 01:00.
    ("2026-09-06T12:00", "America/Santiago", "2026-09-06T01:00-03:00",
     "2026-09-07T00:00-03:00"),
    ("2026-09-05T12:00", "America/Santiago", "2026-09-05T00:00-04:00",
     "2026-09-06T01:00-03:00"),
])
def test_calendar_days_in_the_senders_zone(at, tz, start, next_start):
    at_ms = ms(at, tz)
    assert day_start_ms(at_ms, tz, 86_400) == int(dt.datetime.fromisoformat(start)
                                                  .timestamp() * 1000)
    assert next_day_start_ms(at_ms, tz, 86_400) == int(dt.datetime.fromisoformat(next_start)
                                                       .timestamp() * 1000)


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe",
                                "Pacific/Chatham", "America/Havana"])
def test_every_instant_lies_in_exactly_one_day(tz):
    at = utc_ms("2026-01-01T00:00")
    for _ in range(24 * 370 // 5):
        start, following = day_start_ms(at, tz), next_day_start_ms(at, tz)
        assert start <= at < following
        assert day_start_ms(following, tz) == following
        at += 5 * 3_600_000 + 7_000


@pytest.mark.parametrize("at, day_seconds, start, next_start", [
    (0, 60, 0, 60_000),
    (59_999, 60, 0, 60_000),
    (60_000, 60, 60_000, 120_000),
    (1_000_000_123, 10, 1_000_000_000, 1_000_010_000),
    (utc_ms("2026-03-10T15:00"), 3600, utc_ms("2026-03-10T15:00"), utc_ms("2026-03-10T16:00")),
])
def test_shortened_days_are_aligned_to_the_epoch_whatever_the_zone(at, day_seconds, start,
                                                                  next_start):
    for tz in ("UTC", "Asia/Kolkata"):
        assert day_start_ms(at, tz, day_seconds) == start
        assert next_day_start_ms(at, tz, day_seconds) == next_start


def test_an_unknown_zone_is_named():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        zone("Mars/Olympus")
    with pytest.raises(ValueError, match="IANA"):
        day_start_ms(0, "../etc/passwd")


FAIL, LOGIN, OK = Outcome.CONNECTION_FAILED, Outcome.LOGIN_REFUSED, Outcome.ACCEPTED


@pytest.mark.parametrize("outcomes, threshold, status, failures", [
    ([], 3, SenderStatus.ACTIVE, 0),
    ([FAIL], 3, SenderStatus.ACTIVE, 1),
    ([FAIL, LOGIN], 3, SenderStatus.ACTIVE, 2),
    ([FAIL, LOGIN, FAIL], 3, SenderStatus.FAILING, 3),
    ([FAIL, FAIL, OK, FAIL, FAIL], 3, SenderStatus.ACTIVE, 2),
    ([LOGIN], 1, SenderStatus.FAILING, 1),
    ([LOGIN, OK], 1, SenderStatus.FAILING, 0),  # only a verify reactivates it
    ([FAIL, FAIL, FAIL, FAIL], 3, SenderStatus.FAILING, 4),
])
def test_consecutive_account_failures_hold_the_sender(outcomes, threshold, status, failures):
    health = SenderHealth()
    for outcome in outcomes:
        health = health.after(outcome, threshold, error=f"{outcome.value} reply")
    assert (health.status, health.consecutive_failures) == (status, failures)


def test_the_last_error_is_kept_and_a_verify_reactivates():
    health = SenderHealth()
    for reply in ("connection refused", "535 5.7.8 bad credentials"):
        health = health.after(Outcome.LOGIN_REFUSED, 2, error=reply)
    assert health.failing and health.last_error == "535 5.7.8 bad credentials"
    assert health.verified() == SenderHealth(SenderStatus.ACTIVE, 0, None)


def test_newly_failing_is_true_once_at_the_crossing():
    before = SenderHealth(consecutive_failures=2)
    crossed = before.after(Outcome.CONNECTION_FAILED, 3, error="timeout")
    assert crossed.newly_failing(before)
    assert not crossed.after(Outcome.CONNECTION_FAILED, 3).newly_failing(crossed)
