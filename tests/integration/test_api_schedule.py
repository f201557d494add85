"""POST /emails/schedule and the read routes, through HTTP, on real Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy

from tests.support.stack import Api, Services, prepare, serving_api

pytestmark = pytest.mark.integration


@pytest.fixture
def api_url(services: Services) -> Iterator[str]:
    prepare(services.settings())
    with serving_api() as url:
        yield url


@pytest.fixture(scope="module")
def shared_api_url(services: Services) -> Iterator[str]:
    """One API for the tests that store nothing (the session checks)."""
    prepare(services.settings())
    with serving_api() as url:
        yield url


def future(seconds: float = 3600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def valid(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "subject": "Hello", "body": "<p>Hi there</p>",
        "recipients": ["a@example.com", "b@example.com", "A@example.com"],
        "startTime": future(), "delayMs": 2000, "hourlyLimit": 100,
        "sender": {"email": "sales@example.com", "name": "Sales"}}
    body.update(overrides)
    return body


def stored_emails(services: Services) -> int:
    engine = sqlalchemy.create_engine(services.database_url)
    with engine.connect() as connection:
        count = connection.exec_driver_sql("SELECT count(*) FROM emails").scalar_one()
    engine.dispose()
    return int(count)


def test_a_batch_is_scheduled_with_duplicates_removed_and_times_planned(api_url):
    api = Api(api_url)
    answer = api.post("/emails/schedule", valid())
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["success"] is True and body["emailCount"] == 2
    assert body["duplicatesRemoved"] == 1
    start = datetime.fromisoformat(body["startTime"])
    end = datetime.fromisoformat(body["estimatedEndTime"])
    assert end - start == timedelta(seconds=2)
    listed = api.get("/emails/scheduled").json()
    assert [e["recipientEmail"] for e in listed["emails"]] == ["a@example.com", "b@example.com"]
    assert listed["emails"][0]["status"] == "scheduled"
    assert listed["emails"][0]["sender"] == {"name": "Sales", "email": "sales@example.com"}
    assert listed["pagination"] == {"page": 1, "limit": 20, "total": 2, "pages": 1}
    batch = api.get(f"/batches/{body['batchId']}").json()
    assert batch["counts"]["scheduled"] == 2 and batch["status"] == "active"


BAD_INPUTS = [
    ("no recipients", valid(recipients=[]), 400, "recipients"),
    ("an invalid address", valid(recipients=["ok@example.com", "nope"]), 400, "recipients[1]"),
    ("empty subject", valid(subject=""), 400, "subject"),
    ("blank subject", valid(subject="   "), 400, "subject"),
    ("CR/LF in the subject", valid(subject="Hi\r\nBcc: x@y.com"), 400, "subject"),
    ("NUL in the body", valid(body="a\0b"), 400, "body"),
    ("negative delay", valid(delayMs=-1), 400, "delayMs"),
    ("zero hourly limit", valid(hourlyLimit=0), 400, "hourlyLimit"),
    ("absurd hourly limit", valid(hourlyLimit=10**9), 400, "hourlyLimit"),
    ("startTime without an offset", valid(startTime="2030-01-01T10:00:00"), 400, "startTime"),
    ("startTime in 1970", valid(startTime="1970-01-01T00:00:00Z"), 400, "startTime"),
    ("startTime in year 9999", valid(startTime="9999-01-01T00:00:00Z"), 400, "startTime"),
    ("a number as a string", valid(delayMs="1000"), 400, "delayMs"),
    ("recipients not a list", valid(recipients="a@example.com"), 400, "recipients"),
    ("an unknown field", valid(cc=["x@example.com"]), 400, "cc"),
    ("a bad sender", valid(sender={"email": "not-an-address"}), 400, "sender.email"),
    ("more than 100,000 recipients",
     valid(recipients=[f"r{i}@example.com" for i in range(100_001)]), 413, "recipients"),
]


@pytest.mark.parametrize("case, body, status, field", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_refused_naming_the_problem_and_nothing_is_stored(
        api_url, services, case, body, status, field):
    answer = Api(api_url).post("/emails/schedule", body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] and error["message"]
    assert field in [d.get("field") for d in error["details"]], error
    assert stored_emails(services) == 0


@pytest.mark.parametrize("raw, content_type, status", [
    (b"{not json", "application/json", 400),
    (b'{"subject": "a", "subject": "b"}', "application/json", 400),
    (b"", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b"subject=hi", "application/x-www-form-urlencoded", 415),
])
def test_malformed_bodies_get_a_clear_error(api_url, services, raw, content_type, status):
    api = Api(api_url)
    answer = api.session.post(f"{api_url}/emails/schedule", data=raw,
                              headers={"Content-Type": content_type})
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["message"]
    assert stored_emails(services) == 0


@pytest.mark.parametrize("path, method", [
    ("/auth/me", "GET"), ("/emails/scheduled", "GET"), ("/emails/sent", "GET"),
    ("/emails/stats", "GET"), ("/batches", "GET"), ("/emails/schedule", "POST"),
    ("/batches/00000000-0000-0000-0000-000000000000", "GET"),
])
@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer garbage", "Basic abc",
                                           "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"])
def test_every_route_needs_a_valid_session(shared_api_url, path, method, authorization):
    import requests

    headers = {"Authorization": authorization} if authorization else {}
    answer = requests.request(method, f"{shared_api_url}{path}", headers=headers, json={},
                              timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"


def test_tokens_signed_with_another_secret_or_expired_are_refused(api_url):
    import jwt
    import requests

    user = Api(api_url).user
    now = datetime.now(UTC)
    forged = jwt.encode({"sub": user["id"], "iss": "emailsched", "exp": now + timedelta(hours=1)},
                        "another-secret-that-is-also-long-enough-000", algorithm="HS256")
    from tests.support.stack import SECRET

    expired = jwt.encode({"sub": user["id"], "iss": "emailsched", "exp": now - timedelta(1)},
                         SECRET, algorithm="HS256")
    for token, message in ((forged, "invalid"), (expired, "expired")):
        answer = requests.get(f"{api_url}/auth/me", headers={"Authorization": f"Bearer {token}"},
                              timeout=10)
        assert answer.status_code == 401 and message in answer.json()["error"]["message"]


def test_another_users_batch_is_not_found_and_unchanged(api_url):
    alice, bob = Api(api_url, "alice@example.com"), Api(api_url, "bob@example.com")
    batch_id = alice.post("/emails/schedule", valid()).json()["batchId"]
    assert bob.get(f"/batches/{batch_id}").status_code == 404
    for action in ("pause", "resume", "cancel"):
        answer = bob.post(f"/batches/{batch_id}/{action}")
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert bob.get("/emails/scheduled").json()["pagination"]["total"] == 0
    assert bob.get("/emails/scheduled", batchId=batch_id).json()["emails"] == []
    assert bob.get("/batches").json()["batches"] == []
    assert alice.get(f"/batches/{batch_id}").json()["status"] == "active"


def test_pause_resume_cancel_and_conflicts(api_url):
    api = Api(api_url)
    batch_id = api.post("/emails/schedule", valid()).json()["batchId"]
    assert api.post(f"/batches/{batch_id}/resume").status_code == 409
    paused = api.post(f"/batches/{batch_id}/pause").json()
    assert paused["status"] == "paused" and paused["counts"]["paused"] == 2
    assert api.post(f"/batches/{batch_id}/pause").status_code == 409
    resumed = api.post(f"/batches/{batch_id}/resume").json()
    assert resumed["status"] == "active" and resumed["counts"]["scheduled"] == 2
    cancelled = api.post(f"/batches/{batch_id}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["counts"]["cancelled"] == 2
    conflict = api.post(f"/batches/{batch_id}/cancel")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "conflict"


def test_stats_and_openapi(api_url):
    api = Api(api_url)
    api.post("/emails/schedule", valid())
    stats = api.get("/emails/stats").json()
    assert stats["total"] == 2 and stats["scheduled"] == 2 and stats["sentLastHour"] == 0
    assert len(stats["perHour"]) == 24
    document = api.get("/openapi.json").json()
    assert "/emails/schedule" in document["paths"]
    assert "ScheduleIn" in document["components"]["schemas"]


def test_dev_login_is_refused_outside_dev_mode(services):
    container = prepare(services.settings(AUTH_MODE="google", GOOGLE_CLIENT_ID="client"))
    import requests

    try:
        with serving_api() as url:
            answer = requests.post(f"{url}/auth/dev-login", json={"email": "a@b.com"},
                                   timeout=10)
        assert answer.status_code == 404
    finally:
        container.close()
