"""Helpers of the tests that run sequences against a real IMAP mailbox (Dovecot): a sender
with an IMAP block, a batch with a follow-up, messages appended to the sender's INBOX."""

from __future__ import annotations

import imaplib
import time
from datetime import UTC, datetime

from tests.support.dovecot import DovecotServer
from tests.support.smtp_sinks import ReceivedMessage
from tests.support.stack import Api

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
