"""A recipient's own time zone for the sending window: the `timezone` field (issue 15).

A recipient with a `timezone` field (a CSV column of that name) is planned inside the
batch's window hours in that zone; one without it (or with it blank) in the window's zone.
The zones are checked against the whole request, so an error names the entry as the caller
sent it (`recipients[i].timezone`), whatever rotation or de-duplication does afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emailsched.domain.sending_window import SendingWindow
from emailsched.errors import InvalidRequest

TIMEZONE_FIELD = "timezone"
MAX_REPORTED = 100


def recipient_zone(fields: Mapping[str, str] | None) -> str | None:
    """The recipient's zone, None for the window's own (no field, or a blank one)."""
    if not fields:
        return None
    zone = fields.get(TIMEZONE_FIELD)
    if not isinstance(zone, str) or not zone.strip():
        return None
    return zone.strip()


def check_recipient_zones(fields: Sequence[Mapping[str, str] | None],
                          window: SendingWindow) -> None:
    """InvalidRequest naming `recipients[i].timezone` for each unknown zone (first 100)."""
    known: dict[str, bool] = {}
    details: list[dict[str, Any]] = []
    for index, entry in enumerate(fields):
        zone = recipient_zone(entry)
        if zone is None:
            continue
        if zone not in known:
            try:
                window.in_zone(zone)
                known[zone] = True
            except InvalidRequest:
                known[zone] = False
        if not known[zone]:
            details.append({"field": f"recipients[{index}].timezone",
                            "message": f"unknown time zone {zone[:80]!r}"})
            if len(details) == MAX_REPORTED:
                break
    if details:
        raise InvalidRequest("unknown recipient time zone", details=details)
