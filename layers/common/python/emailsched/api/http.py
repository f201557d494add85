"""HTTP plumbing shared by every route: body parsing, errors, CORS, security headers.

All errors leave as SPEC.md's body, `{"error": {"code", "message", "details"}}`; this is the
one place exceptions become status codes.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from chalice import Response
from pydantic import BaseModel, ValidationError

from emailsched.errors import (
    EmailschedError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

# API Gateway refuses bodies over 10 MB; 100,000 long addresses fit in about 4 MB.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
ALLOWED_HEADERS = "Authorization,Content-Type"


def parse_json(raw: bytes | str, content_type: str | None, model: type[M]) -> M:
    """A request body validated against `model`, or the precise 4xx saying why not."""
    if content_type is not None and content_type.split(";")[0].strip().lower() not in (
            "application/json", ""):
        raise UnsupportedMediaType(f"expected application/json, got {content_type}")
    if len(raw) > MAX_REQUEST_BYTES:
        raise PayloadTooLarge(f"request body is over {MAX_REQUEST_BYTES // (1024 * 1024)} MB")
    if not raw:
        raise InvalidRequest("request body is empty; expected a JSON object")
    try:
        data = json.loads(raw, object_pairs_hook=_refuse_duplicate_keys)
    except DuplicateKey as error:
        raise InvalidRequest(f"duplicate key in JSON object: {error}", details=[
            {"field": str(error), "message": "appears more than once"}]) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest(f"request body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise InvalidRequest("request body must be a JSON object")
    return validate(model, data)


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        details = [_detail(e) for e in error.errors(include_url=False)]
        fields = ", ".join(sorted({d["field"] for d in details}))
        raise InvalidRequest(f"invalid fields: {fields}", details=details) from None


class DuplicateKey(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(key)
        result[key] = value
    return result


def _detail(error: Any) -> dict[str, Any]:
    field = ""
    for part in error["loc"]:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    message = _BOUNDS.get(error["type"], "").format(**error.get("ctx") or {}) or (
        str(error["msg"]).removeprefix("Value error, "))
    return {"field": field or "body", "message": message}


# A number out of range says the bound as the dashboard shows it next to the field.
_BOUNDS = {"less_than_equal": "must be at most {le}", "greater_than_equal": "must be at least {ge}"}


def parse_uuid(value: str | None, *, field: str, missing: type[EmailschedError] = NotFound
               ) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        if missing is NotFound:
            raise NotFound(f"no such {field}") from None
        raise InvalidRequest(f"{field} is not a valid id",
                             details=[{"field": field, "message": "must be a UUID"}]) from None


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_response(model: BaseModel, status: int = 200) -> Response:
    body = model.model_dump_json(by_alias=True)
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def error_response(error: Exception) -> Response:
    if not isinstance(error, EmailschedError):
        log.exception("unhandled error")
        error = EmailschedError("an internal error occurred")
    headers: dict[str, str | list[str]] = {"Content-Type": "application/json"}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after_seconds)
    body = {"error": {"code": error.code, "message": error.message, "details": error.details}}
    return Response(body=json.dumps(body), status_code=error.status, headers=headers)


def with_errors_mapped(view: Callable[..., Response]) -> Callable[..., Response]:
    def mapped(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except Exception as error:
            return error_response(error)

    mapped.__name__ = view.__name__
    mapped.__doc__ = view.__doc__
    return mapped


def decorate(response: Response, origin: str | None, allowed_origins: list[str]) -> Response:
    """Security headers on every response; CORS headers for an allowed origin only."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if origin and origin in allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Allow-Methods"] = "GET,POST,PATCH,DELETE,OPTIONS"
        response.headers["Access-Control-Max-Age"] = "600"
        response.headers["Vary"] = "Origin"
    return response
