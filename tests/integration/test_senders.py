"""Sender accounts through HTTP on real Postgres, Redis, moto and SMTP sinks with AUTH:
verified before stored, passwords nowhere in plain text, one user's senders invisible to
another, rotation, a daily cap, and a broken mailbox that holds instead of failing."""

from __future__ import annotations

import logging
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from tests.support.smtp_sinks import TlsAuthSink
from tests.support.stack import Api, Pipeline, Services, prepare, wait_until

pytestmark = pytest.mark.integration
PASSWORD = "s3cret-Pa55word-nobody-may-see"


class LoginSink(TlsAuthSink):
    """A TlsAuthSink that remembers every login it was offered."""

    def __init__(self, user: str, password: str):
        super().__init__(user, password)
        self.logins: list[str] = []

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> Any:
        self.logins.append(getattr(auth_data, "login", b"").decode())
        return super()._authenticate(server, session, envelope, mechanism, auth_data)


@pytest.fixture
def sinks() -> Iterator[Callable[[str, str], LoginSink]]:
    with ExitStack() as stack:
        def make(user: str, password: str = PASSWORD) -> LoginSink:
            sink = LoginSink(user, password).start()
            stack.callback(sink.stop)
            return sink
        yield make


@pytest.fixture
def stack(services: Services) -> Iterator[Callable[..., tuple[Pipeline, Callable[..., Api]]]]:
    started: list[Pipeline] = []

    def start(sending: bool = False, **overrides: Any) -> tuple[Pipeline, Callable[..., Api]]:
        settings = services.settings(**{"SMTP_TLS_VERIFY": False, **overrides})
        pipeline = Pipeline(prepare(settings))
        if sending:
            pipeline.start()
        else:
            from emailsched.local.api_server import make_server, serve_in_thread
            from emailsched.local.app_loader import load_app

            pipeline._server = make_server(load_app().app, "127.0.0.1", 0)
            pipeline.url = pipeline._server.url
            pipeline.threads.append(serve_in_thread(pipeline._server))
        started.append(pipeline)
        return pipeline, lambda email="alice@example.com": Api(pipeline.url, email)

    yield start
    for pipeline in started:
        pipeline.close()


def smtp_sender(sink: TlsAuthSink, email: str, **extra: Any) -> dict[str, Any]:
    return {"email": email, "name": email.split("@")[0].title(),
            "smtp": {"host": sink.host, "port": sink.port, "security": "starttls",
                     "username": sink.user, "password": extra.pop("password", PASSWORD)},
            **extra}


def campaign(recipients: list[str], **extra: Any) -> dict[str, Any]:
    return {"subject": "Hello", "body": "<p>Hi</p>", "recipients": recipients,
            "startTime": datetime.now(UTC).isoformat(), "delayMs": 0, "hourlyLimit": 1000,
            **extra}


def rows(services: Services, sql: str, **params: Any) -> list[Any]:
    engine = sqlalchemy.create_engine(services.database_url)
    with engine.connect() as connection:
        found = list(connection.execute(sqlalchemy.text(sql), params))
    engine.dispose()
    return found


def pg_dump(database_url: str) -> str:
    url = make_url(database_url)
    return subprocess.run(
        ["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U",
         url.username or "postgres", url.database or ""],
        capture_output=True, text=True, check=True, timeout=60).stdout


def test_a_wrong_password_is_refused_with_the_reply_and_stores_nothing(stack, sinks, services):
    sink = sinks("alice-box")
    _, api = stack()
    answer = api().post("/senders", smtp_sender(sink, "alice@example.com", password="nope"))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "sender_unverified" and error["message"].startswith("535")
    assert rows(services, "SELECT id FROM senders") == []


def test_a_right_password_is_stored_encrypted_and_shown_nowhere(stack, sinks, services,
                                                                 caplog):
    caplog.set_level(logging.DEBUG)
    sink = sinks("alice-box")
    _, api = stack()
    client = api()
    created = client.post("/senders", smtp_sender(sink, "alice@example.com", dailyLimit=50,
                                                  timezone="Europe/Berlin"))
    assert created.status_code == 201, created.text
    sender = created.json()
    assert sender["kind"] == "smtp" and sender["status"] == "active"
    assert sender["smtp"] == {"host": sink.host, "port": sink.port, "security": "starttls",
                              "username": "alice-box"}
    assert sender["imap"] is None and sender["sentToday"] == 0
    assert sender["dailyLimit"] == 50 and sender["hourlyLimit"] is None
    answers = [created.text, client.get("/senders").text,
               client.get(f"/senders/{sender['id']}").text,
               client.post(f"/senders/{sender['id']}/verify").text,
               client.session.patch(f"{client.base_url}/senders/{sender['id']}",
                                    json={"hourlyLimit": 10}).text]
    assert all(PASSWORD not in text for text in answers)
    assert "password" not in "".join(answers).lower()
    [stored] = rows(services, "SELECT smtp_password_enc FROM senders")
    assert stored[0].startswith("v1.local.") and PASSWORD not in stored[0]
    assert all(PASSWORD not in record.getMessage() for record in caplog.records)
    assert PASSWORD not in pg_dump(services.database_url)


def test_another_users_sender_is_not_found_and_nothing_is_stored(stack, sinks, services):
    sink = sinks("alice-box")
    _, api = stack()
    alice, bob = api("alice@example.com"), api("bob@example.com")
    sender_id = alice.post("/senders", smtp_sender(sink, "alice@example.com")).json()["id"]
    base = f"{bob.base_url}/senders/{sender_id}"
    assert bob.get(f"/senders/{sender_id}").status_code == 404
    assert bob.session.patch(base, json={"name": "Mine now"}).status_code == 404
    assert bob.post(f"/senders/{sender_id}/verify").status_code == 404
    assert bob.session.delete(base).status_code == 404
    scheduled = bob.post("/emails/schedule", campaign(["x@example.com"],
                                                      senderIds=[sender_id]))
    assert scheduled.status_code == 404, scheduled.text
    assert bob.get("/senders").json() == {"senders": []}
    assert rows(services, "SELECT count(*) FROM emails")[0][0] == 0
    assert rows(services, "SELECT name FROM senders")[0][0] == "Alice"


def test_a_relay_from_outside_the_relay_domains_is_refused_on_sender_email(stack, services):
    _, api = stack(RELAY_SENDER_DOMAINS="example.org")
    client = api()
    refused = client.post("/emails/schedule", campaign(
        ["x@example.com"], sender={"email": "ceo@anybank.com", "name": "CEO"}))
    assert refused.status_code == 400, refused.text
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["sender.email"]
    allowed = client.post("/emails/schedule", campaign(
        ["x@example.com"], sender={"email": "news@example.org", "name": "News"}))
    assert allowed.status_code == 201, allowed.text
    [share] = allowed.json()["senders"]
    assert share["email"] == "news@example.org" and share["emailCount"] == 1
    assert rows(services, "SELECT email, kind FROM senders") == [("news@example.org", "relay")]


def test_a_sender_with_unsent_emails_cannot_be_deleted(stack, sinks):
    sink = sinks("alice-box")
    _, api = stack()
    client = api()
    sender_id = client.post("/senders", smtp_sender(sink, "alice@example.com")).json()["id"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    client.post("/emails/schedule", campaign(["x@example.com"], senderIds=[sender_id],
                                             startTime=later))
    url = f"{client.base_url}/senders/{sender_id}"
    assert client.session.delete(url).status_code == 409


def test_rotation_spreads_recipients_over_two_mailboxes_each_on_its_own_server(
        stack, sinks, services):
    first, second = sinks("first-box"), sinks("second-box")
    _, api = stack(sending=True)
    client = api()
    ids = [client.post("/senders", smtp_sender(sink, f"{name}@example.com")).json()["id"]
           for sink, name in ((first, "first"), (second, "second"))]
    recipients = [f"r{i}@example.com" for i in range(20)]
    answer = client.post("/emails/schedule", campaign(recipients, senderIds=ids))
    assert answer.status_code == 201, answer.text
    shares = answer.json()["senders"]
    assert [s["id"] for s in shares] == ids and [s["emailCount"] for s in shares] == [10, 10]
    wait_until(lambda: len(first.messages) + len(second.messages) >= 20, timeout=60)
    received = [m.to[0] for m in first.messages + second.messages]
    assert sorted(received) == sorted(recipients)  # each recipient once
    assert all(abs(len(s.messages) - 10) <= 1 for s in (first, second))
    assert {m.mail_from for m in first.messages} == {"first@example.com"}
    assert {m.mail_from for m in second.messages} == {"second@example.com"}
    assert set(first.logins) == {"first-box"} and set(second.logins) == {"second-box"}


def test_a_rotated_batch_names_every_sender_in_rotation_order(stack, sinks):
    first, second = sinks("first-box"), sinks("second-box")
    _, api = stack()
    client = api()
    ids = [client.post("/senders", smtp_sender(sink, f"{name}@example.com")).json()["id"]
           for sink, name in ((second, "second"), (first, "first"))]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    batch_id = client.post("/emails/schedule", campaign(
        ["a@example.com", "b@example.com"], senderIds=ids, startTime=later)).json()["batchId"]
    expected = ["second@example.com", "first@example.com"]
    assert [s["email"] for s in client.get(f"/batches/{batch_id}").json()["senders"]] == expected
    [listed] = client.get("/batches").json()["batches"]
    assert [s["email"] for s in listed["senders"]] == expected


def test_a_daily_cap_of_three_holds_in_every_shortened_day(stack, sinks, services):
    day = 4
    sink = sinks("capped-box")
    _, api = stack(sending=True, DAILY_WINDOW_SECONDS=day)
    client = api()
    sender_id = client.post("/senders", smtp_sender(sink, "capped@example.com",
                                                    dailyLimit=3)).json()["id"]
    recipients = [f"r{i}@example.com" for i in range(7)]
    answer = client.post("/emails/schedule", campaign(recipients, senderIds=[sender_id]))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    end = datetime.fromisoformat(body["estimatedEndTime"])
    assert end - datetime.fromisoformat(body["startTime"]) >= timedelta(seconds=day)
    wait_until(lambda: len(sink.messages) >= 7, timeout=60)
    per_day = Counter(int(m.received_at // day) for m in sink.messages)
    assert max(per_day.values()) <= 3 and len(per_day) >= 3
    assert sorted(m.to[0] for m in sink.messages) == sorted(recipients)


def test_a_refused_login_holds_the_senders_emails_until_it_is_verified_again(
        stack, sinks, services):
    sink = sinks("flaky-box")
    _, api = stack(sending=True, SENDER_FAILURES_BEFORE_HOLD=2)
    client = api()
    sender_id = client.post("/senders", smtp_sender(sink, "flaky@example.com")).json()["id"]
    sink.password = "changed-on-the-server"  # from now on every login gets 535
    recipients = [f"r{i}@example.com" for i in range(5)]
    scheduled = client.post("/emails/schedule", campaign(recipients, senderIds=[sender_id]))
    assert scheduled.status_code == 201

    def failing() -> Any:
        sender = client.get(f"/senders/{sender_id}").json()
        return sender if sender["status"] == "failing" else None

    sender = wait_until(failing, timeout=60)
    assert sender["lastError"].startswith("535")
    wait_until(lambda: rows(services, "SELECT count(*) FROM emails WHERE status = 'held'"
                            )[0][0] == 5, timeout=20)
    assert rows(services, "SELECT count(*) FROM emails WHERE status = 'failed' "
                          "OR attempts > 0")[0][0] == 0
    assert sink.messages == []
    # Held is counted in the stats and on the batch (not failed, not pending elsewhere).
    wait_until(lambda: client.get("/emails/stats").json()["held"] == 5, timeout=20)
    counts = client.get(f"/batches/{scheduled.json()['batchId']}").json()["counts"]
    assert (counts["held"], counts["failed"], counts["total"]) == (5, 0, 5)
    refused = client.post(f"/senders/{sender_id}/verify")
    assert refused.status_code == 422 and refused.json()["error"]["message"].startswith("535")
    sink.password = PASSWORD  # fixed
    verified = client.post(f"/senders/{sender_id}/verify")
    assert verified.status_code == 200 and verified.json()["status"] == "active"
    wait_until(lambda: len(sink.messages) >= 5, timeout=60)
    assert sorted(m.to[0] for m in sink.messages) == sorted(recipients)
    assert len({m.message_id for m in sink.messages}) == 5
    assert rows(services, "SELECT count(*) FROM emails WHERE status = 'sent'")[0][0] == 5


@pytest.mark.parametrize("verify_tls, status", [(True, 422), (False, 201)])
def test_starttls_with_a_self_signed_certificate_is_refused_while_verification_is_on(
        stack, sinks, verify_tls, status):
    sink = sinks("tls-box")
    _, api = stack(SMTP_TLS_VERIFY=verify_tls)
    answer = api().post("/senders", smtp_sender(sink, "tls@example.com"))
    assert answer.status_code == status, answer.text
    if status == 422:
        assert "certificate" in answer.json()["error"]["message"]


def test_the_verifier_function_checks_a_stored_account_for_the_api(stack, sinks):
    """On AWS the API may not decrypt: it invokes the verifier function (Lambda invoke,
    RequestResponse), which reads the stored account, decrypts and checks it. Here the
    invoke runs functions/app.py's handler in-process against a real sink."""
    import io
    import json

    from emailsched.adapters.account_verifier import LambdaStoredAccountVerifier
    from emailsched.errors import AccountUnverified, NotFound
    from emailsched.local.app_loader import load_app

    sink = sinks("stored-box")
    _, api = stack()
    client = api()
    sender_id = client.post("/senders", smtp_sender(sink, "stored@example.com")).json()["id"]
    user_id = client.get("/auth/me").json()["user"]["id"]
    handler = load_app().verify_stored_account

    class InProcessLambda:
        def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> Any:
            assert InvocationType == "RequestResponse"
            answer = handler(json.loads(Payload), None)
            return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}

    import uuid

    verifier = LambdaStoredAccountVerifier(InProcessLambda(), "emailsched-test-verifier")
    verifier.verify_stored(uuid.UUID(user_id), uuid.UUID(sender_id))  # the stored password
    sink.password = "changed-on-the-server"
    with pytest.raises(AccountUnverified, match=r"^535"):
        verifier.verify_stored(uuid.UUID(user_id), uuid.UUID(sender_id))
    with pytest.raises(NotFound):  # another user's sender is no sender of theirs
        verifier.verify_stored(uuid.uuid4(), uuid.UUID(sender_id))
