"""The send plan: when each email of a batch is due.

The i-th recipient is due `delay` after the previous one (the first at the start time),
never closer than the minimum gap, and moved into a later window wherever the sender's
limit would be exceeded in the window it falls in, counting the sender's other batches.
Order is kept: a pushed email pushes everything after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from emailsched.domain.windows import next_window_start_ms, windows_counted


@dataclass(frozen=True)
class PlanRules:
    limit_per_window: int
    window_ms: int
    delay_ms: int
    min_gap_ms: int

    @property
    def step_ms(self) -> int:
        return max(self.delay_ms, self.min_gap_ms)


def plan_due_times(
    earliest_ms: list[int] | int,
    count: int,
    rules: PlanRules,
    used_per_window: Mapping[int, int] | None = None,
) -> list[int]:
    """Due times (epoch ms) for `count` emails in order.

    `earliest_ms` is the start time, or one earliest time per email (as when a paused batch
    resumes and keeps what is still ahead). `used_per_window` maps a window's start (ms) to
    the sends already planned or made there by the same sender.
    """
    used = dict(used_per_window or {})
    due: list[int] = []
    previous: int | None = None
    for i in range(count):
        if isinstance(earliest_ms, int):
            at = earliest_ms if previous is None else previous + rules.step_ms
        else:
            at = earliest_ms[i] if previous is None else max(earliest_ms[i],
                                                             previous + rules.step_ms)
        at = _first_time_with_room(at, rules, used)
        for window in windows_counted(at, rules.window_ms):
            used[window] = used.get(window, 0) + 1
        due.append(at)
        previous = at
    return due


def _first_time_with_room(at_ms: int, rules: PlanRules, used: dict[int, int]) -> int:
    while True:
        windows = windows_counted(at_ms, rules.window_ms)
        full = [w for w in windows if used.get(w, 0) >= rules.limit_per_window]
        if not full:
            return at_ms
        if full == [windows[0]]:
            at_ms = next_window_start_ms(at_ms, rules.window_ms)
        else:  # only the spill window is full: move past it
            at_ms = next_window_start_ms(full[-1], rules.window_ms)
