"""Cold start: importing functions/app.py (what every Lambda does first) against `import boto3`.

Each figure is the median of N fresh interpreters under `python -X importtime`, boto3 alone
and the app alternating in the same run, so both see the same machine. The figure is the
cumulative time of the root module's line (`boto3`, `app`); the interpreter's own start-up
is in neither. The first invocation of each function then imports what it uses when its
wiring is built (bootstrap.py's cached properties): those figures are shown too, without a
target, measured with a clock around the wiring in another fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from emailsched.bench.report import Section
from emailsched.bench.stats import median

TARGET_RATIO = 2.5
FUNCTIONS = Path(__file__).resolve().parents[5] / "functions"
# Settings that let the wiring be built without reaching any service (nothing connects).
_OFFLINE = {"DATABASE_URL": "postgresql+pg8000://nobody@127.0.0.1:1/none",
            "REDIS_URL": "redis://127.0.0.1:1/0", "AUTH_MODE": "google",
            "GOOGLE_CLIENT_ID": "bench.apps.googleusercontent.com", "SESSION_SECRET": "x" * 32,
            "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
WIRING = {"API (auth, queries, scheduling, pump kick)":
          "c.auth; c.queries; c.scheduling; c.pump",
          "sender (sender, queues, batch processor)":
          "c.sender; c.queue; c.dead_letter_queue; import emailsched.api.sqs_batch",
          "pump (pump, queue)": "c.pump; c.queue"}


@dataclass(frozen=True)
class ImportLine:
    module: str
    depth: int
    self_us: int
    cumulative_us: int


def parse_importtime(stderr: str) -> list[ImportLine]:
    lines = []
    for raw in stderr.splitlines():
        if not raw.startswith("import time:") or "self [us]" in raw:
            continue
        parts = raw.removeprefix("import time:").split("|")
        self_us, cumulative, name = parts[0].strip(), parts[1].strip(), parts[2]
        depth = (len(name) - len(name.lstrip(" "))) // 2
        lines.append(ImportLine(name.strip(), depth, int(self_us), int(cumulative)))
    return lines


def import_profile(module: str) -> list[ImportLine]:
    """`python -X importtime -c "import <module>"` in a fresh interpreter, from functions/."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          cwd=FUNCTIONS, capture_output=True, text=True, timeout=120,
                          check=True, env={**os.environ, "PYTHONPATH": str(FUNCTIONS)})
    return parse_importtime(done.stderr)


def root_ms(profile: list[ImportLine], module: str) -> float:
    return next(line.cumulative_us for line in profile
                if line.depth == 0 and line.module == module) / 1000


def wiring_ms(statements: str) -> float:
    """Milliseconds to build one function's wiring after the app is imported (its lazy
    imports; no connection is opened)."""
    script = ("import sys, time\nimport app\nfrom emailsched import bootstrap\n"
              "c = bootstrap.container()\nt = time.perf_counter()\n"
              f"{statements}\nprint((time.perf_counter() - t) * 1000)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=FUNCTIONS, capture_output=True,
                          text=True, timeout=120, check=True,
                          env={**os.environ, **_OFFLINE, "PYTHONPATH": str(FUNCTIONS)})
    return float(done.stdout.strip().splitlines()[-1])


def run_cold_start(runs: int, section: Section) -> None:
    boto3_ms, app_ms, profiles = [], [], []
    for _ in range(runs):
        boto3_ms.append(root_ms(import_profile("boto3"), "boto3"))
        profile = import_profile("app")
        app_ms.append(root_ms(profile, "app"))
        profiles.append(profile)
    boto3, app = median(boto3_ms), median(app_ms)
    ratio = app / boto3
    section.add("import boto3 alone", boto3, "ms")
    section.add("import functions/app.py", app, "ms")
    section.add("app / boto3", ratio, "x", f"<= {TARGET_RATIO:g}x", ratio <= TARGET_RATIO)
    for name, statements in WIRING.items():
        section.add(f"first use, {name}", median([wiring_ms(statements) for _ in range(3)]),
                    "ms")
    typical = profiles[app_ms.index(sorted(app_ms)[len(app_ms) // 2])]
    heaviest = sorted((line for line in typical if line.module != "app"),
                      key=lambda line: line.cumulative_us, reverse=True)[:10]
    section.details.append("top 10 modules by cumulative import time in the median app "
                           "import (depth = nesting under app):")
    section.details += [f"  {line.cumulative_us / 1000:7.1f} ms  depth {line.depth}  "
                        f"{line.module}" for line in heaviest]
    section.details.append("each run (ms), boto3: " + ", ".join(f"{v:.0f}" for v in boto3_ms)
                           + "; app: " + ", ".join(f"{v:.0f}" for v in app_ms))
    section.notes.append(f"median of {runs} fresh interpreters each, `python -X importtime`, "
                         "alternating; 'first use' = the lazy imports a function's first "
                         "invocation pays when bootstrap builds its wiring (median of 3, no "
                         "target)")
