"""The whole pipeline on real services: HTTP API -> Postgres ledger -> pump -> SQS (moto,
then LocalStack: `aws_services`) -> sender handler -> Redis limits -> SMTP sink. Time runs
on short windows and horizons."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.smtp_sinks import RecordingSink, always, per_message
from tests.support.stack import Api, Pipeline, Services, prepare, wait_until

pytestmark = pytest.mark.integration
MakePipeline = Callable[..., tuple[Pipeline, Api]]


@pytest.fixture
def make_pipeline(aws_services: Services, sink: RecordingSink) -> Iterator[MakePipeline]:
    started: list[Pipeline] = []

    def make(pollers: int = 2, **overrides: Any) -> tuple[Pipeline, Api]:
        container = prepare(aws_services.settings(SMTP_PORT=sink.port, **overrides))
        pipeline = Pipeline(container, pollers=pollers).start()
        started.append(pipeline)
        return pipeline, Api(pipeline.url)

    yield make
    for pipeline in started:
        pipeline.close()
        pipeline.container.close()


def at_next_window(window: int, lead: float = 0.5) -> datetime:
    """A start time just after the next window begins, so a test knows its windows."""
    now = time.time() + lead
    return datetime.fromtimestamp(now - now % window + window + 0.05, UTC)


def batch(recipients: list[str], start: datetime, *, delay_ms: int = 0, limit: int = 1000,
          sender: str = "sales@example.com", subject: str = "Hello") -> dict[str, Any]:
    return {"subject": subject, "body": "<p>Hello <b>there</b></p>", "recipients": recipients,
            "startTime": start.isoformat(), "delayMs": delay_ms, "hourlyLimit": limit,
            "sender": {"email": sender, "name": "Sales"}}


def per_window(sink: RecordingSink, window: int) -> Counter[tuple[str, int]]:
    return Counter((m.mail_from, int(m.received_at // window)) for m in sink.messages)


def sent_rows(api: Api, batch_id: str | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"limit": 100}
    if batch_id:
        params["batchId"] = batch_id
    return list(api.get("/emails/sent", **params).json()["emails"])


def test_fifty_emails_arrive_once_on_time_in_order_and_within_the_limit(make_pipeline, sink):
    # One poller: strict order is what one consumer guarantees. With two, a message that
    # moto hands over late (its long poll does not wake for a delay running out) can lose
    # the race for the sender's next gap to the next message, due 200 ms later (seen once
    # in a CI run: 35, 39, 36, 37, 38). Parallel pollers are the reliability suite's.
    _, api = make_pipeline(pollers=1, RATE_WINDOW_SECONDS=10, MIN_DELAY_BETWEEN_EMAILS_MS=100)
    recipients = [f"person{i:02d}@example.com" for i in range(50)]
    scheduled = api.post("/emails/schedule", batch(recipients, at_next_window(10),
                                                   delay_ms=200, limit=10))
    assert scheduled.status_code == 201, scheduled.text
    messages = sink.wait_for(50, timeout=75)
    time.sleep(1)  # anything sent twice would arrive now
    # The planned times, from the sent rows: on LocalStack the first email can be sent
    # before a listing of the scheduled ones right after the 201 would show it.
    due = {e["recipientEmail"]: datetime.fromisoformat(e["scheduledTime"]).timestamp()
           for e in sent_rows(api)}
    assert len(sink.messages) == 50
    assert len(set(sink.message_ids)) == 50
    assert [m.to[0] for m in messages] == recipients
    assert all(m.received_at >= due[m.to[0]] for m in messages)
    assert max(per_window(sink, 10).values()) == 10
    rows = sent_rows(api)
    assert {r["status"] for r in rows} == {"sent"} and {r["attempts"] for r in rows} == {1}


def test_batches_of_one_sender_share_its_limit_and_other_senders_do_not(make_pipeline, sink):
    _, api = make_pipeline(RATE_WINDOW_SECONDS=5)
    start = at_next_window(5)
    first = api.post("/emails/schedule", batch([f"a{i}@x.com" for i in range(4)], start,
                                               limit=5)).json()
    second = api.post("/emails/schedule", batch([f"b{i}@x.com" for i in range(4)], start,
                                                limit=5)).json()
    other = api.post("/emails/schedule", batch([f"c{i}@x.com" for i in range(5)], start,
                                               limit=5, sender="support@example.com")).json()
    assert datetime.fromisoformat(first["estimatedEndTime"]) == start
    next_window = start - timedelta(seconds=0.05) + timedelta(seconds=5)
    assert datetime.fromisoformat(second["estimatedEndTime"]) == next_window
    assert datetime.fromisoformat(other["estimatedEndTime"]) == start
    sink.wait_for(13, timeout=40)
    counts = per_window(sink, 5)
    assert max(counts.values()) == 5
    assert sorted(n for (sender, _), n in counts.items() if sender == "sales@example.com") == [3, 5]


def test_emails_beyond_the_pump_horizon_go_out_on_time(make_pipeline, sink):
    _, api = make_pipeline(PUMP_HORIZON_SECONDS=2)
    start = datetime.now(UTC) + timedelta(seconds=6)
    api.post("/emails/schedule", batch(["far1@x.com", "far2@x.com"], start, delay_ms=1500))
    time.sleep(2)
    assert api.get("/emails/scheduled").json()["emails"][0]["status"] == "scheduled"
    messages = sink.wait_for(2, timeout=15)
    lateness = [m.received_at - (start.timestamp() + 1.5 * i) for i, m in enumerate(messages)]
    assert all(0 <= late < 1.5 for late in lateness), lateness


def test_a_message_delivered_twice_sends_one_email(aws_services, sink):
    from emailsched.domain.messages import WakeMessage

    container = prepare(aws_services.settings(SMTP_PORT=sink.port))
    api_pipeline = Pipeline(container, pollers=0)
    api_pipeline.start()
    try:
        api = Api(api_pipeline.url)
        api_pipeline.stop.set()  # no pump, no pollers: this test delivers by hand
        time.sleep(0.5)
        api.post("/emails/schedule", batch(["once@x.com"], datetime.now(UTC)))
        container.pump.run()  # the API already enqueued it, right after scheduling
        messages = container.queue.receive(10, 1)
        assert len(messages) == 1
        body = messages[0].body
        outcomes = [container.sender.handle(body) for _ in range(3)]
        assert all(o.done for o in outcomes)
        assert len(sink.wait_for(1)) == 1
        time.sleep(0.5)
        assert len(sink.messages) == 1
        assert body == WakeMessage(tuple(_ids(body)), 0).body()
    finally:
        api_pipeline.close()
        container.close()


def _ids(body: str) -> list[Any]:
    from emailsched.domain.messages import parse_message

    return parse_message(body)


def test_five_pumps_at_once_enqueue_each_email_once(aws_services, sink):
    import threading

    from emailsched.domain.messages import parse_message

    container = prepare(aws_services.settings(SMTP_PORT=sink.port, PUMP_MAX_IN_FLIGHT=10_000))
    pipeline = Pipeline(container, pollers=0)
    # Stopped before it starts: its own pump's first run would otherwise race the five
    # below (it is in flight by the time start() returns, and claims the emails itself).
    pipeline.stop.set()
    pipeline.start()
    try:
        # Through the service, not HTTP: the API would enqueue the first ones itself.
        from emailsched.adapters.db.accounts import upsert_user_by_email
        from emailsched.services.scheduling import ScheduleRequest

        with container.engine.begin() as connection:
            owner = upsert_user_by_email(connection, "pumps@example.com", "Pumps")
        container.scheduling.schedule(owner.id, ScheduleRequest(
            subject="s", body="b", recipients=[f"p{i}@x.com" for i in range(300)],
            start_time=datetime.now(UTC), delay_ms=0, hourly_limit=10_000,
            sender_email="me@x.com", sender_name="Me"))
        reports = []
        threads = [threading.Thread(target=lambda: reports.append(container.pump.run()))
                   for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(r.enqueued for r in reports) == 300
        seen: list[Any] = []
        while batch_ := container.queue.receive(10, 0):
            for message in batch_:
                seen.extend(parse_message(message.body))
            container.queue.delete([m.receipt_handle for m in batch_])
        assert len(seen) == 300 and len(set(seen)) == 300
    finally:
        pipeline.close()
        container.close()


def test_a_deferred_email_is_sent_on_its_second_attempt(make_pipeline, sink):
    sink.script = per_message("451 4.3.0 try again later")
    _, api = make_pipeline()
    api.post("/emails/schedule", batch(["retry@x.com"], datetime.now(UTC)))
    sink.wait_for(1, timeout=20)
    rows = wait_until(lambda: [r for r in sent_rows(api) if r["attempts"] == 2], 10)
    assert rows[0]["status"] == "sent"
    assert sink.data_attempts == 2


def test_a_permanent_refusal_fails_at_once_with_the_reply(make_pipeline, sink):
    sink.script = always("550 5.1.1 no such user here")
    _, api = make_pipeline()
    api.post("/emails/schedule", batch(["nobody@x.com"], datetime.now(UTC)))
    # The ledger says `sent` from the point of no return until the server's reply to the
    # final "." comes back, so wait for the outcome, not for the first sight of the row.
    row = wait_until(lambda: [r for r in sent_rows(api) if r["status"] == "failed"], 20)[0]
    assert row["attempts"] == 1
    assert row["failureReason"] == "550 5.1.1 no such user here"
    assert sink.data_attempts == 1 and sink.messages == []


def test_pause_holds_resume_sends_in_order_and_cancel_ends(make_pipeline, sink):
    # One poller: order holds within a worker (README); two pollers may each take a message
    # that LocalStack made visible in the same second, and send them side by side.
    _, api = make_pipeline(pollers=1)
    recipients = [f"p{i:02d}@x.com" for i in range(20)]
    batch_id = api.post("/emails/schedule", batch(recipients, datetime.now(UTC) + timedelta(
        seconds=1), delay_ms=250)).json()["batchId"]
    sink.wait_for(4, timeout=15)
    paused = api.post(f"/batches/{batch_id}/pause").json()
    assert paused["status"] == "paused"
    time.sleep(0.5)  # an email a worker already held may still land
    held_at = len(sink.messages)
    time.sleep(3)
    assert len(sink.messages) == held_at
    assert api.get(f"/batches/{batch_id}").json()["counts"]["paused"] == 20 - held_at
    assert api.post(f"/batches/{batch_id}/resume").json()["status"] == "active"
    messages = sink.wait_for(20, timeout=20)
    sent = [m.to[0] for m in messages]
    # In order up to the pause. After it, a message enqueued before the pause may arrive in
    # the same receive as the resumed emails' new one and go first (README, "Order holds").
    assert sent[:held_at] == recipients[:held_at]
    assert sorted(sent) == recipients
    assert len(set(sink.message_ids)) == 20
    done = wait_until(lambda: api.get(f"/batches/{batch_id}").json()["status"] == "completed", 10)
    assert done

    other = api.post("/emails/schedule", batch(["c1@x.com", "c2@x.com"], datetime.now(UTC)
                                               + timedelta(seconds=30))).json()["batchId"]
    assert api.post(f"/batches/{other}/cancel").json()["counts"]["cancelled"] == 2
    assert api.post(f"/batches/{other}/resume").status_code == 409
