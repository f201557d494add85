"""pg8000's placeholder rewrite, kept per statement text: the same answer as pg8000's own
for every style, quoting and comment, with the values picked from each call's arguments."""

from __future__ import annotations

import pytest
from pg8000.dbapi import convert_paramstyle

from emailsched.adapters.db.paramstyle import cached_convert_paramstyle

pytestmark = pytest.mark.unit

CASES = [
    ("format", "SELECT * FROM t WHERE a = %s AND b = %s -- 100%% sure\n", (1, 2)),
    ("format", "UPDATE t SET s = 'it''s %s' WHERE id = ANY(%s)", (["x"],)),
    ("named", "SELECT :a, :b, :a, ':c', E'\\':d', \"col:e\" FROM t", {"a": 1, "b": 2}),
    ("pyformat", "SELECT %(x)s, %(y)s, %(x)s", {"x": "one", "y": "two"}),
    ("numeric", "SELECT :1, :2 WHERE $$ :3 $$ = ''", (3, 4)),
    ("qmark", "SELECT ?, ? FROM t", (5, 6)),
]


@pytest.mark.parametrize(("style", "query", "args"), CASES)
def test_the_kept_rewrite_answers_as_pg8000_does(style: str, query: str, args: object):
    expected = convert_paramstyle(style, query, args)
    assert cached_convert_paramstyle(style, query, args) == expected
    assert cached_convert_paramstyle(style, query, args) == expected  # from the cache


def test_a_kept_statement_takes_each_calls_own_values():
    query = "SELECT :first, :second, :first"
    assert cached_convert_paramstyle("named", query, {"first": 1, "second": 2}) == (
        "SELECT $1, $2, $1", (1, 2))
    assert cached_convert_paramstyle("named", query, {"first": "a", "second": "b"}) == (
        "SELECT $1, $2, $1", ("a", "b"))
