"""A tracked email at send time: the pixel and the click redirects in its HTML part only,
the unsubscribe link left alone, spintax chosen per recipient; and the refusal of click
tracking on a batch without a link."""

from __future__ import annotations

import email
import email.policy
import uuid

import pytest

from emailsched.adapters.mime import build_message
from emailsched.domain.batch_tracking import Tracking, TrackingRules, check_tracking
from emailsched.domain.compose import ComposeRules, Draft, compose
from emailsched.domain.tracking import read_click_token, read_open_token
from emailsched.errors import InvalidRequest

pytestmark = pytest.mark.unit
KEY, TRACKING_KEY = b"k" * 32, b"t" * 32
RULES = ComposeRules("https://api.example.com", KEY,
                     tracking=TrackingRules("https://track.example.net", TRACKING_KEY))
EMAIL_ID = uuid.UUID("1f0e7c4e-1111-4222-8333-444455556666")
BATCH_ID = uuid.UUID("2f0e7c4e-1111-4222-8333-444455556666")
LINK = "https://example.com/a?x=1&y=%20z#frag"
BODY = f'<p>Hi {{{{ name }}}}, <a href="{LINK.replace("&", "&amp;")}">look</a></p>'


def draft(tracking: Tracking, body: str = BODY, **changes: object) -> Draft:
    values: dict[str, object] = {
        "id": EMAIL_ID, "sender_email": "sales@example.com", "sender_name": "Sales",
        "recipient": "ann@example.com", "templated": True, "subject": "Hi",
        "body": body, "fields": {"name": "Ann"}, "tracking": tracking,
        "batch_id": BATCH_ID}
    values.update(changes)
    return Draft(**values)  # type: ignore[arg-type]


def _parts(outgoing: object) -> tuple[str, str]:
    raw = build_message(outgoing).as_bytes()  # type: ignore[arg-type]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return (message.get_body(("plain",)).get_content(),  # type: ignore[union-attr]
            message.get_body(("html",)).get_content())  # type: ignore[union-attr]


def test_a_tracked_email_has_a_pixel_and_redirects_in_html_and_original_links_in_text():
    outgoing = compose(draft(Tracking(opens=True, clicks=True)), RULES)
    text, html = _parts(outgoing)
    pixel = html.split('<img src="https://track.example.net/t/o/')[1].split(".gif")[0]
    assert read_open_token(TRACKING_KEY, pixel) == EMAIL_ID
    click = html.split('href="https://track.example.net/t/c/')[1].split('"')[0]
    assert read_click_token(TRACKING_KEY, click) == (EMAIL_ID, LINK)
    assert outgoing.unsubscribe_url in html  # the footer's link is not tracked
    assert LINK in text and "track.example.net" not in text


def test_opens_only_leaves_links_and_nothing_tracked_leaves_the_body_as_composed():
    opens = compose(draft(Tracking(opens=True)), RULES)
    assert "/t/o/" in opens.body_html and "/t/c/" not in opens.body_html
    plain = compose(draft(Tracking()), RULES)
    assert "track.example.net" not in plain.body_html and plain.text_source is None
    untracked_rules = ComposeRules("https://api.example.com", KEY)
    assert "/t/" not in compose(draft(Tracking(True, True)), untracked_rules).body_html


def test_spintax_is_chosen_per_recipient_the_same_on_a_retry_and_spares_style():
    body = "<style>p {color: red}</style><p>{Hi|Hello|Hey} {{ name }}</p>"
    seen = set()
    for n in range(30):
        one = draft(Tracking(), body=body, recipient=f"r{n}@example.com",
                    subject="{Quick|Short} question")
        first, again = compose(one, RULES), compose(one, RULES)
        assert (first.subject, first.body_html) == (again.subject, again.body_html)
        assert "<style>p {color: red}</style>" in first.body_html
        seen.add(first.body_html.split("<p>")[1].split(" ")[0])
    assert seen == {"Hi", "Hello", "Hey"}


def test_click_tracking_needs_a_link_in_some_body():
    check_tracking(Tracking(clicks=True), ["<p>none</p>", f'<a href="{LINK}">x</a>'])
    check_tracking(Tracking(opens=True), ["<p>none</p>"])
    with pytest.raises(InvalidRequest) as refused:
        check_tracking(Tracking(clicks=True), ['<p><a href="mailto:a@b.c">mail</a></p>'])
    assert refused.value.details[0]["field"] == "tracking.clicks"
