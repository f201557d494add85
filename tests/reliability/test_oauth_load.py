"""Scenario: 50 mailboxes connected by OAuth send 20 emails each through 4 worker processes
with 10-second access tokens, into an SMTP server that takes only AUTH XOAUTH2 with a token
the provider holds live. Every send authenticated, no email twice or lost, and each sender's
token refreshed at most once per expiry whatever the number of workers (a refresh no sooner
than the reuse time, 9 s, after that sender's previous one)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import requests

from emailsched.domain.oauth import reuse_seconds
from tests.reliability.stack import schedule
from tests.support.oauth_provider import CLIENT_ID, CLIENT_SECRET, OAuthProvider
from tests.support.smtp_sinks import XOAuth2Sink
from tests.support.stack import TEST_CREDENTIALS_KEY, Api

pytestmark = pytest.mark.reliability

SENDERS, EACH, TOKEN_SECONDS = 50, 20, 10
DELAY_MS = 30  # 1,000 emails over 30 s: three expiries of each sender's token


def connect(api: Api, provider: OAuthProvider, mailbox: str) -> str:
    provider.mailbox = mailbox
    start = api.post("/senders/oauth/google/start").json()["authorizationUrl"]
    callback = requests.get(start, allow_redirects=False, timeout=10).headers["Location"]
    back = requests.get(callback, allow_redirects=False, timeout=60)
    assert back.status_code == 302 and "connected=" in back.headers["Location"], (
        back.headers.get("Location"))
    return back.headers["Location"].rsplit("connected=", 1)[1]


@pytest.mark.scenario("OAuth senders under load")
def test_fifty_oauth_senders_refresh_once_per_expiry_and_send_everything_once(figures,
                                                                              launch):
    provider = OAuthProvider(access_ttl=TOKEN_SECONDS).start()
    try:
        sink = XOAuth2Sink(provider.valid)
        endpoints = {"google": provider.endpoints(0)}  # the sink's port, once it listens
        sink.start()  # for a port of its own, kept when `launch` starts it again
        sink.stop()
        endpoints["google"]["smtpPort"] = sink.port
        scenario = launch("oauth-load", sink=sink, workers=4, concurrency=2, env={
            "CREDENTIALS_KEY": TEST_CREDENTIALS_KEY, "GOOGLE_OAUTH_CLIENT_ID": CLIENT_ID,
            "GOOGLE_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
            "OAUTH_PROVIDER_ENDPOINTS": json.dumps(endpoints)})
        api = scenario.api()
        mailboxes = [f"box{i:02d}@acme.example" for i in range(SENDERS)]
        ids = [connect(api, provider, m) for m in mailboxes]
        connected_at = time.time()
        start = datetime.now(UTC) + timedelta(seconds=2)
        recipients = [f"person{i:04d}@example.com" for i in range(SENDERS * EACH)]
        schedule(api, {"subject": "Hello", "body": "<p>Hi</p>", "recipients": recipients,
                       "startTime": start.isoformat(), "delayMs": DELAY_MS,
                       "hourlyLimit": 100_000, "senderIds": ids})
        outcome = scenario.settle(SENDERS * EACH, timeout=240)
    finally:
        provider.stop()

    gaps = _refresh_gaps(provider, mailboxes)
    span = time.time() - connected_at
    figures.outcome(outcome, refreshes=provider.refresh_count(), logins=len(sink.logins),
                    refused_logins=sum(1 for *_, ok, _ in sink.logins if not ok),
                    shortest_gap_between_refreshes_s=round(min(gaps, default=0), 2))
    print(f"\n{SENDERS} senders x {EACH} emails, 4 workers, {TOKEN_SECONDS} s tokens: "
          f"{provider.refresh_count()} refreshes over {span:.0f} s "
          f"({len(sink.logins)} logins)")
    assert outcome.is_clean(), outcome.explain()
    assert outcome.sent == SENDERS * EACH and outcome.failed == 0, outcome.explain()
    assert all(ok for *_, ok, _ in sink.logins)
    # At most one refresh per sender per expiry: never two within the reuse time.
    assert min(gaps, default=reuse_seconds(TOKEN_SECONDS)) >= reuse_seconds(TOKEN_SECONDS) - 0.5
    assert provider.refresh_count() <= SENDERS * (span / reuse_seconds(TOKEN_SECONDS) + 1)


def _refresh_gaps(provider: OAuthProvider, mailboxes: list[str]) -> list[float]:
    gaps: list[float] = []
    for mailbox in mailboxes:
        times = sorted(at for who, at in provider.refreshes if who == mailbox)
        gaps += [later - earlier for earlier, later in pairwise(times)]
    return gaps
