"""Queue messages and batch state transitions."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from emailsched.domain.messages import DueRef, group_into_messages, parse_message
from emailsched.domain.model import (
    BatchAction,
    BatchStatus,
    derived_batch_status,
    next_batch_status,
)
from emailsched.errors import Conflict, PoisonMessage

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def ref(sender: uuid.UUID, seconds: float, seq: int) -> DueRef:
    return DueRef(uuid.uuid4(), sender, NOW + timedelta(seconds=seconds), seq)


def test_emails_due_in_the_same_second_share_a_message_per_sender():
    a, b = uuid.uuid4(), uuid.uuid4()
    refs = [ref(a, 0.1, 0), ref(a, 0.5, 1), ref(b, 0.2, 0), ref(a, 1.2, 2)]
    messages = group_into_messages(refs, NOW)
    assert sorted((len(m.email_ids), m.delay_seconds) for m in messages) == [(1, 0), (1, 1),
                                                                            (2, 0)]


def test_no_message_holds_more_than_fifty_emails_and_order_is_kept():
    sender = uuid.uuid4()
    refs = [ref(sender, 0, i) for i in range(125)]
    messages = group_into_messages(reversed(refs), NOW)
    assert [len(m.email_ids) for m in messages] == [50, 50, 25]
    assert [i for m in messages for i in m.email_ids] == [r.email_id for r in refs]


def test_delay_is_rounded_down_and_capped_at_fifteen_minutes():
    sender = uuid.uuid4()
    far, near = ref(sender, 5000, 0), ref(sender, 9.99, 1)
    delays = sorted(m.delay_seconds for m in group_into_messages([far, near], NOW))
    assert delays == [9, 900]


def test_a_message_round_trips():
    ids = [uuid.uuid4(), uuid.uuid4()]
    body = group_into_messages([DueRef(i, ids[0], NOW, n) for n, i in enumerate(ids)], NOW)[0]
    assert parse_message(body.body()) == ids


@pytest.mark.parametrize("body", [
    "not json", "[]", "{}", '{"emails": []}', '{"emails": ["nope"]}',
    json.dumps({"emails": [str(uuid.uuid4())] * 51})])
def test_poison_messages_are_recognised(body):
    with pytest.raises(PoisonMessage):
        parse_message(body)


@pytest.mark.parametrize("current, action, expected", [
    (BatchStatus.ACTIVE, BatchAction.PAUSE, BatchStatus.PAUSED),
    (BatchStatus.PAUSED, BatchAction.RESUME, BatchStatus.ACTIVE),
    (BatchStatus.ACTIVE, BatchAction.CANCEL, BatchStatus.CANCELLED),
    (BatchStatus.PAUSED, BatchAction.CANCEL, BatchStatus.CANCELLED),
])
def test_allowed_transitions(current, action, expected):
    assert next_batch_status(current, action) == expected


@pytest.mark.parametrize("current, action", [
    (BatchStatus.PAUSED, BatchAction.PAUSE), (BatchStatus.ACTIVE, BatchAction.RESUME),
    (BatchStatus.CANCELLED, BatchAction.RESUME), (BatchStatus.COMPLETED, BatchAction.PAUSE),
    (BatchStatus.COMPLETED, BatchAction.CANCEL), (BatchStatus.CANCELLED, BatchAction.CANCEL),
])
def test_a_change_that_does_not_apply_is_a_conflict(current, action):
    with pytest.raises(Conflict):
        next_batch_status(current, action)


def test_an_active_batch_with_nothing_pending_is_completed():
    assert derived_batch_status(BatchStatus.ACTIVE, 0) == BatchStatus.COMPLETED
    assert derived_batch_status(BatchStatus.ACTIVE, 1) == BatchStatus.ACTIVE
    assert derived_batch_status(BatchStatus.PAUSED, 0) == BatchStatus.PAUSED
