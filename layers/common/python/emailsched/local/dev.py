"""`emailsched dev`: the whole product on one machine (see emailsched.local.cluster).

Started again on the same folder it resumes: the ledger lives in the embedded Postgres, and
emails whose queue messages died with the old moto server are handed back to the pump.

Killed (even with SIGKILL) it leaves nothing running: every process it starts is recorded
in `<data dir>/processes.json` and ended by its watchdog, and a later run on the same folder
ends whatever that record still names before it starts (emailsched.local.process_group).
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from emailsched.errors import EmailschedError
from emailsched.local import process_group
from emailsched.local.cluster import Cluster

PUMP_INTERVAL_SECONDS = 1.0
# The reply poller reads the dev Maildirs this often (a real mailbox: REPLY_POLL_SECONDS).
REPLY_INTERVAL_SECONDS = 2.0


class AlreadyRunning(Exception):
    pass


def run_dev(port: int, workers: int, data_dir: str, aws: str = "moto") -> int:
    folder = Path(data_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        lock = _lock(folder)
    except AlreadyRunning as error:
        print(f"emailsched dev: {error}", file=sys.stderr)
        return 1
    with lock:
        # What a killed earlier run left behind could hold our port or our files.
        record = folder / "processes.json"
        process_group.end_recorded(record)
        if _port_in_use(port):
            print(f"emailsched dev: port {port} is in use by another program; choose "
                  "another with --port", file=sys.stderr)
            return 1
        process_group.watch(record)
        try:
            return _run(folder, port, workers, aws)
        finally:
            process_group.unwatch()


def _run(folder: Path, port: int, workers: int, aws: str = "moto") -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    cluster = Cluster(folder, port=port, env={**_dotenv(), **os.environ}, aws=aws)
    started = time.monotonic()
    try:
        try:
            cluster.start_services()
            cluster.prepare()
            cluster.start_api()
            for _ in range(workers):
                cluster.start_worker()
            cluster.start_pump(PUMP_INTERVAL_SECONDS)
            cluster.start_imports()
            cluster.start_replies(REPLY_INTERVAL_SECONDS)
            cluster.start_webhooks()
            cluster.wait_for_api()
            cluster.wait_until_ready()
        except (EmailschedError, TimeoutError, subprocess.CalledProcessError) as error:
            # The component's own output, above, says why; one line here, no traceback.
            print(f"emailsched dev: could not start: {error}", file=sys.stderr)
            return 1
        _print_banner(cluster, time.monotonic() - started)
        while not stop.is_set():
            if any(child.exited() for child in cluster.children):
                print("emailsched dev: a component stopped; shutting down", file=sys.stderr)
                break
            stop.wait(0.5)
        print("\nemailsched dev: stopping...", flush=True)
    finally:
        cluster.stop()
    return 0


def _port_in_use(port: int) -> bool:
    """Whether the API could not listen on 127.0.0.1:port (bound as http.server binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _lock(folder: Path) -> IO[str]:
    handle = (folder / "dev.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        raise AlreadyRunning(f"another `emailsched dev` (pid {pid}) is running on "
                             f"{folder}; stop it first or pass --data-dir") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _dotenv() -> dict[str, str]:
    path = Path(".env")
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if "=" in line and not line.lstrip().startswith("#"))
    return {k.strip(): v.strip().strip('"') for k, v in pairs}


def _print_banner(cluster: Cluster, seconds: float) -> None:
    base = cluster.api_url
    lines = [
        "",
        f"  emailsched is running (ready in {seconds:.1f} s)",
        f"    dashboard + API  {base}/",
        f"    OpenAPI          {base}/openapi.json",
    ]
    if "inbox" in cluster.urls:
        lines.append(f"    SMTP inbox       {cluster.urls['inbox']}/  (messages.json for scripts)")
    lines += [f"    {name:<16} {where}" for name, where in cluster.urls.items() if name != "inbox"]
    lines += ["", "  Sign in with any email address (dev login). Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)
