"""Issue 26 in the browser: a lead answers a campaign; the reply poller keeps the answer;
the user finds it in the Inbox (the unread count on the tab), reads it next to the email it
answers, replies from the reading pane (r) and marks the conversation done (e). The reply
reaches the lead once, as `Re: <subject>`."""

from __future__ import annotations

import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from emailsched.local.cluster import Cluster
from tests.browser.test_dashboard import Shots, sign_in
from tests.browser.watch import ConsoleWatch
from tests.support.stack import Api, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SUBJECT = "A question about your roadmap"
LEAD = "lin@example.org"
_REPLIES_STARTED = threading.Lock()


def start_replies_once(stack: Cluster) -> None:
    """The reply poller, once for the session's stack (other tests have no replies)."""
    if _REPLIES_STARTED.acquire(blocking=False):
        stack.start_replies(0.5)


def test_a_reply_is_read_answered_and_done_in_the_inbox(
    page: Page, console: ConsoleWatch, stack: Cluster, screenshots: Path
) -> None:
    shoot = Shots(page, screenshots)
    sign_in(page, "grace@example.com", "Grace Hopper")
    api = Api(stack.api_url, "grace@example.com")
    scheduled = api.post("/emails/schedule", {
        "subject": SUBJECT, "body": "<p>Hi Lin, how do you plan releases?</p>",
        "recipients": [LEAD], "startTime": datetime.now(UTC).isoformat(), "delayMs": 0,
        "hourlyLimit": 100, "sender": {"email": "grace@example.com", "name": "Grace"},
        "steps": [{"body": "<p>Any thoughts?</p>", "waitSeconds": 3600}]})
    assert scheduled.status_code == 201, scheduled.text
    [sent] = wait_until(lambda: [m for m in stack.inbox.messages() if m.subject == SUBJECT],
                        timeout=30)

    # The lead answers (the capture inbox's Reply writes to the sender's Maildir).
    urllib.request.urlopen(urllib.request.Request(
        f"{stack.inbox.http_url}/messages/{sent.number}/reply", method="POST"), timeout=10)
    start_replies_once(stack)
    wait_until(lambda: api.get("/inbox").json()["threads"], timeout=30)

    page.reload()
    inbox_tab = page.get_by_role("tab", name="Inbox")
    expect(inbox_tab).to_contain_text("1")
    inbox_tab.click()
    row = page.get_by_test_id("inbox-row").filter(has_text=LEAD)
    expect(row).to_have_attribute("data-unread", "true")
    expect(row.get_by_test_id("lead-status")).to_have_text("Replied")
    page.keyboard.press("j")  # the first conversation
    reading = page.get_by_test_id("inbox-reading")
    expect(reading.get_by_test_id("message-out")).to_have_count(1)
    expect(reading.get_by_test_id("message-in")).to_contain_text("interested")
    expect(row).to_have_attribute("data-unread", "false")
    expect(inbox_tab).not_to_contain_text("1")
    shoot("inbox-01-conversation")

    page.keyboard.press("r")
    expect(page.get_by_test_id("reply-body")).to_be_focused()
    page.keyboard.type("Happy to. Does Tuesday at 10 work?")
    page.get_by_test_id("reply-send").click()
    answers = wait_until(lambda: [m for m in stack.inbox.messages()
                                  if m.subject == f"Re: {SUBJECT}" and m.to == (LEAD,)],
                         timeout=30)
    time.sleep(1.5)  # a second copy would arrive now
    assert len([m for m in stack.inbox.messages() if m.subject == f"Re: {SUBJECT}"
                and m.to == (LEAD,)]) == len(answers) == 1
    expect(reading.get_by_test_id("message-out")).to_have_count(2)
    shoot("inbox-02-replied")

    page.get_by_test_id("reply-body").blur()
    page.keyboard.press("e")
    expect(row.get_by_test_id("lead-status")).to_have_text("Closed")
    console.assert_clean()
