"""The webhook dispatcher with fakes (issue 28): what it sends, records and decides about an
endpoint: in order, a failure ends the claim's batch, 410 disables at once, five days of
failures disable, a delivery clears the failing streak."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from emailsched.domain import webhooks
from emailsched.domain.webhooks import Message, Outcome, Result
from emailsched.services.webhook_dispatch import DispatchConfig, Dispatcher, DispatchReport

pytestmark = pytest.mark.unit
NOW = datetime.now(UTC)
SECRET = webhooks.secret_from(b"k" * 32)


@pytest.fixture(autouse=True)
def _now_is_when_the_test_runs() -> None:
    """standardwebhooks checks a signature's timestamp against the real time (five minutes'
    tolerance): a NOW taken when the module was collected, long before its test ran in a
    busy parallel run, was too old."""
    global NOW
    NOW = datetime.now(UTC)


class Clock:
    def now(self) -> datetime:
        return NOW


class Cipher:
    def decrypt(self, token: str, context: str) -> str:
        assert context.startswith("webhook:")
        return token

    def encrypt(self, plaintext: str, context: str) -> str:
        return plaintext

    def check(self) -> None:
        pass


class Claimed:
    def __init__(self, messages: list[Message], failing_since: datetime | None = None):
        self.id, self.url, self.secret_enc = uuid.uuid4(), "https://hooks.example/", SECRET
        self.failing_since = failing_since
        self.messages, self.recorded = messages, []  # type: list[Result]
        self.health_calls: list[tuple[bool, datetime | None, str | None]] = []

    def due(self, limit: int) -> list[Message]:
        return self.messages[:limit]

    def record(self, results: list[Result]) -> None:
        self.recorded += results

    def health(self, delivered: bool, first_failure: datetime | None,
               disable: str | None) -> datetime | None:
        self.health_calls.append((delivered, first_failure, disable))
        return None


class Outbox:
    def __init__(self, claimed: Claimed):
        self.claimed: Claimed | None = claimed

    @contextlib.contextmanager
    def claim(self) -> Iterator[Claimed | None]:
        claimed, self.claimed = self.claimed, None
        yield claimed


class Poster:
    def __init__(self, answers: list[int]):
        self.answers, self.sent = answers, []  # type: list[tuple[bytes, dict[str, str]]]

    def post(self, payload: bytes, headers: dict[str, str]) -> Outcome:
        self.sent.append((payload, headers))
        return Outcome(self.answers[len(self.sent) - 1])

    def close(self) -> None:
        pass


def _messages(n: int) -> list[Message]:
    return [Message(i, f"msg_{i}", "email.sent", {"n": i}, NOW, 0, 0) for i in range(n)]


def _dispatch(claimed: Claimed, answers: list[int]) -> tuple[Poster, DispatchReport]:
    poster = Poster(answers)
    dispatcher = Dispatcher(Outbox(claimed), lambda url: poster, lambda: Cipher(), Clock(),
                            DispatchConfig(retry_seconds=(5, 300)))
    report = DispatchReport()
    assert dispatcher.deliver_one_endpoint(report)
    return poster, report


def test_events_go_in_order_signed_and_all_are_recorded():
    claimed = Claimed(_messages(3))
    poster, report = _dispatch(claimed, [200, 204, 202])
    ids = [headers["webhook-id"] for _, headers in poster.sent]
    assert ids == ["msg_0", "msg_1", "msg_2"]
    for payload, headers in poster.sent:
        assert Webhook(SECRET).verify(payload, headers)["type"] == "email.sent"
    assert [r.state for r in claimed.recorded] == ["delivered"] * 3
    assert report.delivered == 3 and claimed.health_calls == [(True, None, None)]


def test_a_failure_ends_the_batch_and_is_retried_later():
    claimed = Claimed(_messages(3))
    poster, report = _dispatch(claimed, [200, 500, 200])
    assert len(poster.sent) == 2 and (report.delivered, report.failed) == (1, 1)
    assert [r.state for r in claimed.recorded] == ["delivered", "pending"]
    assert claimed.recorded[1].next_attempt_at == NOW + timedelta(seconds=5)
    assert claimed.health_calls == [(True, None, None)]  # one delivered: not failing


def test_410_disables_at_once():
    claimed = Claimed(_messages(2))
    _dispatch(claimed, [410])
    assert claimed.recorded[0].state == "failed"
    (delivered, first_failure, disable), = claimed.health_calls
    assert not delivered and first_failure == NOW and "410" in (disable or "")


@pytest.mark.parametrize(("days", "disabled"), [(4.9, False), (5, True)])
def test_five_days_of_failures_disable(days: float, disabled: bool):
    claimed = Claimed(_messages(1), failing_since=NOW - timedelta(days=days))
    _dispatch(claimed, [503])
    (_, _, disable), = claimed.health_calls
    assert (disable is not None) is disabled
    if disabled:
        assert "5 days" in (disable or "")


def test_nothing_due_claims_nothing():
    dispatcher = Dispatcher(Outbox(None), lambda url: Poster([]),  # type: ignore[arg-type]
                            lambda: Cipher(), Clock(), DispatchConfig())
    assert not dispatcher.deliver_one_endpoint(DispatchReport())


