"""Mailboxes connected by OAuth through HTTP, on real Postgres, Redis and moto, a local OAuth
provider (tests/support/oauth_provider.py), an SMTP server offering only AUTH XOAUTH2 that
checks each token with that provider, and Dovecot validating IMAP XOAUTH2 tokens against the
provider's introspection endpoint."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import requests
import sqlalchemy

from emailsched.adapters.credentials import LocalCipher
from emailsched.ports import credential_context
from tests.support.dovecot import DovecotServer, free_port, running_dovecot, skip_reason
from tests.support.oauth_provider import CLIENT_ID, CLIENT_SECRET, OAuthProvider
from tests.support.smtp_sinks import XOAuth2Sink
from tests.support.stack import TEST_CREDENTIALS_KEY, Api, Pipeline, Services, prepare, wait_until

pytestmark = pytest.mark.integration
MAILBOX = "sales@acme.example"


@pytest.fixture
def provider() -> Iterator[OAuthProvider]:
    with OAuthProvider(access_ttl=5, mailbox=MAILBOX).start() as started:
        yield started


@pytest.fixture
def sink(provider: OAuthProvider) -> Iterator[XOAuth2Sink]:
    with XOAuth2Sink(provider.valid) as started:
        yield started


@pytest.fixture
def dovecot(provider: OAuthProvider) -> Iterator[DovecotServer]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with running_dovecot(oauth_introspection_url=f"{provider.url}/introspect") as server:
        server.add_user(MAILBOX, "no-password-is-used")  # makes its Maildir's home
        yield server


Stack = Callable[..., tuple[Pipeline, Api]]


@pytest.fixture
def stack(services: Services, provider: OAuthProvider,
          sink: XOAuth2Sink) -> Iterator[Stack]:
    with ExitStack() as cleanup:
        def start(sending: bool = False, imap_port: int | None = None,
                  **overrides: Any) -> tuple[Pipeline, Api]:
            from emailsched.local.api_server import make_server, serve_in_thread
            from emailsched.local.app_loader import load_app

            port = free_port()
            endpoints = {name: provider.endpoints(sink.port, imap_port)
                         for name in ("google", "microsoft")}
            settings = services.settings(**{
                "PUBLIC_URL": f"http://127.0.0.1:{port}", "GOOGLE_OAUTH_CLIENT_ID": CLIENT_ID,
                "GOOGLE_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
                "OAUTH_PROVIDER_ENDPOINTS": json.dumps(endpoints), **overrides})
            pipeline = Pipeline(prepare(settings))
            pipeline._server = make_server(load_app().app, "127.0.0.1", port)
            pipeline.url = pipeline._server.url
            pipeline.threads.append(serve_in_thread(pipeline._server))
            if sending:
                pipeline.start_workers()
                pipeline.start_pump()
            cleanup.callback(pipeline.close)
            return pipeline, Api(pipeline.url)
        yield start


def connect(api: Api, provider: str = "google", **options: Any) -> dict[str, list[str]]:
    """Start, the provider's consent (approved at once), the callback: the query the
    dashboard gets back."""
    started = api.post(f"/senders/oauth/{provider}/start", options or None)
    assert started.status_code == 200, started.text
    consent = requests.get(started.json()["authorizationUrl"], allow_redirects=False,
                           timeout=10)
    assert consent.status_code == 302
    back = requests.get(consent.headers["Location"], allow_redirects=False, timeout=60)
    assert back.status_code == 302, back.text
    fragment = urlparse(back.headers["Location"]).fragment
    assert fragment.startswith("/senders?")
    return parse_qs(fragment.split("?", 1)[1])


def rows(pipeline: Pipeline, sql: str, **params: Any) -> list[Any]:
    with pipeline.container.engine.connect() as connection:
        return list(connection.execute(sqlalchemy.text(sql), params))


def campaign(sender_id: str, count: int, delay_ms: int = 0) -> dict[str, Any]:
    return {"subject": "Hello", "body": "<p>Hi</p>", "senderIds": [sender_id],
            "recipients": [f"r{i}@example.org" for i in range(count)],
            "startTime": datetime.now(UTC).isoformat(), "delayMs": delay_ms,
            "hourlyLimit": 1000}


def stored_refresh_token(pipeline: Pipeline, sender_id: str) -> str:
    [(sealed,)] = rows(pipeline, "SELECT oauth_refresh_token_enc FROM senders WHERE id = :id",
                       id=sender_id)
    return LocalCipher(TEST_CREDENTIALS_KEY).decrypt(sealed, credential_context(
        sender_id, "oauth_refresh"))


def reply_to(message: Any) -> bytes:
    return (f"From: {message.to[0]}\r\nTo: {MAILBOX}\r\nSubject: Re: {message.subject}\r\n"
            f"Message-ID: <{uuid.uuid4()}@example.org>\r\nIn-Reply-To: {message.message_id}"
            f"\r\nReferences: {message.message_id}\r\n\r\nYes please\r\n").encode()


def test_a_google_mailbox_connects_sends_over_xoauth2_with_refreshes_and_reads_replies(
        stack, provider, sink, dovecot):
    pipeline, api = stack(sending=True, imap_port=dovecot.port)
    back = connect(api, name="Sales")
    assert "error" not in back, back
    [sender_id] = back["connected"]
    sender = api.get(f"/senders/{sender_id}").json()
    assert (sender["kind"], sender["email"], sender["status"]) == ("google", MAILBOX, "active")
    assert sender["dailyLimit"] == 2000  # a Workspace address: Google's own daily cap
    assert sender["oauth"]["provider"] == "google" and sender["oauth"]["connectedAt"]
    assert "https://mail.google.com/" in sender["oauth"]["scopes"]
    first_token = stored_refresh_token(pipeline, sender_id)
    verified = api.post(f"/senders/{sender_id}/verify")  # checked again, with XOAUTH2
    assert verified.status_code == 200 and verified.json()["status"] == "active", verified.text

    answer = api.post("/emails/schedule", campaign(sender_id, 20, delay_ms=600))
    assert answer.status_code == 201, answer.text
    messages = sink.wait_for(20, timeout=90)
    assert sorted(m.to[0] for m in messages) == sorted(f"r{i}@example.org" for i in range(20))
    # Every login presented a token the provider held live at that moment.
    assert sink.logins and all(accepted for _, _, accepted, _ in sink.logins)
    refreshes = provider.refresh_count(MAILBOX)
    print(f"\n20 emails over 12 s with 5 s tokens: {len(sink.logins)} logins, "
          f"{refreshes} refreshes")
    assert refreshes >= 2
    kept = stored_refresh_token(pipeline, sender_id)  # the latest rotation, kept
    assert kept != first_token and kept not in provider.rotated_out

    dovecot.write_messages(MAILBOX, [reply_to(messages[0])])
    report = pipeline.container.replies.run()
    assert report.replies == 1, report.as_dict()
    stops = rows(pipeline, "SELECT recipient_email, reason FROM sequence_stops")
    assert stops == [(messages[0].to[0], "replied")]


@pytest.mark.parametrize("state", ["", "forged-state-never-issued"])
def test_a_missing_or_forged_state_is_400_and_stores_nothing(stack, state):
    pipeline, _ = stack()
    callback = f"{pipeline.url}/senders/oauth/google/callback"
    answer = requests.get(callback, params={"code": "x", "state": state} if state else
                          {"code": "x"}, allow_redirects=False, timeout=10)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "state"
    assert rows(pipeline, "SELECT count(*) FROM senders")[0][0] == 0


def test_a_state_works_once_and_not_after_ten_minutes(stack, provider):
    pipeline, api = stack()
    started = api.post("/senders/oauth/google/start").json()["authorizationUrl"]
    callback = requests.get(started, allow_redirects=False, timeout=10).headers["Location"]
    assert requests.get(callback, allow_redirects=False, timeout=30).status_code == 302
    again = requests.get(callback, allow_redirects=False, timeout=30)
    assert again.status_code == 400, again.text  # reused
    assert rows(pipeline, "SELECT count(*) FROM senders")[0][0] == 1

    started = api.post("/senders/oauth/google/start").json()["authorizationUrl"]
    callback = requests.get(started, allow_redirects=False, timeout=10).headers["Location"]
    rows(pipeline, "SELECT 1")
    with pipeline.container.engine.begin() as connection:
        connection.execute(sqlalchemy.text(
            "UPDATE oauth_states SET expires_at = now() - interval '1 second'"))
    expired = requests.get(callback, allow_redirects=False, timeout=30)
    assert expired.status_code == 400, expired.text
    assert rows(pipeline, "SELECT count(*) FROM senders")[0][0] == 1


@pytest.mark.parametrize(("setup", "says"), [
    (lambda p, s: setattr(p, "refuse_codes", True), "invalid_grant"),
    (lambda p, s: setattr(p, "id_token_email", False), "names no mailbox address"),
    (lambda p, s: setattr(s, "valid", lambda token: None), "535"),
])
def test_a_refused_check_stores_nothing_and_says_why(stack, provider, sink, setup, says):
    pipeline, api = stack()
    setup(provider, sink)
    back = connect(api)
    assert "connected" not in back
    assert says in unquote(back["error"][0]), back
    assert rows(pipeline, "SELECT count(*) FROM senders")[0][0] == 0


def test_a_microsoft_mailbox_is_named_by_preferred_username_with_its_daily_cap(
        stack, provider):
    pipeline, api = stack(MICROSOFT_OAUTH_CLIENT_ID=CLIENT_ID,
                          MICROSOFT_OAUTH_CLIENT_SECRET=CLIENT_SECRET)
    provider.id_token_email = False  # Microsoft's ID tokens may carry no `email`
    [sender_id] = connect(api, "microsoft", dailyLimit=300, timezone="Europe/Berlin")["connected"]
    sender = api.get(f"/senders/{sender_id}").json()
    assert (sender["kind"], sender["email"]) == ("microsoft", MAILBOX)
    assert (sender["dailyLimit"], sender["timezone"]) == (300, "Europe/Berlin")  # as asked
    assert "offline_access" in sender["oauth"]["scopes"]
    provider.mailbox = "other@acme.example"
    [other_id] = connect(api, "microsoft")["connected"]
    assert api.get(f"/senders/{other_id}").json()["dailyLimit"] == 10_000  # Microsoft 365's
    config = requests.get(f"{pipeline.url}/auth/config", timeout=10).json()
    assert config["oauthProviders"] == ["google", "microsoft"]


def test_an_unconfigured_provider_is_404_and_auth_config_names_the_configured(stack):
    pipeline, api = stack()
    refused = api.post("/senders/oauth/microsoft/start")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "provider_not_configured"
    config = requests.get(f"{pipeline.url}/auth/config", timeout=10).json()
    assert config["oauthProviders"] == ["google"]


def test_a_revoked_grant_holds_the_emails_and_a_reconnect_sends_each_once(
        stack, provider, sink, services, caplog):
    caplog.set_level(logging.DEBUG)
    pipeline, api = stack(sending=True)
    [sender_id] = connect(api)["connected"]
    provider.revoke(MAILBOX)
    # The token the connect left in the cache is a revoked grant's: it goes at a reconnect,
    # and here it expires in 5 s, after which the refresh is refused.
    answer = api.post("/emails/schedule", campaign(sender_id, 10))
    assert answer.status_code == 201, answer.text
    wait_until(lambda: api.get(f"/senders/{sender_id}").json()["status"] == "failing", 60)
    sender = api.get(f"/senders/{sender_id}").json()
    assert sender["lastError"].startswith("reconnect:"), sender["lastError"]
    wait_until(lambda: rows(pipeline, "SELECT count(*) FROM emails WHERE status = 'held'"
                            )[0][0] == 10, 30)
    assert rows(pipeline, "SELECT max(attempts) FROM emails")[0][0] == 0
    assert sink.messages == []

    assert connect(api)["connected"] == [sender_id]  # the same address: the same sender
    messages = sink.wait_for(10, timeout=60)
    wait_until(lambda: rows(pipeline, "SELECT count(*) FROM emails WHERE status = 'sent'"
                            )[0][0] == 10, 30)
    assert sorted(m.to[0] for m in messages) == sorted(f"r{i}@example.org" for i in range(10))
    assert api.get(f"/senders/{sender_id}").json()["status"] == "active"
    _no_token_anywhere(pipeline, api, provider, services, caplog)


def test_a_verify_that_finds_the_grant_revoked_says_reconnect(stack, provider):
    _, api = stack()
    [sender_id] = connect(api)["connected"]
    provider.revoke(MAILBOX)
    refused = api.post(f"/senders/{sender_id}/verify")
    assert refused.status_code == 502 and refused.json()["error"]["code"] == "oauth_refused"
    sender = api.get(f"/senders/{sender_id}").json()
    assert sender["status"] == "failing" and sender["lastError"].startswith("reconnect:")


def _no_token_anywhere(pipeline: Pipeline, api: Api, provider: OAuthProvider,
                       services: Services, caplog: Any) -> None:
    from tests.integration.test_senders import pg_dump

    redis = pipeline.container.redis
    prefix = pipeline.container.settings.REDIS_KEY_PREFIX
    cached = [str(redis.get(key)) for key in redis.scan_iter(match=f"{prefix}oauth:token:*")]
    assert cached and all(value.startswith("b'v1.local.") for value in cached)
    texts = [api.get("/senders").text, pg_dump(services.database_url), *cached,
             *(record.getMessage() for record in caplog.records)]
    secrets = [*provider.issued, CLIENT_SECRET]
    leaked = [s for s in secrets for text in texts if s in text]
    assert leaked == []


def test_workers_asking_at_once_share_one_refresh_per_expiry(stack, provider):
    from concurrent.futures import ThreadPoolExecutor

    from emailsched.adapters.db.oauth import PgOAuthStore
    from emailsched.adapters.oauth_client import TokenEndpoint
    from emailsched.adapters.oauth_tokens import RedisAccessTokens

    provider.access_ttl = 3  # used for 2.7 s
    pipeline, api = stack()
    [sender_id] = connect(api)["connected"]
    c = pipeline.container
    # Four "workers": each its own client, endpoint and in-process memo; one Redis.
    workers = [RedisAccessTokens(c.redis, c.settings.REDIS_KEY_PREFIX, PgOAuthStore(c.engine),
                                 lambda: c.cipher, TokenEndpoint(), c.oauth_provider)
               for _ in range(4)]

    def ask_at_once() -> set[str]:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda i: workers[i % 4].access_token(
                uuid.UUID(sender_id))[0], range(32)))
        assert all(provider.valid(token) == MAILBOX for token in answers)
        return set(answers)

    assert len(ask_at_once()) == 1 and provider.refresh_count() == 1
    assert len(ask_at_once()) == 1 and provider.refresh_count() == 1  # still in use
    time.sleep(2.8)
    assert len(ask_at_once()) == 1 and provider.refresh_count() == 2  # one more, not 32
    assert stored_refresh_token(pipeline, sender_id) not in provider.rotated_out
