"""The SMTP capture inbox (messages.json, its pages, restarts) and the test SMTP sinks."""

from __future__ import annotations

import re
import smtplib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from emailsched.local.inbox import INDEX_FILE, CaptureInbox
from tests.support.smtp_sinks import (
    DROP_AFTER_STORE,
    DROP_BEFORE_STORE,
    RecordingSink,
    TlsAuthSink,
    always,
    every,
    per_message,
)

pytestmark = [
    pytest.mark.integration,
    # aiosmtpd itself sets the attribute it deprecates after every successful AUTH.
    pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning"),
]


def message(number: int, subject: str = "", to: str = "bob@example.com",
            html: str = "<p>Hello <b>Bob</b></p>") -> EmailMessage:
    email = EmailMessage()
    email["From"] = "Alice <alice@example.com>"
    email["To"] = to
    email["Subject"] = subject or f"Message {number}"
    email["Message-ID"] = f"<{number}@emailsched.test>"
    email.set_content(f"Hello Bob, this is message {number}.")
    email.add_alternative(html, subtype="html")
    return email


def send(port: int, *emails: EmailMessage, **options: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        for email in emails:
            client.send_message(email, **options)  # type: ignore[arg-type]


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[CaptureInbox]:
    with CaptureInbox(tmp_path / "inbox") as running:
        yield running


def test_a_message_appears_in_messages_json_with_exactly_the_spec_fields(
        inbox: CaptureInbox) -> None:
    email = message(1, subject="Grüße aus Köln ☃")
    with smtplib.SMTP("127.0.0.1", inbox.smtp_port) as client:
        client.send_message(email, to_addrs=["bob@example.com", "carol@example.com"])

    [record] = requests.get(f"{inbox.http_url}/messages.json", timeout=5).json()

    assert record == {"messageId": "<1@emailsched.test>", "from": "alice@example.com",
                      "to": ["bob@example.com", "carol@example.com"],
                      "subject": "Grüße aus Köln ☃", "receivedAt": record["receivedAt"]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", record["receivedAt"])
    received = datetime.fromisoformat(record["receivedAt"])
    assert abs(datetime.now(UTC) - received) < timedelta(seconds=5)


def test_an_smtputf8_message_to_an_internationalised_address_is_captured(
        inbox: CaptureInbox) -> None:
    email = message(2, subject="Привет, 世界", to="用户@例子.测试")
    send(inbox.smtp_port, email, mail_options=["SMTPUTF8"])

    [record] = inbox.wait_for(1, timeout=5)

    assert record.to == ("用户@例子.测试",)
    assert record.subject == "Привет, 世界"
    assert requests.get(f"{inbox.http_url}/messages.json", timeout=5).json()[0]["to"] == [
        "用户@例子.测试"]


def test_the_inbox_page_lists_newest_first_and_escapes_markup(inbox: CaptureInbox) -> None:
    send(inbox.smtp_port, message(1, subject="First"),
         message(2, subject="<script>alert('x')</script> Second"))
    inbox.wait_for(2, timeout=5)

    page = requests.get(f"{inbox.http_url}/", timeout=5)

    assert page.headers["Content-Type"].startswith("text/html")
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Second" in page.text
    assert page.text.index("Second") < page.text.index("First")
    assert 'href="/messages/1"' in page.text and 'href="/messages/2"' in page.text


def test_a_message_page_shows_headers_text_and_sandboxed_html(inbox: CaptureInbox) -> None:
    html = "<p>Hi</p><script>alert(1)</script>"
    send(inbox.smtp_port, message(1, subject="<b>bold</b> subject", html=html))
    inbox.wait_for(1, timeout=5)

    page = requests.get(f"{inbox.http_url}/messages/1", timeout=5)

    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in page.text and "<b>bold</b>" not in page.text
    assert "&lt;b&gt;bold&lt;/b&gt; subject" in page.text
    assert "Hello Bob, this is message 1." in page.text
    assert '<iframe sandbox="" ' in page.text
    assert 'srcdoc="&lt;p&gt;Hi&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;' in page.text
    assert "&lt;1@emailsched.test&gt;" in page.text


def test_the_raw_message_is_served_as_received(inbox: CaptureInbox) -> None:
    send(inbox.smtp_port, message(1))
    inbox.wait_for(1, timeout=5)

    raw = requests.get(f"{inbox.http_url}/messages/1.eml", timeout=5)

    assert raw.headers["Content-Type"] == "message/rfc822"
    assert b"Message-ID: <1@emailsched.test>\r\n" in raw.content
    assert requests.get(f"{inbox.http_url}/messages/2", timeout=5).status_code == 404
    assert requests.get(f"{inbox.http_url}/nowhere", timeout=5).status_code == 404


def test_a_restarted_inbox_keeps_its_messages_and_numbers_on(tmp_path: Path) -> None:
    with CaptureInbox(tmp_path) as first:
        send(first.smtp_port, message(1), message(2))
        before = first.wait_for(2, timeout=5)

    with CaptureInbox(tmp_path) as second:
        assert second.messages() == before
        send(second.smtp_port, message(3))
        records = requests.get(f"{second.http_url}/messages.json", timeout=5).json()
        page = requests.get(f"{second.http_url}/messages/1", timeout=5)

    assert [r["messageId"] for r in records] == [f"<{n}@emailsched.test>" for n in (1, 2, 3)]
    assert "Hello Bob, this is message 1." in page.text


def test_an_index_line_cut_short_by_a_crash_is_dropped(tmp_path: Path) -> None:
    with CaptureInbox(tmp_path) as first:
        send(first.smtp_port, message(1))
        first.wait_for(1, timeout=5)
    with (tmp_path / INDEX_FILE).open("a", encoding="utf-8") as index:
        index.write('{"n": 2, "messageId": "<2@emai')

    with CaptureInbox(tmp_path) as second:
        send(second.smtp_port, message(3))
        records = second.wait_for(2, timeout=5)
        page = requests.get(f"{second.http_url}/messages/2", timeout=5)

    assert [(r.number, r.message_id) for r in records] == [(1, "<1@emailsched.test>"),
                                                           (2, "<3@emailsched.test>")]
    assert "message 3." in page.text


def test_several_connections_at_once_lose_nothing(inbox: CaptureInbox) -> None:
    def sender(first: int) -> None:
        send(inbox.smtp_port, *(message(n) for n in range(first, first + 50)))

    threads = [threading.Thread(target=sender, args=(first,)) for first in (0, 50, 100, 150)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    records = inbox.wait_for(200, timeout=10)
    assert sorted(r.number for r in records) == list(range(1, 201))
    assert {r.message_id for r in records} == {f"<{n}@emailsched.test>" for n in range(200)}


def test_tls_auth_sink_takes_mail_after_starttls_and_login(tmp_path: Path) -> None:
    with TlsAuthSink("mailer", "s3cret", cert_dir=tmp_path) as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
            client.starttls(context=sink.client_context())
            client.login("mailer", "s3cret")
            client.send_message(message(1))

        assert [m.message_id for m in sink.wait_for(1, timeout=5)] == ["<1@emailsched.test>"]


def test_tls_auth_sink_refuses_a_wrong_password_with_535(tmp_path: Path) -> None:
    with TlsAuthSink("mailer", "s3cret", cert_dir=tmp_path) as sink, smtplib.SMTP(
            "127.0.0.1", sink.port, timeout=10) as client:
        client.starttls(context=sink.client_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login("mailer", "wrong")

    assert refused.value.smtp_code == 535


def test_tls_auth_sink_refuses_mail_before_starttls(tmp_path: Path) -> None:
    with (TlsAuthSink("mailer", "s3cret", cert_dir=tmp_path) as sink,
          pytest.raises(smtplib.SMTPSenderRefused) as refused):
        send(sink.port, message(1))

    assert refused.value.smtp_code == 530
    assert sink.messages == []


def test_sink_defers_each_message_once_then_accepts_its_retry() -> None:
    with RecordingSink(script=per_message("451 4.3.0 try later")) as sink:
        for number in (1, 2):
            with pytest.raises(smtplib.SMTPDataError) as deferred:
                send(sink.port, message(number))
            assert deferred.value.smtp_code == 451
            send(sink.port, message(number))

        assert sink.message_ids == ["<1@emailsched.test>", "<2@emailsched.test>"]
        assert sink.data_attempts == 4


@pytest.mark.parametrize(("script", "kept"), [(DROP_BEFORE_STORE, 0), (DROP_AFTER_STORE, 1)])
def test_sink_can_hang_up_after_data_with_or_without_keeping_the_message(
        script: str, kept: int) -> None:
    with RecordingSink(script=always(script)) as sink:
        with pytest.raises(smtplib.SMTPServerDisconnected):
            send(sink.port, message(1))

        assert len(sink.messages) == kept
        assert sink.data_attempts == 1


def refuse_bad(address: str) -> str | None:
    return "550 5.1.1 no such user" if address.startswith("bad") else None


def test_sink_refuses_every_third_message_and_recipients_as_scripted() -> None:
    with RecordingSink(script=every(3, "421 4.3.2 busy"), rcpt_script=refuse_bad) as sink:
        codes = []
        for number in range(6):
            try:
                send(sink.port, message(number))
                codes.append(250)
            except smtplib.SMTPDataError as error:
                codes.append(error.smtp_code)
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send(sink.port, message(9, to="bad@example.com"))

    assert codes == [250, 250, 421, 250, 250, 421]


def test_sink_down_for_a_while_comes_back_on_the_same_port() -> None:
    with RecordingSink() as sink:
        port = sink.port
        comeback = sink.down_for(0.5)
        with pytest.raises(ConnectionRefusedError):
            send(port, message(1))
        comeback.join()
        send(port, message(2))

        assert sink.port == port
        assert sink.message_ids == ["<2@emailsched.test>"]
