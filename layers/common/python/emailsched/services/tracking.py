"""Open and click hits (SPEC.md "Engagement"): a token read, the hit told apart as a
person's or a machine's, and handed to the hit log, without waiting for the database.

Bursts (every link of an email within 2 s) can only be seen across hits, so the store
marks them when it writes (adapters/db/hits.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from emailsched.domain.events import EventType
from emailsched.domain.tracking import machine_reason, read_click_token, read_open_token
from emailsched.errors import NotFound
from emailsched.ports import Clock

MAX_USER_AGENT = 512  # what is kept of a User-Agent header


class TrackingService:
    def __init__(self, key: bytes, append: Callable[[dict[str, Any]], object], clock: Clock):
        self._key, self._append, self._clock = key, append, clock

    def opened(self, token: str, method: str, user_agent: str | None) -> bool:
        """Records the open a valid token names; whether it was valid."""
        email_id = read_open_token(self._key, token)
        if email_id is None:
            return False
        self._append(self._hit(EventType.OPENED, email_id, None, method, user_agent))
        return True

    def clicked(self, token: str, method: str, user_agent: str | None) -> str:
        """The URL to redirect to, exactly as the email had it; NotFound for a bad token."""
        found = read_click_token(self._key, token)
        if found is None:
            raise NotFound("no such link")
        email_id, url = found
        self._append(self._hit(EventType.CLICKED, email_id, url, method, user_agent))
        return url

    def _hit(self, kind: EventType, email_id: uuid.UUID, url: str | None, method: str,
             user_agent: str | None) -> dict[str, Any]:
        agent = (user_agent or "")[:MAX_USER_AGENT]
        reason = machine_reason(method, agent)
        return {"hit": uuid.uuid4().hex, "emailId": str(email_id), "type": kind.value,
                "at": self._clock.now().isoformat(),
                "detail": {"url": url, "userAgent": agent, "machine": reason is not None,
                           "reason": reason}}
