"""Sign-in and the signed-in user (SPEC.md, "HTTP API")."""

from __future__ import annotations

from typing import Any

from chalice import Response

from emailsched.api import schemas, views
from emailsched.api.routing import Routes, container

routes = Routes(__name__)


@routes.route("/auth/config", "GET", public=True)
def auth_config() -> Response:
    return views.auth_config(container().settings)


@routes.route("/auth/dev-login", "POST", public=True)
def dev_login() -> Response:
    body = routes.body(schemas.DevLoginIn)
    return views.session(container().auth.dev_login(body.email.strip().lower(),
                                                    body.name or body.email.split("@")[0]))


@routes.route("/auth/google-login", "POST", public=True)
def google_login() -> Response:
    body = routes.body(schemas.GoogleLoginIn)
    return views.session(container().auth.google_login(body.credential))


@routes.route("/auth/me", "GET")
def me(user: Any) -> Response:
    return views.me(user)


@routes.route("/auth/me", "PATCH")
def change_me(user: Any) -> Response:
    body = routes.body(schemas.MePatchIn)
    found = container()
    found.suppressions.set_postal_address(user.id, body.postal_address)
    return views.me(found.auth.authenticate(routes.request.headers.get("authorization")).user)
