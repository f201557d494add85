"""The webhook dispatcher: delivers the outbox (SPEC.md, "Webhooks").

Each worker thread claims one endpoint with messages due (no other dispatcher can hold it:
FOR UPDATE SKIP LOCKED, held until the batch ends), delivers up to `batch` of them in the
order they happened over one HTTP connection, and records the answers every
`record_seconds` (50 ms). A dispatcher killed mid-batch loses only the records of the
answers since: those attempts are made again (at least once; a duplicate is an answer
never recorded). A failed message waits its retry while later ones of the endpoint go on
("in order as far as retries allow");
a slow or dead endpoint holds one thread, never another endpoint's claim.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from emailsched.domain import webhooks
from emailsched.domain.webhooks import DISABLE_AFTER, Message, Outcome, Result
from emailsched.errors import EmailschedError
from emailsched.ports import Clock, CredentialCipher

log = logging.getLogger("emailsched.webhooks")
SAFETY_SECONDS = 20.0  # an attempt's 15 s timeout, and the commit after it


class Poster(Protocol):
    def post(self, payload: bytes, headers: dict[str, str]) -> Outcome: ...

    def close(self) -> None: ...


class Claimed(Protocol):
    id: Any
    url: str
    secret_enc: str
    failing_since: datetime | None

    def due(self, limit: int) -> list[Message]: ...

    def record(self, results: list[Result]) -> None: ...

    def health(self, delivered: bool, first_failure: datetime | None,
               disable: str | None) -> datetime | None: ...


class Outbox(Protocol):
    def claim(self) -> Any:
        """A context manager yielding a Claimed or None."""


@dataclass(frozen=True)
class DispatchConfig:
    retry_seconds: tuple[int, ...] = webhooks.DEFAULT_RETRY_SECONDS
    threads: int = 4
    batch: int = 100
    batch_seconds: float = 2.0  # a batch stops taking more after this long
    # Answers are recorded together once the oldest unrecorded one is this old (or at the
    # end of a batch, or at a failure): a round trip per attempt would cap an endpoint at
    # a few hundred events a second. A dispatcher killed meanwhile sends these again.
    record_seconds: float = 0.05


@dataclass
class DispatchReport:
    attempts: int = 0
    delivered: int = 0
    failed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, results: list[Result]) -> None:
        with self._lock:
            self.attempts += len(results)
            self.delivered += sum(r.state == "delivered" for r in results)
            self.failed += sum(r.state != "delivered" for r in results)

    def add_report(self, other: DispatchReport) -> None:
        with self._lock:
            self.attempts += other.attempts
            self.delivered += other.delivered
            self.failed += other.failed

    def as_dict(self) -> dict[str, int]:
        return {"attempts": self.attempts, "delivered": self.delivered, "failed": self.failed}


def secret_context(endpoint_id: Any) -> str:
    return f"webhook:{endpoint_id}:secret"


class Dispatcher:
    def __init__(self, outbox: Outbox, open_poster: Callable[[str], Poster],
                 cipher: Callable[[], CredentialCipher], clock: Clock, config: DispatchConfig):
        self._outbox, self._open, self._cipher = outbox, open_poster, cipher
        self._clock, self._config = clock, config

    def run(self, time_budget_seconds: float | None = None,
            stop: threading.Event | None = None) -> DispatchReport:
        """Delivers what is due until nothing is, the budget is spent or `stop` is set."""
        report = DispatchReport()
        deadline = None if time_budget_seconds is None else (
            time.monotonic() + time_budget_seconds)
        stop = stop or threading.Event()
        with ThreadPoolExecutor(self._config.threads, "webhooks") as pool:
            for future in [pool.submit(self._drain, report, deadline, stop)
                           for _ in range(self._config.threads)]:
                future.result()
        return report

    def _drain(self, report: DispatchReport, deadline: float | None,
               stop: threading.Event) -> None:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            if not self.deliver_one_endpoint(report):
                return

    def deliver_one_endpoint(self, report: DispatchReport) -> bool:
        """One claim: False when no endpoint had anything due."""
        with self._outbox.claim() as claimed:
            if claimed is None:
                return False
            results = self._deliver(claimed)
            self._judge(claimed, results)
        report.add(results)
        return True

    def _deliver(self, claimed: Claimed) -> list[Result]:
        secret = self._cipher().decrypt(claimed.secret_enc, secret_context(claimed.id))
        poster = self._open(claimed.url)
        results: list[Result] = []
        started = time.monotonic()
        unrecorded, oldest = 0, started
        try:
            for message in claimed.due(self._config.batch):
                outcome = self._attempt(poster, secret, message)
                results.append(webhooks.result(message, outcome, self._clock.now(),
                                               self._config.retry_seconds))
                unrecorded, oldest = unrecorded + 1, oldest if unrecorded else time.monotonic()
                if not outcome.delivered or (
                        time.monotonic() - started > self._config.batch_seconds):
                    break  # a failing endpoint gets one attempt per claim
                if time.monotonic() - oldest >= self._config.record_seconds:
                    claimed.record(results[-unrecorded:])
                    unrecorded = 0
        finally:
            poster.close()
            if unrecorded:
                claimed.record(results[-unrecorded:])
        return results

    def _attempt(self, poster: Poster, secret: str, message: Message) -> Outcome:
        payload = webhooks.body(message.type, message.occurred_at, message.data)
        stamp = int(self._clock.now().timestamp())
        return poster.post(payload, webhooks.headers(secret, message.event_id, stamp, payload))

    def _judge(self, claimed: Claimed, results: list[Result]) -> None:
        """410 disables at once; so does failing every attempt for DISABLE_AFTER."""
        delivered = any(r.state == "delivered" for r in results)
        first_failure = next((r.at for r in results if r.state != "delivered"), None)
        disable = None
        if any(r.outcome.gone for r in results):
            disable = "the endpoint answered 410 Gone"
        since = claimed.failing_since or first_failure
        if not delivered and since is not None and (
                self._clock.now() - since >= DISABLE_AFTER):
            disable = "every attempt failed for 5 days"
        claimed.health(delivered, None if delivered else first_failure, disable)
        if disable:
            log.warning("webhook endpoint %s disabled: %s", claimed.id, disable)


def run_forever(dispatcher: Dispatcher, interval: float, stop: threading.Event,
                budget_seconds: float | None = None) -> DispatchReport:
    """Deliver, then wait `interval` when nothing was due, until `stop` or the budget
    (`emailsched webhooks`; the scheduled function within its invocation's time)."""
    total = DispatchReport()
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    while not stop.is_set():
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        try:
            report = dispatcher.run(left, stop)
        except EmailschedError as error:
            log.warning("webhook dispatch failed: %s", error.message)
            report = DispatchReport()
        except Exception:  # the loop's boundary: one failed run does not end the process
            log.exception("webhook dispatch failed")
            report = DispatchReport()
        total.add_report(report)
        if report.attempts == 0:
            stop.wait(interval if left is None else min(interval, max(left, 0)))
    return total
