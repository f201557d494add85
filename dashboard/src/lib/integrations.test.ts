import { describe, expect, it } from "vitest";
import { API_KEY_SCOPES, WEBHOOK_EVENT_TYPES } from "../api/integrationTypes";
import { deliveryOutcome, maskSecret, toggle, webhookFormProblems } from "./integrations";

const base = { eventId: "msg_1", type: "email.sent", attempt: 1, durationMs: 12, at: "2026-12-07T12:00:00Z" };

describe("integrations helpers", () => {
  it("toggles scopes and keeps the API's order", () => {
    expect(toggle(API_KEY_SCOPES, ["webhooks"], "read")).toEqual(["read", "webhooks"]);
    expect(toggle(API_KEY_SCOPES, ["read", "webhooks"], "read")).toEqual(["webhooks"]);
    expect(toggle(WEBHOOK_EVENT_TYPES, [], "reply.received")).toEqual(["reply.received"]);
  });

  it("describes each delivery attempt", () => {
    expect(deliveryOutcome({ ...base, statusCode: 204 })).toEqual({ label: "204", tone: "success", retryAt: null });
    expect(deliveryOutcome({ ...base, statusCode: 500, nextAttemptAt: "2026-12-07T12:00:05Z" })).toMatchObject({
      label: "500",
      tone: "warning",
      retryAt: "2026-12-07T12:00:05Z",
    });
    expect(deliveryOutcome({ ...base, statusCode: null, error: "timed out" })).toMatchObject({ label: "timed out", tone: "danger" });
  });

  it("checks the webhook form before sending it", () => {
    expect(webhookFormProblems("https://hooks.example.com/in", ["email.sent"])).toEqual({});
    expect(webhookFormProblems("hooks.example.com", [])).toEqual({
      url: "Enter the full URL, starting with https://",
      events: "Choose at least one event.",
    });
    expect(webhookFormProblems("ftp://x.example/", ["email.sent"]).url).toContain("https://");
  });

  it("masks a secret", () => {
    expect(maskSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).toBe("whsec_MfK…aSw");
  });
});
