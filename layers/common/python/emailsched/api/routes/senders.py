"""The mailboxes a user sends from (SPEC.md, "Senders")."""

from __future__ import annotations

from typing import Any

from chalice import Response

from emailsched.api import schemas, sender_views
from emailsched.api.http import parse_uuid
from emailsched.api.routing import Routes, container

routes = Routes(__name__)


@routes.route("/senders", "GET")
def senders(user: Any) -> Response:
    return sender_views.sender_list(container().sender_accounts.all(user.id))


@routes.route("/senders", "POST")
def create_sender(user: Any) -> Response:
    given = sender_views.create_input(routes.body(schemas.SenderCreateIn))
    return sender_views.sender(container().sender_accounts.create(user.id, given), 201)


@routes.route("/senders/{sender_id}", "GET")
def sender(user: Any, sender_id: str) -> Response:
    found = parse_uuid(sender_id, field="sender")
    return sender_views.sender(container().sender_accounts.get(user.id, found))


@routes.route("/senders/{sender_id}", "PATCH")
def change_sender(user: Any, sender_id: str) -> Response:
    found = parse_uuid(sender_id, field="sender")
    changes = sender_views.patch_changes(routes.body(schemas.SenderPatchIn))
    return sender_views.sender(container().sender_accounts.update(user.id, found, changes))


@routes.route("/senders/{sender_id}/verify", "POST")
def verify_sender(user: Any, sender_id: str) -> Response:
    found = parse_uuid(sender_id, field="sender")
    return sender_views.sender(container().sender_accounts.verify(user.id, found))


@routes.route("/senders/{sender_id}", "DELETE")
def delete_sender(user: Any, sender_id: str) -> Response:
    container().sender_accounts.delete(user.id, parse_uuid(sender_id, field="sender"))
    return Response(body="", status_code=204)
