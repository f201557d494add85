"""Issue 19 item 4: a burst of API requests served the way Lambda serves them keeps
Postgres connections within the configured bound.

Lambda runs many containers and hands each one invocation at a time. Here each container is
a process that builds its own bootstrap Container from the environment deploy.py gives the
API function (DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0) and serves its requests one after another
through functions/app.py's Chalice app (chalice.test.Client: the same routing, middleware
and error mapping as API Gateway's proxy integration). All containers start together; a
sampler counts the test database's rows in pg_stat_activity throughout. The bound is
containers x pool size, plus the sampler's own connection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.support.stack import Services, prepare

pytestmark = pytest.mark.integration
REPO_FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"

CONTAINERS, REQUESTS_EACH = 20, 10
POOL = {"DB_POOL_SIZE": "1", "DB_MAX_OVERFLOW": "0"}  # chalice_config.DB_POOLS[api_handler]
# Read routes that each check out a connection (dev-login writes the user first).
READS = ["/emails/stats", "/emails/scheduled", "/batches", "/emails/sent", "/auth/me"]

CONTAINER = """
import json, os, sys, time
from pathlib import Path
from chalice.test import Client
from emailsched import bootstrap
from emailsched.local.app_loader import load_app

app = load_app().app          # the module Lambda imports; the Container is built on use
go = Path(sys.argv[1])
reads = json.loads(sys.argv[2])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.01)
statuses = []
with Client(app) as client:   # one request at a time, like one Lambda container
    login = client.http.post("/auth/dev-login", headers={"content-type": "application/json"},
                             body=json.dumps({"email": f"burst{os.getpid()}@example.com"}))
    statuses.append(login.status_code)
    token = json.loads(login.body)["token"]
    for i in range(int(sys.argv[3]) - 1):
        answer = client.http.get(reads[i % len(reads)],
                                 headers={"authorization": f"Bearer {token}"})
        statuses.append(answer.status_code)
pool = bootstrap.container().engine.pool
print(json.dumps({"statuses": statuses, "pool": pool.size(), "overflow": pool._max_overflow}),
      flush=True)
"""


class Sampler(threading.Thread):
    """Counts the test database's backends every few milliseconds over one connection."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.engine = sqlalchemy.create_engine(url, poolclass=NullPool)
        self.database = make_url(url).database
        self.stop = threading.Event()
        self.peak, self.samples = 0, 0

    def run(self) -> None:
        with self.engine.connect() as connection:
            while not self.stop.is_set():
                count = connection.execute(
                    sqlalchemy.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"),
                    {"d": self.database}).scalar_one()
                connection.commit()
                self.peak, self.samples = max(self.peak, int(count)), self.samples + 1
                time.sleep(0.005)
        self.engine.dispose()


def _environment(services: Services, settings_env: dict[str, str]) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items()
            if k in ("PATH", "HOME", "LANG", "PYTHONPATH", "VIRTUAL_ENV")}
    return {**keep, **settings_env, **POOL, "EMAILSCHED_FUNCTIONS_DIR": str(REPO_FUNCTIONS),
            # Lambda sets this: Settings.on_lambda, JSON logs.
            "AWS_LAMBDA_FUNCTION_NAME": "emailsched-burst",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "LOG_LEVEL": "WARNING"}


def test_a_burst_of_lambda_style_requests_stays_within_the_connection_bound(
        services: Services, tmp_path: Path) -> None:
    settings = services.settings()
    container = prepare(settings)  # migrated, clean
    container.engine.dispose()
    settings_env = {"DATABASE_URL": settings.DATABASE_URL, "REDIS_URL": settings.REDIS_URL,
                    "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
                    "AWS_ENDPOINT_URL": services.aws_endpoint_url,
                    "SEND_QUEUE_NAME": settings.SEND_QUEUE_NAME, "AUTH_MODE": "dev",
                    "SESSION_SECRET": str(settings.SESSION_SECRET)}
    go = tmp_path / "go"
    env = _environment(services, settings_env)
    processes = [subprocess.Popen(
        [sys.executable, "-c", CONTAINER, str(go), json.dumps(READS), str(REQUESTS_EACH)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        for _ in range(CONTAINERS)]
    try:
        for process in processes:  # every container imported and waiting
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready", process.stderr
        sampler = Sampler(settings.DATABASE_URL)
        sampler.start()
        time.sleep(0.2)
        baseline = sampler.peak  # the sampler alone
        started = time.monotonic()
        go.touch()
        outputs = [process.communicate(timeout=300) for process in processes]
        elapsed = time.monotonic() - started
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    time.sleep(0.1)
    sampler.stop.set()
    sampler.join(timeout=10)
    reports = []
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    statuses = [s for report in reports for s in report["statuses"]]
    assert len(statuses) == CONTAINERS * REQUESTS_EACH
    assert set(statuses) == {200}, statuses
    assert {(r["pool"], r["overflow"]) for r in reports} == {(1, 0)}
    bound = CONTAINERS * int(POOL["DB_POOL_SIZE"]) + 1  # + the sampler
    print(f"\n{CONTAINERS} containers x {REQUESTS_EACH} requests in {elapsed:.1f} s: "
          f"peak {sampler.peak} Postgres connections (sampler alone {baseline}), "
          f"bound {bound}, {sampler.samples} samples")
    assert baseline == 1
    assert sampler.peak <= bound
    # The containers really overlapped: more than a handful held connections at once.
    assert sampler.peak > CONTAINERS // 2
