"""What Chalice's `on_sqs_message` cannot say about the sender's event source mapping.

- ReportBatchItemFailures: without it Lambda deletes a whole batch when the handler
  returns, including the records it listed to retry (aws/chalice#2029).
- The batching window: lets a batch fill up to ten records before an invocation.
- MaximumConcurrency: the SQS poller stops at the sender's reserved concurrency instead of
  being throttled by it; a throttled batch goes back to the queue and each such receive
  counts toward the dead-letter queue's maxReceiveCount.

`chalice deploy` resets the batching window when it updates the mapping, so this runs
after every deploy (and changes nothing when the mapping already agrees).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RESPONSE_TYPES = ["ReportBatchItemFailures"]


@dataclass(frozen=True)
class Mapping:
    uuid: str
    changed: bool


def wanted(batching_window_seconds: int, max_concurrency: int) -> dict[str, Any]:
    return {"FunctionResponseTypes": RESPONSE_TYPES,
            "MaximumBatchingWindowInSeconds": batching_window_seconds,
            "ScalingConfig": {"MaximumConcurrency": max_concurrency}}


def wanted_imports(max_concurrency: int) -> dict[str, Any]:
    """The import function's mapping: batch size 1 (app.py's), no partial batches (a job
    that raises is received again and resumes from its checkpoint), and at most
    `max_concurrency` jobs at once (each holds a Postgres connection)."""
    return {"ScalingConfig": {"MaximumConcurrency": max_concurrency}}


def configure(lambda_client: Any, function_arn: str, queue_arn: str,
              settings: dict[str, Any]) -> Mapping:
    """Bring the one mapping from `queue_arn` to `function_arn` to `settings`."""
    found = lambda_client.list_event_source_mappings(
        EventSourceArn=queue_arn, FunctionName=function_arn)["EventSourceMappings"]
    if len(found) != 1:
        raise SystemExit(f"expected one event source mapping from {queue_arn} to "
                         f"{function_arn}, found {len(found)}: run again with --force to "
                         "have chalice deploy recreate it")
    current = found[0]
    if all(current.get(key) == value for key, value in settings.items()):
        return Mapping(current["UUID"], changed=False)
    lambda_client.update_event_source_mapping(UUID=current["UUID"], **settings)
    return Mapping(current["UUID"], changed=True)
