"""Tracking hits on their way to the database (issue 27): answered at once, stored in
batches, never lost when a process is killed.

Each API process appends every hit, one JSON line, to a write-ahead file of its own
(`hits-<pid>.wal`) with one write() before the route answers: once write() returns the
kernel holds the bytes, so a process killed at any point after it loses nothing (a crash
of the machine itself may lose what was not yet on disk; fsync per hit would cost a disk
flush per request). A flusher thread, every TRACKING_FLUSH_SECONDS, renames the file aside
(appends go on into a new one), writes its hits in one statement and deletes it. At start,
and on each round, it also replays what a dead process left (its file and any it had set
aside). A hit may so be written twice (killed between the write and the delete): the
store skips a hit whose id it holds already.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
Sink = Callable[[Sequence[dict[str, Any]]], object]
CHUNK = 5000  # hits per statement when a backlog is replayed


class HitLog:
    def __init__(self, directory: str, sink: Sink, every_seconds: float = 0.5):
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._sink, self._every = sink, every_seconds
        self._pid = os.getpid()
        self._append_lock, self._flush_lock = threading.Lock(), threading.Lock()
        self._rounds = 0
        self._fd = self._open()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def append(self, hit: dict[str, Any]) -> None:
        """The hit is the kernel's when this returns (one write() of one line)."""
        line = (json.dumps(hit, separators=(",", ":")) + "\n").encode()
        with self._append_lock:
            os.write(self._fd, line)

    def start(self) -> None:
        """The flusher thread (its first round replays what dead processes left)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hit-flusher", daemon=True)
            self._thread.start()

    def flush(self) -> int:
        """Store every hit appended so far, and what dead processes left; how many."""
        with self._flush_lock:
            self._set_aside()
            return sum(self._replay(path) for path in self._pending())

    def close(self) -> None:
        """Stops the flusher and stores what is left (again: nothing more)."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.flush()
        except Exception:  # the file stays: the next start replays it
            log.exception("hits left in %s for the next start", self._dir)
        os.close(self._fd)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.flush()
            except Exception:  # the database is away: the files wait for the next round
                log.exception("could not store tracking hits; will try again")
            self._stop.wait(self._every)

    def _active(self, pid: int) -> Path:
        return self._dir / f"hits-{pid}.wal"

    def _open(self) -> int:
        return os.open(self._active(self._pid), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def _set_aside(self) -> None:
        with self._append_lock:
            if os.fstat(self._fd).st_size == 0:
                return
            self._rounds += 1
            os.rename(self._active(self._pid),
                      self._dir / f"hits-{self._pid}-{self._rounds}.flushing")
            os.close(self._fd)
            self._fd = self._open()

    def _pending(self) -> list[Path]:
        """Our files set aside, and every file of a process that is gone."""
        found = []
        for path in sorted(self._dir.glob("hits-*")):
            pid = int(path.name.split("-")[1].split(".")[0])
            mine = pid == self._pid and path.suffix == ".flushing"
            if mine or (pid != self._pid and not _alive(pid)):
                found.append(path)
        return found

    def _replay(self, path: Path) -> int:
        try:
            hits = _read(path)
        except FileNotFoundError:  # another process replayed a dead one's file first
            return 0
        for start in range(0, len(hits), CHUNK):
            self._sink(hits[start:start + CHUNK])
        path.unlink(missing_ok=True)
        return len(hits)


def _read(path: Path) -> list[dict[str, Any]]:
    hits = []
    for line in path.read_bytes().splitlines():
        try:
            hits.append(json.loads(line))
        except ValueError:  # a line torn by a kill mid-write: never answered, so never owed
            log.warning("skipped a torn line in %s", path.name)
    return hits


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
