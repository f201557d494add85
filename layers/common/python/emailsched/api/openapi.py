"""The OpenAPI 3.1 document, generated from the request and response models."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from emailsched.api import engagement_schemas, inbox_views, schemas
from emailsched.api import integration_schemas as integrations

_ROUTES: list[tuple[str, str, type[BaseModel] | None, type[BaseModel] | None, int, bool]] = [
    # path, method, request body, response, success status, needs a session
    ("/auth/config", "get", None, schemas.AuthConfigOut, 200, False),
    ("/auth/dev-login", "post", schemas.DevLoginIn, schemas.SessionOut, 200, False),
    ("/auth/google-login", "post", schemas.GoogleLoginIn, schemas.SessionOut, 200, False),
    ("/auth/me", "get", None, schemas.MeOut, 200, True),
    ("/emails/schedule", "post", schemas.ScheduleIn, schemas.ScheduleOut, 201, True),
    ("/emails/scheduled", "get", None, schemas.EmailListOut, 200, True),
    ("/emails/sent", "get", None, schemas.EmailListOut, 200, True),
    ("/emails/stats", "get", None, schemas.StatsOut, 200, True),
    ("/emails", "get", None, schemas.EmailItemListOut, 200, True),
    ("/emails/{emailId}", "get", None, schemas.EmailDetailOut, 200, True),
    ("/batches", "get", None, schemas.BatchListOut, 200, True),
    ("/batches/{batchId}", "get", None, schemas.BatchOut, 200, True),
    ("/batches/{batchId}/pause", "post", None, schemas.BatchOut, 200, True),
    ("/batches/{batchId}/resume", "post", None, schemas.BatchOut, 200, True),
    ("/batches/{batchId}/cancel", "post", None, schemas.BatchOut, 200, True),
    ("/health", "get", None, schemas.HealthOut, 200, False),
    ("/senders", "get", None, schemas.SenderAccountListOut, 200, True),
    ("/senders", "post", schemas.SenderCreateIn, schemas.SenderAccountOut, 201, True),
    ("/senders/{senderId}", "get", None, schemas.SenderAccountOut, 200, True),
    ("/senders/{senderId}", "patch", schemas.SenderPatchIn, schemas.SenderAccountOut, 200,
     True),
    ("/senders/{senderId}/verify", "post", None, schemas.SenderAccountOut, 200, True),
    ("/senders/{senderId}/dns", "get", None, schemas.SenderDnsOut, 200, True),
    ("/senders/{senderId}", "delete", None, None, 204, True),
    # Mailboxes connected by OAuth (issue 25): the consent, then the provider's redirect.
    ("/senders/oauth/{provider}/start", "post", schemas.OAuthStartIn, schemas.OAuthStartOut,
     200, True),
    ("/senders/oauth/{provider}/callback", "get", None, None, 302, False),
    ("/auth/me", "patch", schemas.MePatchIn, schemas.MeOut, 200, True),
    ("/suppressions", "get", None, schemas.SuppressionListOut, 200, True),
    ("/suppressions", "post", schemas.SuppressionsIn, schemas.SuppressionsAddedOut, 201, True),
    ("/suppressions/{email}", "delete", None, None, 204, True),
    # Public, HTML: the one-click unsubscribe (RFC 8058) and its confirmation page.
    ("/u/{token}", "get", None, None, 200, False),
    ("/u/{token}", "post", None, None, 200, False),
    # Big lists (issue 17): a presigned S3 PUT, then POST /emails/schedule with
    # recipientsImportId (202 ImportScheduledOut), then the import's progress.
    ("/imports", "post", schemas.ImportIn, schemas.ImportCreatedOut, 201, True),
    ("/imports/{importId}", "get", None, schemas.ImportOut, 200, True),
    # Integrations (issue 28): API keys (a session only) and webhooks.
    ("/api-keys", "post", integrations.ApiKeyIn, integrations.ApiKeyCreatedOut, 201, True),
    ("/api-keys", "get", None, integrations.ApiKeyListOut, 200, True),
    ("/api-keys/{keyId}", "delete", None, None, 204, True),
    ("/webhooks", "post", integrations.WebhookIn, integrations.WebhookCreatedOut, 201, True),
    ("/webhooks", "get", None, integrations.WebhookListOut, 200, True),
    ("/webhooks/{webhookId}", "get", None, integrations.WebhookOut, 200, True),
    ("/webhooks/{webhookId}", "patch", integrations.WebhookPatchIn, integrations.WebhookOut,
     200, True),
    ("/webhooks/{webhookId}", "delete", None, None, 204, True),
    ("/webhooks/{webhookId}/secret", "get", None, integrations.WebhookSecretOut, 200, True),
    ("/webhooks/{webhookId}/test", "post", None, integrations.AcceptedOut, 202, True),
    ("/webhooks/{webhookId}/deliveries", "get", None, integrations.DeliveryListOut, 200,
     True),
    ("/webhooks/{webhookId}/events/{eventId}/replay", "post", None, integrations.AcceptedOut,
     202, True),
    # The inbox (issue 26).
    ("/inbox", "get", None, inbox_views.ThreadListOut, 200, True),
    ("/inbox/{threadId}", "get", None, inbox_views.ThreadDetailOut, 200, True),
    ("/inbox/{threadId}", "patch", inbox_views.ThreadPatchIn, inbox_views.ThreadOut, 200,
     True),
    ("/inbox/{threadId}/reply", "post", inbox_views.ReplyIn, inbox_views.ThreadMessageOut,
     201, True),
    # Engagement (issue 27): public pixel and redirect (a gif; a 302), and the analytics.
    ("/t/o/{token}.gif", "get", None, None, 200, False),
    ("/t/c/{token}", "get", None, None, 302, False),
    ("/batches/{batchId}/analytics", "get", None, engagement_schemas.BatchAnalyticsOut,
     200, True),
    ("/analytics", "get", None, engagement_schemas.AnalyticsOut, 200, True),
]
_INBOX_FILTERS: list[dict[str, Any]] = [
    {"name": name, "in": "query", "schema": schema} for name, schema in (
        ("page", {"type": "integer", "minimum": 1}),
        ("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
        ("leadStatus", {"type": "string"}), ("senderId", {"type": "string", "format": "uuid"}),
        ("batchId", {"type": "string", "format": "uuid"}), ("unread", {"type": "boolean"}),
        ("q", {"type": "string"}))]
_LIST_PARAMS: list[dict[str, Any]] = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                               "maximum": 1_000_000}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                "maximum": 100}},
    {"name": "batchId", "in": "query", "schema": {"type": "string", "format": "uuid"}},
]
# GET /emails: `status` repeats (or lists several, comma-separated).
_EMAIL_FILTERS: list[dict[str, Any]] = [
    {"name": "status", "in": "query", "style": "form", "explode": True,
     "schema": {"type": "array", "items": {"type": "string"}}},
    {"name": "recipient", "in": "query", "schema": {"type": "string"}},
]
_ERRORS = {"400": "Malformed or invalid input", "401": "No valid session",
           "403": "The API key's scopes do not allow this route",
           "404": "No such object", "409": "The change does not apply",
           "413": "Too large", "415": "Not JSON", "429": "Too many requests"}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": _ref(model)}}}


_PATH_NAMES = ("batchId", "senderId", "email", "emailId", "token", "provider", "keyId",
               "webhookId", "eventId", "threadId")


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PATH_NAMES if "{" + name + "}" in path]


def _operation(path: str, method: str, request: type[BaseModel] | None,
               response: type[BaseModel] | None, status: int,
               secured: bool) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"{method}_{path.strip('/').replace('/', '_').replace('{', '')}"
                       .replace("}", ""),
        "responses": {str(status): {"description": "OK",
                                    **(_json(response) if response is not None else {})},
                      **{code: {"description": text, **_json(schemas.ErrorOut)}
                         for code, text in _ERRORS.items()}},
    }
    if path == "/health":  # a failed check: the same body, status "degraded"
        operation["responses"]["503"] = {"description": "A check failed",
                                         **_json(schemas.HealthOut)}
    if path.startswith("/senders") and method in ("post", "patch"):  # sender_unverified
        operation["responses"]["422"] = {"description": "The mail server refused the account",
                                         **_json(schemas.ErrorOut)}
    if request is not None:
        operation["requestBody"] = {"required": True, **_json(request)}
    parameters = []
    if path.startswith("/u/"):
        operation["responses"]["200"]["content"] = {"text/html": {"schema": {"type": "string"}}}
        # 404: the HTML page when the client accepts text/html, else the error body.
        operation["responses"]["404"]["content"] = {
            "text/html": {"schema": {"type": "string"}}, **_json(schemas.ErrorOut)["content"]}
    if path.startswith("/u/") and method == "post":
        operation["requestBody"] = {"required": False, "content": {
            media: {"schema": {"type": "object", "properties": {
                "List-Unsubscribe": {"type": "string", "enum": ["One-Click"]}}}}
            for media in ("application/x-www-form-urlencoded", "multipart/form-data")}}
    parameters.extend(_path_parameters(path))
    if path.endswith("/callback"):
        parameters.extend({"name": name, "in": "query", "required": False,
                           "schema": {"type": "string"}} for name in ("code", "state", "error"))
        operation["responses"][str(status)] = {"description": "To the dashboard's Senders "
                                               "page with ?connected= or ?error="}
    if path in ("/emails/scheduled", "/emails/sent", "/batches",
                "/webhooks/{webhookId}/deliveries") or (
            path == "/suppressions" and method == "get"):
        parameters.extend(p for p in _LIST_PARAMS if path.startswith("/emails")
                          or p["name"] != "batchId")
    if path == "/emails":
        parameters.extend(_LIST_PARAMS + _EMAIL_FILTERS)
    if path == "/inbox":
        parameters.extend(_INBOX_FILTERS)
    if parameters:
        operation["parameters"] = parameters
    operation["security"] = [{"bearer": []}] if secured else []
    return operation


@cache
def openapi_document() -> str:
    models = {m for _, _, req, resp, _, _ in _ROUTES for m in (req, resp) if m is not None}
    models.add(schemas.ErrorOut)
    _, definitions = models_json_schema(
        [(m, "validation" if m.__name__.endswith("In") else "serialization")
         for m in sorted(models, key=lambda m: m.__name__)],
        by_alias=True, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for path, method, request, response, status, secured in _ROUTES:
        paths.setdefault(path, {})[method] = _operation(path, method, request, response,
                                                        status, secured)
    document = {
        "openapi": "3.1.0",
        "info": {"title": "emailsched", "version": "1",
                 "description": "Schedule email campaigns; every email once, on time, "
                                "under its limits."},
        "paths": paths,
        "components": {"schemas": definitions.get("$defs", {}),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "bearerFormat": "JWT"}}},
    }
    return json.dumps(document)


if __name__ == "__main__":
    # Prints the document, e.g. to refresh dashboard/openapi.snapshot.json.
    print(json.dumps(json.loads(openapi_document()), indent=2))
