"""The plan with every constraint: limits, gap, delay, sending windows, jitter, zones."""

import random
from collections import Counter
from datetime import UTC, datetime, time
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from emailsched.domain.plan import PlanRules, plan_due_times
from emailsched.domain.sending_window import SendingWindow
from emailsched.domain.window_plan import (
    DAY_MS,
    EpochWindows,
    Jitter,
    LocalDays,
    SendRules,
    WindowLimit,
    plan_by_zone,
    plan_sends,
)
from emailsched.domain.windows import windows_counted
from emailsched.errors import InvalidRequest

pytestmark = pytest.mark.unit
MINUTE = 60_000
HOUR = 3_600_000
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))


def utc_ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp()) * 1000  # type: ignore[misc]


def local(ms: int, zone: str) -> datetime:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(zone))


def inside(ms: int, window: SendingWindow) -> bool:
    """Independent of the module: the local weekday and clock time are in the window."""
    at = local(ms, window.timezone)
    return at.weekday() in window.days and window.start <= at.time() < window.end


def hourly(limit: int, delay: int = MINUTE, gap: int = 0) -> SendRules:
    return SendRules((WindowLimit(limit, HOUR),), delay, gap)


def counts(due: list[int], window_ms: int) -> Counter[int]:
    """Sends per rate window, by windows.py's own rule."""
    return Counter(w for at in due for w in windows_counted(at, window_ms))


# --- today's plan is the special case ---------------------------------------------------

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    given = None


def _compare_with_today(start: int, count: int, limit: int, window_ms: int, delay: int,
                        gap: int, used: dict[int, int], per_email: list[int] | None) -> None:
    rules = PlanRules(limit_per_window=limit, window_ms=window_ms, delay_ms=delay,
                      min_gap_ms=gap)
    earliest: int | list[int] = start if per_email is None else per_email
    today = plan_due_times(earliest, count, rules, used)
    ours = plan_sends(earliest, count, SendRules.from_plan_rules(rules), [used])
    assert ours == today


if given is not None:
    @settings(max_examples=300, deadline=None)
    @given(start=st.integers(0, 10**13), count=st.integers(0, 300), limit=st.integers(1, 20),
           window_ms=st.sampled_from([1, 7, 100, 1000, 2500, 10_000, HOUR]),
           delay=st.integers(0, 5000), gap=st.integers(0, 5000),
           used=st.dictionaries(st.integers(0, 40), st.integers(0, 25), max_size=8),
           resumed=st.booleans(), seed=st.integers(0, 2**32))
    def test_one_limit_no_window_no_jitter_is_exactly_todays_plan(
            start, count, limit, window_ms, delay, gap, used, resumed, seed):
        base = start - start % window_ms
        used_abs = {base + k * window_ms: v for k, v in used.items()}
        rng = random.Random(seed)
        per_email = sorted(start + rng.randrange(0, 20 * window_ms + 1)
                           for _ in range(count)) if resumed else None
        _compare_with_today(start, count, limit, window_ms, delay, gap, used_abs, per_email)


def test_one_limit_is_todays_plan_on_a_seeded_table():
    rng = random.Random(15)
    for _ in range(200):
        window_ms = rng.choice([1, 9, 1000, 2500, HOUR])
        start = rng.randrange(10**13)
        base = start - start % window_ms
        used = {base + rng.randrange(30) * window_ms: rng.randrange(12) for _ in range(5)}
        count = rng.randrange(200)
        per_email = (sorted(start + rng.randrange(30 * window_ms) for _ in range(count))
                     if rng.random() < 0.3 else None)
        _compare_with_today(start, count, rng.randrange(1, 12), window_ms,
                            rng.randrange(3000), rng.randrange(3000), used, per_email)


def test_todays_100k_plan_is_reproduced():
    t0 = 1_800_000_000_000 - 1_800_000_000_000 % HOUR
    rules = PlanRules(limit_per_window=200, window_ms=HOUR, delay_ms=1000, min_gap_ms=1000)
    assert plan_sends(t0, 100_000, SendRules.from_plan_rules(rules)) == \
        plan_due_times(t0, 100_000, rules)


def test_epoch_windows_count_as_windows_py_does():
    periods = EpochWindows(10_000)
    for at in [0, 9_749, 9_750, 9_999, 10_000, 123_456_789]:
        start, end = periods.span_ms(at)
        counted = (start, end) if at >= end - periods.spill_ms else (start,)
        assert counted == windows_counted(at, 10_000)


# --- sending windows ------------------------------------------------------------------

KOLKATA = SendingWindow("Asia/Kolkata", WEEKDAYS, time(9), time(17, 30))


def test_kolkata_window_with_a_ten_minute_delay_and_two_minutes_of_jitter():
    start = utc_ms(2024, 6, 3, 0, 0)  # Monday 05:30 in Kolkata: before the opening
    due = plan_sends(start, 400, hourly(1000, delay=10 * MINUTE), None, KOLKATA,
                     Jitter(2 * MINUTE, "batch-42"))
    assert all(inside(at, KOLKATA) for at in due)
    assert local(due[0], "Asia/Kolkata").time() == time(9)
    gaps = [b - a for a, b in pairwise(due)]
    same_opening = [g for a, g in zip(due, gaps, strict=False)
                    if KOLKATA.opening_end_ms(a) == KOLKATA.opening_end_ms(a + g)]
    closures = len(gaps) - len(same_opening)
    assert all(10 * MINUTE <= g <= 12 * MINUTE for g in same_opening)
    assert len(set(same_opening)) > 50  # not all equal: random
    assert closures == len({local(at, "Asia/Kolkata").date() for at in due}) - 1
    # Each day after the first starts at 09:00 sharp: the email that fell outside moved.
    firsts = [b for a, b in pairwise(due)
              if local(a, "Asia/Kolkata").date() != local(b, "Asia/Kolkata").date()]
    assert {local(at, "Asia/Kolkata").time() for at in firsts} == {time(9)}
    assert {local(at, "Asia/Kolkata").weekday() for at in due} == set(WEEKDAYS)


def test_jitter_is_reproducible_from_the_seed_and_differs_between_seeds():
    def plan(seed: int | str) -> list[int]:
        return plan_sends(utc_ms(2024, 6, 3), 50, hourly(1000), None, KOLKATA,
                          Jitter(30_000, seed))
    assert plan("a") == plan("a")
    assert plan("a") != plan("b")
    assert plan(7) == plan(7)


def test_jitter_without_a_window_keeps_gaps_in_bounds_and_zero_jitter_is_none():
    start = utc_ms(2024, 6, 3)
    due = plan_sends(start, 200, hourly(10_000, delay=1000, gap=1500), None, None,
                     Jitter(500, 1))
    gaps = {b - a for a, b in pairwise(due)}
    assert min(gaps) >= 1500 and max(gaps) <= 2000 and len(gaps) > 50
    assert plan_sends(start, 20, hourly(100), None, None, Jitter(0, 1)) == \
        plan_sends(start, 20, hourly(100))


def test_a_batch_started_on_saturday_starts_on_monday_and_keeps_its_gaps():
    berlin = SendingWindow.from_api({"timezone": "Europe/Berlin",
                                     "days": ["mon", "tue", "wed", "thu", "fri"],
                                     "start": "09:00", "end": "17:30"})
    saturday = utc_ms(2024, 6, 1, 8, 0)
    due = plan_sends(saturday, 5, hourly(100, delay=5 * MINUTE), None, berlin)
    monday_nine = utc_ms(2024, 6, 3, 7, 0)
    assert due == [monday_nine + k * 5 * MINUTE for k in range(5)]


def test_an_email_past_the_close_moves_to_the_next_opening_and_the_rest_follow():
    utc = SendingWindow("UTC", WEEKDAYS, time(9), time(10))
    start = utc_ms(2024, 6, 3, 9, 40)  # a Monday
    due = plan_sends(start, 6, hourly(100, delay=7 * MINUTE), None, utc)
    assert due == [start, start + 7 * MINUTE, start + 14 * MINUTE,
                   utc_ms(2024, 6, 4, 9, 0), utc_ms(2024, 6, 4, 9, 7), utc_ms(2024, 6, 4, 9, 14)]


@pytest.mark.parametrize(("start", "offsets"), [
    (utc_ms(2024, 3, 7, 12), {-5 * HOUR, -4 * HOUR}),  # March: EST then EDT
    (utc_ms(2024, 10, 31, 12), {-4 * HOUR, -5 * HOUR}),  # November: EDT then EST
])
def test_new_york_window_across_the_changes_stays_at_nine_local(start, offsets):
    ny = SendingWindow("America/New_York", EVERY_DAY, time(9), time(9, 30))
    due = plan_sends(start, 30, hourly(100, delay=5 * MINUTE), None, ny)
    assert all(inside(at, ny) for at in due)
    daily_first = due[::6]  # six a day: 09:00 .. 09:25
    assert {local(at, ny.timezone).time() for at in daily_first} == {time(9)}
    assert {local(at, ny.timezone).utcoffset().total_seconds() * 1000  # type: ignore[union-attr]
            for at in daily_first} == offsets
    assert len({at % DAY_MS for at in daily_first}) == 2  # the UTC time of day moved


def test_a_resumed_batch_replans_inside_the_window_from_then_on():
    utc = SendingWindow("UTC", WEEKDAYS, time(9), time(17))
    now = utc_ms(2024, 6, 3, 16, 58)  # a Monday
    earliest = [now, now, now, utc_ms(2024, 6, 5, 12, 0)]
    due = plan_sends(earliest, 4, hourly(100), None, utc)
    assert due == [now, now + MINUTE, utc_ms(2024, 6, 4, 9, 0), utc_ms(2024, 6, 5, 12, 0)]


# --- windows and limits together ---------------------------------------------------------

def test_an_hourly_limit_that_fills_mid_window_waits_for_the_next_hour_inside():
    utc = SendingWindow("UTC", WEEKDAYS, time(9, 30), time(12, 0))
    monday = utc_ms(2024, 6, 3, 9, 30)
    due = plan_sends(monday, 14, hourly(4, delay=MINUTE), None, utc)
    hour = utc_ms(2024, 6, 3, 10)
    assert due == ([monday + k * MINUTE for k in range(4)]
                   + [hour + k * MINUTE for k in range(4)]
                   + [hour + HOUR + k * MINUTE for k in range(4)]
                   + [utc_ms(2024, 6, 4, 9, 30), utc_ms(2024, 6, 4, 9, 31)])


def test_a_limit_never_pushes_an_email_out_of_the_window():
    utc = SendingWindow("UTC", WEEKDAYS, time(9), time(9, 30))
    friday = utc_ms(2024, 6, 7, 9, 0)
    due = plan_sends(friday, 7, hourly(3, delay=MINUTE), None, utc)
    # The hour fills at 09:02; 10:00 is outside; Monday's opening is the next with room.
    assert due == [friday, friday + MINUTE, friday + 2 * MINUTE,
                   utc_ms(2024, 6, 10, 9, 0), utc_ms(2024, 6, 10, 9, 1),
                   utc_ms(2024, 6, 10, 9, 2), utc_ms(2024, 6, 11, 9, 0)]


def test_the_window_moves_an_email_into_a_full_hour_and_the_limit_moves_it_again():
    utc = SendingWindow("UTC", EVERY_DAY, time(9, 0), time(9, 20))
    start = utc_ms(2024, 6, 3, 9, 0)
    used = {utc_ms(2024, 6, 4, 9): 5}  # tomorrow's 09:00 hour is full (another batch)
    due = plan_sends(start, 3, hourly(5, delay=15 * MINUTE), [used], utc)
    assert due == [start, start + 15 * MINUTE, utc_ms(2024, 6, 5, 9, 0)]


def test_the_batch_and_sender_hourly_limits_the_smaller_holds_counting_other_batches():
    rules = SendRules((WindowLimit(10, HOUR), WindowLimit(3, HOUR)), MINUTE, 0)
    start = utc_ms(2024, 6, 3, 9)
    due = plan_sends(start, 5, rules, [None, {start: 1}])
    assert due == [start, start + MINUTE, start + HOUR, start + HOUR + MINUTE,
                   start + HOUR + 2 * MINUTE]


def test_the_spill_rule_holds_for_a_window_and_a_limit():
    # A send in a window's last 250 ms counts in the next window too.
    utc = SendingWindow("UTC", EVERY_DAY, time(9), time(12))
    start = utc_ms(2024, 6, 3, 9, 59, 59) + 800  # inside the spill of the 09:00 hour
    due = plan_sends(start, 3, hourly(2, delay=10), None, utc)
    # Two spill sends fill both the 09:00 and the 10:00 hour: the third waits for 11:00.
    assert due == [start, start + 10, utc_ms(2024, 6, 3, 11, 0)]
    used_ten = {utc_ms(2024, 6, 3, 10): 1}
    due = plan_sends(start, 3, hourly(2, delay=10), [used_ten], utc)
    # The first send fills the 10:00 hour through the spill: the next one skips it.
    assert due == [start, utc_ms(2024, 6, 3, 11, 0), utc_ms(2024, 6, 3, 11, 0) + 10]


def test_a_daily_cap_plus_a_window():
    berlin = SendingWindow("Europe/Berlin", WEEKDAYS, time(9), time(17, 30))
    rules = SendRules((WindowLimit(100, HOUR), WindowLimit(5, DAY_MS, LocalDays("Europe/Berlin"))),
                      MINUTE, 0)
    monday = utc_ms(2024, 6, 3, 0)
    due = plan_sends(monday, 12, rules, [None, {utc_ms(2024, 6, 2, 22): 2}], berlin)
    per_day = Counter(local(at, "Europe/Berlin").date().isoformat() for at in due)
    assert per_day == {"2024-06-03": 3, "2024-06-04": 5, "2024-06-05": 4}
    assert all(inside(at, berlin) for at in due)
    assert local(due[3], "Europe/Berlin").time() == time(9)


def test_a_daily_cap_in_the_senders_zone_with_a_window_in_another():
    # The sender's day (New York) starts at 04:00 UTC; the window is in UTC.
    utc = SendingWindow("UTC", EVERY_DAY, time(0), time(23, 59))
    rules = SendRules((WindowLimit(2, DAY_MS, LocalDays("America/New_York")),), HOUR, 0)
    due = plan_sends(utc_ms(2024, 6, 3, 1), 4, rules, None, utc)
    assert due == [utc_ms(2024, 6, 3, 1), utc_ms(2024, 6, 3, 2),
                   utc_ms(2024, 6, 3, 4), utc_ms(2024, 6, 3, 5)]


def test_local_days_are_23_and_25_hours_on_change_days():
    days = LocalDays("America/New_York")
    assert days.span_ms(utc_ms(2024, 3, 10, 12)) == (utc_ms(2024, 3, 10, 5), utc_ms(2024, 3, 11, 4))
    assert days.span_ms(utc_ms(2024, 11, 3, 12)) == (utc_ms(2024, 11, 3, 4), utc_ms(2024, 11, 4, 5))


def test_random_windows_and_limits_never_break_a_constraint():
    rng = random.Random(2024)
    zones = ["UTC", "Asia/Kolkata", "America/New_York", "Australia/Lord_Howe", "Europe/Berlin"]
    for _ in range(40):
        zone = rng.choice(zones)
        start_minute = rng.randrange(0, 23 * 60)
        end_minute = rng.randrange(start_minute + 1, 24 * 60)
        win = SendingWindow(zone, frozenset(rng.sample(range(7), rng.randint(1, 7))),
                            time(*divmod(start_minute, 60)), time(*divmod(end_minute, 60)))
        rate_ms = rng.choice([10_000, 60_000, HOUR])
        limits = (WindowLimit(rng.randint(1, 8), rate_ms), WindowLimit(rng.randint(1, 40), DAY_MS))
        rules = SendRules(limits, rng.randrange(0, 20_000), rng.randrange(0, 5000))
        jitter = Jitter(rng.randrange(0, 10_000), rng.random()) if rng.random() < 0.5 else None
        start = utc_ms(2024, 1, 1) + rng.randrange(365 * DAY_MS)
        due = plan_sends(start, 300, rules, None, win, jitter)
        assert due == sorted(due) and due[0] >= start
        assert all(inside(at, win) for at in due)
        assert all(b - a >= rules.step_ms for a, b in pairwise(due))
        for limit in limits:
            assert max(counts(due, limit.window_ms).values()) <= limit.limit


# --- per-recipient time zones -----------------------------------------------------------

NINE_TO_FIVE = SendingWindow("UTC", WEEKDAYS, time(9), time(17))


def test_recipients_are_placed_in_their_own_zones_hours_sharing_the_senders_limits():
    zones = ["Asia/Tokyo", "America/New_York", None, "Asia/Tokyo", "America/New_York",
             "Europe/Berlin"] * 40
    rules = SendRules((WindowLimit(12, HOUR),), 5 * MINUTE, MINUTE)
    due = plan_by_zone(utc_ms(2024, 6, 3, 0), zones, rules, None, NINE_TO_FIVE,
                       Jitter(MINUTE, "zones"))
    for at, zone in zip(due, zones, strict=True):
        assert inside(at, NINE_TO_FIVE.in_zone(zone or "UTC"))
    for zone in set(zones):  # order kept within each zone
        mine = [at for at, z in zip(due, zones, strict=True) if z == zone]
        assert mine == sorted(mine) and len(set(mine)) == len(mine)
    merged = sorted(due)
    assert all(b - a >= 5 * MINUTE for a, b in pairwise(merged))
    assert max(counts(merged, HOUR).values()) <= 12
    assert len(set(merged)) == len(merged)
    # Tokyo opens first on Monday (00:00 UTC), so it goes first; New York goes last.
    assert zones[due.index(min(due))] == "Asia/Tokyo"


def test_one_zone_by_zone_equals_the_plain_plan():
    rules = SendRules((WindowLimit(7, HOUR), WindowLimit(20, DAY_MS)), 3 * MINUTE, 0)
    start = utc_ms(2024, 6, 1, 3)
    plain = plan_sends(start, 150, rules, None, KOLKATA, Jitter(MINUTE, 9))
    assert plan_by_zone(start, ["Asia/Kolkata"] * 150, rules, None, KOLKATA,
                        Jitter(MINUTE, 9)) == plain
    assert plan_by_zone(start, [None] * 150, rules, None, KOLKATA, Jitter(MINUTE, 9)) == plain


def test_a_closed_zone_waits_while_an_open_zone_sends():
    zones = ["America/New_York", "Asia/Tokyo", "Asia/Tokyo"]
    start = utc_ms(2024, 6, 3, 1)  # 10:00 Monday in Tokyo, 21:00 Sunday in New York
    due = plan_by_zone(start, zones, hourly(100), None, NINE_TO_FIVE)
    assert due == [utc_ms(2024, 6, 3, 13), start, start + MINUTE]


def test_an_equal_time_goes_to_the_earlier_recipient():
    zones = ["Europe/London", "Europe/Lisbon", "Europe/London"]  # the same offset in June
    start = utc_ms(2024, 6, 3, 6)
    due = plan_by_zone(start, zones, hourly(100), None, NINE_TO_FIVE)
    assert due == [utc_ms(2024, 6, 3, 8), utc_ms(2024, 6, 3, 8, 1), utc_ms(2024, 6, 3, 8, 2)]


def test_by_zone_with_per_recipient_earliest_times():
    zones = ["Asia/Tokyo", "Asia/Tokyo"]
    later = utc_ms(2024, 6, 4, 2)
    due = plan_by_zone([utc_ms(2024, 6, 3, 1), later], zones, hourly(100), None, NINE_TO_FIVE)
    assert due == [utc_ms(2024, 6, 3, 1), later]


def test_an_unknown_recipient_zone_is_invalid_naming_the_recipient():
    with pytest.raises(InvalidRequest) as caught:
        plan_by_zone(0, ["UTC", "Nowhere/City", "Asia/Tokyo", "Bad/Zone"], hourly(10), None,
                     NINE_TO_FIVE)
    assert [d["field"] for d in caught.value.details] == [
        "recipients[1].timezone", "recipients[3].timezone"]


# --- rules --------------------------------------------------------------------------------

def test_bad_rules_are_refused():
    with pytest.raises(ValueError):
        WindowLimit(0, HOUR)
    with pytest.raises(ValueError):
        SendRules((), -1, 0)
    with pytest.raises(ValueError):
        Jitter(-1, 0)
    with pytest.raises(ValueError):
        plan_sends(0, 1, hourly(1), [None, None])


def test_no_limits_at_all_is_just_the_pacing():
    assert plan_sends(1000, 3, SendRules((), 10, 25)) == [1000, 1025, 1050]
    assert plan_sends(1000, 0, SendRules((), 10, 25)) == []


def test_100k_with_window_jitter_and_limits_stays_inside_and_within_limits():
    rules = SendRules((WindowLimit(200, HOUR), WindowLimit(150, HOUR),
                       WindowLimit(1000, DAY_MS, LocalDays("Europe/Berlin"))), 1000, 1000)
    berlin = SendingWindow("Europe/Berlin", WEEKDAYS, time(9), time(17, 30))
    due = plan_sends(utc_ms(2024, 6, 1), 100_000, rules, None, berlin, Jitter(500, "big"))
    assert len(due) == 100_000 and due == sorted(due)
    assert all(inside(at, berlin) for at in due[::97])
    assert max(counts(due, HOUR).values()) <= 150
