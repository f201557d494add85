"""The product as separate processes, the way the reliability suite breaks it.

`LoggedCluster` is emailsched's own Cluster whose children write their output to one log
file each, so a test can read a worker's log lines and a failed run can be diagnosed.
`kill_tree` and the `restart_*` helpers kill, stop and start the embedded services.
"""

from __future__ import annotations

import itertools
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil

from emailsched.local.cluster import Cluster
from emailsched.local.process_group import ManagedProcess

_log_numbers = itertools.count(1)


class LoggedChild(ManagedProcess):
    """A component process (api, worker, pump) with its output appended to `log_path`."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            super().__init__(name, subprocess.Popen(command, env=env, stdout=log,
                                                    stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL))

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class LoggedCluster(Cluster):
    """emailsched's Cluster with every child logging to `<folder>/logs/`."""

    def __init__(self, folder: Path, **kwargs: Any):
        super().__init__(folder, quiet=True, **kwargs)
        self.logs: list[LoggedChild] = []  # every child ever started, killed ones too

    def _start(self, name: str, ready_when: str, *arguments: str) -> Any:
        # Readiness is judged from the logs here (see `output`), not from `ready_when`.
        command = [sys.executable, "-m", "emailsched.cli", *arguments]
        log_path = self.folder / "logs" / f"{next(_log_numbers):03d}-{name}.log"
        child = LoggedChild(name, command, self._child_env(), log_path)
        self.children.append(child)  # type: ignore[arg-type]
        self.logs.append(child)
        return child

    def output(self, prefix: str = "") -> str:
        """The output of every child whose name starts with `prefix`, killed ones too."""
        return "".join(child.output() for child in self.logs if child.name.startswith(prefix))

    def kill_children(self) -> None:
        """SIGKILL every running component and forget them."""
        for child in list(self.children):
            if not child.exited():
                self.kill(child, signal.SIGKILL)
        self.children = []


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants (Postgres' backends die with it)."""
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    family = [*root.children(recursive=True), root]
    for process in family:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(family, timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
