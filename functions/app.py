"""emailsched on Chalice: the HTTP API, the SQS-triggered sender and the scheduled pump.

Every entry point is thin: parse the input, call one service, map the result. The wiring
(emailsched.bootstrap) is built on first use, never at import time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from chalice import Rate, Response

from emailsched import bootstrap
from emailsched.api import schemas, views
from emailsched.api.chalice_app import ThreadSafeChalice
from emailsched.api.http import decorate, parse_json, parse_uuid, with_errors_mapped
from emailsched.api.openapi import openapi_document
from emailsched.api.sqs_batch import handle_sqs_event
from emailsched.domain.model import BatchAction
from emailsched.errors import ServiceUnavailable
from emailsched.logs import configure_logging
from emailsched.services import pump as pump_service
from emailsched.services import sender as sender_service

# configure_logs=False: otherwise Chalice takes over the "emailsched" logger (level ERROR,
# no propagation), silencing every module of the package that shares its name.
app = ThreadSafeChalice(app_name="emailsched", configure_logs=False)
# Read at deploy time: Chalice wires the event source to this queue name.
SEND_QUEUE = os.environ.get("SEND_QUEUE_NAME", "emailsched-send")
ANY_BODY = ["*/*"]  # content types are checked by parse_json, to answer in SPEC's shape
# After scheduling, enqueue this many of the soonest due emails at once, so a batch that
# starts now does not wait for the pump's next minute on AWS.
KICK_EMAILS = 100
log = logging.getLogger("emailsched.app")
M = TypeVar("M", bound=schemas.Model)


def _container() -> bootstrap.Container:
    return bootstrap.container()


def _body(model: type[M]) -> M:
    request = app.current_request
    return parse_json(request.raw_body, request.headers.get("content-type"), model)


def _user() -> Any:
    return _container().auth.authenticate(app.current_request.headers.get("authorization"))


def route(path: str, method: str, public: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """A route that also answers CORS preflights, maps errors, and (unless public) requires
    a session: the view receives the signed-in user first."""

    def register(view: Callable[..., Any]) -> Any:
        def endpoint(**params: Any) -> Response:
            if app.current_request.method == "OPTIONS":
                return Response(body="", status_code=204)
            if public:
                return view(**params)
            return view(_user(), **params)

        endpoint.__name__ = view.__name__
        return app.route(path, methods=[method, "OPTIONS"], content_types=ANY_BODY)(
            with_errors_mapped(endpoint))

    return register


_logging_configured = threading.Event()


@app.middleware("all")
def structured_logs(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """On Lambda, JSON logs through Powertools, set up on the first invocation."""
    if not _logging_configured.is_set():
        if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            configure_logging("lambda")
        _logging_configured.set()
    return get_response(event)


@app.middleware("http")
def security_headers_and_cors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    response = get_response(event)
    origins = _container().settings.dashboard_origins
    return decorate(views.spec_shaped(response), event.headers.get("origin"), origins)


# --- auth -------------------------------------------------------------------------------------
@route("/auth/config", "GET", public=True)
def auth_config() -> Response:
    return views.auth_config(_container().settings)


@route("/auth/dev-login", "POST", public=True)
def dev_login() -> Response:
    body = _body(schemas.DevLoginIn)
    return views.session(_container().auth.dev_login(body.email.strip().lower(),
                                                     body.name or body.email.split("@")[0]))


@route("/auth/google-login", "POST", public=True)
def google_login() -> Response:
    body = _body(schemas.GoogleLoginIn)
    return views.session(_container().auth.google_login(body.credential))


@route("/auth/me", "GET")
def me(user: Any) -> Response:
    return views.me(user)


# --- emails -----------------------------------------------------------------------------------
@route("/emails/schedule", "POST")
def schedule(user: Any) -> Response:
    body = _body(schemas.ScheduleIn)
    request = views.schedule_request(body, _container().settings)
    scheduled = _container().scheduling.schedule(user.id, request)
    _kick_pump()
    return views.scheduled(scheduled)


def _kick_pump() -> None:
    """Best effort: the pump's next run enqueues anything this misses."""
    try:
        _container().pump.enqueue_due(KICK_EMAILS)
    except ServiceUnavailable as error:  # a programming error fails the request loudly
        log.warning("could not enqueue right after scheduling: %s", error.message)


@route("/emails/scheduled", "GET")
def scheduled_emails(user: Any) -> Response:
    page, batch_id = views.list_params(app.current_request.query_params)
    rows, total = _container().queries.emails(user.id, finished=False, page=page,
                                              batch_id=batch_id)
    return views.email_list(rows, total, page)


@route("/emails/sent", "GET")
def sent_emails(user: Any) -> Response:
    page, batch_id = views.list_params(app.current_request.query_params)
    rows, total = _container().queries.emails(user.id, finished=True, page=page,
                                              batch_id=batch_id)
    return views.email_list(rows, total, page)


@route("/emails/stats", "GET")
def stats(user: Any) -> Response:
    return views.stats(_container().queries.stats(user.id))


# --- batches ----------------------------------------------------------------------------------
@route("/batches", "GET")
def batches(user: Any) -> Response:
    page, _ = views.list_params(app.current_request.query_params)
    found, total = _container().queries.batches(user.id, page)
    return views.batch_list(found, total, page)


@route("/batches/{batch_id}", "GET")
def batch(user: Any, batch_id: str) -> Response:
    return views.batch(_container().queries.batch(user.id, parse_uuid(batch_id, field="batch")))


def _control(user: Any, batch_id: str, action: BatchAction) -> Response:
    container = _container()
    found = parse_uuid(batch_id, field="batch")
    container.batch_control.apply(user.id, found, action)
    return views.batch(container.queries.batch(user.id, found))


@route("/batches/{batch_id}/pause", "POST")
def pause(user: Any, batch_id: str) -> Response:
    return _control(user, batch_id, BatchAction.PAUSE)


@route("/batches/{batch_id}/resume", "POST")
def resume(user: Any, batch_id: str) -> Response:
    return _control(user, batch_id, BatchAction.RESUME)


@route("/batches/{batch_id}/cancel", "POST")
def cancel(user: Any, batch_id: str) -> Response:
    return _control(user, batch_id, BatchAction.CANCEL)


@route("/openapi.json", "GET", public=True)
def openapi() -> Response:
    return Response(body=openapi_document(), headers={"Content-Type": "application/json"})


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
    container = _container()
    seconds_left = _seconds_left(event, sender_service.SAFETY_SECONDS)
    deadline = None
    if seconds_left is not None:
        deadline = container.clock.now() + timedelta(seconds=seconds_left)
    return handle_sqs_event(event.to_dict(), container.sender, container.queue,
                            container.dead_letter_queue, deadline)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="pump")
def pump(event: Any) -> dict[str, Any]:
    budget = _seconds_left(event, pump_service.SAFETY_SECONDS)
    report = _container().pump.run(time_budget_seconds=budget)
    return {"enqueued": report.enqueued, "messages": report.messages,
            "takenBack": report.taken_back, "inFlight": report.in_flight}

