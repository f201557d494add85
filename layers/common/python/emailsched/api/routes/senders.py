"""The mailboxes a user sends from (SPEC.md, "Senders"), and their domains' health."""

from __future__ import annotations

import uuid
from typing import Any

from chalice import Response

from emailsched.api import schemas, sender_views
from emailsched.api.http import parse_uuid
from emailsched.api.routing import Routes, container

routes = Routes(__name__)


def _selector(sender_id: uuid.UUID) -> str | None:
    return container().domain_health.selectors([sender_id]).get(sender_id)


@routes.route("/senders", "GET")
def senders(user: Any) -> Response:
    views = container().sender_accounts.all(user.id)
    return sender_views.sender_list(views, container().domain_health.selectors(
        [view.account.id for view in views]))


@routes.route("/senders", "POST")
def create_sender(user: Any) -> Response:
    body = routes.body(schemas.SenderCreateIn)
    created = container().sender_accounts.create(user.id, sender_views.create_input(body))
    if body.dkim_selector:
        container().domain_health.set_selector(created.account.id, body.dkim_selector)
    return sender_views.sender(created, 201, body.dkim_selector)


@routes.route("/senders/{sender_id}", "GET")
def sender(user: Any, sender_id: str) -> Response:
    found = parse_uuid(sender_id, field="sender")
    return sender_views.sender(container().sender_accounts.get(user.id, found),
                               selector=_selector(found))


@routes.route("/senders/{sender_id}", "PATCH")
def change_sender(user: Any, sender_id: str) -> Response:
    found = parse_uuid(sender_id, field="sender")
    body = routes.body(schemas.SenderPatchIn)
    changed = container().sender_accounts.update(user.id, found,
                                                 sender_views.patch_changes(body))
    if "dkim_selector" in body.model_fields_set:
        container().domain_health.set_selector(found, body.dkim_selector or None)
    return sender_views.sender(changed, selector=_selector(found))


@routes.route("/senders/{sender_id}/verify", "POST")
def verify_sender(user: Any, sender_id: str) -> Response:
    found = parse_uuid(sender_id, field="sender")
    return sender_views.sender(container().sender_accounts.verify(user.id, found),
                               selector=_selector(found))


@routes.route("/senders/{sender_id}/dns", "GET")
def sender_dns(user: Any, sender_id: str) -> Response:
    """The sender domain's SPF, DKIM, DMARC and MX judged (issue 29): the day's check, or
    a new one."""
    found = parse_uuid(sender_id, field="sender")
    return sender_views.domain_health(container().domain_health.get(user.id, found))


@routes.route("/senders/{sender_id}", "DELETE")
def delete_sender(user: Any, sender_id: str) -> Response:
    container().sender_accounts.delete(user.id, parse_uuid(sender_id, field="sender"))
    return Response(body="", status_code=204)
