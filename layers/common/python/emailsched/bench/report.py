"""Benchmark results: figures with their targets, printed as a table or as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    """One measured number. `ok` is None where no target applies."""

    name: str
    value: float | int | str
    unit: str = ""
    target: str = ""
    ok: bool | None = None

    def shown(self) -> str:
        if isinstance(self.value, float):
            number = f"{self.value:,.3f}" if abs(self.value) < 10 else f"{self.value:,.1f}"
        elif isinstance(self.value, int):
            number = f"{self.value:,}"
        else:
            number = self.value
        return f"{number} {self.unit}".strip()


@dataclass
class Section:
    """The figures of one benchmark, with notes on how they were taken."""

    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # printed with --verbose
    seconds: float = 0.0
    error: str | None = None
    # A top-level entry of the --json output under the section's name (e.g. "cost").
    summary: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, value: float | int | str, unit: str = "", target: str = "",
            ok: bool | None = None) -> Figure:
        figure = Figure(name, value, unit, target, ok)
        self.figures.append(figure)
        return figure


def _verdict(ok: bool | None) -> str:
    return {True: "met", False: "MISSED", None: ""}[ok]


def render_table(sections: list[Section], verbose: bool, header: list[str]) -> str:
    rows = [(f.name, f.shown(), f.target, _verdict(f.ok)) for s in sections for f in s.figures]
    widths = [max([len(r[i]) for r in rows] + [len(h)]) for i, h in
              enumerate(("figure", "value", "target", "verdict"))]
    lines = [*header, ""]
    for section in sections:
        lines.append(f"## {section.title} ({section.seconds:.0f} s)")
        if section.error:
            lines.append(f"   FAILED: {section.error}")
        for f in section.figures:
            cells = (f.name, f.shown(), f.target, _verdict(f.ok))
            lines.append("   " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
                         .rstrip())
        lines += [f"   - {note}" for note in section.notes]
        if verbose and section.details:
            lines += ["", *[f"   {line}" for line in section.details]]
        lines.append("")
    missed = [f.name for s in sections for f in s.figures if f.ok is False]
    failed = [s.name for s in sections if s.error]
    lines.append(f"targets missed: {len(missed)}" + (f" ({', '.join(missed)})" if missed else ""))
    if failed:
        lines.append(f"benchmarks that failed: {', '.join(failed)}")
    return "\n".join(lines)


def render_json(sections: list[Section], machine: dict[str, Any]) -> str:
    summaries = {s.name: s.summary for s in sections if s.summary}
    return json.dumps({**summaries, "machine": machine,
                       "benchmarks": [asdict(s) for s in sections]}, indent=2)
