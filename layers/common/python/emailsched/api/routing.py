"""How a group of HTTP routes is declared: a Chalice Blueprint per area of the API
(`emailsched/api/routes/`), registered by functions/app.py, so that app.py stays a short
index as the API grows.

`Routes.route` answers CORS preflights, maps errors to SPEC's error body and (unless public)
requires a session or an API key: the view receives the signed-in user first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chalice import Blueprint, Response

from emailsched import bootstrap
from emailsched.api.http import parse_json, with_errors_mapped
from emailsched.api.schemas import Model
from emailsched.domain.api_keys import scope_for

ANY_BODY = ["*/*"]  # content types are checked by parse_json, to answer in SPEC's shape
M = TypeVar("M", bound=Model)
View = Callable[..., Any]

# Paths that already answer OPTIONS: Chalice refuses a method registered twice on a route,
# and several blueprints (or methods) may share a path. Filled as route modules are imported.
_PATHS_WITH_OPTIONS: set[str] = set()


def container() -> bootstrap.Container:
    return bootstrap.container()


class Routes:
    """One area's routes: a Blueprint and the helpers its views use."""

    def __init__(self, import_name: str) -> None:
        self.blueprint = Blueprint(import_name)

    @property
    def request(self) -> Any:
        return self.blueprint.current_request

    def body(self, model: type[M]) -> M:
        request = self.request
        return parse_json(request.raw_body, request.headers.get("content-type"), model)

    def query(self) -> dict[str, str]:
        return dict(self.request.query_params or {})

    def user(self, scope: str | None = None) -> Any:
        """The signed-in user, when the session or API key may use a route of `scope`
        (None: the route's own check already ran)."""
        principal = container().auth.authenticate(self.request.headers.get("authorization"))
        if scope is not None:
            principal.require(scope)
        return principal.user

    def route(self, path: str, method: str, public: bool = False,
              scope: str | None = None) -> Callable[[View], Any]:
        """`scope`: the API key scope that allows the route; by default the one its method
        and path imply (domain/api_keys.scope_for)."""
        needed = scope or scope_for(method, path)

        def register(view: View) -> Any:
            def endpoint(**params: Any) -> Response:
                if self.request.method == "OPTIONS":
                    return Response(body="", status_code=204)
                if public:
                    return view(**params)
                return view(self.user(needed), **params)

            endpoint.__name__ = view.__name__
            methods = [method] if path in _PATHS_WITH_OPTIONS else [method, "OPTIONS"]
            _PATHS_WITH_OPTIONS.add(path)
            return self.blueprint.route(path, methods=methods, content_types=ANY_BODY)(
                with_errors_mapped(endpoint))

        return register
