"""Fixtures of the reliability suite, and the summary printed at the end of the run.

Every test here is marked `reliability` and names its scenario with
`@pytest.mark.scenario("<number>. ...")`; the `figures` fixture it receives files what it
measured under that name, with the time the scenario took. Scenarios run in the order of
their numbers (the issue's), so that the ones sharing the `steady` stack come last.
A scenario marked `@on_both_emulators` (stack.py) runs on moto and on LocalStack, and the
summary has a row for each.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.outcomes import Outcome
from tests.reliability.stack import Launcher, Scenario, SharedServices
from tests.reliability.summary import Collector

COLLECTOR = pytest.StashKey[Collector]()
PASSED = pytest.StashKey[bool]()
SUMMARY_FILE = Path("test-artifacts") / "reliability-summary.json"
# The load scenario's 50 clients schedule far more often than a person would. Nothing is
# killed on this stack: lost messages are taken back after the local default, not sooner.
STEADY_ENV = {"SCHEDULE_REQUESTS_PER_MINUTE": "1000000", "PUMP_LOST_AFTER_SECONDS": "30"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenario(name): the reliability scenario a test runs")
    config.stash[COLLECTOR] = Collector()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Scenarios in the order of their numbers, in the slots they were collected in."""
    slots = [i for i, item in enumerate(items) if item.get_closest_marker("scenario")]
    ordered = sorted((items[i] for i in slots), key=_scenario_number)
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item


def _scenario_number(item: pytest.Item) -> float:
    marker = item.get_closest_marker("scenario")
    number = str(marker.args[0]).split(" ", 1)[0].rstrip(".") if marker else ""
    try:
        return float(number)
    except ValueError:
        return float("inf")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[PASSED] = report.passed
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    collector = config.stash.get(COLLECTOR, None)
    if collector is None or not collector.records:
        return
    terminalreporter.section("reliability summary")
    for line in collector.lines():
        terminalreporter.write_line(line)
    path = config.rootpath / SUMMARY_FILE
    collector.write(path)
    terminalreporter.write_line(f"(written to {path})")


class ScenarioFigures:
    """What one scenario measured, filed under its name."""

    def __init__(self, collector: Collector, scenario: str, emulator: str):
        self.scenario = scenario
        self.emulator = emulator
        self._collector = collector

    def record(self, figures: dict[str, int] | None = None, **notes: Any) -> None:
        self._collector.record(self.scenario, self.emulator, figures=figures, **notes)

    def outcome(self, outcome: Outcome, **notes: Any) -> None:
        """The outcome's figures and `notes`; for an outcome that is not clean, the
        evidence too (which emails, what the ledger says of them)."""
        if not outcome.is_clean():
            notes["evidence"] = outcome.explain()
        self.record(outcome.figures(), **notes)


@pytest.fixture
def emulator() -> str:
    """The AWS emulator a scenario's SQS is on: moto, unless the test is parametrised over
    both (`@on_both_emulators`)."""
    return "moto"


@pytest.fixture
def figures(request: pytest.FixtureRequest, emulator: str) -> Iterator[ScenarioFigures]:
    marker = request.node.get_closest_marker("scenario")
    name = marker.args[0] if marker else request.node.name
    collector = request.config.stash[COLLECTOR]
    started = time.monotonic()
    yield ScenarioFigures(collector, name, emulator)
    collector.timed(name, emulator, time.monotonic() - started,
                    passed=request.node.stash.get(PASSED, False))


def aws_url(request: pytest.FixtureRequest, shared: SharedServices, emulator: str) -> str:
    """The shared moto, or the session's LocalStack (started on first use)."""
    if emulator == "moto":
        return shared.moto_url
    assert emulator == "localstack", emulator
    return str(request.getfixturevalue("localstack_url"))


@pytest.fixture(scope="package")
def shared_services(scratch: Path) -> Iterator[SharedServices]:
    from emailsched.local.embedded import start_moto
    from tests.support.stack import admin_postgres_url, redis_url

    admin, stop_postgres = admin_postgres_url(scratch)
    redis, stop_redis = redis_url(scratch)
    moto = start_moto(None, scratch / "reliability-moto")
    try:
        yield SharedServices(admin, redis, moto.url)
    finally:
        moto.stop()
        stop_redis()
        stop_postgres()


@pytest.fixture(scope="package")
def steady(shared_services: SharedServices,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """A stack that is not broken, shared by the scenarios that only talk to it (poison
    messages, API fuzzing, API load); they keep apart by signing in as their own users.
    Package-scoped: it stops when the suite does, not at the end of the whole test run."""
    launcher = Launcher(shared_services, tmp_path_factory.mktemp("steady"))
    try:
        yield launcher("steady", env=STEADY_ENV, workers=2, concurrency=2)
    finally:
        launcher.close()


@pytest.fixture(scope="package")
def steady_localstack(request: pytest.FixtureRequest, shared_services: SharedServices,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """`steady`, with its SQS on LocalStack: started only if a scenario on both asks."""
    launcher = Launcher(shared_services, tmp_path_factory.mktemp("steady-localstack"),
                        aws_url(request, shared_services, "localstack"))
    try:
        yield launcher("steady-localstack", env=STEADY_ENV, workers=2, concurrency=2)
    finally:
        launcher.close()


@pytest.fixture
def steady_on(request: pytest.FixtureRequest, emulator: str) -> Scenario:
    """The steady stack on the scenario's emulator."""
    name = "steady" if emulator == "moto" else f"steady_{emulator}"
    scenario: Scenario = request.getfixturevalue(name)
    return scenario


@pytest.fixture
def launch(request: pytest.FixtureRequest, shared_services: SharedServices, tmp_path: Path,
           emulator: str) -> Iterator[Launcher]:
    launcher = Launcher(shared_services, tmp_path, aws_url(request, shared_services, emulator))
    try:
        yield launcher
    finally:
        launcher.close()
