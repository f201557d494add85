"""The product running for a benchmark: an AWS emulator (moto or LocalStack), the SMTP
sink, and a Cluster (API, workers, pump) on the run's Postgres and Redis, with what it costs
measured on the side."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy

from emailsched.bench.client import ApiClient
from emailsched.bench.environment import AwsEmulator, BenchEnvironment, free_port
from emailsched.bench.sink import Accepted, SinkProcess
from emailsched.local.cluster import Cluster

SAMPLE_EVERY_SECONDS = 0.5


@dataclass
class Product:
    cluster: Cluster
    sink: SinkProcess
    aws: AwsEmulator
    database_url: str
    folder: Path

    def client(self, user: str) -> ApiClient:
        return ApiClient(self.cluster.api_url, user)

    def start_workers(self, workers: int, concurrency: int) -> None:
        for _ in range(workers):
            self.cluster.start_worker(concurrency)

    def wait_until_polling(self, timeout: float = 60.0) -> None:
        """Wait until every worker process has a connection open to the emulator: it has imported
        everything and its pollers are asking for messages."""
        deadline = time.monotonic() + timeout
        for pid in self.worker_pids():
            while not _connected(pid, self.aws.port):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"worker {pid} did not poll within {timeout:g} s")
                time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        return [child.pid for child in self.cluster.workers()]

    def accepted_of(self, message_ids: set[str]) -> list[Accepted]:
        return [a for a in self.sink.accepted() if a.message_id in message_ids]

    def statuses(self) -> dict[str, int]:
        rows = self._rows("SELECT status, count(*) FROM emails GROUP BY status")
        return {str(status): int(count) for status, count in rows}

    def due_times(self) -> dict[str, float]:
        """Message-ID of every email -> its due time (epoch seconds)."""
        rows = self._rows("SELECT e.id, extract(epoch FROM e.due_at), "
                          "split_part(s.email, '@', 2) FROM emails e "
                          "JOIN senders s ON s.id = e.sender_id")
        # On the sender's domain unless MESSAGE_ID_DOMAIN overrides it (senders are ASCII).
        override = self.cluster.env.get("MESSAGE_ID_DOMAIN")
        return {f"<{email_id}@{override or domain}>": float(due)
                for email_id, due, domain in rows}

    def _rows(self, sql: str) -> list[Any]:
        """The rows of one query, on a connection of its own."""
        engine = sqlalchemy.create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return list(connection.exec_driver_sql(sql).all())
        finally:
            engine.dispose()


@contextmanager
def running_product(env: BenchEnvironment, name: str,
                    aws_endpoint: Callable[[str], str] | None = None,
                    **settings: object) -> Iterator[Product]:
    """The AWS emulator, a sink and a Cluster with its API up; workers and pump are the caller's.
    `aws_endpoint`: given the emulator's URL, the one the product should use instead (a
    proxy that counts requests, bench/cost.py)."""
    folder = env.scratch(name)
    database_url = env.create_database(name)
    aws = env.start_aws(folder)
    sink: SinkProcess | None = None
    cluster: Cluster | None = None
    try:
        sink = SinkProcess(folder / "sink.tsv")
        endpoint = aws_endpoint(aws.url) if aws_endpoint is not None else aws.url
        values = env.settings(database_url, AWS_ENDPOINT_URL=endpoint, SMTP_HOST="127.0.0.1",
                              SMTP_PORT=sink.port, **settings)
        cluster = Cluster(folder, port=free_port(), env=values, quiet=True)
        cluster.start_services()  # starts nothing: every service is configured
        cluster.prepare()
        cluster.start_api()
        cluster.wait_for_api()
        yield Product(cluster, sink, aws, database_url, folder)
    finally:
        if cluster is not None:
            cluster.stop()
        if sink is not None:
            sink.stop()
        aws.stop()
        env.drop_database(database_url)


def _connected(pid: int, port: int) -> bool:
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        raise RuntimeError(f"worker {pid} exited") from None
    return any(c.raddr and c.raddr.port == port for c in connections)


def peak_rss_mb(pid: int) -> float:
    """The most memory the process has had resident (Linux's VmHWM), in MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


@dataclass
class CpuMeter:
    """CPU seconds used while it runs: by each of our processes (grouped by `label`), by
    our database's Postgres backends, and by everything else on the machine."""

    labels: dict[int, str]
    database: str
    used: dict[str, float] = field(default_factory=dict)
    machine: float = 0.0
    wall: float = 0.0
    _seen: dict[int, tuple[str, float, float]] = field(default_factory=dict)
    _labels_seen: dict[int, str] = field(default_factory=dict)
    _unlabelled: set[int] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> CpuMeter:
        self._machine0 = _busy_seconds()
        self._started = time.monotonic()
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True, name="cpu-meter")
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self.machine = _busy_seconds() - self._machine0
        self.wall = time.monotonic() - self._started
        for label, first, last in self._seen.values():
            self.used[label] = self.used.get(label, 0.0) + last - first

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_SECONDS):
            self._sample()

    def _sample(self) -> None:
        # Not psutil.process_iter: its process cache is shared between threads, and two
        # meters sampling at once lost processes from each other's view.
        for pid in psutil.pids():
            if pid in self._unlabelled:
                continue
            label = self._labels_seen.get(pid) or self._label_of(pid)
            if label is None:
                continue
            self._labels_seen[pid] = label
            try:
                times = psutil.Process(pid).cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            used = times.user + times.system
            first = self._seen.get(pid, (label, used, used))[1]
            self._seen[pid] = (label, first, used)

    def _label_of(self, pid: int) -> str | None:
        try:
            process = psutil.Process(pid)
            label = self._label(process)
            # A Postgres backend names its database in its title only once past
            # authentication: ask again at the next sample. Anything else keeps its answer.
            if label is None and not " ".join(process.cmdline()).startswith("postgres"):
                self._unlabelled.add(pid)
            return label
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None

    def _label(self, process: psutil.Process) -> str | None:
        if process.pid in self.labels:
            return self.labels[process.pid]
        command = " ".join(process.cmdline())
        if command.startswith("postgres:") and f" {self.database}" in command:
            return "postgres (our database)"
        return None

    def summary(self) -> list[str]:
        ours = sum(self.used.values())
        cores = os.cpu_count() or 1
        lines = [f"CPU seconds over {self.wall:.1f} s of wall time ({cores} cores = "
                 f"{cores * self.wall:.0f} CPU-s available):"]
        lines += [f"  {label:<24} {seconds:6.1f}" for label, seconds in
                  sorted(self.used.items(), key=lambda item: -item[1])]
        lines.append(f"  {'everything else':<24} {max(0.0, self.machine - ours):6.1f}"
                     "  (other processes on the machine, the kernel)")
        return lines


def _busy_seconds() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


class MachineMeter(CpuMeter):
    """CPU seconds used by this benchmark run (this process, everything it started, the
    Postgres backends of its databases) and by everything else on the machine."""

    def __init__(self, database_prefix: str):
        super().__init__({}, database_prefix)
        self._ours = {os.getpid()}

    def _label(self, process: psutil.Process) -> str | None:
        try:
            if process.pid in self._ours or self._ours.intersection(
                    p.pid for p in process.parents()):
                self._ours.add(process.pid)
                return "this benchmark"
        except psutil.NoSuchProcess:
            return None
        return super()._label(process)

    def others(self) -> float:
        return max(0.0, self.machine - sum(self.used.values()))
