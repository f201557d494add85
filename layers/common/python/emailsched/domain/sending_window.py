"""Sending windows: the days and local hours, in one time zone, when a batch may send.

A window is `{timezone, days, start, end}`: on each listed weekday (local date in
`timezone`) it is open from `start` (inclusive) to `end` (exclusive), local wall-clock time.
Daylight saving follows the zone rules, so 09:00 stays 09:00 local across a change and the
UTC instant moves instead.

Wall times that do not exist or exist twice on a change day have one meaning each, for the
start and the end alike:

* In a spring-forward gap (02:30 in America/New_York on the March change day, when clocks
  jump from 02:00 to 03:00) the time means the first instant after the gap: 03:00 local,
  i.e. the instant of the change. An opening whose start and end both fall in the gap (or
  whose end is not after its start once resolved) is empty: that day has no opening.
* In a fall-back fold (01:30 in America/New_York on the November change day, which happens
  in EDT and again in EST) the time means its first occurrence (PEP 495 `fold=0`, EDT).

Openings are computed once per local date and cached on the window, so planning many emails
costs a comparison per email while they stay inside the same opening.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from emailsched.errors import InvalidRequest

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# Every listed weekday recurs within 7 days; the margin covers days whose opening is empty
# (a window inside a DST gap) or skipped by the zone (Pacific/Apia skipped 2011-12-30).
_SEARCH_DAYS = 400

Opening = tuple[int, int]  # [open_ms, close_ms), epoch milliseconds


@dataclass(frozen=True)
class SendingWindow:
    """The weekdays (0 = Monday) and local hours [start, end) of `timezone` to send in."""

    timezone: str
    days: frozenset[int]
    start: time
    end: time
    # Caches, not part of the value: the zone object and one opening per local date ordinal.
    _zone: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _openings: dict[int, Opening | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Check the invariants, so a window built in code is as valid as a parsed one."""
        details = _check(self.timezone, self.days, self.start, self.end, "sendingWindow")
        if details:
            raise InvalidRequest("invalid sending window", details=details)
        object.__setattr__(self, "_zone", ZoneInfo(self.timezone))

    @classmethod
    def from_api(cls, raw: object, prefix: str = "sendingWindow") -> SendingWindow:
        """Parse `{timezone, days: ["mon", ...], start: "HH:MM", end: "HH:MM"}`.

        Raises InvalidRequest whose details name every bad field (`sendingWindow.start`, ...).
        """
        if not isinstance(raw, Mapping):
            raise InvalidRequest("invalid sending window", details=[
                {"field": prefix, "message": "must be an object"}])
        details: list[dict[str, Any]] = []
        timezone = raw.get("timezone")
        if not isinstance(timezone, str) or not timezone:
            details.append({"field": f"{prefix}.timezone",
                            "message": "must be an IANA time zone name"})
            timezone = None
        days = _parse_days(raw.get("days"), prefix, details)
        start = _parse_time(raw.get("start"), f"{prefix}.start", details)
        end = _parse_time(raw.get("end"), f"{prefix}.end", details)
        details += _check(timezone, days, start, end, prefix)
        if details:
            raise InvalidRequest("invalid sending window", details=details)
        assert timezone is not None and days is not None and start is not None
        assert end is not None
        return cls(timezone, days, start, end)

    def to_api(self) -> dict[str, Any]:
        """The API shape this window was parsed from (days in weekday order)."""
        return {"timezone": self.timezone,
                "days": [DAY_NAMES[d] for d in sorted(self.days)],
                "start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M")}

    def in_zone(self, timezone: str) -> SendingWindow:
        """The same days and local hours in another zone (a recipient's own)."""
        if timezone == self.timezone:
            return self
        return SendingWindow(timezone, self.days, self.start, self.end)

    def contains(self, at_ms: int) -> bool:
        """Whether a send at `at_ms` is inside the window."""
        return self.next_opening_ms(at_ms) == at_ms

    def opening(self, at_ms: int) -> Opening:
        """The opening [open, close) that contains `at_ms`, or else the next one."""
        ordinal = datetime.fromtimestamp(at_ms // 1000, self._zone).toordinal()
        for day in range(ordinal, ordinal + _SEARCH_DAYS):
            found = self._opening_on(day)
            if found is not None and at_ms < found[1]:
                return found
        raise ValueError(f"{self!r} has no opening within {_SEARCH_DAYS} days of {at_ms}")

    def next_opening_ms(self, at_ms: int) -> int:
        """`at_ms` if it is inside the window, else the start of the next opening."""
        return max(at_ms, self.opening(at_ms)[0])

    def opening_end_ms(self, at_ms: int) -> int:
        """The end (exclusive) of the opening containing `at_ms`.

        Outside the window, the end of the next opening (the one `next_opening_ms` starts).
        """
        return self.opening(at_ms)[1]

    def _opening_on(self, ordinal: int) -> Opening | None:
        """The opening of one local date (cached), None when the window is shut that day."""
        if ordinal in self._openings:
            return self._openings[ordinal]
        day = date.fromordinal(ordinal)
        found: Opening | None = None
        if day.weekday() in self.days:
            open_ms = local_instant_ms(day, self.start, self._zone)
            close_ms = local_instant_ms(day, self.end, self._zone)
            found = (open_ms, close_ms) if open_ms < close_ms else None
        self._openings[ordinal] = found
        return found


def local_instant_ms(day: date, wall: time, zone: ZoneInfo) -> int:
    """The instant (epoch ms) of a local wall time, with the DST meanings of this module.

    A time in a fold is its first occurrence; a time in a gap is the first instant after it.
    """
    naive = datetime.combine(day, wall)
    first = int(naive.replace(tzinfo=zone).timestamp())  # fold=0: first occurrence
    if datetime.fromtimestamp(first, zone).replace(tzinfo=None) == naive:
        return first * 1000
    # The wall time does not exist. fold=0 and fold=1 resolve it with the offsets before and
    # after the change, landing either side of the change instant: search between them.
    other = int(naive.replace(tzinfo=zone, fold=1).timestamp())
    return _change_instant(min(first, other), max(first, other), zone) * 1000


def _change_instant(before: int, after: int, zone: ZoneInfo) -> int:
    """The first second in (before, after] whose UTC offset is that of `after`."""
    target = datetime.fromtimestamp(after, zone).utcoffset()
    while after - before > 1:  # offsets change on whole seconds; ~12 steps for an hour
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == target:
            after = middle
        else:
            before = middle
    return after


def _parse_days(raw: object, prefix: str, details: list[dict[str, Any]]) -> frozenset[int] | None:
    """Day names to weekday numbers; records an error per bad entry."""
    if not isinstance(raw, list):
        details.append({"field": f"{prefix}.days",
                        "message": "must be a list of day names (mon..sun)"})
        return None
    days: set[int] = set()
    reported = len(details)
    for index, name in enumerate(raw):
        key = name.strip().lower() if isinstance(name, str) else None
        if key not in DAY_NAMES:
            details.append({"field": f"{prefix}.days[{index}]",
                            "message": f"unknown day {name!r}: use one of {', '.join(DAY_NAMES)}"})
            continue
        days.add(DAY_NAMES.index(key))
    # A bad entry is reported already: "no days" on top of it would mislead.
    return frozenset(days) if len(details) == reported else None


def _parse_time(raw: object, name: str, details: list[dict[str, Any]]) -> time | None:
    """`HH:MM` (24-hour) to a time; records an error when malformed."""
    match = _TIME.match(raw) if isinstance(raw, str) else None
    if match is None:
        details.append({"field": name, "message": "must be a time of day as HH:MM (24-hour)"})
        return None
    return time(int(match[1]), int(match[2]))


def _check(timezone: str | None, days: frozenset[int] | None, start: time | None,
           end: time | None, prefix: str) -> list[dict[str, Any]]:
    """The invariants of a window, each broken one as an error naming its field.

    A None argument was already reported by the parser and is not checked again.
    """
    details: list[dict[str, Any]] = []
    if timezone is not None and not _known_zone(timezone):
        details.append({"field": f"{prefix}.timezone",
                        "message": f"unknown time zone {timezone!r}"})
    if days is not None and not days:
        details.append({"field": f"{prefix}.days", "message": "must name at least one day"})
    if days is not None and not days <= frozenset(range(7)):
        details.append({"field": f"{prefix}.days", "message": "weekdays are 0 (mon) to 6 (sun)"})
    if start is not None and end is not None and not start < end:
        details.append({"field": f"{prefix}.end", "message": "must be after start"})
    return details


def _known_zone(name: object) -> bool:
    """Whether zoneinfo knows `name` as an IANA key."""
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # missing, or not a key (path, NUL)
        return False
    return True
