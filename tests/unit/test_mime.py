"""The message the mailer writes: strict MIME with every header a receiver checks, and a
batch's shared rendering with its per-email values pasted in, exactly what rendering each
email in full gives."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import strict

import pytest

from emailsched.adapters import mime
from emailsched.adapters.mime import dot_stuffed, message_data, render_in_full
from emailsched.domain.outgoing import OutgoingEmail

pytestmark = pytest.mark.unit
DATE = "Fri, 27 Nov 2026 18:58:24 +0000"
_BOUNDARY = re.compile(rb"={15}\d+==")
URL = "https://api.example.com/u/AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB"


def email(**changes: str) -> OutgoingEmail:
    values = {"message_id": "<1f0e7c4e-1111-4222-8333-444455556666@example.com>",
              "sender_email": "sales@example.com", "sender_name": "Sales",
              "recipient": "r000001@example.com", "subject": "Hello",
              "body_html": f'<p>Hello <b>there</b></p><p><a href="{URL}">Unsubscribe</a></p>',
              "unsubscribe_url": URL}
    values.update(changes)
    return OutgoingEmail(**values)


def other_url(n: int) -> str:
    return URL[:-45] + f"{n:022d}.{'Z' * 22}"


def same(a: bytes, b: bytes) -> bool:
    return _BOUNDARY.sub(b"BOUNDARY", a) == _BOUNDARY.sub(b"BOUNDARY", b)


def parsed(data: bytes):
    undotted = re.sub(rb"(?m)^\.\.", b".", data)
    return message_from_bytes(undotted, policy=strict)


@pytest.fixture(autouse=True)
def fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mime, "format_datetime", lambda _: DATE)
    mime.clear_caches()


def with_url(message: OutgoingEmail, url: str, **changes: str) -> OutgoingEmail:
    values = {**message.__dict__, **changes, "unsubscribe_url": url,
              "body_html": message.body_html.replace(message.unsubscribe_url, url),
              "subject": message.subject.replace(message.unsubscribe_url, url)}
    return OutgoingEmail(**values)


@pytest.mark.parametrize("message", [
    email(),
    email(recipient="first.last+tag@sub.example.co.uk"),
    email(sender_name="Zoë Ångström, Sales", subject="Grüße aus Köln"),
    email(subject="A subject that is long enough to be folded by the policy " * 3),
    email(body_html=f"<p>Line one</p>\n.leading dot\n..two dots\n<p>€ and ü {URL}</p>"
                    f'<a href="{URL}">{URL}</a>' + "long line of text " * 20),
    email(subject=f"Unsubscribe at {URL} any time"),
])
def test_a_shared_rendering_is_the_message_rendered_in_full(message: OutgoingEmail):
    assert same(message_data(message), render_in_full(message, DATE))
    for n in (1, 2):
        second = with_url(message, other_url(n), recipient=f"other{n}@example.org",
                          message_id=f"<{n}@example.com>")
        assert same(message_data(second), render_in_full(second, DATE))
    assert (mime._templates.misses, mime._templates.hits) == (2, 1)


@pytest.mark.parametrize("message", [
    email(recipient=f"{'x' * 70}@example.com"),
    email(recipient="o'brien@example.com"),
    email(recipient="=?utf-8?q?x?=@example.com"),
    email(unsubscribe_url="https://x.example/u/a=b", body_html="<p>x</p>"),
])
def test_values_the_policy_might_rewrite_are_rendered_in_full(message: OutgoingEmail):
    assert same(message_data(message), render_in_full(message, DATE))
    assert mime._templates.misses == 0


@pytest.mark.parametrize("message", [
    email(),
    email(sender_name="Zoë Ångström, Sales", subject="Grüße aus Köln — ça va ?",
          recipient="lead@bücher.de", body_html="<p>Schöne Grüße, €5 <a href='https://x.example/a'>"
                                                "das Angebot</a></p>"),
    email(subject="x" * 300, body_html="<p>" + "ü" * 500 + "</p>"),
])
def test_every_message_parses_strictly_with_the_headers_receivers_check(message):
    data = message_data(message)
    assert data.isascii()  # 7-bit throughout: no SMTPUTF8 or 8BITMIME needed
    parsed_message = parsed(data)
    assert not parsed_message.defects
    assert len(parsed_message.get_all("Message-ID")) == 1
    assert parsed_message["Message-ID"] == message.message_id
    assert parsed_message["Date"].datetime is not None
    assert parsed_message["Subject"] == message.subject
    assert parsed_message.get_content_type() == "multipart/alternative"
    text, html = parsed_message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert html.get_content().replace("\r\n", "\n").rstrip("\n") == message.body_html
    assert parsed_message["List-Unsubscribe"] == f"<{message.unsubscribe_url}>"
    assert parsed_message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed_message["From"].addresses[0].display_name == message.sender_name


def test_an_idn_domain_is_written_as_its_a_label_and_the_text_part_keeps_link_targets():
    message = email(recipient="lead@bücher.de",
                    body_html='<p>See <a href="https://example.com/x">the offer</a></p>')
    parsed_message = parsed(message_data(message))
    assert parsed_message["To"] == "lead@xn--bcher-kva.de"
    text = next(parsed_message.iter_parts()).get_content()
    assert "the offer (https://example.com/x)" in text


def test_under_smtputf8_a_non_ascii_local_part_stays_utf8():
    message = email(recipient="jürgen@example.com")
    data = message_data(message, smtputf8=True)
    assert "To: jürgen@example.com".encode() in data
    assert not parsed(data).defects


def test_dot_stuffing_doubles_leading_dots_and_ends_with_crlf():
    assert dot_stuffed(b".a\n..b\nc") == b"..a\r\n...b\r\nc\r\n"
