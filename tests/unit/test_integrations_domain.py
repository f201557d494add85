"""API key scopes, webhook signatures (checked with the Standard Webhooks reference library),
the retry schedule and the SSRF checks on URLs (issue 28)."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from emailsched.adapters.webhook_http import WebhookClient
from emailsched.domain import api_keys, webhooks
from emailsched.domain.webhooks import Message, Outcome
from emailsched.errors import InvalidRequest
from emailsched.services.api_keys import new_key

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


@pytest.mark.parametrize(("method", "path", "scope"), [
    ("GET", "/webhooks/{webhook_id}/deliveries", "read"),
    ("POST", "/emails/schedule", "schedule"), ("POST", "/imports", "schedule"),
    ("POST", "/batches/{batch_id}/pause", "schedule"), ("PATCH", "/senders/{id}", "senders"),
    ("DELETE", "/suppressions/{email}", "suppressions"), ("POST", "/inbox/{id}/reply", "inbox"),
    ("POST", "/webhooks", "webhooks"), ("POST", "/api-keys", "session"),
    ("PATCH", "/auth/me", "session"), ("POST", "/importsx", "session"),
])
def test_a_routes_scope_follows_its_method_and_area(method: str, path: str, scope: str):
    assert api_keys.scope_for(method, path) == scope


def test_a_key_allows_its_scopes_only_and_never_what_needs_a_session():
    assert api_keys.allows(None, api_keys.SESSION)
    assert api_keys.allows(frozenset({"read"}), "read")
    assert not api_keys.allows(frozenset({"read"}), "schedule")
    assert not api_keys.allows(frozenset(api_keys.SCOPES), api_keys.SESSION)


def test_keys_are_es_and_40_url_safe_characters_and_hash_to_32_bytes():
    keys = {new_key() for _ in range(50)}
    assert len(keys) == 50 and all(api_keys.KEY_SHAPE.match(key) for key in keys)
    assert len(api_keys.key_hash(keys.pop())) == 32


def test_a_signed_delivery_verifies_with_the_reference_library():
    secret = webhooks.secret_from(os.urandom(32))
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    payload = webhooks.body("email.sent", NOW, {"emailId": "e1", "recipient": "a@b.example"})
    stamp = int(datetime.now(UTC).timestamp())
    headers = webhooks.headers(secret, "msg_1", stamp, payload)
    assert Webhook(secret).verify(payload, headers) == {
        "type": "email.sent", "timestamp": "2026-12-07T12:00:00.000Z",
        "data": {"emailId": "e1", "recipient": "a@b.example"}}
    tampered = payload.replace(b"a@b", b"c@d")
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(secret).verify(tampered, headers)


def _message(failures: int = 0) -> Message:
    return Message(1, "msg_1", "email.sent", {}, NOW, failures, failures)


def test_retries_follow_the_schedule_then_give_up():
    schedule = webhooks.DEFAULT_RETRY_SECONDS
    delays = []
    for failures in range(len(schedule)):
        result = webhooks.result(_message(failures), Outcome(500), NOW, schedule)
        assert result.state == "pending" and result.next_attempt_at is not None
        delays.append((result.next_attempt_at - NOW).total_seconds())
    assert delays == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert webhooks.result(_message(7), Outcome(500), NOW, schedule).state == "failed"
    assert webhooks.result(_message(0), Outcome(410), NOW, schedule).state == "failed"
    assert webhooks.result(_message(3), Outcome(204), NOW, schedule).state == "delivered"


def test_retry_after_on_429_and_503_pushes_the_retry_later_only():
    later = webhooks.result(_message(), Outcome(429, retry_after=120), NOW, (5,))
    assert later.next_attempt_at == NOW + timedelta(seconds=120)
    sooner = webhooks.result(_message(), Outcome(503, retry_after=1), NOW, (5,))
    assert sooner.next_attempt_at == NOW + timedelta(seconds=5)
    ignored = webhooks.result(_message(), Outcome(500, retry_after=120), NOW, (5,))
    assert ignored.next_attempt_at == NOW + timedelta(seconds=5)
    assert webhooks.parse_retry_after("Mon, 07 Dec 2026 12:01:00 GMT", NOW) == 60.0
    assert webhooks.parse_retry_seconds("1, 2,3") == (1, 2, 3)


def _client(answers: dict[str, list[str]], allowed: str = "") -> WebhookClient:
    hosts = frozenset(h for h in allowed.split(",") if h)
    return WebhookClient(hosts, resolver=lambda host, port: answers.get(host, []))


@pytest.mark.parametrize("url", [
    "https://169.254.169.254/latest/meta-data", "https://10.1.2.3/", "https://localhost/",
    "https://[::1]/", "https://0x7f000001/", "https://[::ffff:127.0.0.1]/",
    "https://rebind.example/", "http://public.example/", "ftp://public.example/",
    "https://user:pw@public.example/", "https://nowhere.example/", "not a url",
])
def test_urls_to_private_reserved_or_unresolvable_hosts_or_without_https_are_refused(url: str):
    client = _client({"169.254.169.254": ["169.254.169.254"], "10.1.2.3": ["10.1.2.3"],
                      "localhost": ["127.0.0.1", "::1"], "::1": ["::1"],
                      "0x7f000001": ["127.0.0.1"], "::ffff:127.0.0.1": ["::ffff:127.0.0.1"],
                      "rebind.example": ["93.184.215.14", "127.0.0.1"],
                      "public.example": ["93.184.215.14"]})
    with pytest.raises(InvalidRequest) as refused:
        client.check(url)
    assert refused.value.details[0]["field"] == "url"


def test_public_https_urls_and_listed_hosts_pass():
    client = _client({"hooks.example": ["93.184.215.14", "2606:2800:21f:cb07::1"],
                      "127.0.0.1": ["127.0.0.1"]}, allowed="127.0.0.1")
    assert client.check("https://hooks.example/in?x=1").path == "/in?x=1"
    assert client.check("http://127.0.0.1:8080/hook").allowed
    with pytest.raises(InvalidRequest):
        _client({"127.0.0.1": ["127.0.0.1"]}, allowed="127.0.0.1:9").check(
            "http://127.0.0.1:8080/hook")


def test_a_principal_reads_as_its_user_and_checks_scopes():
    import uuid

    from emailsched.domain.records import User
    from emailsched.errors import InsufficientScope
    from emailsched.services.auth import Principal

    user = User(uuid.uuid4(), "a@example.com", "A", None)
    key = Principal(user, frozenset({"read"}))
    assert (key.id, key.email) == (user.id, "a@example.com")
    key.require("read")
    with pytest.raises(InsufficientScope):
        key.require("schedule")
    with pytest.raises(InsufficientScope):
        key.require(api_keys.SESSION)
    Principal(user).require(api_keys.SESSION)


def test_the_dispatch_loop_survives_a_failed_run_and_stops_when_told():
    import threading

    from emailsched.services.webhook_dispatch import DispatchReport, run_forever

    class Flaky:
        def __init__(self) -> None:
            self.runs = 0

        def run(self, budget: float | None, stop: threading.Event) -> DispatchReport:
            self.runs += 1
            if self.runs == 1:
                raise KeyError("a bug in one run")
            if self.runs == 3:
                stop.set()
            return DispatchReport(attempts=1, delivered=1)

    flaky, stop = Flaky(), threading.Event()
    total = run_forever(flaky, 0.01, stop)  # type: ignore[arg-type]
    assert flaky.runs == 3 and total.delivered == 2
