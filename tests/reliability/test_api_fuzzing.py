"""Scenario 7, part one: schemathesis fuzzes every operation of `/openapi.json` on a running
API, signed in, with data that fits the schema and data that does not. No answer is a 5xx
and every 4xx is in SPEC.md's error shape.

Bounded: EMAILSCHED_FUZZ_EXAMPLES cases per operation and mode (default 10) and
EMAILSCHED_FUZZ_SECONDS in all (default 45); raise both for a deeper run. Negative cases
include schemathesis's own probes without the bearer token (401s).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from tests.reliability.error_shape import response_problem
from tests.support.stack import Api

pytestmark = pytest.mark.reliability

EXAMPLES = int(os.environ.get("EMAILSCHED_FUZZ_EXAMPLES", "10"))
SECONDS = float(os.environ.get("EMAILSCHED_FUZZ_SECONDS", "45"))
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


@dataclass
class Tally:
    tried: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    nothing_to_negate: list[str] = field(default_factory=list)

    def add(self, case: Any, response: Any) -> None:
        self.tried += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        content_type = ";".join(response.headers.get("content-type", []))  # lists, lowercase
        problem = response_problem(response.status_code, content_type, response.content)
        if problem:
            self.failures.append(f"{case.method} {case.formatted_path}: {problem}\n"
                                 f"    {case.as_curl_command()}")


def fuzz(operation: Any, mode: Any, api: Api, tally: Tally, deadline: float) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if time.monotonic() > deadline:
            return
        tally.add(case, case.call(base_url=api.base_url, session=api.session, timeout=60))

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid: no parameters and no body
        tally.nothing_to_negate.append(f"{operation.method.upper()} {operation.path}")


@pytest.mark.scenario("7. API fuzzing (schemathesis)")
def test_fuzzed_requests_never_get_a_5xx_and_every_4xx_is_in_the_error_shape(figures, steady):
    api = steady.api("fuzzer@example.com")
    schema = schemathesis.openapi.from_url(f"{api.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    tally = Tally()
    deadline = time.monotonic() + SECONDS
    for operation in operations:
        for mode in MODES:
            fuzz(operation, mode, api, tally, deadline)

    figures.record(operations=len(operations), cases_tried=tally.tried,
                   failures=len(tally.failures),
                   statuses=dict(sorted(tally.statuses.items())))
    assert tally.tried >= len(operations) * len(MODES) - len(tally.nothing_to_negate)
    assert tally.failures == [], "\n".join(tally.failures[:20])
