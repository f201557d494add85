"""One sender's share of a batch, planned under every limit the limiter will hold it to.

The rules are the limiter's: the batch's hourly limit and the sender's own hourly limit
(both over the sender's sends in a rate window), the sender's daily cap (calendar days in
its timezone, or epoch-aligned days of DAILY_WINDOW_SECONDS when shortened) and its
minimum gap. The batch's sending window and jitter (BatchShape, issue 15) shape the plan
on top. Used when scheduling, when a paused batch resumes and when held emails go out
again (each re-planned inside the window from then on, with the batch's jitter seed), so
`scheduledTime` stays what the limiter allows.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from emailsched.domain.senders import CALENDAR_DAY_SECONDS, SenderLimits, day_start_ms
from emailsched.domain.sending_window import SendingWindow
from emailsched.domain.window_plan import (
    DAY_MS,
    EpochWindows,
    Jitter,
    LocalDays,
    SendPlanner,
    SendRules,
    WindowLimit,
    plan_by_zone,
    plan_sends,
)
from emailsched.domain.windows import window_start_ms


@dataclass(frozen=True)
class Pacing:
    """The deployment's rules: RATE_WINDOW_SECONDS, MIN_DELAY_BETWEEN_EMAILS_MS and
    DAILY_WINDOW_SECONDS (ms and seconds)."""

    window_ms: int
    min_gap_ms: int
    day_seconds: int = CALENDAR_DAY_SECONDS


class PlanUsage(Protocol):
    def sender_usage(self, sender_id: uuid.UUID, since: datetime,
                     window_ms: int) -> dict[int, int]: ...

    def sender_day_usage(self, sender_id: uuid.UUID, since: datetime,
                         timezone: str) -> dict[int, int]:
        """Sends planned or made per local day of `timezone` (day start in epoch ms)."""


def send_rules(limits: SenderLimits, batch_hourly: int, delay_ms: int,
               pacing: Pacing) -> SendRules:
    """Every limit on one sender's sends for a batch, in the order the usage comes."""
    windows = [WindowLimit(batch_hourly, pacing.window_ms)]
    if limits.hourly_limit is not None:
        windows.append(WindowLimit(limits.hourly_limit, pacing.window_ms))
    if limits.daily_limit is not None:
        if pacing.day_seconds == CALENDAR_DAY_SECONDS:
            windows.append(WindowLimit(limits.daily_limit, DAY_MS, LocalDays(limits.timezone)))
        else:
            day_ms = pacing.day_seconds * 1000
            windows.append(WindowLimit(limits.daily_limit, day_ms, EpochWindows(day_ms)))
    gap = pacing.min_gap_ms if limits.min_delay_ms is None else limits.min_delay_ms
    return SendRules(tuple(windows), delay_ms, gap)


def plan_share(usage: PlanUsage, sender_id: uuid.UUID, limits: SenderLimits,
               earliest_ms: int | list[int], count: int, batch_hourly: int, delay_ms: int,
               pacing: Pacing, shape: BatchShape | None = None,
               zones: Sequence[str | None] | None = None) -> list[int]:
    """Due times (epoch ms) for `count` emails of one sender, around its other batches.

    `shape`: the batch's sending window and jitter (issue 15); `zones[i]`: email i's own
    time zone for the window (None: the window's), validated beforehand.
    """
    if count == 0:
        return []
    rules, maps = _rules_and_usage(usage, sender_id, limits, earliest_ms, batch_hourly,
                                   delay_ms, pacing)
    window = shape.window if shape is not None else None
    jitter = shape.jitter(sender_id) if shape is not None else None
    if window is not None and zones is not None and any(zone is not None for zone in zones):
        return plan_by_zone(earliest_ms, zones, rules, maps, window, jitter)
    return plan_sends(earliest_ms, count, rules, maps, window, jitter)


def share_planner(usage: PlanUsage, sender_id: uuid.UUID, limits: SenderLimits,
                  start_ms: int, batch_hourly: int, delay_ms: int, pacing: Pacing,
                  shape: BatchShape | None = None) -> SendPlanner:
    """plan_share one email at a time (a list read as a stream: imports): the n-th call of
    `next()` gives what plan_share's n-th time would be for the same share."""
    rules, maps = _rules_and_usage(usage, sender_id, limits, start_ms, batch_hourly,
                                   delay_ms, pacing)
    return SendPlanner(start_ms, rules, maps, shape.window if shape is not None else None,
                       shape.jitter(sender_id) if shape is not None else None)


def _rules_and_usage(usage: PlanUsage, sender_id: uuid.UUID, limits: SenderLimits,
                     earliest_ms: int | list[int], batch_hourly: int, delay_ms: int,
                     pacing: Pacing) -> tuple[SendRules, list[dict[int, int] | None]]:
    """The share's rules, and the sender's usage already counted for each of its limits."""
    rules = send_rules(limits, batch_hourly, delay_ms, pacing)
    first = earliest_ms if isinstance(earliest_ms, int) else min(earliest_ms)
    hourly = usage.sender_usage(sender_id, _moment(window_start_ms(first, pacing.window_ms)),
                                pacing.window_ms)
    maps: list[dict[int, int] | None] = [hourly]
    if limits.hourly_limit is not None:
        maps.append(hourly)
    if limits.daily_limit is not None:
        day_start = day_start_ms(first, limits.timezone, pacing.day_seconds)
        if pacing.day_seconds == CALENDAR_DAY_SECONDS:
            maps.append(usage.sender_day_usage(sender_id, _moment(day_start), limits.timezone))
        else:
            maps.append(usage.sender_usage(sender_id, _moment(day_start),
                                           pacing.day_seconds * 1000))
    return rules, maps


@dataclass(frozen=True)
class BatchShape:
    """A batch's sending window and jitter (issue 15), as stored on its row.

    The jitter of each sender's share is drawn from `random.Random(f"{seed}:{sender}")`:
    reproducible from the batch's seed, and not the same draws for every share.
    """

    window: SendingWindow | None = None
    random_delay_ms: int = 0
    seed: int = 0

    @classmethod
    def stored(cls, window: Mapping[str, Any] | None, random_delay_ms: int,
               seed: int) -> BatchShape:
        """From the batch row (`sending_window` is SendingWindow.to_api() or null)."""
        return cls(None if window is None else SendingWindow.from_api(window),
                   random_delay_ms, seed)

    def jitter(self, sender_id: uuid.UUID) -> Jitter | None:
        if not self.random_delay_ms:
            return None
        return Jitter(self.random_delay_ms, f"{self.seed}:{sender_id}")

    def window_json(self) -> Mapping[str, Any] | None:
        return None if self.window is None else self.window.to_api()


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
