"""Child processes whose output is printed line by line behind a component prefix."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from typing import IO


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
                                                stdin=subprocess.DEVNULL))
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
