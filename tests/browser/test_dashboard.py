"""The dashboard in Chromium against the whole product (API, pump, sender worker, SQS and
an SMTP capture inbox), as a user drives it: sign in, upload recipients, schedule, watch
the emails go out, pause and resume, sign out. Screenshots of each view land in
test-artifacts/screenshots/; any console error or uncaught page error fails the test."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from emailsched.local.cluster import Cluster
from emailsched.local.inbox import CapturedMessage
from tests.browser.watch import ConsoleWatch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SUBJECT = "Spring sale starts today"
VALID = [f"reader{n:02d}@example.com" for n in range(1, 23)]
# Sending starts this long after the start time is picked: time enough to see all 22 waiting.
LEAD_SECONDS = 12
# Sending starts within this of its start time (the pump runs every 0.5 s, SQS delays are
# whole seconds); the last email of a batch is sent within this of its due time.
SENDING_SLACK_MS = 10_000

LOCAL_TIME_IN = """(offsetMs) => {
  const d = new Date(Date.now() + offsetMs);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}` +
         `T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}"""


def recipients_csv(folder: Path) -> Path:
    """25 rows under a header: 22 good addresses, one of them twice (in other case), and
    two that are no address at all."""
    rows = [f"{address},Reader {n}" for n, address in enumerate(VALID, start=1)]
    rows.insert(5, "not-an-email,Nobody")
    rows.insert(11, "Reader03@Example.com,Reader 3 again")
    rows.insert(17, "someone@@example.com,Typo")
    path = folder / "recipients.csv"
    path.write_text("email,name\n" + "\n".join(rows) + "\n")
    assert len(rows) == 25
    return path


class Shots:
    def __init__(self, page: Page, folder: Path):
        self.page, self.folder = page, folder

    def __call__(self, name: str, *, full_page: bool = True) -> None:
        """Whole pages in full; the compose drawer (fixed to the viewport) as seen."""
        self.page.screenshot(path=str(self.folder / f"{name}.png"), full_page=full_page)


def sign_in(page: Page, email: str, name: str, shoot: Shots | None = None) -> None:
    page.goto("/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Name").fill(name)  # "Name (optional)"
    if shoot:
        shoot("01-sign-in")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_test_id("user-email")).to_have_text(email)


def local_time_in(page: Page, seconds: float) -> str:
    """A datetime-local value `seconds` from now on the browser's clock and zone."""
    return str(page.evaluate(LOCAL_TIME_IN, int(seconds * 1000)))


def fill_message(dialog: Locator, subject: str) -> None:
    dialog.get_by_label("Subject", exact=True).fill(subject)
    dialog.get_by_test_id("compose-body").fill(
        "<h1>Hello!</h1><p>Our spring sale starts today.</p>"
    )


def set_timing(dialog: Locator, start: str, delay_seconds: str, hourly_limit: str = "200") -> None:
    dialog.get_by_test_id("compose-start").fill(start)
    dialog.get_by_label("Delay between emails", exact=True).fill(delay_seconds)
    dialog.get_by_label("Hourly limit", exact=True).fill(hourly_limit)


def show_rows(page: Page, rows: int) -> None:
    page.get_by_label("Rows per page").select_option(str(rows))


def batch_card(page: Page) -> Locator:
    return page.get_by_test_id("batch-card").filter(has_text=SUBJECT)


def campaign_messages(stack: Cluster) -> list[CapturedMessage]:
    """What the SMTP capture inbox received for this test's campaign."""
    return [m for m in stack.inbox.messages() if m.subject == SUBJECT]


def inbox_count(stack: Cluster) -> int:
    return len(campaign_messages(stack))


def test_a_campaign_goes_from_csv_upload_to_sent_with_a_pause_on_the_way(
    page: Page, console: ConsoleWatch, stack: Cluster, screenshots: Path, tmp_path: Path
) -> None:
    shoot = Shots(page, screenshots)

    # Given a signed-in user
    sign_in(page, "ada@example.com", "Ada Lovelace", shoot)
    expect(page.get_by_test_id("overview-empty")).to_be_visible()

    # When she uploads a CSV of 25 rows: 22 distinct addresses, a duplicate, 2 invalid
    page.get_by_role("button", name="New campaign", exact=True).click()
    dialog = page.get_by_role("dialog", name="New campaign")
    expect(dialog).to_be_visible()
    fill_message(dialog, SUBJECT)
    dialog.get_by_test_id("recipients-file").set_input_files(recipients_csv(tmp_path))

    # Then 22 are counted, one duplicate removed and two lines shown as invalid
    summary = dialog.get_by_test_id("recipients-summary")
    expect(summary).to_have_attribute("data-valid", "22")
    expect(summary).to_have_attribute("data-duplicates", "1")
    expect(summary).to_have_attribute("data-invalid", "2")
    expect(dialog.get_by_test_id("recipients-valid-count")).to_have_text("22")
    expect(dialog.get_by_test_id("recipients-invalid-line")).to_have_count(2)
    summary.scroll_into_view_if_needed()
    shoot("02-compose-recipients", full_page=False)

    # When she starts it a few seconds ahead, one second apart, and schedules it
    set_timing(dialog, local_time_in(page, LEAD_SECONDS), "1")
    expect(dialog.get_by_test_id("estimate-finish")).to_have_attribute(
        "data-finish", re.compile(r"^\d{4}-\d\d-\d\dT")
    )
    submit = dialog.get_by_test_id("schedule-submit")
    expect(submit).to_have_text("Schedule 22 emails")
    dialog.get_by_test_id("estimate-finish").scroll_into_view_if_needed()
    shoot("03-compose-timing", full_page=False)
    submit.click()

    # Then all 22 wait in Scheduled
    expect(page.get_by_test_id("toast-success")).to_contain_text("Scheduled 22 emails")
    expect(dialog).to_be_hidden()
    page.get_by_role("tab", name="Scheduled", exact=True).click()
    expect(page.get_by_test_id("pagination")).to_contain_text("of 22")
    show_rows(page, 50)
    rows = page.get_by_test_id("email-row")
    expect(rows).to_have_count(22)
    waiting = {rows.nth(i).get_attribute("data-status") for i in range(22)}
    assert waiting <= {"scheduled", "queued"}, waiting
    expect(page.get_by_role("tab", name="Scheduled", exact=True)).to_contain_text("22")
    shoot("04-scheduled")

    # And they turn Sent, one by one
    page.get_by_role("tab", name="Sent", exact=True).click()
    expect(
        page.get_by_test_id("sent-table")
        .locator("[data-testid=email-row][data-status=sent]")
        .nth(1)
    ).to_be_visible(timeout=LEAD_SECONDS * 1000 + SENDING_SLACK_MS)
    shoot("05-sent-in-progress")

    # When she pauses the batch half-way
    page.get_by_role("tab", name="Batches", exact=True).click()
    card = batch_card(page)
    card.get_by_test_id("batch-pause").click()
    expect(card).to_have_attribute("data-status", "paused")
    expect(card.get_by_test_id("batch-resume")).to_be_visible()

    # Then nothing more reaches the inbox (an email already being sent may still land)
    time.sleep(1.5)
    held_at = inbox_count(stack)
    time.sleep(3)
    assert inbox_count(stack) == held_at
    assert 0 < held_at < 22, f"{held_at} sent before the pause took hold"
    page.get_by_test_id("refresh").click()
    expect(card.get_by_test_id("batch-count-sent")).to_have_text(str(held_at))
    expect(card.get_by_test_id("batch-count-pending")).to_have_text(str(22 - held_at))
    expect(card.get_by_test_id("status-badge")).to_have_attribute("data-status", "paused")
    expect(card.get_by_test_id("batch-finish")).to_have_text("On hold while paused")
    shoot("06-batches-paused")

    # And Scheduled still lists the held emails, as Paused
    page.get_by_role("tab", name="Scheduled", exact=True).click()
    show_rows(page, 50)
    expect(
        page.get_by_test_id("scheduled-table").locator(
            "[data-testid=email-row][data-status=paused]"
        )
    ).to_have_count(22 - held_at)
    expect(page.get_by_role("tab", name="Scheduled", exact=True)).to_contain_text(str(22 - held_at))
    shoot("07-scheduled-paused")
    page.get_by_role("tab", name="Batches", exact=True).click()

    # When she resumes it, the rest go out
    card.get_by_test_id("batch-resume").click()
    expect(card).to_have_attribute("data-status", "active")
    expect(card.get_by_test_id("batch-pause")).to_be_visible()
    shoot("08-batches-resumed")
    # The rest are re-planned one second apart from now.
    expect(
        card.get_by_test_id("batch-count-sent"),
        "the resumed emails were not all sent on time (one stuck in `queued`?)",
    ).to_have_text("22", timeout=(22 - held_at) * 1000 + SENDING_SLACK_MS)
    expect(card).to_have_attribute("data-status", "completed")
    expect(card.get_by_test_id("batch-progress")).to_have_attribute("aria-valuenow", "22")
    expect(card.get_by_test_id("batch-finish")).not_to_contain_text("(in ")
    shoot("09-batches-completed")

    # Then Sent lists all 22, Overview counts them, and the inbox holds each exactly once
    page.get_by_role("tab", name="Sent", exact=True).click()
    show_rows(page, 50)
    sent_rows = page.get_by_test_id("sent-table").get_by_test_id("email-row")
    expect(sent_rows).to_have_count(22)
    expect(sent_rows.and_(page.locator("[data-status=sent]"))).to_have_count(22)
    # Times just loaded are compared with a fresh clock: nothing was sent "in 5 seconds"
    expect(
        sent_rows.locator(".time-cell .hint").filter(has_text=re.compile(r"^in "))
    ).to_have_count(0)
    shoot("10-sent")
    page.get_by_role("tab", name="Overview", exact=True).click()
    expect(page.get_by_test_id("stat-sent-value")).to_have_text("22")
    expect(page.get_by_test_id("hourly-chart")).to_be_visible()
    shoot("11-overview")

    # (the ledger says `sent` a moment before the server has the message)
    deadline = time.monotonic() + 10
    while inbox_count(stack) < 22 and time.monotonic() < deadline:
        time.sleep(0.1)
    messages = campaign_messages(stack)
    assert len(messages) == 22
    assert len({m.message_id for m in messages}) == 22
    assert sorted(address for m in messages for address in m.to) == VALID

    # When she signs out, she is back at the sign-in form with no session kept
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page.get_by_test_id("signin-submit")).to_be_visible()
    assert page.evaluate("localStorage.getItem('emailsched.token')") is None
    shoot("12-signed-out")

    console.assert_clean()


def test_compose_opens_and_closes_by_keyboard_and_shows_the_apis_field_errors(
    page: Page, console: ConsoleWatch, screenshots: Path
) -> None:
    shoot = Shots(page, screenshots)
    sign_in(page, "grace@example.com", "Grace Hopper")
    opener = page.get_by_test_id("compose-open")
    dialog = page.get_by_role("dialog", name="New campaign")

    # Keyboard only: Tab to "New campaign", Enter opens the drawer on Subject, Escape
    # closes it and gives focus back
    for _ in range(20):
        if opener.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(opener).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Subject", exact=True)).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(dialog.locator(":focus")).to_have_count(1)  # focus stays inside the drawer
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()

    # A delay over the API's 24 hours is caught in the browser, in seconds
    fill_message(dialog, "Checking the errors")
    dialog.get_by_label("Recipients", exact=True).fill("ada@example.com")
    set_timing(dialog, local_time_in(page, 3600), "100000")
    dialog.get_by_test_id("schedule-submit").click()
    expect(dialog.get_by_test_id("error-delayMs")).to_contain_text("at most 86,400 seconds")
    expect(dialog.get_by_test_id("compose-delay")).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_test_id("compose-delay")).to_be_focused()
    dialog.get_by_label("Delay between emails", exact=True).fill("1")
    expect(dialog.get_by_test_id("error-delayMs")).to_be_hidden()

    # An hourly limit over the server's maximum (which the browser does not know) comes
    # back from the API and is shown at Hourly limit
    dialog.get_by_label("Hourly limit", exact=True).fill("1000000")
    console.expect_failed_request("/emails/schedule", 400)
    dialog.get_by_test_id("schedule-submit").click()
    expect(dialog.get_by_test_id("error-hourlyLimit")).to_contain_text("at most")
    expect(dialog.get_by_test_id("compose-error")).to_be_visible()
    expect(dialog.get_by_test_id("compose-hourly-limit")).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_test_id("compose-hourly-limit")).to_be_focused()
    shoot("13-compose-api-error-limit", full_page=False)
    dialog.get_by_label("Hourly limit", exact=True).fill("200")

    # A start time two hours ago is refused by the API and shown at Start time
    dialog.get_by_test_id("compose-start").fill(local_time_in(page, -2 * 3600))
    console.expect_failed_request("/emails/schedule", 400)
    dialog.get_by_test_id("schedule-submit").click()
    expect(dialog.get_by_test_id("error-startTime")).to_contain_text("more than an hour ago")
    expect(dialog.get_by_test_id("compose-start")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_test_id("error-startTime").scroll_into_view_if_needed()
    shoot("14-compose-api-error-start", full_page=False)

    # Nothing was stored: no batch exists
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.get_by_role("tab", name="Batches", exact=True).click()
    expect(page.get_by_test_id("batches-empty")).to_be_visible()

    console.assert_clean()
