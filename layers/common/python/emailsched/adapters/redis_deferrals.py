"""Sender-level deferrals (421, 4.7.x): "hold this sender back until T", one Redis key per
sender that expires at T, shared by every worker. A worker reads it before it takes slots
for a sender's emails, so a deferred sender's queued emails wait without using their
attempts, on every worker at once."""

from __future__ import annotations

import contextlib

import redis

from emailsched.adapters.redis_errors import wrap_redis_errors
from emailsched.errors import ServiceUnavailable


class RedisSenderDeferrals:
    def __init__(self, client: redis.Redis, prefix: str):
        self._client, self._prefix = client, prefix

    def defer(self, sender_id: str, until_ms: int, now_ms: int) -> None:
        with contextlib.suppress(ServiceUnavailable), wrap_redis_errors():
            # The latest deferral wins: every one of them is SENDER_DEFERRAL_SECONDS long.
            self._client.set(self._key(sender_id), until_ms, px=max(1, until_ms - now_ms))

    def deferred_until_ms(self, sender_id: str, now_ms: int) -> int | None:
        """When the sender may send again, if it is held back now. Unknown (Redis down)
        reads as not deferred: the limiter, which needs Redis too, holds the sender."""
        try:
            with wrap_redis_errors():
                value = self._client.get(self._key(sender_id))
        except ServiceUnavailable:
            return None
        until = int(value) if value is not None else None
        return until if until is not None and until > now_ms else None

    def _key(self, sender_id: str) -> str:
        return f"{self._prefix}deferred:{sender_id}"
