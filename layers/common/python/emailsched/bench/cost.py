"""Dollars per million emails, from what a short run of the real pipeline used, at AWS's
list prices (bench/prices.py).

The run: the throughput benchmark's pipeline (HTTP API, Postgres ledger, pump, SQS on the
emulator, one `emailsched worker`, SMTP sink) sends `emails` emails due now, without
limits. What it measures, per email:

- SQS requests, by action, counted by a proxy between the product and the emulator (every
  request of the API, the pump and the worker passes through it). A request is billed per
  started 64 KB of its payload. On AWS the sender function's event source mapping does the
  receives and deletes the worker does here, so the counts carry over; the mapping's idle
  long polls (5 pollers, one 20 s poll each at a time) do not depend on the emails sent and
  are in the fixed monthly part.
- Sender invocations: receives that returned messages (the event source invokes the
  function once per batch of up to 10 messages, as `batch_size=10` in functions/app.py).
- Sender billed duration: a worker poller is busy for the whole run (all emails are due at
  once, the queue never runs dry), so the wall time a concurrent execution spends per email
  is pollers x run wall time / emails, SMTP and database waits included. On Lambda the
  function's CPU is memory / 1,769 MB of a vCPU, so its CPU work (the worker's psutil
  cpu_times per email) runs 1,769 / memory times slower there while its waits do not:
  billed = wall + CPU x (1,769 / memory - 1). This machine's other load makes both figures
  larger, not smaller.
- Pump: its CPU per email, stretched the same way. Its waits on Postgres and SQS are per
  run, not per email; the run itself (once a minute from an EventBridge scheduled rule,
  free) is fixed monthly cost.
- API: the POST /emails/schedule of the batch: one API Gateway request and one API
  function invocation per batch, its wall time plus its CPU stretched, divided by the
  batch's emails.
- Imports: a list of IMPORT_ROWS rows (two fields) is imported through S3 in the same
  product (the `emailsched imports` process, started after the sends), from the schedule
  request to `done`: the import function's billed time per row = (wall + CPU x (1,769 /
  its memory - 1)) / rows at its deployed memory (IMPORTS_MEMORY_MB), with one invocation
  and three SQS requests (send, receive, delete) per list, and one S3 PUT and GET per list
  of the batch's size. Every email is priced as if its list came through an import and
  the batch's JSON request too: an upper bound, a list comes one way or the other.
- SMTP waits: the sink is local and answers at once; a real server's round trips add to
  the sender's billed duration (an execution waits on them), printed as dollars per
  million per 10 ms of wait per email so the figure can be carried to another network.
- Logs: 2 KB per invocation (Lambda's START/END/REPORT lines and one EMF document; the
  sender logs nothing per email at INFO). Secrets Manager and KMS: at most one call each
  per sender invocation (a cold start reads the secret; credentials are decrypted per
  account and cached), an upper bound.

Memory is the deployed size (infra/emailsched_infra/chalice_config.py DEFAULTS["memory_mb"],
read from the file; 512 if it is not there). Lambda's free tier is left out. Postgres and
Redis are priced separately, per month, as db.t4g.micro and cache.t4g.micro.
"""

from __future__ import annotations

import ast
import http.client
import math
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from emailsched.bench import prices
from emailsched.bench.client import batch_body, recipients
from emailsched.bench.environment import BenchEnvironment
from emailsched.bench.imports import import_list, write_csv
from emailsched.bench.product import CpuMeter, running_product
from emailsched.bench.report import Section

TARGET_USD_PER_MILLION = 1.0
WORKER_CONCURRENCY = 2
PUMP_INTERVAL_SECONDS = 1.0
LOG_BYTES_PER_INVOCATION = 2048
DEFAULT_MEMORY_MB = 512
CHALICE_CONFIG = (Path(__file__).resolve().parents[5] / "infra" / "emailsched_infra"
                  / "chalice_config.py")
# The event source mapping's idle polling: 5 pollers x one 20 s long poll at a time.
IDLE_POLLS_PER_MONTH = 5 * 3 * 60 * 24 * 30
PUMP_RUNS_PER_MONTH = 60 * 24 * 30
IDLE_PUMP_RUN_SECONDS = 0.1  # an idle run: a few Postgres round trips from the VPC
IMPORT_ROWS = 50_000


def imports_memory_mb(path: Path = CHALICE_CONFIG) -> int:
    """The import function's memory as the infra deploys it, max(IMPORTS_MEMORY_MB, the
    functions' default), read without importing the configuration."""
    default, tree = deployed_memory_mb(path)[0], _config_tree(path)
    for node in ast.walk(tree) if tree is not None else ():
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, int)
                and any(isinstance(t, ast.Name) and t.id == "IMPORTS_MEMORY_MB"
                        for t in node.targets)):
            return max(node.value.value, default)
    return default


def _config_tree(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text())
    except OSError:
        return None


def deployed_memory_mb(path: Path = CHALICE_CONFIG) -> tuple[int, str]:
    """DEFAULTS["memory_mb"] of the infra's Chalice configuration, read without importing it."""
    tree = _config_tree(path)
    if tree is None:
        return DEFAULT_MEMORY_MB, f"{path} not found: {DEFAULT_MEMORY_MB} MB assumed"
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (isinstance(key, ast.Constant) and key.value == "memory_mb"
                        and isinstance(value, ast.Constant) and isinstance(value.value, int)):
                    return value.value, f"{path.name} DEFAULTS"
    return DEFAULT_MEMORY_MB, f"no memory_mb in {path.name}: {DEFAULT_MEMORY_MB} MB assumed"


class SqsCounter(ThreadingHTTPServer):
    """An HTTP proxy in front of the emulator that counts SQS requests by action, their
    billed 64 KB chunks, and the receives that returned messages."""

    daemon_threads = True

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = urlsplit(upstream)
        self.actions: Counter[str] = Counter()
        self.chunks = 0
        self.full_receives = 0
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True,
                                        name="sqs-counter")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def snapshot(self) -> tuple[Counter[str], int, int]:
        with self.lock:
            return Counter(self.actions), self.chunks, self.full_receives

    def close(self) -> None:
        self.shutdown()
        self.server_close()


_QUERY_ACTION = re.compile(rb"(?:^|&)Action=([A-Za-z]+)")


class _Forward(BaseHTTPRequestHandler):
    server: SqsCounter
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        found = _QUERY_ACTION.search(body)
        action = target.rsplit(".", 1)[-1] if target else (
            found.group(1).decode() if found else "other")
        upstream = self.server.upstream
        connection = http.client.HTTPConnection(upstream.hostname or "127.0.0.1",
                                                upstream.port, timeout=120)
        try:
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "connection")}
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            returned = (b'"Messages"' in data and b'"Messages": []' not in data
                        and b'"Messages":[]' not in data) or b"<Message>" in data
            with self.server.lock:
                self.server.actions[action] += 1
                self.server.chunks += max(1, math.ceil(len(body) / prices.SQS_CHUNK_BYTES))
                if action == "ReceiveMessage" and returned:
                    self.server.full_receives += 1
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            # A HEAD answer has no body: its Content-Length is the object's (S3's size).
            size = answer.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", size or str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            connection.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any


def run_cost(env: BenchEnvironment, emails: int, section: Section) -> None:
    memory_mb, memory_from = deployed_memory_mb()
    counters: list[SqsCounter] = []

    def counted(url: str) -> str:
        counters.append(SqsCounter(url))
        return counters[-1].url

    try:
        with running_product(env, "cost", aws_endpoint=counted,
                             MIN_DELAY_BETWEEN_EMAILS_MS=0) as product:
            product.start_workers(1, WORKER_CONCURRENCY)
            pump = product.cluster.start_pump(PUMP_INTERVAL_SECONDS)
            product.cluster.wait_until_ready()  # "worker: polling", "pump: running"
            labels = {pid: "worker" for pid in product.worker_pids()}
            labels |= {pump.pid: "pump"}
            labels |= {c.pid: "api" for c in product.cluster.children if c.name == "api"}
            database = product.database_url.rsplit("/", 1)[-1].split("?")[0]
            api = product.client("cost@example.com")
            counter = counters[0]
            before, chunks0, full0 = counter.snapshot()
            with CpuMeter(labels, database) as meter:
                started = time.monotonic()
                with CpuMeter(labels, database) as schedule_meter:
                    api.schedule(batch_body(recipients(emails), datetime.now(UTC),
                                            subject="Cost"))
                schedule_seconds = time.monotonic() - started
                seen = product.sink.wait_for(emails, timeout=max(120.0, emails / 10))
                wall = time.monotonic() - started - schedule_seconds
                time.sleep(1.0)  # the last deletes
            api.close()
            if seen < emails:
                raise RuntimeError(f"{seen} of {emails} emails arrived")
            after, chunks1, full1 = counter.snapshot()
            imported = _measure_import(env, product, database)
    finally:
        for c in counters:
            c.close()
    actions = after - before
    measured = Measured(
        emails=emails, memory_mb=memory_mb, pollers=WORKER_CONCURRENCY, wall_seconds=wall,
        worker_cpu_seconds=meter.used.get("worker", 0.0),
        pump_cpu_seconds=meter.used.get("pump", 0.0),
        schedule_seconds=schedule_seconds,
        api_cpu_seconds=schedule_meter.used.get("api", 0.0),
        sqs_actions=dict(actions), sqs_billed_requests=chunks1 - chunks0,
        sender_invocations=full1 - full0, imports_memory_mb=imports_memory_mb(),
        import_rows=IMPORT_ROWS, import_seconds=imported[0], import_cpu_seconds=imported[1])
    report(measured, memory_from, section)


def _measure_import(env: BenchEnvironment, product: Any, database: str) -> tuple[float, float]:
    """(wall seconds, import process CPU seconds) of an IMPORT_ROWS-row list, from the
    schedule request to `done`, in the product the sends were measured in."""
    csv_path = env.scratch("cost-import") / "list.csv"
    write_csv(csv_path, IMPORT_ROWS)
    child = product.cluster.start_imports()
    product.cluster.wait_until_ready()
    api = product.client("cost-import@example.com")
    try:
        with CpuMeter({child.pid: "imports"}, database) as meter:
            seconds, status = import_list(api.session, api.base_url, csv_path,
                                          datetime.now(UTC) + timedelta(days=1))
    finally:
        api.close()
    if status["status"] != "done" or status["valid"] != IMPORT_ROWS:
        raise RuntimeError(f"the import ended {status}")
    return seconds, meter.used.get("imports", 0.0)


class Measured:
    def __init__(self, *, emails: int, memory_mb: int, pollers: int, wall_seconds: float,
                 worker_cpu_seconds: float, pump_cpu_seconds: float, schedule_seconds: float,
                 api_cpu_seconds: float, sqs_actions: dict[str, int], sqs_billed_requests: int,
                 sender_invocations: int, imports_memory_mb: int = DEFAULT_MEMORY_MB,
                 import_rows: int = 0, import_seconds: float = 0.0,
                 import_cpu_seconds: float = 0.0):
        self.emails, self.memory_mb, self.pollers = emails, memory_mb, pollers
        self.wall_seconds, self.worker_cpu_seconds = wall_seconds, worker_cpu_seconds
        self.pump_cpu_seconds, self.schedule_seconds = pump_cpu_seconds, schedule_seconds
        self.api_cpu_seconds, self.sqs_actions = api_cpu_seconds, sqs_actions
        self.sqs_billed_requests, self.sender_invocations = sqs_billed_requests, sender_invocations
        self.imports_memory_mb, self.import_rows = imports_memory_mb, import_rows
        self.import_seconds, self.import_cpu_seconds = import_seconds, import_cpu_seconds


def model(m: Measured) -> dict[str, Any]:
    """USD per million emails, by item, from the measured run."""
    per_million = 1_000_000 / m.emails
    gb = m.memory_mb / 1024
    stretch = prices.LAMBDA_MB_PER_VCPU / m.memory_mb  # CPU time on Lambda per local CPU-s
    sender_seconds = m.pollers * m.wall_seconds + m.worker_cpu_seconds * (stretch - 1)
    pump_seconds = m.pump_cpu_seconds * stretch
    api_seconds = m.schedule_seconds + m.api_cpu_seconds * (stretch - 1)
    invocations = max(1, m.sender_invocations)
    # The import function, per row at its own memory (no import measured: nothing).
    import_gb = m.imports_memory_mb / 1024
    per_row = 1 / m.import_rows if m.import_rows else 0.0
    import_seconds = (m.import_seconds + m.import_cpu_seconds
                      * (prices.LAMBDA_MB_PER_VCPU / m.imports_memory_mb - 1)) * per_row
    usd = {
        "lambdaSenderDuration": sender_seconds * gb * prices.LAMBDA_GB_SECOND * per_million,
        "lambdaSenderRequests": invocations * prices.LAMBDA_REQUEST * per_million,
        "lambdaPumpDuration": pump_seconds * gb * prices.LAMBDA_GB_SECOND * per_million,
        "lambdaApiDuration": api_seconds * gb * prices.LAMBDA_GB_SECOND * per_million,
        "lambdaApiRequests": prices.LAMBDA_REQUEST * per_million,
        "apiGateway": prices.API_GATEWAY_REST_REQUEST * per_million,
        "sqs": m.sqs_billed_requests * prices.SQS_REQUEST * per_million,
        "eventBridge": 0.0,  # the pump's scheduled rule: free; its runs are fixed cost
        "s3Imports": (prices.S3_PUT + prices.S3_GET) * per_million,
        "lambdaImportDuration": import_seconds * import_gb * prices.LAMBDA_GB_SECOND
        * 1_000_000,
        "lambdaImportRequests": prices.LAMBDA_REQUEST * per_row * 1_000_000,
        "sqsImports": 3 * prices.SQS_REQUEST * per_row * 1_000_000,
        "cloudWatchLogs": (invocations + 1) * LOG_BYTES_PER_INVOCATION / 2**30
        * prices.CLOUDWATCH_LOGS_GB * per_million,
        "secretsManagerAndKms": invocations * (prices.SECRETS_MANAGER_CALL + prices.KMS_REQUEST)
        * per_million,
    }
    fixed = {
        "rdsDbT4gMicro": prices.RDS_DB_T4G_MICRO_MONTH,
        "elastiCacheCacheT4gMicro": prices.ELASTICACHE_CACHE_T4G_MICRO_MONTH,
        "pumpScheduledRuns": PUMP_RUNS_PER_MONTH * (
            prices.LAMBDA_REQUEST + IDLE_PUMP_RUN_SECONDS * gb * prices.LAMBDA_GB_SECOND),
        "sqsIdlePolling": IDLE_POLLS_PER_MONTH * prices.SQS_REQUEST,
    }
    per_email = {
        "sqsRequestsByAction": {k: round(v / m.emails, 4) for k, v in
                                sorted(m.sqs_actions.items())},
        "sqsBilledRequests": round(m.sqs_billed_requests / m.emails, 4),
        "senderInvocations": round(invocations / m.emails, 5),
        "senderBilledMs": round(sender_seconds * 1000 / m.emails, 3),
        "senderWallMsPerPoller": round(m.pollers * m.wall_seconds * 1000 / m.emails, 3),
        "senderCpuMs": round(m.worker_cpu_seconds * 1000 / m.emails, 3),
        "pumpCpuMs": round(m.pump_cpu_seconds * 1000 / m.emails, 4),
        "apiBilledMs": round(api_seconds * 1000 / m.emails, 4),
        "importBilledMsPerRow": round(import_seconds * 1000, 4),
    }
    return {"usdPerMillionEmails": round(sum(usd.values()), 4),
            "breakdown": {k: round(v, 5) for k, v in usd.items()},
            "perEmail": per_email,
            "fixedMonthlyUsd": {k: round(v, 2) for k, v in fixed.items()},
            # The sink answers in well under a millisecond; a remote server's round trips
            # are billed sender duration too (one execution waits on them).
            "usdPerMillionPer10MsSmtpWait": round(
                0.010 * gb * prices.LAMBDA_GB_SECOND * 1_000_000, 4),
            "assumptions": {"memoryMb": m.memory_mb, "emailsMeasured": m.emails,
                            "pricesDate": prices.PRICES_DATE,
                            "prices": f"{prices.PRICES_SOURCE}, list prices, no free tier",
                            "batchEmails": m.emails, "importRows": m.import_rows,
                            "importsMemoryMb": m.imports_memory_mb}}


def report(m: Measured, memory_from: str, section: Section) -> None:
    cost = model(m)
    section.summary = cost
    total = cost["usdPerMillionEmails"]
    section.add("USD per million emails", total, "$", f"< ${TARGET_USD_PER_MILLION:g}",
                total < TARGET_USD_PER_MILLION)
    for name, usd in sorted(cost["breakdown"].items(), key=lambda item: -item[1]):
        section.add(f"  {name}", usd, "$")
    each = cost["perEmail"]
    section.add("SQS requests per email (billed)", each["sqsBilledRequests"])
    section.add("sender invocations per email", each["senderInvocations"])
    section.add("sender billed ms per email", each["senderBilledMs"], "ms")
    section.add("import billed ms per row", each["importBilledMsPerRow"], "ms")
    per_wait = cost["usdPerMillionPer10MsSmtpWait"]
    section.add("  + per 10 ms of SMTP wait per email (a remote server)", per_wait, "$",
                f"{(TARGET_USD_PER_MILLION - total) / per_wait * 10:.0f} ms of wait per email "
                "would reach $1" if per_wait > 0 and total < TARGET_USD_PER_MILLION else "")
    section.add("fixed: Postgres + Redis per month",
                cost["fixedMonthlyUsd"]["rdsDbT4gMicro"]
                + cost["fixedMonthlyUsd"]["elastiCacheCacheT4gMicro"], "$")
    section.notes += [
        f"{m.emails:,} emails due now through API, pump, SQS (emulator, behind a counting "
        f"proxy), 1 worker x {m.pollers} pollers, SMTP sink; {m.wall_seconds:.1f} s from "
        f"the 201 to the last email at the sink",
        f"Lambda at {m.memory_mb} MB ({memory_from}); sender billed = pollers x wall / emails "
        f"+ CPU x ({prices.LAMBDA_MB_PER_VCPU}/{m.memory_mb} - 1)",
        f"import: {m.import_rows:,} rows through S3 in {m.import_seconds:.2f} s, "
        f"{m.import_cpu_seconds:.2f} CPU-s; the import function at {m.imports_memory_mb} MB, "
        "each email priced as imported and scheduled by JSON both (an upper bound)",
        f"prices: {prices.PRICES_SOURCE} on {prices.PRICES_DATE}, list prices, no free tier "
        "(bench/prices.py); Postgres and Redis are fixed monthly, not per email",
    ]
    section.details += [f"per email: {cost['perEmail']}",
                        f"fixed monthly USD: {cost['fixedMonthlyUsd']}"]


# --- Tracking hits (issue 27) ---------------------------------------------------------------
def hit_cost(api_cpu_ms: float, store_ms: float,
             memory_mb: int = DEFAULT_MEMORY_MB) -> dict[str, float]:
    """USD per million tracking hits, by item, as built: API Gateway, then the API function,
    which stores the hit (one INSERT, `store_ms` on the wall) before it answers (bootstrap
    `tracking`: no flusher runs in a frozen Lambda container). `api_cpu_ms` is the API's
    CPU per hit measured locally, stretched to Lambda's share of a CPU at `memory_mb`."""
    per_million = 1_000_000
    gb = memory_mb / 1024
    stretch = max(1.0, prices.LAMBDA_MB_PER_VCPU / memory_mb)
    api_seconds = (api_cpu_ms * stretch + store_ms) / 1000
    usd = {
        "apiGatewayRequests": prices.API_GATEWAY_REST_REQUEST * per_million,
        "lambdaApiRequests": prices.LAMBDA_REQUEST * per_million,
        "lambdaApiDuration": api_seconds * gb * prices.LAMBDA_GB_SECOND * per_million,
    }
    usd["total"] = sum(usd.values())
    return usd
