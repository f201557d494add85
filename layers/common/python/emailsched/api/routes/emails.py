"""Scheduling, big-list imports and the email lists (SPEC.md, "HTTP API", "Big lists")."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Response

from emailsched.api import email_views, schemas, views
from emailsched.api.http import parse_uuid
from emailsched.api.routing import Routes, container
from emailsched.errors import InvalidRequest, ServiceUnavailable

routes = Routes(__name__)
log = logging.getLogger("emailsched.app")
# After scheduling, enqueue this many of the soonest due emails at once, so a batch that
# starts now does not wait for the pump's next minute on AWS.
KICK_EMAILS = 100


@routes.route("/emails/schedule", "POST")
def schedule(user: Any) -> Response:
    body = routes.body(schemas.ScheduleIn)
    request = views.schedule_request(body, container().settings)
    if body.recipients_import_id is not None:  # Big lists: the import job does the rest
        import_id = parse_uuid(body.recipients_import_id, field="recipientsImportId",
                               missing=InvalidRequest)
        batch_id = container().imports.schedule(user.id, request, import_id)
        return views.import_scheduled(batch_id, import_id)
    scheduled = container().scheduling.schedule(user.id, request)
    _kick_pump()
    return views.scheduled(scheduled)


def _kick_pump() -> None:
    """Best effort: the pump's next run enqueues anything this misses."""
    try:
        container().pump.enqueue_due(KICK_EMAILS)
    except ServiceUnavailable as error:  # a programming error fails the request loudly
        log.warning("could not enqueue right after scheduling: %s", error.message)


@routes.route("/imports", "POST")
def create_import(user: Any) -> Response:
    raw = routes.request.raw_body
    size = routes.body(schemas.ImportIn).size if raw and raw.strip() else None
    created = container().imports.create(user.id, size)
    return views.import_created(created.import_id, created.upload_url,
                                created.upload_headers)


@routes.route("/imports/{import_id}", "GET")
def import_status(user: Any, import_id: str) -> Response:
    found = container().imports.status(user.id, parse_uuid(import_id, field="importId"))
    return views.import_status(found)


@routes.route("/emails/scheduled", "GET")
def scheduled_emails(user: Any) -> Response:
    return _email_list(user, finished=False)


@routes.route("/emails/sent", "GET")
def sent_emails(user: Any) -> Response:
    return _email_list(user, finished=True)


def _email_list(user: Any, *, finished: bool) -> Response:
    page, batch_id = views.list_params(routes.request.query_params)
    rows, total = container().queries.emails(user.id, finished=finished, page=page,
                                             batch_id=batch_id)
    return views.email_list(rows, total, page)


@routes.route("/emails/stats", "GET")
def stats(user: Any) -> Response:
    return views.stats(container().queries.stats(user.id))


@routes.route("/emails", "GET")
def all_emails(user: Any) -> Response:
    """Every email of the user in any status (SPEC.md, "Every email of a batch")."""
    where, page = email_views.emails_query(routes.request.query_params)
    rows, total = container().email_history.emails(user.id, where, page)
    return email_views.email_list(rows, total, page)


@routes.route("/emails/{email_id}", "GET")
def email(user: Any, email_id: str) -> Response:
    found = container().email_history.email(user.id, parse_uuid(email_id, field="email"))
    return email_views.email_detail(found)
