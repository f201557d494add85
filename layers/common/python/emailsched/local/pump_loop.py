"""`emailsched pump`: the local stand-in for the EventBridge schedule."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from emailsched.local.lambda_events import LocalContext, scheduled_event
from emailsched.services.pump import SAFETY_SECONDS

log = logging.getLogger("emailsched.pump")


def run_pump(handler: Callable[[dict[str, Any], Any], Any], interval: float,
             stop: threading.Event, region: str, once: bool = False) -> None:
    event = scheduled_event(region, "arn:aws:events:local:000000000000:rule/emailsched-pump")
    # Each run may top a backlog up for about one interval, as a Lambda run tops up for
    # about its timeout, so a stop is noticed within an interval or so.
    timeout = SAFETY_SECONDS + interval
    while not stop.is_set():
        try:
            report = handler(event, LocalContext(function_name="emailsched-pump",
                                                 timeout_seconds=timeout))
            if report and (report.get("enqueued") or report.get("takenBack")):
                log.info("pump: %s", report)
        except Exception:
            log.exception("pump run failed")
        if once:
            return
        stop.wait(interval)
