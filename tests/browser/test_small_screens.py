"""Issue 30: the main screens at a laptop's 1,366 px and a phone's 390 px, with data in
them: no horizontal overflow (the document is exactly as wide as the viewport) and no
serious or critical axe-core violation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dashboard import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

AXE = Path(__file__).resolve().parents[2] / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"laptop": (1366, 800), "phone": (390, 844)}
TABS = ["overview", "scheduled", "sent", "batches", "senders", "suppressions", "settings"]
WIDTH_OF_DOCUMENT = "() => document.documentElement.scrollWidth"
# What sticks out past the viewport, outermost first: names the culprit when a width fails.
WIDER_THAN_VIEWPORT = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > innerWidth + 0.5)
  .filter(e => !e.parentElement.closest('.table-wrap, [role=tablist]'))
  .slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${e.className}`)"""
AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target)}));
}"""


def api_call(page: Page, method: str, path: str, body: Any = None) -> Any:
    token = page.evaluate("() => localStorage.getItem('emailsched.token')")
    answer = page.request.fetch(
        path, method=method, data=None if body is None else json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert answer.ok, answer.text()
    return answer.json()


def seed(page: Page) -> None:
    """A sent and a waiting batch, with long addresses, so every table has rows."""
    later = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    for start, subject in ((datetime.now(UTC).isoformat(), "Already going out to everyone"),
                           (later, "A campaign with a rather long subject line to wrap")):
        api_call(page, "POST", "/emails/schedule", {
            "subject": subject, "body": "<p>Hello</p>", "delayMs": 0, "hourlyLimit": 500,
            "recipients": [f"someone.with.a.long.address{n}@subdomain.example.com"
                           for n in range(3)],
            "startTime": start, "sender": {"email": "news@example.com", "name": "News"}})
    api_call(page, "POST", "/suppressions",
             {"emails": ["a.very.long.suppressed.address@example.com"]})


@pytest.fixture
def seeded_page(page: Page) -> Page:
    sign_in(page, "lena@example.com", "Lena Layout")
    seed(page)
    return page


def overflow_and_violations(page: Page, use_axe: bool) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for tab in TABS:
        page.goto(f"/#/{tab}")
        expect(page.get_by_test_id(f"panel-{tab}")).to_be_visible()
        page.wait_for_load_state("networkidle")
        width = page.evaluate(WIDTH_OF_DOCUMENT)
        if width != page.viewport_size["width"]:
            found[f"{tab} width"] = [width, page.evaluate(WIDER_THAN_VIEWPORT)]
        if use_axe:
            if not page.evaluate("() => typeof axe !== 'undefined'"):
                page.add_script_tag(path=str(AXE))
            violations = page.evaluate(AXE_RUN)
            if violations:
                found[f"{tab} axe"] = violations
    return found


@pytest.mark.parametrize("size", list(WIDTHS))
def test_the_main_screens_fit_the_width_and_pass_axe(seeded_page: Page, size: str,
                                                     screenshots: Path) -> None:
    page = seeded_page
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    use_axe = AXE.exists()
    found = overflow_and_violations(page, use_axe)
    page.goto("/#/batches")
    page.screenshot(path=str(screenshots / f"layout-{size}-batches.png"), full_page=True)
    page.get_by_test_id("compose-open").click()
    dialog = page.get_by_role("dialog", name="New campaign")
    expect(dialog).to_be_visible()
    if page.evaluate(WIDTH_OF_DOCUMENT) != width:
        found["compose width"] = page.evaluate(WIDTH_OF_DOCUMENT)
    page.screenshot(path=str(screenshots / f"layout-{size}-compose.png"))
    assert found == {}, json.dumps(found, indent=1)
    if not use_axe:
        pytest.skip("axe-core is not installed (npm ci in dashboard/): widths checked only")
