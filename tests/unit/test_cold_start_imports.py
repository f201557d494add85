"""A cold start loads only what the function uses (issue 17, cold start).

Each check runs in a fresh interpreter, so modules other tests imported cannot hide a
regression. Nothing here is timed: the time is a figure of `emailsched bench --only cold_start`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WATCHED = ["alembic", "smtplib", "emailsched.adapters.smtp", "google.auth", "sqlalchemy",
           "boto3", "redis", "jwt", "aws_lambda_powertools.utilities.batch"]
ENV = {"DATABASE_URL": "postgresql+pg8000://nobody@127.0.0.1:1/none",
       "REDIS_URL": "redis://127.0.0.1:1/0", "AUTH_MODE": "google",
       "GOOGLE_CLIENT_ID": "client.apps.googleusercontent.com",
       "SESSION_SECRET": "x" * 32, "AWS_ACCESS_KEY_ID": "testing",
       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}


def _loaded_after(statements: str) -> dict[str, bool]:
    """Which watched modules are in sys.modules after importing functions/app.py and
    running `statements` (which see `app` and `container`; nothing connects anywhere)."""
    script = (
        f"import json, os, sys\nos.environ.update({ENV!r})\nsys.path.insert(0, 'functions')\n"
        "import app\nfrom emailsched import bootstrap\n"
        "container = bootstrap.container() if " + repr(bool(statements)) + " else None\n"
        f"{statements}\n"
        f"print(json.dumps({{m: m in sys.modules for m in {WATCHED!r}}}))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=True)
    loaded: dict[str, bool] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_app_loads_no_driver_migration_tool_or_auth_library() -> None:
    loaded = _loaded_after("")
    assert [name for name, present in loaded.items() if present] == []


@pytest.mark.parametrize("wiring", [
    "container.auth; container.queries; container.scheduling; container.pump",
])
def test_the_api_path_loads_no_smtp_google_auth_or_alembic(wiring: str) -> None:
    loaded = _loaded_after(wiring)
    assert not loaded["smtplib"] and not loaded["emailsched.adapters.smtp"]
    assert not loaded["google.auth"] and not loaded["alembic"]
    assert loaded["sqlalchemy"]  # the wiring did run


def test_the_sender_path_loads_no_google_auth_jwt_or_alembic() -> None:
    loaded = _loaded_after("container.sender; container.queue; container.dead_letter_queue\n"
                           "from emailsched.api import sqs_batch")
    assert not loaded["google.auth"] and not loaded["jwt"] and not loaded["alembic"]
    assert loaded["emailsched.adapters.smtp"]


def test_the_pump_path_loads_no_smtp_google_auth_or_alembic() -> None:
    loaded = _loaded_after("container.pump")
    assert not loaded["smtplib"] and not loaded["google.auth"] and not loaded["alembic"]
    assert loaded["boto3"]
