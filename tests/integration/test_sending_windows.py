"""Sending windows and jitter through HTTP (issue 15): every planned time inside the window,
the estimate equal to the last planned time, bad windows refused with nothing stored, and
end to end a one-minute window that nothing is sent outside of, with the limits kept."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy

from tests.support.stack import Api, Pipeline, Services, prepare, serving_api

pytestmark = pytest.mark.integration
WORKDAYS = ["mon", "tue", "wed", "thu", "fri"]


@pytest.fixture
def api_url(services: Services) -> Iterator[str]:
    prepare(services.settings())
    with serving_api() as url:
        yield url


def body(recipients: list[Any] | None = None, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "subject": "Hello", "body": "<p>Hi there</p>",
        "recipients": recipients or [f"r{i:03d}@example.com" for i in range(3)],
        "startTime": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        "delayMs": 1000, "hourlyLimit": 100,
        "sender": {"email": "sales@example.com", "name": "Sales"}}
    payload.update(overrides)
    return payload


def window(**overrides: Any) -> dict[str, Any]:
    found = {"timezone": "Asia/Kolkata", "days": WORKDAYS, "start": "09:00", "end": "10:00"}
    found.update(overrides)
    return found


def scheduled(api: Api, batch_id: str) -> list[dict[str, Any]]:
    """Every pending email of the batch, in planned order."""
    emails: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = api.get("/emails/scheduled", batchId=batch_id, limit=100, page=page).json()
        emails += answer["emails"]
        if page >= answer["pagination"]["pages"]:
            return emails
        page += 1


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def inside(moment: datetime, zone: str, days: list[str], start: str, end: str) -> bool:
    local = moment.astimezone(ZoneInfo(zone))
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return (names[local.weekday()] in days
            and start <= local.strftime("%H:%M:%S.%f") < end)


def stored(services: Services) -> tuple[int, int]:
    engine = sqlalchemy.create_engine(services.database_url)
    with engine.connect() as connection:
        emails = connection.exec_driver_sql("SELECT count(*) FROM emails").scalar_one()
        batches = connection.exec_driver_sql("SELECT count(*) FROM batches").scalar_one()
    engine.dispose()
    return int(emails), int(batches)


def test_every_email_is_planned_inside_the_window_and_the_estimate_is_the_last(api_url):
    api = Api(api_url)
    # 150 emails, 60-90 s apart, into a one-hour window on Kolkata workdays: three openings.
    recipients = [f"p{i:03d}@example.com" for i in range(150)]
    answer = api.post("/emails/schedule", body(
        recipients, delayMs=60_000, randomDelayMs=30_000, hourlyLimit=1000,
        sendingWindow=window()))
    assert answer.status_code == 201, answer.text
    batch_id = answer.json()["batchId"]
    emails = scheduled(api, batch_id)
    assert [e["recipientEmail"] for e in emails] == recipients
    times = [at(e["scheduledTime"]) for e in emails]
    assert all(inside(t, "Asia/Kolkata", WORKDAYS, "09:00", "10:00") for t in times), times
    assert len({t.astimezone(ZoneInfo("Asia/Kolkata")).date() for t in times}) >= 3
    gaps = [(b - a).total_seconds() for a, b in pairwise(times)
            if b - a < timedelta(minutes=30)]  # within one opening
    assert all(60 <= g <= 90 for g in gaps) and len(set(gaps)) > 1, gaps
    assert at(answer.json()["estimatedEndTime"]) == max(times)
    shown = api.get(f"/batches/{batch_id}").json()
    assert shown["sendingWindow"] == window()
    assert shown["randomDelayMs"] == 30_000
    assert at(shown["estimatedEndTime"]) == max(times)


def test_a_batch_without_a_window_shows_none(api_url):
    api = Api(api_url)
    batch_id = api.post("/emails/schedule", body()).json()["batchId"]
    shown = api.get(f"/batches/{batch_id}").json()
    assert shown["sendingWindow"] is None and shown["randomDelayMs"] == 0


def test_each_recipient_is_planned_in_the_window_of_their_own_zone(api_url):
    api = Api(api_url)
    zones = ["America/New_York", "Asia/Tokyo", None, "Europe/Berlin", "Asia/Tokyo"]
    recipients: list[Any] = []
    for i in range(40):
        zone = zones[i % len(zones)]
        address = f"z{i:02d}@example.com"
        recipients.append(address if zone is None else {
            "email": address, "fields": {"timezone": zone, "first_name": f"N{i}"}})
    answer = api.post("/emails/schedule", body(
        recipients, delayMs=120_000, randomDelayMs=60_000, hourlyLimit=1000,
        sendingWindow=window(timezone="Europe/Berlin")))
    assert answer.status_code == 201, answer.text
    emails = scheduled(api, answer.json()["batchId"])
    assert len(emails) == 40
    zone_of = {f"z{i:02d}@example.com": zones[i % len(zones)] or "Europe/Berlin"
               for i in range(40)}
    for email in emails:
        moment = at(email["scheduledTime"])
        assert inside(moment, zone_of[email["recipientEmail"]], WORKDAYS, "09:00", "10:00"), (
            email, moment.astimezone(ZoneInfo(zone_of[email["recipientEmail"]])))
    for zone in set(zone_of.values()):  # each zone keeps the recipients' order
        mine = [e for e in emails if zone_of[e["recipientEmail"]] == zone]
        assert sorted(mine, key=lambda e: e["recipientEmail"]) == sorted(
            mine, key=lambda e: at(e["scheduledTime"]))
    assert at(answer.json()["estimatedEndTime"]) == max(at(e["scheduledTime"]) for e in emails)


def test_an_unknown_recipient_zone_is_a_400_naming_the_entry(api_url, services):
    recipients = ["a@example.com", {"email": "b@example.com", "fields": {"timezone": "UTC"}},
                  "a@example.com", {"email": "c@example.com", "fields": {"timezone": "Moon/Base"}}]
    answer = Api(api_url).post("/emails/schedule", body(recipients, sendingWindow=window()))
    assert answer.status_code == 400, answer.text
    assert [d["field"] for d in answer.json()["error"]["details"]] == ["recipients[3].timezone"]
    assert stored(services) == (0, 0)


def _as_if_due_long_ago(services: Services, batch_id: str, status: str) -> None:
    """Time passing while the emails waited: each one's due time two days back (in order)."""
    engine = sqlalchemy.create_engine(services.database_url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(
            "UPDATE emails SET status = :status, due_at = now() - interval '2 days' "
            "+ seq * interval '1 second' WHERE batch_id = :batch_id"),
            {"status": status, "batch_id": batch_id})
    engine.dispose()


def _check_replanned(api: Api, batch_id: str, recipients: list[str], since: datetime) -> None:
    emails = scheduled(api, batch_id)
    assert [e["recipientEmail"] for e in emails] == recipients
    times = [at(e["scheduledTime"]) for e in emails]
    assert all(t >= since - timedelta(seconds=1) for t in times)
    assert all(inside(t, "Asia/Kolkata", WORKDAYS, "09:00", "10:00") for t in times), times
    gaps = [(b - a).total_seconds() for a, b in pairwise(times) if b - a < timedelta(minutes=30)]
    assert gaps and all(60 <= g <= 90 for g in gaps), gaps
    shown = api.get(f"/batches/{batch_id}").json()
    assert at(shown["estimatedEndTime"]) == max(times)


def test_resuming_re_plans_inside_the_window_from_then_on(api_url, services):
    api = Api(api_url)
    recipients = [f"q{i:03d}@example.com" for i in range(80)]
    batch_id = api.post("/emails/schedule", body(
        recipients, delayMs=60_000, randomDelayMs=30_000, hourlyLimit=1000,
        sendingWindow=window())).json()["batchId"]
    assert api.post(f"/batches/{batch_id}/pause").json()["status"] == "paused"
    _as_if_due_long_ago(services, batch_id, "paused")
    now = datetime.now(UTC)
    assert api.post(f"/batches/{batch_id}/resume").json()["status"] == "active"
    _check_replanned(api, batch_id, recipients, now)


def test_released_held_emails_are_re_planned_inside_the_window(api_url, services):
    api = Api(api_url)
    recipients = [f"h{i:03d}@example.com" for i in range(80)]
    # Planned from a week ahead, held, then released now: the plan moves earlier, into the
    # next opening from now, and the estimate follows it.
    batch_id = api.post("/emails/schedule", body(
        recipients, delayMs=60_000, randomDelayMs=30_000, hourlyLimit=1000,
        startTime=(datetime.now(UTC) + timedelta(days=1)).isoformat(),
        sendingWindow=window())).json()["batchId"]
    sender_id = api.get("/senders").json()["senders"][0]["id"]
    _as_if_due_long_ago(services, batch_id, "held")
    engine = sqlalchemy.create_engine(services.database_url)
    with engine.begin() as connection:  # as the sender service marks a failing mailbox
        connection.execute(sqlalchemy.text("UPDATE senders SET status = 'failing' WHERE id = :id"),
                           {"id": sender_id})
    engine.dispose()
    now = datetime.now(UTC)
    verified = api.post(f"/senders/{sender_id}/verify")
    assert verified.status_code == 200 and verified.json()["status"] == "active", verified.text
    _check_replanned(api, batch_id, recipients, now)


BAD_WINDOWS = [
    ("an unknown zone", window(timezone="Mars/Olympus"), "sendingWindow.timezone"),
    ("a path for a zone", window(timezone="../../etc/passwd"), "sendingWindow.timezone"),
    ("start not before end", window(start="17:00", end="09:00"), "sendingWindow.end"),
    ("start equal to end", window(start="09:00", end="09:00"), "sendingWindow.end"),
    ("no days", window(days=[]), "sendingWindow.days"),
    ("an unknown day", window(days=["mon", "funday"]), "sendingWindow.days[1]"),
    ("a time not HH:MM", window(start="9am"), "sendingWindow.start"),
    ("an hour past 23", window(end="24:00"), "sendingWindow.end"),
    ("no zone", {"days": WORKDAYS, "start": "09:00", "end": "10:00"}, "sendingWindow.timezone"),
    ("an unknown field", window(holidays=["2026-12-25"]), "sendingWindow.holidays"),
    ("not an object", "9 to 5", "sendingWindow"),
]


@pytest.mark.parametrize("case, bad, field", BAD_WINDOWS, ids=[c[0] for c in BAD_WINDOWS])
def test_a_bad_window_is_a_400_naming_the_field_and_nothing_is_stored(
        api_url, services, case, bad, field):
    answer = Api(api_url).post("/emails/schedule", body(sendingWindow=bad))
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert field in [d.get("field") for d in error["details"]], error
    assert stored(services) == (0, 0)


@pytest.mark.parametrize("jitter", [-1, 24 * 3600 * 1000 + 1, "500", 1.5])
def test_a_bad_random_delay_is_a_400(api_url, services, jitter):
    answer = Api(api_url).post("/emails/schedule", body(randomDelayMs=jitter))
    assert answer.status_code == 400, answer.text
    assert "randomDelayMs" in [d.get("field") for d in answer.json()["error"]["details"]]
    assert stored(services) == (0, 0)


def one_minute_window(now: float) -> tuple[dict[str, Any], float, float]:
    """A one-minute window around now in a half-hour-offset zone: the current minute if at
    least 25 s of it are left, else the next one. Returns it with its [open, close) in
    epoch seconds. Windows are whole minutes, so this is the shortest there is; its next
    opening is a day later."""
    opening = now - now % 60 + (0 if now % 60 <= 35 else 60)
    for zone in ("Asia/Kolkata", "America/St_Johns"):
        local = datetime.fromtimestamp(opening, ZoneInfo(zone))
        if local.strftime("%H:%M") != "23:59":  # the end must be after the start
            end = local + timedelta(minutes=1)
            found = {"timezone": zone, "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "start": local.strftime("%H:%M"), "end": end.strftime("%H:%M")}
            return found, opening, opening + 60
    raise AssertionError("unreachable: the zones are hours apart")


def test_nothing_is_sent_outside_a_one_minute_window_and_the_limits_hold(services, sink):
    container = prepare(services.settings(SMTP_PORT=sink.port, RATE_WINDOW_SECONDS=10,
                                          MIN_DELAY_BETWEEN_EMAILS_MS=100))
    pipeline = Pipeline(container, pollers=2).start()
    try:
        api = Api(pipeline.url)
        sending_window, opens, closes = one_minute_window(time.time())
        # 40: more than the 36 a whole minute holds at 6 per 10 s, and what does not fit
        # today (at least 12 do, with 25 s left) fits in tomorrow's whole minute.
        recipients = [f"w{i:02d}@example.com" for i in range(40)]
        # Starts now (before the window when it is the next minute), 6 per 10 s window:
        # fewer than 40 fit, so the rest are planned into tomorrow's opening. (A start in
        # the past would plan emails in the past, all sent at once and throttled.)
        answer = api.post("/emails/schedule", body(
            recipients, startTime=datetime.now(UTC).isoformat(), delayMs=200,
            randomDelayMs=300, hourlyLimit=6, sendingWindow=sending_window))
        assert answer.status_code == 201, answer.text
        batch_id = answer.json()["batchId"]
        planned = {e["recipientEmail"]: at(e["scheduledTime"]).timestamp()
                   for e in scheduled(api, batch_id)}
        today = sorted(r for r, due in planned.items() if due < closes)
        later = sorted(r for r, due in planned.items() if due >= closes)
        assert today and later
        assert all(opens <= planned[r] < closes for r in today)

        def tomorrow(due: float) -> bool:  # the next opening (an hour either way for DST)
            return opens + 86_400 - 3_600 <= due < closes + 86_400 + 3_600

        assert all(tomorrow(planned[r]) for r in later)
        assert at(answer.json()["estimatedEndTime"]).timestamp() == max(planned.values())
        time.sleep(max(0.0, closes + 3 - time.time()))  # anything sent after the close lands now
        received = sink.messages
        sent = sorted(m.to[0] for m in received)
        # Sent at or after its planned time, inside the window. The sender decides to send
        # before the close; the sink may receive it a moment later (the sink's clock is the
        # test's).
        assert all(opens <= planned[m.to[0]] <= m.received_at < closes + 1.0 for m in received)
        assert set(sent) <= set(today) and len(sent) >= len(today) - 2, (sent, today)
        # An email the limiter held past the close (sent late, it counts in the next rate
        # window) is not sent after it: it waits for tomorrow's opening.
        still = {e["recipientEmail"]: at(e["scheduledTime"]).timestamp()
                 for e in scheduled(api, batch_id)}
        assert sorted(still) == sorted(set(recipients) - set(sent))
        assert all(still[r] == planned[r] for r in later)
        per_rate_window = Counter(int(m.received_at // 10) for m in received)
        planned_per_window = Counter(int(planned[r] // 10) for r in today)
        assert max(planned_per_window.values()) <= 6
        assert max(per_rate_window.values()) <= 6  # as the limiter counts (spill rule)
        left = api.get(f"/batches/{batch_id}").json()["counts"]
        assert left["sent"] == len(sent)
    finally:
        pipeline.close()
        container.close()
