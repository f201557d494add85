"""The inbox's services with fakes: what the poller's keeper stores and decides for each
kind of inbound message, and the rules of answering a thread."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from email.message import EmailMessage
from typing import Any

import pytest

from emailsched.domain.inbound.detect import read_inbound
from emailsched.domain.inbox.content import KeptMessage
from emailsched.domain.inbox.leads import LeadStatus
from emailsched.domain.inbox.threads import InboxFilter, Thread, reply_subject
from emailsched.domain.inbox.verdict import Verdict
from emailsched.errors import Conflict, NotFound
from emailsched.fakes import FakeClock
from emailsched.local.inbound_samples import bounce_for
from emailsched.ports import MatchedEmail, ReplyMailbox
from emailsched.services.inbox import InboxService
from emailsched.services.inbox_keeper import InboxKeeper

NOW = datetime(2026, 12, 18, 15, 0, tzinfo=UTC)
OURS = "<e1@us.example>"
LEAD = "lead@them.example"
MAILBOX = ReplyMailbox(uuid.uuid4(), "me@us.example", None)
EMAIL = MatchedEmail(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), LEAD, 1, "sent")


class Matcher:
    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def emails_by_message_id(self, sender_id: uuid.UUID, ids: list[str]) -> list[MatchedEmail]:
        self.asked.append(list(ids))
        return [EMAIL] if OURS in ids else []


class Kept:
    def __init__(self) -> None:
        self.calls: list[tuple[MatchedEmail, KeptMessage, Verdict]] = []

    def keep(self, email: MatchedEmail, sender_id: uuid.UUID, message: KeptMessage,
             verdict: Verdict) -> bool:
        self.calls.append((email, message, verdict))
        return True


def message(text: str, *, automatic: bool = False, refers: str = OURS,
            subject: str = "Automatic reply: Hello") -> bytes:
    built = EmailMessage()
    built["From"] = LEAD
    built["To"] = "me@us.example"
    built["Subject"] = subject if automatic else "Re: Hello"
    built["Message-ID"] = f"<{uuid.uuid4()}@them.example>"
    built["In-Reply-To"] = refers
    if automatic:
        built["Auto-Submitted"] = "auto-replied"
    built.set_content(text)
    return built.as_bytes()


def keep(raw: bytes) -> tuple[int, Kept]:
    store = Kept()
    keeper = InboxKeeper(store, Matcher(), FakeClock(NOW))  # type: ignore[arg-type]
    reading = read_inbound(raw)  # as the poller reads it
    return keeper.keep(MAILBOX, raw, reading, reading.message_id or "x"), store


def test_a_reply_a_removal_an_absence_and_a_bounce_each_get_their_verdict() -> None:
    cases = {
        "reply": (message("Sounds good, call me"), Verdict(LeadStatus.REPLIED)),
        "remove": (message("Please remove me from your list."),
                   Verdict(LeadStatus.UNSUBSCRIBED, remove=True)),
        "away": (message("I am out of the office until 4 January.", automatic=True),
                 Verdict(LeadStatus.OUT_OF_OFFICE, back_on=date(2027, 1, 4))),
        "ticket": (message("We received your request #123.", automatic=True,
                           subject="[Ticket #123] Hello"), Verdict(None)),
    }
    for name, (raw, verdict) in cases.items():
        count, store = keep(raw)
        assert count == 1, name
        [(email, kept, got)] = store.calls
        assert (email, got) == (EMAIL, verdict), name
        assert kept.received_at == NOW and kept.content.headers["From"] == LEAD


def test_a_bounce_is_matched_by_the_original_message_id() -> None:
    original = (f"From: me@us.example\r\nTo: {LEAD}\r\nSubject: Hello\r\n"
                f"Message-ID: {OURS}\r\n\r\nHi\r\n").encode()
    count, store = keep(bounce_for(original))
    [(_, kept, verdict)] = store.calls
    assert (count, kept.kind, verdict) == (1, "bounce", Verdict(LeadStatus.BOUNCED))


def test_unmatched_messages_are_not_kept() -> None:
    count, store = keep(message("Hello", refers="<other@us.example>"))
    assert (count, store.calls) == (0, [])


THREAD = Thread(uuid.uuid4(), uuid.uuid4(), LEAD, uuid.uuid4(), "Hello", NOW, "", True,
                "replied", 2)


class Store:
    def __init__(self, suppressed: bool = False, thread: Thread | None = THREAD):
        self._suppressed, self._thread = suppressed, thread
        self.replies: list[tuple[str, str, list[str]]] = []
        self.read: list[bool] = []

    def thread(self, user_id: uuid.UUID, thread_id: uuid.UUID) -> Thread | None:
        return self._thread

    def conversation(self, thread: Thread) -> tuple[list[Any], list[Any]]:
        theirs = [{"id": uuid.uuid4(), "kind": "reply", "from_address": LEAD,
                   "to_address": "me@us.example", "subject": "RE: Re: Hello", "text": "ok",
                   "html": None, "message_id": "<r1@them.example>", "at": NOW,
                   "attachments": []}]
        ours = [{"id": uuid.uuid4(), "kind": "email", "status": "sent",
                 "sender_email": "me@us.example", "recipient_email": LEAD, "subject": "Hello",
                 "body": "<p>Hi {{ email }}</p>", "templated": True, "fields": {},
                 "message_id": OURS, "at": datetime(2026, 12, 17, tzinfo=UTC)}]
        return theirs, ours

    def suppressed(self, user_id: uuid.UUID, recipient: str) -> bool:
        return self._suppressed

    def set_unread(self, user_id: uuid.UUID, thread_id: uuid.UUID, unread: bool) -> None:
        self.read.append(unread)

    def add_reply(self, user_id: uuid.UUID, thread_id: uuid.UUID, subject: str, body: str,
                  refs: Sequence[str], now: datetime) -> uuid.UUID | None:
        self.replies.append((subject, body, list(refs)))
        return uuid.uuid4()

    def set_lead_status(self, user_id: uuid.UUID, thread_id: uuid.UUID,
                        status: LeadStatus) -> bool:
        return True

    def threads(self, user_id: uuid.UUID, where: InboxFilter, limit: int,
                offset: int) -> list[Thread]:
        return [THREAD]

    def count(self, user_id: uuid.UUID, where: InboxFilter) -> int:
        return 1


def test_reading_renders_our_email_orders_oldest_first_and_marks_read() -> None:
    store = Store()
    thread, messages = InboxService(store, FakeClock(NOW)).read(uuid.uuid4(), THREAD.id)
    assert [m.direction for m in messages] == ["out", "in"]
    assert messages[0].html == f"<p>Hi {LEAD}</p>" and store.read == [False]
    assert thread.unread is False


def test_a_reply_answers_their_latest_message_and_threads_under_every_id() -> None:
    store = Store()
    sent = InboxService(store, FakeClock(NOW)).reply(uuid.uuid4(), THREAD.id, "<p>Sure</p>")
    assert store.replies == [("Re: Hello", "<p>Sure</p>", [OURS, "<r1@them.example>"])]
    assert (sent.direction, sent.kind, sent.subject, sent.to_address) == \
        ("out", "reply", "Re: Hello", LEAD)
    assert reply_subject("AW: Re: Offer") == "Re: Offer"


def test_no_reply_to_a_suppressed_lead_or_a_thread_not_theirs() -> None:
    with pytest.raises(Conflict):
        InboxService(Store(suppressed=True), FakeClock(NOW)).reply(
            uuid.uuid4(), THREAD.id, "<p>x</p>")
    with pytest.raises(NotFound):
        InboxService(Store(thread=None), FakeClock(NOW)).reply(
            uuid.uuid4(), THREAD.id, "<p>x</p>")
