"""The send plan with every constraint: limits, minimum gap, delay, sending window, jitter.

Email i is due at the first time, not before its earliest time and not before the previous
email plus the step (`max(delayMs, minGapMs)` plus its jitter), that satisfies all of:

* every limit (`WindowLimit`): fewer than `limit` sends already counted in each period the
  send counts in, with the spill rule of `windows.py` (a send in a period's final
  `spill_ms` counts in the next period too, as the limiter counts it);
* the sending window, if any: the time is inside an opening.

A time that breaks a constraint moves to the earliest time that could satisfy that one, and
all constraints are checked again, so a window never lets a limit be broken and a limit never
pushes an email out of its window. Order is kept and everything after a moved email keeps
its gaps from there. With one limit, no window and no jitter this is `plan.plan_due_times`.

Jitter (`randomDelayMs`) is drawn once per gap from `random.Random(seed)`, so a plan is
reproducible from the batch's seed and the planned times are the times sent.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from emailsched.domain.plan import PlanRules
from emailsched.domain.sending_window import SendingWindow, local_instant_ms
from emailsched.domain.windows import next_window_start_ms, spill_ms, window_start_ms
from emailsched.errors import InvalidRequest

DAY_MS = 86_400_000


class Periods(Protocol):
    """How a limit cuts time into periods (rate windows, calendar days)."""

    spill_ms: int

    def span_ms(self, at_ms: int) -> tuple[int, int]:
        """The period [start, end) containing `at_ms`."""
        ...


class EpochWindows:
    """Fixed periods of `window_ms` aligned to the epoch: the rate windows of windows.py."""

    __slots__ = ("spill_ms", "window_ms")

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self.spill_ms = spill_ms(window_ms)

    def span_ms(self, at_ms: int) -> tuple[int, int]:
        """The rate window containing `at_ms`."""
        return window_start_ms(at_ms, self.window_ms), next_window_start_ms(at_ms, self.window_ms)


class LocalDays:
    """Calendar days of a time zone (23, 24 or 25 hours long), for a daily cap.

    A day starts at local midnight; where midnight falls in a DST gap the day starts at the
    first instant after it (the meaning of sending_window). The last span is cached, since
    consecutive sends mostly fall on the same day.
    """

    __slots__ = ("_last", "_zone", "spill_ms")

    def __init__(self, timezone: str) -> None:
        self._zone = ZoneInfo(timezone)
        self.spill_ms = spill_ms(DAY_MS)  # the rule of a DAY_MS rate window: 250 ms
        self._last = (0, 0)

    def span_ms(self, at_ms: int) -> tuple[int, int]:
        """The local day containing `at_ms`."""
        start, end = self._last
        if start <= at_ms < end:
            return self._last
        day = datetime.fromtimestamp(at_ms // 1000, self._zone).date()
        self._last = (local_instant_ms(day, time(0), self._zone),
                      local_instant_ms(day + timedelta(days=1), time(0), self._zone))
        return self._last


@dataclass(frozen=True)
class WindowLimit:
    """At most `limit` sends per period: epoch windows of `window_ms` unless `periods`."""

    limit: int
    window_ms: int
    periods: Periods | None = None

    def __post_init__(self) -> None:
        """A limit below 1 could never be met: the plan would search forever."""
        if self.limit < 1 or self.window_ms < 1:
            raise ValueError(f"limit and window_ms must be positive: {self!r}")

    def cut(self) -> Periods:
        """The periods this limit counts in."""
        return self.periods if self.periods is not None else EpochWindows(self.window_ms)


@dataclass(frozen=True)
class SendRules:
    """Every limit on a batch's sends, plus its pacing."""

    limits: tuple[WindowLimit, ...]
    delay_ms: int
    min_gap_ms: int

    def __post_init__(self) -> None:
        """Negative pacing has no meaning."""
        if self.delay_ms < 0 or self.min_gap_ms < 0:
            raise ValueError(f"delay_ms and min_gap_ms must not be negative: {self!r}")

    @property
    def step_ms(self) -> int:
        """The gap between emails before jitter."""
        return max(self.delay_ms, self.min_gap_ms)

    @classmethod
    def from_plan_rules(cls, rules: PlanRules) -> SendRules:
        """Today's single-limit rules."""
        return cls((WindowLimit(rules.limit_per_window, rules.window_ms),),
                   rules.delay_ms, rules.min_gap_ms)


@dataclass(frozen=True)
class Jitter:
    """`randomDelayMs`: each gap gets 0..max_ms more, drawn from `random.Random(seed)`."""

    max_ms: int
    seed: int | str

    def __post_init__(self) -> None:
        """A negative range has no meaning."""
        if self.max_ms < 0:
            raise ValueError(f"max_ms must not be negative: {self!r}")

    def extras(self) -> Iterator[int]:
        """The extra ms of each gap in turn, the same sequence for the same seed."""
        draw = random.Random(self.seed).random
        span = self.max_ms + 1
        while True:  # uniform over 0..max_ms (53-bit floats: no visible bias)
            yield int(draw() * span)


Usage = Sequence[Mapping[int, int] | None] | None


class _Limit:
    """One limit's counts while planning, with a fast path for the current period.

    `quiet` is the part of the current period where a send counts in that period only, and
    `left` the room there, so most sends cost two comparisons.
    """

    __slots__ = ("left", "limit", "periods", "quiet_end", "quiet_start", "used")

    def __init__(self, limit: WindowLimit, used: Mapping[int, int] | None) -> None:
        self.limit = limit.limit
        self.periods = limit.cut()
        self.used = dict(used or {})
        self.quiet_start = self.quiet_end = self.left = 0

    def counted(self, at_ms: int) -> tuple[int, ...]:
        """The starts of the periods a send at `at_ms` counts in (windows_counted's rule)."""
        start, end = self.periods.span_ms(at_ms)
        if at_ms >= end - self.periods.spill_ms:
            return (start, end)
        return (start,)

    def earliest(self, at_ms: int) -> int:
        """`at_ms` if a send then fits, else a later time worth trying."""
        if self.quiet_start <= at_ms < self.quiet_end and self.left > 0:
            return at_ms
        start, end = self.periods.span_ms(at_ms)
        used = self.used.get(start, 0)
        if at_ms < end - self.periods.spill_ms:  # counts in this period only
            if used < self.limit:
                self.quiet_start, self.quiet_end = start, end - self.periods.spill_ms
                self.left = self.limit - used
                return at_ms
            return end
        # In the spill: counts here and in the next period, as plan._first_time_with_room.
        if self.used.get(end, 0) >= self.limit:
            return self.periods.span_ms(end)[1]
        return end if used >= self.limit else at_ms

    def take(self, at_ms: int) -> None:
        """Count a send at `at_ms` (which `earliest` accepted)."""
        if self.quiet_start <= at_ms < self.quiet_end:
            self.left -= 1
            self.used[self.quiet_start] = self.used.get(self.quiet_start, 0) + 1
            return
        for period in self.counted(at_ms):
            self.used[period] = self.used.get(period, 0) + 1
            if period == self.quiet_start:  # a spill into the cached period uses its room
                self.left -= 1


class _Opening:
    """A sending window while planning: the current opening is remembered.

    Without a window the "opening" is all of time, so the check is the same comparison.
    """

    __slots__ = ("close", "open", "window")

    def __init__(self, window: SendingWindow | None) -> None:
        self.window = window
        self.open, self.close = (0, 0) if window is not None else (-(2**63), 2**63)

    def earliest(self, at_ms: int) -> int:
        """The start of the next opening, for an `at_ms` outside the current one."""
        assert self.window is not None  # all of time has no outside
        self.open, self.close = self.window.opening(at_ms)
        return max(at_ms, self.open)


def _first_allowed(at_ms: int, limits: Sequence[_Limit], opening: _Opening) -> int:
    """The first time from `at_ms` that every limit and the window allow."""
    while True:
        if not opening.open <= at_ms < opening.close:  # inline: most sends stay inside
            at_ms = opening.earliest(at_ms)
        for limit in limits:
            later = limit.earliest(at_ms)
            if later != at_ms:  # moved: the window and every limit must be checked again
                at_ms = later
                break
        else:
            return at_ms


def _states(rules: SendRules, usage: Usage) -> list[_Limit]:
    """Planning state for each limit with the usage already counted for it."""
    maps = list(usage) if usage is not None else [None] * len(rules.limits)
    if len(maps) != len(rules.limits):
        raise ValueError(f"{len(maps)} usage maps for {len(rules.limits)} limits")
    return [_Limit(limit, used) for limit, used in zip(rules.limits, maps, strict=True)]


class SendPlanner:
    """`plan_sends` one email at a time, its state kept between calls: a list read as a
    stream (an import) is planned exactly as the same list planned at once. `state()` is
    JSON-able and `restore`d into a new planner continues where the old one stopped (an
    import that goes on in a next invocation)."""

    def __init__(self, start_ms: int, rules: SendRules, usage: Usage = None,
                 window: SendingWindow | None = None, jitter: Jitter | None = None) -> None:
        self._limits = _states(rules, usage)
        self._opening = _Opening(window)
        self._jitter = jitter if jitter is not None and jitter.max_ms else None
        self._extras = self._jitter.extras() if self._jitter is not None else None
        self._step = rules.step_ms
        self._at = start_ms
        self.planned = 0  # emails planned so far
        self._draws = 0  # jitter draws used so far

    def next(self, earliest_ms: int | None = None) -> int:
        """The next email's due time; `earliest_ms`: not before then (a resumed email)."""
        at = self._at
        if self.planned == 0:
            at = at if earliest_ms is None else earliest_ms
        else:
            if self._extras is None:
                at += self._step
            else:
                at += self._step + next(self._extras)
                self._draws += 1
            if earliest_ms is not None:
                at = max(at, earliest_ms)
        at = _first_allowed(at, self._limits, self._opening)
        for limit in self._limits:
            limit.take(at)
        self._at = at
        self.planned += 1
        return at

    @property
    def last_ms(self) -> int:
        """The latest due time given (the start before any)."""
        return self._at

    def state(self) -> dict[str, Any]:
        """What a new planner needs to go on exactly from here (see `restore`)."""
        return {"at": self._at, "planned": self.planned, "draws": self._draws,
                "used": [{str(k): v for k, v in limit.used.items()} for limit in self._limits]}

    def restore(self, state: Mapping[str, Any]) -> SendPlanner:
        """This planner (built with the same arguments) put where `state` was taken."""
        self._at, self.planned = int(state["at"]), int(state["planned"])
        for limit, used in zip(self._limits, state["used"], strict=True):
            limit.used = {int(k): int(v) for k, v in used.items()}
        self._draws = int(state["draws"])
        if self._extras is not None:
            for _ in range(self._draws):  # the jitter sequence resumes at the same draw
                next(self._extras)
        return self


def plan_sends(earliest_ms: int | list[int], count: int, rules: SendRules,
               usage: Usage = None, window: SendingWindow | None = None,
               jitter: Jitter | None = None) -> list[int]:
    """Due times (epoch ms) for `count` emails in order, meeting every constraint.

    `earliest_ms` is the start time, or one earliest time per email (a resumed batch keeps
    what is still ahead). `usage[k]` maps a period start of `rules.limits[k]` to the sends
    the sender already has there (other batches); None, or a None entry, means none.
    """
    if isinstance(earliest_ms, int):
        planner = SendPlanner(earliest_ms, rules, usage, window, jitter)
        return [planner.next() for _ in range(count)]
    planner = SendPlanner(0, rules, usage, window, jitter)
    return [planner.next(earliest_ms[i]) for i in range(count)]


def plan_by_zone(earliest_ms: int | list[int], zones: Sequence[str | None], rules: SendRules,
                 usage: Usage, window: SendingWindow,
                 jitter: Jitter | None = None) -> list[int]:
    """Due times per recipient, each inside the window's hours in the recipient's own zone.

    `zones[i]` is recipient i's IANA zone (None: the window's zone). Recipients keep their
    order within each zone; the sender's limits, minimum gap, delay and jitter apply to the
    merged stream of sends in time order. Each send goes to the zone whose next recipient can
    go first (ties: the earlier recipient). With a single zone this equals `plan_sends`.
    Returns times in the recipients' order. An unknown zone is an InvalidRequest naming
    `recipients[i].timezone`.
    """
    queues = _zone_queues(zones, window)
    limits = _states(rules, usage)
    openings = {zone: _Opening(window.in_zone(zone)) for zone in queues}

    def earliest_of(index: int) -> int:
        return earliest_ms if isinstance(earliest_ms, int) else earliest_ms[index]

    extras = jitter.extras() if jitter is not None and jitter.max_ms else None
    due = [0] * len(zones)
    heads = {zone: 0 for zone in queues}  # position of each zone's next recipient
    # Cached candidates only grow (the lower bound and the usage only grow), so a popped
    # candidate that is still true when recomputed is the smallest: a lazy heap suffices.
    heap = [(earliest_of(queue[0]), queue[0], zone) for zone, queue in queues.items()]
    heapq.heapify(heap)
    lower: int | None = None
    while heap:
        candidate, index, zone = heap[0]
        bound = earliest_of(index) if lower is None else max(lower, earliest_of(index))
        at = _first_allowed(bound, limits, openings[zone])
        if at != candidate:
            heapq.heapreplace(heap, (at, index, zone))
            continue
        for limit in limits:
            limit.take(at)
        due[index] = at
        lower = at + rules.step_ms + (next(extras) if extras is not None else 0)
        heads[zone] += 1
        if heads[zone] < len(queues[zone]):
            following = queues[zone][heads[zone]]
            heapq.heapreplace(heap, (max(lower, earliest_of(following)), following, zone))
        else:
            heapq.heappop(heap)
    return due


def _zone_queues(zones: Sequence[str | None], window: SendingWindow) -> dict[str, list[int]]:
    """Recipient indexes per zone, in order; bad zones raise InvalidRequest naming them."""
    queues: dict[str, list[int]] = {}
    details: list[dict[str, Any]] = []
    for index, zone in enumerate(zones):
        key = window.timezone if zone is None else zone
        if key not in queues:
            try:
                window.in_zone(key)
            except InvalidRequest:
                details.append({"field": f"recipients[{index}].timezone",
                                "message": f"unknown time zone {zone!r}"})
                continue
            queues[key] = []
        queues[key].append(index)
    if details:
        raise InvalidRequest("invalid recipient time zone", details=details)
    return queues
