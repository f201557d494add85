"""Issue 13 in the browser: a user connects two SMTP mailboxes of her own (each a local
sink that wants AUTH), sees "Test connection" show the server's own refusal of a wrong
password, and sends one campaign rotated over both; Sent lists both senders' emails and
each sink received its share under its own login and From address."""

from __future__ import annotations

import hmac
import threading
import time
from email import message_from_bytes
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from playwright.sync_api import Page, expect

from tests.browser.test_dashboard import Shots, show_rows, sign_in
from tests.browser.watch import ConsoleWatch
from tests.support.smtp_sinks import ReceivedMessage, RecordingSink

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(240),
    # The sinks want AUTH without TLS on purpose (security `none`, loopback).
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

SUBJECT = "Two mailboxes, one campaign"
RECIPIENTS = [f"rotated{n}@example.com" for n in range(1, 7)]
# aiosmtpd's refusal of a wrong AUTH password, which the API passes on as it was said.
WRONG_PASSWORD_REPLY = "535 5.7.8 Authentication credentials invalid"
SENT_WITHIN_MS = 30_000


class PlainAuthSink(RecordingSink):
    """A RecordingSink that wants AUTH LOGIN or PLAIN as `user`/`password` on a plain
    connection (security `none`, loopback only) and remembers every login it was offered."""

    def __init__(self, user: str, password: str):
        super().__init__()
        self.user, self.password = user, password
        self.logins: list[tuple[str, bool]] = []
        self._lock = threading.Lock()

    def _smtp_options(self) -> dict[str, Any]:
        return {"auth_required": True, "auth_require_tls": False,
                "authenticator": self._authenticate}

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        valid = (hmac.compare_digest(auth_data.login, self.user.encode())
                 and hmac.compare_digest(auth_data.password, self.password.encode()))
        with self._lock:
            self.logins.append((auth_data.login.decode(), valid))
        return AuthResult(success=valid, handled=False)

    def good_logins(self) -> set[str]:
        with self._lock:
            return {login for login, valid in self.logins if valid}


def add_sender(page: Page, sink: PlainAuthSink, email: str, name: str, password: str) -> None:
    """Fill the Add a sender form for `sink` and press "Test connection and add"."""
    form = page.get_by_test_id("sender-form")
    form.get_by_test_id("sender-email").fill(email)
    form.get_by_test_id("sender-name").fill(name)
    form.get_by_test_id("sender-smtp-host").fill(sink.host)
    form.get_by_test_id("sender-smtp-security").select_option("none")
    form.get_by_test_id("sender-smtp-port").fill(str(sink.port))
    form.get_by_test_id("sender-smtp-username").fill(sink.user)
    form.get_by_test_id("sender-smtp-password").fill(password)
    form.get_by_test_id("sender-test-submit").click()


def from_address(message: ReceivedMessage) -> str:
    return parseaddr(str(message_from_bytes(message.raw)["From"]))[1]


def test_two_mailboxes_added_in_the_browser_share_a_rotated_campaign(
    page: Page, console: ConsoleWatch, screenshots: Path
) -> None:
    shoot = Shots(page, screenshots)
    sink_a = PlainAuthSink("anna-login", "anna-right-password").start()
    sink_b = PlainAuthSink("ben-login", "ben-right-password").start()
    sender_a, sender_b = "anna@rotate-a.example.com", "ben@rotate-b.example.com"
    try:
        sign_in(page, "mira@example.com", "Mira Rotation")

        # Given the Senders page, empty
        page.get_by_role("tab", name="Senders").click()
        expect(page.get_by_test_id("senders-view")).to_be_visible()
        expect(page.get_by_test_id("sender-row")).to_have_count(0)

        # When she adds sender A with a wrong password
        page.get_by_test_id("senders-add").click()
        form = page.get_by_test_id("sender-form")
        expect(form).to_be_visible()
        console.expect_failed_request("/senders", 422)
        add_sender(page, sink_a, sender_a, "Anna", "not-the-password")

        # Then "Test connection" shows the sink's own 535, word for word, and nothing is added
        result = form.get_by_test_id("sender-test-result")
        expect(result).to_have_attribute("data-ok", "false")
        expect(result.locator("pre")).to_have_text(WRONG_PASSWORD_REPLY)
        # (smtplib tries each mechanism offered, PLAIN then LOGIN: every one refused)
        assert sink_a.logins and set(sink_a.logins) == {("anna-login", False)}
        shoot("senders-01-wrong-password", full_page=False)

        # When she types the right one and tests again, it is saved
        form.get_by_test_id("sender-smtp-password").fill(sink_a.password)
        form.get_by_test_id("sender-test-submit").click()
        expect(form).to_be_hidden()
        expect(page.get_by_test_id("toast-success")).to_contain_text("Sender added")
        assert sink_a.good_logins() == {"anna-login"}

        # And sender B, on the second sink, first time right
        page.get_by_test_id("senders-add").click()
        expect(form).to_be_visible()
        add_sender(page, sink_b, sender_b, "Ben", sink_b.password)
        expect(form).to_be_hidden()
        rows = page.get_by_test_id("sender-row")
        expect(rows).to_have_count(2)
        for address in (sender_a, sender_b):
            row = rows.filter(has_text=address)
            expect(row).to_have_attribute("data-status", "active")
            expect(row).to_have_attribute("data-kind", "smtp")
        shoot("senders-02-two-senders")

        # When she composes a campaign from both, to 6 pasted recipients, starting now
        page.get_by_test_id("compose-open").click()
        dialog = page.get_by_role("dialog", name="New campaign")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Subject", exact=True).fill(SUBJECT)
        dialog.get_by_test_id("compose-body").fill("<p>Hello from one of our two mailboxes.</p>")
        options = dialog.get_by_test_id("compose-sender-option")
        expect(options).to_have_count(2)
        for address in (sender_a, sender_b):
            checkbox = options.filter(has_text=address).get_by_test_id("compose-sender-checkbox")
            if not checkbox.is_checked():
                checkbox.check()
        dialog.get_by_label("Recipients", exact=True).fill("\n".join(RECIPIENTS))
        expect(dialog.get_by_test_id("recipients-valid-count")).to_have_text("6")
        shares = dialog.get_by_test_id("compose-sender-share")
        expect(shares).to_have_count(2)
        expect(shares).to_have_text(["≈ 3 emails", "≈ 3 emails"])
        dialog.get_by_role("group", name="Quick picks").get_by_role("button", name="Now").click()
        dialog.get_by_label("Delay between emails", exact=True).fill("1")
        dialog.get_by_label("Hourly limit", exact=True).fill("200")
        dialog.get_by_test_id("compose-senders").scroll_into_view_if_needed()
        shoot("senders-03-compose-rotation", full_page=False)
        submit = dialog.get_by_test_id("schedule-submit")
        expect(submit).to_have_text("Schedule 6 emails")
        submit.click()
        expect(page.get_by_test_id("toast-success")).to_contain_text("Scheduled 6 emails")
        expect(dialog).to_be_hidden()

        # Then Sent lists all 6, from both senders
        page.get_by_role("tab", name="Sent", exact=True).click()
        show_rows(page, 50)
        table = page.get_by_test_id("sent-table")
        sent = table.locator("[data-testid=email-row][data-status=sent]")
        expect(sent).to_have_count(6, timeout=SENT_WITHIN_MS)
        expect(table.locator("tr", has_text=sender_a)).to_have_count(3, timeout=5_000)
        expect(table.locator("tr", has_text=sender_b)).to_have_count(3)
        shoot("senders-04-sent-from-both")

        # And each sink got its share (3 ± 1), under its own login and From, each recipient once
        deadline = time.monotonic() + 10
        while len(sink_a.messages) + len(sink_b.messages) < 6 and time.monotonic() < deadline:
            time.sleep(0.1)
        got_a = [m for m in sink_a.messages if m.subject == SUBJECT]
        got_b = [m for m in sink_b.messages if m.subject == SUBJECT]
        assert len(got_a) + len(got_b) == 6
        assert 2 <= len(got_a) <= 4 and 2 <= len(got_b) <= 4, (len(got_a), len(got_b))
        assert sorted(r for m in got_a + got_b for r in m.to) == sorted(RECIPIENTS)
        for sink, got, address in ((sink_a, got_a, sender_a), (sink_b, got_b, sender_b)):
            assert sink.good_logins() == {sink.user}
            assert {m.mail_from for m in got} == {address}
            assert {from_address(m) for m in got} == {address}

        console.assert_clean()
    finally:
        sink_a.stop()
        sink_b.stop()
