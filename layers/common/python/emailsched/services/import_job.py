"""The import job (issue 17): a CSV in S3 becomes a batch, read as a stream.

Rows are validated, duplicates (case-insensitive, the first kept) and suppressed addresses
dropped, and every kept row planned by its sender's SendPlanner (recipient i to sender i
mod n, as the JSON path), so the plan is exactly the one `POST /emails/schedule` makes for
the same list. The planned rows are written one of two ways:

- direct (the usual way): the batch and every row go into emails in one transaction,
  COPYed while the next chunk is read (adapters/db/direct_import.py), committed with the
  import `done`. Nothing is visible before the commit, and an invocation that dies leaves
  nothing: the next one starts from the top. It needs the whole list in one invocation
  (a million rows take about 11 s of Lambda's 15 minutes), so after DIRECT_TRIES attempts
  that died or ran out of time, when the first invocation has less time than the file
  needs at DIRECT_MIN_BYTES_PER_SECOND, or when IMPORT_ROWS_PER_INVOCATION caps one,
- staged: rows are staged with COPY a chunk at a time, with the checkpoint that includes
  them in the same transaction (the planners' state carried from chunk to chunk and
  invocation to invocation): an invocation that dies goes on from the last chunk, nothing
  twice. The last step moves them into emails with the batch in one transaction.

Any invalid row fails the import: it reads on to report every row's problem (the first
100), stores no batch and drops what it wrote. A recipient the checks refuse (issue 29: a
disposable domain, or one without a mail server) is dropped instead, counted `invalid`
and reported by line with its reason, and the import goes on; its domains are looked up
while the file is read (services/recipient_checks.DomainWatch), each once. With
`skipInvalid` an invalid row is left out and reported the same way, and the rest become the
batch.

Counts: rows = valid + invalid + duplicates + suppressed.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from emailsched.domain.recipient_csv import CsvLayout, CsvRowError, RecipientCsvReader
from emailsched.domain.recipient_domains import REFUSAL_MESSAGES
from emailsched.domain.recipient_zones import recipient_zone
from emailsched.domain.senders import SenderStatus
from emailsched.domain.templates import compile_templates, missing_message, required_fields
from emailsched.domain.window_plan import SendPlanner
from emailsched.errors import EmailschedError, NotFound
from emailsched.ports import (
    DirectImportWriter,
    ImportCounts,
    ImportObjects,
    ImportRecord,
    ImportStore,
    Quotas,
    SchedulingStore,
    SenderAccount,
    StagedRow,
    SuppressionStore,
)
from emailsched.services.recipient_checks import DomainWatch, RecipientChecks
from emailsched.services.sender_plans import BatchShape, Pacing, share_planner

log = logging.getLogger(__name__)

MAX_ERRORS = 100
# Seconds kept back from the invocation's timeout: the last chunk and the next message.
SAFETY_SECONDS = 60.0
CHUNK_ROWS = 20_000
# Attempts at writing an import straight into emails in one transaction before it is read
# again the staged way, which keeps its progress from invocation to invocation.
DIRECT_TRIES = 2
# A list this many bytes a second is surely read the direct way (this machine does about
# 5 MB/s): a first invocation with less time than its file needs at this pace stages it
# from the start instead of spending the invocation on an attempt that cannot end.
DIRECT_MIN_BYTES_PER_SECOND = 1_000_000


@dataclass(frozen=True)
class ImportLimits:
    max_rows: int = 1_000_000
    max_bytes: int = 256 * 1024 * 1024
    rows_per_invocation: int = 0  # 0: as many as the time allows
    chunk_rows: int = CHUNK_ROWS  # rows per COPY and checkpoint


class ImportFailed(Exception):
    """The file cannot become a batch; `line` 0 for the file as a whole."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


class ByteLines:
    """Lines of UTF-8 text from byte chunks, with the byte offset and physical line after
    the last line handed out: where a next invocation starts reading."""

    def __init__(self, chunks: Iterable[bytes], offset: int, line: int):
        self._chunks, self.offset, self.next_line = chunks, offset, line
        self._first = offset == 0

    def __iter__(self) -> Iterator[str]:
        pending = b""
        for chunk in self._chunks:
            *complete, pending = (pending + chunk).split(b"\n")
            if self._first and complete:
                yield self._line(complete.pop(0) + b"\n")
            for raw in complete:  # the common case inline: a million lines
                self.offset += len(raw) + 1
                self.next_line += 1
                yield raw.decode("utf-8", errors="replace") + "\n"
        if pending:
            yield self._line(pending)

    def _line(self, raw: bytes) -> str:
        self.offset += len(raw)
        self.next_line += 1
        line = raw.decode("utf-8", errors="replace")
        if self._first:
            self._first = False
            line = line.removeprefix("\ufeff")
        return line


def uuid7(ms: int, counter: int, rand: int) -> str:
    """A time-ordered UUID (version 7 layout): `counter` keeps one chunk's ids in order."""
    value = ((ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | ((counter >> 30) & 0xFFF) << 64
             | 0b10 << 62 | (counter & 0x3FFF_FFFF) << 32 | (rand & 0xFFFF_FFFF))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid7_run(ms: int, first: int, count: int, rand: int) -> list[str]:
    """uuid7(ms, first + i, rand) for i in range(count), formatted a run at a time: for
    counters below 2**30 (every list within MAX_IMPORT_ROWS) only the last two groups vary."""
    if first + count > 1 << 30:
        return [uuid7(ms, counter, rand) for counter in range(first, first + count)]
    head = f"{ms & 0xFFFF_FFFF_FFFF:012x}"
    prefix, tail = f"{head[:8]}-{head[8:]}-7000-", f"{rand & 0xFFFF_FFFF:08x}"
    runs = (0x8000_0000 | counter for counter in range(first, first + count))
    return [f"{prefix}{x >> 16:04x}-{x & 0xFFFF:04x}{tail}" for x in runs]


_json_string = json.encoder.encode_basestring_ascii


def fields_json(fields: dict[str, str], names: dict[str, str]) -> str:
    """json.dumps(fields) for a dict of str, a field name's JSON text cached in `names`:
    a million rows share a handful of names."""
    parts = []
    for name, value in fields.items():
        key = names.get(name)
        if key is None:
            key = names[name] = _json_string(name)
        parts.append(f"{key}: {_json_string(value)}")
    return "{" + ", ".join(parts) + "}"


class ImportJob:
    def __init__(self, store: ImportStore, objects: ImportObjects, batches: SchedulingStore,
                 suppressions: SuppressionStore | None, quotas: Quotas | None, pacing: Pacing,
                 limits: ImportLimits, checks: RecipientChecks | None = None):
        self._store, self._objects, self._batches = store, objects, batches
        self._suppressions, self._quotas = suppressions, quotas
        self._pacing, self._limits, self._checks = pacing, limits, checks

    def run(self, import_id: uuid.UUID, seconds_left: float | None = None) -> bool:
        """Works on the import for at most `seconds_left` (None: no limit); True when it
        ended (done or failed, or nothing to do), False when a next invocation goes on."""
        with self._store.exclusive(import_id) as mine:
            if not mine:
                return True  # another invocation has it; its own message continues it
            record = self._store.get(import_id)
            if record is None or record.status != "importing" or record.request is None:
                return True
            with _collector_paused():
                return _Run(self, record, seconds_left).go()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a list is read: its rows are tuples, dicts and
    strings freed by their reference counts, and the collector's passes over the objects
    alive (a chunk, the set of addresses seen) cost a sixth of the job's CPU. It runs
    once at the end instead."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect()


class _Run:
    """One invocation's work on one import."""

    def __init__(self, job: ImportJob, record: ImportRecord, seconds_left: float | None):
        self.job, self.record = job, record
        self.request: dict[str, Any] = record.request or {}
        self.deadline = None if seconds_left is None else time.monotonic() + seconds_left
        point = record.checkpoint or {}
        staged_progress = "offset" in point
        # Counts and errors carry over only with staged progress: an attempt at the direct
        # way that died reported counts of rows that are not stored.
        self.counts = record.counts if staged_progress else ImportCounts()
        self.errors = list(record.errors) if staged_progress else []
        self.direct_tries = int(point.get("directTries", 0))
        self.direct = (not staged_progress and job._limits.rows_per_invocation == 0
                       and self.direct_tries < DIRECT_TRIES)
        self.writer: DirectImportWriter | None = None
        self.field_names: dict[str, str] = {}
        self.failed = bool(point.get("failed", False))
        self.offset, self.line = int(point.get("offset", 0)), int(point.get("line", 1))
        self.layout = CsvLayout.from_json(point["layout"]) if "layout" in point else None
        self.read_here = 0
        self.skip_invalid = bool(self.request.get("skipInvalid", False))
        self.planners: list[SendPlanner] = []
        self.senders: list[SenderAccount] = []
        self.starts: list[int] = []
        self.domains = None if job._checks is None else DomainWatch(job._checks)
        self.pending_lines: list[int] = []  # the line of each row pending, for refusals

    def go(self) -> bool:
        try:
            try:
                if not self.record.checkpoint:
                    size = self._check_size()
                    if self.direct and not self._time_for(size):
                        self.direct = False
                self._prepare(self.record.checkpoint or {})
                if self.direct:
                    self._open_direct()
                finished = self._read()
            except ImportFailed as failure:
                self._error(failure.line, failure.message)
                return self._fail()
            if not finished:
                if self.direct:  # out of time the direct way: the next invocation stages
                    self._drop_writer()
                    self.job._store.save(self.record.id, [], ImportCounts(), [],
                                         {"directTries": DIRECT_TRIES})
                return False
            return self._end()
        finally:
            self._drop_writer()

    def _time_for(self, size: int) -> bool:
        """Whether this invocation surely has the time to read `size` bytes the direct way."""
        return (self.deadline is None
                or size / DIRECT_MIN_BYTES_PER_SECOND <= self.deadline - time.monotonic())

    def _open_direct(self) -> None:
        """The direct way: every row into emails in one transaction, this invocation. The
        attempt is counted first, so an import that keeps dying this way (a process
        killed, a list too long for the time) is read the staged way next."""
        point = {"directTries": self.direct_tries + 1}
        self.job._store.save(self.record.id, [], self.counts, self.errors, point)
        self.record = replace(self.record, checkpoint=point)
        self.writer = self.job._store.direct(self.record, [s.id for s in self.senders])

    def _drop_writer(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.abandon()

    # --- setting up -------------------------------------------------------------------
    def _check_size(self) -> int:
        size = self.job._objects.size(self.record.object_key)
        if size is None:
            raise ImportFailed(0, "the file was not uploaded (PUT it to uploadUrl first)")
        if size == 0:
            raise ImportFailed(0, self._empty_upload())
        if size > self.job._limits.max_bytes:
            raise ImportFailed(0, f"the file is {size} bytes, over the limit of "
                                  f"{self.job._limits.max_bytes} (MAX_IMPORT_BYTES)")
        return size

    def _empty_upload(self) -> str:
        """Why an uploaded file is empty, as far as its stored Content-Type tells."""
        stored = self.job._objects.content_type(self.record.object_key) or "none"
        wanted = self.job._objects.upload_headers().get("Content-Type", "")
        if stored.split(";")[0].strip().lower() == wanted:
            return "the uploaded file is empty"
        return (f"the uploaded file is empty: it was PUT with Content-Type {stored}, and "
                f"the upload must carry uploadHeaders (Content-Type: {wanted})")

    def _prepare(self, point: dict[str, Any]) -> None:
        r = self.request
        steps = r.get("steps") or []
        templates = compile_templates(r["subject"], r["body"], [
            (s.get("subject") if isinstance(s.get("subject"), str) else None,
             str(s.get("body", ""))) for s in steps])
        self.needed = required_fields(templates)
        self.window_set = r.get("sendingWindow") is not None
        shape = self._shape()
        sender_ids = [uuid.UUID(s) for s in r["senderIds"]]
        with self.job._batches.transaction() as session:
            try:
                self.senders = session.lock_senders(self.record.user_id, sender_ids)
            except NotFound:
                raise ImportFailed(0, "a sender of this batch was deleted") from None
            self.planners = [share_planner(session, s.id, s.limits, int(r["startMs"]),
                                           int(r["hourlyLimit"]), int(r["delayMs"]),
                                           self.job._pacing, shape) for s in self.senders]
        for planner, state in zip(self.planners, point.get("planners") or [], strict=False):
            planner.restore(state)
        self.seen: set[str] = set()
        if not self.direct:
            self.seen.update(a.casefold()
                             for a in self.job._store.staged_addresses(self.record.id))
            self.seen.update(point.get("seenNotStaged") or [])

    def _shape(self) -> BatchShape:
        r = self.request
        return BatchShape.stored(r.get("sendingWindow"), int(r.get("randomDelayMs", 0)),
                                 int(r["planSeed"]))

    # --- reading ----------------------------------------------------------------------
    def _read(self) -> bool:
        lines = ByteLines(self.job._objects.read(self.record.object_key, self.offset),
                          self.offset, self.line)
        reader = RecipientCsvReader(lines, self.layout, self.line)
        pending: list[tuple[str, dict[str, str]]] = []
        # Rows are counted a chunk at a time (a dataclass replace per row showed in the
        # profile): `since_save` rows read since the counts were last brought up to date.
        since_save = 0
        chunk_rows, max_rows = self.job._limits.chunk_rows, self.job._limits.max_rows
        room = max_rows - self.counts.rows
        try:
            for item in reader:
                since_save += 1
                if since_save > room:
                    self._count(rows=since_save)
                    raise ImportFailed(item.line, f"more than {max_rows} "
                                                  "rows (MAX_IMPORT_ROWS)")
                if isinstance(item, CsvRowError):
                    self._invalid(item.line, item.message)
                else:
                    self._take(item.line, item.email, item.fields, pending)
                if since_save >= chunk_rows:
                    self._count(rows=since_save)
                    room -= since_save
                    self.layout = reader.layout
                    self._save(pending, lines)
                    pending, since_save = [], 0
                    if self._out_of_budget():
                        return False
        except EmailschedError as error:  # the header: InvalidRequest with its line
            self._count(rows=since_save)
            raise ImportFailed(1, error.message) from None
        self._count(rows=since_save)
        self.layout = reader.layout
        self._save(pending, lines)
        if self.domains is not None and self.domains.unknown_domains:  # once an import
            log.warning("recipient check: DNS did not answer for %d domain(s) of import "
                        "%s; their recipients are kept", self.domains.unknown_domains,
                        self.record.id)
        return True

    def _take(self, line: int, email: str, fields: dict[str, str],
              pending: list[tuple[str, dict[str, str]]]) -> None:
        if not self.needed.keys() <= fields.keys():
            missing = sorted(name for name in self.needed if name not in fields)
            self._invalid(line, missing_message(missing, self.needed))
            return
        if self.window_set and recipient_zone(fields) is not None:
            self._invalid(line, "a timezone field with a sendingWindow is not supported in "
                                "imports yet: schedule this list as JSON, or drop the column")
            return
        key = email.casefold()
        if key in self.seen:
            self._count(duplicates=1)
            return
        self.seen.add(key)
        pending.append((email, fields))
        if self.domains is not None:
            self.domains.see(email)
            self.pending_lines.append(line)

    def _invalid(self, line: int, message: str) -> None:
        # skipInvalid: the row is left out and reported; otherwise it fails the import.
        self.failed = self.failed or not self.skip_invalid
        self._count(invalid=1)
        self._error(line, message)

    def _error(self, line: int, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"line": line, "message": message})

    def _count(self, **more: int) -> None:
        self.counts = replace(self.counts, **{k: getattr(self.counts, k) + v
                                             for k, v in more.items()})

    def _out_of_budget(self) -> bool:
        per_invocation = self.job._limits.rows_per_invocation
        self.read_here += self.job._limits.chunk_rows
        if per_invocation and self.read_here >= per_invocation:
            return True
        return self.deadline is not None and time.monotonic() > self.deadline

    # --- a chunk ----------------------------------------------------------------------
    def _save(self, pending: list[tuple[str, dict[str, str]]], lines: ByteLines) -> None:
        pending = self._unrefused(pending)
        if self.direct:
            self._write(pending)
            return
        kept = self._unsuppressed(pending)
        staged: list[StagedRow] = []
        if not self.failed:
            staged = self._plan(kept)
        self._count(valid=len(kept))
        # Once failed nothing is staged: remember what was read, for duplicates after it.
        not_staged = [email.casefold() for email, _ in kept] if self.failed else []
        point = {"offset": lines.offset, "line": lines.next_line,
                 "layout": None if self.layout is None else self.layout.to_json(),
                 "failed": self.failed, "planners": [p.state() for p in self.planners],
                 "seenNotStaged": [*(self.record.checkpoint or {}).get("seenNotStaged", []),
                                   *not_staged] if self.failed else []}
        if point["layout"] is None:
            del point["layout"]
        self.job._store.save(self.record.id, staged, self.counts, self.errors, point)
        self.record = replace(self.record, checkpoint=point)

    def _write(self, pending: list[tuple[str, dict[str, str]]]) -> None:
        """A chunk the direct way: once a row failed the import nothing more is written
        (and what was is rolled back); the rest is read for its counts and errors."""
        kept = self._unsuppressed(pending)
        if self.failed:
            self._drop_writer()
        elif self.writer is not None:
            self.writer.write(self._plan(kept))
        self._count(valid=len(kept))
        # The counts so far, for GET /imports/{id}: a report, apart from the rows.
        self.job._store.save(self.record.id, [], self.counts, self.errors,
                             self.record.checkpoint or {})

    def _unrefused(self, pending: list[tuple[str, dict[str, str]]]
                   ) -> list[tuple[str, dict[str, str]]]:
        """`pending` less the rows the recipient checks refuse, each reported by line."""
        row_lines, self.pending_lines = self.pending_lines, []
        if self.domains is None or not pending:
            return pending
        refused = self.domains.refused([email for email, _ in pending])
        if not refused:
            return pending
        for i, reason in sorted(refused.items()):
            self._error(row_lines[i], REFUSAL_MESSAGES[reason])
        self._count(invalid=len(refused))
        return [row for i, row in enumerate(pending) if i not in refused]

    def _unsuppressed(self, pending: list[tuple[str, dict[str, str]]]
                      ) -> list[tuple[str, dict[str, str]]]:
        if not pending or self.job._suppressions is None:
            return pending
        suppressed = self.job._suppressions.suppressed_among(
            self.record.user_id, [email for email, _ in pending])
        if not suppressed:
            return pending
        kept = [entry for entry in pending if entry[0].lower() not in suppressed]
        self._count(suppressed=len(pending) - len(kept))
        return kept

    def _plan(self, kept: list[tuple[str, dict[str, str]]]) -> list[StagedRow]:
        n, planners, names = len(self.planners), self.planners, self.field_names
        seq = self.counts.valid
        ids = uuid7_run(int(time.time() * 1000), seq, len(kept), random.getrandbits(32))
        rows = []
        for (email, fields), email_id in zip(kept, ids, strict=True):
            k = seq % n
            rows.append(StagedRow(seq, k, email_id, email, planners[k].next(),
                                  fields_json(fields, names) if fields else None))
            seq += 1
        return rows

    # --- the end ----------------------------------------------------------------------
    def _end(self) -> bool:
        if self.failed:
            return self._fail()
        if self.counts.rows == 0:
            self._error(0, "the file has a header but no rows")
            return self._fail()
        if self.counts.valid == 0:
            self._error(0, "no valid recipient is left" if self.counts.invalid
                        else "every recipient is on your suppression list")
            return self._fail()
        key = None
        if self.job._quotas is not None:
            try:
                key = self.job._quotas.reserve_recipients(self.record.user_id,
                                                          self.counts.valid, time.time())
            except EmailschedError as error:
                self._error(0, error.message)
                return self._fail()
        done = False
        try:
            done = self._finish()
        finally:
            if not done and key is not None and self.job._quotas is not None:
                self.job._quotas.release(key, self.counts.valid)
        if not done:
            self._error(0, "the rows read were lost by a database restart: "
                           "schedule the import again")
            return self._fail()
        self._drop_object()
        return True

    def _finish(self) -> bool:
        start = int(self.request["startMs"])
        ends = [p.last_ms if p.planned else start for p in self.planners]
        n = len(self.planners)
        shares = [(s.id, len(range(k, self.counts.valid, n)), end)
                  for k, (s, end) in enumerate(zip(self.senders, ends, strict=True))]
        batch = self._batch_values(max(ends))
        hold = [s.id for s in self.senders if s.status == SenderStatus.FAILING]
        steps = list(self.request.get("steps") or [])
        if self.writer is not None:  # on an error, go() abandons it
            self.writer.finish(batch, shares, hold, steps, self.counts, self.errors)
            self.writer = None
            return True
        return self.job._store.finish(self.record, batch, [s.id for s in self.senders],
                                      shares, hold, steps, self.counts, self.errors)

    def _batch_values(self, end_ms: int) -> dict[str, Any]:
        """The batch row, once its last email is planned."""
        r, start, shape = self.request, int(self.request["startMs"]), self._shape()
        return {"sender_id": self.senders[0].id, "sender_name": r.get("senderName", ""),
                "subject": r["subject"], "body": r["body"], "start_time": _moment(start),
                "delay_ms": int(r["delayMs"]), "hourly_limit": int(r["hourlyLimit"]),
                "email_count": self.counts.valid,
                "duplicates_removed": self.counts.duplicates,
                "estimated_end_time": _moment(end_ms),
                "sending_window": shape.window_json(),
                "random_delay_ms": shape.random_delay_ms, "plan_seed": shape.seed,
                "suppressed_removed": self.counts.suppressed}

    def _fail(self) -> bool:
        self._drop_writer()
        self.job._store.fail(self.record.id, self.counts, self.errors)
        self._drop_object()
        return True

    def _drop_object(self) -> None:
        with contextlib.suppress(EmailschedError):  # the bucket's lifecycle would anyway
            self.job._objects.delete(self.record.object_key)


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
