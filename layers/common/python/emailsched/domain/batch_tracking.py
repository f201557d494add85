"""A batch's tracking opt-in and what it does to each email (SPEC.md "Engagement").

`Tracking` is the `{opens, clicks}` a batch was scheduled with. `check_tracking` refuses
click tracking on a batch whose HTML has no link to track; `tracked_body` puts the pixel and
the click redirects into one email's HTML part (the text part keeps the original links).
`spun` makes a draft's spintax choices for one recipient, seeded by the batch and the
recipient so that a retry or a resume sends the same words.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from emailsched.domain.spintax import Spintax, parse
from emailsched.domain.tracking import click_token, open_token
from emailsched.domain.tracking_links import add_tracking, tracked_links
from emailsched.errors import InvalidRequest


@dataclass(frozen=True)
class Tracking:
    opens: bool = False
    clicks: bool = False

    @property
    def on(self) -> bool:
        return self.opens or self.clicks

    def to_json(self) -> dict[str, bool] | None:
        """As stored on the batch; None when nothing is tracked."""
        return {"opens": self.opens, "clicks": self.clicks} if self.on else None

    @classmethod
    def from_json(cls, stored: Mapping[str, Any] | None) -> Tracking:
        stored = stored or {}
        return cls(bool(stored.get("opens")), bool(stored.get("clicks")))


NO_TRACKING = Tracking()


@dataclass(frozen=True)
class TrackingRules:
    base_url: str  # TRACKING_URL (default PUBLIC_URL)
    key: bytes  # Settings.tracking_key


def pixel_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/t/o/{token}.gif"


def click_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/t/c/{token}"


def check_tracking(tracking: Tracking, bodies: Iterable[str]) -> None:
    """400 naming `tracking.clicks` when no body of the batch has a link to track."""
    if tracking.clicks and not any(tracked_links(body) for body in bodies):
        raise InvalidRequest("tracking.clicks needs a link in the body", details=[{
            "field": "tracking.clicks",
            "message": "the HTML body has no http(s) link to track"}])


def tracked_body(body_html: str, email_id: uuid.UUID, tracking: Tracking,
                 rules: TrackingRules | None, unsubscribe_url: str) -> str:
    """The HTML part of one email with its pixel and click redirects, as the batch asked."""
    if rules is None or not tracking.on:
        return body_html
    base, key = rules.base_url, rules.key
    return add_tracking(
        body_html,
        pixel_url=pixel_url(base, open_token(key, email_id)) if tracking.opens else None,
        click_url=(lambda url: click_url(base, click_token(key, email_id, url)))
        if tracking.clicks else None,
        skip=unsubscribe_url)


def spin_seed(batch_id: uuid.UUID | None, recipient: str) -> str:
    return f"{batch_id}:{recipient.lower()}"


def spun(subject: str, body: str, seed: str) -> tuple[str, str]:
    """Subject and body with their spintax choices made for `seed`."""
    return _spun(subject, seed), _spun(body, seed)


def _spun(text: str, seed: str) -> str:
    return _parsed(text).render(seed) if "|" in text else text  # no option: nothing to do


@lru_cache(maxsize=64)
def _parsed(text: str) -> Spintax:
    # A batch's subject and body are the same text for every recipient: parsed once.
    return parse(text)
