"""Email events end to end (issue 23): a batch paused, resumed, with a recipient suppressed
after scheduling, then sent; each email's events through GET /emails and GET /emails/{id}."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.smtp_sinks import RecordingSink, per_message
from tests.support.stack import Api, Pipeline, Services, prepare, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def pipeline(services: Services, sink: RecordingSink) -> Iterator[Pipeline]:
    container = prepare(services.settings(SMTP_PORT=sink.port))
    started = Pipeline(container, pollers=2).start()
    yield started
    started.close()
    container.close()


def _events(api: Api, email_id: str) -> list[dict[str, Any]]:
    answer = api.get(f"/emails/{email_id}")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["events"])


def test_a_paused_resumed_batch_shows_each_change_once_and_the_suppressed_one_never_sent(
        pipeline: Pipeline, sink: RecordingSink):
    api = Api(pipeline.url)
    recipients = [f"lead{i}@example.com" for i in range(5)]
    start = datetime.now(UTC) + timedelta(seconds=4)
    scheduled = api.post("/emails/schedule", {
        "subject": "Hi", "body": "<p>Hello</p>", "recipients": recipients,
        "startTime": start.isoformat(), "delayMs": 200, "hourlyLimit": 1000,
        "sender": {"email": "sales@example.com", "name": "Sales"}})
    assert scheduled.status_code == 201, scheduled.text
    batch_id = scheduled.json()["batchId"]
    assert api.post(f"/batches/{batch_id}/pause").status_code == 200
    assert api.post("/suppressions", {"emails": ["lead2@example.com"]}).status_code == 201
    assert api.post(f"/batches/{batch_id}/resume").status_code == 200

    sink.wait_for(4, timeout=60)
    wait_until(lambda: api.get("/emails", batchId=batch_id, status="sent,suppressed")
               .json()["pagination"]["total"] == 5, timeout=30)

    listed = api.get("/emails", batchId=batch_id, limit=10).json()["emails"]
    assert sorted(e["recipientEmail"] for e in listed) == recipients
    by_recipient = {e["recipientEmail"]: e for e in listed}
    assert by_recipient["lead2@example.com"]["status"] == "suppressed"
    delivered = sorted(m.to[0] for m in sink.messages)
    assert delivered == [r for r in recipients if r != "lead2@example.com"]

    for recipient, email in by_recipient.items():
        events = _events(api, email["id"])
        types = [event["type"] for event in events]
        assert [event["at"] for event in events] == sorted(event["at"] for event in events)
        assert len(types) == len(set(types)), types  # none twice
        assert types[:3] == ["scheduled", "paused", "resumed"], types
        assert [e["by"] for e in events[:3]] == ["api", "user", "user"]
        if recipient == "lead2@example.com":
            assert types[-1] == "suppressed" and "sent" not in types, types
            assert events[-1]["by"] == "worker"
        else:
            assert types[-1] == "sent", types
            assert email["sentTime"] == events[-1]["at"]


def test_another_users_email_is_not_found_and_filters_are_checked(pipeline: Pipeline):
    alice, bob = Api(pipeline.url), Api(pipeline.url, email="bob@example.com")
    scheduled = alice.post("/emails/schedule", {
        "subject": "Hi", "body": "<p>Hello</p>", "recipients": ["x@example.com"],
        "startTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "delayMs": 0,
        "hourlyLimit": 10, "sender": {"email": "sales@example.com", "name": "Sales"}})
    email = alice.get("/emails", batchId=scheduled.json()["batchId"]).json()["emails"][0]
    assert email["leadStatus"] == "new" and email["sentTime"] is None
    assert bob.get(f"/emails/{email['id']}").status_code == 404
    assert bob.get("/emails").json()["pagination"]["total"] == 0
    assert alice.get("/emails/not-a-uuid").status_code == 404
    assert alice.get("/emails", recipient="X@Example.com").json()["emails"][0]["id"] == email["id"]
    bad = alice.get("/emails", status="lost")
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"].startswith(
        "status")
    assert alice.get("/emails", batchId="nope").status_code == 400
    events = _events(alice, email["id"])
    assert [e["type"] for e in events] == ["scheduled"]


def test_a_retried_email_and_a_refused_one_show_why_in_their_events(
        pipeline: Pipeline, sink: RecordingSink):
    api = Api(pipeline.url)
    sink.script = per_message("451 4.3.0 try again later", "550 5.1.1 no such user here")
    scheduled = api.post("/emails/schedule", {
        "subject": "Hi", "body": "<p>Hello</p>", "recipients": ["gone@example.com"],
        "startTime": datetime.now(UTC).isoformat(), "delayMs": 0, "hourlyLimit": 100,
        "sender": {"email": "sales@example.com", "name": "Sales"}})
    batch_id = scheduled.json()["batchId"]
    email = wait_until(lambda: next(iter(api.get(
        "/emails", batchId=batch_id, status="failed").json()["emails"]), None), timeout=60)
    events = _events(api, email["id"])
    assert [e["type"] for e in events] == ["scheduled", "retry", "failed"], events
    assert "451" in events[1]["detail"]["reason"] and "550" in events[2]["detail"]["reason"]
    assert all(e["by"] == "worker" for e in events[1:])
