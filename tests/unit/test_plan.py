"""The send plan: start + i x delay, pushed into later windows where the limit is full."""

import pytest

from emailsched.domain.plan import PlanRules, plan_due_times

pytestmark = pytest.mark.unit
HOUR = 3_600_000
T0 = 1_800_000_000_000 - 1_800_000_000_000 % HOUR  # an hour boundary


def rules(limit: int = 200, delay: int = 1000, gap: int = 1000, window: int = HOUR) -> PlanRules:
    return PlanRules(limit_per_window=limit, window_ms=window, delay_ms=delay, min_gap_ms=gap)


def test_emails_follow_each_other_by_the_delay():
    assert plan_due_times(T0, 3, rules(delay=5000)) == [T0, T0 + 5000, T0 + 10_000]


def test_the_minimum_gap_wins_over_a_shorter_delay():
    assert plan_due_times(T0, 3, rules(delay=0, gap=1000)) == [T0, T0 + 1000, T0 + 2000]


def test_a_full_window_moves_the_rest_to_the_next_window_in_order():
    due = plan_due_times(T0, 250, rules(limit=200))
    assert due[199] == T0 + 199_000
    assert due[200] == T0 + HOUR
    assert due[249] == T0 + HOUR + 49_000
    assert due == sorted(due)


def test_windows_used_by_the_senders_other_batches_are_respected():
    due = plan_due_times(T0, 5, rules(limit=10), used_per_window={T0: 8})
    assert due[:2] == [T0, T0 + 1000]
    assert due[2] == T0 + HOUR


def test_no_window_ever_holds_more_than_the_limit():
    due = plan_due_times(T0 + 1234, 1000, rules(limit=7, delay=0, gap=0, window=10_000),
                         used_per_window={T0: 3})
    per_window: dict[int, int] = {}
    for at in due:
        per_window[at - at % 10_000] = per_window.get(at - at % 10_000, 0) + 1
    per_window[T0] += 3
    assert max(per_window.values()) == 7


def test_resumed_emails_keep_future_times_and_follow_on_from_now():
    now = T0 + 50_000
    earliest = [now, now, T0 + 120_000]
    assert plan_due_times(earliest, 3, rules(delay=10_000)) == [now, now + 10_000, T0 + 120_000]


def test_a_plan_of_100k_emails_is_quick_enough_to_do_inline():
    due = plan_due_times(T0, 100_000, rules(limit=200))
    assert len(due) == 100_000 and due[-1] == T0 + 499 * HOUR + 199_000
