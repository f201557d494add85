"""Mail that is personal, legal and lands, through the whole pipeline on real services:
merge fields, one-click unsubscribe, suppression at scheduling and at send time, bounce
classes (hard, policy, sender deferral) and a batch that pauses itself for bounces."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import strict
from typing import Any

import pytest
import requests
import sqlalchemy

from tests.support.smtp_sinks import RecordingSink, always, per_message
from tests.support.stack import Api, Pipeline, Services, prepare, wait_until

pytestmark = pytest.mark.integration
MakePipeline = Callable[..., tuple[Pipeline, Api]]
PUBLIC_URL = "https://unsubscribe.test"


@pytest.fixture
def make_pipeline(services: Services, sink: RecordingSink) -> Iterator[MakePipeline]:
    started: list[Pipeline] = []

    def make(pollers: int = 2, **overrides: Any) -> tuple[Pipeline, Api]:
        settings = {"SMTP_PORT": sink.port, "PUBLIC_URL": PUBLIC_URL, **overrides}
        container = prepare(services.settings(**settings))
        pipeline = Pipeline(container, pollers=pollers).start()
        started.append(pipeline)
        return pipeline, Api(pipeline.url)

    yield make
    for pipeline in started:
        pipeline.close()
        pipeline.container.close()


def batch(recipients: list[Any], *, subject: str = "Hello", body: str = "<p>Hi</p>",
          start: datetime | None = None, delay_ms: int = 0) -> dict[str, Any]:
    return {"subject": subject, "body": body, "recipients": recipients,
            "startTime": (start or datetime.now(UTC)).isoformat(), "delayMs": delay_ms,
            "hourlyLimit": 1000, "sender": {"email": "sales@example.com", "name": "Zoë Sales"}}


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=strict)
    assert isinstance(message, EmailMessage)
    return message


def html_of(message: EmailMessage) -> str:
    return next(p for p in message.iter_parts() if p.get_content_type() == "text/html") \
        .get_content()


def assert_strictly_well_formed(message: EmailMessage) -> None:
    assert not message.defects
    assert len(message.get_all("Message-ID") or []) == 1
    assert message["Date"].datetime is not None
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(rf"<{re.escape(PUBLIC_URL)}/u/[\w-]{{22}}\.[\w-]{{22}}>",
                        message["List-Unsubscribe"])


def unsubscribe_link(api: Api, message: EmailMessage) -> str:
    """The List-Unsubscribe URL, pointed at the test's API instead of PUBLIC_URL."""
    return message["List-Unsubscribe"].strip("<>").replace(PUBLIC_URL, api.base_url)


def rows(api: Api, path: str = "/emails/sent") -> list[dict[str, Any]]:
    return list(api.get(path, limit=100).json()["emails"])


def db_rows(services_url: str, sql: str) -> list[Any]:
    engine = sqlalchemy.create_engine(services_url)
    try:
        with engine.connect() as connection:
            return list(connection.exec_driver_sql(sql).all())
    finally:
        engine.dispose()


def test_four_recipients_get_their_own_subject_and_body_with_a_field_escaped(make_pipeline,
                                                                              sink):
    _, api = make_pipeline()
    recipients = [
        {"email": "ann@example.com", "fields": {"first_name": "Ann", "company": "Acme"}},
        {"email": "bob@example.com", "fields": {"first_name": "<script>alert(1)</script>"}},
        {"email": "zoe@example.com", "fields": {"first_name": "Zoë", "company": "Bücher"}},
        {"email": "dan@example.com", "fields": {"first_name": "Dan", "company": "Dunder"}}]
    answer = api.post("/emails/schedule", batch(
        recipients, subject="Grüße, {{ first_name }}",
        body="<p>Hello {{ first_name }} at {{ company | default('your company') }}</p>"))
    assert answer.status_code == 201, answer.text
    messages = {m.to[0]: parsed(m.raw) for m in sink.wait_for(4, timeout=30)}
    for message in messages.values():
        assert_strictly_well_formed(message)
        assert message["From"].addresses[0].display_name == "Zoë Sales"
    assert messages["ann@example.com"]["Subject"] == "Grüße, Ann"
    assert "Hello Ann at Acme" in html_of(messages["ann@example.com"])
    assert messages["zoe@example.com"]["Subject"] == "Grüße, Zoë"
    bob = html_of(messages["bob@example.com"])
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt; at your company" in bob
    assert "<script>" not in bob
    text = next(messages["dan@example.com"].iter_parts()).get_content()
    assert "Hello Dan at Dunder" in text and "Unsubscribe (" in text  # the footer's target
    assert len({m["Message-ID"] for m in messages.values()}) == 4
    assert all(m["Message-ID"].endswith("@example.com>") for m in messages.values())


def test_a_missing_field_and_a_broken_template_are_400s_and_nothing_is_stored(make_pipeline,
                                                                               services):
    _, api = make_pipeline()
    missing = api.post("/emails/schedule", batch(
        ["plain@example.com", {"email": "ann@example.com", "fields": {"first_name": "Ann"}}],
        body="<p>Hello {{ first_name }}</p>"))
    assert missing.status_code == 400
    assert missing.json()["error"]["details"][0]["field"] == "recipients[0]"
    broken = api.post("/emails/schedule", batch(["a@example.com"],
                                                body="<p>line one</p>\n{{ first_name "))
    assert broken.status_code == 400
    detail = broken.json()["error"]["details"][0]
    assert detail["field"] == "body" and detail["line"] == 2
    assert db_rows(services.database_url, "SELECT count(*) FROM emails")[0][0] == 0


def test_one_click_unsubscribes_and_the_next_batch_drops_the_address(make_pipeline, sink):
    _, api = make_pipeline()
    api.post("/emails/schedule", batch(["lead@example.com"]))
    [received] = sink.wait_for(1, timeout=30)
    link = unsubscribe_link(api, parsed(received.raw))
    assert requests.get(link, timeout=10).status_code == 200  # the page alone changes nothing
    assert api.get("/suppressions").json()["suppressions"] == []
    for _ in range(2):
        answer = requests.post(link, data={"List-Unsubscribe": "One-Click"},
                               allow_redirects=False, timeout=10)
        assert answer.status_code == 200
    altered = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    assert requests.post(altered, data={"List-Unsubscribe": "One-Click"},
                         timeout=10).status_code == 404
    [listed] = api.get("/suppressions").json()["suppressions"]
    assert (listed["email"], listed["reason"]) == ("lead@example.com", "unsubscribed")
    assert api.get("/batches").json()["batches"][0]["counts"]["unsubscribed"] == 1
    again = api.post("/emails/schedule", batch(["Lead@Example.com", "new@example.com"])).json()
    assert again["suppressedRemoved"] == 1 and again["emailCount"] == 1


def test_an_address_suppressed_after_scheduling_is_not_sent(make_pipeline, sink):
    _, api = make_pipeline()
    start = datetime.now(UTC) + timedelta(seconds=3)
    api.post("/emails/schedule", batch(["late@example.com", "kept@example.com"], start=start))
    assert api.post("/suppressions", {"emails": ["late@example.com"]}).status_code == 201
    sink.wait_for(1, timeout=30)

    def settled() -> dict[str, str]:
        found = {r["recipientEmail"]: r["status"] for r in rows(api, "/emails/scheduled")}
        found.update({r["recipientEmail"]: r["status"] for r in rows(api)})
        batch_view = api.get("/batches").json()["batches"][0]
        return found if batch_view["counts"].get("suppressed") == 1 else {}

    wait_until(settled, 20)
    time.sleep(1)
    assert [m.to for m in sink.messages] == [("kept@example.com",)]


def test_a_hard_bounce_suppresses_and_a_policy_block_only_fails(make_pipeline, sink, services):
    replies = {"gone@example.com": "550 5.1.1 no such user",
               "blocked@example.com": "550 5.7.1 message refused by policy"}
    sink.rcpt_script = lambda address: replies.get(address)
    _, api = make_pipeline()
    api.post("/emails/schedule", batch([*replies, "ok@example.com"]))
    outcome = wait_until(lambda: (lambda found: found if len(found) == 3 else None)(
        {r["recipientEmail"]: r for r in rows(api) if r["status"] in ("sent", "failed")}), 30)
    assert outcome["gone@example.com"]["status"] == "failed"
    assert outcome["gone@example.com"]["failureReason"] == "550 5.1.1 no such user"
    assert outcome["blocked@example.com"]["status"] == "failed"
    assert outcome["ok@example.com"]["status"] == "sent"
    listed = {s["email"]: s["reason"] for s in api.get("/suppressions").json()["suppressions"]}
    assert listed == {"gone@example.com": "hard_bounce"}
    [(blocks,)] = db_rows(services.database_url, "SELECT policy_blocks FROM senders")
    assert blocks == 1


def test_a_sender_deferral_holds_the_email_without_using_its_attempts(make_pipeline, sink):
    sink.script = per_message("421 4.7.0 too many messages, try again later")
    _, api = make_pipeline(SENDER_DEFERRAL_SECONDS=2, MAX_SEND_ATTEMPTS=1)
    began = time.time()
    api.post("/emails/schedule", batch(["patient@example.com"]))
    [received] = sink.wait_for(1, timeout=30)
    assert received.received_at - began >= 2  # not before the deferral ended
    row = wait_until(lambda: [r for r in rows(api) if r["status"] == "sent"], 10)[0]
    assert row["attempts"] == 1 and sink.data_attempts == 2


def test_an_email_deferred_past_the_maximum_fails_with_the_reply_instead_of_waiting_for_ever(
        make_pipeline, sink):
    sink.script = always("421 4.7.0 too many messages, try again later")
    # 1 s deferrals, and at most 0.001 h (3.6 s) past the due time.
    _, api = make_pipeline(SENDER_DEFERRAL_SECONDS=1, SENDER_DEFERRAL_MAX_HOURS=0.001)
    began = time.time()
    api.post("/emails/schedule", batch(["deferred@example.com"]))
    row = wait_until(lambda: [r for r in rows(api) if r["status"] == "failed"], 30)[0]
    assert time.time() - began >= 3.6
    assert row["failureReason"].startswith("421 4.7.0 too many messages")
    assert "SENDER_DEFERRAL_MAX_HOURS" in row["failureReason"]
    assert sink.messages == [] and sink.data_attempts >= 2  # deferred, tried again, failed


def test_a_batch_with_six_hard_bounces_in_its_first_twenty_sends_pauses_itself(make_pipeline,
                                                                                 sink):
    bouncing = {f"r{i:02d}@example.com" for i in range(14, 20)}
    sink.rcpt_script = lambda address: "550 5.1.1 user unknown" if address in bouncing else None
    _, api = make_pipeline(pollers=1)
    recipients = [f"r{i:02d}@example.com" for i in range(40)]
    batch_id = api.post("/emails/schedule", batch(recipients, delay_ms=150)).json()["batchId"]
    paused = wait_until(lambda: (lambda b: b if b["status"] == "paused" else None)(
        api.get(f"/batches/{batch_id}").json()), 40)
    assert paused["pausedReason"] == "bounce_rate"
    assert paused["counts"]["bounced"] == len(bouncing)
    time.sleep(1.5)
    assert len(sink.messages) < 40 - len(bouncing)
    assert paused["counts"]["paused"] > 0
