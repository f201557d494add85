"""emailsched on Chalice: the HTTP API, the SQS-triggered sender, the scheduled pump (which
also plans follow-ups) and the scheduled reply poller.

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
from urllib.parse import unquote

from chalice import Rate, Response

from emailsched import bootstrap
from emailsched.api import deliverability_views, schemas, sender_views, views
from emailsched.api.chalice_app import ThreadSafeChalice
from emailsched.api.http import decorate, parse_json, parse_uuid, with_errors_mapped
from emailsched.api.openapi import openapi_document
from emailsched.domain.model import BatchAction
from emailsched.errors import InvalidRequest, NotFound, ServiceUnavailable
from emailsched.logs import configure_logging

# configure_logs=False: otherwise Chalice takes over the "emailsched" logger (level ERROR,
# no propagation), silencing every module of the package that shares its name.
app = ThreadSafeChalice(app_name="emailsched", configure_logs=False)
# Read at deploy time: Chalice wires the event source to this queue name.
SEND_QUEUE = os.environ.get("SEND_QUEUE_NAME", "emailsched-send")
IMPORT_QUEUE = os.environ.get("IMPORT_QUEUE_NAME", "emailsched-imports")
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
        # One OPTIONS per path: Chalice refuses a method registered twice on a route.
        methods = [method] if "OPTIONS" in app.routes.get(path, {}) else [method, "OPTIONS"]
        return app.route(path, methods=methods, content_types=ANY_BODY)(
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
    if body.recipients_import_id is not None:  # Big lists: the import job does the rest
        import_id = parse_uuid(body.recipients_import_id, field="recipientsImportId",
                               missing=InvalidRequest)
        batch_id = _container().imports.schedule(user.id, request, import_id)
        return views.import_scheduled(batch_id, import_id)
    scheduled = _container().scheduling.schedule(user.id, request)
    _kick_pump()
    return views.scheduled(scheduled)


def _kick_pump() -> None:
    """Best effort: the pump's next run enqueues anything this misses."""
    try:
        _container().pump.enqueue_due(KICK_EMAILS)
    except ServiceUnavailable as error:  # a programming error fails the request loudly
        log.warning("could not enqueue right after scheduling: %s", error.message)


# --- imports (Big lists, issue 17) -----------------------------------------------------------
@route("/imports", "POST")
def create_import(user: Any) -> Response:
    raw = app.current_request.raw_body
    size = _body(schemas.ImportIn).size if raw and raw.strip() else None
    created = _container().imports.create(user.id, size)
    return views.import_created(created.import_id, created.upload_url)


@route("/imports/{import_id}", "GET")
def import_status(user: Any, import_id: str) -> Response:
    found = _container().imports.status(user.id, parse_uuid(import_id, field="importId"))
    return views.import_status(found)


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


# --- senders ----------------------------------------------------------------------------------
@route("/senders", "GET")
def senders(user: Any) -> Response:
    return sender_views.sender_list(_container().sender_accounts.all(user.id))


@route("/senders", "POST")
def create_sender(user: Any) -> Response:
    given = sender_views.create_input(_body(schemas.SenderCreateIn))
    return sender_views.sender(_container().sender_accounts.create(user.id, given), 201)


@route("/senders/{sender_id}", "GET")
def sender(user: Any, sender_id: str) -> Response:
    found = parse_uuid(sender_id, field="sender")
    return sender_views.sender(_container().sender_accounts.get(user.id, found))


@route("/senders/{sender_id}", "PATCH")
def change_sender(user: Any, sender_id: str) -> Response:
    found = parse_uuid(sender_id, field="sender")
    changes = sender_views.patch_changes(_body(schemas.SenderPatchIn))
    return sender_views.sender(_container().sender_accounts.update(user.id, found, changes))


@route("/senders/{sender_id}/verify", "POST")
def verify_sender(user: Any, sender_id: str) -> Response:
    found = parse_uuid(sender_id, field="sender")
    return sender_views.sender(_container().sender_accounts.verify(user.id, found))


@route("/senders/{sender_id}", "DELETE")
def delete_sender(user: Any, sender_id: str) -> Response:
    _container().sender_accounts.delete(user.id, parse_uuid(sender_id, field="sender"))
    return Response(body="", status_code=204)


@route("/health", "GET", public=True)
def health() -> Response:
    from emailsched.api.health_view import health as health_view

    return health_view(_container().health.run())


# --- suppressions and one-click unsubscribe (SPEC.md "Unsubscribe and suppression") -----
@route("/auth/me", "PATCH")
def change_me(user: Any) -> Response:
    body = _body(schemas.MePatchIn)
    container = _container()
    container.suppressions.set_postal_address(user.id, body.postal_address)
    return views.me(container.auth.authenticate(
        app.current_request.headers.get("authorization")))


@route("/suppressions", "GET")
def suppressions(user: Any) -> Response:
    page, _ = views.list_params(app.current_request.query_params)
    found, total = _container().suppressions.page(user.id, page)
    return deliverability_views.suppression_list(found, total, page)


@route("/suppressions", "POST")
def add_suppressions(user: Any) -> Response:
    body = _body(schemas.SuppressionsIn)
    return deliverability_views.suppressions_added(
        _container().suppressions.add(user.id, body.emails))


@route("/suppressions/{email}", "DELETE")
def delete_suppression(user: Any, email: str) -> Response:
    _container().suppressions.remove(user.id, unquote(email))
    return deliverability_views.no_content()


def _client_ip() -> str:
    identity = (app.current_request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


@route("/u/{token}", "GET", public=True)
def unsubscribe_page(token: str) -> Response:
    """The confirmation page: a button that POSTs; this GET changes nothing."""
    try:
        address = _container().suppressions.recipient_for(token, _client_ip())
    except NotFound:
        return deliverability_views.not_found_page(app.current_request.headers.get("accept"))
    return deliverability_views.confirm_page(address)


@route("/u/{token}", "POST", public=True)
def unsubscribe(token: str) -> Response:
    """RFC 8058 one-click: any body (`List-Unsubscribe=One-Click`, form-encoded or
    multipart), no session, 200 and never a redirect; again is harmless."""
    try:
        address = _container().suppressions.unsubscribe(token, _client_ip())
    except NotFound:
        return deliverability_views.not_found_page(app.current_request.headers.get("accept"))
    return deliverability_views.unsubscribed_page(address)


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
    return _container().replies.run(time_budget_seconds=budget).as_dict()

