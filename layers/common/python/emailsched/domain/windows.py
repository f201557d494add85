"""Rate windows: fixed, aligned to the epoch, RATE_WINDOW_SECONDS long.

A send granted in the last moments of a window reaches the server in the next one, so a
send in a window's final `spill_ms` counts in both windows. The plan and the limiter use
the same rule, so the plan never schedules what the limiter would refuse. A daily cap
counts in days (domain/senders.py) with the same rule.
"""

from __future__ import annotations

from emailsched.domain.senders import day_start_ms, next_day_start_ms

MAX_SPILL_MS = 250


def window_start_ms(at_ms: int, window_ms: int) -> int:
    return at_ms - at_ms % window_ms


def next_window_start_ms(at_ms: int, window_ms: int) -> int:
    return window_start_ms(at_ms, window_ms) + window_ms


def spill_ms(window_ms: int) -> int:
    return min(MAX_SPILL_MS, window_ms // 10)


def windows_counted(at_ms: int, window_ms: int) -> tuple[int, ...]:
    """The starts of the windows a send at `at_ms` counts in."""
    start = window_start_ms(at_ms, window_ms)
    if at_ms >= start + window_ms - spill_ms(window_ms):
        return (start, start + window_ms)
    return (start,)


# --- days of a daily cap: the same spill rule, on the days of domain/senders.py ---------

def day_span_ms(at_ms: int, timezone: str, day_seconds: int) -> tuple[int, int]:
    """The day [start, end) containing `at_ms`: a calendar day of `timezone`, or the
    epoch-aligned stretch of DAILY_WINDOW_SECONDS when that is shorter."""
    return (day_start_ms(at_ms, timezone, day_seconds),
            next_day_start_ms(at_ms, timezone, day_seconds))


def days_counted(at_ms: int, timezone: str, day_seconds: int) -> tuple[int, ...]:
    """The starts of the days a send at `at_ms` counts in (windows_counted's rule: a send
    in a day's final spill counts in the next day too, as window_plan.LocalDays plans)."""
    start, end = day_span_ms(at_ms, timezone, day_seconds)
    if at_ms >= end - spill_ms(end - start):
        return (start, end)
    return (start,)


def day_starts_around(at_ms: int, timezone: str, day_seconds: int) -> list[int]:
    """Four consecutive day starts: the day before the one containing `at_ms`, that day,
    and the next, so a limiter whose clock differs from `at_ms`'s by up to a day can pick
    its own day among them."""
    start, end = day_span_ms(at_ms, timezone, day_seconds)
    return [day_start_ms(start - 1, timezone, day_seconds), start, end,
            next_day_start_ms(end, timezone, day_seconds)]
