"""Scenario 9: the import function is SIGKILLed in the middle of a list, and a fresh one
started. The import must end `done` with every row counted once, its batch must hold each
recipient once, and every email must then reach the sink exactly once. Both ways an import
is written:

- staged: small chunks and invocations (100 and 200 rows) make 6,000 rows thirty
  invocations, each one's checkpoint committed with its chunk;
- direct: 10,000 rows COPYed into emails in one transaction, in chunks of 100 (a progress
  report each), killed mid-COPY: the transaction is rolled back with the process, and the
  next attempt starts from the top with its counts from zero.

The killed invocation's message comes back when its visibility ends: 960 s on the real
queue (longer than Lambda's 15 minutes), set to 5 s on this scenario's queue, as a
configuration of time rather than a sleep of it.
"""

from __future__ import annotations

import signal
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy

from emailsched.adapters.import_objects import ensure_bucket, make_s3_client
from emailsched.adapters.queues import ensure_import_queue
from emailsched.adapters.sqs import make_sqs_client
from tests.reliability.stack import Scenario

pytestmark = pytest.mark.reliability

RETURNS_AFTER_SECONDS = 5  # the imports queue's visibility timeout, here


def _imports_infrastructure(scenario: Scenario) -> None:
    """What `emailsched setup` makes for imports, on this scenario's names."""
    env = scenario.cluster.env
    endpoint = env["AWS_ENDPOINT_URL"]
    sqs = make_sqs_client("us-east-1", endpoint)
    url = ensure_import_queue(sqs, env["IMPORT_QUEUE_NAME"])
    sqs.set_queue_attributes(QueueUrl=url,
                             Attributes={"VisibilityTimeout": str(RETURNS_AFTER_SECONDS)})
    ensure_bucket(make_s3_client("us-east-1", endpoint), env["IMPORT_BUCKET"], "us-east-1",
                  ["http://127.0.0.1"])


def _start_imports(scenario: Scenario, timeout: float = 60) -> None:
    child = scenario.cluster.start_imports()
    deadline = time.monotonic() + timeout
    while "imports: polling" not in child.output():  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the import function did not start polling"
        time.sleep(0.1)


def _batch_rows(database_url: str, batch_id: str) -> tuple[int, int]:
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as c:
            total, distinct = c.execute(sqlalchemy.text(
                "SELECT count(*), count(DISTINCT lower(recipient_email)) FROM emails "
                "WHERE batch_id = :b"), {"b": batch_id}).one()
            return int(total), int(distinct)
    finally:
        engine.dispose()


@pytest.mark.scenario("9. the import function SIGKILLed mid-list (staged)")
def test_a_killed_import_goes_on_from_its_checkpoint_and_every_row_is_sent_once(
        figures, launch):
    _kill_mid_import(figures, launch, 6000, chunk_rows=100, rows_per_invocation=200)


@pytest.mark.scenario("9. the import function SIGKILLed mid-COPY (direct)")
def test_a_killed_direct_import_is_rolled_back_and_done_again_once(figures, launch):
    _kill_mid_import(figures, launch, 10_000, chunk_rows=100, rows_per_invocation=0)


def _kill_mid_import(figures, launch, rows: int, chunk_rows: int,
                     rows_per_invocation: int) -> None:
    suffix = uuid.uuid4().hex[:6]
    scenario = launch("import-kill", env={
        "IMPORT_QUEUE_NAME": f"rel-imports-{suffix}", "IMPORT_BUCKET": f"rel-imports-{suffix}",
        "IMPORT_CHUNK_ROWS": str(chunk_rows),
        "IMPORT_ROWS_PER_INVOCATION": str(rows_per_invocation)})
    _imports_infrastructure(scenario)
    _start_imports(scenario)
    api = scenario.api()
    created = api.post("/imports").json()
    csv_text = "email,first_name\n" + "".join(f"row{i:05d}@example.com,R{i}\n"
                                              for i in range(rows))
    requests.put(created["uploadUrl"], data=csv_text.encode(),
                 headers={"Content-Type": "text/csv"}, timeout=30).raise_for_status()
    start = datetime.now(UTC) + timedelta(seconds=20)
    answer = api.post("/emails/schedule", {
        "subject": "Hi {{ first_name }}", "body": "<p>Row {{ first_name }}</p>",
        "recipientsImportId": created["importId"], "startTime": start.isoformat(),
        "delayMs": 0, "hourlyLimit": 100_000,
        "sender": {"email": "bulk@example.com", "name": "Bulk"}})
    assert answer.status_code == 202, answer.text
    status_url = f"/imports/{created['importId']}"

    rows_at_kill = 0
    deadline = time.monotonic() + 60
    while rows_at_kill == 0:  # the first checkpoint is in: kill it mid-list
        assert time.monotonic() < deadline, "the import did not start"
        rows_at_kill = api.get(status_url).json()["rows"]
        time.sleep(0.02)
    [victim] = [c for c in scenario.cluster.children if c.name == "imports" and not c.exited()]
    scenario.cluster.kill(victim, signal.SIGKILL)
    _start_imports(scenario)

    deadline = time.monotonic() + 120
    while (final := api.get(status_url).json())["status"] == "importing":
        assert time.monotonic() < deadline, f"the import did not end: {final}"
        time.sleep(0.2)
    assert final["status"] == "done", (final, api.get(status_url).json().get("errors"))
    assert (final["rows"], final["valid"], final["invalid"], final["duplicates"],
            final["suppressed"]) == (rows, rows, 0, 0, 0)
    assert _batch_rows(scenario.database_url, final["batchId"]) == (rows, rows)

    outcome = scenario.settle(rows, timeout=180)
    figures.outcome(outcome, rows=rows, rows_counted_at_kill=rows_at_kill,
                    arrived=len(scenario.sink.messages))
    assert 0 < rows_at_kill < rows, "the kill came after the import had ended"
    assert outcome.is_clean(), outcome.explain()
    assert outcome.sent == rows and outcome.failed == 0, outcome.explain()
