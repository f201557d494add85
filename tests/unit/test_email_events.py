"""The timeline of an email: stored events and those derived from its row, each once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from emailsched.domain.events import Actor, EmailEvent, EmailFacts, EventType, timeline

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def types(events: list[EmailEvent]) -> list[str]:
    return [event.type.value for event in events]


def test_a_sent_email_is_scheduled_then_sent_with_stored_events_between_in_order():
    stored = [EmailEvent(EventType.PAUSED, at(5), Actor.USER),
              EmailEvent(EventType.RESUMED, at(9), Actor.USER),
              EmailEvent(EventType.RETRY, at(12), Actor.WORKER, {"reason": "421 busy"})]
    facts = EmailFacts("sent", 1, created_at=at(0), updated_at=at(20), sent_at=at(20))
    events = timeline(facts, stored)
    assert types(events) == ["scheduled", "paused", "resumed", "retry", "sent"]
    assert events[0].by is Actor.API and events[-1].by is Actor.WORKER


def test_the_current_queue_state_is_shown_at_its_last_change_and_only_then():
    queued = EmailFacts("queued", 1, created_at=at(0), updated_at=at(3), sent_at=None)
    assert types(timeline(queued, [])) == ["scheduled", "queued"]
    paused = EmailFacts("paused", 1, created_at=at(0), updated_at=at(3), sent_at=None)
    assert types(timeline(paused, [EmailEvent(EventType.PAUSED, at(3), Actor.USER)])) == [
        "scheduled", "paused"]


def test_a_follow_up_is_scheduled_by_the_pump_and_ties_keep_the_ledgers_order():
    stored = [EmailEvent(EventType.HELD, at(1), Actor.WORKER),
              EmailEvent(EventType.RELEASED, at(1), Actor.API)]
    facts = EmailFacts("scheduled", 2, created_at=at(1), updated_at=at(1), sent_at=None)
    events = timeline(facts, stored)
    assert types(events) == ["scheduled", "held", "released"]
    assert events[0].by is Actor.PUMP
