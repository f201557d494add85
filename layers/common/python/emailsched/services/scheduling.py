"""Scheduling a batch: validate the recipients, plan every due time, store it all at once.

The whole batch goes into the ledger in one transaction (array-fed multi-row inserts), so
a request either stores every email or none. The sender's row is locked for the length of
the transaction: two batches of one sender are planned one after the other, each seeing
the windows the other already uses.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from emailsched.domain.plan import PlanRules, plan_due_times
from emailsched.domain.recipients import RecipientList, clean_recipients
from emailsched.domain.windows import window_start_ms
from emailsched.errors import InvalidRequest
from emailsched.ports import Clock, Quotas, SchedulingStore

# A start time this far in the past means "now" with a slow clock or network, not 1970.
PAST_TOLERANCE = timedelta(hours=1)
FUTURE_LIMIT = timedelta(days=366)


@dataclass(frozen=True)
class ScheduleRequest:
    subject: str
    body: str
    recipients: list[str]
    start_time: datetime
    delay_ms: int
    hourly_limit: int
    sender_email: str
    sender_name: str


@dataclass(frozen=True)
class ScheduledBatch:
    batch_id: uuid.UUID
    email_count: int
    duplicates_removed: int
    start_time: datetime
    estimated_end_time: datetime


@dataclass(frozen=True)
class SchedulingRules:
    window_ms: int
    min_gap_ms: int


class SchedulingService:
    def __init__(self, store: SchedulingStore, clock: Clock, rules: SchedulingRules,
                 quotas: Quotas | None = None):
        self._batches, self._clock, self._rules = store, clock, rules
        self._quotas = quotas

    def schedule(self, user_id: uuid.UUID, request: ScheduleRequest) -> ScheduledBatch:
        now = self._clock.now().timestamp()
        if self._quotas is not None:
            self._quotas.check_request(user_id, now)
        self._check_start_time(request.start_time)
        recipients = clean_recipients(request.recipients)
        if recipients.invalid:
            raise InvalidRequest(f"{len(recipients.invalid)} recipient(s) are not valid "
                                 "email addresses", details=recipients.invalid[:100])
        if not recipients.addresses:
            raise InvalidRequest("recipients must name at least one address",
                                 details=[{"field": "recipients", "message": "is empty"}])
        if self._quotas is None:
            return self._store(user_id, request, recipients)
        key = self._quotas.reserve_recipients(user_id, len(recipients.addresses), now)
        stored = None
        try:
            stored = self._store(user_id, request, recipients)
        finally:
            if stored is None:  # refused or failed: the reservation is given back
                self._quotas.release(key, len(recipients.addresses))
        return stored

    def _store(self, user_id: uuid.UUID, request: ScheduleRequest,
               recipients: RecipientList) -> ScheduledBatch:
        rules = PlanRules(request.hourly_limit, self._rules.window_ms, request.delay_ms,
                          self._rules.min_gap_ms)
        start_ms = int(request.start_time.timestamp() * 1000)
        with self._batches.transaction() as store:
            sender_id = store.upsert_sender(user_id, request.sender_email, request.sender_name)
            since = datetime.fromtimestamp(window_start_ms(start_ms, rules.window_ms) / 1000,
                                           UTC)
            used = store.sender_usage(sender_id, since, rules.window_ms)
            due_ms = plan_due_times(start_ms, len(recipients.addresses), rules, used)
            end = datetime.fromtimestamp(due_ms[-1] / 1000, UTC)
            batch_id = store.insert_batch(
                user_id=user_id, sender_id=sender_id,
                sender_name=request.sender_name, subject=request.subject,
                body=request.body, start_time=request.start_time, delay_ms=request.delay_ms,
                hourly_limit=request.hourly_limit, email_count=len(recipients.addresses),
                duplicates_removed=recipients.duplicates_removed, estimated_end_time=end)
            store.insert_emails(batch_id=batch_id, user_id=user_id, sender_id=sender_id,
                                recipients=recipients.addresses, due_ms=due_ms)
        return ScheduledBatch(batch_id, len(recipients.addresses), recipients.duplicates_removed,
                              request.start_time.astimezone(UTC), end)

    def _check_start_time(self, start: datetime) -> None:
        now = self._clock.now()
        if start < now - PAST_TOLERANCE:
            raise InvalidRequest("startTime is in the past", details=[
                {"field": "startTime", "message": "must not be more than an hour ago"}])
        if start > now + FUTURE_LIMIT:
            raise InvalidRequest("startTime is too far ahead", details=[
                {"field": "startTime", "message": "must be within a year from now"}])
