"""Issue 14 in the browser: a CSV whose columns become merge fields, a field inserted at
the cursor, the preview for one recipient, the campaign scheduled; then one recipient
opens the unsubscribe link of the email the capture inbox received, confirms, and the
address is listed under Suppressions."""

from __future__ import annotations

import re
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from emailsched.local.cluster import Cluster
from tests.browser.test_dashboard import Shots, sign_in
from tests.browser.watch import ConsoleWatch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SUBJECT_START = "News for "
ROWS = [
    ("lena@example.com", "Lena", "Acme & Sons"),
    ("omar@example.com", "Omar", "Globex"),
    ("yuki@example.com", "Yuki", "Initech"),
]
LEAVER = ROWS[1]
# Where the cursor is put in the body before a field is inserted: after "Dear ".
BODY_BEFORE, BODY_AFTER = "<p>Dear ", ",</p><p>Our news this month.</p>"
SENT_WITHIN_S = 30


def people_csv(folder: Path) -> Path:
    path = folder / "people.csv"
    lines = ["email,first_name,company", *(",".join(f'"{v}"' for v in row) for row in ROWS)]
    path.write_text("\n".join(lines) + "\n")
    return path


def captured(stack: Cluster, recipient: str, subject: str) -> EmailMessage:
    """The message the capture inbox received for `recipient`, parsed strictly."""
    deadline = time.monotonic() + SENT_WITHIN_S
    while True:
        for message in stack.inbox.messages():
            if recipient in message.to and message.subject == subject:
                found = stack.inbox.store.get(message.number)
                assert found is not None
                parsed = message_from_bytes(found[1], policy=policy.strict)
                assert isinstance(parsed, EmailMessage)
                return parsed
        assert time.monotonic() < deadline, f"no message to {recipient} in the inbox"
        time.sleep(0.2)


def test_csv_fields_preview_and_an_unsubscribe_that_lands_in_suppressions(
    page: Page, console: ConsoleWatch, stack: Cluster, screenshots: Path, tmp_path: Path
) -> None:
    shoot = Shots(page, screenshots)
    sign_in(page, "noor@example.com", "Noor Fields")

    # Given a CSV with an email column and two more
    page.get_by_test_id("compose-open").click()
    dialog = page.get_by_role("dialog", name="New campaign")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("compose-sender-email").fill("news@fields.example.com")
    dialog.get_by_test_id("compose-sender-name").fill("Fields News")
    dialog.get_by_test_id("recipients-file").set_input_files(people_csv(tmp_path))
    expect(dialog.get_by_test_id("recipients-valid-count")).to_have_text("3")

    # Then its columns are offered as merge fields
    bar = dialog.get_by_test_id("merge-fields")
    expect(bar).to_have_attribute("data-count", "2")
    fields = bar.get_by_test_id("merge-field")
    expect(fields.and_(page.locator("[data-field=first_name]"))).to_have_count(1)
    expect(fields.and_(page.locator("[data-field=company]"))).to_have_count(1)

    # When she puts the cursor after "Dear " in the body and inserts first_name
    body = dialog.get_by_test_id("compose-body")
    body.fill(BODY_BEFORE + BODY_AFTER)
    body.focus()
    body.evaluate("(el, at) => el.setSelectionRange(at, at)", len(BODY_BEFORE))
    bar.locator("[data-testid=merge-field][data-field=first_name]").click()

    # Then the field lands there, and the cursor after it
    expect(body).to_have_value(BODY_BEFORE + "{{ first_name }}" + BODY_AFTER)
    expect(body).to_be_focused()
    assert body.evaluate("el => el.selectionStart") == len(BODY_BEFORE + "{{ first_name }}")

    # And company goes at the end of the subject, its target picked in the bar
    subject = dialog.get_by_test_id("compose-subject")
    subject.fill(SUBJECT_START)
    subject.focus()
    subject.press("End")
    expect(bar.locator("[data-testid=merge-field-target][data-target=subject]")).to_have_attribute(
        "aria-pressed", "true"
    )
    bar.locator("[data-testid=merge-field][data-field=company]").click()
    expect(subject).to_have_value(SUBJECT_START + "{{ company }}")
    shoot("deliverability-01-fields", full_page=False)

    # When she previews it for the second recipient
    dialog.get_by_test_id("body-preview-tab").click()
    dialog.get_by_test_id("preview-recipient").select_option("1")
    expect(dialog.get_by_test_id("preview-subject")).to_have_text(SUBJECT_START + LEAVER[2])
    frame = dialog.frame_locator("[data-testid=body-preview]")
    expect(frame.locator("body")).to_contain_text(f"Dear {LEAVER[1]},")
    expect(dialog.get_by_test_id("preview-missing")).to_have_count(0)
    # and the first, whose company has an ampersand: shown as text, not markup
    dialog.get_by_test_id("preview-recipient").select_option("0")
    expect(dialog.get_by_test_id("preview-subject")).to_have_text(SUBJECT_START + ROWS[0][2])
    expect(frame.locator("body")).to_contain_text(f"Dear {ROWS[0][1]},")
    dialog.get_by_test_id("preview-recipient").select_option("1")
    shoot("deliverability-02-preview", full_page=False)

    # When she schedules it to start now
    dialog.get_by_role("group", name="Quick picks").get_by_role("button", name="Now").click()
    dialog.get_by_label("Delay between emails", exact=True).fill("0")
    submit = dialog.get_by_test_id("schedule-submit")
    expect(submit).to_have_text("Schedule 3 emails")
    submit.click()
    expect(page.get_by_test_id("toast-success")).to_contain_text("Scheduled 3 emails")
    expect(dialog).to_be_hidden()

    # Then each recipient gets their own subject and greeting, with the two RFC 8058 headers
    leaver_subject = SUBJECT_START + LEAVER[2]
    message = captured(stack, LEAVER[0], leaver_subject)
    html_part = message.get_body(("html",))
    assert html_part is not None
    assert f"Dear {LEAVER[1]}," in html_part.get_content()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(?P<url>https?://[^>]+/u/[^>]+)>", str(message["List-Unsubscribe"]))
    assert link is not None, message["List-Unsubscribe"]
    url = link["url"]
    assert url.startswith(stack.api_url), (url, stack.api_url)
    # the footer of a body without {{ unsubscribe_url }} carries the same link
    assert url in html_part.get_content()
    captured(stack, ROWS[0][0], SUBJECT_START + ROWS[0][2])
    captured(stack, ROWS[2][0], SUBJECT_START + ROWS[2][2])

    # When the recipient opens the link: a page asks first, the GET changes nothing
    page.goto(url)
    expect(page.get_by_role("heading", name="Unsubscribe", exact=True)).to_be_visible()
    expect(page.locator("body")).to_contain_text("o***@example.com")
    shoot("deliverability-03-unsubscribe-page")
    page.goto("/#/suppressions")
    expect(page.get_by_test_id("suppressions-view")).to_be_visible()
    expect(page.get_by_test_id("suppressions-empty")).to_be_visible()

    # And confirming unsubscribes
    page.goto(url)
    page.get_by_role("button", name="Unsubscribe", exact=True).click()
    expect(page.get_by_role("heading", name="Unsubscribed", exact=True)).to_be_visible()
    shoot("deliverability-04-unsubscribed")

    # Then the address is under Suppressions, as unsubscribed
    page.goto("/#/suppressions")
    rows = page.get_by_test_id("suppression-row")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-email", LEAVER[0])
    expect(rows).to_have_attribute("data-reason", "unsubscribed")
    shoot("deliverability-05-suppressions")

    console.assert_clean()
