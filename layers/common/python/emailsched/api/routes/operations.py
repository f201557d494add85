"""Health and the OpenAPI document (SPEC.md, "Operations")."""

from __future__ import annotations

from chalice import Response

from emailsched.api.health_view import health as health_view
from emailsched.api.openapi import openapi_document
from emailsched.api.routing import Routes, container

routes = Routes(__name__)


@routes.route("/health", "GET", public=True)
def health() -> Response:
    return health_view(container().health.run())


@routes.route("/openapi.json", "GET", public=True)
def openapi() -> Response:
    return Response(body=openapi_document(), headers={"Content-Type": "application/json"})
