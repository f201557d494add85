"""Scheduling a batch: validate the recipients, plan every due time, store it all at once.

A batch goes through one or more of the user's senders (`senderIds`, or the old `sender`
address, a relay sender made on first use where RELAY_SENDER_DOMAINS allows). With several,
recipient i goes to sender i mod n, and each share is planned under its own sender's
limits (services.sender_plans), so the batch ends when its slowest share does.

The whole batch goes into the ledger in one transaction (array-fed multi-row inserts), so
a request either stores every email or none. The sender's row is locked for the length of
the transaction: two batches of one sender are planned one after the other, each seeing
the windows the other already uses.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from emailsched.domain.batch_content import (
    BatchContent,
    prepare_content,
    without_refused,
    without_suppressed,
)
from emailsched.domain.batch_tracking import NO_TRACKING, Tracking, check_tracking
from emailsched.domain.recipient_domains import removed_counts
from emailsched.domain.recipient_zones import check_recipient_zones, recipient_zone
from emailsched.domain.recipients import RecipientList, normalise_address
from emailsched.domain.senders import SenderStatus, relay_allowed
from emailsched.domain.sending_window import SendingWindow
from emailsched.domain.templates import compile_templates
from emailsched.errors import InvalidRequest
from emailsched.ports import (
    Clock,
    Quotas,
    SchedulingSession,
    SchedulingStore,
    SenderAccount,
    SuppressionStore,
)
from emailsched.services.recipient_checks import RecipientChecks
from emailsched.services.sender_plans import BatchShape, Pacing, plan_share

log = logging.getLogger(__name__)

# A start time this far in the past means "now" with a slow clock or network, not 1970.
PAST_TOLERANCE = timedelta(hours=1)
FUTURE_LIMIT = timedelta(days=366)


@dataclass(frozen=True)
class ScheduleRequest:
    subject: str  # templates (SPEC.md "Recipients with fields, templates")
    body: str
    recipients: list[object]  # an address, or {email, fields}
    start_time: datetime
    delay_ms: int
    hourly_limit: int
    sender_email: str = ""  # the old path: the user's sender with this address
    sender_name: str = ""
    sender_ids: tuple[uuid.UUID, ...] = ()  # several: rotation
    # Follow-ups ({subject, body, waitSeconds}), planned per recipient once the previous
    # step was sent (services/followups.py).
    steps: tuple[dict[str, object], ...] = ()
    # Issue 15: plan only inside this window (None: any time), each gap delay_ms plus a
    # random 0..random_delay_ms drawn once from the batch's seed.
    sending_window: SendingWindow | None = None
    random_delay_ms: int = 0
    # Issue 30, imports only: invalid rows are skipped and reported instead of failing it.
    skip_invalid: bool = False
    tracking: Tracking = NO_TRACKING  # issue 27: opens and clicks, both off by default


@dataclass(frozen=True)
class SenderShare:
    id: uuid.UUID
    email: str
    email_count: int
    estimated_end_time: datetime


@dataclass(frozen=True)
class ScheduledBatch:
    batch_id: uuid.UUID
    email_count: int
    duplicates_removed: int
    start_time: datetime
    estimated_end_time: datetime
    senders: tuple[SenderShare, ...] = ()
    suppressed_removed: int = 0  # recipients on the user's suppression list, dropped
    # Recipients refused by the checks, by reason (`invalidRemoved`: no_mx, disposable).
    invalid_removed: Mapping[str, int] | None = None


@dataclass(frozen=True)
class SchedulingRules:
    window_ms: int
    min_gap_ms: int
    day_seconds: int = 86_400  # DAILY_WINDOW_SECONDS
    relay_domains: str = ""  # RELAY_SENDER_DOMAINS

    @property
    def pacing(self) -> Pacing:
        return Pacing(self.window_ms, self.min_gap_ms, self.day_seconds)


class SchedulingService:
    def __init__(self, store: SchedulingStore, clock: Clock, rules: SchedulingRules,
                 quotas: Quotas | None = None, suppressions: SuppressionStore | None = None,
                 checks: RecipientChecks | None = None):
        self._batches, self._clock, self._rules = store, clock, rules
        self._quotas, self._suppressions, self._checks = quotas, suppressions, checks

    def schedule(self, user_id: uuid.UUID, request: ScheduleRequest) -> ScheduledBatch:
        now = self._clock.now().timestamp()
        if self._quotas is not None:
            self._quotas.check_request(user_id, now)
        self._check_start_time(request.start_time)
        _check_tracking(request)
        content = prepare_content(request.subject, request.body, request.recipients, [
            (_text_or_none(step.get("subject")), str(step.get("body", "")))
            for step in request.steps])
        if self._suppressions is not None:  # the send-time check catches later additions
            content = without_suppressed(content, self._suppressions.suppressed_among(
                user_id, content.addresses))
        content, removed = self._checked(content)
        recipients = RecipientList(content.addresses, content.duplicates_removed)
        zones = _zones(request, recipients.addresses)
        if self._quotas is None:
            return replace(self._store(user_id, request, recipients, zones, content),
                           invalid_removed=removed)
        key = self._quotas.reserve_recipients(user_id, len(recipients.addresses), now)
        stored = None
        try:
            stored = self._store(user_id, request, recipients, zones, content)
        finally:
            if stored is None:  # refused or failed: the reservation is given back
                self._quotas.release(key, len(recipients.addresses))
        return replace(stored, invalid_removed=removed)

    def _checked(self, content: BatchContent) -> tuple[BatchContent, dict[str, int]]:
        """`content` less the recipients the checks refuse, and their counts by reason."""
        if self._checks is None:
            return content, removed_counts(())
        checked = self._checks.check(content.addresses)
        if checked.unknown_domains:  # one warning for the list, not one per recipient
            log.warning("recipient check: DNS did not answer for %d domain(s); their "
                        "recipients are kept", checked.unknown_domains)
        return (without_refused(content, checked.refused.keys()),
                removed_counts(checked.refused.values()))

    def check_without_recipients(self, user_id: uuid.UUID,
                                 request: ScheduleRequest) -> list[SenderAccount]:
        """Everything but the recipients checked as `schedule` checks it (a list imported
        from S3 comes later, services/import_job.py): the request quota, the start time,
        the templates and the senders, made where the old path makes a relay sender."""
        if self._quotas is not None:
            self._quotas.check_request(user_id, self._clock.now().timestamp())
        self._check_start_time(request.start_time)
        _check_tracking(request)
        compile_templates(request.subject, request.body, [
            (_text_or_none(step.get("subject")), str(step.get("body", "")))
            for step in request.steps])
        with self._batches.transaction() as store:
            return self._senders(store, user_id, request)

    def _senders(self, store: SchedulingSession, user_id: uuid.UUID,
                 request: ScheduleRequest) -> list[SenderAccount]:
        """The batch's senders in rotation order, locked for the transaction: two batches
        of one sender are planned one after the other, each seeing the other's windows."""
        if request.sender_ids:
            return store.lock_senders(user_id, list(request.sender_ids))
        found = store.sender_by_email(user_id, request.sender_email)
        if found is not None:
            return [found]
        if not relay_allowed(request.sender_email, self._rules.relay_domains):
            raise InvalidRequest("sender.email is not one of your senders", details=[{
                "field": "sender.email",
                "message": "add it as a sender (POST /senders) first: this deployment's "
                           "relay does not send for that domain"}])
        return [store.create_relay_sender(user_id, request.sender_email, request.sender_name)]

    def _store(self, user_id: uuid.UUID, request: ScheduleRequest,
               recipients: RecipientList, zones: list[str | None] | None,
               content: BatchContent) -> ScheduledBatch:
        start_ms = int(request.start_time.timestamp() * 1000)
        addresses = recipients.addresses
        shape = BatchShape(request.sending_window, request.random_delay_ms,
                           secrets.randbits(62))
        with self._batches.transaction() as store:
            senders = self._senders(store, user_id, request)
            n = len(senders)
            plans = [plan_share(store, sender.id, sender.limits, start_ms,
                                len(addresses[k::n]), request.hourly_limit, request.delay_ms,
                                self._rules.pacing, shape,
                                None if zones is None else zones[k::n])
                     for k, sender in enumerate(senders)]
            ends = [max(due) if due else start_ms for due in plans]  # zones: not in order
            end = _moment(max(ends))
            batch_id = store.insert_batch(
                user_id=user_id, sender_id=senders[0].id,
                sender_name="" if request.sender_ids else request.sender_name,
                subject=request.subject, body=request.body, start_time=request.start_time,
                delay_ms=request.delay_ms, hourly_limit=request.hourly_limit,
                email_count=len(addresses), duplicates_removed=recipients.duplicates_removed,
                estimated_end_time=end, sending_window=shape.window_json(),
                random_delay_ms=shape.random_delay_ms, plan_seed=shape.seed, templated=True,
                suppressed_removed=content.suppressed_removed,
                tracking=request.tracking.to_json())
            for k, (sender, due) in enumerate(zip(senders, plans, strict=True)):
                if not due:
                    continue
                store.insert_emails(batch_id=batch_id, user_id=user_id, sender_id=sender.id,
                                    recipients=addresses[k::n], due_ms=due, first_seq=k,
                                    seq_step=n, fields=None if content.fields is None
                                    else content.fields[k::n])
                if sender.status == SenderStatus.FAILING:
                    store.hold_new_emails(batch_id, sender.id)
            if request.steps:
                store.store_steps(batch_id, list(request.steps))
            store.insert_batch_senders(batch_id, [
                (sender.id, len(due), end_ms)
                for sender, due, end_ms in zip(senders, plans, ends, strict=True)])
        shares = tuple(SenderShare(sender.id, sender.email, len(due), _moment(end_ms))
                       for sender, due, end_ms in zip(senders, plans, ends, strict=True))
        return ScheduledBatch(batch_id, len(addresses), recipients.duplicates_removed,
                              request.start_time.astimezone(UTC), end, shares,
                              content.suppressed_removed)

    def _check_start_time(self, start: datetime) -> None:
        now = self._clock.now()
        if start < now - PAST_TOLERANCE:
            raise InvalidRequest("startTime is in the past", details=[
                {"field": "startTime", "message": "must not be more than an hour ago"}])
        if start > now + FUTURE_LIMIT:
            raise InvalidRequest("startTime is too far ahead", details=[
                {"field": "startTime", "message": "must be within a year from now"}])


def _check_tracking(request: ScheduleRequest) -> None:
    check_tracking(request.tracking, [request.body, *(str(step.get("body", ""))
                                                      for step in request.steps)])


def _entry_fields(entry: object) -> Mapping[str, str] | None:
    """The fields of a recipient entry: `{email, fields}` (or a parsed recipient)."""
    fields = entry.get("fields") if isinstance(entry, Mapping) else getattr(entry, "fields", None)
    return fields if isinstance(fields, Mapping) else None


def _entry_address(entry: object) -> str:
    email = entry.get("email") if isinstance(entry, Mapping) else getattr(entry, "email", entry)
    return email if isinstance(email, str) else ""


def _zones(request: ScheduleRequest, addresses: list[str]) -> list[str | None] | None:
    """Each kept recipient's own zone for the window (issue 15), None when none has one.

    Checked over the request as sent, so an unknown zone is named `recipients[i].timezone`
    with i the entry's position there; a duplicate keeps its first entry's zone.
    """
    window = request.sending_window
    if window is None:
        return None
    fields = [_entry_fields(entry) for entry in request.recipients]
    if not any(recipient_zone(f) is not None for f in fields):
        return None
    check_recipient_zones(fields, window)
    by_address: dict[str, str | None] = {}
    for entry, entry_fields in zip(request.recipients, fields, strict=True):
        try:
            key = normalise_address(_entry_address(entry)).casefold()
        except ValueError:
            continue  # refused already
        by_address.setdefault(key, recipient_zone(entry_fields))
    return [by_address.get(address.casefold()) for address in addresses]


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
