"""Per-sender limits in Redis: a count per fixed window and the time of the last send,
checked and counted in one Lua step so no two workers can both take the last slot.

When a sender's window key is missing the script must tell a new window (count 0) from a
Redis that lost its data (restart, flush, eviction). A per-sender marker key, refreshed on
every send, tells them apart: with the marker, a missing window is new; without it, the
window is seeded from the ledger (emails sent since the window began, plus every email a
worker holds right now, which may be about to send) so the limit still holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis

from emailsched.domain.windows import next_window_start_ms, window_start_ms
from emailsched.errors import ServiceUnavailable
from emailsched.ports import Permit

_ACQUIRE = """
-- KEYS: window count, last send, marker.
-- ARGV: limit, now_ms, min_gap_ms, window_end_ms, ttl_ms, seed_count, seed_last_ms
local limit = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local gap = tonumber(ARGV[3])
local window_end = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local count = redis.call('GET', KEYS[1])
if not count then
  if redis.call('EXISTS', KEYS[3]) == 1 then
    count = 0
  elseif tonumber(ARGV[6]) < 0 then
    return {-1, 0}
  else
    count = tonumber(ARGV[6])
    if tonumber(ARGV[7]) >= 0 and redis.call('EXISTS', KEYS[2]) == 0 then
      redis.call('SET', KEYS[2], ARGV[7], 'PX', ttl)
    end
  end
  redis.call('SET', KEYS[1], count, 'PX', ttl)
end
count = tonumber(count)
redis.call('SET', KEYS[3], 1, 'PX', ttl * 4)
if count >= limit then
  return {0, window_end - now}
end
local last = tonumber(redis.call('GET', KEYS[2]) or '-1')
if last >= 0 and now - last < gap then
  return {0, last + gap - now}
end
redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], now, 'PX', ttl)
return {1, 0}
"""


@dataclass(frozen=True)
class Seed:
    count: int  # sends to count in the window already
    last_send_ms: int | None


SeedSource = Callable[[str, int], Seed]  # (sender_id, window_start_ms) -> Seed


class RedisRateLimiter:
    def __init__(self, client: redis.Redis, seed: SeedSource, *, window_ms: int,
                 min_gap_ms: int, prefix: str = "emailsched:"):
        self._client = client
        self._seed = seed
        self._window_ms = window_ms
        self._min_gap_ms = min_gap_ms
        self._prefix = prefix
        self._script = client.register_script(_ACQUIRE)

    def acquire(self, sender_id: str, limit: int, now_ms: int) -> Permit:
        start = window_start_ms(now_ms, self._window_ms)
        keys = [f"{self._prefix}rl:{sender_id}:{start}", f"{self._prefix}rl:{sender_id}:last",
                f"{self._prefix}rl:{sender_id}:known"]
        ttl = max(self._window_ms * 2, self._min_gap_ms * 2, 60_000)
        args = [limit, now_ms, self._min_gap_ms, next_window_start_ms(now_ms, self._window_ms),
                ttl, -1, -1]
        answer = self._run(keys, args)
        if answer[0] == -1:
            seed = self._seed(sender_id, start)
            args[5:] = [seed.count, -1 if seed.last_send_ms is None else seed.last_send_ms]
            answer = self._run(keys, args)
        return Permit(granted=answer[0] == 1, wait_ms=max(0, int(answer[1])))

    def _run(self, keys: list[str], args: list[int]) -> list[int]:
        try:
            return [int(v) for v in self._script(keys=keys, args=args)]
        except redis.RedisError as error:
            raise ServiceUnavailable(f"Redis: {error}") from error
