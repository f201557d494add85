"""The queue definitions, shared by `emailsched setup`, infra/deploy.py and the LocalStack
init hook so the three cannot drift."""

from __future__ import annotations

import json
from typing import Any

# Six times the sender function's timeout (AWS's advice for Lambda event sources).
SENDER_TIMEOUT_SECONDS = 60
VISIBILITY_TIMEOUT_SECONDS = 6 * SENDER_TIMEOUT_SECONDS
# Throttling returns a message at most THROTTLE_RECEIVES_BEFORE_RELEASE times before the
# sender hands it back to the ledger, and retries at most MAX_SEND_ATTEMPTS times, so a
# healthy message never gets near this; only a poison message does.
MAX_RECEIVE_COUNT = 50
RETENTION_SECONDS = 14 * 24 * 3600


def dead_letter_attributes() -> dict[str, str]:
    return {"MessageRetentionPeriod": str(RETENTION_SECONDS)}


def send_queue_attributes(dead_letter_arn: str) -> dict[str, str]:
    return {
        "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
        "MessageRetentionPeriod": str(RETENTION_SECONDS),
        "ReceiveMessageWaitTimeSeconds": "20",
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
        ),
    }


def ensure_queues(sqs: Any, queue_name: str) -> str:
    """Create (or update) the send queue and its dead-letter queue; return the send queue URL."""
    dlq_url = _create_or_update(sqs, f"{queue_name}-dlq", dead_letter_attributes())
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    return _create_or_update(sqs, queue_name, send_queue_attributes(dlq_arn))


def _create_or_update(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    """CreateQueue refuses changed attributes on an existing queue: then set them."""
    try:
        url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except sqs.exceptions.QueueNameExists:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


# The import function runs up to Lambda's 15 minutes, then goes on in a next invocation
# from its checkpoint; a message is hidden a little longer than that. A job that keeps
# failing (a database that stays away) ends in the dead-letter queue after a few tries.
IMPORT_TIMEOUT_SECONDS = 900
IMPORT_MAX_RECEIVE_COUNT = 5


def ensure_import_queue(sqs: Any, queue_name: str) -> str:
    """Create (or update) the imports queue and its dead-letter queue; return its URL."""
    dlq_url = _create_or_update(sqs, f"{queue_name}-dlq", dead_letter_attributes())
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    return _create_or_update(sqs, queue_name, import_queue_attributes(dlq_arn))


def import_queue_attributes(dead_letter_arn: str) -> dict[str, str]:
    """The imports queue's attributes (also infra/deploy.py's and its template's)."""
    return {
        "VisibilityTimeout": str(IMPORT_TIMEOUT_SECONDS + 60),
        "MessageRetentionPeriod": str(RETENTION_SECONDS),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letter_arn,
                                     "maxReceiveCount": IMPORT_MAX_RECEIVE_COUNT})}
