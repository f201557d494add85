"""Child processes whose output is printed line by line behind a component prefix, and
the lifeline that ends every process `emailsched dev` started when it dies, `kill -9`
included.

Three mechanisms, from the fastest to the last resort:

- `die_with_parent`, a `preexec_fn`: on Linux, `PR_SET_PDEATHSIG` has the kernel send the
  child SIGTERM the moment its parent dies. Applied only from the main thread, since the
  signal fires when the *thread* that started the child ends. ChildProcess and the embedded
  servers use it.
- The watchdog: `watch(record)` starts a small process (this module run with `--watch`)
  reading a pipe whose only write end this process holds. `register_child(pid, stop=...)`
  sends it, and appends to `record` in the data folder, a process to end. When the pipe
  closes (this process exited or was killed) the watchdog ends every registered process
  still running, newest first: it runs the `stop` command if one was given, else sends
  SIGTERM, and SIGKILLs what is left after STOP_TIMEOUT_SECONDS. This is what ends a server
  that is no one's child: pgserver's Postgres is daemonized by `pg_ctl`, so it registers
  `pg_ctl stop` as its way to stop.
- `end_recorded(record)`: a later run on the same folder ends whatever an earlier run
  recorded and still runs (in case its watchdog was killed too) before it starts anything.

A process is identified by its pid and start time, so a reused pid is never ended. To have
a new kind of server die with `emailsched dev` (LocalStack, say), start it with
`preexec_fn=die_with_parent` if it is a direct child, and register it:

    register_child(process.pid)                          # SIGTERM, then SIGKILL
    register_child(pid, stop=["pg_ctl", "-D", d, "stop"], user="pgserver")

ManagedProcess registers itself. Outside a watched run (tests and scripts that start
servers themselves) register_child does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import psutil

STOP_TIMEOUT_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


def prefixed(name: str, line: str) -> None:
    sys.stdout.write(f"{name:<8}| {line}\n")
    sys.stdout.flush()


def _ignore(name: str, line: str) -> None:
    pass


class ManagedProcess:
    """A component process: its pid, whether it exited, and a stop that escalates."""

    def __init__(self, name: str, process: subprocess.Popen[bytes]):
        self.name = name
        self.process = process
        register_child(process.pid)

    @property
    def pid(self) -> int:
        return self.process.pid

    def exited(self) -> bool:
        return self.process.poll() is not None

    def terminate(self) -> None:
        if not self.exited():
            self.process.send_signal(signal.SIGTERM)

    def wait_or_kill(self, timeout: float) -> None:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ChildProcess(ManagedProcess):
    def __init__(self, name: str, command: list[str], env: dict[str, str],
                 quiet: bool = False, ready_when: str | None = None):
        """`ready_when`: the output line fragment that says the component runs."""
        self.ready = threading.Event()
        self._ready_when = ready_when
        self._show = _ignore if quiet else prefixed
        super().__init__(name, subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL,
                                                preexec_fn=die_with_parent_hook()))
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,),
                                        daemon=True)
        self._reader.start()

    def _read(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if self._ready_when is not None and self._ready_when in line:
                self.ready.set()
            self._show(self.name, line)

    def wait_or_kill(self, timeout: float) -> None:
        super().wait_or_kill(timeout)
        self._reader.join(timeout=1)


# --- dying with the parent -------------------------------------------------------------

def _load_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Looked up once here: after fork, the child should do as little as it can.
_prctl = _load_prctl()


def die_with_parent() -> None:
    """preexec_fn: ask the kernel for SIGTERM when the parent dies (Linux; else nothing)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def die_with_parent_hook() -> Any:
    """`die_with_parent` when called from the main thread, else None (see the docstring)."""
    if _prctl is None or threading.current_thread() is not threading.main_thread():
        return None
    return die_with_parent


# --- the watchdog ----------------------------------------------------------------------

def _entry(pid: int, stop: list[str] | None, user: str | None) -> dict[str, Any] | None:
    try:
        started = psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return None
    return {"pid": pid, "started": started, "stop": stop, "user": user}


class Lifeline:
    """The write end of a watchdog's pipe, and the record of what it was told."""

    def __init__(self, record: Path):
        self.record = record
        self._lock = threading.Lock()
        read, self._write = os.pipe()  # both non-inheritable: no other child holds them
        try:
            self.watchdog = subprocess.Popen(
                [sys.executable, "-m", "emailsched.local.process_group", "--watch",
                 str(os.getpid())], stdin=read, stdout=subprocess.DEVNULL,
                # Its own session: Ctrl-C in the terminal must not end it before it cleans up.
                start_new_session=True)
        finally:
            os.close(read)

    def register(self, pid: int, stop: list[str] | None = None,
                 user: str | None = None) -> None:
        entry = _entry(pid, stop, user)
        if entry is None:
            return
        line = (json.dumps(entry) + "\n").encode()
        with self._lock:
            with self.record.open("ab") as record:
                record.write(line)
            with contextlib.suppress(OSError):
                os.write(self._write, line)

    def close(self, timeout: float = 2 * STOP_TIMEOUT_SECONDS) -> None:
        """Let the watchdog end what still runs and exit; forget the record."""
        with self._lock, contextlib.suppress(OSError):
            os.close(self._write)
        try:
            self.watchdog.wait(timeout)
        except subprocess.TimeoutExpired:
            self.watchdog.kill()
            self.watchdog.wait()
        self.record.unlink(missing_ok=True)


_lifeline: Lifeline | None = None


def watch(record: Path) -> Lifeline:
    """Start this process's watchdog; from now on, register_child records into `record`."""
    global _lifeline
    if _lifeline is None:
        _lifeline = Lifeline(record)
    return _lifeline


def unwatch() -> None:
    """Close the lifeline (the watchdog ends what still runs) and forget it."""
    global _lifeline
    if _lifeline is not None:
        _lifeline.close()
        _lifeline = None


def register_child(pid: int, stop: list[str] | None = None, user: str | None = None) -> None:
    """Have `pid` ended when this process dies: by running `stop` (as `user`) if given,
    else by SIGTERM; SIGKILL after STOP_TIMEOUT_SECONDS. A no-op unless watch() was called."""
    if _lifeline is not None:
        _lifeline.register(pid, stop, user)


def end_recorded(record: Path) -> int:
    """End what an earlier run recorded in `record` and still runs; return how many."""
    try:
        lines = record.read_text().splitlines()
    except OSError:
        return 0
    entries = []
    for line in lines:
        with contextlib.suppress(ValueError):
            entries.append(json.loads(line))
    ended = end_all(entries)
    record.unlink(missing_ok=True)
    return ended


def _running(entry: dict[str, Any]) -> psutil.Process | None:
    try:
        process = psutil.Process(int(entry["pid"]))
        if abs(process.create_time() - float(entry["started"])) > 0.5 or _gone(process):
            return None
        return process
    except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError, TypeError, ValueError):
        return None


def _gone(process: psutil.Process) -> bool:
    # A zombie has exited; whoever adopted it reaps it later.
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def end_all(entries: Iterable[dict[str, Any]]) -> int:
    """End every entry still running, newest first; return how many were running."""
    running = [(entry, process) for entry in reversed(list(entries))
               if (process := _running(entry)) is not None]
    for entry, process in running:
        with contextlib.suppress(psutil.Error, OSError, subprocess.SubprocessError):
            if entry.get("stop"):
                done = subprocess.run(entry["stop"], user=entry.get("user"), check=False,
                                      capture_output=True, stdin=subprocess.DEVNULL,
                                      timeout=STOP_TIMEOUT_SECONDS)
                if done.returncode == 0:
                    continue
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    left = [process for _, process in running]
    while left:
        left = [process for process in left if not _gone(process)]
        if left and time.monotonic() > deadline:
            for process in left:
                with contextlib.suppress(psutil.Error):
                    process.kill()
            break
        time.sleep(0.05)
    return len(running)


class _Stop(Exception):
    pass


def _raise_stop(*_: Any) -> None:
    raise _Stop


def _run_watchdog(parent: int) -> int:
    """Read entries from stdin until it closes or `parent` is gone, then end them. SIGTERM
    ends them at once; Ctrl-C and a closed terminal are for the parent to handle."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_stop)
    entries: list[dict[str, Any]] = []
    buffer = b""
    stdin = sys.stdin.fileno()
    try:
        while True:
            ready, _, _ = select.select([stdin], [], [], 1.0)
            if not ready:
                if os.getppid() != parent:
                    break  # the parent is gone though the pipe is open (it leaked)
                continue
            chunk = os.read(stdin, 65536)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                with contextlib.suppress(ValueError):
                    entries.append(json.loads(line))
    except _Stop:
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    end_all(entries)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--watch"]:
        sys.exit(_run_watchdog(int(sys.argv[2])))
