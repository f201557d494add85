"""Open and click tracking end to end (issue 27): a tracked batch sent, its pixel fetched by
Apple's prefetch and by a mail client, a HEAD on a link, a scanner's burst on every link of
one email and one person's click; the analytics tell people from machines, the redirect
lands exactly on the original URL, and altered tokens are a 404 and still the gif."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import text

from emailsched import bootstrap
from tests.support.smtp_sinks import RecordingSink
from tests.support.stack import Api, Pipeline, Services, prepare, wait_until

pytestmark = pytest.mark.integration

LINK_A = "https://example.com/offer?x=1&y=%20two#part"
LINK_B = "https://example.org/b"
BODY = (f'<p>Hello, see <a href="{LINK_A.replace("&", "&amp;")}">the offer</a> '
        f"and <a href='{LINK_B}'>more</a>.</p>")
APPLE_PREFETCH = "Mozilla/5.0"
MAIL_CLIENT = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko)")
BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0 Safari/537.36")


@pytest.fixture
def pipeline(services: Services, sink: RecordingSink, tmp_path: Path) -> Iterator[Pipeline]:
    container = prepare(services.settings(SMTP_PORT=sink.port,
                                          TRACKING_WAL_DIR=str(tmp_path / "hits"),
                                          TRACKING_FLUSH_SECONDS=0.2))
    started = Pipeline(container, pollers=2).start()
    yield started
    started.close()
    container.close()


def _parts(raw: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, html


def _local(url: str, base: str) -> str:
    """A tracking URL (PUBLIC_URL's host) on the test's own API server."""
    return base + urlsplit(url).path


def _tracking_urls(html: str, base: str) -> tuple[str, list[str]]:
    pixel = re.search(r'<img src="([^"]+/t/o/[^"]+\.gif)"', html)
    assert pixel is not None, html
    clicks = re.findall(r'href="([^"]+/t/c/[^"]+)"', html)
    return _local(pixel.group(1), base), [_local(url, base) for url in clicks]


def _analytics(api: Api, batch_id: str) -> dict[str, Any]:
    answer = api.get(f"/batches/{batch_id}/analytics")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_people_and_machines_apart_and_exact_redirects(pipeline: Pipeline,
                                                       sink: RecordingSink):
    api = Api(pipeline.url)
    scheduled = api.post("/emails/schedule", {
        "subject": "Hi", "body": BODY, "recipients": ["one@example.com", "two@example.com"],
        "startTime": datetime.now(UTC).isoformat(), "delayMs": 100, "hourlyLimit": 1000,
        "sender": {"email": "sales@example.com", "name": "Sales"},
        "tracking": {"opens": True, "clicks": True}})
    assert scheduled.status_code == 201, scheduled.text
    batch_id = scheduled.json()["batchId"]
    by_recipient = {m.to[0]: _parts(m.raw) for m in sink.wait_for(2, timeout=60)}

    text_one, html_one = by_recipient["one@example.com"]
    assert LINK_A in text_one and "/t/c/" not in text_one  # the text part keeps the links
    pixel, (click_a, _) = _tracking_urls(html_one, pipeline.url)
    _, (burst_a, burst_b) = _tracking_urls(by_recipient["two@example.com"][1], pipeline.url)

    http = requests.Session()
    for agent, accept in ((APPLE_PREFETCH, None), (MAIL_CLIENT, "image/*")):
        got = http.get(pixel, headers={"User-Agent": agent, "Accept": accept}, timeout=10)
        assert (got.status_code, got.headers["Content-Type"]) == (200, "image/gif")
        assert got.headers["Cache-Control"] == "no-store" and got.content.startswith(b"GIF89a")
    scanned = http.head(click_a, headers={"User-Agent": BROWSER}, allow_redirects=False)
    assert (scanned.status_code, scanned.headers["Location"]) == (302, LINK_A)
    for url, link in ((burst_a, LINK_A), (burst_b, LINK_B)):  # every link of email two
        burst = http.get(url, headers={"User-Agent": BROWSER}, allow_redirects=False,
                         timeout=10)
        assert (burst.status_code, burst.headers["Location"]) == (302, link)
    person = http.get(click_a, headers={"User-Agent": BROWSER}, allow_redirects=False,
                      timeout=10)
    assert (person.status_code, person.headers["Location"]) == (302, LINK_A)

    altered_click = click_a[:-3] + ("AAA" if not click_a.endswith("AAA") else "BBB")
    assert http.get(altered_click, allow_redirects=False, timeout=10).status_code == 404
    altered_pixel = pixel.replace(".gif", "x.gif")
    got = http.get(altered_pixel, timeout=10)
    assert (got.status_code, got.headers["Content-Type"]) == (200, "image/gif")

    def settled() -> dict[str, Any] | None:
        shown = _analytics(api, batch_id)
        return shown if shown["machine"] == {"opens": 1, "clicks": 3} else None

    shown = wait_until(settled, timeout=20)
    assert (shown["sent"], shown["opened"], shown["clicked"]) == (2, 1, 1)
    assert (shown["openRate"], shown["clickRate"]) == (0.5, 0.5)
    assert shown["byStep"][0]["step"] == 1 and shown["byStep"][0]["opened"] == 1
    assert len(shown["bySender"]) == 1 and shown["byVariant"] == []
    overall = api.get("/analytics", **{"from": (datetime.now(UTC) - timedelta(days=1))
                                       .date().isoformat()}).json()
    assert (overall["sent"], overall["opened"], overall["clicked"]) == (2, 1, 1)
    assert [day["sent"] for day in overall["perDay"]] == [2]
    _a_replayed_hit_is_not_stored_twice(pipeline)


def _a_replayed_hit_is_not_stored_twice(pipeline: Pipeline) -> None:
    """A flusher killed between storing a file and deleting it replays it at the next
    start: each hit carries its id, and one already stored is skipped."""
    count = text("SELECT count(*) FROM email_events WHERE type IN ('opened', 'clicked')")
    with pipeline.container.engine.begin() as connection:
        row = connection.execute(text(
            "SELECT email_id, type, at, detail FROM email_events WHERE type = 'opened' "
            "LIMIT 1")).one()
        before = connection.execute(count).scalar_one()
    detail = dict(row.detail)
    replayed = {"hit": detail.pop("hit"), "emailId": str(row.email_id), "type": row.type,
                "at": row.at.isoformat(), "detail": detail}
    pipeline.container.hits.write([replayed, replayed])
    with pipeline.container.engine.begin() as connection:
        assert connection.execute(count).scalar_one() == before


def test_click_tracking_without_a_link_is_refused_and_stores_nothing(pipeline: Pipeline):
    api = Api(pipeline.url)
    refused = api.post("/emails/schedule", {
        "subject": "Hi", "body": "<p>No link here</p>", "recipients": ["one@example.com"],
        "startTime": datetime.now(UTC).isoformat(), "delayMs": 100,
        "sender": {"email": "sales@example.com"}, "tracking": {"clicks": True}})
    assert refused.status_code == 400, refused.text
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["tracking.clicks"]
    assert api.get("/batches").json()["pagination"]["total"] == 0


def test_on_lambda_a_hit_is_stored_before_the_answer(pipeline: Pipeline, sink: RecordingSink,
                                                     monkeypatch: pytest.MonkeyPatch):
    api = Api(pipeline.url)
    scheduled = api.post("/emails/schedule", {
        "subject": "Hi", "body": BODY, "recipients": ["one@example.com"],
        "startTime": datetime.now(UTC).isoformat(), "delayMs": 100,
        "sender": {"email": "sales@example.com"}, "tracking": {"opens": True}})
    assert scheduled.status_code == 201, scheduled.text
    _, html = _parts(sink.wait_for(1, timeout=60)[0].raw)
    token = re.search(r"/t/o/([^\"]+)\.gif", html).group(1)  # type: ignore[union-attr]

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "emailsched-test-api")
    on_lambda = bootstrap.Container(pipeline.container.settings)
    try:
        assert on_lambda.tracking.opened(token, "GET", MAIL_CLIENT)
        assert "hit_log" not in on_lambda.__dict__  # no write-ahead file, no flusher
        shown = _analytics(api, scheduled.json()["batchId"])
        assert (shown["sent"], shown["opened"]) == (1, 1)
    finally:
        on_lambda.close()
