"""Sending windows: parsing, openings, and the meanings of DST gaps and folds."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from emailsched.domain.sending_window import DAY_NAMES, SendingWindow, local_instant_ms
from emailsched.errors import InvalidRequest

pytestmark = pytest.mark.unit
NY = "America/New_York"
WEEKDAYS = frozenset(range(5))


def utc_ms(*args: int) -> int:
    """Epoch ms of a UTC wall time."""
    return int(datetime(*args, tzinfo=UTC).timestamp()) * 1000  # type: ignore[misc]


def local_ms(zone: str, *args: int, fold: int = 0) -> int:
    """Epoch ms of a local wall time (zoneinfo's own resolution)."""
    return int(datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).timestamp()) * 1000  # type: ignore[misc]


def window(zone: str = NY, days: frozenset[int] = WEEKDAYS, start: time = time(9),
           end: time = time(17, 30)) -> SendingWindow:
    return SendingWindow(zone, days, start, end)


API = {"timezone": "Europe/Berlin", "days": ["mon", "tue", "wed", "thu", "fri"],
       "start": "09:00", "end": "17:30"}


# --- parsing -------------------------------------------------------------------------------

def test_the_api_shape_parses_and_round_trips():
    parsed = SendingWindow.from_api(API)
    assert parsed == SendingWindow("Europe/Berlin", WEEKDAYS, time(9), time(17, 30))
    assert parsed.to_api() == API


def test_day_names_are_case_insensitive_and_duplicates_harmless():
    parsed = SendingWindow.from_api({**API, "days": ["Sun", "MON", "mon"]})
    assert parsed.days == frozenset({0, 6})
    assert parsed.to_api()["days"] == ["mon", "sun"]


@pytest.mark.parametrize(("change", "field"), [
    ({"timezone": "Mars/Olympus_Mons"}, "sendingWindow.timezone"),
    ({"timezone": "../../etc/passwd"}, "sendingWindow.timezone"),
    ({"timezone": ""}, "sendingWindow.timezone"),
    ({"timezone": 5}, "sendingWindow.timezone"),
    ({"timezone": None}, "sendingWindow.timezone"),
    ({"start": "17:30", "end": "09:00"}, "sendingWindow.end"),
    ({"start": "09:00", "end": "09:00"}, "sendingWindow.end"),
    ({"days": []}, "sendingWindow.days"),
    ({"days": "mon"}, "sendingWindow.days"),
    ({"days": ["mon", "funday"]}, "sendingWindow.days[1]"),
    ({"days": [1]}, "sendingWindow.days[0]"),
    ({"start": "9am"}, "sendingWindow.start"),
    ({"start": "24:00"}, "sendingWindow.start"),
    ({"end": "17:60"}, "sendingWindow.end"),
    ({"end": "5:30"}, "sendingWindow.end"),
    ({"end": None}, "sendingWindow.end"),
])
def test_a_bad_window_is_invalid_naming_the_field(change, field):
    with pytest.raises(InvalidRequest) as caught:
        SendingWindow.from_api({**API, **change})
    assert caught.value.status == 400
    assert [d["field"] for d in caught.value.details] == [field]
    assert all(d["message"] for d in caught.value.details)


def test_a_missing_field_and_a_non_object_are_invalid():
    with pytest.raises(InvalidRequest) as caught:
        SendingWindow.from_api({"timezone": "UTC"})
    assert {d["field"] for d in caught.value.details} == {
        "sendingWindow.days", "sendingWindow.start", "sendingWindow.end"}
    with pytest.raises(InvalidRequest) as caught:
        SendingWindow.from_api(["mon"])
    assert caught.value.details[0]["field"] == "sendingWindow"


def test_every_bad_field_is_reported_at_once_under_the_given_prefix():
    with pytest.raises(InvalidRequest) as caught:
        SendingWindow.from_api({"timezone": "Nowhere/City", "days": [], "start": "10:00",
                                "end": "08:00"}, prefix="window")
    assert [d["field"] for d in caught.value.details] == [
        "window.timezone", "window.days", "window.end"]


def test_a_window_built_in_code_is_checked_too():
    with pytest.raises(InvalidRequest):
        SendingWindow("UTC", frozenset(), time(9), time(10))
    with pytest.raises(InvalidRequest):
        SendingWindow("UTC", frozenset({7}), time(9), time(10))
    with pytest.raises(InvalidRequest):
        SendingWindow("UTC", WEEKDAYS, time(10), time(9))


def test_day_names_follow_weekday_numbers():
    assert DAY_NAMES[datetime(2024, 6, 3).weekday()] == "mon"  # a Monday


# --- openings ------------------------------------------------------------------------------

def test_inside_an_opening_the_time_itself_and_the_end_of_that_opening():
    berlin = SendingWindow.from_api(API)
    at = local_ms("Europe/Berlin", 2024, 6, 4, 12, 0)  # a Tuesday, CEST
    assert berlin.contains(at)
    assert berlin.next_opening_ms(at) == at
    assert berlin.opening_end_ms(at) == utc_ms(2024, 6, 4, 15, 30)


def test_start_is_inside_and_end_is_outside():
    berlin = SendingWindow.from_api(API)
    opens, closes = utc_ms(2024, 6, 4, 7, 0), utc_ms(2024, 6, 4, 15, 30)
    assert berlin.contains(opens) and not berlin.contains(opens - 1)
    assert berlin.contains(closes - 1) and not berlin.contains(closes)
    assert berlin.next_opening_ms(closes) == utc_ms(2024, 6, 5, 7, 0)


def test_before_the_opening_the_same_days_start():
    berlin = SendingWindow.from_api(API)
    assert berlin.next_opening_ms(utc_ms(2024, 6, 4, 3, 0)) == utc_ms(2024, 6, 4, 7, 0)
    assert berlin.opening_end_ms(utc_ms(2024, 6, 4, 3, 0)) == utc_ms(2024, 6, 4, 15, 30)


def test_a_batch_started_on_saturday_waits_for_monday():
    berlin = SendingWindow.from_api(API)
    saturday = local_ms("Europe/Berlin", 2024, 6, 1, 10, 0)
    monday_nine = utc_ms(2024, 6, 3, 7, 0)  # 09:00 CEST
    assert not berlin.contains(saturday)
    assert berlin.next_opening_ms(saturday) == monday_nine
    friday_late = local_ms("Europe/Berlin", 2024, 5, 31, 18, 0)
    assert berlin.next_opening_ms(friday_late) == monday_nine


def test_the_local_date_decides_the_weekday_not_utc():
    # 23:30 Sunday UTC is already Monday 05:00 in Kolkata: Monday's opening, same day.
    kolkata = window("Asia/Kolkata")
    sunday_night_utc = utc_ms(2024, 6, 2, 23, 30)
    assert kolkata.next_opening_ms(sunday_night_utc) == utc_ms(2024, 6, 3, 3, 30)


def test_a_single_day_window_is_a_week_away_after_it_closes():
    sundays = window("UTC", frozenset({6}), time(10), time(11))
    assert sundays.next_opening_ms(utc_ms(2024, 6, 2, 11, 0)) == utc_ms(2024, 6, 9, 10, 0)


@pytest.mark.parametrize(("before", "after", "before_utc_hour", "after_utc_hour"), [
    ((2024, 3, 8), (2024, 3, 11), 14, 13),  # EST -5 then EDT -4
    ((2024, 11, 1), (2024, 11, 4), 13, 14),  # EDT -4 then EST -5
])
def test_nine_stays_nine_local_across_new_york_changes(before, after, before_utc_hour,
                                                      after_utc_hour):
    ny = window(NY)
    first = ny.next_opening_ms(utc_ms(*before, 0, 0))
    second = ny.next_opening_ms(utc_ms(*after, 0, 0))
    assert first == utc_ms(*before, before_utc_hour, 0)
    assert second == utc_ms(*after, after_utc_hour, 0)
    zone = ZoneInfo(NY)
    locals_ = [datetime.fromtimestamp(ms / 1000, zone) for ms in (first, second)]
    assert [d.time() for d in locals_] == [time(9), time(9)]
    assert locals_[0].utcoffset() != locals_[1].utcoffset()


# --- DST gap and fold: one meaning each --------------------------------------------------

SPRING = (2024, 3, 10)  # New York: 02:00 EST -> 03:00 EDT (07:00 UTC)
FALL = (2024, 11, 3)  # New York: 02:00 EDT -> 01:00 EST (06:00 UTC)
EVERY_DAY = frozenset(range(7))


def test_a_start_in_the_spring_gap_opens_at_the_first_instant_after_it():
    ny = window(NY, EVERY_DAY, time(2, 30), time(4, 0))
    opens = ny.next_opening_ms(utc_ms(*SPRING, 0, 0))
    assert opens == utc_ms(*SPRING, 7, 0)
    assert datetime.fromtimestamp(opens / 1000, ZoneInfo(NY)).time() == time(3, 0)
    assert ny.opening_end_ms(opens) == utc_ms(*SPRING, 8, 0)  # 04:00 EDT
    # The days either side are ordinary: 02:30 local.
    assert ny.next_opening_ms(utc_ms(2024, 3, 9, 0, 0)) == utc_ms(2024, 3, 9, 7, 30)
    assert ny.next_opening_ms(utc_ms(2024, 3, 11, 0, 0)) == utc_ms(2024, 3, 11, 6, 30)


def test_an_end_in_the_spring_gap_closes_at_the_first_instant_after_it():
    ny = window(NY, EVERY_DAY, time(1, 0), time(2, 30))
    assert ny.opening(utc_ms(*SPRING, 0, 0)) == (utc_ms(*SPRING, 6, 0), utc_ms(*SPRING, 7, 0))


def test_a_window_wholly_inside_the_gap_has_no_opening_that_day():
    ny = window(NY, frozenset({6}), time(2, 5), time(2, 45))  # Sundays only
    assert ny.next_opening_ms(utc_ms(*SPRING, 0, 0)) == utc_ms(2024, 3, 17, 6, 5)


def test_a_start_in_the_fall_fold_is_its_first_occurrence():
    ny = window(NY, EVERY_DAY, time(1, 30), time(3, 0))
    assert ny.opening(utc_ms(*FALL, 0, 0)) == (utc_ms(*FALL, 5, 30), utc_ms(*FALL, 8, 0))
    assert ny.opening(utc_ms(*FALL, 0, 0))[0] == local_ms(NY, *FALL, 1, 30, fold=0)


def test_an_end_in_the_fall_fold_is_its_first_occurrence():
    ny = window(NY, EVERY_DAY, time(0, 30), time(1, 30))
    opens, closes = ny.opening(utc_ms(*FALL, 0, 0))
    assert (opens, closes) == (utc_ms(*FALL, 4, 30), utc_ms(*FALL, 5, 30))
    # 01:10 EST (the second 01:10) reads as inside by the clock but is after the close.
    second_pass = local_ms(NY, *FALL, 1, 10, fold=1)
    assert not ny.contains(second_pass)
    assert ny.next_opening_ms(second_pass) == utc_ms(2024, 11, 4, 5, 30)


def test_a_fall_back_day_opening_is_an_hour_longer_by_the_clock_across_the_fold():
    ny = window(NY, EVERY_DAY, time(0, 0), time(3, 0))
    opens, closes = ny.opening(utc_ms(*FALL, 4, 0))
    assert closes - opens == 4 * 3_600_000


@pytest.mark.parametrize(("zone", "day", "wall", "expected"), [
    (NY, SPRING, time(2, 0), utc_ms(*SPRING, 7, 0)),
    (NY, SPRING, time(2, 59), utc_ms(*SPRING, 7, 0)),
    (NY, SPRING, time(3, 0), utc_ms(*SPRING, 7, 0)),
    (NY, SPRING, time(1, 59), utc_ms(*SPRING, 6, 59)),
    (NY, FALL, time(1, 0), utc_ms(*FALL, 5, 0)),
    (NY, FALL, time(1, 59), utc_ms(*FALL, 5, 59)),
    (NY, FALL, time(2, 0), utc_ms(*FALL, 7, 0)),
    ("Europe/Berlin", (2024, 3, 31), time(2, 30), utc_ms(2024, 3, 31, 1, 0)),
    ("Europe/Berlin", (2024, 10, 27), time(2, 30), utc_ms(2024, 10, 27, 0, 30)),
    ("Australia/Lord_Howe", (2024, 10, 6), time(2, 15), utc_ms(2024, 10, 5, 15, 30)),
    ("Asia/Kolkata", (2024, 3, 10), time(9, 0), utc_ms(2024, 3, 10, 3, 30)),
])
def test_local_instants_table(zone, day, wall, expected):
    assert local_instant_ms(datetime(*day).date(), wall, ZoneInfo(zone)) == expected


def test_a_skipped_calendar_day_has_no_opening():
    # Samoa skipped 2011-12-30 (a Friday) entirely.
    apia = window("Pacific/Apia", frozenset({4}), time(9), time(17))
    thursday = local_ms("Pacific/Apia", 2011, 12, 29, 18, 0)
    opens = apia.next_opening_ms(thursday)
    assert datetime.fromtimestamp(opens / 1000, ZoneInfo("Pacific/Apia")).date() == \
        datetime(2012, 1, 6).date()


def test_openings_are_computed_once_per_local_date():
    ny = window(NY)
    start = utc_ms(2024, 6, 3, 13, 0)
    for minute in range(0, 8 * 60, 7):
        assert ny.contains(start + minute * 60_000)
    assert len(ny._openings) == 1
    ny.next_opening_ms(start + timedelta(days=10).days * 86_400_000)
    assert len(ny._openings) == 2


def test_in_zone_keeps_the_hours_and_days():
    ny = window(NY)
    tokyo = ny.in_zone("Asia/Tokyo")
    assert (tokyo.timezone, tokyo.days, tokyo.start, tokyo.end) == \
        ("Asia/Tokyo", ny.days, ny.start, ny.end)
    assert ny.in_zone(NY) is ny
    with pytest.raises(InvalidRequest):
        ny.in_zone("Nowhere/City")
