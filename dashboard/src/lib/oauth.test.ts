import { describe, expect, it } from "vitest";
import type { SenderAccount } from "../api/types";
import { connectionAge, needsReconnect, oauthReturn } from "./oauth";

const NOW = Date.parse("2026-12-07T12:00:00Z");

function sender(kind: SenderAccount["kind"], status: SenderAccount["status"]): SenderAccount {
  return {
    id: "s1", email: "a@x.example", name: "", kind, smtp: null, imap: null, hourlyLimit: null,
    dailyLimit: null, minDelayMs: null, timezone: "UTC", status, lastError: null, sentToday: 0,
    createdAt: "2026-12-01T00:00:00Z",
  };
}

describe("OAuth senders", () => {
  it("says how old a connection is in its largest whole unit", () => {
    expect(connectionAge("2026-12-07T11:59:30Z", NOW)).toBe("connected just now");
    expect(connectionAge("2026-12-07T11:58:00Z", NOW)).toBe("connected 2 minutes ago");
    expect(connectionAge("2026-12-07T11:00:00Z", NOW)).toBe("connected 1 hour ago");
    expect(connectionAge("2026-12-04T12:00:00Z", NOW)).toBe("connected 3 days ago");
  });

  it("offers a reconnect only to a failing google or microsoft sender", () => {
    expect(needsReconnect(sender("google", "failing"))).toBe(true);
    expect(needsReconnect(sender("microsoft", "failing"))).toBe(true);
    expect(needsReconnect(sender("google", "active"))).toBe(false);
    expect(needsReconnect(sender("smtp", "failing"))).toBe(false);
  });

  it("reads the redirect back from a consent", () => {
    expect(oauthReturn(new URLSearchParams("connected=abc"))).toEqual({ kind: "connected", senderId: "abc" });
    expect(oauthReturn(new URLSearchParams("error=google%3A%20access_denied"))).toEqual({
      kind: "error",
      message: "google: access_denied",
    });
    expect(oauthReturn(new URLSearchParams("page=2"))).toBeNull();
  });
});
