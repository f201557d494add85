"""SendPlanner: plan_sends one email at a time, stopped and restored from its JSON state
(an import going on in a next invocation) without changing a single due time."""

from __future__ import annotations

import json

import pytest

from emailsched.domain.sending_window import SendingWindow
from emailsched.domain.window_plan import Jitter, SendPlanner, SendRules, WindowLimit, plan_sends
from emailsched.services.import_job import ByteLines, fields_json, uuid7, uuid7_run

START = 1_800_000_000_000
RULES = SendRules((WindowLimit(40, 3_600_000), WindowLimit(150, 86_400_000)), 20_000, 1_000)
WINDOW = SendingWindow.from_api({"timezone": "Europe/Berlin", "days": ["mon", "tue", "wed"],
                                 "start": "09:00", "end": "17:00"})
USAGE = [{START - START % 3_600_000: 35}, None]


def test_a_planner_restored_every_few_emails_plans_what_plan_sends_plans():
    jitter = Jitter(5_000, "seed:sender")
    expected = plan_sends(START, 500, RULES, USAGE, WINDOW, jitter)
    got: list[int] = []
    state = None
    while len(got) < 500:
        planner = SendPlanner(START, RULES, USAGE, WINDOW, jitter)
        if state is not None:
            planner.restore(json.loads(json.dumps(state)))
        got += [planner.next() for _ in range(min(37, 500 - len(got)))]
        state = planner.state()
    assert got == expected


def test_byte_lines_report_where_the_next_invocation_starts():
    data = "\ufeffemail\r\na@example.com\r\n\"b\nc\"@x,1\nlast".encode()
    lines = ByteLines([data[:5], data[5:17], data[17:]], 0, 1)
    seen = []
    for line in lines:
        seen.append((line, lines.offset, lines.next_line))
    assert seen[0][0] == "email\r\n" and seen[-1] == ("last", len(data), 6)
    assert b"".join(data[:offset] for _, offset, _ in seen[1:2]) == data[:seen[1][1]]


def test_uuid7_ids_sort_by_time_then_position():
    ids = [uuid7(START, n, 12345) for n in range(3)] + [uuid7(START + 1, 0, 1)]
    assert ids == sorted(ids) and all(i[14] == "7" for i in ids)


def test_a_run_of_uuid7_ids_is_uuid7_of_each_position():
    assert uuid7_run(START, 5, 4, 0xDEADBEEF) == [uuid7(START, n, 0xDEADBEEF)
                                                  for n in range(5, 9)]
    beyond = (1 << 30) - 2  # past the fast path's counters: the same ids the long way
    assert uuid7_run(START, beyond, 4, 7) == [uuid7(START, n, 7)
                                              for n in range(beyond, beyond + 4)]


@pytest.mark.parametrize("fields", [
    {}, {"first_name": "Ann"}, {"a": 'quo"te', "b": "back\\\\slash", "c": "Zoë 日本 🎉"},
])
def test_fields_json_is_the_json_of_the_fields(fields):
    names: dict[str, str] = {}
    assert json.loads(fields_json(fields, names)) == fields
    assert json.loads(fields_json(fields, names)) == fields  # names cached: the same
