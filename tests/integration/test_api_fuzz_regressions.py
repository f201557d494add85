"""Inputs the API fuzzer (tests/reliability/test_api_fuzzing.py) once answered with a 5xx or
outside SPEC.md's error shape: each is now a clear 4xx in the error shape and stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.support.stack import Api, Services, prepare, serving_api

pytestmark = pytest.mark.integration


@pytest.fixture
def api_url(services: Services) -> Iterator[str]:
    prepare(services.settings())
    with serving_api() as url:
        yield url


def error_of(answer: requests.Response, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_a_nul_in_the_dev_login_name_is_a_400_not_a_503(api_url):
    answer = requests.post(f"{api_url}/auth/dev-login", timeout=10,
                           json={"email": "nul@example.com", "name": "Bob\u0000"})
    assert error_of(answer, 400)["details"][0]["field"] == "name"
    assert requests.post(f"{api_url}/auth/dev-login", timeout=10,
                         json={"email": "nul@example.com", "name": "Bob"}).status_code == 200


def test_dev_login_refuses_what_is_not_an_address_naming_email(api_url):
    answer = requests.post(f"{api_url}/auth/dev-login", timeout=10,
                           json={"email": "not-an-email"})
    assert error_of(answer, 400)["details"][0]["field"] == "email"


def test_an_unknown_unsubscribe_token_is_the_error_body_unless_a_browser_asks(api_url):
    for method in (requests.get, requests.post):
        assert error_of(method(f"{api_url}/u/0", timeout=10), 404)["code"] == "not_found"
        page = method(f"{api_url}/u/0", timeout=10,
                      headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("limit", [2**31, 2**63, 10**30])
def test_an_hourly_limit_over_a_postgres_integer_is_a_400(api_url, limit):
    api = Api(api_url)
    answer = api.post("/emails/schedule", {
        "subject": "Hi", "body": "<p>Hi</p>", "recipients": ["a@example.com"],
        "startTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "delayMs": 0,
        "hourlyLimit": limit, "sender": {"email": "me@example.com", "name": "Me"}})
    assert error_of(answer, 400)["details"][0]["field"] == "hourlyLimit"
    assert api.get("/batches").json()["batches"] == []


@pytest.mark.parametrize("field", ["hourlyLimit", "dailyLimit"])
def test_a_sender_limit_over_a_postgres_integer_is_a_400(api_url, field):
    api = Api(api_url)
    answer = api.post("/senders", {"email": "me@example.com", field: 2**31})
    assert error_of(answer, 400)["details"][0]["field"] == field
    assert api.get("/senders").json()["senders"] == []
