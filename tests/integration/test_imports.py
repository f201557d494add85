"""Big lists through S3 (issue 17): a CSV PUT to a presigned URL on moto's S3, scheduled
with recipientsImportId, read by the import job (the imports queue's poller) in chunks and
invocations, planned exactly as the JSON path plans the same list."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import sqlalchemy

from tests.support.stack import Api, Pipeline, Services, prepare, wait_until

pytestmark = pytest.mark.integration
START = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
MakeApi = Callable[..., tuple[Api, Pipeline]]


@pytest.fixture
def make_api(services: Services) -> Iterator[MakeApi]:
    started: list[Pipeline] = []

    def make(**overrides: Any) -> tuple[Api, Pipeline]:
        container = prepare(services.settings(**overrides))
        pipeline = Pipeline(container, pollers=1).start()
        started.append(pipeline)
        return Api(pipeline.url), pipeline

    yield make
    for pipeline in started:
        pipeline.close()
        pipeline.container.close()


def batch(**extra: Any) -> dict[str, Any]:
    return {"subject": "Hi {{ first_name }}", "body": "<p>{{ company | default('you') }}</p>",
            "startTime": START.isoformat(), "delayMs": 1500, "hourlyLimit": 300,
            "sender": {"email": "sales@example.com", "name": "Sales"}, **extra}


def upload(api: Api, csv_text: str, headers: dict[str, str] | None = None) -> str:
    created = api.post("/imports")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["uploadHeaders"] == {"Content-Type": "text/csv"}
    put = requests.put(body["uploadUrl"], data=csv_text.encode(),
                       headers=body["uploadHeaders"] if headers is None else headers,
                       timeout=30)
    assert put.status_code == 200, put.text
    return str(body["importId"])


def imported(api: Api, csv_text: str, headers: dict[str, str] | None = None,
             **extra: Any) -> dict[str, Any]:
    import_id = upload(api, csv_text, headers)
    assert api.get(f"/imports/{import_id}").json()["status"] == "uploading"
    answer = api.post("/emails/schedule", batch(recipientsImportId=import_id, **extra))
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "importing"
    final = wait_until(lambda: (lambda s: s if s["status"] in ("done", "failed") else None)(
        api.get(f"/imports/{import_id}").json()), timeout=60, every=0.2)
    return {**final, "batchIdAnswered": answer.json()["batchId"]}


def plan(engine: sqlalchemy.Engine, batch_id: str) -> list[tuple[Any, ...]]:
    with engine.connect() as c:
        rows = c.execute(sqlalchemy.text(
            "SELECT seq, recipient_email, due_at, fields, status FROM emails "
            "WHERE batch_id = :b ORDER BY seq"), {"b": batch_id})
        return [tuple(r) for r in rows]


def rows_of(n: int) -> list[tuple[str, str, str]]:
    return [(f"person{i}@example.com", f"First{i}", f"Co {i}" if i % 3 else "")
            for i in range(n)]


def as_csv(rows: list[tuple[str, str, str]]) -> str:
    return "email,First Name,company\n" + "".join(f"{e},{f},{c}\n" for e, f, c in rows)


@pytest.mark.parametrize("per_invocation", [140, 0], ids=["staged", "direct"])
def test_an_import_plans_exactly_as_the_json_path_over_many_chunks_and_invocations(
        make_api, per_invocation):
    # Tiny chunks: 1,000 rows in fifteen. Staged: an invocation per two chunks, a dozen
    # checkpoints; direct: one invocation, one transaction, one COPY fed chunk by chunk.
    api, pipeline = make_api(IMPORT_CHUNK_ROWS=70, IMPORT_ROWS_PER_INVOCATION=per_invocation)
    rows = rows_of(1000)
    rows.insert(500, ("PERSON7@example.com", "Dup", ""))  # a duplicate, case-insensitive
    other = Api(pipeline.url, email="bob@example.com")  # his own relay sender: same usage
    recipients = [{"email": e, "fields": {k: v for k, v in
                                          (("first_name", f), ("company", c)) if v}}
                  for e, f, c in rows]
    by_json = other.post("/emails/schedule", batch(recipients=recipients))
    assert by_json.status_code == 201, by_json.text

    final = imported(api, as_csv(rows))

    assert final["status"] == "done", final
    assert (final["rows"], final["valid"], final["invalid"], final["duplicates"],
            final["suppressed"]) == (1001, 1000, 0, 1, 0)
    assert final["batchId"] == final["batchIdAnswered"]
    engine = pipeline.container.engine
    assert plan(engine, final["batchId"]) == plan(engine, by_json.json()["batchId"])
    shown = api.get(f"/batches/{final['batchId']}").json()
    assert shown["counts"]["total"] == 1000 and shown["duplicatesRemoved"] == 1, shown


def test_a_list_that_ends_exactly_where_an_invocation_stops_is_done(make_api):
    # 280 rows, 140 an invocation: the second stops at the end of the file, and the third
    # starts from a checkpoint at its last byte (S3 refuses that range: nothing is left).
    api, _ = make_api(IMPORT_CHUNK_ROWS=70, IMPORT_ROWS_PER_INVOCATION=140)
    final = imported(api, as_csv(rows_of(280)))
    assert final["status"] == "done", final
    assert (final["rows"], final["valid"]) == (280, 280)


def test_suppressed_addresses_are_dropped_and_counted(make_api):
    api, _ = make_api()
    api.post("/suppressions", {"emails": ["person1@example.com"]})
    final = imported(api, as_csv(rows_of(5)))
    assert final["status"] == "done"
    assert (final["rows"], final["valid"], final["suppressed"]) == (5, 4, 1)


@pytest.mark.parametrize(("csv_text", "line", "words"), [
    ("email,first_name\na@example.com,A\nnot-an-address,B\nc@example.com,C\n", 3, "@"),
    ("email,first_name\na@example.com,A,extra,cells\n", 2, "cells"),
    ("first_name\nAnn\n", 1, "no column named email"),
])
def test_a_failed_import_stores_no_batch_and_says_why_by_line(make_api, csv_text, line, words):
    api, pipeline = make_api()
    final = imported(api, csv_text)
    assert final["status"] == "failed"
    assert final["batchId"] is None
    assert any(e["line"] == line and words in e["message"] for e in final["errors"]), final
    assert final["rows"] == final["valid"] + final["invalid"] + final["duplicates"] + \
        final["suppressed"]
    with pipeline.container.engine.connect() as c:
        assert c.execute(sqlalchemy.text("SELECT count(*) FROM batches")).scalar() == 0
        assert c.execute(sqlalchemy.text("SELECT count(*) FROM emails")).scalar() == 0
        assert c.execute(sqlalchemy.text("SELECT count(*) FROM import_rows")).scalar() == 0


@pytest.mark.parametrize("per_invocation", [140, 0], ids=["staged", "direct"])
def test_a_bad_row_after_many_written_chunks_leaves_nothing(make_api, per_invocation):
    # Row 251 of 300 is bad: the direct way has COPYed three chunks into emails by then,
    # the staged way has staged them; either way nothing is left, and the rest is counted.
    api, pipeline = make_api(IMPORT_CHUNK_ROWS=70, IMPORT_ROWS_PER_INVOCATION=per_invocation)
    rows = rows_of(300)
    rows[250] = ("not-an-address", "Bad", "")
    final = imported(api, as_csv(rows))
    assert final["status"] == "failed" and final["batchId"] is None
    assert [e["line"] for e in final["errors"]] == [252]
    assert (final["rows"], final["valid"], final["invalid"]) == (300, 299, 1)
    with pipeline.container.engine.connect() as c:
        for table in ("batches", "emails", "import_rows"):
            assert c.execute(sqlalchemy.text(f"SELECT count(*) FROM {table}")).scalar() == 0


def test_a_file_over_the_limit_fails_before_reading_it(make_api):
    api, _ = make_api(MAX_IMPORT_BYTES=100)
    final = imported(api, as_csv(rows_of(20)))
    assert final["status"] == "failed"
    assert final["errors"][0]["line"] == 0 and "over the limit" in final["errors"][0]["message"]


def test_a_bad_request_is_a_400_and_the_import_stays_waiting(make_api):
    api, _ = make_api()
    import_id = upload(api, as_csv(rows_of(3)))
    answer = api.post("/emails/schedule", batch(recipientsImportId=import_id,
                                                subject="Hi {{ first_name"))
    assert answer.status_code == 400
    assert api.get(f"/imports/{import_id}").json()["status"] == "uploading"
    both = api.post("/emails/schedule", batch(recipientsImportId=import_id,
                                              recipients=["a@example.com"]))
    assert both.status_code == 400


def test_scheduling_before_the_upload_is_a_400(make_api):
    api, _ = make_api()
    import_id = api.post("/imports").json()["importId"]
    answer = api.post("/emails/schedule", batch(recipientsImportId=import_id))
    assert answer.status_code == 400 and "uploaded" in answer.text


@pytest.mark.parametrize("per_invocation", [140, 0], ids=["staged", "direct"])
def test_skip_invalid_leaves_out_bad_rows_reports_them_by_line_and_plans_the_rest(
        make_api, per_invocation):
    api, pipeline = make_api(IMPORT_CHUNK_ROWS=70, IMPORT_ROWS_PER_INVOCATION=per_invocation)
    rows = rows_of(300)
    rows[10] = ("not-an-address", "Bad", "")
    rows[250] = ("someone@@example.com", "Typo", "")
    final = imported(api, as_csv(rows), skipInvalid=True)
    assert final["status"] == "done", final
    assert (final["rows"], final["valid"], final["invalid"]) == (300, 298, 2)
    assert [e["line"] for e in final["errors"]] == [12, 252]
    shown = api.get(f"/batches/{final['batchId']}").json()
    assert shown["counts"]["total"] == 298
    with pipeline.container.engine.connect() as c:
        stored = c.execute(sqlalchemy.text("SELECT recipient_email FROM emails")).scalars()
        assert {"not-an-address", "someone@@example.com"}.isdisjoint(set(stored))


def test_skip_invalid_with_no_valid_row_left_fails_saying_so(make_api):
    api, _ = make_api()
    final = imported(api, "email,first_name\nnope,A\n", skipInvalid=True)
    assert final["status"] == "failed" and final["batchId"] is None
    assert [e["line"] for e in final["errors"]] == [2, 0]
    assert "no valid recipient" in final["errors"][1]["message"]


def test_skip_invalid_is_for_imports_only(make_api):
    api, _ = make_api()
    answer = api.post("/emails/schedule", batch(recipients=["a@example.com"], skipInvalid=True))
    assert answer.status_code == 400 and "skipInvalid" in answer.text


def test_an_upload_without_the_upload_headers_says_what_went_wrong(make_api):
    # A form-typed PUT (what urllib sends with data=) is stored empty by moto's S3.
    api, _ = make_api()
    final = imported(api, as_csv(rows_of(3)),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert final["status"] == "failed"
    [error] = final["errors"]
    assert error["line"] == 0 and "empty" in error["message"]
    assert "application/x-www-form-urlencoded" in error["message"]
    assert "uploadHeaders" in error["message"]


def test_an_empty_upload_with_the_right_type_says_it_is_empty(make_api):
    api, _ = make_api()
    final = imported(api, "")
    assert final["errors"] == [{"line": 0, "message": "the uploaded file is empty"}]
