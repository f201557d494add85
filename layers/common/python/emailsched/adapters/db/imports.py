"""The imports table and the rows an import stages, appended with COPY (issue 17).

Staged (an import read over several invocations, services/import_job.py): its planned rows
wait in import_rows until its last step, which inserts the batch and moves them into
emails with one INSERT ... SELECT in the same transaction: the pump never sees a
half-imported batch, and a failed import leaves nothing behind. import_rows is UNLOGGED
(migration 0010): when a crash has lost staged rows, the move finds fewer than the import
counted valid, rolls back and says so (finish returns False; the job fails the import).
The direct way, in one invocation, is direct_import.py's.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, text

from emailsched.adapters.db.direct_import import DirectImport
from emailsched.adapters.db.errors import transaction, wrap_db_errors
from emailsched.adapters.db.import_batches import END, complete, count_params, insert_batch
from emailsched.ports import ImportCounts, ImportRecord, StagedRow

CREATE = text("""
    INSERT INTO imports (id, user_id, object_key) VALUES (:id, :user_id, :object_key)
""")
GET = text("""
    SELECT id, user_id, status, object_key, rows, valid, invalid, duplicates, suppressed,
           errors, request, checkpoint, batch_id
    FROM imports WHERE id = :id AND (CAST(:user_id AS uuid) IS NULL OR user_id = :user_id)
""")
# start: only an import still waiting for its file is scheduled, and only once.
START = text("""
    UPDATE imports SET status = 'importing', request = CAST(:request AS jsonb),
                       batch_id = :batch_id, updated_at = now()
    WHERE id = :id AND user_id = :user_id AND status = 'uploading'
""")
SAVE = text("""
    UPDATE imports SET rows = :rows, valid = :valid, invalid = :invalid,
                       duplicates = :duplicates, suppressed = :suppressed,
                       errors = CAST(:errors AS jsonb), checkpoint = CAST(:checkpoint AS jsonb),
                       updated_at = now()
    WHERE id = :id AND status = 'importing'
""")
DROP_STAGED = text("DELETE FROM import_rows WHERE import_id = :id")
# A sequential scan of import_rows, which only holds imports in progress.
STAGED_ADDRESSES = text("SELECT recipient_email FROM import_rows WHERE import_id = :id")
# move_staged: every staged row becomes its email, its sender by rotation position. The
# ids are time-ordered (uuid7): the primary key index is appended to, not split at random.
MOVE_STAGED = text("""
    INSERT INTO emails (id, batch_id, user_id, sender_id, seq, recipient_email, due_at,
                        wake_at, fields)
    SELECT r.email_id, :batch_id, :user_id, s.sender_id, r.seq, r.recipient_email,
           to_timestamp(r.due_ms / 1000.0), to_timestamp(r.due_ms / 1000.0), r.fields
    FROM import_rows r
    JOIN unnest(CAST(:sender_ids AS uuid[])) WITH ORDINALITY AS s(sender_id, n)
      ON s.n = r.sender_index + 1
    WHERE r.import_id = :import_id
""")
COPY_STAGED = ("COPY import_rows (import_id, seq, sender_index, email_id, recipient_email, "
               "due_ms, fields) FROM STDIN WITH (FORMAT csv)")
# Session advisory locks: one invocation per import (SQS may deliver a message twice).
TRY_LOCK = text("SELECT pg_try_advisory_lock(hashtextextended(:key, 17))")
UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended(:key, 17))")


class PgImportStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    def create(self, user_id: uuid.UUID, object_key: str, import_id: uuid.UUID) -> None:
        with transaction(self._engine) as c:
            c.execute(CREATE, {"id": import_id, "user_id": user_id, "object_key": object_key})

    def get(self, import_id: uuid.UUID, user_id: uuid.UUID | None = None
            ) -> ImportRecord | None:
        with transaction(self._engine) as c:
            row = c.execute(GET, {"id": import_id, "user_id": user_id}).one_or_none()
        if row is None:
            return None
        return ImportRecord(row.id, row.user_id, row.status, row.object_key,
                            ImportCounts(row.rows, row.valid, row.invalid, row.duplicates,
                                         row.suppressed),
                            list(row.errors or []), row.request, row.checkpoint, row.batch_id)

    def start(self, import_id: uuid.UUID, user_id: uuid.UUID, request: dict[str, Any],
              batch_id: uuid.UUID) -> bool:
        with transaction(self._engine) as c:
            return bool(c.execute(START, {"id": import_id, "user_id": user_id,
                                          "request": json.dumps(request),
                                          "batch_id": batch_id}).rowcount)

    @contextmanager
    def exclusive(self, import_id: uuid.UUID) -> Iterator[bool]:
        with wrap_db_errors(), self._engine.connect() as c:
            key = {"key": str(import_id)}
            got = bool(c.execute(TRY_LOCK, key).scalar_one())
            c.commit()
            try:
                yield got
            finally:
                if got:
                    c.execute(UNLOCK, key)
                    c.commit()

    def staged_addresses(self, import_id: uuid.UUID) -> Iterator[str]:
        with transaction(self._engine) as c:
            result = c.execution_options(yield_per=50_000).execute(STAGED_ADDRESSES,
                                                                  {"id": import_id})
            for (address,) in result:
                yield address

    def save(self, import_id: uuid.UUID, rows: list[StagedRow], counts: ImportCounts,
             errors: list[dict[str, Any]], checkpoint: dict[str, Any]) -> None:
        with transaction(self._engine) as c:
            if rows:
                _copy(c, import_id, rows)
            c.execute(SAVE, {"id": import_id, **count_params(counts),
                             "errors": json.dumps(errors), "checkpoint": json.dumps(checkpoint)})

    def finish(self, record: ImportRecord, batch: dict[str, Any],
               sender_ids: list[uuid.UUID], shares: list[tuple[uuid.UUID, int, int]],
               hold: list[uuid.UUID], steps: list[dict[str, object]],
               counts: ImportCounts, errors: Sequence[dict[str, Any]] = ()) -> bool:
        assert record.batch_id is not None
        with wrap_db_errors(), self._engine.connect() as c, c.begin() as finishing:
            insert_batch(c, record, batch, sender_ids)
            moved = c.execute(MOVE_STAGED, {
                "batch_id": record.batch_id, "user_id": record.user_id,
                "sender_ids": [str(s) for s in sender_ids], "import_id": record.id}).rowcount
            if moved != counts.valid:  # import_rows is unlogged: a crash lost staged rows
                finishing.rollback()
                return False
            c.execute(DROP_STAGED, {"id": record.id})
            complete(c, record, shares, hold, steps, counts, errors)
        return True

    def direct(self, record: ImportRecord, sender_ids: list[uuid.UUID]) -> DirectImport:
        return DirectImport(self._engine, record, sender_ids)

    def fail(self, import_id: uuid.UUID, counts: ImportCounts,
             errors: list[dict[str, Any]]) -> None:
        with transaction(self._engine) as c:
            c.execute(DROP_STAGED, {"id": import_id})
            c.execute(END, {"id": import_id, "status": "failed", **count_params(counts),
                            "errors": json.dumps(errors)})


def _copy(connection: Connection, import_id: uuid.UUID, rows: list[StagedRow]) -> None:
    """COPY ... FROM STDIN on the transaction's own pg8000 connection (SQLAlchemy has no
    COPY): one round of CSV for the whole chunk."""
    text_out = io.StringIO()
    write = csv.writer(text_out, lineterminator="\n").writerow
    key = str(import_id)
    for row in rows:
        write((key, row.seq, row.sender_index, row.email_id, row.email, row.due_ms, row.fields))
    raw = connection.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.execute(COPY_STAGED, stream=io.BytesIO(text_out.getvalue().encode()))
    finally:
        cursor.close()
