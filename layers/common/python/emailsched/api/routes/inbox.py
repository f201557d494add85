"""The inbox: replies read and answered in the product, lead statuses (SPEC.md, "Inbox")."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Response

from emailsched.api import inbox_views
from emailsched.api.http import parse_uuid
from emailsched.api.routing import Routes, container
from emailsched.errors import ServiceUnavailable

routes = Routes(__name__)
log = logging.getLogger("emailsched.app")


@routes.route("/inbox", "GET")
def threads(user: Any) -> Response:
    where, page = inbox_views.inbox_query(routes.request.query_params)
    found, total = container().inbox.threads(user.id, where, page)
    return inbox_views.thread_list(found, total, page)


@routes.route("/inbox/{thread_id}", "GET")
def thread(user: Any, thread_id: str) -> Response:
    found, messages = container().inbox.read(user.id, parse_uuid(thread_id, field="thread"))
    return inbox_views.thread_detail(found, messages)


@routes.route("/inbox/{thread_id}", "PATCH")
def update_thread(user: Any, thread_id: str) -> Response:
    body = routes.body(inbox_views.ThreadPatchIn)
    found = container().inbox.update(user.id, parse_uuid(thread_id, field="thread"),
                                     body.lead_status, body.unread)
    return inbox_views.json_response(inbox_views.thread_out(found))


@routes.route("/inbox/{thread_id}/reply", "POST")
def reply(user: Any, thread_id: str) -> Response:
    body = routes.body(inbox_views.ReplyIn)
    sent = container().inbox.reply(user.id, parse_uuid(thread_id, field="thread"), body.body)
    _kick_pump()
    return inbox_views.reply_created(sent)


def _kick_pump() -> None:
    """Best effort: the reply is due now; the pump's next run enqueues it otherwise."""
    try:
        container().pump.enqueue_due(10)
    except ServiceUnavailable as error:
        log.warning("could not enqueue the reply at once: %s", error.message)
