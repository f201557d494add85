"""Open and click tracking (SPEC.md "Engagement"): signed tokens, and telling people from
machines.

An open token is `<email id>.<mac>`; a click token `<email id>.<url>.<mac>`, the URL
carried in the token byte for byte (base64url), so a redirect needs no lookup and goes
nowhere the email did not link to. The MAC is HMAC-SHA256 under the deployment's key with a
purpose label of its own, truncated to 128 bits, as unsubscribe tokens are.

`machine_reason` says why a hit is no person's: a HEAD request, or a user agent of a
prefetcher or a link scanner (MACHINE_AGENTS, one table to extend). `burst_clicks` finds
the clicks of one email that hit all of its links within BURST_SECONDS of each other,
which is what scanners do and people do not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

MAC_BYTES = 16
BURST_SECONDS = 2.0
_OPEN = b"emailsched/track-open/v1\x00"
_CLICK = b"emailsched/track-click/v1\x00"
MAX_URL_BYTES = 4096

# Who fetches a pixel or follows a link without a person: (pattern on the User-Agent, why).
MACHINE_AGENTS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Apple Mail Privacy Protection fetches every image through its proxy as the bare
    # "Mozilla/5.0", whether or not the message is read.
    (re.compile(r"^\s*Mozilla/5\.0\s*$"), "Apple Mail Privacy Protection"),
    (re.compile(r"safe ?links|Microsoft Office Protection|BingPreview", re.I),
     "Microsoft Safe Links"),
    (re.compile(r"proofpoint|urldefense", re.I), "Proofpoint"),
    (re.compile(r"mimecast", re.I), "Mimecast"),
    (re.compile(r"barracuda", re.I), "Barracuda"),
    (re.compile(r"\b(?:bot|crawler|spider|preview|scanner|headless)\b|bot/|Bot\b", re.I),
     "a bot, crawler or preview"),
    (re.compile(r"^\s*$"), "no user agent"),
)


@dataclass(frozen=True)
class Click:
    url: str
    at: datetime


def machine_reason(method: str, user_agent: str | None) -> str | None:
    """Why no person made this hit, or None when a person may have."""
    if method.upper() == "HEAD":
        return "a HEAD request"
    agent = user_agent or ""
    for pattern, why in MACHINE_AGENTS:
        if pattern.search(agent):
            return why
    return None


def burst_clicks(clicks: Sequence[Click], link_count: int) -> set[int]:
    """Indexes of `clicks` (one email's) that belong to a burst: every one of its links
    (two or more) clicked within BURST_SECONDS of each other."""
    if link_count < 2:
        return set()
    order = sorted(range(len(clicks)), key=lambda i: clicks[i].at)
    burst: set[int] = set()
    start = 0
    for end in range(len(order)):
        while (clicks[order[end]].at - clicks[order[start]].at).total_seconds() > BURST_SECONDS:
            start += 1
        window = order[start:end + 1]
        if len({clicks[i].url for i in window}) >= link_count:
            burst.update(window)
    return burst


def open_token(key: bytes, email_id: uuid.UUID) -> str:
    return f"{_b64(email_id.bytes)}.{_b64(_mac(key, _OPEN, email_id.bytes))}"


def click_token(key: bytes, email_id: uuid.UUID, url: str) -> str:
    raw = email_id.bytes + url.encode()
    return f"{_b64(email_id.bytes)}.{_b64(url.encode())}.{_b64(_mac(key, _CLICK, raw))}"


def read_open_token(key: bytes, token: str) -> uuid.UUID | None:
    """The email an open token names; None when altered or not a token."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 2:
        return None
    raw_id = _unb64(parts[0])
    if raw_id is None or len(raw_id) != 16:
        return None
    email_id = uuid.UUID(bytes=raw_id)
    return email_id if hmac.compare_digest(open_token(key, email_id), token) else None


def read_click_token(key: bytes, token: str) -> tuple[uuid.UUID, str] | None:
    """(email, URL exactly as written) a click token names; None when altered."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or len(parts[1]) > MAX_URL_BYTES * 2:
        return None
    raw_id, raw_url = _unb64(parts[0]), _unb64(parts[1])
    if raw_id is None or raw_url is None or len(raw_id) != 16:
        return None
    try:
        url = raw_url.decode()
    except UnicodeDecodeError:
        return None
    email_id = uuid.UUID(bytes=raw_id)
    if not hmac.compare_digest(click_token(key, email_id, url), token):
        return None
    return email_id, url


def _mac(key: bytes, purpose: bytes, message: bytes) -> bytes:
    return hmac.new(key, purpose + message, hashlib.sha256).digest()[:MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
