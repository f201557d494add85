"""Per-sender limits in Redis: a count per fixed window and the time of the last send,
checked and counted in one Lua step so no two workers can both take the last slot.

When a sender's window key is missing the script must tell a new window (count 0) from a
Redis that lost its data (restart, flush, eviction). A per-sender marker key, refreshed on
every send, tells them apart: with the marker, a missing window is new; without it, the
window is seeded from the ledger: emails sent since the window began, plus the emails
workers hold in `sending`, each of which took its slot before it was claimed.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import redis

from emailsched.adapters.redis_errors import wrap_redis_errors
from emailsched.domain.windows import (
    next_window_start_ms,
    spill_ms,
    window_start_ms,
    windows_counted,
)
from emailsched.errors import ServiceUnavailable
from emailsched.ports import Permit, Seed, SeedSource

_ACQUIRE = """
-- KEYS: window count, next window count, last send, marker.
-- ARGV: limit, now_ms, min_gap_ms, window_end_ms, ttl_ms, seed_count, seed_last_ms,
--       spills (1 when these sends also count in the next window), wanted
-- Returns {sends counted, 0}, or {0, ms until one might be}; {-1, 0} asks for a seed.
local limit = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local gap = tonumber(ARGV[3])
local window_end = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local spills = tonumber(ARGV[8]) == 1
local wanted = tonumber(ARGV[9])
local count = redis.call('GET', KEYS[1])
if not count then
  if redis.call('EXISTS', KEYS[4]) == 1 then
    count = 0
  elseif tonumber(ARGV[6]) < 0 then
    return {-1, 0}
  else
    count = tonumber(ARGV[6])
    if tonumber(ARGV[7]) >= 0 and redis.call('EXISTS', KEYS[3]) == 0 then
      redis.call('SET', KEYS[3], ARGV[7], 'PX', ttl)
    end
  end
  redis.call('SET', KEYS[1], count, 'PX', ttl)
end
count = tonumber(count)
redis.call('SET', KEYS[4], 1, 'PX', ttl * 4)
if count >= limit then
  return {0, window_end - now}
end
local next_count = tonumber(redis.call('GET', KEYS[2]) or '0')
if spills and next_count >= limit then
  return {0, window_end - now + 1}
end
local last = tonumber(redis.call('GET', KEYS[3]) or '-1')
if gap > 0 and last >= 0 and now - last < gap then
  return {0, last + gap - now}
end
-- Sends granted together go out together: with a gap between sends, one at a time.
local granted = math.min(wanted, limit - count)
if gap > 0 then granted = 1 end
if spills then granted = math.min(granted, limit - next_count) end
redis.call('INCRBY', KEYS[1], granted)
if spills then
  redis.call('INCRBY', KEYS[2], granted)
  redis.call('PEXPIRE', KEYS[2], ttl * 2)
end
redis.call('SET', KEYS[3], now, 'PX', ttl)
return {granted, 0}
"""

_REFUND = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return count
"""


class RedisRateLimiter:
    def __init__(self, client: redis.Redis, seed: SeedSource, *, window_ms: int,
                 min_gap_ms: int, prefix: str = "emailsched:"):
        self._client = client
        self._seed = seed
        self._window_ms = window_ms
        self._min_gap_ms = min_gap_ms
        self._prefix = prefix
        self._script = client.register_script(_ACQUIRE)
        self._refund = client.register_script(_REFUND)

    def acquire(self, sender_id: str, limit: int, now_ms: int, wanted: int = 1) -> Permit:
        start = window_start_ms(now_ms, self._window_ms)
        spills = len(windows_counted(now_ms, self._window_ms)) > 1
        keys = [self._window_key(sender_id, start),
                self._window_key(sender_id, start + self._window_ms),
                f"{self._prefix}rl:{sender_id}:last", f"{self._prefix}rl:{sender_id}:known"]
        ttl = max(self._window_ms * 2, self._min_gap_ms * 2, 60_000)
        args = [limit, now_ms, self._min_gap_ms, next_window_start_ms(now_ms, self._window_ms),
                ttl, -1, -1, int(spills), max(1, wanted)]
        answer = self._run(keys, args)
        if answer[0] == -1:
            seed = self._seed_for(sender_id, start)
            args[5:7] = [seed.count, -1 if seed.last_send_ms is None else seed.last_send_ms]
            answer = self._run(keys, args)
        return Permit(slots=max(0, answer[0]), wait_ms=max(0, int(answer[1])))

    def refund(self, sender_id: str, granted_at_ms: int) -> None:
        """Give back a slot taken for a send that did not happen (the email was gone)."""
        # An unreturned slot only makes the window stricter.
        with contextlib.suppress(ServiceUnavailable), wrap_redis_errors():
            for start in windows_counted(granted_at_ms, self._window_ms):
                self._refund(keys=[self._window_key(sender_id, start)])

    def _seed_for(self, sender_id: str, start_ms: int) -> Seed:
        """The ledger's count from the previous window's spill on: those sends count in
        this window too."""
        counted_from = start_ms - spill_ms(self._window_ms)
        return self._seed.seed(sender_id, datetime.fromtimestamp(counted_from / 1000, UTC))

    def _window_key(self, sender_id: str, start_ms: int) -> str:
        return f"{self._prefix}rl:{sender_id}:{start_ms}"

    def _run(self, keys: list[str], args: list[int]) -> list[int]:
        with wrap_redis_errors():
            return [int(v) for v in self._script(keys=keys, args=args)]
