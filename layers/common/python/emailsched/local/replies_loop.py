"""`emailsched replies`: the local stand-in for the scheduled reply poller (functions/app.py
`replies`), run every REPLY_POLL_SECONDS (or --interval) through the same handler."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from emailsched.local.lambda_events import LocalContext, scheduled_event
from emailsched.services.replies import SAFETY_SECONDS

log = logging.getLogger("emailsched.replies")


def run_replies(handler: Callable[[dict[str, Any], Any], Any], interval: float,
                stop: threading.Event, region: str, once: bool = False) -> None:
    event = scheduled_event(region, "arn:aws:events:local:000000000000:rule/emailsched-replies")
    timeout = SAFETY_SECONDS + max(interval, 1.0)
    while not stop.is_set():
        try:
            report = handler(event, LocalContext(function_name="emailsched-replies",
                                                 timeout_seconds=timeout))
            if report and any(report.get(k) for k in ("replies", "hardBounces", "softBounces",
                                                      "complaints", "autoReplies",
                                                      "failedMailboxes")):
                log.info("replies: %s", report)
        except Exception:  # the loop's boundary: one failed run does not end the process
            log.exception("reply poll failed")
        if once:
            return
        stop.wait(interval)
