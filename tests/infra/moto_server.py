"""moto's server, taught to import the Swagger 2.0 document that `chalice deploy` sends.

moto 5.2 implements API Gateway's ImportRestApi/PutRestApi for OpenAPI 3 only: it rejects
any document with a `swagger` key and requires `info.description`, which Chalice never
writes. Real API Gateway takes both. This shim relabels the document before moto reads it
so the rest of `chalice deploy` (deployment, stage, invoke permission) runs against the
emulator; the shape of the API itself is checked on the packaged template instead.

Run as `python tests/infra/moto_server.py -p PORT`, like `python -m moto.server`.
"""

from __future__ import annotations

from typing import Any

from moto.apigateway.models import APIGatewayBackend
from moto.server import main

_import_rest_api = APIGatewayBackend.import_rest_api
_put_rest_api = APIGatewayBackend.put_rest_api


def _as_openapi3(document: dict[str, Any]) -> dict[str, Any]:
    relabelled = {key: value for key, value in document.items() if key != "swagger"}
    relabelled["openapi"] = "3.0.1"
    relabelled["info"] = {"description": "", **document.get("info", {})}
    return relabelled


def import_rest_api(self: APIGatewayBackend, api_doc: dict[str, Any],
                    fail_on_warnings: bool) -> Any:
    return _import_rest_api(self, _as_openapi3(api_doc), fail_on_warnings)


def put_rest_api(self: APIGatewayBackend, function_id: str, api_doc: dict[str, Any],
                 fail_on_warnings: bool, mode: str = "merge") -> Any:
    return _put_rest_api(self, function_id, _as_openapi3(api_doc), fail_on_warnings, mode)


APIGatewayBackend.import_rest_api = import_rest_api  # type: ignore[method-assign]
APIGatewayBackend.put_rest_api = put_rest_api  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
