"""`emailsched pump`: the local stand-in for the EventBridge schedule."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from emailsched.local.lambda_events import LocalContext, scheduled_event

log = logging.getLogger("emailsched.pump")


def run_pump(handler: Callable[[dict[str, Any], Any], Any], interval: float,
             stop: threading.Event, region: str, once: bool = False) -> None:
    event = scheduled_event(region, "arn:aws:events:local:000000000000:rule/emailsched-pump")
    while not stop.is_set():
        try:
            report = handler(event, LocalContext(function_name="emailsched-pump"))
            if report and (report.get("enqueued") or report.get("takenBack")):
                log.info("pump: %s", report)
        except Exception:
            log.exception("pump run failed")
        if once:
            return
        stop.wait(interval)
