"""A second table over 556 real delivery reports of many more servers: sisimai's
set-of-emails (tests/data/bounces/sisimai/, BSD-2-Clause), labelled by sisimai's own tests
(its reason per recipient, mapped by make_expected.py: hard = unknown user or domain,
moved, disabled account, null MX). Its figures are printed and held to the issue's
thresholds (95 % recognised, 90 % of hard bounces hard, at most 10 % of soft ones).
Recipients are compared by number (sisimai's tests do not name them)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from emailsched.domain.inbound import Bounce, Kind, Reading, read_inbound

pytestmark = pytest.mark.unit
CORPUS = Path(__file__).resolve().parents[1] / "data" / "bounces" / "sisimai"
EXPECTED: dict[str, dict] = json.loads((CORPUS / "expected.json").read_text())


@dataclass
class Figures:
    bounces: int = 0
    recognised: int = 0
    ambiguous: int = 0
    hard: int = 0
    hard_as_hard: int = 0
    soft: int = 0
    soft_as_hard: int = 0
    complaints: int = 0
    complaints_read: int = 0
    as_reply: list[str] = field(default_factory=list)
    ordinary: int = 0
    ordinary_as_report: list[str] = field(default_factory=list)

    def count(self, name: str, expected: dict, reading: Reading) -> None:
        kind = expected["kind"]
        if kind != "reply" and reading.kind is Kind.REPLY:
            self.as_reply.append(name)
        if kind in ("reply", "auto_reply", "other"):
            self.ordinary += 1
            if reading.kind in (Kind.BOUNCE, Kind.COMPLAINT):
                self.ordinary_as_report.append(name)
        elif kind == "complaint":
            self.complaints += 1
            self.complaints_read += reading.kind is Kind.COMPLAINT
        else:
            self._bounce(expected, reading)

    def _bounce(self, expected: dict, reading: Reading) -> None:
        self.bounces += 1
        found = reading.kind is Kind.BOUNCE and bool(reading.recipients)
        self.recognised += found
        if expected["ambiguous"] or not found:
            self.ambiguous += expected["ambiguous"]
            return
        classed_hard = sum(r.bounce is Bounce.HARD for r in reading.recipients)
        self.hard += expected["hard"]
        self.soft += expected["soft"]
        self.hard_as_hard += min(expected["hard"], classed_hard)
        self.soft_as_hard += max(0, classed_hard - expected["hard"])

    def lines(self) -> list[str]:
        return [f"sisimai: bounces recognised with a recipient: {self.recognised}/{self.bounces}"
                f" = {_percent(self.recognised, self.bounces)}",
                f"sisimai: hard classed hard: {self.hard_as_hard}/{self.hard}"
                f" = {_percent(self.hard_as_hard, self.hard)} (ambiguous reasons left out: "
                f"{self.ambiguous})",
                f"sisimai: soft classed hard: {self.soft_as_hard}/{self.soft}"
                f" = {_percent(self.soft_as_hard, self.soft)}",
                f"sisimai: abuse reports read as complaints: "
                f"{self.complaints_read}/{self.complaints}",
                f"sisimai: read as a reply: {self.as_reply}",
                f"sisimai: ordinary or non-abuse messages read as a bounce or complaint: "
                f"{self.ordinary_as_report} of {self.ordinary}"]


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "n/a"


def test_sisimai_set_of_emails_is_read_above_the_floors(
        capsys: pytest.CaptureFixture[str]) -> None:
    figures = Figures()
    for name, expected in EXPECTED.items():
        figures.count(name, expected, read_inbound((CORPUS / name).read_bytes()))
    with capsys.disabled():
        print("\n" + "\n".join(figures.lines()))
    assert figures.bounces >= 500
    assert figures.recognised >= 0.95 * figures.bounces
    assert figures.hard_as_hard >= 0.90 * figures.hard
    assert figures.soft_as_hard <= 0.10 * figures.soft
    assert figures.as_reply == []
    assert figures.complaints_read == figures.complaints
    assert figures.ordinary_as_report == []


def test_every_sisimai_email_here_has_an_expected_reading() -> None:
    assert {p.name for p in CORPUS.glob("*.eml")} == set(EXPECTED)
