"""Suppression lists and one-click unsubscribe (SPEC.md, "Unsubscribe and suppression")."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice import Response

from emailsched.api import deliverability_views, schemas, views
from emailsched.api.routing import Routes, container
from emailsched.errors import NotFound

routes = Routes(__name__)


@routes.route("/suppressions", "GET")
def suppressions(user: Any) -> Response:
    page, _ = views.list_params(routes.request.query_params)
    found, total = container().suppressions.page(user.id, page)
    return deliverability_views.suppression_list(found, total, page)


@routes.route("/suppressions", "POST")
def add_suppressions(user: Any) -> Response:
    body = routes.body(schemas.SuppressionsIn)
    return deliverability_views.suppressions_added(
        container().suppressions.add(user.id, body.emails))


@routes.route("/suppressions/{email}", "DELETE")
def delete_suppression(user: Any, email: str) -> Response:
    container().suppressions.remove(user.id, unquote(email))
    return deliverability_views.no_content()


def _client_ip() -> str:
    identity = (routes.request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


@routes.route("/u/{token}", "GET", public=True)
def unsubscribe_page(token: str) -> Response:
    """The confirmation page: a button that POSTs; this GET changes nothing."""
    try:
        address = container().suppressions.recipient_for(token, _client_ip())
    except NotFound:
        return deliverability_views.not_found_page(routes.request.headers.get("accept"))
    return deliverability_views.confirm_page(address)


@routes.route("/u/{token}", "POST", public=True)
def unsubscribe(token: str) -> Response:
    """RFC 8058 one-click: any body (`List-Unsubscribe=One-Click`, form-encoded or
    multipart), no session, 200 and never a redirect; again is harmless."""
    try:
        address = container().suppressions.unsubscribe(token, _client_ip())
    except NotFound:
        return deliverability_views.not_found_page(routes.request.headers.get("accept"))
    return deliverability_views.unsubscribed_page(address)
