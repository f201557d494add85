"""`emailsched bench` on tiny sizes: every benchmark runs to the end on the real services,
reports the figures it promises, and the limit is never exceeded."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator

import pytest

from emailsched.bench import (
    dns_checks,
    imports,
    limits,
    main,
    pump_cost,
    scheduling,
    throughput,
)
from emailsched.bench.environment import BenchEnvironment
from emailsched.bench.report import Section, render_json, render_table

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env() -> Iterator[BenchEnvironment]:
    with BenchEnvironment() as environment:
        yield environment


def figures(section: Section) -> dict[str, object]:
    assert section.error is None
    return {f.name: f.value for f in section.figures}


def test_scheduling_reports_each_size_against_its_target(env: BenchEnvironment):
    section = Section("scheduling", "Scheduling")
    scheduling.run_scheduling(env, (100, 10_000), 1, section)
    found = figures(section)
    assert {"100 recipients", "10,000 recipients"} <= set(found)  # + issue 15's plan figures
    assert all(isinstance(v, float) and v > 0 for v in found.values())
    ten_thousand = next(f for f in section.figures if f.name == "10,000 recipients")
    assert ten_thousand.ok is not None  # 10,000 has a target


def test_recipient_checks_report_cold_and_warm_against_lookups_off(env: BenchEnvironment):
    from emailsched.local.dnsmasq import dnsmasq_binary

    if dnsmasq_binary() is None:
        pytest.skip("dnsmasq is not installed (apt-get install dnsmasq-base)")
    section = Section("dns_checks", "Recipient checks")
    dns_checks.run_dns_checks(env, 1, section, recipients=300, domains=30)
    found = figures(section)
    assert found["300 recipients, lookups off"] > 0  # type: ignore[operator]
    targets = [f for f in section.figures if f.target]
    assert len(targets) == 2 and all(f.ok is not None for f in targets)
    assert any(f.name.startswith("API CPU per request") for f in section.figures)


def test_a_small_pipeline_run_sends_every_email_once(env: BenchEnvironment):
    section = Section("throughput", "Throughput")
    throughput.run_throughput(env, 200, [1], section)
    found = figures(section)
    assert float(found["emails/s, 1 worker(s)"]) > 0  # type: ignore[arg-type]
    assert not any(name.startswith("  DUPLICATE") for name in found)
    assert 0 < float(found["worker peak RSS, 1 worker(s)"]) < 1000  # type: ignore[arg-type]
    assert any("ledger {'sent': 200}" in line for line in section.details)


def test_limits_are_never_exceeded_and_full_windows_run_at_the_limit(env: BenchEnvironment):
    section = Section("limits", "Limits")
    limits.run_limits(env, 60, section)
    found = figures(section)
    assert found["largest count of one sender in a window"] == limits.LIMIT
    assert found["windows over the limit"] == 0
    assert found["duplicate sends"] == 0 and found["emails failed"] == 0


def test_pump_cost_reports_idle_and_busy_runs_and_plans(env: BenchEnvironment):
    section = Section("pump", "Pump")
    pump_cost.run_pump_cost(env, 2_000, 100, section)
    names = list(figures(section))
    assert names[0].startswith("idle run, 2,000 stored") and section.figures[0].ok is not None
    assert any(name.startswith("run with 100 due") for name in names)
    assert any("Index Scan using ix_emails_status_wake" in line for line in section.details)


def test_the_command_chooses_benchmarks_by_name_and_prints_table_and_json():
    assert main.selected("") == ["scheduling", "throughput", "lateness", "limits", "pump",
                                 "cold_start", "api_load", "rendering", "imports", "mailboxes",
                                 "inbound", "reply_poll", "dns_checks", "webhooks", "tracking",
                                 "cost"]
    assert main.selected("memory, pump") == ["throughput", "pump"]
    with pytest.raises(ValueError, match="unknown benchmark"):
        main.selected("nope")
    assert main.run_bench(argparse.Namespace(quick=True, json=True, verbose=False,
                                             only="nope")) == 2
    section = Section("x", "X")
    section.add("figure", 1.5, "s", "< 2 s", True)
    assert "figure" in render_table([section], verbose=True, header=["h"])
    assert '"figures"' in render_json([section], {"cpus": 2})


def test_cost_prints_dollars_per_million_emails_with_its_breakdown(
        capsys: pytest.CaptureFixture[str]):
    assert main.run_bench(argparse.Namespace(quick=True, json=True, verbose=False,
                                             only="cost")) == 0
    cost = json.loads(capsys.readouterr().out)["cost"]
    assert isinstance(cost["usdPerMillionEmails"], float) and cost["usdPerMillionEmails"] > 0
    assert {"lambdaSenderDuration", "sqs", "apiGateway", "s3Imports", "lambdaImportDuration",
            "sqsImports"} <= set(cost["breakdown"])
    assert cost["perEmail"]["importBilledMsPerRow"] > 0
    assert cost["usdPerMillionEmails"] == pytest.approx(sum(cost["breakdown"].values()),
                                                        abs=1e-3)
    assert cost["perEmail"]["sqsRequestsByAction"]["ReceiveMessage"] > 0
    assert cost["fixedMonthlyUsd"]["rdsDbT4gMicro"] > 0


def test_imports_times_a_list_against_psql_and_the_schema_alone(env: BenchEnvironment):
    section = Section("imports", "Big lists")
    imports.run_imports(env, 2_000, section)
    found = figures(section)
    assert float(found["import 2,000 rows (2 fields), schedule to done"]) > 0  # type: ignore[arg-type]
    assert float(found["psql \\copy of the same file into a bare table (best of 3)"]) > 0  # type: ignore[arg-type]
    assert float(found["  the schema alone: psql COPYs the planned rows into emails"]) > 0  # type: ignore[arg-type]
    ratio = next(f for f in section.figures if f.name == "import / \\copy")
    assert ratio.ok is not None  # the 40x target is judged, whatever this tiny list gives
    assert any("2000 rows = 2000 valid + 0 invalid" in line for line in section.details)
