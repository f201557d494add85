"""One-click unsubscribe: a token names one email, cannot be altered or forged, and the
headers and footer follow RFC 8058."""

from __future__ import annotations

import email
import email.policy
import uuid
from email.message import EmailMessage

import pytest

from emailsched.domain.unsubscribe import (
    append_footer,
    footer_html,
    footer_text,
    list_unsubscribe_headers,
    make_token,
    read_token,
    unsubscribe_url,
)

pytestmark = pytest.mark.unit
KEY = b"k" * 32
EMAIL_ID = uuid.UUID("1f0e7c4e-1111-4222-8333-444455556666")


def test_a_token_reads_back_as_its_email_id_and_is_compact_and_url_safe():
    token = make_token(KEY, EMAIL_ID)
    assert read_token(KEY, token) == EMAIL_ID
    assert len(token) == 45 and token.count(".") == 1
    assert all(c.isalnum() or c in "-_." for c in token)


def test_every_altered_character_makes_the_token_unknown():
    token = make_token(KEY, EMAIL_ID)
    for index in range(len(token)):
        for replacement in "A_-.":
            altered = token[:index] + replacement + token[index + 1:]
            if altered != token:
                assert read_token(KEY, altered) is None


def test_a_token_for_another_email_cannot_be_made_by_swapping_in_its_id():
    other = uuid.uuid4()
    mac = make_token(KEY, EMAIL_ID).split(".")[1]
    forged = f"{make_token(KEY, other).split('.')[0]}.{mac}"
    assert read_token(KEY, forged) is None
    assert make_token(KEY, other) != make_token(KEY, EMAIL_ID)


def test_a_token_signed_under_another_key_is_unknown():
    assert read_token(b"o" * 32, make_token(KEY, EMAIL_ID)) is None


@pytest.mark.parametrize("junk", ["", ".", "abc", "a.b.c", "x" * 45, "é" * 22 + "." + "é" * 22,
                                  make_token(KEY, EMAIL_ID) + "="])
def test_anything_not_shaped_like_a_token_is_unknown(junk):
    assert read_token(KEY, junk) is None


def test_a_short_key_is_refused():
    with pytest.raises(ValueError):
        make_token(b"short", EMAIL_ID)


def test_the_url_and_the_two_rfc_8058_headers():
    url = unsubscribe_url("https://api.example.com/", "TOK")
    assert url == "https://api.example.com/u/TOK"
    assert list_unsubscribe_headers(url) == {
        "List-Unsubscribe": "<https://api.example.com/u/TOK>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def test_the_footer_links_the_url_and_escapes_the_postal_address():
    html = footer_html("https://a.example/u/T?x=1&y=2", "Acme <Ltd>\n1 Main St & Co")
    assert 'href="https://a.example/u/T?x=1&amp;y=2"' in html
    assert "Acme &lt;Ltd&gt;<br>1 Main St &amp; Co" in html
    assert footer_text("https://a.example/u/T", " 1 Main St \n\n Town ") == (
        "Don't want these emails? Unsubscribe: https://a.example/u/T\n1 Main St\nTown")
    assert "<br>" not in footer_html("https://a.example/u/T")


def test_the_footer_goes_before_the_closing_body_tag_or_at_the_end():
    assert append_footer("<html><body><p>x</p></BODY></html>", "F") == (
        "<html><body><p>x</p>F\n</BODY></html>")
    assert append_footer("<p>x</p>", "F") == "<p>x</p>\nF"


def test_a_message_with_the_headers_parses_in_strict_policy():
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = "s@example.com"
    message["To"] = "r@example.com"
    message["Subject"] = "Hi"
    for name, value in list_unsubscribe_headers(
            unsubscribe_url("https://api.example.com", make_token(KEY, EMAIL_ID))).items():
        message[name] = value
    message.set_content("x")
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.strict)
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = parsed["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]
    assert read_token(KEY, token) == EMAIL_ID
