"""SPEC.md's error body, checked strictly:
`{"error": {"code": "...", "message": "...", "details": [...]}}` and nothing else."""

from __future__ import annotations

import json
from typing import Any

ERROR_KEYS = {"code", "message", "details"}


def error_shape_problem(status: int, content_type: str, body: bytes) -> str | None:
    """Why a 4xx response is not in SPEC.md's error shape, or None when it is."""
    if not content_type.startswith("application/json"):
        return f"{status} with Content-Type {content_type!r}"
    try:
        document: Any = json.loads(body)
    except ValueError:
        return f"{status} with a body that is not JSON: {body[:120]!r}"
    error = document.get("error") if isinstance(document, dict) else None
    if set(document) != {"error"} or not isinstance(error, dict) or set(error) != ERROR_KEYS:
        return f"{status} not in the error shape: {body[:200]!r}"
    if not (isinstance(error["code"], str) and error["code"]):
        return f"{status} without an error code: {body[:200]!r}"
    if not (isinstance(error["message"], str) and error["message"]):
        return f"{status} without an error message: {body[:200]!r}"
    if not isinstance(error["details"], list):
        return f"{status} whose details are not a list: {body[:200]!r}"
    return None


def response_problem(status: int, content_type: str, body: bytes) -> str | None:
    """Why an answer to any request, however hostile, is wrong: a 5xx, or a 4xx outside
    the error shape. None when it is fine."""
    if status >= 500:
        return f"{status}: {body[:200]!r}"
    if 400 <= status < 500:
        return error_shape_problem(status, content_type, body)
    return None
