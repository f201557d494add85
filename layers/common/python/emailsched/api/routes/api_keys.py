"""API keys (SPEC.md, "API keys"): managed with a signed-in session only, never a key."""

from __future__ import annotations

from typing import Any

from chalice import Response

from emailsched.api import integration_schemas as s
from emailsched.api.http import iso, json_response, parse_uuid
from emailsched.api.routing import Routes, container
from emailsched.domain.api_keys import SESSION, ApiKey

routes = Routes(__name__)


def _out(key: ApiKey) -> s.ApiKeyOut:
    return s.ApiKeyOut(id=str(key.id), name=key.name, scopes=list(key.scopes),
                       created_at=iso(key.created_at) or "", last_used_at=iso(key.last_used_at))


@routes.route("/api-keys", "POST", scope=SESSION)
def create_key(user: Any) -> Response:
    body = routes.body(s.ApiKeyIn)
    created = container().api_keys.create(user.id, body.name, body.scopes)
    key = created.key
    return json_response(s.ApiKeyCreatedOut(
        id=str(key.id), name=key.name, scopes=list(key.scopes), key=created.secret,
        created_at=iso(key.created_at) or ""), status=201)


@routes.route("/api-keys", "GET", scope=SESSION)
def list_keys(user: Any) -> Response:
    return json_response(s.ApiKeyListOut(
        api_keys=[_out(key) for key in container().api_keys.all(user.id)]))


@routes.route("/api-keys/{key_id}", "DELETE", scope=SESSION)
def delete_key(user: Any, key_id: str) -> Response:
    container().api_keys.delete(user.id, parse_uuid(key_id, field="API key"))
    return Response(body="", status_code=204)
