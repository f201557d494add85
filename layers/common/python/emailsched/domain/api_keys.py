"""API keys (SPEC.md, "API keys"): their scopes, their shape, and what a credential may do.

A session may do everything; an API key only what its scopes allow, and never manage keys
(routes whose scope is SESSION).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

READ, SCHEDULE, SENDERS = "read", "schedule", "senders"
SUPPRESSIONS, INBOX, WEBHOOKS = "suppressions", "inbox", "webhooks"
SCOPES = (READ, SCHEDULE, SENDERS, SUPPRESSIONS, INBOX, WEBHOOKS)
# Not a scope a key can hold: the route needs a signed-in session.
SESSION = "session"

PREFIX = "es_"
KEY_CHARS = 40  # URL-safe base64 of 30 random bytes: 240 bits
KEY_SHAPE = re.compile(r"^es_[A-Za-z0-9_-]{40}$")


def key_hash(key: str) -> bytes:
    """What is stored of a key. SHA-256 is enough: a 240-bit random key cannot be guessed,
    so a slow hash would protect nothing and cost every request."""
    return hashlib.sha256(key.encode()).digest()


def looks_like_key(token: str) -> bool:
    return token.startswith(PREFIX)


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None


# The scope of a change by the area of its path (SPEC.md lists what each scope allows).
_CHANGE_SCOPES = (("/emails/schedule", SCHEDULE), ("/imports", SCHEDULE),
                  ("/batches/", SCHEDULE), ("/senders", SENDERS),
                  ("/suppressions", SUPPRESSIONS), ("/inbox", INBOX), ("/webhooks", WEBHOOKS))


def scope_for(method: str, path: str) -> str:
    """A route's scope when it declares none: every GET is `read`; a change is its area's
    scope; anything else (API keys, the account) needs a signed-in session."""
    if method.upper() == "GET":
        return READ
    for prefix, scope in _CHANGE_SCOPES:
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return scope
    return SESSION


def allows(scopes: frozenset[str] | None, needed: str) -> bool:
    """None: a session, which may do everything."""
    if scopes is None:
        return True
    return needed != SESSION and needed in scopes
