"""The public tracking routes (SPEC.md "Engagement"): the open pixel and click redirects.
No session; the signed token is the only credential. Both answer before the hit reaches
the database (services/tracking.py, adapters/hit_log.py)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from chalice import Response

from emailsched.api.routing import Routes, container
from emailsched.errors import NotFound

routes = Routes(__name__)

# A transparent 1x1 GIF89a.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_PIXEL_HEADERS = {"Content-Type": "image/gif", "Cache-Control": "no-store"}


@routes.blueprint.middleware("http")
def pixel_whatever_is_accepted(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice answers 400 to a request for a binary body whose Accept header names no
    binary type; an image request may send none, or only `image/*`. The pixel is the answer
    whatever it accepts (the view ran: a valid token's open is recorded)."""
    response = get_response(event)
    if response.status_code == 400 and event.path.startswith("/t/o/"):
        return Response(body=PIXEL, status_code=200, headers=dict(_PIXEL_HEADERS))
    return response


def _hit_of(method: str) -> tuple[str, str | None]:
    return method, routes.request.headers.get("user-agent")


def _pixel(name: str) -> Response:
    """Always the gif, whatever the token: only a valid one records an open."""
    if name.endswith(".gif"):
        container().tracking.opened(name[:-4], *_hit_of(routes.request.method))
    return Response(body=PIXEL, status_code=200, headers=dict(_PIXEL_HEADERS))


def _redirect(token: str) -> Response:
    try:
        url = container().tracking.clicked(token, *_hit_of(routes.request.method))
    except NotFound:
        return Response(body={"error": {"code": "not_found", "message": "no such link",
                                        "details": []}}, status_code=404)
    return Response(body="", status_code=302,
                    headers={"Location": url, "Cache-Control": "no-store"})


@routes.route("/t/o/{name}", "GET", public=True)
def open_pixel(name: str) -> Response:
    return _pixel(name)


@routes.route("/t/o/{name}", "HEAD", public=True)
def open_pixel_head(name: str) -> Response:
    return _pixel(name)


@routes.route("/t/c/{token}", "GET", public=True)
def click(token: str) -> Response:
    return _redirect(token)


@routes.route("/t/c/{token}", "HEAD", public=True)
def click_head(token: str) -> Response:
    return _redirect(token)
