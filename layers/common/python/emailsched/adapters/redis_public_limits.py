"""Abuse limits on the public, session-less routes (`/u/{token}`): requests per minute per
client address and per token, counted in Redis so they hold across API instances (on
AWS these are public API Gateway routes). Each check is one script call, fixed windows."""

from __future__ import annotations

import hashlib

import redis

from emailsched.adapters.redis_errors import wrap_redis_errors
from emailsched.errors import TooManyRequests

_COUNT = """
-- KEYS: one counter per limit. ARGV: ttl, then each key's cap. Counts every key; returns
-- the index (from 1) of the first over its cap, or 0.
local over = 0
for i, key in ipairs(KEYS) do
  local total = redis.call('INCR', key)
  if total == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  if over == 0 and total > tonumber(ARGV[i + 1]) then over = i end
end
return over
"""


class RedisPublicLimits:
    def __init__(self, client: redis.Redis, prefix: str, per_ip: int, per_token: int):
        self._prefix, self._per_ip, self._per_token = prefix, per_ip, per_token
        self._count = client.register_script(_COUNT)

    def check(self, client_ip: str, token: str, now_seconds: float) -> None:
        """Count one request; TooManyRequests when the address or the token is over."""
        minute = int(now_seconds // 60)
        # Hashed: keys stay short whatever a caller sends, and hold no token in clear.
        token_key = hashlib.sha256(token.encode()).hexdigest()[:32]
        keys = [f"{self._prefix}public:ip:{client_ip}:{minute}",
                f"{self._prefix}public:token:{token_key}:{minute}"]
        with wrap_redis_errors():
            over = int(self._count(keys=keys, args=[120, self._per_ip, self._per_token]))
        if over:
            raise TooManyRequests("too many requests; try again in a minute",
                                  retry_after_seconds=max(1, 60 - int(now_seconds % 60)))
