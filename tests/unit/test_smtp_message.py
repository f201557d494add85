"""The message the mailer writes: a batch's rendered template with its per-email lines
must be exactly what rendering each email in full gives."""

from __future__ import annotations

import re
from email.policy import SMTP

import pytest

from emailsched.adapters import smtp
from emailsched.adapters.smtp import build_message, dot_stuffed, message_data
from emailsched.ports import OutgoingEmail

pytestmark = pytest.mark.unit
DATE = "Fri, 27 Nov 2026 18:58:24 +0000"
_BOUNDARY = re.compile(rb"={15}\d+==")


def email(**changes: str) -> OutgoingEmail:
    values = {"message_id": "<1f0e7c4e-1111-4222-8333-444455556666@emailsched.local>",
              "sender_email": "sales@example.com", "sender_name": "Sales",
              "recipient": "r000001@example.com", "subject": "Hello",
              "body_html": "<p>Hello <b>there</b></p>"}
    values.update(changes)
    return OutgoingEmail(**values)


def rendered_in_full(message: OutgoingEmail) -> bytes:
    return dot_stuffed(build_message(message, DATE).as_bytes(policy=SMTP))


def same(a: bytes, b: bytes) -> bool:
    return _BOUNDARY.sub(b"BOUNDARY", a) == _BOUNDARY.sub(b"BOUNDARY", b)


@pytest.fixture(autouse=True)
def fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(smtp, "format_datetime", lambda _: DATE)
    monkeypatch.setattr(smtp, "formatdate", lambda **_: DATE)
    smtp._template.cache_clear()


@pytest.mark.parametrize("message", [
    email(),
    email(recipient="first.last+tag@sub.example.co.uk"),
    email(sender_name="Zoë Ångström, Sales", subject="Grüße aus Köln"),
    email(subject="A subject that is long enough to be folded by the policy " * 3),
    email(body_html="<p>Line one</p>\n.leading dot\n..two dots\n<p>€ and ü</p>"),
])
def test_a_templated_message_is_the_message_rendered_in_full(message: OutgoingEmail):
    assert same(message_data(message), rendered_in_full(message))
    second = email(**{**message.__dict__, "recipient": "other@example.org",
                      "message_id": "<2@emailsched.local>"})
    assert same(message_data(second), rendered_in_full(second))
    assert smtp._template.cache_info().misses == 1


@pytest.mark.parametrize("message", [
    email(recipient=f"{'x' * 70}@example.com"),
    email(recipient="o'brien@example.com"),
    email(recipient="=?utf-8?q?x?=@example.com"),
])
def test_addresses_the_policy_might_rewrite_are_rendered_in_full(message: OutgoingEmail):
    assert same(message_data(message), rendered_in_full(message))
    assert smtp._template.cache_info().currsize == 0
