"""Request and response models of API keys and webhooks (SPEC.md, "API keys", "Webhooks")."""

from __future__ import annotations

from pydantic import Field

from emailsched.api.schemas import Model, PaginationOut


class ApiKeyIn(Model):
    name: str = Field(max_length=200)
    scopes: list[str] = Field(max_length=10)


class ApiKeyOut(Model):
    id: str
    name: str
    scopes: list[str]
    created_at: str
    last_used_at: str | None = None


class ApiKeyCreatedOut(Model):
    id: str
    name: str
    scopes: list[str]
    key: str
    created_at: str


class ApiKeyListOut(Model):
    api_keys: list[ApiKeyOut]


class WebhookIn(Model):
    url: str = Field(max_length=2000)
    events: list[str] = Field(max_length=20)
    description: str | None = Field(default=None, max_length=500)


class WebhookPatchIn(Model):
    url: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=500)
    status: str | None = None


class WebhookOut(Model):
    id: str
    url: str
    events: list[str]
    description: str
    status: str
    disabled_reason: str | None = None
    created_at: str


class WebhookCreatedOut(WebhookOut):
    secret: str


class WebhookSecretOut(Model):
    secret: str


class WebhookListOut(Model):
    webhooks: list[WebhookOut]


class DeliveryOut(Model):
    event_id: str
    type: str
    attempt: int
    status_code: int | None = None
    error: str | None = None
    response_body: str | None = None
    duration_ms: int
    at: str
    next_attempt_at: str | None = None


class DeliveryListOut(Model):
    deliveries: list[DeliveryOut]
    pagination: PaginationOut


class AcceptedOut(Model):
    event_id: str
