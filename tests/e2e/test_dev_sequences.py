"""`emailsched dev` with no account: "Reply" on a captured message stops that recipient's
follow-up, end to end (capture inbox -> dev Maildir -> reply poller -> ledger -> claim)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.test_dev import Dev, clean_env, dev_folder, inbox_messages  # noqa: F401
from tests.support.stack import Api, wait_until

pytestmark = pytest.mark.e2e
WAIT_SECONDS = 8


def test_reply_from_the_capture_inbox_stops_a_follow_up(dev_folder: Path):  # noqa: F811
    dev = Dev(dev_folder, clean_env(MIN_DELAY_BETWEEN_EMAILS_MS="0"))
    dev.start(timeout=40)
    try:
        api = Api(dev.url, "seq@example.com")
        answer = api.post("/emails/schedule", {
            "subject": "Hello from dev", "body": "<p>Hi!</p>",
            "recipients": ["replies@example.org", "silent@example.org"],
            "startTime": datetime.now(UTC).isoformat(), "delayMs": 0, "hourlyLimit": 1000,
            "sender": {"email": "me@example.com", "name": "Me"},
            "steps": [{"body": "<p>Following up</p>", "waitSeconds": WAIT_SECONDS}]})
        assert answer.status_code == 201, answer.text
        batch_id = answer.json()["batchId"]
        wait_until(lambda: len(inbox_messages(dev)) == 2, 30)
        page = requests.get(f"{dev.inbox}/", timeout=5).text
        assert page
        number = next(i + 1 for i, m in enumerate(inbox_messages(dev))
                      if m["to"][0] == "replies@example.org")
        shown = requests.get(f"{dev.inbox}/messages/{number}", timeout=5).text
        assert "Reply" in shown and "Bounce" in shown
        clicked = requests.post(f"{dev.inbox}/messages/{number}/reply", timeout=5)
        assert clicked.status_code == 200 and "reply from the recipient" in clicked.text

        def replied() -> Any:
            batch = api.get(f"/batches/{batch_id}").json()
            return batch if batch["counts"]["replied"] == 1 else None

        wait_until(replied, 30)
        wait_until(lambda: len(inbox_messages(dev)) == 3, WAIT_SECONDS + 30)
        time.sleep(3)  # a follow-up that should not go out would arrive now
        messages = inbox_messages(dev)
        assert [m["to"][0] for m in messages].count("replies@example.org") == 1
        follow_up = messages[-1]
        assert follow_up["to"][0] == "silent@example.org"
        assert follow_up["subject"] == "Re: Hello from dev"
    finally:
        dev.stop()
