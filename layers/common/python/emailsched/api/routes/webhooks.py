"""Webhook endpoints (SPEC.md, "Webhooks (Standard Webhooks 1.0)"). Changes need a session
or an API key with the `webhooks` scope; so does revealing a secret."""

from __future__ import annotations

from math import ceil
from typing import Any

from chalice import Response

from emailsched.api import integration_schemas as s
from emailsched.api import views
from emailsched.api.http import iso, json_response, parse_uuid
from emailsched.api.routing import Routes, container
from emailsched.api.schemas import PaginationOut
from emailsched.domain.api_keys import WEBHOOKS
from emailsched.domain.webhooks import Attempt, Endpoint

routes = Routes(__name__)


def _fields(endpoint: Endpoint) -> dict[str, Any]:
    return {"id": str(endpoint.id), "url": endpoint.url, "events": list(endpoint.events),
            "description": endpoint.description, "status": endpoint.status,
            "disabled_reason": endpoint.disabled_reason,
            "created_at": iso(endpoint.created_at) or ""}


def _attempt(found: Attempt) -> s.DeliveryOut:
    return s.DeliveryOut(event_id=found.event_id, type=found.type, attempt=found.attempt,
                         status_code=found.status_code, error=found.error,
                         response_body=found.response_body, duration_ms=found.duration_ms,
                         at=iso(found.at) or "", next_attempt_at=iso(found.next_attempt_at))


def _id(webhook_id: str) -> Any:
    return parse_uuid(webhook_id, field="webhook")


@routes.route("/webhooks", "POST")
def create_webhook(user: Any) -> Response:
    body = routes.body(s.WebhookIn)
    endpoint, secret = container().webhooks.create(user.id, body.url, body.events,
                                                   body.description)
    return json_response(s.WebhookCreatedOut(**_fields(endpoint), secret=secret), status=201)


@routes.route("/webhooks", "GET")
def list_webhooks(user: Any) -> Response:
    return json_response(s.WebhookListOut(webhooks=[
        s.WebhookOut(**_fields(found)) for found in container().webhooks.all(user.id)]))


@routes.route("/webhooks/{webhook_id}", "GET")
def get_webhook(user: Any, webhook_id: str) -> Response:
    return json_response(s.WebhookOut(**_fields(
        container().webhooks.get(user.id, _id(webhook_id)))))


@routes.route("/webhooks/{webhook_id}/secret", "GET", scope=WEBHOOKS)
def webhook_secret(user: Any, webhook_id: str) -> Response:
    return json_response(s.WebhookSecretOut(
        secret=container().webhooks.secret(user.id, _id(webhook_id))))


@routes.route("/webhooks/{webhook_id}", "PATCH")
def change_webhook(user: Any, webhook_id: str) -> Response:
    body = routes.body(s.WebhookPatchIn)
    return json_response(s.WebhookOut(**_fields(container().webhooks.update(
        user.id, _id(webhook_id), body.url, body.events, body.description, body.status))))


@routes.route("/webhooks/{webhook_id}", "DELETE")
def delete_webhook(user: Any, webhook_id: str) -> Response:
    container().webhooks.delete(user.id, _id(webhook_id))
    return Response(body="", status_code=204)


@routes.route("/webhooks/{webhook_id}/test", "POST")
def test_webhook(user: Any, webhook_id: str) -> Response:
    event_id = container().webhooks.test(user.id, _id(webhook_id))
    return json_response(s.AcceptedOut(event_id=event_id), status=202)


@routes.route("/webhooks/{webhook_id}/deliveries", "GET")
def deliveries(user: Any, webhook_id: str) -> Response:
    page, _ = views.list_params(routes.query())
    found, total = container().webhooks.deliveries(user.id, _id(webhook_id), page)
    return json_response(s.DeliveryListOut(
        deliveries=[_attempt(a) for a in found],
        pagination=PaginationOut(page=page.page, limit=page.limit, total=total,
                                 pages=ceil(total / page.limit))))


@routes.route("/webhooks/{webhook_id}/events/{event_id}/replay", "POST")
def replay(user: Any, webhook_id: str, event_id: str) -> Response:
    container().webhooks.replay(user.id, _id(webhook_id), event_id)
    return json_response(s.AcceptedOut(event_id=event_id), status=202)
