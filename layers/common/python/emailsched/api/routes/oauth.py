"""Mailboxes connected by OAuth (SPEC.md "Mailboxes connected by OAuth"): the consent's start
(signed in) and the provider's redirect back (no session: the state says whose)."""

from __future__ import annotations

from typing import Any

from chalice import Response

from emailsched.api import schemas
from emailsched.api.http import json_response
from emailsched.api.routing import Routes, container
from emailsched.domain.oauth import PROVIDERS
from emailsched.errors import NotFound

routes = Routes(__name__)


@routes.route("/senders/oauth/{provider}/start", "POST")
def start_oauth(user: Any, provider: str) -> Response:
    _known(provider)
    # The body is optional: every field has a default.
    body = routes.body(schemas.OAuthStartIn) if routes.request.raw_body else (
        schemas.OAuthStartIn())
    options = body.model_dump(by_alias=True, exclude_none=True)
    url = container().oauth_connect.start(user.id, provider, options)
    return json_response(schemas.OAuthStartOut(authorization_url=url))


@routes.route("/senders/oauth/{provider}/callback", "GET", public=True)
def oauth_callback(provider: str) -> Response:
    _known(provider)
    location = container().oauth_connect.callback(provider, routes.query())
    return Response(body="", status_code=302,
                    headers={"Location": location, "Cache-Control": "no-store"})


def _known(provider: str) -> None:
    """An unknown provider is a 404 before anything is built or read (its name, whatever
    bytes a client sent, is not echoed)."""
    if provider not in PROVIDERS:
        raise NotFound("no such OAuth provider (google or microsoft)")
