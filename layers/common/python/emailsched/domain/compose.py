"""One email as it goes out: its subject and body rendered from the batch's templates and
the recipient's fields, its unsubscribe link (header and, where the body has none, a
footer with the user's postal address) and its Message-ID. Pure: no I/O.

What is the same for every email of a batch's step is made once per worker, not per
email: the compiled templates (by their text) and the footer around its URL (by the
postal address); per email only the fields, the token and the Message-ID differ."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from emailsched.domain.addresses import message_id, split_address
from emailsched.domain.batch_tracking import (
    NO_TRACKING,
    Tracking,
    TrackingRules,
    spin_seed,
    spun,
    tracked_body,
)
from emailsched.domain.outgoing import OutgoingEmail
from emailsched.domain.templates import CompiledTemplates, compile_templates, render
from emailsched.domain.unsubscribe import (
    append_footer,
    footer_html,
    make_token,
    unsubscribe_url,
)
from emailsched.errors import InvalidRequest


@dataclass(frozen=True)
class ComposeRules:
    public_url: str  # PUBLIC_URL
    unsubscribe_key: bytes
    message_id_domain: str | None = None  # None: the sender's own domain
    tracking: TrackingRules | None = None  # None: no pixel nor redirect, whatever asked


@dataclass(frozen=True)
class Draft:
    """What the ledger holds of one email at send time."""

    id: uuid.UUID
    sender_email: str
    sender_name: str
    recipient: str
    subject: str  # a template when `templated`, else sent as written
    body: str
    templated: bool = False
    fields: Mapping[str, str] = field(default_factory=dict)
    postal_address: str | None = None
    # Sequences: the recipient's earlier Message-IDs, oldest first (a follow-up threads
    # under them: In-Reply-To the last, References all of them).
    references: tuple[str, ...] = ()
    # Issue 27: what the batch tracks, and its id (spintax is seeded by it and the recipient).
    tracking: Tracking = NO_TRACKING
    batch_id: uuid.UUID | None = None


class RenderFailed(ValueError):
    """A template could not be rendered for this recipient (the email fails)."""


def compose(draft: Draft, rules: ComposeRules) -> OutgoingEmail:
    """The email to send, or RenderFailed saying why it cannot be."""
    url = unsubscribe_url(rules.public_url, make_token(rules.unsubscribe_key, draft.id))
    subject, body, has_link = draft.subject, draft.body, False
    if draft.templated:
        try:  # spintax first: an option may hold merge fields
            templates = _compiled(*spun(draft.subject, draft.body, spin_seed(
                draft.batch_id, draft.recipient)))
            subject, body = render(templates, draft.fields, draft.recipient, url)
        except InvalidRequest as error:
            raise RenderFailed(f"template could not be rendered: {error.message}") from None
        has_link = templates.body.uses_unsubscribe_url
    if not has_link:
        body = append_footer(body, footer_html(url, draft.postal_address))
    text_source = body  # the text part keeps the original links
    body = tracked_body(body, draft.id, draft.tracking, rules.tracking, url)
    domain = rules.message_id_domain or split_address(draft.sender_email)[1]
    return OutgoingEmail(message_id=message_id(draft.id, domain),
                         sender_email=draft.sender_email, sender_name=draft.sender_name,
                         recipient=draft.recipient, subject=subject, body_html=body,
                         unsubscribe_url=url, headers=thread_headers(draft.references),
                         text_source=text_source if body is not text_source else None)


@functools.lru_cache(maxsize=256)
def _compiled(subject: str, body: str) -> CompiledTemplates:
    """A step's templates, compiled once per worker: every email of the step shares them."""
    return compile_templates(subject, body)


def thread_headers(references: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """In-Reply-To (the previous step's Message-ID) and References (all earlier ones)."""
    if not references:
        return ()
    return (("In-Reply-To", references[-1]), ("References", " ".join(references)))
