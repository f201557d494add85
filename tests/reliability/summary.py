"""The suite's summary: per scenario and AWS emulator (moto, LocalStack), emails scheduled /
sent / failed / duplicated / lost and windows over their limit (and, for the API scenarios,
cases tried and failures), printed at the end of the run and written to
test-artifacts/reliability-summary.json."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

COLUMNS = ("scheduled", "sent", "failed", "duplicated", "lost", "windows_over_limit")
HEADINGS = ("scheduled", "sent", "failed", "dup", "lost", "over limit")
MUST_BE_ZERO = ("duplicated", "lost", "windows_over_limit")


@dataclass
class ScenarioRecord:
    scenario: str
    emulator: str = "moto"
    passed: bool = False
    seconds: float = 0.0
    figures: dict[str, int] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


class Collector:
    """Figures gathered by the scenarios as they run. Thread-safe."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], ScenarioRecord] = {}
        self._lock = threading.Lock()

    def record(self, scenario: str, emulator: str = "moto", *,
               figures: dict[str, int] | None = None, **notes: Any) -> None:
        with self._lock:
            entry = self._entry(scenario, emulator)
            entry.figures.update(figures or {})
            entry.notes.update(notes)

    def timed(self, scenario: str, emulator: str, seconds: float, passed: bool) -> None:
        with self._lock:
            entry = self._entry(scenario, emulator)
            entry.seconds, entry.passed = seconds, passed

    def _entry(self, scenario: str, emulator: str) -> ScenarioRecord:
        return self._records.setdefault((scenario, emulator),
                                        ScenarioRecord(scenario, emulator))

    @property
    def records(self) -> list[ScenarioRecord]:
        with self._lock:
            return list(self._records.values())

    def lines(self) -> list[str]:
        width = max([len(r.scenario) for r in self.records] + [8])
        head = (f"{'scenario':<{width}}  {'aws':<10}  " + " ".join(f"{h:>10}" for h in HEADINGS)
                + "   secs  test")
        lines = [head, "-" * len(head)]
        for record in self.records:
            cells = " ".join(f"{_cell(record.figures.get(c)):>10}" for c in COLUMNS)
            verdict = "passed" if record.passed else "FAILED"
            lines.append(f"{record.scenario:<{width}}  {record.emulator:<10}  {cells} "
                         f"{record.seconds:6.1f}  {verdict}")
            lines.extend(f"{'':<{width}}    {name}: {value}"
                         for name, value in record.notes.items())
        return lines

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {"scenarios": [asdict(r) for r in self.records],
                    "all_zero": all(r.figures.get(c, 0) == 0 for r in self.records
                                    for c in MUST_BE_ZERO)}
        path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def _cell(value: int | None) -> str:
    return "-" if value is None else str(value)
