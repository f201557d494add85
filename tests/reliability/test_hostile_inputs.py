"""Scenario 7, part two: a named table of hostile inputs to POST /emails/schedule. Each gets
a clear 4xx in SPEC.md's error shape and stores nothing; the valid-but-odd ones (IDN and
unicode addresses, a unicode subject, SQL and HTML in subject and body, a lone dot in the
body) are sent, and arrive correctly encoded and exactly as written."""

from __future__ import annotations

import email
import email.policy
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
import requests
import sqlalchemy

from tests.reliability.error_shape import error_shape_problem
from tests.reliability.hostile_inputs import HOSTILE, Hostile, Odd, odd_cases
from tests.reliability.outcomes import email_id
from tests.reliability.stack import Scenario, batch, schedule
from tests.support.smtp_sinks import ReceivedMessage
from tests.support.stack import Api

pytestmark = pytest.mark.reliability

OWNER = "hostile@example.com"
STORED = sqlalchemy.text("""
    SELECT (SELECT count(*) FROM batches b JOIN users u ON u.id = b.user_id
            WHERE u.email = :owner),
           (SELECT count(*) FROM emails e JOIN users u ON u.id = e.user_id
            WHERE u.email = :owner)
""")


def stored(scenario: Scenario) -> tuple[int, int]:
    engine = sqlalchemy.create_engine(scenario.database_url)
    try:
        with engine.connect() as connection:
            batches, emails = connection.execute(STORED, {"owner": OWNER}).one()
    finally:
        engine.dispose()
    return int(batches), int(emails)


def rejection_problems(api: Api, scenario: Scenario, case: Hostile) -> list[str]:
    before = stored(scenario)
    answer = requests.post(f"{api.base_url}/emails/schedule", data=case.body, timeout=120,
                           headers={**api.session.headers, "Content-Type": case.content_type})
    problems = []
    if answer.status_code != case.status:
        problems.append(f"answered {answer.status_code}, not {case.status}: {answer.text[:200]}")
    shape = error_shape_problem(answer.status_code, answer.headers.get("Content-Type", ""),
                                answer.content)
    if shape:
        problems.append(shape)
    elif case.field and case.field not in [d.get("field") for d in
                                           answer.json()["error"]["details"]]:
        problems.append(f"details do not name {case.field}: {answer.text[:300]}")
    if stored(scenario) != before:
        problems.append("something was stored")
    return [f"{case.name}: {problem}" for problem in problems]


def parsed(message: ReceivedMessage) -> EmailMessage:
    """The message as a reader sees it. Headers may be raw UTF-8 (SMTPUTF8, RFC 6532), which
    the bytes parser would keep as surrogates: decode the whole message first."""
    text = message.raw.decode("utf-8")
    return email.message_from_string(text, policy=email.policy.default)  # type: ignore


def same_address(seen: str, expected: str) -> bool:
    """Equal as addresses: the domain may travel as unicode or as IDNA (xn--)."""
    local, _, domain = expected.rpartition("@")
    return seen in (expected, f"{local}@{domain.encode('idna').decode()}")


def arrival_problems(case: Odd, arrivals: list[ReceivedMessage]) -> list[str]:
    if len(arrivals) != 1:
        return [f"{case.name}: arrived {len(arrivals)} times"]
    message, problems = parsed(arrivals[0]), []
    request = case.request
    to = message["To"].addresses[0]
    if not (same_address(arrivals[0].to[0], case.recipient)
            and same_address(f"{to.username}@{to.domain}", case.recipient)):
        problems.append(f"recipient {arrivals[0].to} / To {message['To']!r}")
    if str(message["Subject"]) != request["subject"]:
        problems.append(f"Subject {str(message['Subject'])!r}")
    if message["From"].addresses[0].display_name != request["sender"]["name"]:
        problems.append(f"From {message['From']!r}")
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    if request["body"].replace("\r\n", "\n") not in html.replace("\r\n", "\n"):
        problems.append(f"body {html!r}")
    if "Bcc" in message:
        problems.append("a Bcc header")
    return [f"{case.name}: {problem}" for problem in problems]


@pytest.mark.scenario("7. hostile inputs")
def test_hostile_inputs_get_a_clear_4xx_and_odd_valid_ones_arrive_as_written(figures, steady):
    api = steady.api(OWNER)
    problems = [p for case in HOSTILE for p in rejection_problems(api, steady, case)]
    odd = odd_cases()
    batches = {}
    for case in odd:
        answer = api.post("/emails/schedule", case.request)
        assert answer.status_code == 201, f"{case.name}: {answer.text}"
        batches[uuid.UUID(answer.json()["batchId"])] = case
    outcome = steady.settle(len(odd), timeout=60, users={OWNER})
    for row in steady.ledger():
        if row.batch_id in batches:
            arrivals = [m for m in steady.sink.messages if email_id(m.message_id) == row.id]
            problems += arrival_problems(batches[row.batch_id], arrivals)

    figures.outcome(outcome, cases_tried=len(HOSTILE) + len(odd),
                    hostile=len(HOSTILE), odd_but_valid=len(odd), failures=len(problems))
    assert outcome.is_clean(), outcome.explain()
    assert problems == [], "\n".join(problems)


@pytest.mark.scenario("7. hostile inputs")
def test_each_batch_is_sent_with_the_sender_name_it_was_scheduled_with(steady):
    """Two batches of one sender address under two names: each goes out, and is shown,
    with its own. (Found when the odd cases above shared one sender: every email took the
    name of the latest request.)"""
    api = steady.api("names@example.com")
    start = datetime.now(UTC) + timedelta(seconds=2)
    names = {"First Name": "one@example.net", "Second Name": "two@example.net"}
    batch_ids: dict[str, str] = {}
    for name, to in names.items():
        request = batch([to], start, sender="names@example.com")
        request["sender"]["name"] = name
        batch_ids[name] = schedule(api, request)["batchId"]
    steady.settle(len(names), timeout=30, users={"names@example.com"})

    sent_as = {m.to[0]: parsed(m)["From"].addresses[0].display_name
               for m in steady.sink.messages if m.to[0] in names.values()}
    shown = {name: api.get(f"/batches/{batch_id}").json()["sender"]["name"]
             for name, batch_id in batch_ids.items()}
    assert sent_as == {to: name for name, to in names.items()}
    assert shown == {name: name for name in names}
