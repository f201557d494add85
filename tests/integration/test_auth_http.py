"""Sign-in, sessions, CORS, security headers, abuse limits and log hygiene, through HTTP."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import sqlalchemy

from tests.support.google_keys import (
    TEST_CLIENT_ID,
    GoogleCertServer,
    SigningKey,
    make_google_token,
)
from tests.support.smtp_sinks import TlsAuthSink
from tests.support.stack import Api, Pipeline, Services, prepare, wait_until

pytestmark = pytest.mark.integration
Serve = Callable[..., str]


@pytest.fixture
def serve(services: Services) -> Iterator[Serve]:
    """Starts the API on settings with the given overrides; returns its URL."""
    pipelines: list[Pipeline] = []

    def start(pollers: int = 0, pump: bool = False, **overrides: Any) -> str:
        container = prepare(services.settings(**overrides))
        pipeline = Pipeline(container, pollers=pollers)
        pipeline.start()
        if not pump:
            pipeline.stop.set()
        pipelines.append(pipeline)
        return pipeline.url

    yield start
    for pipeline in pipelines:
        pipeline.close()
        pipeline.container.close()


def google(url: str, token: str) -> requests.Response:
    return requests.post(f"{url}/auth/google-login", json={"credential": token}, timeout=10)


def test_google_sign_in_creates_the_user_once_and_updates_it(
        serve: Serve, google_cert_server: GoogleCertServer, google_signing_key: SigningKey,
        services: Services):
    url = serve(AUTH_MODE="google", GOOGLE_CLIENT_ID=TEST_CLIENT_ID,
                GOOGLE_CERTS_URL=google_cert_server.url)
    first = google(url, make_google_token(google_signing_key, name="Ada"))
    assert first.status_code == 200, first.text
    second = google(url, make_google_token(google_signing_key, name="Ada Lovelace",
                                           picture="https://example.com/ada.png"))
    assert second.json()["user"]["id"] == first.json()["user"]["id"]
    assert second.json()["user"]["name"] == "Ada Lovelace"
    assert second.json()["user"]["avatar"] == "https://example.com/ada.png"
    me = requests.get(f"{url}/auth/me", timeout=10,
                      headers={"Authorization": f"Bearer {second.json()['token']}"})
    assert me.json()["user"]["email"] == "ada@example.com"
    engine = sqlalchemy.create_engine(services.database_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM users").scalar_one() == 1
    engine.dispose()


@pytest.mark.parametrize("claims, message", [
    ({"aud": "someone-else"}, "another client"),
    ({"iss": "https://evil.example.com"}, "issuer"),
    ({"exp_delta": -120}, "expired"),
    ({"email_verified": False}, "not verified"),
])
def test_bad_google_tokens_are_refused_with_a_clear_message(
        serve: Serve, google_cert_server: GoogleCertServer, google_signing_key: SigningKey,
        claims: dict[str, Any], message: str):
    url = serve(AUTH_MODE="google", GOOGLE_CLIENT_ID=TEST_CLIENT_ID,
                GOOGLE_CERTS_URL=google_cert_server.url)
    answer = google(url, make_google_token(google_signing_key, **claims))
    assert answer.status_code == 401
    assert message in answer.json()["error"]["message"]


def test_a_forged_signature_or_garbage_is_refused(
        serve: Serve, google_cert_server: GoogleCertServer, google_signing_key: SigningKey):
    from tests.support.google_keys import make_signing_key

    url = serve(AUTH_MODE="google", GOOGLE_CLIENT_ID=TEST_CLIENT_ID,
                GOOGLE_CERTS_URL=google_cert_server.url)
    impostor = make_signing_key(kid=google_signing_key.kid)
    assert google(url, make_google_token(impostor)).status_code == 401
    assert google(url, "not-a-token").status_code == 401
    assert requests.post(f"{url}/auth/google-login", json={}, timeout=10).status_code == 400


def test_the_api_refuses_to_start_in_google_mode_without_its_secrets(services: Services):
    env = {"DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url,
           "AUTH_MODE": "google", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "emailsched.cli", "api", "--port", "0"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "GOOGLE_CLIENT_ID" in run.stderr and "SESSION_SECRET" in run.stderr


def test_cors_allows_only_the_configured_dashboard_origins(serve: Serve):
    url = serve(DASHBOARD_ORIGINS="https://app.example.com,https://admin.example.com")
    allowed = requests.options(f"{url}/emails/schedule", timeout=10, headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    other = requests.get(f"{url}/auth/config", headers={"Origin": "https://evil.example.com"},
                         timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers
    for name in ("X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy",
                 "Strict-Transport-Security", "Referrer-Policy"):
        assert name in other.headers


def test_over_the_per_user_request_rate_is_a_429_and_stores_nothing(serve: Serve,
                                                                     services: Services):
    url = serve(SCHEDULE_REQUESTS_PER_MINUTE=2)
    api = Api(url)
    body = {"subject": "s", "body": "b", "recipients": ["a@x.com"], "delayMs": 0,
            "startTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "sender": {"email": "me@x.com"}}
    assert [api.post("/emails/schedule", body).status_code for _ in range(2)] == [201, 201]
    refused = api.post("/emails/schedule", body)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "rate_limited"
    assert api.get("/emails/scheduled").json()["pagination"]["total"] == 2
    assert Api(url, "someone-else@example.com").post("/emails/schedule", body).status_code == 201


def test_over_the_daily_recipient_allowance_is_a_429_and_stores_nothing(serve: Serve):
    url = serve(MAX_RECIPIENTS_PER_USER_PER_DAY=5)
    api = Api(url)
    body = {"subject": "s", "body": "b", "recipients": [f"r{i}@x.com" for i in range(4)],
            "delayMs": 0, "startTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "sender": {"email": "me@x.com"}}
    assert api.post("/emails/schedule", body).status_code == 201
    refused = api.post("/emails/schedule", body)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert api.get("/emails/scheduled").json()["pagination"]["total"] == 4
    assert api.post("/emails/schedule", {**body, "recipients": ["one@x.com"]}).status_code == 201


def test_logs_of_a_schedule_and_send_run_hold_no_token_password_or_body(
        serve: Serve, caplog: pytest.LogCaptureFixture, tmp_path):
    password = "s3cret-smtp-password-xyz"
    sink = TlsAuthSink("mailer", password, cert_dir=tmp_path).start()
    try:
        caplog.set_level(logging.DEBUG)
        url = serve(pollers=1, pump=True, SMTP_PORT=sink.port, SMTP_USER="mailer",
                    SMTP_PASSWORD=password, SMTP_SECURITY="starttls", SMTP_TLS_VERIFY=False)
        api = Api(url)
        token = api.session.headers["Authorization"].split()[1]
        body_text = "Very private body text 8f3c2"
        api.post("/emails/schedule", {
            "subject": "Logged?", "body": f"<p>{body_text}</p>", "recipients": ["a@x.com"],
            "startTime": datetime.now(UTC).isoformat(), "delayMs": 0,
            "sender": {"email": "me@x.com"}})
        sink.wait_for(1, timeout=20)
        wait_until(lambda: api.get("/emails/sent").json()["emails"], 10)
    finally:
        sink.stop()
    # Everything the product and its libraries logged, at every level; not the test's own
    # SMTP server ("mail.log"), which logs what it receives.
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records
                       if not r.name.startswith("mail.log"))
    assert logged
    for secret in (token, password, body_text):
        assert secret not in logged


def test_dev_offers_its_login_free_relay_as_a_test_sender_and_nothing_else_does(serve: Serve):
    dev = requests.get(f"{serve(AUTH_MODE='dev', SMTP_HOST='127.0.0.1', SMTP_PORT=2525)}"
                       "/auth/config", timeout=10).json()
    assert dev["testSmtp"] == {"host": "127.0.0.1", "port": 2525}
    with_login = serve(AUTH_MODE="dev", SMTP_USER="relay-user", SMTP_PASSWORD="p")
    assert requests.get(f"{with_login}/auth/config", timeout=10).json()["testSmtp"] is None
    deployed = serve(AUTH_MODE="google", GOOGLE_CLIENT_ID=TEST_CLIENT_ID,
                     GOOGLE_CERTS_URL="http://127.0.0.1:9/certs")
    assert requests.get(f"{deployed}/auth/config", timeout=10).json()["testSmtp"] is None
