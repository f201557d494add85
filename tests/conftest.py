"""Fixtures for the integration and end-to-end tiers: real Postgres, Redis, moto's server
and SMTP sinks. Unit tests use none of them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# boto3 must never find real credentials: every AWS call here goes to moto's server.
os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"})
os.environ.pop("AWS_PROFILE", None)

pytest_plugins = ["tests.support.google_keys"]


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def services(scratch: Path) -> Iterator[object]:
    from emailsched.local.embedded import start_moto
    from tests.support.stack import Services, admin_postgres_url, create_database, redis_url

    admin, stop_postgres = admin_postgres_url(scratch)
    database, drop = create_database(admin)
    redis, stop_redis = redis_url(scratch)
    moto = start_moto(None, scratch / "moto")
    try:
        yield Services(database, redis, moto.url)
    finally:
        moto.stop()
        drop()
        stop_redis()
        stop_postgres()


@pytest.fixture
def sink() -> Iterator[object]:
    from tests.support.smtp_sinks import RecordingSink

    recording = RecordingSink()
    recording.start()
    try:
        yield recording
    finally:
        recording.stop()
