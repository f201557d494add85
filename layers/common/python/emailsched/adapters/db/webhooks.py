"""Webhook endpoints, the outbox and its delivery log in Postgres (migration 0017).

The outbox rows themselves are written by the migration's triggers, in the transaction of
the change they report; only `webhook.test` is written here. A dispatcher claims one
endpoint at a time by locking its webhook_claims row FOR UPDATE SKIP LOCKED, delivers its
due messages in order and records every result with that same transaction's commit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from emailsched.adapters.db.errors import transaction, wrap_db_errors
from emailsched.domain.webhooks import Attempt, Endpoint, Message, Result

_ENDPOINT = "id, url, events, description, status, disabled_reason, created_at"
INSERT = text(f"""
    WITH e AS (
        INSERT INTO webhook_endpoints (id, user_id, url, events, description, secret_enc)
        VALUES (:id, :user_id, :url, :events, :description, :secret_enc)
        RETURNING {_ENDPOINT}),
    c AS (INSERT INTO webhook_claims (endpoint_id) SELECT id FROM e)
    SELECT * FROM e
""")
LIST = text(f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE user_id = :user_id "
            "ORDER BY created_at DESC, id")
GET = text(f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE id = :id AND user_id = :user_id")
SECRET = text("SELECT secret_enc FROM webhook_endpoints WHERE id = :id AND user_id = :user_id")
UPDATE = text(f"""
    UPDATE webhook_endpoints SET
        url = COALESCE(CAST(:url AS text), url),
        events = COALESCE(CAST(:events AS text[]), events),
        description = COALESCE(CAST(:description AS text), description),
        status = COALESCE(CAST(:status AS text), status),
        disabled_reason = CASE WHEN CAST(:status AS text) = 'enabled' THEN NULL
                               ELSE disabled_reason END,
        failing_since = CASE WHEN CAST(:status AS text) = 'enabled' THEN NULL
                             ELSE failing_since END,
        updated_at = now()
    WHERE id = :id AND user_id = :user_id RETURNING {_ENDPOINT}
""")
DELETE = text("DELETE FROM webhook_endpoints WHERE id = :id AND user_id = :user_id")
INSERT_MESSAGE = text("""
    INSERT INTO webhook_messages (endpoint_id, event_id, type, data)
    VALUES (:endpoint_id, :event_id, :type, CAST(:data AS jsonb))
""")
ATTEMPTS = text("""
    SELECT m.event_id, m.type, a.attempt, a.status_code, a.error, a.response_body,
           a.duration_ms, a.at, a.next_attempt_at, count(*) OVER () AS total
    FROM webhook_attempts a JOIN webhook_messages m ON m.id = a.message_id
    WHERE a.endpoint_id = :endpoint_id ORDER BY a.id DESC LIMIT :limit OFFSET :offset
""")
REPLAY = text("""
    UPDATE webhook_messages SET state = 'pending', failures = 0, next_attempt_at = now()
    WHERE endpoint_id = :endpoint_id AND event_id = :event_id RETURNING id
""")

# The dispatcher's side. An endpoint with something due, in no other dispatcher's hands.
CLAIM = text("""
    SELECT c.endpoint_id, e.url, e.secret_enc, e.failing_since FROM webhook_claims c
    JOIN webhook_endpoints e ON e.id = c.endpoint_id
    WHERE e.status = 'enabled' AND EXISTS (
        SELECT 1 FROM webhook_messages m WHERE m.endpoint_id = c.endpoint_id
        AND m.state = 'pending' AND m.next_attempt_at <= now())
    ORDER BY random() LIMIT 1 FOR UPDATE OF c SKIP LOCKED
""")
DUE = text("""
    SELECT id, event_id, type, data, occurred_at, attempts, failures FROM webhook_messages
    WHERE endpoint_id = :endpoint_id AND state = 'pending' AND next_attempt_at <= now()
    ORDER BY id LIMIT :limit
""")
RECORD = text("""
    WITH r AS (
        SELECT * FROM jsonb_to_recordset(CAST(:results AS jsonb)) AS x(
            id bigint, attempt int, failures int, state text, status_code int, error text,
            response_body text, duration_ms int, at timestamptz, next_attempt_at timestamptz)),
    m AS (
        UPDATE webhook_messages w SET attempts = r.attempt, failures = r.failures,
            state = r.state, next_attempt_at = COALESCE(r.next_attempt_at, w.next_attempt_at),
            delivered_at = CASE WHEN r.state = 'delivered' THEN r.at END
        FROM r WHERE w.id = r.id)
    INSERT INTO webhook_attempts (message_id, endpoint_id, attempt, status_code, error,
                                  response_body, duration_ms, at, next_attempt_at)
    SELECT id, :endpoint_id, attempt, status_code, error, response_body, duration_ms, at,
           next_attempt_at FROM r
""")
NO_FLUSH_WAIT = text("SET synchronous_commit TO off")
FLUSH_WAIT = text("RESET synchronous_commit")
ENDPOINT_HEALTH = text("""
    UPDATE webhook_endpoints SET
        failing_since = CASE WHEN :delivered THEN NULL
            ELSE COALESCE(failing_since, CAST(:first_failure AS timestamptz)) END,
        status = CASE WHEN CAST(:disable AS text) IS NOT NULL THEN 'disabled' ELSE status END,
        disabled_reason = COALESCE(CAST(:disable AS text), disabled_reason),
        updated_at = now()
    WHERE id = :endpoint_id RETURNING failing_since
""")


def autocommit(engine: Engine) -> Connection:
    """A pooled connection in autocommit (as adapters/db/ledger.py makes its own): the
    driver's transaction left open by the pool's liveness ping is committed first."""
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    dbapi_connection.commit()
    return connection


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(row.id, row.url, tuple(row.events), row.description, row.status,
                    row.disabled_reason, row.created_at)


class PgWebhookStore:
    """The API's statements."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def create(self, endpoint_id: uuid.UUID, user_id: uuid.UUID, url: str, events: list[str],
               description: str, secret_enc: str) -> Endpoint:
        with transaction(self._engine) as c:
            return _endpoint(c.execute(INSERT, {
                "id": endpoint_id, "user_id": user_id, "url": url, "events": events,
                "description": description, "secret_enc": secret_enc}).one())

    def all(self, user_id: uuid.UUID) -> list[Endpoint]:
        with wrap_db_errors(), self._engine.connect() as c:
            return [_endpoint(row) for row in c.execute(LIST, {"user_id": user_id})]

    def get(self, user_id: uuid.UUID, endpoint_id: uuid.UUID) -> Endpoint | None:
        with wrap_db_errors(), self._engine.connect() as c:
            row = c.execute(GET, {"id": endpoint_id, "user_id": user_id}).first()
        return None if row is None else _endpoint(row)

    def secret(self, user_id: uuid.UUID, endpoint_id: uuid.UUID) -> str | None:
        with wrap_db_errors(), self._engine.connect() as c:
            return c.execute(SECRET, {"id": endpoint_id, "user_id": user_id}).scalar()

    def update(self, user_id: uuid.UUID, endpoint_id: uuid.UUID,
               changes: dict[str, Any]) -> Endpoint | None:
        values = {"url": None, "events": None, "description": None, "status": None, **changes}
        with transaction(self._engine) as c:
            row = c.execute(UPDATE, {"id": endpoint_id, "user_id": user_id, **values}).first()
        return None if row is None else _endpoint(row)

    def delete(self, user_id: uuid.UUID, endpoint_id: uuid.UUID) -> bool:
        with transaction(self._engine) as c:
            return c.execute(DELETE, {"id": endpoint_id, "user_id": user_id}).rowcount > 0

    def add_message(self, endpoint_id: uuid.UUID, event_id: str, event_type: str,
                    data: dict[str, Any]) -> None:
        with transaction(self._engine) as c:
            c.execute(INSERT_MESSAGE, {"endpoint_id": endpoint_id, "event_id": event_id,
                                       "type": event_type, "data": json.dumps(data)})

    def attempts(self, endpoint_id: uuid.UUID, limit: int,
                 offset: int) -> tuple[list[Attempt], int]:
        with wrap_db_errors(), self._engine.connect() as c:
            rows = c.execute(ATTEMPTS, {"endpoint_id": endpoint_id, "limit": limit,
                                        "offset": offset}).all()
        total = rows[0].total if rows else 0
        return [Attempt(r.event_id, r.type, r.attempt, r.status_code, r.error,
                        r.response_body, r.duration_ms, r.at, r.next_attempt_at)
                for r in rows], total

    def replay(self, endpoint_id: uuid.UUID, event_id: str) -> bool:
        with transaction(self._engine) as c:
            return c.execute(REPLAY, {"endpoint_id": endpoint_id,
                                      "event_id": event_id}).first() is not None


class ClaimedEndpoint:
    """One endpoint in a dispatcher's hands, for as long as its transaction lasts.

    Results are recorded on a second connection, in autocommit: one statement, one round
    trip and one commit per attempt, so a dispatcher killed mid-batch leaves at most its
    attempt in flight unrecorded (and so sent again). Those commits do not wait for the
    WAL flush (synchronous_commit off): a Postgres crash could forget the last of them,
    which again only sends them twice."""

    def __init__(self, connection: Connection, row: Any, recorder: Connection):
        self._c, self._recorder = connection, recorder
        self.id: uuid.UUID = row.endpoint_id
        self.url: str = row.url
        self.secret_enc: str = row.secret_enc
        self.failing_since: datetime | None = row.failing_since

    def due(self, limit: int) -> list[Message]:
        return [Message(r.id, r.event_id, r.type, r.data, r.occurred_at, r.attempts,
                        r.failures)
                for r in self._c.execute(DUE, {"endpoint_id": self.id, "limit": limit})]

    def record(self, results: list[Result]) -> None:
        if not results:
            return
        with wrap_db_errors():
            self._recorder.execute(RECORD, {"endpoint_id": self.id, "results": json.dumps([{
            "id": r.message.id, "attempt": r.message.attempts + 1,
            "failures": 0 if r.state == "delivered" else r.message.failures + 1,
            "state": r.state, "status_code": r.outcome.status_code, "error": r.outcome.error,
            "response_body": r.outcome.response_body, "duration_ms": r.outcome.duration_ms,
            "at": r.at.isoformat(),
            "next_attempt_at": r.next_attempt_at and r.next_attempt_at.isoformat()}
                for r in results])})

    def health(self, delivered: bool, first_failure: datetime | None,
               disable: str | None) -> datetime | None:
        """The endpoint's failing_since after this batch (None: not failing)."""
        return self._c.execute(ENDPOINT_HEALTH, {
            "endpoint_id": self.id, "delivered": delivered, "first_failure": first_failure,
            "disable": disable}).scalar()


class PgWebhookOutbox:
    """The dispatcher's statements."""

    def __init__(self, engine: Engine):
        self._engine = engine

    @contextmanager
    def claim(self) -> Iterator[ClaimedEndpoint | None]:
        """An endpoint with messages due that no other dispatcher holds (None: none), held
        until the block ends, when what was recorded is committed."""
        with transaction(self._engine) as c:
            row = c.execute(CLAIM).first()
            if row is None:
                yield None
                return
            with self._recorder() as recorder:
                yield ClaimedEndpoint(c, row, recorder)

    @contextmanager
    def _recorder(self) -> Iterator[Connection]:
        with wrap_db_errors():
            recorder = autocommit(self._engine)
        try:
            recorder.execute(NO_FLUSH_WAIT)
            yield recorder
            recorder.execute(FLUSH_WAIT)  # the pool's next user commits as usual
        finally:
            recorder.close()
