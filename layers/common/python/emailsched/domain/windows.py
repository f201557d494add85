"""Rate windows: fixed, aligned to the epoch, RATE_WINDOW_SECONDS long.

A send granted in the last moments of a window reaches the server in the next one, so a
send in a window's final `spill_ms` counts in both windows. The plan and the limiter use
the same rule, so the plan never schedules what the limiter would refuse.
"""

from __future__ import annotations

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
