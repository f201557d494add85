"""Webhooks end to end (issue 28): emails sent through the real pipeline reach a receiver on
loopback, every attempt verified with the Standard Webhooks reference library; retries
keep the webhook-id; 410 disables; the test event and replays; SSRF refusals."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy

from emailsched.adapters.db.events import recorded
from emailsched.adapters.webhook_http import WebhookClient
from emailsched.domain.events import Actor
from emailsched.services.webhook_dispatch import run_forever
from tests.support.smtp_sinks import RecordingSink
from tests.support.stack import Api, Pipeline, Services, prepare, wait_until
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.integration


class Stack:
    def __init__(self, pipeline: Pipeline):
        self.pipeline, self.api = pipeline, Api(pipeline.url)
        self.stop = threading.Event()

    def dispatch(self) -> None:
        dispatcher = self.pipeline.container.webhook_dispatcher
        threading.Thread(target=run_forever, args=(dispatcher, 0.1, self.stop),
                         daemon=True).start()

    def subscribe(self, receiver: Receiver, events: list[str]) -> dict[str, Any]:
        created = self.api.post("/webhooks", {"url": receiver.url, "events": events,
                                              "description": "test receiver"})
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        return dict(created.json())


@pytest.fixture
def stack(services: Services, sink: RecordingSink) -> Iterator[Stack]:
    container = prepare(services.settings(
        SMTP_PORT=sink.port, WEBHOOK_ALLOWED_HOSTS="127.0.0.1", WEBHOOK_RETRY_SECONDS="1,1,1"))
    pipeline = Pipeline(container, pollers=2).start()
    started = Stack(pipeline)
    yield started
    started.stop.set()
    pipeline.close()
    container.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    # Each event's first attempt fails with 500; the retry is accepted.
    started = Receiver(answer=lambda webhook_id, attempt: 500 if attempt == 1 else 200).start()
    yield started
    started.close()


def test_five_sent_emails_are_delivered_after_a_failed_first_attempt_each(
        stack: Stack, receiver: Receiver, sink: RecordingSink):
    endpoint = stack.subscribe(receiver, ["email.sent"])
    assert endpoint["secret"].startswith("whsec_") and endpoint["status"] == "enabled"
    stack.dispatch()
    recipients = [f"lead{i}@example.com" for i in range(5)]
    scheduled = stack.api.post("/emails/schedule", {
        "subject": "Hi", "body": "<p>Hello</p>", "recipients": recipients,
        "startTime": datetime.now(UTC).isoformat(), "delayMs": 0, "hourlyLimit": 1000,
        "sender": {"email": "sales@example.com", "name": "Sales"}})
    assert scheduled.status_code == 201, scheduled.text
    sink.wait_for(5, timeout=60)
    wait_until(lambda: len(receiver.delivered_ids()) == 5, timeout=60)

    bodies = {}
    for webhook_id in receiver.delivered_ids():
        attempts = receiver.attempts(webhook_id)
        assert [a.status for a in attempts] == [500, 200]
        assert all(a.verified for a in attempts), "a delivery did not verify"
        assert attempts[0].body == attempts[1].body
        bodies[webhook_id] = json.loads(attempts[1].body)
    assert {b["type"] for b in bodies.values()} == {"email.sent"}
    assert sorted(b["data"]["recipient"] for b in bodies.values()) == recipients
    assert {b["data"]["batchId"] for b in bodies.values()} == {scheduled.json()["batchId"]}

    # The dispatcher records answers in rounds (every 50 ms): the receiver may have the
    # last attempt before the log does.
    log = wait_until(lambda: (found := stack.api.get(
        f"/webhooks/{endpoint['id']}/deliveries", limit=20).json())["pagination"]["total"]
        == 10 and found, timeout=10)
    first = [d for d in log["deliveries"] if d["attempt"] == 1]
    assert {d["statusCode"] for d in first} == {500}
    assert all(d["nextAttemptAt"] for d in first)


def test_the_test_event_410_disables_re_enable_and_replay_with_the_same_id(
        stack: Stack):
    gone = {"on": True}
    receiver = Receiver(answer=lambda webhook_id, attempt: 410 if gone["on"] else 204).start()
    try:
        endpoint = stack.subscribe(receiver, ["email.failed"])
        stack.dispatch()
        tested = stack.api.post(f"/webhooks/{endpoint['id']}/test")
        assert tested.status_code == 202, tested.text
        event_id = tested.json()["eventId"]
        wait_until(lambda: stack.api.get(f"/webhooks/{endpoint['id']}").json()["status"]
                   == "disabled", timeout=30)
        disabled = stack.api.get(f"/webhooks/{endpoint['id']}").json()
        assert "410" in disabled["disabledReason"]
        assert [a.webhook_id for a in receiver.received] == [event_id]
        assert json.loads(receiver.received[0].body)["type"] == "webhook.test"
        assert receiver.received[0].verified

        gone["on"] = False
        enabled = stack.api.session.patch(f"{stack.pipeline.url}/webhooks/{endpoint['id']}",
                                          json={"status": "enabled"})
        assert enabled.status_code == 200 and enabled.json()["disabledReason"] is None
        replayed = stack.api.post(f"/webhooks/{endpoint['id']}/events/{event_id}/replay")
        assert replayed.status_code == 202, replayed.text
        wait_until(lambda: receiver.delivered_ids() == {event_id}, timeout=30)
        assert all(r.verified for r in receiver.received)
        secret = stack.api.get(f"/webhooks/{endpoint['id']}/secret").json()["secret"]
        assert secret == receiver.secret
    finally:
        receiver.close()


@pytest.mark.parametrize("url", [
    "https://169.254.169.254/hook", "https://10.1.2.3/hook", "https://localhost/hook",
    "https://[::1]/hook", "https://0x7f000001/hook", "http://example.com/hook",
])
def test_private_reserved_and_plain_http_urls_are_refused_at_creation(stack: Stack, url: str):
    answer = stack.api.post("/webhooks", {"url": url, "events": ["email.sent"]})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "url"
    assert stack.api.get("/webhooks").json()["webhooks"] == []


def test_a_host_whose_dns_turns_private_is_refused_at_delivery(stack: Stack):
    receiver = Receiver().start()
    answers = {"hooks.test": ["93.184.215.14"]}
    container = stack.pipeline.container
    container.__dict__["webhook_client"] = WebhookClient(
        frozenset(), resolver=lambda host, port: answers.get(host, []))
    container.__dict__.pop("webhooks", None)
    container.__dict__.pop("webhook_dispatcher", None)
    try:
        created = stack.api.post("/webhooks", {"url": "https://hooks.test/in",
                                               "events": ["email.sent"]})
        assert created.status_code == 201, created.text
        answers["hooks.test"] = ["127.0.0.1"]  # rebinding: now the machine itself
        stack.dispatch()
        endpoint = created.json()["id"]
        assert stack.api.post(f"/webhooks/{endpoint}/test").status_code == 202
        log = wait_until(lambda: stack.api.get(f"/webhooks/{endpoint}/deliveries")
                         .json()["deliveries"], timeout=30)
        assert log[0]["statusCode"] is None and "private" in log[0]["error"]
        assert receiver.received == []
    finally:
        receiver.close()


def test_another_users_webhook_is_not_found_and_events_are_checked(stack: Stack):
    receiver = Receiver().start()
    try:
        mine = stack.subscribe(receiver, ["reply.received"])
        bob = Api(stack.pipeline.url, email="bob@example.com")
        assert bob.get(f"/webhooks/{mine['id']}").status_code == 404
        assert bob.post(f"/webhooks/{mine['id']}/test").status_code == 404
        bad = stack.api.post("/webhooks", {"url": receiver.url, "events": ["email.nope"]})
        assert bad.status_code == 400
        assert bad.json()["error"]["details"][0]["field"] == "events"
        listed = stack.api.get("/webhooks").json()["webhooks"]
        assert [w["id"] for w in listed] == [mine["id"]] and "secret" not in listed[0]
        assert stack.api.session.delete(
            f"{stack.pipeline.url}/webhooks/{mine['id']}").status_code == 204
        assert stack.api.get(f"/webhooks/{mine['id']}").status_code == 404
    finally:
        receiver.close()




def test_a_sender_turning_failing_is_delivered_once(stack: Stack):
    receiver = Receiver().start()
    try:
        stack.subscribe(receiver, ["sender.failing"])
        stack.dispatch()
        engine = sqlalchemy.create_engine(stack.pipeline.container.settings.DATABASE_URL)
        with engine.begin() as c:
            sender = c.execute(sqlalchemy.text(
                "INSERT INTO senders (user_id, email) VALUES (:u, 'out@example.com') "
                "RETURNING id"), {"u": stack.api.user["id"]}).scalar_one()
            for failures in (1, 2, 3):  # failing from the third; still failing after
                c.execute(sqlalchemy.text(
                    "UPDATE senders SET consecutive_failures = :n, last_error = '535 no', "
                    "status = CASE WHEN :n >= 2 THEN 'failing' ELSE 'active' END "
                    "WHERE id = :id"), {"n": failures, "id": sender})
        engine.dispose()
        wait_until(lambda: receiver.delivered_ids(), timeout=30)
        time.sleep(1)  # nothing more comes
        (only,) = receiver.received
        body = json.loads(only.body)
        assert only.verified and body["type"] == "sender.failing"
        assert body["data"] == {"senderId": str(sender), "email": "out@example.com",
                                "lastError": "535 no", "consecutiveFailures": 2}
    finally:
        receiver.close()


def test_a_failure_and_a_reply_reach_their_subscribers_with_the_email(stack: Stack):
    """The chain from a change of status: the statement that fails an email writes its event
    (adapters/db/events.recorded, as RECORD_OUTCOME does), and migration 0017's trigger turns
    it into an outbox row for each subscribed endpoint, in that transaction."""
    failures, replies = Receiver().start(), Receiver().start()
    try:
        stack.subscribe(failures, ["email.failed"])
        stack.subscribe(replies, ["reply.received", "email.sent"])
        scheduled = stack.api.post("/emails/schedule", {
            "subject": "Later", "body": "<p>Hi</p>",
            "recipients": ["f@example.com", "r@example.com"],
            "startTime": (datetime.now(UTC) + timedelta(days=30)).isoformat(), "delayMs": 0,
            "hourlyLimit": 10,
            "sender": {"email": "sales@example.com", "name": "Sales"}})
        assert scheduled.status_code == 201, scheduled.text
        engine = sqlalchemy.create_engine(stack.pipeline.container.settings.DATABASE_URL)
        with engine.begin() as c:
            c.execute(sqlalchemy.text(recorded(
                "UPDATE emails SET status = 'failed', failure_reason = '550 5.1.1 unknown' "
                "WHERE recipient_email = 'f@example.com' "
                "RETURNING id, user_id, batch_id, failure_reason",
                "'failed'", Actor.WORKER, "failure_reason")))
            c.execute(sqlalchemy.text(
                "INSERT INTO email_events (email_id, user_id, batch_id, type, by) "
                "SELECT id, user_id, batch_id, 'reply_received', 'poller' FROM emails "
                "WHERE recipient_email = 'r@example.com'"))
        engine.dispose()
        stack.dispatch()
        wait_until(lambda: failures.delivered_ids() and replies.delivered_ids(), timeout=30)
        time.sleep(1)
        (failed,), (replied,) = failures.received, replies.received
        failed_body, replied_body = json.loads(failed.body), json.loads(replied.body)
        assert failed.verified and replied.verified
        assert failed_body["type"] == "email.failed"
        assert failed_body["data"]["recipient"] == "f@example.com"
        assert failed_body["data"]["detail"] == {"reason": "550 5.1.1 unknown"}
        assert failed_body["data"]["batchId"] == scheduled.json()["batchId"]
        assert replied_body["type"] == "reply.received"
        assert replied_body["data"]["recipient"] == "r@example.com"
        assert replied_body["data"]["by"] == "poller"
    finally:
        failures.close()
        replies.close()
