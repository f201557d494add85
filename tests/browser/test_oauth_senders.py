"""Issue 25 in the browser: "Connect Google" (only the configured provider is offered) goes
through a local OAuth provider's consent and back to the Senders page with a toast and the
new sender's Google icon and age; a refused consent comes back as an error toast; a revoked
grant turns the sender failing with `reconnect:`, and Reconnect makes it active again."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from emailsched.local.cluster import Cluster
from tests.browser.conftest import (
    POLL_INTERVAL_MS,
    STACK_ENV,
    _free_port,
    _machine_database,
)
from tests.browser.test_dashboard import sign_in
from tests.browser.watch import ConsoleWatch
from tests.support.oauth_provider import CLIENT_ID, CLIENT_SECRET, OAuthProvider
from tests.support.smtp_sinks import XOAuth2Sink

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(240),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]
MAILBOX = "sales@acme.example"


@pytest.fixture(scope="module")
def provider() -> Iterator[OAuthProvider]:
    with OAuthProvider(access_ttl=60, mailbox=MAILBOX).start() as started:
        yield started


@pytest.fixture(scope="module")
def oauth_stack(tmp_path_factory: pytest.TempPathFactory, dashboard_dist: Path,
                provider: OAuthProvider) -> Iterator[Cluster]:
    """The dashboard's stack with Google (only) configured against the local provider and
    an SMTP server that takes only XOAUTH2."""
    suffix = uuid.uuid4().hex[:10]
    with ExitStack() as cleanup:
        sink = XOAuth2Sink(provider.valid).start()
        cleanup.callback(sink.stop)
        env = {**STACK_ENV, "REDIS_KEY_PREFIX": f"emailsched-browser-{suffix}:",
               "SEND_QUEUE_NAME": f"emailsched-browser-{suffix}",
               "GOOGLE_OAUTH_CLIENT_ID": CLIENT_ID, "GOOGLE_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
               "OAUTH_PROVIDER_ENDPOINTS": json.dumps({"google": provider.endpoints(sink.port)})}
        database = _machine_database(f"emailsched_browser_{suffix}")
        if database is not None:
            env["DATABASE_URL"], drop = database
            cleanup.callback(drop)
        cluster = Cluster(tmp_path_factory.mktemp("oauth-stack"), port=_free_port(), env=env,
                          quiet=True)
        cleanup.callback(cluster.stop)
        cluster.start_services()
        cluster.prepare()
        cluster.start_api()
        cluster.wait_for_api()
        yield cluster


@pytest.fixture
def oauth_page(browser: Browser, oauth_stack: Cluster) -> Iterator[Page]:
    context = browser.new_context(base_url=oauth_stack.api_url,
                                  viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    context.route("**/config.js", lambda route: route.fulfill(
        content_type="text/javascript",
        body=f'window.__EMAILSCHED_CONFIG__ = {{"apiBaseUrl": "", '
             f'"pollIntervalMs": {POLL_INTERVAL_MS}}};\n'))
    yield context.new_page()
    context.close()


def test_connect_google_shows_the_mailbox_and_reconnect_revives_a_revoked_one(
        oauth_page: Page, provider: OAuthProvider):
    page = oauth_page
    console = ConsoleWatch.attach(page)
    sign_in(page, "owner@example.com", "Owner")
    page.goto("/#/senders")
    expect(page.get_by_test_id("senders-connect-microsoft")).to_have_count(0)

    provider.refuse_codes = True  # the token endpoint refuses the code: nothing stored
    page.get_by_test_id("senders-connect-google").click()
    expect(page.get_by_text("Mailbox not connected")).to_be_visible()
    expect(page.get_by_text("invalid_grant", exact=False).first).to_be_visible()
    expect(page.get_by_test_id("sender-row")).to_have_count(0)

    provider.refuse_codes = False
    page.get_by_test_id("senders-connect-google").click()
    expect(page.get_by_text("Mailbox connected")).to_be_visible()
    row = page.get_by_test_id("sender-row")
    expect(row).to_have_attribute("data-kind", "google")
    expect(row.get_by_test_id("sender-oauth")).to_have_attribute("data-provider", "google")
    expect(row.get_by_test_id("sender-oauth")).to_contain_text("connected just now")
    expect(row.get_by_test_id("sender-reconnect")).to_have_count(0)

    provider.revoke(MAILBOX)  # the user removed the app's access at Google
    console.expect_failed_request("/verify", 502)
    row.get_by_test_id("sender-verify").click()
    expect(row.get_by_test_id("sender-row-message")).to_contain_text("invalid_grant")
    page.reload()
    row = page.get_by_test_id("sender-row")
    expect(row).to_have_attribute("data-status", "failing")
    expect(row.get_by_test_id("sender-last-error")).to_contain_text("reconnect:")

    row.get_by_test_id("sender-reconnect").click()
    expect(page.get_by_text("Mailbox connected")).to_be_visible()
    expect(page.get_by_test_id("sender-row")).to_have_attribute("data-status", "active")
    expect(page.get_by_test_id("sender-row")).to_have_count(1)  # the same sender, revived
    console.assert_clean()
