"""The follow-up planner: step k of a sequence for each recipient whose step k-1 was sent.

Run by the pump's scheduled function, just before the pump itself, each run (every minute on
AWS, every second or so locally), rather than as a scheduled function of its own: a
follow-up becomes due `waitSeconds` after its previous step was *sent*, and is planned at
most one pump run after that send, so it is in the ledger well before it is due (waits are
days in practice; tests use seconds) and the same run's pump enqueues it when it is. One
function means no second schedule, IAM role or cold start, and the planner shares the
pump's connection pool; its cost per run is what is to plan (an index range scan of
ix_emails_awaiting_next), nothing when nothing was sent.

Each chunk is one transaction: the sent emails awaiting their next step, locked with SKIP
LOCKED (concurrent pump runs take disjoint sets; the unique (batch, recipient, step)
constraint makes a second insert a no-op in any case), each sender's row locked while its
share is planned (like scheduling: two plans of one sender see each other's sends), due
times from services.sender_plans.plan_share, the function scheduling uses (the batch's and
the sender's hourly limits, the daily cap, the minimum gap; inside the batch's sending
window, each recipient in their own zone where they have one, with the batch's jitter),
each follow-up no earlier than its previous step's sent time plus its wait.

Nothing is planned for a recipient who stopped: one who replied gets the step as
`replied`, one who bounced hard or is on the suppression list as `suppressed` (so the
batch counts them and the dashboard shows the step as stopped), and nothing after it.
A cancelled batch plans nothing more; a paused one waits until resumed.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from emailsched.domain.model import EmailStatus
from emailsched.domain.recipient_zones import recipient_zone
from emailsched.ports import Clock, FollowUpCandidate, FollowUpStore, Metrics, NewStep
from emailsched.services.sender_plans import BatchShape, Pacing, plan_share

log = logging.getLogger(__name__)

CHUNK = 500


@dataclass(frozen=True)
class FollowUpReport:
    planned: int
    stopped: int  # created as replied / suppressed
    ended: int  # pending follow-ups of stopped recipients ended afterwards


class FollowUpPlanner:
    def __init__(self, store: FollowUpStore, clock: Clock, pacing: Pacing,
                 metrics: Metrics, chunk: int = CHUNK):
        self._store, self._clock, self._pacing = store, clock, pacing
        self._metrics, self._chunk = metrics, chunk

    def run(self, time_budget_seconds: float | None = None) -> FollowUpReport:
        started = time.monotonic()
        planned = stopped = 0
        while True:
            chunk_planned, chunk_stopped, taken = self._plan_chunk()
            planned, stopped = planned + chunk_planned, stopped + chunk_stopped
            out_of_time = (time_budget_seconds is not None
                           and time.monotonic() - started > time_budget_seconds)
            if taken < self._chunk or out_of_time:
                break
        with self._store.transaction() as session:
            ended = session.end_stopped()
        if planned or stopped:
            self._metrics.count("followups_planned", planned)
            self._metrics.count("followups_stopped", stopped)
        return FollowUpReport(planned, stopped, ended)

    def _plan_chunk(self) -> tuple[int, int, int]:
        with self._store.transaction() as session:
            candidates = session.awaiting_follow_up(self._chunk)
            if not candidates:
                return 0, 0, 0
            steps: list[NewStep] = []
            to_plan: dict[tuple[object, object], list[FollowUpCandidate]] = defaultdict(list)
            stopped = 0
            for c in candidates:
                if not c.batch_active or c.step >= c.last_step:
                    continue
                earliest = _ms(c) + c.wait_seconds * 1000
                status = _stopped_status(c)
                if status is not None:
                    stopped += 1
                    steps.append(_step(c, earliest, status))
                else:
                    to_plan[(c.sender_id, c.batch_id)].append(c)
            for _key, group in sorted(to_plan.items(), key=lambda kv: str(kv[0])):
                group.sort(key=lambda c: (_ms(c) + c.wait_seconds * 1000, c.seq))
                first = group[0]
                limits = session.sender_limits(first.sender_id)
                not_before = [_ms(c) + c.wait_seconds * 1000 for c in group]
                shape = BatchShape.stored(first.sending_window, first.random_delay_ms,
                                          first.plan_seed)
                zones = [recipient_zone(c.fields if isinstance(c.fields, Mapping) else None)
                         for c in group]
                due = plan_share(session, first.sender_id, limits, not_before, len(group),
                                 first.hourly_limit, first.delay_ms, self._pacing, shape,
                                 zones)
                steps += [_step(c, at, EmailStatus.SCHEDULED.value)
                          for c, at in zip(group, due, strict=True)]
            inserted = session.insert_steps(steps)
            session.mark_planned([c.email_id for c in candidates])
            return inserted - min(stopped, inserted), stopped, len(candidates)


def _stopped_status(c: FollowUpCandidate) -> str | None:
    if c.stop_reason == "replied":
        return EmailStatus.REPLIED.value
    if c.stop_reason is not None or c.suppressed:
        return EmailStatus.SUPPRESSED.value
    return None


def _step(c: FollowUpCandidate, due_ms: int, status: str) -> NewStep:
    step = c.step + 1
    return NewStep(batch_id=c.batch_id, user_id=c.user_id, sender_id=c.sender_id,
                   recipient=c.recipient, step=step, seq=c.seq, due_ms=due_ms, status=status,
                   awaiting_next=status == EmailStatus.SCHEDULED.value and step < c.last_step,
                   fields=c.fields)


def _ms(c: FollowUpCandidate) -> int:
    return int(c.sent_at.timestamp() * 1000)
