"""An import written straight into emails, in one transaction (issue 17).

Every planned row goes in on one connection inside one transaction, and the batch row
with them at the end, so MVCC keeps them invisible to the pump and the dashboard until the
commit, and a failure or a killed process leaves nothing behind: no staging table, no
final move. The rows stream through a single COPY ... FROM STDIN fed by a thread of its
own, so Postgres writes one chunk while the job parses and plans the next: the two cores
overlap. While rows stream the transaction holds no lock on the batch's senders (emails
have no foreign keys, and the batch row is only inserted at the end): scheduling for them
goes on, and the end locks them in the order every other writer does.

Progress (the counts GET /imports/{id} shows) is written apart by the job, with
ImportStore.save: it is only a report, and the next attempt starts its counts from zero.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, exc

from emailsched.adapters.db.errors import wrap_db_errors
from emailsched.adapters.db.import_batches import complete, insert_batch
from emailsched.errors import ServiceUnavailable
from emailsched.ports import ImportCounts, ImportRecord, StagedRow

COPY_EMAILS = ("COPY emails (id, batch_id, user_id, sender_id, seq, recipient_email, due_at, "
               "wake_at, fields) FROM STDIN")
# Chunks waiting for the COPY: a few, so the job runs ahead of Postgres by little memory.
QUEUED_CHUNKS = 3


class DirectImport:
    """One import's transaction: `write` chunks of planned rows, then `finish` (commit) or
    `abandon` (roll back). Built by PgImportStore.direct; holds a connection until then."""

    def __init__(self, engine: Engine, record: ImportRecord,
                 sender_ids: list[uuid.UUID]) -> None:
        assert record.batch_id is not None
        self._engine, self._record = engine, record
        self._batch_id, self._sender_ids = str(record.batch_id), [str(s) for s in sender_ids]
        self._user_id = str(record.user_id)
        self._chunks: queue.Queue[bytes | None] = queue.Queue(QUEUED_CHUNKS)
        self._copied: int | None = None
        self._failure: BaseException | None = None
        self._times: dict[int, str] = {}
        with wrap_db_errors():
            self._connection: Connection = engine.connect()
            self._transaction = self._connection.begin()
        self._copier = threading.Thread(target=self._copy, name="import-copy", daemon=True)
        self._copier.start()

    # --- the rows ---------------------------------------------------------------------
    def write(self, rows: list[StagedRow]) -> None:
        """Hand a chunk to the COPY (blocks while Postgres is behind)."""
        if not rows:
            return
        chunk = self._encode(rows)
        while True:
            if self._failure is not None or not self._copier.is_alive():
                raise ServiceUnavailable("Postgres: the import's COPY stopped") \
                    from self._failure
            try:
                self._chunks.put(chunk, timeout=1.0)
                return
            except queue.Full:
                continue

    def _encode(self, rows: list[StagedRow]) -> bytes:
        """COPY's text format, a line per row built with one f-string: the ids, counts and
        times need no escaping, an address only where it holds one of COPY's special
        characters, a JSON text only a backslash (JSON escapes control characters)."""
        middles = [f"\t{self._batch_id}\t{self._user_id}\t{s}\t" for s in self._sender_ids]
        at, lines = self._at, []
        for seq, k, email_id, email, due_ms, fields in rows:
            due = at(due_ms)
            if _COPY_SPECIAL.search(email):
                email = _copy_escaped(email)
            if fields is None:
                fields = "\\N"
            elif "\\" in fields:
                fields = fields.replace("\\", "\\\\")
            lines.append(f"{email_id}{middles[k]}{seq}\t{email}\t{due}\t{due}\t{fields}\n")
        return "".join(lines).encode()

    def _at(self, ms: int) -> str:
        """timestamptz text of an epoch millisecond, the second's text cached: a list's
        due times come in runs within a second (or far fewer distinct seconds)."""
        second, milli = divmod(ms, 1000)
        text_ = self._times.get(second)
        if text_ is None:
            if len(self._times) > 100_000:
                self._times.clear()
            text_ = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S")
            self._times[second] = text_
        return f"{text_}.{milli:03d}+00"

    def _copy(self) -> None:
        raw = self._connection.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.execute(COPY_EMAILS, stream=iter(self._chunks.get, None))
            self._copied = cursor.rowcount
        except BaseException as error:  # reported by write() and finish()
            self._failure = error
            while self._chunks.get() is not None:  # drain: write() must never block
                pass
        finally:
            cursor.close()

    def _end_copy(self) -> int:
        self._chunks.put(None)
        self._copier.join()
        if self._failure is not None:
            raise ServiceUnavailable("Postgres: the import's COPY failed") from self._failure
        return int(self._copied or 0)

    # --- the end ----------------------------------------------------------------------
    def finish(self, batch: dict[str, Any], shares: list[tuple[uuid.UUID, int, int]],
               hold: list[uuid.UUID], steps: list[dict[str, object]],
               counts: ImportCounts, errors: Sequence[dict[str, Any]] = ()) -> None:
        """Commit the batch, its emails and the import `done`."""
        committed = False
        try:
            copied = self._end_copy()
            if copied != counts.valid:
                raise AssertionError(f"COPY wrote {copied} rows, the import counted "
                                     f"{counts.valid} valid")
            with wrap_db_errors():
                insert_batch(self._connection, self._record, batch,
                             [uuid.UUID(s) for s in self._sender_ids])
                complete(self._connection, self._record, shares, hold, steps, counts,
                         errors)
                self._close(commit=True)
                committed = True
        finally:
            if not committed:
                self._close(commit=False)

    def abandon(self) -> None:
        """Roll back: no batch, no emails (safe to call after a failure or twice)."""
        if self._copier.is_alive():
            self._chunks.put(None)
            self._copier.join()
        self._close(commit=False)

    def _close(self, commit: bool) -> None:
        if self._connection.closed:
            return
        try:
            if commit:
                self._transaction.commit()
            else:
                # A connection already lost has rolled back on the server: nothing to undo,
                # and the error that lost it is the one to report.
                with contextlib.suppress(exc.DBAPIError, OSError):
                    self._transaction.rollback()
        finally:
            self._connection.close()


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _copy_escaped(value: str) -> str:
    return _COPY_SPECIAL.sub(lambda found: _COPY_ESCAPES[found[0]], value)
