"""The direct way of an import (adapters/db/direct_import.py, issue 17): the batch and its
emails written in one transaction, COPYed from a thread while the job reads on. Nothing is
visible to anyone else before the commit, an abandoned one leaves nothing, and a job out of
time the direct way is read again the staged way with its counts from zero."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import sqlalchemy

from emailsched import bootstrap
from emailsched.adapters.db.direct_import import DirectImport
from emailsched.adapters.db.imports import PgImportStore
from emailsched.ports import DirectImportWriter, ImportCounts, ImportRecord, StagedRow
from tests.support.stack import Api, Services, prepare, serving_api

pytestmark = pytest.mark.integration
START = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)


@pytest.fixture
def container(services: Services) -> Iterator[bootstrap.Container]:
    installed = prepare(services.settings(IMPORT_CHUNK_ROWS=50))
    yield installed
    installed.close()


@pytest.fixture
def api(container: bootstrap.Container) -> Iterator[Api]:
    with serving_api() as url:  # no import poller: the tests run the job themselves
        yield Api(url)


def scheduled_import(api: Api, rows: int) -> str:
    created = api.post("/imports").json()
    csv_text = "email,first_name\n" + "".join(f"p{i}@example.com,P{i}\n" for i in range(rows))
    requests.put(created["uploadUrl"], data=csv_text.encode(),
                 headers={"Content-Type": "text/csv"}, timeout=30).raise_for_status()
    answer = api.post("/emails/schedule", {
        "subject": "Hi {{ first_name }}", "body": "<p>Hello</p>",
        "recipientsImportId": created["importId"], "startTime": START.isoformat(),
        "delayMs": 1000, "hourlyLimit": 500, "sender": {"email": "s@example.com"}})
    assert answer.status_code == 202, answer.text
    return str(created["importId"])


def counted(engine: sqlalchemy.Engine) -> tuple[int, int]:
    with engine.connect() as c:
        return (int(c.execute(sqlalchemy.text("SELECT count(*) FROM batches")).scalar_one()),
                int(c.execute(sqlalchemy.text("SELECT count(*) FROM emails")).scalar_one()))


def batch_values(record: ImportRecord, emails: int) -> dict[str, Any]:
    request = record.request or {}
    return {"sender_id": uuid.UUID(request["senderIds"][0]), "sender_name": "",
            "subject": "s", "body": "b", "start_time": START, "delay_ms": 0,
            "hourly_limit": 10, "email_count": emails, "duplicates_removed": 0,
            "estimated_end_time": START, "sending_window": None, "random_delay_ms": 0,
            "plan_seed": 0, "suppressed_removed": 0}


def planned(count: int) -> list[StagedRow]:
    due = int(START.timestamp() * 1000)
    return [StagedRow(i, 0, str(uuid.uuid4()), f"r{i}@example.com", due + i * 1000,
                      '{"first_name": "R"}') for i in range(count)]


def opened(store: PgImportStore, api: Api
           ) -> tuple[ImportRecord, list[uuid.UUID], DirectImportWriter]:
    """A scheduled import's record, its senders and a direct writer for it."""
    record = store.get(uuid.UUID(scheduled_import(api, 3)))
    assert record is not None and record.request is not None
    sender_ids = [uuid.UUID(s) for s in record.request["senderIds"]]
    return record, sender_ids, store.direct(record, sender_ids)


def test_nothing_written_the_direct_way_is_visible_before_the_commit(container, api):
    store = PgImportStore(container.engine)
    record, sender_ids, writer = opened(store, api)
    writer.write(planned(250))
    writer.write([row._replace(seq=row.seq + 250, email=f"x{row.seq}@example.com",
                               email_id=str(uuid.uuid4())) for row in planned(250)])
    store.save(record.id, [], ImportCounts(rows=500, valid=500), [], {"directTries": 1})
    assert counted(container.engine) == (0, 0)  # the batch and 500 rows: all in flight
    assert store.get(record.id).counts.valid == 500  # type: ignore[union-attr]

    writer.finish(batch_values(record, 500), [(sender_ids[0], 500, 0)], [], [],
                  ImportCounts(rows=500, valid=500))
    assert counted(container.engine) == (1, 500)
    done = store.get(record.id)
    assert done is not None and done.status == "done" and done.batch_id == record.batch_id


def test_an_abandoned_direct_import_leaves_nothing(container, api):
    store = PgImportStore(container.engine)
    record, _, writer = opened(store, api)
    writer.write(planned(300))
    writer.abandon()
    writer.abandon()  # twice is harmless: the job's own clean-up may come after a failure
    assert counted(container.engine) == (0, 0)
    assert store.get(record.id).status == "importing"  # type: ignore[union-attr]


def test_a_finish_whose_count_disagrees_commits_nothing(container, api):
    store = PgImportStore(container.engine)
    record, sender_ids, writer = opened(store, api)
    writer.write(planned(10))
    with pytest.raises(AssertionError, match="COPY wrote 10 rows"):
        writer.finish(batch_values(record, 11), [(sender_ids[0], 11, 0)], [], [],
                      ImportCounts(rows=11, valid=11))
    assert counted(container.engine) == (0, 0)


def test_an_import_out_of_time_the_direct_way_is_read_again_staged(container, api,
                                                                   monkeypatch):
    import_id = uuid.UUID(scheduled_import(api, 400))
    job = container.import_job
    # Time enough to start the direct way (the file is 6 KB), but its first chunk takes
    # longer than all of it: the direct attempt gives up after that chunk.
    write = DirectImport.write

    def slow_write(self: DirectImport, rows: list[StagedRow]) -> None:
        time.sleep(1.5)
        write(self, rows)

    monkeypatch.setattr(DirectImport, "write", slow_write)
    assert job.run(import_id, seconds_left=1.0) is False
    monkeypatch.undo()
    record = container.import_job._store.get(import_id)  # type: ignore[attr-defined]
    assert record.checkpoint == {"directTries": 2} and record.counts == ImportCounts()
    assert counted(container.engine) == (0, 0)
    # The staged way from the top: a checkpoint a chunk, counts from zero, then done.
    assert job.run(import_id, seconds_left=-1.0) is False
    assert job.run(import_id) is True
    final = api.get(f"/imports/{import_id}").json()
    assert final["status"] == "done", final
    assert (final["rows"], final["valid"], final["duplicates"]) == (400, 400, 0)
    assert counted(container.engine) == (1, 400)


def test_a_direct_import_in_flight_blocks_no_other_writer_of_its_sender(container, api):
    # Two imports for one sender, both mid-COPY, and a JSON batch for it scheduled between:
    # no lock on the sender is held until an import's end, so none waits for another.
    store = PgImportStore(container.engine)
    imports = [opened(store, api) for _ in range(2)]
    for _, _, writer in imports:
        writer.write(planned(100))
    answer = api.post("/emails/schedule", {
        "subject": "Hi", "body": "<p>Hello</p>", "recipients": ["json@example.com"],
        "startTime": START.isoformat(), "delayMs": 1000, "hourlyLimit": 500,
        "sender": {"email": "s@example.com"}})
    assert answer.status_code == 201, answer.text
    for record, sender_ids, writer in reversed(imports):
        writer.finish(batch_values(record, 100), [(sender_ids[0], 100, 0)], [], [],
                      ImportCounts(rows=100, valid=100))
    assert counted(container.engine) == (3, 201)


def test_a_list_too_big_for_the_time_left_is_staged_from_the_start(container, api):
    # 400 rows are about 6 KB: more than a millisecond's worth at the pace the direct way
    # is sure of, so the first invocation stages instead of trying.
    import_id = uuid.UUID(scheduled_import(api, 400))
    job = container.import_job
    assert job.run(import_id, seconds_left=0.001) is False
    record = container.import_job._store.get(import_id)  # type: ignore[attr-defined]
    assert "offset" in record.checkpoint and record.counts.rows == 50  # a chunk staged
    assert job.run(import_id) is True
    final = api.get(f"/imports/{import_id}").json()
    assert final["status"] == "done" and (final["rows"], final["valid"]) == (400, 400)
    assert counted(container.engine) == (1, 400)


def test_copy_text_keeps_every_character_of_addresses_and_fields(container, api):
    store = PgImportStore(container.engine)
    record, sender_ids, writer = opened(store, api)
    fields = {"note": 'back\\slash "quoted" tab\there', "name": "Zoë 日本 🎉"}
    due = int(START.timestamp() * 1000)
    odd = '"a\\\\b\tc"@example.com'  # COPY's special characters (not a valid address: raw)
    writer.write([StagedRow(0, 0, str(uuid.uuid4()), odd, due, json.dumps(fields)),
                  StagedRow(1, 0, str(uuid.uuid4()), "plain@example.com", due + 1, None)])
    writer.finish(batch_values(record, 2), [(sender_ids[0], 2, 0)], [], [],
                  ImportCounts(rows=2, valid=2))
    with container.engine.connect() as c:
        rows = c.execute(sqlalchemy.text(
            "SELECT recipient_email, fields, due_at FROM emails ORDER BY seq")).all()
    assert [(r[0], r[1]) for r in rows] == [(odd, fields), ("plain@example.com", None)]
    assert rows[0][2] == START and rows[1][2] - rows[0][2] == timedelta(milliseconds=1)
