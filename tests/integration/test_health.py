"""GET /health through HTTP: no session, each check timed, 503 when one backing service is
unreachable, and nothing secret in the answer."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from emailsched import bootstrap
from tests.support.stack import Services, prepare, serving_api

pytestmark = pytest.mark.integration


@pytest.fixture
def healthy_api(services: Services) -> Iterator[str]:
    prepare(services.settings())
    with serving_api() as url:
        yield url


@pytest.fixture
def api_without_redis(services: Services) -> Iterator[str]:
    settings = prepare(services.settings()).settings
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    # The container's Redis client is built lazily: point it at the closed port before use.
    broken = bootstrap.Container(settings.model_copy(
        update={"REDIS_URL": f"redis://:hunter2@127.0.0.1:{closed_port}/0"}))
    bootstrap.reset(broken)
    with serving_api() as url:
        yield url


def test_health_needs_no_session_and_times_each_check(healthy_api: str) -> None:
    answer = requests.get(f"{healthy_api}/health", timeout=10)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "queue"}
    for check in body["checks"].values():
        assert check["ok"] is True
        assert isinstance(check["ms"], int | float) and check["ms"] >= 0


def test_an_unreachable_redis_is_503_degraded_and_names_no_secret(
        api_without_redis: str) -> None:
    answer = requests.get(f"{api_without_redis}/health", timeout=30)

    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["queue"]["ok"] is True
    assert "hunter2" not in answer.text
