"""The pump: moves due emails from the ledger onto the queue.

Runs every minute on EventBridge (every second or so locally). Each run takes back what
was lost (expired worker leases, messages that never arrived), then enqueues the soonest
emails due within the horizon, in chunks, until the in-flight cap is reached. Right after
scheduling, the API only enqueues (`enqueue_due`): recovery is the scheduled run's work.

It tops up in whole messages, as messages of one to nine emails each cost a receive and a
delete (BENCHMARKS.md, "Design decisions measured").

Given a time budget (every scheduled run has one), a run whose top-up stopped at the cap
tops up again every TOP_UP_PAUSE_SECONDS while the workers keep freeing room, until the
budget is spent, since filling once per run would cap sending at the cap per run.

A chunk's claim commits before its messages are sent: a message sent first could reach a
worker while its email still reads `scheduled`, and the worker would drop it. If sending
fails the chunk is handed back to `scheduled`; if the pump dies in between, the emails are
`queued` with no message, and the lost-message recovery of a later run enqueues them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from emailsched.domain.messages import (
    MAX_EMAILS_PER_MESSAGE,
    DueRef,
    WakeMessage,
    group_into_messages,
)
from emailsched.errors import ServiceUnavailable
from emailsched.ports import Clock, Metrics, OutgoingMessage, PumpLedger, Queue

log = logging.getLogger(__name__)

CLAIM_CHUNK = 500
# Between top-ups of a backlog held back by the in-flight cap: workers free a few messages'
# worth in this time, without the queue running dry in between.
TOP_UP_PAUSE_SECONDS = 0.1
# A run stops topping up once this long has passed without room for a whole message: the
# workers are held back (by limits, or down), and the next run will look again.
TOP_UP_PATIENCE_SECONDS = 1.0
# A scheduled run stops this long before its Lambda would time out.
SAFETY_SECONDS = 10.0


@dataclass(frozen=True)
class PumpConfig:
    horizon: timedelta
    max_in_flight: int
    lost_after: timedelta


@dataclass(frozen=True)
class PumpReport:
    enqueued: int
    messages: int
    taken_back: int
    in_flight: int


@dataclass(frozen=True)
class _TopUp:
    enqueued: int
    messages: int
    in_flight: int
    capped: bool  # the cap, not the emails due, set how many were enqueued


class PumpService:
    def __init__(self, ledger: PumpLedger, queue: Queue, clock: Clock, config: PumpConfig,
                 metrics: Metrics, depths: Mapping[str, Queue] | None = None):
        """`depths`: gauge name -> queue whose depth each scheduled run reports."""
        self._ledger, self._queue, self._clock, self._config = ledger, queue, clock, config
        self._metrics, self._depths = metrics, dict(depths or {})

    def run(self, max_enqueue: int | None = None,
            time_budget_seconds: float | None = None) -> PumpReport:
        """Takes back what was lost, then tops the queue up: once, stopping early at
        `max_enqueue` emails; or, given `time_budget_seconds`, again and again while the
        in-flight cap holds due emails back and the workers free room, until the budget
        is spent."""
        started = self._clock.now()
        self._report_depths()
        taken_back = self._ledger.recover_lost(started, self._config.lost_after)
        top_up = self._top_up(max_enqueue, started, time_budget_seconds)
        enqueued, messages = top_up.enqueued, top_up.messages
        progress = self._clock.now()
        while (time_budget_seconds is not None and top_up.capped
               and self._seconds_since(progress) < TOP_UP_PATIENCE_SECONDS
               and not self._out_of_time(started, time_budget_seconds - TOP_UP_PAUSE_SECONDS)):
            self._clock.sleep(TOP_UP_PAUSE_SECONDS)
            top_up = self._top_up(None, started, time_budget_seconds)
            enqueued, messages = enqueued + top_up.enqueued, messages + top_up.messages
            if top_up.enqueued:
                progress = self._clock.now()
        return PumpReport(enqueued, messages, taken_back, top_up.in_flight)

    def enqueue_due(self, max_emails: int) -> PumpReport:
        """Enqueues up to `max_emails` of the soonest due emails, once, with no recovery
        work: what the API does right after scheduling."""
        top_up = self._top_up(max_emails, self._clock.now(), None)
        return PumpReport(top_up.enqueued, top_up.messages, 0, top_up.in_flight)

    def _top_up(self, max_enqueue: int | None, started: datetime,
                time_budget_seconds: float | None) -> _TopUp:
        """Claims and enqueues due emails, in chunks, up to the in-flight cap."""
        enqueued = messages = in_flight = 0
        capped = False
        budget = max_enqueue if max_enqueue is not None else float("inf")
        while enqueued < budget:
            in_flight = self._ledger.count_in_flight()
            free = _whole_messages(self._config.max_in_flight - in_flight, in_flight)
            room = int(min(free, CLAIM_CHUNK, budget - enqueued))
            capped = room == free
            if room <= 0:
                break
            now = self._clock.now()
            due = self._ledger.claim_due(now + self._config.horizon, room)
            wake = group_into_messages(
                (DueRef(d.id, d.sender_id, d.wake_at, d.seq) for d in due), now)
            self._send(wake, [d.id for d in due])
            self._metrics.count("pump_top_ups")
            self._metrics.count("pump_claimed", len(due))
            enqueued += len(due)
            messages += len(wake)
            in_flight += len(due)
            capped = capped and len(due) == room
            # Only a full chunk leaves room for more now.
            if room < CLAIM_CHUNK or len(due) < room or self._out_of_time(
                    started, time_budget_seconds):
                break
        return _TopUp(enqueued, messages, in_flight, capped)

    def _send(self, wake: list[WakeMessage], ids: list[uuid.UUID]) -> None:
        """Whatever stops the send, the chunk goes back to `scheduled` before it propagates."""
        sent = False
        try:
            self._queue.send([OutgoingMessage(m.body(), m.delay_seconds) for m in wake])
            sent = True
        finally:
            if not sent:
                self._ledger.return_to_pump(ids)

    def _report_depths(self) -> None:
        for name, queue in self._depths.items():
            try:
                self._metrics.gauge(name, queue.depth())
            except ServiceUnavailable as error:  # a metric is not worth a failed run
                log.warning("cannot read %s: %s", name, error.message)

    def _out_of_time(self, started: datetime, budget: float | None) -> bool:
        return budget is not None and self._seconds_since(started) > budget

    def _seconds_since(self, moment: datetime) -> float:
        return (self._clock.now() - moment).total_seconds()


def _whole_messages(free: int, in_flight: int) -> int:
    """`free` rounded down to whole messages, while anything is in flight to wait for."""
    if in_flight == 0 or free < 0:
        return free
    return free - free % MAX_EMAILS_PER_MESSAGE
