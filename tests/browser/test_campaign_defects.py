"""Issue 30's defects as a newcomer saw them in the dashboard, each fixed and checked here:
the capture inbox as a one-click test sender, the only sender picked, a server's reply not
mangled by redaction, the IMAP fields, a rotated batch naming all its senders, and a big
import's toast telling the plan's finish (with the rows skipInvalid left out)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from emailsched.local.cluster import Cluster
from tests.browser.test_dashboard import fill_message, local_time_in, set_timing, sign_in
from tests.browser.watch import ConsoleWatch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

IMPORT_ROWS = 20_001  # over the dashboard's 20,000-row threshold: the S3 import path


@pytest.fixture(scope="session")
def imports(stack: Cluster) -> Cluster:
    """The stack with `emailsched imports` running too: big lists go through it."""
    stack.start_imports()
    stack.wait_until_ready()  # its start-up costs a core: not while a test signs in
    return stack


@pytest.fixture(scope="session")
def replies(stack: Cluster) -> Cluster:
    """The stack with `emailsched replies` reading the capture inbox's Reply and Bounce."""
    stack.start_replies(1.0)
    stack.wait_until_ready()
    return stack


def api_call(page: Page, method: str, path: str, body: Any = None) -> Any:
    token = page.evaluate("() => localStorage.getItem('emailsched.token')")
    answer = page.request.fetch(
        path, method=method, data=None if body is None else json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert answer.ok, answer.text()
    return answer.json()


def capture_sender(page: Page, stack: Cluster, email: str) -> str:
    smtp = {"host": stack.inbox.smtp_host, "port": stack.inbox.smtp_port, "security": "none"}
    return str(api_call(page, "POST", "/senders", {"email": email, "smtp": smtp})["id"])


def test_senders_page_test_sender_only_sender_picked_reply_unmangled_imap_fields(
        page: Page, console: ConsoleWatch, stack: Cluster) -> None:
    sign_in(page, "sam@example.com", "Sam Sender")
    page.get_by_role("tab", name="Senders").click()

    # The capture inbox is a sender in one click (it wants no login; the form does)
    page.get_by_test_id("senders-add-test").click()
    row = page.get_by_test_id("sender-row")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "active")
    expect(page.get_by_test_id("senders-add-test")).to_have_count(0)

    # A campaign, and the next one, start with the only sender picked
    for _ in range(2):
        page.get_by_test_id("compose-open").click()
        dialog = page.get_by_role("dialog", name="New campaign")
        expect(dialog.get_by_test_id("compose-sender-checkbox")).to_be_checked()
        dialog.get_by_role("button", name="Close").first.click()
        expect(dialog).to_be_hidden()
        page.reload()
        page.get_by_role("tab", name="Senders").click()

    # A login to a server without AUTH: its reply word for word, no "e***tension"
    page.get_by_test_id("senders-add").click()
    form = page.get_by_test_id("sender-form")
    form.get_by_test_id("sender-email").fill("x@example.com")
    form.get_by_test_id("sender-smtp-host").fill(stack.inbox.smtp_host)
    form.get_by_test_id("sender-smtp-security").select_option("none")
    form.get_by_test_id("sender-smtp-port").fill(str(stack.inbox.smtp_port))
    form.get_by_test_id("sender-smtp-username").fill("x")
    form.get_by_test_id("sender-smtp-password").fill("x")
    console.expect_failed_request("/senders", 422)
    form.get_by_test_id("sender-test-submit").click()
    reply = form.get_by_test_id("sender-test-result").locator("pre")
    expect(reply).to_contain_text("SMTP AUTH extension not supported by server.")

    # And the IMAP account the API takes has its fields
    form.get_by_test_id("sender-imap").locator("summary").click()
    for field in ("host", "port", "security", "username", "password"):
        expect(form.get_by_test_id(f"sender-imap-{field}")).to_be_visible()
    console.assert_clean()


def test_a_rotated_batch_names_its_senders_and_an_import_toast_tells_the_plans_finish(
        page: Page, console: ConsoleWatch, imports: Cluster, tmp_path: Path) -> None:
    stack = imports
    sign_in(page, "rita@example.com", "Rita Rotation")
    ids = [capture_sender(page, stack, f"{name}@rotation.example.com") for name in ("ann", "bob")]

    # A batch rotated over both senders names both on its card
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    api_call(page, "POST", "/emails/schedule", {
        "subject": "Rotated", "body": "<p>Hi</p>", "delayMs": 1000, "hourlyLimit": 100,
        "recipients": ["r1@example.com", "r2@example.com"], "startTime": later,
        "senderIds": ids})
    page.reload()  # the senders and the batch were made behind the dashboard's back
    page.get_by_role("tab", name="Batches").click()
    card = page.get_by_test_id("batch-card").filter(has_text="Rotated")
    senders = card.get_by_test_id("batch-senders")
    expect(senders).to_contain_text("ann@rotation.example.com")
    expect(senders).to_contain_text("bob@rotation.example.com")

    # A big list goes through an import; one bad row is skipped and named by its line
    rows = [f"lead{n}@example.com" for n in range(IMPORT_ROWS)]
    rows[1] = "not-an-address"
    csv = tmp_path / "leads.csv"
    csv.write_text("email\n" + "\n".join(rows) + "\n")
    page.get_by_test_id("compose-open").click()
    dialog = page.get_by_role("dialog", name="New campaign")
    fill_message(dialog, "Imported")
    options = dialog.get_by_test_id("compose-sender-option")
    options.filter(has_text="ann@").get_by_test_id("compose-sender-checkbox").check()
    dialog.get_by_test_id("recipients-file").set_input_files(csv)
    set_timing(dialog, local_time_in(page, 3600), "1", "100")
    dialog.get_by_test_id("schedule-submit").click()
    toast = page.get_by_test_id("toast-success").filter(has_text="Scheduled 20,000 emails")
    expect(toast).to_contain_text("1 invalid line skipped (line 3:", timeout=60_000)

    # Its finish is the batch's own, as the card shows it, not the start time
    card = page.get_by_test_id("batch-card").filter(has_text="Imported")
    finish = card.get_by_test_id("batch-finish").locator("time")
    shown = finish.inner_text().split(" (")[0]
    expect(toast).to_contain_text(f"Estimated finish {shown}.")
    console.assert_clean()


def test_a_bounced_email_keeps_its_sent_time_in_sent(
        page: Page, console: ConsoleWatch, replies: Cluster) -> None:
    stack = replies
    sign_in(page, "bea@example.com", "Bea Bounce")
    api_call(page, "POST", "/emails/schedule", {
        "subject": "Bounce me", "body": "<p>Hi</p>", "delayMs": 0, "hourlyLimit": 100,
        "recipients": ["gone@example.org"], "startTime": datetime.now(UTC).isoformat(),
        "sender": {"email": "bea@example.com", "name": "Bea"}})
    page.get_by_role("tab", name="Sent", exact=True).click()
    row = page.get_by_test_id("sent-table").locator("[data-testid=email-row]",
                                                    has_text="gone@example.org")
    expect(row).to_have_attribute("data-status", "sent", timeout=30_000)
    sent_time = row.locator("time").first.get_attribute("datetime")

    # The recipient's server bounces it, visibly later; the poller reads the report
    [message] = [m for m in stack.inbox.messages() if m.subject == "Bounce me"]
    time.sleep(1.5)
    requests.post(f"{stack.inbox.http_url}/messages/{message.number}/bounce", timeout=10,
                  allow_redirects=False).raise_for_status()
    expect(row).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(row.locator("time").first).to_have_attribute("datetime", sent_time or "")
    console.assert_clean()
