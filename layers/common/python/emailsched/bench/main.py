"""`emailsched bench`: runs the benchmarks and prints their figures (BENCHMARKS.md)."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import psutil

from emailsched.bench.environment import BENCH_DATABASE_PREFIX, BenchEnvironment
from emailsched.bench.product import MachineMeter
from emailsched.bench.report import Section, render_json, render_table


@dataclass(frozen=True)
class Sizes:
    schedule_recipients: tuple[int, ...]
    schedule_repeats: int
    throughput_emails: int
    throughput_workers: tuple[int, ...]
    lateness_emails: int
    limit_emails_per_sender: int
    pump_stored: int
    pump_due: int
    cold_start_runs: int = 7
    api_load_stored: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    api_load_seconds: float = 20.0
    cost_emails: int = 2_000
    import_rows: int = 1_000_000
    tracking_seconds: float = 20.0


FULL = Sizes((10_000, 100_000), 3, 5_000, (1, 2, 4), 300, 1_000, 1_000_000, 1_000)
QUICK = Sizes((1_000, 10_000), 1, 1_000, (4,), 60, 100, 100_000, 1_000,
              cold_start_runs=3, api_load_stored=(10_000, 100_000), api_load_seconds=8.0,
              cost_emails=1_000, import_rows=100_000, tracking_seconds=8.0)

Runner = Callable[[BenchEnvironment, Sizes, Section], None]


def _runners() -> dict[str, tuple[str, Runner]]:
    from emailsched.bench.api_load import run_api_load
    from emailsched.bench.cold_start import run_cold_start
    from emailsched.bench.cost import run_cost
    from emailsched.bench.dns_checks import run_dns_checks
    from emailsched.bench.imports import run_imports
    from emailsched.bench.inbound import run_inbound
    from emailsched.bench.lateness import run_lateness
    from emailsched.bench.limits import run_limits
    from emailsched.bench.mailboxes import run_mailboxes
    from emailsched.bench.pump_cost import run_pump_cost
    from emailsched.bench.rendering import run_rendering
    from emailsched.bench.reply_poll import run_reply_poll
    from emailsched.bench.scheduling import run_scheduling
    from emailsched.bench.throughput import run_throughput
    from emailsched.bench.tracking import run_tracking
    from emailsched.bench.webhooks import run_webhooks

    return {
        "scheduling": ("1. Scheduling: POST /emails/schedule to the 201",
                       lambda env, s, sec: run_scheduling(env, s.schedule_recipients,
                                                          s.schedule_repeats, sec)),
        "throughput": ("2. Send throughput and 6. worker memory",
                       lambda env, s, sec: run_throughput(env, s.throughput_emails,
                                                          list(s.throughput_workers), sec)),
        "lateness": ("3. Lateness of unthrottled emails (sent minus due)",
                     lambda env, s, sec: run_lateness(env, s.lateness_emails, sec)),
        "limits": ("4. Limits under load",
                   lambda env, s, sec: run_limits(env, s.limit_emails_per_sender, sec)),
        "pump": ("5. Pump cost",
                 lambda env, s, sec: run_pump_cost(env, s.pump_stored, s.pump_due, sec)),
        "cold_start": ("7. Cold start: import functions/app.py against import boto3",
                       lambda env, s, sec: run_cold_start(s.cold_start_runs, sec)),
        "api_load": ("8. The API under load: 50 clients on the list and stats routes",
                     lambda env, s, sec: run_api_load(env, s.api_load_stored,
                                                      s.api_load_seconds, sec)),
        "rendering": ("9. Rendering per email: merge fields against one shared body",
                      lambda env, s, sec: run_rendering(s.limit_emails_per_sender * 2, sec)),
        "imports": ("11. Big lists: a CSV through S3 against psql's \\copy",
                    lambda env, s, sec: run_imports(env, s.import_rows, sec)),
        "mailboxes": ("12. Many mailboxes: 2,000 emails from 1, 20 and 200 smtp senders",
                      lambda env, s, sec: run_mailboxes(env, 2_000, sec)),
        "inbound": ("13. Reading inbound mail: the reply poller's cost per message",
                    lambda env, s, sec: run_inbound(5_000, sec)),
        "reply_poll": ("14. The reply poller over a mailbox, database included",
                       lambda env, s, sec: run_reply_poll(env, 2_000, sec)),
        "dns_checks": ("15. Recipient checks: 100,000 recipients over 10,000 domains (DNS)",
                       lambda env, s, sec: run_dns_checks(env, s.schedule_repeats, sec)),
        "webhooks": ("16. Webhooks: 10,000 events from the change to a local receiver",
                     lambda env, s, sec: run_webhooks(env, sec)),
        "tracking": ("17. Tracking hits: 100 clients on the open pixel and click redirects",
                     lambda env, s, sec: run_tracking(env, s.tracking_seconds, sec)),
        "cost": ("10. Dollars per million emails (AWS list prices, bench/prices.py)",
                 lambda env, s, sec: run_cost(env, s.cost_emails, sec)),
    }


ALIASES = {"memory": "throughput"}


def selected(only: str) -> list[str]:
    names = list(_runners())
    if not only.strip():
        return names
    wanted = {ALIASES.get(n.strip(), n.strip()) for n in only.split(",") if n.strip()}
    unknown = wanted - set(names)
    if unknown:
        raise ValueError(f"unknown benchmark(s): {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(names + list(ALIASES))}")
    return [n for n in names if n in wanted]


def _sized(sizes: Sizes, args: argparse.Namespace) -> Sizes:
    """`sizes` with the throughput runs the command line asks for, if it does."""
    emails = getattr(args, "throughput_emails", 0) or sizes.throughput_emails
    workers = getattr(args, "throughput_workers", "")
    counts = tuple(int(n) for n in workers.split(",") if n.strip()) or sizes.throughput_workers
    return replace(sizes, throughput_emails=emails, throughput_workers=counts)


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "started": datetime.now(UTC).isoformat(timespec="seconds")}


def run_bench(args: argparse.Namespace) -> int:
    try:
        names = selected(args.only)
    except ValueError as error:
        print(f"emailsched bench: {error}", file=sys.stderr)
        return 2
    sizes = _sized(QUICK if args.quick else FULL, args)
    runners = _runners()
    about = machine()
    sections: list[Section] = []
    started = time.monotonic()
    with BenchEnvironment(aws=getattr(args, "aws", "moto")) as env:
        for name in names:
            title, runner = runners[name]
            section = Section(name, title)
            began = time.monotonic()
            if not args.json:
                print(f"running {name}...", file=sys.stderr, flush=True)
            meter = MachineMeter(BENCH_DATABASE_PREFIX)
            try:
                with meter:
                    runner(env, sizes, section)
            except Exception as error:  # one failed benchmark must not hide the others
                section.error = f"{type(error).__name__}: {error}"
                section.details.append(traceback.format_exc())
            section.seconds = time.monotonic() - began
            section.notes.append(
                f"machine while it ran: other processes used {meter.others():.0f} CPU-s of "
                f"the {(os.cpu_count() or 1) * meter.wall:.0f} the machine had; this benchmark "
                f"{sum(meter.used.values()):.0f}")
            sections.append(section)
        about["services"] = env.notes
    about["seconds"] = round(time.monotonic() - started, 1)
    about["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(render_json(sections, about))
    else:
        header = [f"emailsched bench{' --quick' if args.quick else ''}: "
                  f"{about['cpus']} cores, {about['memory_gb']} GB, Python {about['python']}, "
                  f"{about['platform']}",
                  f"services: {'; '.join(env.notes)}; load average at start "
                  f"{about['load_average_at_start']}, at end {about['load_average_at_end']}; "
                  f"took {about['seconds']:.0f} s"]
        print(render_table(sections, args.verbose, header))
    failed = any(s.error for s in sections)
    return 1 if failed else 0
