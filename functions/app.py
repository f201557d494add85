"""emailsched on Chalice: the HTTP API, the SQS-triggered sender, the scheduled pump (which
also plans follow-ups), the scheduled reply poller and the scheduled webhook dispatcher.

Every entry point is thin: parse the input, call one service, map the result. The HTTP
routes live by area in emailsched/api/routes/ (a Blueprint each); this module registers
them and declares the event handlers. The wiring (emailsched.bootstrap) is built on first
use, never at import time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from chalice import Rate, Response

from emailsched import bootstrap
from emailsched.api import views
from emailsched.api.chalice_app import ThreadSafeChalice
from emailsched.api.http import decorate, parse_uuid
from emailsched.api.routes import blueprints
from emailsched.errors import ServiceUnavailable
from emailsched.logs import configure_logging

# configure_logs=False: otherwise Chalice takes over the "emailsched" logger (level ERROR,
# no propagation), silencing every module of the package that shares its name.
app = ThreadSafeChalice(app_name="emailsched", configure_logs=False)
# Read at deploy time: Chalice wires the event source to this queue name.
SEND_QUEUE = os.environ.get("SEND_QUEUE_NAME", "emailsched-send")
IMPORT_QUEUE = os.environ.get("IMPORT_QUEUE_NAME", "emailsched-imports")
log = logging.getLogger("emailsched.app")

for blueprint in blueprints():
    app.register_blueprint(blueprint)


def _container() -> bootstrap.Container:
    return bootstrap.container()


_logging_configured = threading.Event()


@app.middleware("all")
def structured_logs(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """On Lambda, JSON logs through Powertools, set up on the first invocation."""
    if not _logging_configured.is_set():
        if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            configure_logging("lambda")
        _logging_configured.set()
    return get_response(event)


@app.middleware("all")
def publish_metrics(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """At the end of every invocation, the metrics it recorded go out (EMF lines on Lambda;
    nothing to do for Prometheus). Middleware, not Powertools' decorator: Chalice's event
    handlers take no context argument."""
    try:
        return get_response(event)
    finally:
        if bootstrap.built():
            bootstrap.container().flush_metrics()


@app.middleware("http")
def security_headers_and_cors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    response = get_response(event)
    origins = _container().settings.dashboard_origins
    return decorate(views.spec_shaped(response), event.headers.get("origin"), origins)


# --- events -----------------------------------------------------------------------------------
def _seconds_left(event: Any, safety_seconds: float) -> float | None:
    """Seconds the invocation may still work, keeping `safety_seconds` before its timeout;
    None without a Lambda context."""
    if event.context is None:
        return None
    return float(event.context.get_remaining_time_in_millis() / 1000 - safety_seconds)


@app.on_sqs_message(queue=SEND_QUEUE, batch_size=10, name="sender")
def send_emails(event: Any) -> dict[str, Any]:
    """Sends the emails the messages name; reports the ones to retry as batch item failures
    (ReportBatchItemFailures is switched on by infra/deploy.py)."""
    # Imported here, not at the top: only the sender function loads Powertools' batch
    # processor and the sender service (the cold_start benchmark measures the rest).
    from emailsched.api.sqs_batch import handle_sqs_event
    from emailsched.services import sender as sender_service

    container = _container()
    seconds_left = _seconds_left(event, sender_service.SAFETY_SECONDS)
    deadline = None
    if seconds_left is not None:
        deadline = container.clock.now() + timedelta(seconds=seconds_left)
    return handle_sqs_event(event.to_dict(), container.sender, container.queue,
                            container.dead_letter_queue, deadline)


@app.on_sqs_message(queue=IMPORT_QUEUE, batch_size=1, name="imports")
def run_import(event: Any) -> dict[str, Any]:
    """An import job (services/import_job.py): works until the invocation's time is nearly
    out, then puts a message on its own queue for a next invocation to go on from the
    checkpoint. Raising leaves the message to be received again (it resumes the same way)."""
    import json

    from emailsched.services import import_job

    container = _container()
    budget = _seconds_left(event, import_job.SAFETY_SECONDS)
    ended = []
    for record in event:
        import_id = parse_uuid(json.loads(record.body).get("importId", ""), field="importId")
        if container.import_job.run(import_id, budget):
            ended.append(str(import_id))
        else:
            container.import_jobs.start(import_id)
    return {"ended": ended}


@app.schedule(Rate(1, unit=Rate.MINUTES), name="pump")
def pump(event: Any) -> dict[str, Any]:
    from emailsched.services import pump as pump_service

    budget = _seconds_left(event, pump_service.SAFETY_SECONDS)
    planned = _plan_follow_ups(budget)
    report = _container().pump.run(time_budget_seconds=budget)
    return {"enqueued": report.enqueued, "messages": report.messages,
            "takenBack": report.taken_back, "inFlight": report.in_flight,
            "followUps": planned}


def _plan_follow_ups(budget: float | None) -> int:
    """Sequences: follow-ups whose previous step was sent, planned before the pump runs so
    the same run enqueues the ones already due (services/followups.py says why here). A
    quarter of the budget at most; a ledger that cannot be reached leaves it to the next
    run and the pump still runs."""
    try:
        report = _container().followups.run(
            time_budget_seconds=None if budget is None else max(budget / 4, 1.0))
    except ServiceUnavailable as error:
        log.warning("follow-ups not planned this run: %s", error.message)
        return 0
    return report.planned


@app.lambda_function(name="verifier")
def verify_stored_account(event: Any, context: Any) -> dict[str, Any]:
    """Checks a stored sender account for the API (POST /senders/{id}/verify): this
    function's role may decrypt the credentials, the API's may not. The event names the
    user and the sender; adapters/account_verifier.py holds both sides of the wire."""
    from emailsched.adapters.account_verifier import answer

    return answer(event, _container().stored_account_check)


# Sequences: every REPLY_POLL_SECONDS, rounded to whole minutes (EventBridge's least rate).
REPLY_POLL_MINUTES = max(1, round(float(os.environ.get("REPLY_POLL_SECONDS", "60")) / 60))


@app.schedule(Rate(REPLY_POLL_MINUTES, unit=Rate.MINUTES), name="replies")
def replies(event: Any) -> dict[str, Any]:
    """Reads each sender's mailbox with IMAP settings for replies and bounce reports, within
    the invocation's time left, the least recently polled first (services/replies.py)."""
    from emailsched.services import replies as reply_service

    budget = _seconds_left(event, reply_service.SAFETY_SECONDS)
    answer = _container().replies.run(time_budget_seconds=budget).as_dict()
    return {**answer, "domainsChecked": _refresh_sender_domains()}


def _refresh_sender_domains() -> int:
    """Issue 29: the sender domains never checked or checked a day ago, a few a run, after
    the replies (services/domain_health.py); SENDER_DOMAIN_CHECKS=false turns it off."""
    container = _container()
    if not container.settings.SENDER_DOMAIN_CHECKS:
        return 0
    try:
        return container.domain_health.refresh_due()
    except ServiceUnavailable as error:
        log.warning("sender domains not checked this run: %s", error.message)
        return 0



@app.schedule(Rate(1, unit=Rate.MINUTES), name="webhooks")
def webhooks(event: Any) -> dict[str, Any]:
    """The webhook dispatcher (services/webhook_dispatch.py): delivers the outbox for the
    invocation's time left, polling every second when nothing is due, so a run a minute
    delivers continuously; on its own, a run delivers what is due once."""
    from emailsched.services.webhook_dispatch import SAFETY_SECONDS, run_forever

    dispatcher = _container().webhook_dispatcher
    budget = _seconds_left(event, SAFETY_SECONDS)
    if budget is None:
        return dispatcher.run().as_dict()
    return run_forever(dispatcher, 1.0, threading.Event(), max(budget, 1.0)).as_dict()
