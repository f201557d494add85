"""API keys through HTTP (issue 28): shown once, stored as a hash, scoped, revoked at once."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import sqlalchemy

from tests.support.stack import Api, Pipeline, Services, prepare

pytestmark = pytest.mark.integration


@pytest.fixture
def api(services: Services) -> Iterator[tuple[Api, Pipeline]]:
    container = prepare(services.settings())
    pipeline = Pipeline(container, pollers=0)
    pipeline.start()
    pipeline.stop.set()  # no pump: nothing is sent
    yield Api(pipeline.url), pipeline
    pipeline.close()
    container.close()


def _with_key(url: str, key: str, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{url}{path}", json=body, timeout=30,
                            headers={"Authorization": f"Bearer {key}"})


def _schedule_body() -> dict[str, Any]:
    return {"subject": "Hi", "body": "<p>Hello</p>", "recipients": ["x@example.com"],
            "startTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "delayMs": 0,
            "hourlyLimit": 10, "sender": {"email": "sales@example.com", "name": "Sales"}}


def test_a_read_key_reads_but_cannot_schedule_or_manage_keys(api: tuple[Api, Pipeline]):
    session, pipeline = api
    created = session.post("/api-keys", {"name": "reporting", "scopes": ["read"]})
    assert created.status_code == 201, created.text
    body = created.json()
    key = body["key"]
    assert key.startswith("es_") and len(key) == 43 and body["scopes"] == ["read"]
    assert set(body) == {"id", "name", "scopes", "key", "createdAt"}

    assert _with_key(pipeline.url, key, "GET", "/batches").status_code == 200
    refused = _with_key(pipeline.url, key, "POST", "/emails/schedule", _schedule_body())
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "insufficient_scope"
    for method, path in (("GET", "/api-keys"), ("POST", "/api-keys"),
                         ("DELETE", f"/api-keys/{body['id']}")):
        answer = _with_key(pipeline.url, key, method, path, {"name": "x", "scopes": ["read"]})
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "insufficient_scope"

    listed = session.get("/api-keys").json()["apiKeys"]
    assert [k["id"] for k in listed] == [body["id"]]
    assert "key" not in listed[0] and listed[0]["lastUsedAt"] is not None


def test_a_schedule_key_schedules_and_a_deleted_key_is_refused_at_once(
        api: tuple[Api, Pipeline]):
    session, pipeline = api
    body = session.post("/api-keys", {"name": "crm", "scopes": ["schedule", "read"]}).json()
    assert body["scopes"] == ["read", "schedule"]
    scheduled = _with_key(pipeline.url, body["key"], "POST", "/emails/schedule",
                          _schedule_body())
    assert scheduled.status_code == 201, scheduled.text
    assert _with_key(pipeline.url, body["key"], "POST", "/suppressions",
                     {"emails": ["a@example.com"]}).status_code == 403

    assert session.session.delete(f"{pipeline.url}/api-keys/{body['id']}").status_code == 204
    gone = _with_key(pipeline.url, body["key"], "GET", "/batches")
    assert gone.status_code == 401, gone.text
    assert session.session.delete(f"{pipeline.url}/api-keys/{body['id']}").status_code == 404


def test_bad_keys_and_bad_requests(api: tuple[Api, Pipeline]):
    session, pipeline = api
    for key in ("es_" + "A" * 40, "es_short", "es_" + "!" * 40):
        assert _with_key(pipeline.url, key, "GET", "/batches").status_code == 401
    bad = session.post("/api-keys", {"name": " ", "scopes": ["read", "admin"]})
    assert bad.status_code == 400
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"name", "scopes"}
    other = Api(pipeline.url, email="bob@example.com")
    mine = session.post("/api-keys", {"name": "k", "scopes": ["read"]}).json()
    assert other.session.delete(f"{pipeline.url}/api-keys/{mine['id']}").status_code == 404


def test_no_key_is_in_the_database_in_plain_text(api: tuple[Api, Pipeline]):
    session, pipeline = api
    key = session.post("/api-keys", {"name": "k", "scopes": ["read"]}).json()["key"]
    url = sqlalchemy.engine.make_url(pipeline.container.settings.DATABASE_URL)
    dumped = subprocess.run(
        ["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", "--data-only", url.database or ""],
        capture_output=True, text=True, check=False)
    if dumped.returncode != 0:
        pytest.skip(f"pg_dump unavailable: {dumped.stderr[:200]}")
    assert "api_keys" in dumped.stdout
    assert key not in dumped.stdout and key[3:] not in dumped.stdout
