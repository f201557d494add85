"""Tracking tokens and the machine signals (SPEC.md "Engagement")."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from emailsched.domain.tracking import (
    Click,
    burst_clicks,
    click_token,
    machine_reason,
    open_token,
    read_click_token,
    read_open_token,
)

KEY = b"a-key-of-the-tests-0123456789abcdef"
EMAIL = uuid.UUID("0190a000-0000-7000-8000-000000000001")
T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("url", [
    "https://example.com/p?q=a%2Fb&x=1#frag",
    "https://example.com/path%20with%20spaces?utm_source=cold&c=Initech%2C%20Inc.",
    "http://example.com/ünïcode?ä=ö",
])
def test_a_click_token_carries_the_url_byte_for_byte(url: str):
    assert read_click_token(KEY, click_token(KEY, EMAIL, url)) == (EMAIL, url)


def test_an_altered_or_foreign_token_names_nothing():
    token = click_token(KEY, EMAIL, "https://example.com/a")
    email_part, _url, mac = token.split(".")
    evil = click_token(KEY, EMAIL, "https://evil.example/").split(".")[1]
    assert read_click_token(KEY, f"{email_part}.{evil}.{mac}") is None
    assert read_click_token(b"another-key-0123456789abcdef", token) is None
    assert read_click_token(KEY, token + "x") is None
    assert read_click_token(KEY, "not-a-token") is None
    assert read_open_token(KEY, open_token(KEY, EMAIL)) == EMAIL
    assert read_open_token(KEY, token) is None  # a click token opens nothing
    assert read_open_token(KEY, open_token(KEY, EMAIL)[:-1] + "A") in (None,)
    assert EMAIL.hex not in token and "@" not in token


@pytest.mark.parametrize(("method", "agent", "machine"), [
    ("GET", "Mozilla/5.0", True),  # Apple Mail Privacy Protection
    ("HEAD", "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15", True),
    ("GET", "Mozilla/5.0 (compatible; BingPreview/1.0b)", True),
    ("GET", "Proofpoint URL Defense", True),
    ("GET", "Mimecast-Url-Protection", True),
    ("GET", "Barracuda Sentinel (EE)", True),
    ("GET", "Googlebot/2.1 (+http://www.google.com/bot.html)", True),
    ("GET", "", True),
    ("GET", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko)", False),  # Apple Mail itself, the message opened
    ("GET", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/126.0 Safari/537.36", False),
    ("GET", "Mozilla/5.0 (via ggpht.com GoogleImageProxy)", False),  # Gmail, on open
    ("GET", "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328)", False),
])
def test_machines_are_told_from_people(method: str, agent: str, machine: bool):
    assert (machine_reason(method, agent) is not None) is machine


def test_a_burst_on_every_link_is_a_machine_and_a_persons_click_is_not():
    links = ["https://a.example/", "https://b.example/", "https://c.example/"]
    scan = [Click(url, T0 + timedelta(milliseconds=300 * i)) for i, url in enumerate(links)]
    person = [Click(links[1], T0 + timedelta(minutes=5))]
    assert burst_clicks(scan + person, len(links)) == {0, 1, 2}
    slow = [Click(url, T0 + timedelta(seconds=3 * i)) for i, url in enumerate(links)]
    assert burst_clicks(slow, len(links)) == set()
    assert burst_clicks([Click(links[0], T0)], 1) == set()  # one link: never a burst
