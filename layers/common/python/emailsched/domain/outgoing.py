"""One email as the mailer sends it: what composing (domain/compose.py) makes and MIME
rendering (adapters/mime.py) writes out. A value of the domain, so that composing needs
nothing from the ports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutgoingEmail:
    """One email as the mailer sends it (adapters/mime.py renders it)."""

    message_id: str  # <id@domain>, derived from the email's id
    sender_email: str
    sender_name: str
    recipient: str
    subject: str
    body_html: str
    # PUBLIC_URL/u/TOKEN: the List-Unsubscribe pair is written when set (always, in the
    # sender); the body already holds the link (its own, or the footer's).
    unsubscribe_url: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # more header lines, e.g. In-Reply-To
    # The HTML the text part is made from when it differs from body_html: a tracked email's
    # text part keeps the original links (a text part of tracking links reads as spam).
    text_source: str | None = None
