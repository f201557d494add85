"""`emailsched worker`: the local stand-in for Lambda's SQS event source.

Long-polls the send queue, hands each batch of up to 10 messages to the very handler
Chalice deploys, and honours its partial batch response: deletes what succeeded and
leaves the failures, whose visibility the handler already set.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
from collections.abc import Callable
from typing import Any

from emailsched.local.lambda_events import LocalContext, sqs_event
from emailsched.ports import ReceivedMessage

log = logging.getLogger("emailsched.worker")
Handler = Callable[[dict[str, Any], Any], Any]


class QueuePoller:
    def __init__(self, queue: Any, handler: Handler, *, queue_arn: str, region: str,
                 wait_seconds: int = 1, batch_size: int = 10):
        self._queue, self._handler = queue, handler
        self._arn, self._region = queue_arn, region
        self._wait, self._batch = wait_seconds, batch_size

    def run(self, stop: threading.Event) -> None:
        # moto's long poll sees a delayed message become visible only when its wait ends,
        # so each poller looks about once per wait; pollers started together would all
        # look at the same moments. Spread out, they notice a message sooner (benchmarks:
        # lateness). Real SQS answers a long poll as soon as a message is visible.
        stop.wait(random.uniform(0, self._wait))
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("poll failed; trying again")
                stop.wait(1)

    def poll_once(self) -> int:
        messages = self._queue.receive(self._batch, self._wait)
        if messages:
            self._deliver(messages)
        return len(messages)

    def _deliver(self, messages: list[ReceivedMessage]) -> None:
        try:
            response = self._handler(sqs_event(messages, self._arn, self._region),
                                     LocalContext(function_name="emailsched-sender"))
        except Exception:
            # Like Lambda: an invocation that raised leaves the whole batch on the queue.
            log.exception("sender handler raised; the batch will be received again")
            return
        failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        done = [m.receipt_handle for m in messages if m.message_id not in failed]
        if done:
            self._queue.delete(done)


# A poller back from the `sent` commit at the point of no return must write the final "."
# before anything else: a worker killed in between has recorded emails it never delivered.
# While another poller runs Python code, the one back from its socket waits for the GIL
# up to the switch interval (5 ms by default), many times the commit's own round trip
# (0.3 ms here); with several pollers, hand the GIL over sooner.
POLLER_SWITCH_INTERVAL_SECONDS = 0.0002


def run_pollers(make_poller: Callable[[], QueuePoller], concurrency: int,
                stop: threading.Event) -> list[threading.Thread]:
    if concurrency > 1:
        sys.setswitchinterval(POLLER_SWITCH_INTERVAL_SECONDS)
    threads = []
    for n in range(concurrency):
        thread = threading.Thread(target=make_poller().run, args=(stop,), daemon=True,
                                  name=f"poller-{n}")
        thread.start()
        threads.append(thread)
    return threads
