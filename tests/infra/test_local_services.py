"""docker-compose.yml and the LocalStack init hook (Docker cannot run here: the hook is run
against moto's server instead, the compose file is checked for shape)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from emailsched.adapters.queues import MAX_RECEIVE_COUNT, send_queue_attributes
from tests.infra.support import REPO, client

pytestmark = pytest.mark.integration

HOOK = REPO / "localstack" / "ready.d" / "10_emailsched_queues.py"


def test_compose_runs_postgres_redis_localstack_and_a_mail_catcher() -> None:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "localstack", "mailpit"}
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert "--appendonly" in services["redis"]["command"]
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    assert "127.0.0.1:1025:1025" in services["mailpit"]["ports"]
    mounts = services["localstack"]["volumes"]
    assert "./localstack/ready.d:/etc/localstack/init/ready.d:ro" in mounts
    assert "./layers/common/python:/opt/emailsched/python:ro" in mounts
    assert services["localstack"]["environment"]["EMAILSCHED_PYTHONPATH"] == \
        "/opt/emailsched/python"
    for name, service in services.items():
        assert all(port.startswith("127.0.0.1:") for port in service["ports"]), name


def test_hook_is_executable() -> None:
    assert os.access(HOOK, os.X_OK)
    assert HOOK.read_text().startswith("#!")


def test_hook_creates_the_queues_from_the_code_definition(aws: dict[str, str],
                                                          session: Any) -> None:
    env = {**os.environ, **aws, "SEND_QUEUE_NAME": "emailsched-hook",
           "EMAILSCHED_PYTHONPATH": str(REPO / "layers" / "common" / "python")}
    for _ in range(2):  # LocalStack may run it again on restart
        done = subprocess.run([sys.executable, str(HOOK)], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    sqs = client(session, aws, "sqs")
    url = sqs.get_queue_url(QueueName="emailsched-hook")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    dlq_url = sqs.get_queue_url(QueueName="emailsched-hook-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    wanted = send_queue_attributes(dlq_arn)
    assert attributes["VisibilityTimeout"] == wanted["VisibilityTimeout"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn
    assert int(redrive["maxReceiveCount"]) == MAX_RECEIVE_COUNT
