"""Load generation for the API scenario: clients in a thread pool, each signed in as its
own user, looping over a mix of requests until a deadline; latencies per kind of request,
and the API process's memory sampled meanwhile."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psutil
import requests

from tests.reliability.stack import batch
from tests.support.stack import Api

Request = Callable[[Api, int], requests.Response]


def schedule_one(api: Api, n: int) -> requests.Response:
    sender = f"{api.user['email'].split('@')[0]}@sender.example"
    return api.post("/emails/schedule", batch([f"r{n}.{api.user['id'][:8]}@example.net"],
                                              datetime.now(UTC), sender=sender))


def list_sent(api: Api, n: int) -> requests.Response:
    return api.get("/emails/sent", limit=20, page=1 + n % 3)


def list_scheduled(api: Api, n: int) -> requests.Response:
    return api.get("/emails/scheduled", limit=20)


def stats(api: Api, n: int) -> requests.Response:
    return api.get("/emails/stats")


# One in five requests schedules, two in five list, two in five ask for stats.
MIX: list[tuple[str, Request]] = [("schedule", schedule_one), ("list", list_sent),
                                  ("stats", stats), ("list", list_scheduled), ("stats", stats)]


@dataclass
class LoadResult:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    scheduled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, answer: requests.Response | Exception) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            if isinstance(answer, Exception):
                self.errors.append(f"{kind}: {type(answer).__name__}: {answer}")
            elif not answer.ok:
                self.errors.append(f"{kind}: {answer.status_code} {answer.text[:200]}")
            elif kind == "schedule":
                self.scheduled += 1

    @property
    def requests(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    def percentile(self, share: float, kind: str | None = None) -> float:
        values = sorted(v for k, vs in self.latencies.items() if kind in (None, k) for v in vs)
        return values[min(len(values) - 1, int(share * len(values)))] if values else 0.0


def run_client(api: Api, deadline: float, result: LoadResult, offset: int) -> None:
    n = offset
    while time.monotonic() < deadline:
        kind, request = MIX[n % len(MIX)]
        started = time.perf_counter()
        try:
            answer: requests.Response | Exception = request(api, n)
        except requests.RequestException as error:
            answer = error
        result.add(kind, time.perf_counter() - started, answer)
        n += 1


class MemorySampler:
    """The resident memory of a process, every `every` seconds, in a thread."""

    def __init__(self, pid: int, every: float = 0.5):
        self._process = psutil.Process(pid)
        self._every = every
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self._process.memory_info().rss)
            self._stop.wait(self._every)

    def growth(self) -> tuple[float, float]:
        """Median RSS (MB) of the first and last fifth of the run, after its first fifth
        (warm-up: threads and pools fill)."""
        fifth = max(1, len(self.samples) // 5)
        early = statistics.median(self.samples[fifth:2 * fifth])
        late = statistics.median(self.samples[-fifth:])
        return early / 2**20, late / 2**20
