"""The write-ahead file of tracking hits: every hit appended reaches the store, a process
killed right after answering loses none, and a store that is away loses none either."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from emailsched.adapters.hit_log import HitLog

pytestmark = pytest.mark.unit


class Store:
    def __init__(self) -> None:
        self.hits: list[dict[str, Any]] = []
        self.down = False

    def write(self, hits: Sequence[dict[str, Any]]) -> None:
        if self.down:
            raise ConnectionError("database away")
        self.hits.extend(hits)


def test_appended_hits_are_stored_on_flush_once(tmp_path: Path):
    store = Store()
    log = HitLog(str(tmp_path), store.write)
    for n in range(3):
        log.append({"hit": str(n)})
    assert log.flush() == 3 and log.flush() == 0
    log.append({"hit": "3"})
    log.close()
    assert [h["hit"] for h in store.hits] == ["0", "1", "2", "3"]
    assert list(tmp_path.glob("hits-*")) in ([], [tmp_path / f"hits-{os.getpid()}.wal"])


def test_a_store_that_is_away_keeps_the_hits_for_the_next_round(tmp_path: Path):
    store = Store()
    log = HitLog(str(tmp_path), store.write)
    log.append({"hit": "a"})
    store.down = True
    with pytest.raises(ConnectionError):
        log.flush()
    log.append({"hit": "b"})
    store.down = False
    assert log.flush() == 2
    assert sorted(h["hit"] for h in store.hits) == ["a", "b"]
    log.close()


def test_hits_of_a_killed_process_are_replayed_by_the_next_one(tmp_path: Path):
    script = (
        "import os, sys, time\n"
        "from emailsched.adapters.hit_log import HitLog\n"
        f"log = HitLog({str(tmp_path)!r}, lambda hits: None, every_seconds=60)\n"
        "for n in range(5): log.append({'hit': str(n)})\n"
        "print('answered', flush=True)\n"
        "time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             env={**os.environ})
    assert child.stdout is not None and child.stdout.readline().strip() == b"answered"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)

    store = Store()
    log = HitLog(str(tmp_path), store.write)
    assert log.flush() == 5
    assert [h["hit"] for h in store.hits] == ["0", "1", "2", "3", "4"]
    assert not list(tmp_path.glob(f"hits-{child.pid}*"))
    log.close()


def test_a_torn_line_is_skipped_and_the_rest_kept(tmp_path: Path):
    (tmp_path / "hits-999999999.wal").write_bytes(b'{"hit":"ok"}\n{"hit":"to')
    store = Store()
    log = HitLog(str(tmp_path), store.write)
    assert log.flush() == 1 and store.hits == [{"hit": "ok"}]
    log.close()
