"""The suppression list and one-click unsubscribe through HTTP, on real Postgres and Redis."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from emailsched import bootstrap
from emailsched.domain.unsubscribe import make_token
from tests.support.stack import Api, Services, prepare, serving_api

pytestmark = pytest.mark.integration


@pytest.fixture
def api_url(services: Services) -> Iterator[str]:
    prepare(services.settings(UNSUBSCRIBE_REQUESTS_PER_MINUTE_PER_TOKEN=5))
    with serving_api() as url:
        yield url


def schedule(api: Api, recipients: list[str]) -> dict:
    answer = api.post("/emails/schedule", {
        "subject": "Hello", "body": "<p>Hi</p>", "recipients": recipients,
        "startTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "delayMs": 0,
        "hourlyLimit": 100, "sender": {"email": "sales@example.com", "name": "Sales"}})
    assert answer.status_code == 201, answer.text
    return answer.json()


def token_for(api: Api, recipient: str) -> str:
    emails = api.get("/emails/scheduled", limit=100).json()["emails"]
    email_id = next(e["id"] for e in emails if e["recipientEmail"] == recipient)
    import uuid

    return make_token(bootstrap.container().settings.unsubscribe_key, uuid.UUID(email_id))


def listed(api: Api) -> dict[str, str]:
    body = api.get("/suppressions").json()
    return {s["email"]: s["reason"] for s in body["suppressions"]}


def test_addresses_are_added_listed_and_removed_case_insensitively(api_url):
    api = Api(api_url)
    answer = api.post("/suppressions", {"emails": ["Bob@Example.com", "carol@example.com"]})
    assert answer.status_code == 201 and answer.json() == {"added": 2}
    assert api.post("/suppressions", {"emails": ["bob@example.com"]}).json() == {"added": 0}
    assert listed(api) == {"bob@example.com": "manual", "carol@example.com": "manual"}
    page = api.get("/suppressions", limit=1).json()
    assert page["pagination"] == {"page": 1, "limit": 1, "total": 2, "pages": 2}
    gone = api.session.delete(f"{api_url}/suppressions/BOB%40example.com")
    assert gone.status_code == 204
    assert api.session.delete(f"{api_url}/suppressions/bob@example.com").status_code == 404
    assert listed(api) == {"carol@example.com": "manual"}
    assert listed(Api(api_url, email="other@example.com")) == {}


def test_a_bad_address_is_a_400_naming_it_and_nothing_is_stored(api_url):
    api = Api(api_url)
    answer = api.post("/suppressions", {"emails": ["ok@example.com", "not an address"]})
    assert answer.status_code == 400
    assert answer.json()["error"]["details"][0]["field"] == "emails[1]"
    assert listed(api) == {}


def test_the_postal_address_is_set_and_shown_on_the_user(api_url):
    api = Api(api_url)
    answer = api.session.patch(f"{api_url}/auth/me", json={"postalAddress": "1 Main St\nTown"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["postalAddress"] == "1 Main St\nTown"
    assert api.get("/auth/me").json()["user"]["postalAddress"] == "1 Main St\nTown"


def test_one_click_post_unsubscribes_without_a_session_and_again_is_harmless(api_url):
    api = Api(api_url)
    schedule(api, ["lead@example.com", "other@example.com"])
    url = f"{api_url}/u/{token_for(api, 'lead@example.com')}"
    for _ in range(2):
        answer = requests.post(url, data={"List-Unsubscribe": "One-Click"},
                               allow_redirects=False, timeout=10)
        assert answer.status_code == 200 and not answer.is_redirect
    multipart = requests.post(url, files={"List-Unsubscribe": (None, "One-Click")},
                              allow_redirects=False, timeout=10)
    assert multipart.status_code == 200
    assert listed(api) == {"lead@example.com": "unsubscribed"}


def test_the_get_page_only_asks_and_an_altered_token_is_a_404(api_url):
    api = Api(api_url)
    schedule(api, ["lead@example.com"])
    token = token_for(api, "lead@example.com")
    page = requests.get(f"{api_url}/u/{token}", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert '<form method="post">' in page.text and "l***@example.com" in page.text
    assert listed(api) == {}
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for method in (requests.get, requests.post):
        assert method(f"{api_url}/u/{altered}", timeout=10).status_code == 404
    assert requests.post(f"{api_url}/u/not-a-token", timeout=10).status_code == 404
    assert listed(api) == {}


def test_the_public_routes_are_rate_limited_per_token(api_url):
    api = Api(api_url)
    schedule(api, ["lead@example.com"])
    url = f"{api_url}/u/{token_for(api, 'lead@example.com')}"
    codes = [requests.get(url, timeout=10).status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
