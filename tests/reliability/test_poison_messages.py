"""Scenario 5: messages no sender can process (not JSON, naming no email) land on the send
queue among ordinary ones, some in the very batch of records a worker receives with them.
Each is dead-lettered with a log line naming it, and the ordinary emails go out on time.
On moto and on LocalStack (the steady stack of each)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from emailsched.domain.messages import MAX_EMAILS_PER_MESSAGE
from tests.reliability.outcomes import arrival_times
from tests.reliability.stack import Scenario, batch, on_both_emulators, schedule

pytestmark = pytest.mark.reliability

OWNER = "poison-owner@example.com"
EMAILS = 50
POISON = {
    "not JSON": "this is {not json",
    "JSON, but a list": '["a", "b"]',
    "no email list": '{"v": 1}',
    "an empty email list": '{"v": 1, "emails": []}',
    "ids that are not UUIDs": '{"v": 1, "emails": ["not-a-uuid", 42]}',
    "more ids than a message holds": json.dumps(
        {"v": 1, "emails": [str(uuid.uuid4()) for _ in range(MAX_EMAILS_PER_MESSAGE + 1)]}),
}
# Well formed, but for an email that does not exist (a deleted batch, say): consumed quietly.
UNKNOWN_EMAIL = json.dumps({"v": 1, "emails": [str(uuid.uuid4())]})
ON_TIME_SECONDS = 5.0  # generous: a busy 2-core machine runs late by seconds


def sqs(scenario: Scenario) -> Any:
    return boto3.client("sqs", region_name="us-east-1",
                        endpoint_url=scenario.cluster.env["AWS_ENDPOINT_URL"])


def queue_url(client: Any, name: str) -> str:
    return str(client.get_queue_url(QueueName=name)["QueueUrl"])


def send_bodies(client: Any, url: str, bodies: list[str]) -> list[str]:
    """Sends the bodies in batches of ten; returns their SQS message ids in order."""
    ids: list[str] = []
    for start in range(0, len(bodies), 10):
        chunk = bodies[start:start + 10]
        answer = client.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)])
        assert not answer.get("Failed"), answer
        ids += [entry["MessageId"] for entry in sorted(answer["Successful"],
                                                       key=lambda e: int(e["Id"]))]
    return ids


def drain(client: Any, url: str) -> list[str]:
    bodies: list[str] = []
    while messages := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                             WaitTimeSeconds=1).get("Messages", []):
        bodies += [m["Body"] for m in messages]
        client.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    return bodies


def waiting(client: Any, url: str) -> int:
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


@pytest.mark.scenario("5. poison messages")
@on_both_emulators
def test_poison_messages_are_dead_lettered_with_a_log_line_and_block_nothing(figures,
                                                                             steady_on):
    steady = steady_on
    client = sqs(steady)
    name = steady.cluster.env["SEND_QUEUE_NAME"]
    send_queue, dead_letters = queue_url(client, name), queue_url(client, f"{name}-dlq")
    start = datetime.now(UTC) + timedelta(seconds=2)
    schedule(steady.api(OWNER), batch([f"ok{i:02d}@example.com" for i in range(EMAILS)],
                                      start, delay_ms=20, sender="poison-sender@example.com"))
    own = sorted(str(e.id) for e in steady.ledger() if e.user == OWNER)
    # Poison first, then a batch of records mixing poison with wake-ups for real emails.
    poison_ids = send_bodies(client, send_queue, list(POISON.values()))
    mixed = [POISON["not JSON"], json.dumps({"v": 1, "emails": own[:5]}),
             POISON["an empty email list"], UNKNOWN_EMAIL, json.dumps({"v": 1, "emails": own[5:8]})]
    mixed_ids = send_bodies(client, send_queue, mixed)
    outcome = steady.settle(EMAILS, timeout=60, users={OWNER})
    time.sleep(2)  # the last poison record is handled within a poll or two

    dead = drain(client, dead_letters)
    log = steady.cluster.output("worker")
    logged = [i for i in [*poison_ids, mixed_ids[0], mixed_ids[2]]
              if f"dead-lettering message {i}" in log]
    ledger = {e.id: e for e in steady.ledger() if e.user == OWNER}
    arrived = arrival_times(steady.sink.messages)
    late = max(arrived[i] - ledger[i].due_at for i in ledger if i in arrived)
    figures.outcome(outcome, poison_messages=len(POISON) + 2,
                    dead_lettered=len(dead), logged=len(logged),
                    max_lateness_s=round(late, 2))
    assert outcome.is_clean(), outcome.explain()
    assert outcome.sent == EMAILS
    # Each poison message at least once: a queue may deliver a message twice (moto does, so
    # may SQS), and each delivery is dead-lettered; a second copy there harms nothing.
    assert set(dead) == {*POISON.values(), mixed[0], mixed[2]}
    assert len(logged) == len(POISON) + 2, log[-2000:]
    assert waiting(client, send_queue) == 0, "a message was left on the send queue"
    assert late <= ON_TIME_SECONDS
