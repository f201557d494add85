"""Per-user abuse limits on scheduling: requests per minute and recipients per day.

Both are counted in Redis so they hold across API instances. Recipients are reserved
before the batch is stored and given back if storing fails, so a refused or failed request
leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

import redis

from emailsched.adapters.redis_errors import wrap_redis_errors
from emailsched.errors import ServiceUnavailable, TooManyRequests

DAY_SECONDS = 86_400

_RESERVE = """
-- KEYS[1]: counter. ARGV: amount, cap, ttl_seconds. Returns the new total, or -1 if over.
local total = tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(ARGV[1])
if total > tonumber(ARGV[2]) then return -1 end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return total
"""


@dataclass(frozen=True)
class QuotaLimits:
    requests_per_minute: int
    recipients_per_day: int


class RedisQuotas:
    def __init__(self, client: redis.Redis, prefix: str, limits: QuotaLimits):
        self._client, self._prefix, self._limits = client, prefix, limits
        self._reserve = client.register_script(_RESERVE)

    def check_request(self, user_id: uuid.UUID, now_seconds: float) -> None:
        minute = int(now_seconds // 60)
        key = f"{self._prefix}quota:req:{user_id}:{minute}"
        if self._run(key, 1, self._limits.requests_per_minute, 120) < 0:
            raise TooManyRequests(
                f"at most {self._limits.requests_per_minute} schedule requests a minute",
                retry_after_seconds=max(1, 60 - int(now_seconds % 60)))

    def reserve_recipients(self, user_id: uuid.UUID, count: int, now_seconds: float) -> str:
        """Reserve `count` recipients of today's allowance; returns the key to release."""
        day = int(now_seconds // DAY_SECONDS)
        key = f"{self._prefix}quota:recipients:{user_id}:{day}"
        if self._run(key, count, self._limits.recipients_per_day, DAY_SECONDS * 2) < 0:
            raise TooManyRequests(
                f"at most {self._limits.recipients_per_day} recipients a day",
                retry_after_seconds=max(1, DAY_SECONDS - int(now_seconds % DAY_SECONDS)))
        return key

    def release(self, key: str, count: int) -> None:
        # On failure the allowance stays used until the day ends: stricter, not looser.
        with contextlib.suppress(ServiceUnavailable), wrap_redis_errors():
            self._client.decrby(key, count)

    def _run(self, key: str, amount: int, cap: int, ttl: int) -> int:
        with wrap_redis_errors():
            return int(self._reserve(keys=[key], args=[amount, cap, ttl]))
