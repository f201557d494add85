"""Issue 28 in the browser: on the Settings page a user creates an API key (shown once),
sees it work and then refused once revoked; adds a webhook endpoint on a loopback
receiver, reveals its secret, sends a test event that the receiver verifies with the
Standard Webhooks library, reads the delivery log and replays the event with the same
webhook-id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from emailsched.local.cluster import Cluster
from tests.browser.test_dashboard import Shots, sign_in
from tests.browser.watch import ConsoleWatch
from tests.support.stack import wait_until
from tests.support.webhook_receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.close()


@pytest.fixture
def dispatcher(stack: Cluster) -> Cluster:
    if not any(child.name == "webhooks" and not child.exited() for child in stack.children):
        stack.start_webhooks(0.2)
        stack.wait_until_ready()
    return stack


def _with_key(stack: Cluster, key: str, method: str, path: str) -> int:
    body = {"subject": "x", "body": "x", "recipients": ["x@example.com"], "delayMs": 0,
            "startTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "hourlyLimit": 10, "sender": {"email": "k@example.com", "name": "K"}}
    return requests.request(method, f"{stack.api_url}{path}", timeout=30,
                            json=body if method == "POST" else None,
                            headers={"Authorization": f"Bearer {key}"}).status_code


def test_api_keys_and_a_webhook_from_the_settings_page(
        page: Page, console: ConsoleWatch, screenshots: Path, dispatcher: Cluster,
        receiver: Receiver):
    shoot = Shots(page, screenshots)
    sign_in(page, "integrations@example.com", "Ida")
    page.get_by_role("tab", name="Settings").click()

    page.get_by_test_id("api-key-name").fill("Reporting")
    page.get_by_test_id("api-key-create").click()
    created = page.get_by_test_id("api-key-created")
    expect(created).to_contain_text("not shown again")
    key = created.get_attribute("data-key") or ""
    assert key.startswith("es_") and len(key) == 43
    expect(page.get_by_test_id("api-key-row")).to_have_count(1)
    shoot("28-api-key-created")
    assert _with_key(dispatcher, key, "GET", "/batches") == 200
    assert _with_key(dispatcher, key, "POST", "/emails/schedule") == 403

    page.get_by_test_id("api-key-revoke").click()
    page.get_by_test_id("confirm-dialog").get_by_role("button", name="Revoke key").click()
    expect(page.get_by_test_id("api-key-row")).to_have_count(0)
    assert _with_key(dispatcher, key, "GET", "/batches") == 401

    page.get_by_test_id("webhook-url").fill(receiver.url)
    page.get_by_test_id("webhook-event-webhook.test").check()
    page.get_by_test_id("webhook-create").click()
    row = page.get_by_test_id("webhook-row")
    expect(row).to_have_attribute("data-status", "enabled")
    row.get_by_test_id("webhook-reveal").click()
    secret = page.get_by_test_id("webhook-secret").get_attribute("data-secret") or ""
    assert secret.startswith("whsec_")
    receiver.secret = secret

    row.get_by_test_id("webhook-test").click()
    wait_until(lambda: receiver.delivered_ids(), timeout=30)
    (event_id,) = receiver.delivered_ids()
    assert all(r.verified for r in receiver.received)

    row.get_by_test_id("webhook-deliveries-toggle").click()
    delivery = row.get_by_test_id("webhook-delivery").first
    expect(delivery).to_have_attribute("data-event-id", event_id)
    expect(delivery).to_have_attribute("data-status-code", "204")
    shoot("28-webhook-deliveries")
    delivery.get_by_test_id("webhook-replay").click()
    wait_until(lambda: len(receiver.attempts(event_id)) == 2, timeout=30)
    assert all(r.verified for r in receiver.attempts(event_id))
    console.assert_clean()
