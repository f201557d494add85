"""The table test over real bounces (tests/data/bounces/, README there): every message read
as the reply poller reads it, against its expected reading in expected.json.

Figures (printed): bounces recognised with their recipients, hard bounces classed hard,
soft ones classed hard, none read as a reply, every abuse report a complaint, no ordinary
message (replies, automatic replies, a newsletter) read as a bounce or complaint."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from emailsched.domain.inbound import Bounce, Kind, Reading, read_inbound

pytestmark = pytest.mark.unit
CORPUS = Path(__file__).resolve().parents[1] / "data" / "bounces"
EXPECTED: dict[str, dict] = json.loads((CORPUS / "expected.json").read_text())


@dataclass
class Table:
    bounces: int = 0
    recognised: int = 0
    hard: int = 0
    hard_as_hard: int = 0
    soft: int = 0
    soft_as_hard: int = 0
    unexplained: int = 0
    unexplained_as_hard: int = 0
    complaints: int = 0
    complaints_read: int = 0
    ordinary: int = 0
    ordinary_as_report: int = 0
    reports_as_reply: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"bounces recognised with their recipients: {self.recognised}/{self.bounces}"
                f" = {_percent(self.recognised, self.bounces)}",
                f"hard bounces classed hard: {self.hard_as_hard}/{self.hard}"
                f" = {_percent(self.hard_as_hard, self.hard)}",
                f"soft bounces classed hard: {self.soft_as_hard}/{self.soft}"
                f" = {_percent(self.soft_as_hard, self.soft)}",
                f"unexplained permanent failures classed hard: {self.unexplained_as_hard}/"
                f"{self.unexplained} (soft: SOFT_BOUNCES_BEFORE_SUPPRESS in a row suppress)",
                f"bounces or complaints read as a reply: {len(self.reports_as_reply)}",
                f"abuse reports read as complaints: {self.complaints_read}/{self.complaints}",
                f"ordinary messages read as a bounce or complaint: "
                f"{self.ordinary_as_report}/{self.ordinary}"]


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "n/a"


def _count(table: Table, name: str, expected: dict, reading: Reading) -> None:
    kind = expected["kind"]
    if kind in ("bounce", "complaint") and reading.kind is Kind.REPLY:
        table.reports_as_reply.append(name)
    if kind in ("reply", "auto_reply"):
        table.ordinary += 1
        table.ordinary_as_report += reading.kind in (Kind.BOUNCE, Kind.COMPLAINT)
        return
    found = {r.email.lower(): r for r in reading.recipients}
    wanted = {address.lower(): label for address, label in expected["recipients"].items()}
    if kind == "complaint":
        table.complaints += 1
        table.complaints_read += reading.kind is Kind.COMPLAINT and set(wanted) <= set(found)
        return
    if wanted:
        table.bounces += 1
        ok = reading.kind is Kind.BOUNCE and set(wanted) <= set(found)
        table.recognised += ok
        if not ok:
            table.misses.append(f"{name}: read {reading.kind.value} {sorted(found)}")
    for address, label in wanted.items():
        hard = address in found and found[address].bounce is Bounce.HARD
        if label == "hard":
            table.hard, table.hard_as_hard = table.hard + 1, table.hard_as_hard + hard
        elif label == "soft":
            table.soft, table.soft_as_hard = table.soft + 1, table.soft_as_hard + hard
        else:
            table.unexplained += 1
            table.unexplained_as_hard += hard


def test_the_corpus_is_read_as_expected(capsys: pytest.CaptureFixture[str]) -> None:
    table = Table()
    for name, expected in EXPECTED.items():
        _count(table, name, expected, read_inbound((CORPUS / name).read_bytes()))
    with capsys.disabled():
        print("\n" + "\n".join(["inbound corpus:", *table.lines(), *table.misses]))
    assert table.bounces >= 100 and table.hard >= 50 and table.soft >= 30
    assert table.recognised >= 0.95 * table.bounces
    assert table.hard_as_hard >= 0.90 * table.hard
    assert table.soft_as_hard <= 0.10 * table.soft
    assert table.reports_as_reply == []
    assert table.complaints_read == table.complaints >= 3
    assert table.ordinary_as_report == 0 and table.ordinary >= 6


def test_every_file_in_the_corpus_has_an_expected_reading() -> None:
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*")
             if p.suffix in (".txt", ".eml") and p.parent.name != "sisimai"}  # its own table
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items()
                                        if e["kind"] in ("reply", "auto_reply")))
def test_ordinary_messages_keep_their_kind(name: str) -> None:
    assert read_inbound((CORPUS / name).read_bytes()).kind.value == EXPECTED[name]["kind"]
