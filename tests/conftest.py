"""Fixtures for the integration and end-to-end tiers: real Postgres, Redis, moto's server
(and LocalStack, for the tests that run on both emulators) and SMTP sinks. Unit tests use
none of them."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# boto3 must never find real credentials: every AWS call here goes to moto's server.
os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"})
os.environ.pop("AWS_PROFILE", None)

pytest_plugins = ["tests.support.google_keys"]
# The emulators `aws_services` runs its tests on; EMAILSCHED_TEST_AWS=moto skips LocalStack.
AWS_EMULATORS = [name.strip() for name in
                 os.environ.get("EMAILSCHED_TEST_AWS", "moto,localstack").split(",")
                 if name.strip()]


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


@pytest.fixture(scope="session")
def localstack_url(scratch: Path) -> Iterator[str]:
    """One LocalStack (host mode) for the session, started on first use. Its virtualenv is
    the machine's shared one (emailsched.local.localstack.shared_venv_dir), built once."""
    from emailsched.local.localstack import start_localstack

    server = start_localstack(None, scratch / "localstack")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(params=AWS_EMULATORS)
def aws_services(request: pytest.FixtureRequest, services: object) -> object:
    """`services` with its SQS (S3, KMS) on each emulator in turn: for the scenarios that
    touch the queue, so that neither emulator's quirks can hide a bug."""
    if request.param == "moto":
        return services
    url = request.getfixturevalue("localstack_url")
    return dataclasses.replace(services, aws_endpoint_url=url)  # type: ignore[type-var]


@pytest.fixture
def sink() -> Iterator[object]:
    from tests.support.smtp_sinks import RecordingSink

    recording = RecordingSink()
    recording.start()
    try:
        yield recording
    finally:
        recording.stop()
