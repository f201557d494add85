"""An email at send time: personalised from its fields, escaped in HTML, with its own
unsubscribe link in the header and (where the body has none) in a footer."""

from __future__ import annotations

import uuid

import pytest

from emailsched.domain.compose import ComposeRules, Draft, RenderFailed, compose
from emailsched.domain.unsubscribe import read_token

pytestmark = pytest.mark.unit
KEY = b"k" * 32
RULES = ComposeRules("https://api.example.com", KEY)
EMAIL_ID = uuid.UUID("1f0e7c4e-1111-4222-8333-444455556666")


def draft(**changes: object) -> Draft:
    values: dict[str, object] = {
        "id": EMAIL_ID, "sender_email": "sales@bücher.de", "sender_name": "Sales",
        "recipient": "ann@example.com", "templated": True,
        "subject": "Hi {{ first_name | default('there') }}",
        "body": "<p>Hello {{ first_name }} from {{ company | default('us') }}</p>",
        "fields": {"first_name": "<script>alert(1)</script>"}}
    values.update(changes)
    return Draft(**values)  # type: ignore[arg-type]


def test_fields_are_merged_escaped_in_the_body_and_plain_in_the_subject():
    email = compose(draft(), RULES)
    assert email.subject == "Hi <script>alert(1)</script>"
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt; from us" in email.body_html
    assert "<script>" not in email.body_html


def test_the_unsubscribe_url_names_this_email_and_a_footer_carries_it_with_the_address():
    email = compose(draft(postal_address="1 Main St\nSpringfield"), RULES)
    token = email.unsubscribe_url.rsplit("/u/", 1)[1]
    assert email.unsubscribe_url.startswith("https://api.example.com/u/")
    assert read_token(KEY, token) == EMAIL_ID
    assert f'href="{email.unsubscribe_url}"' in email.body_html
    assert "1 Main St<br>Springfield" in email.body_html


def test_a_body_with_its_own_link_gets_no_footer():
    email = compose(draft(body='<a href="{{ unsubscribe_url }}">Leave</a>'), RULES)
    assert email.body_html == f'<a href="{email.unsubscribe_url}">Leave</a>'


def test_the_message_id_is_on_the_senders_domain_as_a_labels_unless_overridden():
    assert compose(draft(), RULES).message_id == f"<{EMAIL_ID}@xn--bcher-kva.de>"
    override = ComposeRules("https://api.example.com", KEY, "mail.example.net")
    assert compose(draft(), override).message_id == f"<{EMAIL_ID}@mail.example.net>"


def test_a_batch_from_before_templates_is_sent_as_written():
    email = compose(draft(templated=False, body="<p>{{ not a template</p>"), RULES)
    assert email.body_html.startswith("<p>{{ not a template</p>")


def test_a_field_missing_at_send_time_fails_the_email_with_a_reason():
    with pytest.raises(RenderFailed, match="first_name"):
        compose(draft(fields={}), RULES)
