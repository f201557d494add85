"""A user's batches and their control (SPEC.md, "HTTP API")."""

from __future__ import annotations

from typing import Any

from chalice import Response

from emailsched.api import views
from emailsched.api.http import parse_uuid
from emailsched.api.routing import Routes, container
from emailsched.domain.model import BatchAction

routes = Routes(__name__)


@routes.route("/batches", "GET")
def batches(user: Any) -> Response:
    page, _ = views.list_params(routes.request.query_params)
    found, total = container().queries.batches(user.id, page)
    return views.batch_list(found, total, page)


@routes.route("/batches/{batch_id}", "GET")
def batch(user: Any, batch_id: str) -> Response:
    return views.batch(container().queries.batch(user.id, parse_uuid(batch_id, field="batch")))


def _control(user: Any, batch_id: str, action: BatchAction) -> Response:
    found = parse_uuid(batch_id, field="batch")
    container().batch_control.apply(user.id, found, action)
    return views.batch(container().queries.batch(user.id, found))


@routes.route("/batches/{batch_id}/pause", "POST")
def pause(user: Any, batch_id: str) -> Response:
    return _control(user, batch_id, BatchAction.PAUSE)


@routes.route("/batches/{batch_id}/resume", "POST")
def resume(user: Any, batch_id: str) -> Response:
    return _control(user, batch_id, BatchAction.RESUME)


@routes.route("/batches/{batch_id}/cancel", "POST")
def cancel(user: Any, batch_id: str) -> Response:
    return _control(user, batch_id, BatchAction.CANCEL)
