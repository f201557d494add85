"""Issue 27 in the browser: a campaign scheduled with click and open tracking switched on in
compose; its email's pixel fetched by Apple's prefetch and by a mail client, its link
followed by a person; the campaign's analytics show one human open and one human click,
the machine's open apart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from emailsched.local.cluster import Cluster
from tests.browser.test_dashboard import Shots, sign_in
from tests.browser.test_deliverability import captured
from tests.browser.watch import ConsoleWatch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SUBJECT = "Tracked news"
LINK = "https://example.com/news?id=7&src=mail#top"
RECIPIENT = "ines@example.com"
MAIL_CLIENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)


def test_tracking_switched_on_in_compose_shows_people_and_machines_in_the_analytics(
    page: Page, console: ConsoleWatch, stack: Cluster, screenshots: Path
) -> None:
    shoot = Shots(page, screenshots)
    sign_in(page, "tess@example.com", "Tess Tracker")

    # Given a campaign with a link, tracking switched on (off by default, with its note)
    page.get_by_test_id("compose-open").click()
    dialog = page.get_by_role("dialog", name="New campaign")
    dialog.get_by_test_id("compose-sender-email").fill("news@track.example.com")
    dialog.get_by_test_id("compose-sender-name").fill("Track News")
    dialog.get_by_label("Subject", exact=True).fill(SUBJECT)
    dialog.get_by_test_id("compose-body").fill(
        f'<p>Read <a href="{LINK.replace("&", "&amp;")}">the news</a></p>'
    )
    dialog.locator("#compose-recipients").fill(RECIPIENT)
    opens, clicks = (
        dialog.get_by_test_id("compose-track-opens"),
        dialog.get_by_test_id("compose-track-clicks"),
    )
    expect(opens).not_to_be_checked()
    expect(dialog.locator(".tracking-fields")).to_contain_text("Plain cold email lands better")
    opens.check()
    clicks.check()
    dialog.get_by_role("group", name="Quick picks").get_by_role("button", name="Now").click()
    dialog.get_by_label("Delay between emails", exact=True).fill("0")
    shoot("engagement-01-compose", full_page=False)
    dialog.get_by_test_id("schedule-submit").click()
    expect(page.get_by_test_id("toast-success")).to_contain_text("Scheduled 1")

    # When the email arrives, Apple prefetches its pixel, the reader opens it and clicks
    html = captured(stack, RECIPIENT, SUBJECT).get_body(("html",))
    assert html is not None
    content = html.get_content()
    pixel = re.search(r'src="([^"]+/t/o/[^"]+\.gif)"', content)
    link = re.search(r'href="([^"]+/t/c/[^"]+)"', content)
    assert pixel and link, content
    for agent in ("Mozilla/5.0", MAIL_CLIENT):
        assert requests.get(pixel[1], headers={"User-Agent": agent}, timeout=10).status_code == 200
    followed = requests.get(
        link[1], headers={"User-Agent": MAIL_CLIENT}, allow_redirects=False, timeout=10
    )
    assert (followed.status_code, followed.headers["Location"]) == (302, LINK)

    # Then the campaign's analytics count one person's open and click, the prefetch apart
    page.get_by_role("tab", name="Batches", exact=True).click()
    card = page.get_by_test_id("batch-card").filter(has_text=SUBJECT)
    panel = card.get_by_test_id("batch-analytics")
    for _ in range(20):  # hits reach the database within a flush or two
        card.get_by_test_id("batch-analytics-toggle").click()
        expect(panel).to_be_visible()
        if panel.get_by_test_id("analytics-machine-opens").inner_text() == "1" and "1 ·" in (
            panel.locator("[data-stage=clicked]").inner_text()
        ):
            break
        card.get_by_test_id("batch-analytics-toggle").click()
        page.wait_for_timeout(500)
    expect(panel.locator("[data-stage=sent]")).to_contain_text("1")
    expect(panel.locator("[data-stage=opened]")).to_contain_text("1 · 100 %")
    expect(panel.locator("[data-stage=clicked]")).to_contain_text("1 · 100 %")
    expect(panel.get_by_test_id("analytics-machine-opens")).to_have_text("1")
    expect(panel.get_by_test_id("analytics-machine-clicks")).to_have_text("0")
    shoot("engagement-02-analytics")
    console.assert_clean()
