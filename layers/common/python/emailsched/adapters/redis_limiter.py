"""Per-sender limits in Redis, all of a send's limits checked and counted in one Lua step so
no two workers can both take the last slot: the rate window's count (the batch's and the
sender's hourly caps), the day's count (the sender's daily cap), and the time of the last
send (the minimum gap).

The time is Redis's own (`TIME` inside the script): a worker whose clock is off cannot
count into the wrong window or day. The script derives the rate window from it. Days are
calendar days of the sender's zone, which Lua cannot compute, so the client passes a few
consecutive day starts computed around its own clock (domain/windows.day_starts_around)
and the script picks the one containing Redis's time; a client off by more than a day is
told Redis's time and asks again around it.

When a sender's window key is missing the script must tell a new window (count 0) from a
Redis that lost its data (restart, flush, eviction). A per-sender marker key, refreshed on
every call, tells them apart: with the marker, a missing window is new; without it, the
script answers with the window start it chose and the client fetches the seed for that
window from the ledger (emails sent since it began, plus those workers hold in `sending`,
each of which took its slot before it was claimed) and calls again with it. A missing day
key is always seeded (once per sender and day): the marker lives minutes, a day hours, and
a daily cap added mid-day must count the day's earlier sends. A seed is used only for the
window or day it was fetched for; past a boundary in between, the script asks again.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

import redis

from emailsched.adapters.redis_errors import wrap_redis_errors
from emailsched.domain.senders import CALENDAR_DAY_SECONDS, next_day_start_ms
from emailsched.domain.windows import (
    MAX_SPILL_MS,
    day_starts_around,
    days_counted,
    spill_ms,
    windows_counted,
)
from emailsched.errors import ServiceUnavailable
from emailsched.ports import Clock, Permit, Seed, SeedSource, SendLimits

_ACQUIRE = """
-- KEYS: last send, marker (the window and day keys are built from ARGV[1] and TIME;
--       all share the sender's {hash tag}).
-- ARGV: key base, window_ms, per-window limit, min gap ms, wanted, ttl ms,
--       seed window start (-1: none), seed window count, seed last send ms (-1: none),
--       daily limit (-1: none), seed day start (-1: none), seed day count,
--       then consecutive day starts, ascending (with a daily limit).
-- Returns {sends counted, 0, now}; {0, ms until one might be, now};
--   {-1, window start, day start or -1}: seed these and call again;
--   {-2, now, 0}: no day given contains now.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local base = ARGV[1]
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local gap = tonumber(ARGV[4])
local wanted = tonumber(ARGV[5])
local ttl = tonumber(ARGV[6])
local daily = tonumber(ARGV[10])
local function key(kind, start) return base .. kind .. string.format('%d', start) end
local function spill(length) return math.min(MAX_SPILL, math.floor(length / 10)) end

local start = now - now % window
local w_end = start + window
local spills = now >= w_end - spill(window)
local count = redis.call('GET', key('w:', start))
local known = redis.call('EXISTS', KEYS[2]) == 1

local d_start, d_end, d_count = -1, -1, nil
if daily >= 0 then
  for i = 13, #ARGV - 1 do
    local s, e = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
    if s <= now and now < e then d_start, d_end = s, e break end
  end
  if d_start < 0 then return {-2, now, 0} end
  d_count = redis.call('GET', key('d:', d_start))
end
local seed_window = not count and not known and tonumber(ARGV[7]) ~= start
local seed_day = daily >= 0 and not d_count and tonumber(ARGV[11]) ~= d_start
if seed_window or seed_day then
  return {-1, start, seed_day and d_start or -1}
end

if not count then
  count = 0
  if not known then
    count = tonumber(ARGV[8])
    if tonumber(ARGV[9]) >= 0 and redis.call('EXISTS', KEYS[1]) == 0 then
      redis.call('SET', KEYS[1], ARGV[9], 'PX', ttl)
    end
  end
  redis.call('SET', key('w:', start), count, 'PX', ttl)
end
count = tonumber(count)
local day_ttl = 2 * (d_end - d_start) + ttl
if daily >= 0 and not d_count then
  d_count = tonumber(ARGV[12])
  redis.call('SET', key('d:', d_start), d_count, 'PX', day_ttl)
end
d_count = tonumber(d_count)
redis.call('SET', KEYS[2], 1, 'PX', ttl * 4)

if count >= limit then return {0, w_end - now, now} end
local next_count = 0
if spills then
  next_count = tonumber(redis.call('GET', key('w:', w_end)) or '0')
  if next_count >= limit then return {0, w_end - now + 1, now} end
end
local d_spills, d_next = false, 0
if daily >= 0 then
  if d_count >= daily then return {0, d_end - now, now} end
  d_spills = now >= d_end - spill(d_end - d_start)
  if d_spills then
    d_next = tonumber(redis.call('GET', key('d:', d_end)) or '0')
    if d_next >= daily then return {0, d_end - now + 1, now} end
  end
end
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if gap > 0 and last >= 0 and now - last < gap then
  return {0, last + gap - now, now}
end

-- Sends granted together go out together: with a gap between sends, one at a time.
local granted = math.min(wanted, limit - count)
if gap > 0 then granted = 1 end
if spills then granted = math.min(granted, limit - next_count) end
if daily >= 0 then
  granted = math.min(granted, daily - d_count)
  if d_spills then granted = math.min(granted, daily - d_next) end
end
redis.call('INCRBY', key('w:', start), granted)
if spills then
  redis.call('INCRBY', key('w:', w_end), granted)
  redis.call('PEXPIRE', key('w:', w_end), ttl * 2)
end
if daily >= 0 then
  redis.call('INCRBY', key('d:', d_start), granted)
  if d_spills then
    redis.call('INCRBY', key('d:', d_end), granted)
    redis.call('PEXPIRE', key('d:', d_end), day_ttl)
  end
end
redis.call('SET', KEYS[1], now, 'PX', ttl)
return {granted, 0, now}
""".replace("MAX_SPILL", str(MAX_SPILL_MS))

_REFUND = """
local slots = tonumber(ARGV[1] or '1')
for _, k in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', k) or '0')
  if count > 0 then redis.call('DECRBY', k, math.min(count, slots)) end
end
return 0
"""

# Answers of the script that are not a decision: fetch a seed, or pass days around Redis's
# time. Each is followed by at most one more of the other kind, or by a boundary passing.
_MAX_CALLS = 4


class _WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class RedisRateLimiter:
    def __init__(self, client: redis.Redis, seed: SeedSource, *, window_ms: int,
                 min_gap_ms: int, day_seconds: int = CALENDAR_DAY_SECONDS,
                 prefix: str = "emailsched:", clock: Clock | None = None):
        """`min_gap_ms` is the default gap (MIN_DELAY_BETWEEN_EMAILS_MS) for senders
        without their own; `clock` only places the day starts passed to the script."""
        self._client = client
        self._seed = seed
        self._window_ms = window_ms
        self._min_gap_ms = min_gap_ms
        self._day_seconds = day_seconds
        self._prefix = prefix
        self._clock = clock or _WallClock()
        self._script = client.register_script(_ACQUIRE)
        self._refund = client.register_script(_REFUND)

    def acquire(self, sender_id: str, limits: SendLimits, wanted: int = 1) -> Permit:
        gap = self._min_gap_ms if limits.min_gap_ms is None else limits.min_gap_ms
        base = self._base(sender_id)
        keys = [f"{base}last", f"{base}known"]
        ttl = max(self._window_ms * 2, gap * 2, 60_000)
        head: list[int | str] = [base, self._window_ms, limits.per_window, gap, max(1, wanted),
                                 ttl]
        seed: list[int] = [-1, 0, -1, -1 if limits.daily is None else limits.daily, -1, 0]
        days = [] if limits.daily is None else self._days_around(self._clock_ms(), limits)
        for _ in range(_MAX_CALLS):
            answer = self._run(keys, [*head, *seed, *days])
            if answer[0] == -1:
                seed = self._seed_args(sender_id, answer[1], answer[2], seed[3], limits)
            elif answer[0] == -2:
                days = self._days_around(answer[1], limits)
            else:
                return Permit(slots=answer[0], wait_ms=max(0, answer[1]),
                              granted_at_ms=answer[2])
        return Permit(slots=0, wait_ms=100)  # boundaries kept passing: look again shortly

    def refund(self, sender_id: str, granted_at_ms: int, limits: SendLimits,
               slots: int = 1) -> None:
        """Give back `slots` taken for sends that did not happen (the emails were gone)."""
        base = self._base(sender_id)
        keys = [f"{base}w:{start}" for start in windows_counted(granted_at_ms, self._window_ms)]
        if limits.daily is not None:
            keys += [f"{base}d:{start}" for start in
                     days_counted(granted_at_ms, limits.timezone, self._day_seconds)]
        # An unreturned slot only makes the window stricter.
        with contextlib.suppress(ServiceUnavailable), wrap_redis_errors():
            self._refund(keys=keys, args=[slots])

    def _seed_args(self, sender_id: str, window_start: int, day_start: int, daily: int,
                   limits: SendLimits) -> list[int]:
        """The ledger's counts for the window (and day) the script chose, from the previous
        period's spill on: sends there count in this one too."""
        counted_from = window_start - spill_ms(self._window_ms)
        day_from = None
        if day_start >= 0:
            day_end = next_day_start_ms(day_start, limits.timezone, self._day_seconds)
            day_from = _utc(day_start - spill_ms(day_end - day_start))
        seed: Seed = self._seed.seed(sender_id, _utc(counted_from), day_from)
        last = -1 if seed.last_send_ms is None else seed.last_send_ms
        return [window_start, seed.count, last, daily, day_start, seed.day_count or 0]

    def _days_around(self, at_ms: int, limits: SendLimits) -> list[int]:
        return day_starts_around(at_ms, limits.timezone, self._day_seconds)

    def _clock_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    def _base(self, sender_id: str) -> str:
        # The hash tag keeps a sender's keys in one slot, should Redis ever be a cluster.
        return f"{self._prefix}rl:{{{sender_id}}}:"

    def _run(self, keys: list[str], args: list[int | str]) -> list[int]:
        with wrap_redis_errors():
            return [int(v) for v in self._script(keys=keys, args=args)]


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
