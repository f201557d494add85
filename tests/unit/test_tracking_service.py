"""Hits as the tracking routes record them: valid tokens only, people and machines told
apart by method and user agent, analytics rates as fractions of sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from emailsched.domain.analytics import Counts
from emailsched.domain.tracking import click_token, open_token
from emailsched.errors import NotFound
from emailsched.fakes import FakeClock
from emailsched.services.tracking import TrackingService

pytestmark = pytest.mark.unit
KEY = b"t" * 32
EMAIL = uuid.uuid4()
URL = "https://example.com/x?a=%2F#f"


def service() -> tuple[TrackingService, list[dict[str, Any]]]:
    hits: list[dict[str, Any]] = []
    return TrackingService(KEY, hits.append, FakeClock(datetime(2026, 12, 7, tzinfo=UTC))), hits


@pytest.mark.parametrize(("method", "agent", "machine"), [
    ("GET", "Mozilla/5.0", True),
    ("GET", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0", False),
    ("HEAD", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0", True),
    ("GET", None, True),
])
def test_a_valid_open_is_recorded_with_who_made_it(method: str, agent: str | None,
                                                   machine: bool):
    tracking, hits = service()
    assert tracking.opened(open_token(KEY, EMAIL), method, agent)
    assert hits[0]["emailId"] == str(EMAIL) and hits[0]["type"] == "opened"
    assert hits[0]["detail"]["machine"] is machine


def test_an_altered_token_records_nothing_and_a_click_says_not_found():
    tracking, hits = service()
    assert not tracking.opened(open_token(KEY, EMAIL)[:-2] + "AA", "GET", "x")
    with pytest.raises(NotFound):
        tracking.clicked(click_token(KEY, EMAIL, URL)[:-2] + "AA", "GET", "x")
    assert hits == []


def test_a_click_answers_the_url_exactly_and_records_it():
    tracking, hits = service()
    assert tracking.clicked(click_token(KEY, EMAIL, URL), "GET", "Chrome") == URL
    assert hits[0]["detail"]["url"] == URL and hits[0]["type"] == "clicked"


def test_rates_are_fractions_of_sent_and_machines_shown_apart():
    shown = Counts(sent=4, opened=1, clicked=2, machine_opens=7).to_api()
    assert (shown["openRate"], shown["clickRate"], shown["bounceRate"]) == (0.25, 0.5, 0.0)
    assert shown["machine"] == {"opens": 7, "clicks": 0}
    assert Counts().to_api()["openRate"] == 0.0


def test_the_cost_of_a_million_hits_adds_its_items():
    from emailsched.bench.cost import hit_cost

    usd = hit_cost(api_cpu_ms=0.5, store_ms=3.0, memory_mb=512)
    assert usd["apiGatewayRequests"] == pytest.approx(3.5)
    assert usd["total"] == pytest.approx(sum(v for k, v in usd.items() if k != "total"))
    assert hit_cost(0.5, 6.0)["lambdaApiDuration"] > usd["lambdaApiDuration"]
