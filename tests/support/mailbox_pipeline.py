"""Helpers of the tests that run sequences against a real IMAP mailbox (Dovecot): a sender
with an IMAP block, a batch with a follow-up, messages appended to the sender's INBOX; and
their `mailbox` and `pipeline` fixtures (a pytest plugin: `pytest_plugins`)."""

from __future__ import annotations

import imaplib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.support.dovecot import DovecotServer
from tests.support.smtp_sinks import ReceivedMessage, RecordingSink
from tests.support.stack import Api, Pipeline, Services, prepare

PASSWORD = "imap-secret"
WAIT_SECONDS = 6


def add_sender(api: Api, dovecot: DovecotServer, user: str) -> str:
    answer = api.post("/senders", {"email": user, "name": "Sales", "imap": {
        "host": dovecot.host, "port": dovecot.port, "security": "none", "username": user,
        "password": PASSWORD}})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def schedule(api: Api, sender_id: str, recipients: list[str], wait: int = WAIT_SECONDS,
             subject: str = "Quick question") -> str:
    answer = api.post("/emails/schedule", {
        "subject": subject, "body": "<p>Hello there</p>", "recipients": recipients,
        "startTime": datetime.now(UTC).isoformat(), "delayMs": 0, "hourlyLimit": 1000,
        "senderIds": [sender_id],
        "steps": [{"body": "<p>Just following up</p>", "waitSeconds": wait}]})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["batchId"])


def append(dovecot: DovecotServer, user: str, raw: bytes) -> None:
    connection = dovecot.imap(user, PASSWORD)
    try:
        status, _ = connection.append("INBOX", "", imaplib.Time2Internaldate(time.time()), raw)
        assert status == "OK"
    finally:
        connection.logout()


def by_recipient(messages: list[ReceivedMessage]) -> dict[str, list[ReceivedMessage]]:
    found: dict[str, list[ReceivedMessage]] = {}
    for message in messages:
        found.setdefault(message.to[0], []).append(message)
    return found


@pytest.fixture
def mailbox(dovecot: DovecotServer) -> str:
    """A fresh mailbox user on the session's Dovecot."""
    user = f"sales-{uuid.uuid4().hex[:8]}@example.com"
    dovecot.add_user(user, PASSWORD)
    return user


@pytest.fixture
def pipeline(services: Services, sink: RecordingSink) -> Iterator[tuple[Pipeline, Api]]:
    """The whole pipeline on one-minute windows, and a signed-in client of its API."""
    container = prepare(services.settings(SMTP_PORT=sink.port, RATE_WINDOW_SECONDS=60))
    started = Pipeline(container, pollers=2).start()
    try:
        yield started, Api(started.url)
    finally:
        started.close()
        container.close()
