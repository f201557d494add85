"""What Chalice cannot create: the send queue and the imports queue, each with its
dead-letter queue, and the secret that holds the stage's connection strings.

Both are read before they are written, so a run with nothing to change writes nothing (a
new secret version, for instance, is made only when a value differs).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from emailsched.adapters.queues import (
    dead_letter_attributes,
    ensure_import_queue,
    ensure_queues,
    import_queue_attributes,
    send_queue_attributes,
)
from emailsched_infra.stage import Stage

REQUIRED_SECRETS = ("DATABASE_URL", "REDIS_URL", "SESSION_SECRET")
# UNSUBSCRIBE_KEY: unset, the API and the sender derive the same key from SESSION_SECRET.
# The OAuth client secrets (issue 25): their client ids are plain settings (--set).
OPTIONAL_SECRETS = ("SMTP_PASSWORD", "UNSUBSCRIBE_KEY", "GOOGLE_OAUTH_CLIENT_SECRET",
                    "MICROSOFT_OAUTH_CLIENT_SECRET")
SECRET_KEYS = REQUIRED_SECRETS + OPTIONAL_SECRETS


@dataclass(frozen=True)
class Queues:
    send_url: str
    send_arn: str
    dead_letter_arn: str
    changed: bool


@dataclass(frozen=True)
class Secret:
    arn: str
    version_id: str
    values: dict[str, str]
    changed: bool


def _attributes(sqs: Any, url: str) -> dict[str, str]:
    return dict(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])


def _matches(actual: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    for name, value in wanted.items():
        if name == "RedrivePolicy":
            # AWS answers with its own JSON spelling: compare the meaning, not the text.
            got = json.loads(actual.get(name) or "{}")
            want = json.loads(value)
            if (got.get("deadLetterTargetArn") != want["deadLetterTargetArn"]
                    or int(got.get("maxReceiveCount", -1)) != want["maxReceiveCount"]):
                return False
        elif actual.get(name) != value:
            return False
    return True


def _current_queues(sqs: Any, name: str, dead_letter_name: str,
                    attributes: Callable[[str], dict[str, str]]) -> Queues | None:
    try:
        dlq_url = sqs.get_queue_url(QueueName=dead_letter_name)["QueueUrl"]
        send_url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        return None
    dlq = _attributes(sqs, dlq_url)
    send = _attributes(sqs, send_url)
    wanted = attributes(dlq["QueueArn"])
    if not (_matches(dlq, dead_letter_attributes()) and _matches(send, wanted)):
        return None
    return Queues(send_url, send["QueueArn"], dlq["QueueArn"], changed=False)


def _ensure(sqs: Any, name: str, dead_letter_name: str,
            attributes: Callable[[str], dict[str, str]],
            create: Callable[[Any, str], str]) -> Queues:
    current = _current_queues(sqs, name, dead_letter_name, attributes)
    if current is not None:
        return current
    url = create(sqs, name)
    arn = _attributes(sqs, url)["QueueArn"]
    dlq_url = sqs.get_queue_url(QueueName=dead_letter_name)["QueueUrl"]
    return Queues(url, arn, _attributes(sqs, dlq_url)["QueueArn"], changed=True)


def ensure_stage_queues(sqs: Any, stage: Stage) -> Queues:
    """Create or correct the send queue and its dead-letter queue with the definitions the
    code uses."""
    return _ensure(sqs, stage.queue_name, stage.dead_letter_queue_name,
                   send_queue_attributes, ensure_queues)


def ensure_stage_import_queues(sqs: Any, stage: Stage) -> Queues:
    """The same for the imports queue (the import function's event source). `send_*` of the
    answer name the imports queue."""
    return _ensure(sqs, stage.import_queue_name, stage.import_dead_letter_queue_name,
                   import_queue_attributes, ensure_import_queue)


def ensure_secret(secrets: Any, stage: Stage, given: Mapping[str, str],
                  check: Callable[[dict[str, str]], None]) -> Secret:
    """Store the stage's secret values: those `given` replace stored ones, the rest are kept.
    `check` sees the values before anything is written."""
    given = {key: value for key, value in given.items() if key in SECRET_KEYS and value}
    try:
        answer = secrets.get_secret_value(SecretId=stage.secret_name)
    except secrets.exceptions.ResourceNotFoundException:
        answer = None
    stored = json.loads(answer["SecretString"]) if answer else {}
    values = {**stored, **given}
    missing = [key for key in REQUIRED_SECRETS if not values.get(key)]
    if missing:
        raise SystemExit(f"{stage.secret_name} has no {', '.join(missing)}: export "
                         f"{' '.join(missing)} for this run (they are kept for the next)")
    check(values)
    text = json.dumps(values, sort_keys=True)
    if answer is None:
        created = secrets.create_secret(
            Name=stage.secret_name, SecretString=text,
            Description=f"emailsched {stage.name}: connection strings and signing secret")
        return Secret(created["ARN"], created["VersionId"], values, changed=True)
    if values == stored:
        return Secret(answer["ARN"], answer["VersionId"], values, changed=False)
    put = secrets.put_secret_value(SecretId=stage.secret_name, SecretString=text)
    return Secret(put["ARN"], put["VersionId"], values, changed=True)

