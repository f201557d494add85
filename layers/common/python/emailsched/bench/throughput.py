"""Send throughput (and a worker's memory) through the real pipeline: HTTP API, Postgres
ledger, pump, moto's SQS, worker processes, Redis limiter, SMTP sink.

Each run schedules its emails due now, without limits, then starts the workers and the
pump, and counts from the first to the last email accepted at the sink. The ceilings are
measured in the same run, on the same sink and moto server, after the pipeline stopped.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from emailsched.bench.ceilings import smtp_source_ceiling, smtplib_ceiling, sqs_ceiling
from emailsched.bench.client import batch_body, recipients
from emailsched.bench.environment import BenchEnvironment
from emailsched.bench.product import CpuMeter, Product, peak_rss_mb, running_product
from emailsched.bench.report import Section
from emailsched.bench.stats import median, rate
from emailsched.domain.messages import MAX_EMAILS_PER_MESSAGE
from emailsched.local.cluster import LOCAL_DEFAULTS

# Pollers per worker process (`emailsched worker --concurrency`).
WORKER_CONCURRENCY = 2
# As `emailsched dev` runs it: the pump tops the queue up every second (and in between while
# a backlog waits), to Cluster's local PUMP_MAX_IN_FLIGHT, so moto's queue stays shallow.
PUMP_INTERVAL_SECONDS = 1.0
SUBJECT = "Throughput"
TARGET_RATE = 150.0
TARGET_SHARE_OF_SMTPLIB = 0.40
TARGET_PEAK_RSS_MB = 200.0
# Postfix's C client over as many sessions as the 4-worker run has pollers: the send path's
# ceiling (issue 23 item 7).
SMTP_SOURCE_SESSIONS = 8
TARGET_SHARE_OF_SMTP_SOURCE = 0.95


@dataclass
class RunResult:
    workers: int
    emails: int
    per_second: float
    seconds: float
    duplicates: int
    statuses: dict[str, int]
    peak_rss_mb: list[float]
    queue_depths: list[int]
    cpu: list[str] = field(default_factory=list)
    worker_cpu_ms: float = 0.0  # the worker processes' CPU per email sent
    pipeline_cpu_ms: float = 0.0  # every process of the product's, and the sink's


def run_throughput(env: BenchEnvironment, emails: int, worker_counts: list[int],
                   section: Section) -> None:
    results: list[RunResult] = []
    for index, workers in enumerate(worker_counts):
        last = index == len(worker_counts) - 1
        with running_product(env, f"throughput{workers}", MIN_DELAY_BETWEEN_EMAILS_MS=0) as product:
            result = _one_run(product, workers, emails)
            results.append(result)
            if last:
                _ceilings(product, result, results, section)
                _smtp_source(product, result, results, section)
    _memory(results, section)
    for result in results:
        section.details += [f"{result.workers} worker(s): ledger {result.statuses}; queue "
                            f"depth (messages) median {median(result.queue_depths or [0]):.0f}, "
                            f"max {max(result.queue_depths or [0])}", *result.cpu, ""]


def _one_run(product: Product, workers: int, emails: int) -> RunResult:
    product.start_workers(workers, WORKER_CONCURRENCY)
    pump = product.cluster.start_pump(PUMP_INTERVAL_SECONDS)
    product.wait_until_polling()
    labels = {pid: "workers" for pid in product.worker_pids()}
    labels |= {pump.pid: "pump", product.sink.pid: "SMTP sink",
               product.aws.pid: "AWS emulator (SQS)"}
    labels |= {c.pid: "api" for c in product.cluster.children if c.name == "api"}
    depths = QueueDepths(product)
    database = product.database_url.rsplit("/", 1)[-1].split("?")[0]
    api = product.client(f"throughput{workers}@example.com")
    with depths, CpuMeter(labels, database) as meter:
        started = time.monotonic()
        api.schedule(batch_body(recipients(emails), datetime.now(UTC), subject=SUBJECT))
        seen = product.sink.wait_for(emails, timeout=max(120.0, emails / 10))
    api.close()
    seconds = time.monotonic() - started
    rss = [peak_rss_mb(pid) for pid in product.worker_pids()]
    product.cluster.stop_children()
    accepted = [a for a in product.sink.accepted() if not a.message_id.startswith("<ceiling")]
    if seen < emails:
        raise RuntimeError(f"{workers} worker(s): {seen} of {emails} emails arrived in "
                           f"{seconds:.0f} s")
    ids = [a.message_id for a in accepted]
    return RunResult(workers, emails, rate([a.at for a in accepted]), seconds,
                     len(ids) - len(set(ids)), product.statuses(), rss, depths.samples,
                     meter.summary(), meter.used.get("workers", 0.0) * 1000 / emails,
                     sum(meter.used.values()) * 1000 / emails)


def _ceilings(product: Product, ours: RunResult, results: list[RunResult],
              section: Section) -> None:
    connections = ours.workers * WORKER_CONCURRENCY
    body = batch_body([], datetime.now(UTC))["body"]
    single = smtplib_ceiling(product.sink, ours.emails, 1, "bench@example.com", SUBJECT, body)
    many = smtplib_ceiling(product.sink, ours.emails, connections, "bench@example.com",
                           SUBJECT, body)
    depth = round(median(ours.queue_depths or [0]))
    sqs = sqs_ceiling(product.aws.url, product.cluster.env["AWS_REGION"], depth,
                      max(200, ours.emails // 10))
    # All due in the same second: the pump fills every message.
    emails_per_message = MAX_EMAILS_PER_MESSAGE
    for result in results:
        ok_rate = result.per_second >= TARGET_RATE if result.workers == 4 else None
        section.add(f"emails/s, {result.workers} worker(s)", result.per_second, "/s",
                    f">= {TARGET_RATE:.0f}/s with 4 workers" if result.workers == 4 else "",
                    ok_rate)
        share = result.per_second / single.per_second
        section.add("  as share of plain smtplib", share * 100, "%",
                    f">= {TARGET_SHARE_OF_SMTPLIB:.0%}" if result.workers == 4 else "",
                    share >= TARGET_SHARE_OF_SMTPLIB if result.workers == 4 else None)
        section.add(f"  as share of smtplib over {connections} connections",
                    result.per_second / many.per_second * 100, "%")
        section.add("  as share of SQS ceiling",
                    result.per_second / (sqs.per_second * emails_per_message) * 100, "%")
        if result.duplicates:
            section.add(f"  DUPLICATE sends, {result.workers} worker(s)", result.duplicates,
                        "", "0", False)
    section.add("smtplib ceiling, 1 connection", single.per_second, "msg/s")
    section.add(f"smtplib ceiling, {connections} connections", many.per_second, "msg/s")
    section.add(f"SQS ceiling at depth {depth}", sqs.per_second, "msg/s")
    section.notes += [
        f"{ours.emails:,} emails per run, due now, MIN_DELAY_BETWEEN_EMAILS_MS=0, no limit; "
        f"each worker is an `emailsched worker --concurrency {WORKER_CONCURRENCY}` process; "
        f"pump every {PUMP_INTERVAL_SECONDS:g} s, "
        f"PUMP_MAX_IN_FLIGHT={LOCAL_DEFAULTS['PUMP_MAX_IN_FLIGHT']}",
        "rates are taken at the sink, from the first to the last message it accepted",
        f"smtplib ceilings: the same {ours.emails:,} messages, pre-rendered, sendmail() into "
        "the same sink: plain (one connection, a loop) is the target's ceiling; over "
        f"{connections} connections (threads, as many as the 4-worker run had pollers) the "
        "sink is saturated and costs about half as much CPU per message, shown for scale",
        f"SQS ceiling: one boto3 client receive(10)/delete/send on the same emulator at depth "
        f"{depth} (our run's median); one message carries "
        f"{emails_per_message} emails, so it allows "
        f"{sqs.per_second * emails_per_message:,.0f} emails/s",
        "sink: a bare aiosmtpd server in a process of its own, recording arrival time and "
        "Message-ID (emailsched.bench.sink), so client speed, not the sink, sets the ceiling",
    ]


def _smtp_source(product: Product, ours: RunResult, results: list[RunResult],
                 section: Section) -> None:
    """Each run against Postfix's `smtp-source` x8 into the same sink, and its CPU."""
    for result in results:
        section.add(f"worker CPU per email, {result.workers} worker(s)", result.worker_cpu_ms,
                    "ms")
        section.add(f"  all processes' CPU per email, {result.workers} worker(s)",
                    result.pipeline_cpu_ms, "ms")
    for keep in (False, True):
        _against_smtp_source(product, ours, results, section, keep)
    section.notes.append(
        f"smtp-source ceilings: Postfix's C client, the same {ours.emails:,} messages (one "
        f"pre-rendered file), {SMTP_SOURCE_SESSIONS} sessions into the same sink: its default "
        "(a connection per message; the issue 23 target reads this one) and with -d "
        "(connections kept, as ours are; the Python sink is then the limit). CPU per email: "
        "the meter's CPU-seconds over the run, divided by the emails")


def _against_smtp_source(product: Product, ours: RunResult, results: list[RunResult],
                         section: Section, keep_connections: bool) -> None:
    body = batch_body([], datetime.now(UTC))["body"]
    source = smtp_source_ceiling(product.sink, ours.emails, SMTP_SOURCE_SESSIONS,
                                 "bench@example.com", SUBJECT, body, keep_connections)
    name = f"smtp-source x{SMTP_SOURCE_SESSIONS}{' -d' if keep_connections else ''}"
    if source is None:
        section.notes.append(f"{name}: not installed (Debian's postfix package), not measured")
        return
    for result in results:
        share = result.per_second / source.per_second
        targeted = result.workers == 4 and not keep_connections
        section.add(f"{result.workers} worker(s) as share of {name}", share * 100, "%",
                    f">= {TARGET_SHARE_OF_SMTP_SOURCE:.0%}" if targeted else "",
                    share >= TARGET_SHARE_OF_SMTP_SOURCE if targeted else None)
    section.add(f"{name} ceiling", source.per_second, "msg/s")


def _memory(results: list[RunResult], section: Section) -> None:
    for result in results:
        peak = max(result.peak_rss_mb)
        section.add(f"worker peak RSS, {result.workers} worker(s)", peak, "MB",
                    f"< {TARGET_PEAK_RSS_MB:.0f} MB", peak < TARGET_PEAK_RSS_MB)


class QueueDepths:
    """Samples the send queue's depth (visible, in flight and delayed) while the run lasts."""

    def __init__(self, product: Product):
        env = product.cluster.env
        self._client: Any = boto3.client("sqs", region_name=env["AWS_REGION"],
                                         endpoint_url=product.aws.url,
                                         aws_access_key_id="bench",
                                         aws_secret_access_key="bench")
        self._url = self._client.get_queue_url(QueueName=env["SEND_QUEUE_NAME"])["QueueUrl"]
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"depth-{uuid.uuid4().hex[:4]}")

    def __enter__(self) -> QueueDepths:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                 "ApproximateNumberOfMessagesDelayed"]
        while not self._stop.wait(0.5):
            attributes = self._client.get_queue_attributes(
                QueueUrl=self._url, AttributeNames=names)["Attributes"]
            self.samples.append(sum(int(attributes.get(n, 0)) for n in names))
