"""`emailsched dev`: the whole product on one machine (see emailsched.local.cluster).

Started again on the same folder it resumes: the ledger lives in the embedded Postgres, and
emails whose queue messages died with the old moto server are handed back to the pump.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO

from emailsched.local.cluster import Cluster

PUMP_INTERVAL_SECONDS = 1.0


class AlreadyRunning(Exception):
    pass


def run_dev(port: int, workers: int, data_dir: str) -> int:
    folder = Path(data_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        lock = _lock(folder)
    except AlreadyRunning as error:
        print(f"emailsched dev: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    cluster = Cluster(folder, port=port, env={**_dotenv(), **os.environ})
    started = time.monotonic()
    with lock:
        try:
            cluster.start_services()
            cluster.prepare()
            cluster.start_api()
            for _ in range(workers):
                cluster.start_worker()
            cluster.start_pump(PUMP_INTERVAL_SECONDS)
            cluster.wait_for_api()
            cluster.wait_until_ready()
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
