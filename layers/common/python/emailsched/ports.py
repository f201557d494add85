"""Ports: the narrow interfaces services depend on, and the values they exchange. Real
adapters live in emailsched.adapters; in-memory fakes in emailsched.fakes. Contract tests
run against both.

Each service declares what it needs of the ledger by its own port (the sender's, the
pump's, scheduling's, batch control's, the read side's, auth's), as listmonk's manager
declares its Store: one Postgres adapter implements several of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol, runtime_checkable

from emailsched.domain.bounces import BounceClass
from emailsched.domain.outgoing import OutgoingEmail
from emailsched.domain.records import BatchRow, EmailRow, Suppression, User
from emailsched.domain.retry import SendResult
from emailsched.domain.senders import MailServer, SenderKind, SenderLimits


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""

    def sleep(self, seconds: float) -> None: ...


class Metrics(Protocol):
    """Operational counters and distributions (adapters/metrics.py): CloudWatch embedded
    metrics on Lambda, Prometheus locally. Names are snake_case without a prefix; `dims`
    are low-cardinality labels (a failure class, never an id)."""

    def count(self, name: str, value: int = 1, **dims: str) -> None: ...

    def observe(self, name: str, value_ms: float) -> None: ...

    def gauge(self, name: str, value: float) -> None:
        """A level read now (a queue's depth)."""


@dataclass(frozen=True)
class OutgoingMessage:
    body: str
    delay_seconds: int = 0


@dataclass(frozen=True)
class ReceivedMessage:
    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)


class Queue(Protocol):
    def send(self, messages: list[OutgoingMessage]) -> None:
        """Put messages on the send queue; raises on any message not accepted."""

    def change_visibility(self, receipt_handle: str, seconds: int) -> None: ...

    def receive(self, max_messages: int, wait_seconds: int) -> list[ReceivedMessage]: ...

    def delete(self, receipt_handles: list[str]) -> None: ...

    def depth(self) -> int:
        """Messages waiting (ApproximateNumberOfMessages); for metrics and health."""


# Told which emails of a round the server now holds whole, it answers those that may be
# delivered: the others are abandoned, and nothing of them is delivered.
PointOfNoReturn = Callable[[list[int]], Collection[int]]


class Mailer(Protocol):
    # Emails it takes to the point of no return side by side, one connection each.
    sessions: int

    def send_round(self, emails: Sequence[OutgoingEmail],
                   point_of_no_return: PointOfNoReturn) -> list[SendResult | None]:
        """Send up to `sessions` emails side by side. Each is written whole, then
        `point_of_no_return` is called once with the positions of those the server holds
        but has not been told to deliver, and only the positions it answers are delivered.
        A result per email: None for one abandoned at the point of no return."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class SendLimits:
    """Every limit one send of a sender counts against, checked together in one step.

    The batch's `hourly` and the sender's own `sender_hourly` both count the sender's sends
    (all its batches) in the current rate window: the smaller holds. `daily` counts them
    per day of `timezone` (calendar days, or DAILY_WINDOW_SECONDS stretches aligned to the
    epoch when that is shorter). `min_gap_ms` None means the deployment's
    MIN_DELAY_BETWEEN_EMAILS_MS."""

    hourly: int
    sender_hourly: int | None = None
    daily: int | None = None
    timezone: str = "UTC"
    min_gap_ms: int | None = None

    @property
    def per_window(self) -> int:
        """The rate window's cap: the smaller of the batch's and the sender's."""
        if self.sender_hourly is None:
            return self.hourly
        return min(self.hourly, self.sender_hourly)


@dataclass(frozen=True)
class Permit:
    slots: int  # sends counted now, from 0 to the number asked for
    wait_ms: int = 0  # when none: how long until a send may succeed
    # The limiter's own time of the grant (Redis TIME): a refund finds the periods with it.
    granted_at_ms: int = 0

    @property
    def granted(self) -> bool:
        return self.slots > 0


class RateLimiter(Protocol):
    """Takes the time from its own store, never from the caller, so a worker whose clock
    is off cannot count into the wrong window or day."""

    def acquire(self, sender_id: str, limits: SendLimits, wanted: int = 1) -> Permit:
        """Count up to `wanted` sends for the sender, as many as all of `limits` allow now
        (one at most while a minimum gap between sends applies), in one atomic step."""

    def refund(self, sender_id: str, granted_at_ms: int, limits: SendLimits,
               slots: int = 1) -> None:
        """Give back `slots` granted at `granted_at_ms` (Permit.granted_at_ms) for sends
        that did not happen."""


@dataclass(frozen=True)
class Seed:
    count: int  # sends to count in the window already
    last_send_ms: int | None
    day_count: int | None = None  # sends to count in the day already, when one was asked


class SeedSource(Protocol):
    def seed(self, sender_id: str, window_start: datetime,
             day_start: datetime | None = None) -> Seed:
        """What the sender has used of the window counted from `window_start` (and of the
        day counted from `day_start`), for a limiter that lost its counts: sends since
        then, plus the emails held in `sending` (each took its slot before its claim)."""


# --- the ledger, as each service sees it ------------------------------------------------
@dataclass(frozen=True)
class DueEmail:
    id: uuid.UUID
    sender_id: uuid.UUID
    wake_at: datetime
    seq: int


@dataclass(frozen=True)
class EmailState:
    id: uuid.UUID
    status: str
    sender_id: uuid.UUID
    hourly_limit: int  # the batch's
    ready_at: datetime  # not before: the due time, or the end of a backoff or throttle
    seq: int
    # The sender's own limits (senders.*): None is no cap of its own / the default gap.
    sender_hourly_limit: int | None = None
    daily_limit: int | None = None
    timezone: str = "UTC"
    min_delay_ms: int | None = None
    # Issue 15: the batch's sending window (SendingWindow.to_api() or None) and the
    # recipient's `timezone` field: nothing is sent outside it, whatever delayed the email.
    sending_window: Mapping[str, Any] | None = None
    recipient_timezone: str | None = None

    @property
    def limits(self) -> SendLimits:
        """What the limiter checks for this email's send."""
        return SendLimits(self.hourly_limit, self.sender_hourly_limit, self.daily_limit,
                          self.timezone, self.min_delay_ms)


@dataclass(frozen=True)
class ClaimedEmail:
    id: uuid.UUID
    sender_email: str
    sender_name: str
    recipient: str
    subject: str
    body: str
    attempts: int
    # What the mailer pool needs to pick the connection, and the sender's run of account
    # failures (a success resets it only when there is one).
    sender_id: uuid.UUID | None = None
    sender_kind: SenderKind = SenderKind.RELAY
    sender_failures: int = 0
    # What the send renders from (domain/compose.py): subject and body are templates when
    # `templated` (batches stored before migration 0005 are sent as written).
    templated: bool = False
    fields: Mapping[str, str] | None = None
    postal_address: str | None = None
    # When it was due: a sender-level deferral fails it once it is too long past this.
    due_at: datetime | None = None
    # Sequences: for a follow-up, the recipient's earlier Message-IDs in this batch, oldest
    # first (its In-Reply-To and References); empty for a first email.
    references: tuple[str, ...] = ()
    # Issue 27: the batch's tracking ({opens, clicks}; None: none) and its id (spintax seed).
    tracking: Mapping[str, Any] | None = None
    batch_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.sender_kind, SenderKind):  # as the ledger's row spells it
            object.__setattr__(self, "sender_kind", SenderKind(self.sender_kind))


class ClaimedEmails(list[ClaimedEmail]):
    """What a claim took, and how many of the named emails it ended as suppressed instead
    (their recipient suppressed since scheduling): the emails_suppressed metric."""

    def __init__(self, emails: Iterable[ClaimedEmail] = (), suppressed: int = 0):
        super().__init__(emails)
        self.suppressed = suppressed


class SenderLedger(Protocol):
    """The sender's calls; each is one atomic step that opens (or shares) its connection.
    Raise ServiceUnavailable when the ledger cannot be reached."""

    def pinned(self) -> AbstractContextManager[None]:
        """The calls made inside share one connection (a message's worth of work)."""

    def look(self, ids: Sequence[uuid.UUID]) -> list[EmailState]: ...

    def claim(self, ids: Sequence[uuid.UUID], lease_until: datetime,
              token: uuid.UUID) -> list[ClaimedEmail]:
        """The named emails that were still `queued`, now `sending` under `token`."""

    def return_to_queue(self, ids: Sequence[uuid.UUID], token: uuid.UUID,
                        wake_at: datetime) -> list[uuid.UUID]:
        """Claimed emails back to `queued`, unsent; the ones that were still ours."""

    def postpone(self, ids: Sequence[uuid.UUID], wake_at: datetime) -> None: ...

    def mark_sent(self, sends: Sequence[tuple[uuid.UUID, str]], token: uuid.UUID,
                  now: datetime) -> set[uuid.UUID]:
        """Emails (id, Message-ID) now `sent` under `token`: the ones still claimed by it."""

    def sent_by(self, ids: Sequence[uuid.UUID], token: uuid.UUID) -> set[uuid.UUID]:
        """The emails that read `sent` under `token`, asked on a fresh connection."""

    def record_outcome(self, email_id: uuid.UUID, token: uuid.UUID, *, status: str,
                       wake_at: datetime, reason: str, now: datetime, counted: int) -> None: ...

    def return_to_pump(self, ids: Sequence[uuid.UUID]) -> None:
        """Queued emails back to `scheduled`, for the pump to enqueue afresh."""


class PumpLedger(Protocol):
    """The pump's calls; each opens and commits its own transaction."""

    def recover_lost(self, now: datetime, lost_after: timedelta) -> int:
        """Expired leases and lost messages back to `scheduled`; how many."""

    def count_in_flight(self) -> int: ...

    def claim_due(self, horizon_end: datetime, limit: int) -> list[DueEmail]:
        """The soonest `scheduled` emails due by `horizon_end`, now `queued`."""

    def return_to_pump(self, ids: Sequence[uuid.UUID]) -> None: ...


class Quotas(Protocol):
    """Per-user abuse limits on scheduling, shared by every API instance."""

    def check_request(self, user_id: uuid.UUID, now_seconds: float) -> None:
        """Count a schedule request; TooManyRequests past the per-minute cap."""

    def reserve_recipients(self, user_id: uuid.UUID, count: int, now_seconds: float) -> str:
        """Reserve `count` of today's recipients; returns the key to release them by."""

    def release(self, key: str, count: int) -> None: ...


class AccountStore(Protocol):
    def upsert_user_by_email(self, email: str, name: str) -> User: ...

    def upsert_user_by_google_sub(self, sub: str, email: str, name: str,
                                  avatar: str | None) -> User | None:
        """None when the email belongs to a different Google account."""

    def get_user(self, user_id: uuid.UUID) -> User | None: ...


class ReadSession(Protocol):
    def list_emails(self, user_id: uuid.UUID, *, finished: bool, batch_id: uuid.UUID | None,
                    limit: int, offset: int) -> tuple[list[EmailRow], int]: ...

    def email_rows(self, user_id: uuid.UUID, *, finished: bool, batch_id: uuid.UUID | None,
                   limit: int, offset: int) -> list[EmailRow]:
        """One page of list_emails, without its total."""

    def count_emails(self, user_id: uuid.UUID, *, finished: bool,
                     batch_id: uuid.UUID | None) -> int:
        """list_emails' total."""

    def list_batches(self, user_id: uuid.UUID, limit: int,
                     offset: int) -> tuple[list[BatchRow], int]: ...

    def get_batch(self, user_id: uuid.UUID, batch_id: uuid.UUID) -> BatchRow | None: ...

    def batch_counts(self, batch_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]: ...

    def status_counts(self, user_id: uuid.UUID) -> dict[str, int]: ...

    def per_hour(self, user_id: uuid.UUID,
                 since: datetime) -> dict[datetime, tuple[int, int]]: ...

    def sent_since(self, user_id: uuid.UUID, since: datetime) -> int: ...


class ReadStore(Protocol):
    def reading(self) -> AbstractContextManager[ReadSession]:
        """One connection for the reads of one answer."""


class SenderUsage(Protocol):
    def sender_usage(self, sender_id: uuid.UUID, since: datetime,
                     window_ms: int) -> dict[int, int]:
        """Sends planned or made per window start from `since` on, for planning around."""

    def sender_day_usage(self, sender_id: uuid.UUID, since: datetime,
                         timezone: str) -> dict[int, int]:
        """Sends planned or made per local day of `timezone` (its start, epoch ms)."""


class SchedulingSession(SenderUsage, Protocol):
    def lock_senders(self, user_id: uuid.UUID,
                     sender_ids: list[uuid.UUID]) -> list[SenderAccount]:
        """The user's senders in the order asked, locked; NotFound when one is not theirs."""

    def sender_by_email(self, user_id: uuid.UUID, email: str) -> SenderAccount | None:
        """The user's live sender with that address, locked."""

    def create_relay_sender(self, user_id: uuid.UUID, email: str,
                            name: str) -> SenderAccount: ...

    def insert_batch(self, **values: object) -> uuid.UUID: ...

    def insert_emails(self, *, batch_id: uuid.UUID, user_id: uuid.UUID, sender_id: uuid.UUID,
                      recipients: list[str], due_ms: list[int], first_seq: int = 0,
                      seq_step: int = 1, fields: list[dict[str, str]] | None = None) -> None:
        """`fields`: each recipient's merge fields, in order (None: none has any)."""

    def insert_batch_senders(self, batch_id: uuid.UUID,
                             shares: list[tuple[uuid.UUID, int, int]]) -> None: ...

    def hold_new_emails(self, batch_id: uuid.UUID, sender_id: uuid.UUID) -> None: ...

    def store_steps(self, batch_id: uuid.UUID, steps: Sequence[dict[str, object]]) -> None:
        """The batch's follow-ups ({subject, body, waitSeconds}), after its emails."""


class SchedulingStore(Protocol):
    def transaction(self) -> AbstractContextManager[SchedulingSession]:
        """Everything inside commits together, or nothing does."""


@dataclass(frozen=True)
class LockedBatch:
    status: str
    sender_id: uuid.UUID
    delay_ms: int
    hourly_limit: int
    # Issue 15: SendingWindow.to_api() or None, the jitter and the seed it is drawn from.
    sending_window: Mapping[str, Any] | None = None
    random_delay_ms: int = 0
    plan_seed: int = 0


class BatchControlSession(SenderUsage, Protocol):
    def lock_batch(self, user_id: uuid.UUID, batch_id: uuid.UUID) -> LockedBatch | None: ...

    def lock_sender(self, sender_id: uuid.UUID) -> None: ...

    def pending_count(self, batch_id: uuid.UUID) -> int: ...

    def set_status(self, batch_id: uuid.UUID, status: str) -> None: ...

    def hold_emails(self, batch_id: uuid.UUID, from_statuses: list[str], status: str) -> int: ...

    def paused_emails(self, batch_id: uuid.UUID
                      ) -> list[tuple[uuid.UUID, datetime, uuid.UUID, str | None]]:
        """(id, due time, sender id, the recipient's `timezone` field) in batch order."""

    def sender_limits(self, sender_id: uuid.UUID) -> SenderLimits:
        """The sender's own limits, its row locked."""

    def resume_emails(self, ids: list[uuid.UUID], due_ms: list[int]) -> None: ...

    def set_end(self, batch_id: uuid.UUID, end: datetime) -> None: ...


class BatchControlStore(Protocol):
    def transaction(self) -> AbstractContextManager[BatchControlSession]: ...


# --- senders (SPEC.md "Senders") --------------------------------------------------------
class CredentialCipher(Protocol):
    """Secrets at rest (sender passwords). `context` names what the secret belongs to (see
    `credential_context`); it is bound to the ciphertext as associated data, so a token
    copied to another row or field does not decrypt."""

    def encrypt(self, plaintext: str, context: str) -> str:
        """A self-describing token (`v1.<scheme>....`) that holds no plaintext."""
        ...

    def decrypt(self, token: str, context: str) -> str:
        """The plaintext, or CredentialsUnreadable when the token or context do not match."""
        ...

    def check(self) -> None:
        """Prove at start-up that the key is usable, or raise ConfigurationError."""
        ...


class AccessTokens(Protocol):
    """Access tokens of OAuth senders, shared by every worker (issue 25)."""

    def access_token(self, sender_id: uuid.UUID) -> tuple[str, float]:
        """A live access token and the wall-clock time (epoch seconds) until which it is
        used; refreshes it when due, once across workers. OAuthRefused when the provider
        refuses (`revoked` for invalid_grant: the sender is then failing)."""


def credential_context(sender_id: str, field: str) -> str:
    """The associated data for one secret: `sender:<id>:<field>`, e.g. smtp_password."""
    return f"sender:{sender_id}:{field}"


@dataclass(frozen=True)
class MailLogin:
    """An account to check, with its password (only ever in memory)."""

    host: str
    port: int
    security: str
    username: str
    password: str = field(repr=False)
    oauth: bool = False  # `password` is an access token: AUTH XOAUTH2 (issue 25)


class MailboxVerifier(Protocol):
    def verify_smtp(self, login: MailLogin) -> None:
        """Connect, EHLO, STARTTLS/TLS, AUTH, QUIT; AccountUnverified with the reply."""

    def verify_imap(self, login: MailLogin) -> None:
        """Connect and log in over IMAP; AccountUnverified with the reply."""


class StoredAccountVerifier(Protocol):
    def verify_stored(self, user_id: uuid.UUID, sender_id: uuid.UUID) -> None:
        """Checks the user's sender's stored accounts with their passwords decrypted where
        the key allows it (the verifier function on AWS, in-process locally):
        AccountUnverified with the server's reply, NotFound for no such sender."""


@dataclass(frozen=True)
class SenderAccount:
    """A sender's row: the account without its password, the encrypted tokens apart."""

    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    name: str
    kind: str
    smtp: MailServer | None
    imap: MailServer | None
    limits: SenderLimits
    status: str
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    smtp_password_enc: str | None = None
    imap_password_enc: str | None = None
    # Kinds google and microsoft (issue 25): the encrypted refresh token and the consent.
    oauth_refresh_token_enc: str | None = None
    oauth_scopes: str | None = None
    oauth_connected_at: datetime | None = None


@dataclass(frozen=True)
class HeldEmail:
    id: uuid.UUID
    batch_id: uuid.UUID
    due_at: datetime
    delay_ms: int
    hourly_limit: int
    batch_paused: bool
    # Issue 15: the batch's window, jitter and seed, and the recipient's `timezone` field.
    sending_window: Mapping[str, Any] | None = None
    random_delay_ms: int = 0
    plan_seed: int = 0
    timezone: str | None = None


class SenderSession(SenderUsage, Protocol):
    def list_senders(self, user_id: uuid.UUID) -> list[SenderAccount]: ...

    def get_sender(self, user_id: uuid.UUID, sender_id: uuid.UUID,
                   lock: bool = False) -> SenderAccount | None: ...

    def sender_by_email(self, user_id: uuid.UUID, email: str) -> SenderAccount | None: ...

    def insert_sender(self, sender_id: uuid.UUID, user_id: uuid.UUID,
                      values: dict[str, object]) -> None:
        """Conflict when the user has a sender with that address."""

    def update_sender(self, sender_id: uuid.UUID, values: dict[str, object]) -> None: ...

    def delete_sender(self, sender_id: uuid.UUID) -> None: ...

    def unsent_count(self, sender_id: uuid.UUID) -> int: ...

    def sent_since(self, sender_ids: Sequence[uuid.UUID],
                   since: dict[uuid.UUID, datetime]) -> dict[uuid.UUID, int]: ...

    def held_emails(self, sender_id: uuid.UUID) -> list[HeldEmail]:
        """The sender's held emails in order (due time, then position), locked."""

    def release_held(self, ids: list[uuid.UUID], due_ms: list[int], status: str) -> None: ...


class SenderStore(Protocol):
    def transaction(self) -> AbstractContextManager[SenderSession]: ...


class SenderHealthLedger(Protocol):
    """The worker's calls about a sender's own account (not a recipient)."""

    def account_failed(self, sender_id: uuid.UUID, error: str,
                       failures_before_hold: int) -> bool:
        """Counts a connection or login failure; True when it made the sender failing."""

    def account_worked(self, sender_id: uuid.UUID) -> None:
        """Ends the sender's run of failures."""

    def hold_sender(self, sender_id: uuid.UUID, claimed: Sequence[uuid.UUID],
                    token: uuid.UUID) -> int:
        """The sender's unsent emails (and `claimed`, still ours) become `held`."""


@dataclass(frozen=True)
class SmtpAccount:
    """What a pool needs to open a sender's connections (the password still encrypted)."""

    sender_id: uuid.UUID
    host: str
    port: int
    security: str
    username: str
    password_enc: str | None
    version: datetime  # updated_at: a changed account gets new connections
    kind: str = "smtp"  # google, microsoft: AUTH XOAUTH2 with an access token (issue 25)


class SmtpAccountSource(Protocol):
    def smtp_account(self, sender_id: uuid.UUID) -> SmtpAccount | None: ...


@runtime_checkable
class MailerPool(Protocol):
    def mailer_for(self, sender_id: uuid.UUID | None, kind: SenderKind) -> Mailer:
        """The sender's mailer (the relay's for kind `relay`), kept open while busy."""

    def close(self) -> None: ...


class SuppressionStore(Protocol):
    """A user's suppression list (addresses in lower case), and the postal address its
    unsubscribe footer shows."""

    def page(self, user_id: uuid.UUID, limit: int,
             offset: int) -> tuple[list[Suppression], int]: ...

    def add(self, user_id: uuid.UUID, emails: Sequence[str], reason: str) -> int:
        """How many were not listed yet; a listed address keeps its first reason."""

    def remove(self, user_id: uuid.UUID, email: str) -> bool: ...

    def suppressed_among(self, user_id: uuid.UUID, emails: Sequence[str]) -> set[str]: ...

    def unsubscribe(self, email_id: uuid.UUID) -> str | None:
        """Suppress the email's recipient for its user; the address, or None (no email)."""

    def recipient_of(self, email_id: uuid.UUID) -> str | None: ...

    def set_postal_address(self, user_id: uuid.UUID, postal_address: str | None) -> None: ...


class PublicLimits(Protocol):
    """Abuse limits on the session-less routes, shared by every API instance."""

    def check(self, client_ip: str, token: str, now_seconds: float) -> None:
        """Count one request; TooManyRequests past the per-address or per-token cap."""


class SenderDeferrals(Protocol):
    """Senders a server deferred (421, 4.7.x): held back until a time, across workers."""

    def defer(self, sender_id: str, until_ms: int, now_ms: int) -> None: ...

    def deferred_until_ms(self, sender_id: str, now_ms: int) -> int | None: ...


# --- sequences (issue 16): follow-up planning and the reply poller ---------------------------
@dataclass(frozen=True)
class FollowUpCandidate:
    """A sent email whose batch has a later step not planned yet for its recipient."""

    email_id: uuid.UUID
    batch_id: uuid.UUID
    user_id: uuid.UUID
    sender_id: uuid.UUID
    recipient: str
    step: int  # the sent step; the one to plan is step + 1
    seq: int
    sent_at: datetime
    batch_active: bool  # False: the batch was cancelled, nothing more is planned
    hourly_limit: int
    delay_ms: int
    wait_seconds: int  # of step + 1
    last_step: int  # the batch's last step number (1 + its follow-ups)
    stop_reason: str | None  # the recipient's sequence ended: replied, unsubscribed, ...
    suppressed: bool  # the recipient is on the user's suppression list
    fields: object = None  # the recipient's merge fields, copied to the follow-up
    # Issue 15: the batch's sending window (SendingWindow.to_api() or None), jitter, seed.
    sending_window: Mapping[str, Any] | None = None
    random_delay_ms: int = 0
    plan_seed: int = 0


@dataclass(frozen=True)
class NewStep:
    batch_id: uuid.UUID
    user_id: uuid.UUID
    sender_id: uuid.UUID
    recipient: str
    step: int
    seq: int
    due_ms: int
    status: str  # scheduled, or replied / suppressed for a recipient who stopped
    awaiting_next: bool  # a later step follows this one
    fields: object = None


class FollowUpSession(Protocol):
    """One transaction of the follow-up planner."""

    def awaiting_follow_up(self, limit: int) -> list[FollowUpCandidate]:
        """Sent emails whose next step is to plan, oldest first, locked (SKIP LOCKED: two
        planners take disjoint sets)."""

    def sender_limits(self, sender_id: uuid.UUID) -> SenderLimits:
        """The sender's limits, its row locked (planning a sender's sends is serialised)."""

    def sender_usage(self, sender_id: uuid.UUID, since: datetime,
                     window_ms: int) -> dict[int, int]: ...

    def sender_day_usage(self, sender_id: uuid.UUID, since: datetime,
                         timezone: str) -> dict[int, int]: ...

    def insert_steps(self, steps: Sequence[NewStep]) -> int:
        """Insert follow-ups; one that exists (batch, recipient, step) is left as it is."""

    def mark_planned(self, email_ids: Sequence[uuid.UUID]) -> None: ...

    def end_stopped(self) -> int:
        """Later steps still pending for recipients whose sequence ended: `replied` or
        `suppressed` now. Catches a follow-up planned while a stop was being recorded."""


class FollowUpStore(Protocol):
    def transaction(self) -> AbstractContextManager[FollowUpSession]: ...


@dataclass(frozen=True)
class MailboxPosition:
    """Where reading a mailbox folder stopped: its UIDVALIDITY and the last UID read."""

    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class InboundRaw:
    uid: int
    raw: bytes


@dataclass(frozen=True)
class ReplyMailbox:
    """A sender whose mailbox the reply poller reads (IMAP, or the dev Maildir)."""

    sender_id: uuid.UUID
    email: str
    imap: MailServer | None
    imap_password_enc: str | None = field(default=None, repr=False)
    kind: str = "smtp"  # google, microsoft: AUTHENTICATE XOAUTH2 with an access token


class MailboxReader(Protocol):
    def fetch_new(self, position: MailboxPosition | None,
                  max_messages: int) -> tuple[list[InboundRaw], MailboxPosition]:
        """Messages after `position` (all when None or another UIDVALIDITY), oldest first,
        at most `max_messages`, and the position after them."""

    def close(self) -> None: ...


class MailboxOpener(Protocol):
    def open(self, mailbox: ReplyMailbox) -> MailboxReader | None:
        """A reader of the sender's mailbox, or None when it has none to read."""


@dataclass(frozen=True)
class MatchedEmail:
    """One of our emails that an inbound message names by Message-ID."""

    id: uuid.UUID
    batch_id: uuid.UUID
    user_id: uuid.UUID
    recipient: str
    step: int
    status: str


class ReplyStore(Protocol):
    """The poller's ledger: mailboxes in round-robin order, checkpoints, Message-ID
    matches, and the idempotent recording of replies and bounces."""

    def mailboxes_to_poll(self, include_relay: bool, limit: int) -> list[ReplyMailbox]:
        """Senders with an IMAP block (and, with include_relay, every other live one),
        least recently polled first."""

    def mark_polled(self, sender_id: uuid.UUID, now: datetime) -> None: ...

    def position(self, sender_id: uuid.UUID, folder: str) -> MailboxPosition | None: ...

    def save_position(self, sender_id: uuid.UUID, folder: str,
                      position: MailboxPosition) -> None: ...

    def emails_by_message_id(self, sender_id: uuid.UUID,
                             message_ids: Sequence[str]) -> list[MatchedEmail]:
        """Our emails from this sender with one of these Message-IDs (normalised)."""

    def record_reply(self, email: MatchedEmail, inbound_id: str) -> bool:
        """Stop the recipient's sequence as `replied`; False when this inbound message was
        already counted for this email (nothing changes)."""

    def record_hard_bounce(self, email: MatchedEmail, inbound_id: str, reason: str) -> bool:
        """The email failed (bounce class hard_bounce), its recipient suppressed
        (hard_bounce) and their sequence stopped; False when already counted."""

    def email_to(self, sender_id: uuid.UUID, address: str) -> MatchedEmail | None:
        """This sender's latest recent email sent to `address` (a report naming no
        Message-ID of ours is matched by its failed recipient)."""

    def record_soft_bounce(self, email: MatchedEmail) -> bool | None:
        """One more soft bounce of the recipient in a row (once per email, however many
        reports name it): whether it reached SOFT_BOUNCES_BEFORE_SUPPRESS and suppressed
        them; None when this email's was already counted."""

    def record_complaint(self, email: MatchedEmail, inbound_id: str) -> bool | None:
        """The recipient complained: suppressed (complaint), sequence stopped, counted on
        the email (its batch) and the sender; whether the sender's batches paused for the
        complaint rate; None when already counted."""


class BounceRecorder(Protocol):
    def record(self, email_id: uuid.UUID, bounce: BounceClass) -> bool:
        """Act on a refusal's class (suppress a hard bounce, count a policy block against
        the sender, pause a batch over its bounce rate); whether the batch paused."""


# --- Big lists (issue 17): a CSV uploaded to S3, read by the import job ------------------
class ImportObjects(Protocol):
    """Where uploaded lists are (S3)."""

    def upload_url(self, key: str, expires_seconds: int) -> str:
        """A presigned PUT URL for a text/csv object at `key`."""

    def upload_headers(self) -> dict[str, str]:
        """The headers signed into every upload URL, which the PUT must carry."""

    def content_type(self, key: str) -> str | None:
        """The Content-Type the object was stored with (None: not uploaded)."""

    def size(self, key: str) -> int | None:
        """The object's size in bytes, None while it is not uploaded."""

    def read(self, key: str, start: int = 0) -> Iterator[bytes]:
        """The object's bytes from offset `start` on, in chunks."""

    def delete(self, key: str) -> None: ...


class ImportJobs(Protocol):
    """Starts (or continues) an import job: a message on the imports queue."""

    def start(self, import_id: uuid.UUID) -> None: ...


@dataclass(frozen=True)
class ImportCounts:
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    duplicates: int = 0
    suppressed: int = 0


@dataclass(frozen=True)
class ImportRecord:
    id: uuid.UUID
    user_id: uuid.UUID
    status: str
    object_key: str
    counts: ImportCounts
    errors: list[dict[str, Any]]
    request: dict[str, Any] | None
    checkpoint: dict[str, Any] | None
    batch_id: uuid.UUID | None


class StagedRow(NamedTuple):  # a tuple: an import makes a million of them
    seq: int
    sender_index: int
    email_id: str
    email: str
    due_ms: int
    fields: str | None  # JSON text, None for no fields


class ImportStore(Protocol):
    def create(self, user_id: uuid.UUID, object_key: str,
               import_id: uuid.UUID) -> None: ...

    def get(self, import_id: uuid.UUID, user_id: uuid.UUID | None = None
            ) -> ImportRecord | None: ...

    def start(self, import_id: uuid.UUID, user_id: uuid.UUID, request: dict[str, Any],
              batch_id: uuid.UUID) -> bool:
        """uploading -> importing with its request; False when it was not `uploading`."""

    def exclusive(self, import_id: uuid.UUID) -> AbstractContextManager[bool]:
        """Held for one invocation: False when another invocation works on the import."""

    def staged_addresses(self, import_id: uuid.UUID) -> Iterator[str]: ...

    def save(self, import_id: uuid.UUID, rows: list[StagedRow], counts: ImportCounts,
             errors: list[dict[str, Any]], checkpoint: dict[str, Any]) -> None:
        """Staged rows and the progress that includes them, in one transaction."""

    def finish(self, record: ImportRecord, batch: dict[str, Any],
               sender_ids: list[uuid.UUID], shares: list[tuple[uuid.UUID, int, int]],
               hold: list[uuid.UUID], steps: list[dict[str, object]],
               counts: ImportCounts, errors: Sequence[dict[str, Any]] = ()) -> bool:
        """The batch with every staged row as its emails, and the import done: one
        transaction. False (nothing stored) when fewer rows are staged than counts.valid:
        staged rows do not survive a database crash."""

    def direct(self, record: ImportRecord, sender_ids: list[uuid.UUID]) -> DirectImportWriter:
        """A transaction the emails are written into straight away, the batch with them at
        the end: nothing is visible until DirectImportWriter.finish."""

    def fail(self, import_id: uuid.UUID, counts: ImportCounts,
             errors: list[dict[str, Any]]) -> None:
        """Failed, with no batch and no staged rows left."""


class DirectImportWriter(Protocol):
    def write(self, rows: list[StagedRow]) -> None:
        """A chunk of planned rows, written while the caller goes on to the next."""

    def finish(self, batch: dict[str, Any], shares: list[tuple[uuid.UUID, int, int]],
               hold: list[uuid.UUID], steps: list[dict[str, object]],
               counts: ImportCounts, errors: Sequence[dict[str, Any]] = ()) -> None:
        """Commit: the batch with its counts, every row written, the import `done`."""

    def abandon(self) -> None:
        """Roll back everything written: no batch, no emails."""
