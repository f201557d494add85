/**
 * Every HTTP operation the dashboard calls. `openapi-check.test.ts` checks
 * this list against the checked-in `openapi.snapshot.json` (from `/openapi.json`),
 * so a renamed or removed route fails the tests instead of the UI.
 */
export const API_OPERATIONS = {
  authConfig: { method: "get", path: "/auth/config" },
  devLogin: { method: "post", path: "/auth/dev-login" },
  googleLogin: { method: "post", path: "/auth/google-login" },
  me: { method: "get", path: "/auth/me" },
  schedule: { method: "post", path: "/emails/schedule" },
  listScheduled: { method: "get", path: "/emails/scheduled" },
  listSent: { method: "get", path: "/emails/sent" },
  stats: { method: "get", path: "/emails/stats" },
  listBatches: { method: "get", path: "/batches" },
  getBatch: { method: "get", path: "/batches/{id}" },
  pauseBatch: { method: "post", path: "/batches/{id}/pause" },
  resumeBatch: { method: "post", path: "/batches/{id}/resume" },
  cancelBatch: { method: "post", path: "/batches/{id}/cancel" },
  // ---- SPEC.md "Senders", "Unsubscribe and suppression" (issues 13, 14) ----
  updateMe: { method: "patch", path: "/auth/me" },
  listSenders: { method: "get", path: "/senders" },
  createSender: { method: "post", path: "/senders" },
  getSender: { method: "get", path: "/senders/{id}" },
  updateSender: { method: "patch", path: "/senders/{id}" },
  verifySender: { method: "post", path: "/senders/{id}/verify" },
  senderDns: { method: "get", path: "/senders/{id}/dns" },
  deleteSender: { method: "delete", path: "/senders/{id}" },
  // ---- SPEC.md "Mailboxes connected by OAuth" (issue 25) ----
  startOAuth: { method: "post", path: "/senders/oauth/{provider}/start" },
  listSuppressions: { method: "get", path: "/suppressions" },
  addSuppressions: { method: "post", path: "/suppressions" },
  deleteSuppression: { method: "delete", path: "/suppressions/{email}" },
  // ---- SPEC.md "Big lists" (issue 17) ----
  createImport: { method: "post", path: "/imports" },
  getImport: { method: "get", path: "/imports/{importId}" },
  // ---- SPEC.md "API keys", "Webhooks (Standard Webhooks 1.0)" (issue 28) ----
  listApiKeys: { method: "get", path: "/api-keys" },
  createApiKey: { method: "post", path: "/api-keys" },
  deleteApiKey: { method: "delete", path: "/api-keys/{id}" },
  listWebhooks: { method: "get", path: "/webhooks" },
  createWebhook: { method: "post", path: "/webhooks" },
  updateWebhook: { method: "patch", path: "/webhooks/{id}" },
  deleteWebhook: { method: "delete", path: "/webhooks/{id}" },
  webhookSecret: { method: "get", path: "/webhooks/{id}/secret" },
  testWebhook: { method: "post", path: "/webhooks/{id}/test" },
  webhookDeliveries: { method: "get", path: "/webhooks/{id}/deliveries" },
  replayWebhookEvent: { method: "post", path: "/webhooks/{id}/events/{eventId}/replay" },
  // ---- SPEC.md "Inbox" (issue 26) ----
  listInbox: { method: "get", path: "/inbox" },
  getThread: { method: "get", path: "/inbox/{id}" },
  updateThread: { method: "patch", path: "/inbox/{id}" },
  replyToThread: { method: "post", path: "/inbox/{id}/reply" },
  // ---- SPEC.md "Engagement" (issue 27) ----
  batchAnalytics: { method: "get", path: "/batches/{id}/analytics" },
  analytics: { method: "get", path: "/analytics" },
} as const;

/**
 * Operations SPEC.md names whose routes the checked-in `openapi.snapshot.json`
 * does not have yet (the backend is building them). The one place to update:
 * once `npm run openapi:snapshot` brings them in, `openapi-check.test.ts`
 * fails for each one still listed here, so the list cannot go stale.
 */
export const AWAITING_SNAPSHOT: readonly OperationName[] = [];

export type OperationName = keyof typeof API_OPERATIONS;

/** Query parameters the list operations send (checked against the snapshot too). */
export const API_QUERY_PARAMS: Partial<Record<OperationName, readonly string[]>> = {
  listScheduled: ["page", "limit", "batchId"],
  listSent: ["page", "limit", "batchId"],
  listBatches: ["page", "limit"],
  listSuppressions: ["page", "limit"],
  webhookDeliveries: ["page", "limit"],
  listInbox: ["page", "limit", "leadStatus", "senderId", "batchId", "unread", "q"],
};

/** Fills `{name}` placeholders, URL-encoding each value. */
export function fillPath(template: string, params: Record<string, string> = {}): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(v);
  });
}
