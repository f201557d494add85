"""Child processes whose output is printed line by line behind a component prefix."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from typing import IO


def prefixed(name: str, stream: IO[bytes]) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        sys.stdout.write(f"{name:<8}| {line}\n")
        sys.stdout.flush()


def _drain(name: str, stream: IO[bytes]) -> None:
    for _ in iter(stream.readline, b""):
        pass


class ChildProcess:
    def __init__(self, name: str, command: list[str], env: dict[str, str],
                 quiet: bool = False):
        self.name = name
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        assert self.process.stdout is not None
        target = _drain if quiet else prefixed
        self._reader = threading.Thread(target=target, args=(name, self.process.stdout),
                                        daemon=True)
        self._reader.start()

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
        self._reader.join(timeout=1)
