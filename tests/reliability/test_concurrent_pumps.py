"""Scenario 6: five pump runs, each its own process, start within milliseconds of each other
on 2,000 due emails. Each email is put on the queue exactly once.

No worker runs, so the queue holds exactly what was enqueued: the API's own run right after
scheduling (it enqueues the first 100 at once), then the five pumps'. Sending is every
other scenario's business; here an email is *duplicated* when two messages carry it and
*lost* when none does. On moto and on LocalStack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from emailsched.domain.messages import parse_message
from tests.reliability.stack import Scenario, batch, on_both_emulators, schedule

pytestmark = pytest.mark.reliability

EMAILS = 2000
DELAY_MS = 5  # due over 10 s: messages delayed by 0 to 9 s
PUMPS = 5
LAUNCHER = Path(__file__).with_name("pump_on_signal.py")


def start_pumps(scenario: Scenario, go: Path) -> list[subprocess.Popen[str]]:
    env = {**os.environ, **scenario.cluster.env}
    pumps = [subprocess.Popen([sys.executable, str(LAUNCHER), str(go)], env=env, text=True,
                              stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
             for _ in range(PUMPS)]
    for pump in pumps:
        assert pump.stdout is not None
        assert pump.stdout.readline().strip() == "ready"
    return pumps


def reports(pumps: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    found = []
    for pump in pumps:
        output, _ = pump.communicate(timeout=60)
        assert pump.returncode == 0
        found.append(json.loads(output.strip().splitlines()[-1]))
    return found


def drain(scenario: Scenario, last_visible_at: float) -> Counter[str]:
    """Every email id on the send queue, counted once per distinct message carrying it.
    Messages for later emails are delayed: an empty receive ends the drain only once the
    last of them is visible (moto's long poll does not wake for a delay running out)."""
    client = boto3.client("sqs", region_name="us-east-1",
                          endpoint_url=scenario.cluster.env["AWS_ENDPOINT_URL"])
    url = client.get_queue_url(QueueName=scenario.cluster.env["SEND_QUEUE_NAME"])["QueueUrl"]
    carried: dict[str, list[str]] = {}
    while True:
        messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                          VisibilityTimeout=300,
                                          WaitTimeSeconds=1).get("Messages", [])
        if not messages and time.time() > last_visible_at:
            break
        for message in messages:
            carried.setdefault(message["MessageId"],
                               [str(i) for i in parse_message(message["Body"])])
    return Counter(i for ids in carried.values() for i in ids)


@pytest.mark.scenario("6. five pump runs at once")
@on_both_emulators
def test_five_pump_runs_at_once_enqueue_each_email_once(figures, launch, tmp_path):
    # Lost-message recovery off: a slow start must not make the API's messages look lost.
    scenario = launch("concurrent-pumps", workers=0, pump_interval=None, env={
        "PUMP_MAX_IN_FLIGHT": "100000", "PUMP_LOST_AFTER_SECONDS": "600"})
    start = datetime.now(UTC)
    schedule(scenario.api(), batch([f"p{i:04d}@example.com" for i in range(EMAILS)],
                                   start, delay_ms=DELAY_MS))
    pumps = start_pumps(scenario, tmp_path / "go")
    (tmp_path / "go").touch()
    enqueued = [r["enqueued"] for r in reports(pumps)]
    on_queue = drain(scenario, start.timestamp() + EMAILS * DELAY_MS / 1000 + 1)

    ledger = {str(e.id): e.status for e in scenario.ledger()}
    twice = [i for i, n in on_queue.items() if n > 1]
    never = [i for i in ledger if i not in on_queue]
    figures.record({"scheduled": len(ledger), "duplicated": len(twice), "lost": len(never)},
                   enqueued_per_pump=enqueued, enqueued_by_the_api=EMAILS - sum(enqueued),
                   enqueued_in_all=sum(on_queue.values()))
    assert set(on_queue) <= set(ledger)
    assert twice == [], f"{len(twice)} emails were enqueued twice"
    assert never == [], f"{len(never)} emails were never enqueued"
    assert set(ledger.values()) == {"queued"}
