/** API keys and webhooks (SPEC.md "API keys", "Webhooks (Standard Webhooks 1.0)"). */
import type { Pagination } from "./types";

export const API_KEY_SCOPES = ["read", "schedule", "senders", "suppressions", "inbox", "webhooks"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const WEBHOOK_EVENT_TYPES = [
  "email.sent",
  "email.failed",
  "email.bounced",
  "email.opened",
  "email.clicked",
  "reply.received",
  "lead.status_changed",
  "recipient.unsubscribed",
  "batch.completed",
  "sender.failing",
  "webhook.test",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface ApiKey {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt?: string | null;
}
/** The answer of POST /api-keys: the only time `key` is shown. */
export interface ApiKeyCreated extends Omit<ApiKey, "lastUsedAt"> {
  key: string;
}
export interface ApiKeyList {
  apiKeys: ApiKey[];
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  description: string;
  status: "enabled" | "disabled";
  disabledReason?: string | null;
  createdAt: string;
}
export interface WebhookCreated extends Webhook {
  secret: string;
}
export interface WebhookInput {
  url: string;
  events: string[];
  description?: string;
}
export interface WebhookList {
  webhooks: Webhook[];
}

export interface Delivery {
  eventId: string;
  type: string;
  attempt: number;
  statusCode?: number | null;
  error?: string | null;
  responseBody?: string | null;
  durationMs: number;
  at: string;
  nextAttemptAt?: string | null;
}
export interface DeliveryPage {
  deliveries: Delivery[];
  pagination: Pagination;
}
