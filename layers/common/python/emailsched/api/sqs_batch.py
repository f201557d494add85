"""An SQS event (as Lambda delivers it, up to 10 records) through the sender service.

Returns Lambda's partial batch response: records to try again are listed in
`batchItemFailures` after their visibility was set to when they should come back. A poison
record (not JSON, names no email) goes straight to the dead-letter queue with its reason,
and the rest of the batch carries on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from emailsched.errors import PoisonMessage
from emailsched.ports import OutgoingMessage
from emailsched.services.sender import SenderService

log = logging.getLogger(__name__)


class ComeBackLater(Exception):
    """The record's emails are not finished; its visibility says when to look again."""


def handle_sqs_event(event: dict[str, Any], sender: SenderService, queue: Any,
                     dead_letters: Any, deadline: datetime | None = None) -> dict[str, Any]:
    """Past `deadline` no new group of emails is started: the records' remaining emails
    come back at once, for another invocation."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def handle(record: SQSRecord) -> None:
        receive_count = int(record.attributes.approximate_receive_count or 1)
        try:
            outcome = sender.handle(record.body, receive_count, deadline)
        except PoisonMessage as error:
            log.error("dead-lettering message %s: %s", record.message_id, error.message)
            dead_letters.send([OutgoingMessage(record.body)])
            return
        if not outcome.done:
            queue.change_visibility(record.receipt_handle, outcome.retry_in_seconds)
            raise ComeBackLater(outcome.retry_in_seconds)

    with processor(event["Records"], handle):
        processor.process()
    return dict(processor.response())
