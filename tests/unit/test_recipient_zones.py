"""A recipient's `timezone` field: blank means the window's zone, unknown zones are named."""

import pytest

from emailsched.domain.recipient_zones import check_recipient_zones, recipient_zone
from emailsched.domain.sending_window import SendingWindow
from emailsched.errors import InvalidRequest

pytestmark = pytest.mark.unit
WINDOW = SendingWindow.from_api({"timezone": "Europe/Berlin", "days": ["mon"],
                                 "start": "09:00", "end": "17:00"})


@pytest.mark.parametrize("fields, zone", [
    (None, None), ({}, None), ({"first_name": "Ann"}, None), ({"timezone": ""}, None),
    ({"timezone": "  "}, None), ({"timezone": "Asia/Tokyo"}, "Asia/Tokyo"),
    ({"timezone": " America/New_York "}, "America/New_York"),
])
def test_the_zone_of_a_recipient(fields, zone):
    assert recipient_zone(fields) == zone


def test_unknown_zones_are_named_by_the_entry_as_sent():
    entries = [None, {"timezone": "Asia/Tokyo"}, {"timezone": "Mars/Base"}, {},
               {"timezone": "Mars/Base"}, {"timezone": "../etc/passwd"}]
    with pytest.raises(InvalidRequest) as raised:
        check_recipient_zones(entries, WINDOW)
    assert [d["field"] for d in raised.value.details] == [
        "recipients[2].timezone", "recipients[4].timezone", "recipients[5].timezone"]


def test_known_zones_pass():
    check_recipient_zones([{"timezone": "UTC"}, None, {"timezone": "Asia/Kolkata"}], WINDOW)
