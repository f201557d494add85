"""Rate windows: fixed, aligned to the epoch, RATE_WINDOW_SECONDS long."""

from __future__ import annotations


def window_start_ms(at_ms: int, window_ms: int) -> int:
    return at_ms - at_ms % window_ms


def next_window_start_ms(at_ms: int, window_ms: int) -> int:
    return window_start_ms(at_ms, window_ms) + window_ms
