"""GET /health: is each backing service reachable, and how long did asking take.

Each check is a port (`HealthCheck`): one cheap round trip (SELECT 1, PING,
GetQueueAttributes). No check reports more than ok/ms: no URL, host or error text, since
the route needs no session."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from emailsched.errors import ServiceUnavailable
from emailsched.ports import Clock

log = logging.getLogger(__name__)


class HealthCheck(Protocol):
    def check(self) -> None:
        """Returns when the service answered; raises anything otherwise."""


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    ms: float


@dataclass(frozen=True)
class Health:
    checks: dict[str, CheckResult]

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.checks.values())

    @property
    def status(self) -> str:
        return "ok" if self.ok else "degraded"


class HealthService:
    def __init__(self, checks: Mapping[str, HealthCheck], clock: Clock):
        self._checks, self._clock = dict(checks), clock

    def run(self) -> Health:
        results = {}
        for name, check in self._checks.items():
            started = self._clock.now()
            ok = True
            try:
                check.check()
            except ServiceUnavailable as error:  # adapters translate what their driver raised
                log.warning("health check %s failed: %s", name, error.message)
                ok = False
            elapsed = (self._clock.now() - started).total_seconds() * 1000
            results[name] = CheckResult(ok, round(elapsed, 1))
        return Health(results)
