import { describe, expect, it, vi } from "vitest";
import { resolveApiBaseUrl } from "../config";
import { tokenExpiry, initials } from "../auth/session";
import { ApiClient, ApiError } from "./client";

function fakeFetch(status: number, body: unknown, headers: Record<string, string> = {}) {
  return vi.fn(async (_url: string | URL | Request, _init?: RequestInit) =>
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json", ...headers },
    }),
  );
}

describe("ApiClient", () => {
  it("builds URLs from the base URL, fills path params and drops empty query values", () => {
    const c = new ApiClient({ baseUrl: "https://api.example.com/prod" });
    expect(c.url("listScheduled", { query: { page: 2, limit: 20, batchId: "" } })).toBe(
      "https://api.example.com/prod/emails/scheduled?page=2&limit=20",
    );
    expect(c.url("pauseBatch", { params: { id: "a/b" } })).toBe("https://api.example.com/prod/batches/a%2Fb/pause");
  });

  it("sends the bearer token and JSON body", async () => {
    const f = fakeFetch(201, { success: true, batchId: "b1", emailCount: 1, duplicatesRemoved: 0, startTime: "", estimatedEndTime: "" });
    const c = new ApiClient({ baseUrl: "", getToken: () => "tok", fetchImpl: f as unknown as typeof fetch });
    await c.schedule({
      subject: "s",
      body: "b",
      recipients: ["a@x.com"],
      startTime: "2025-01-01T00:00:00+00:00",
      delayMs: 1000,
      hourlyLimit: 10,
      sender: { email: "me@x.com", name: "Me" },
    });
    const [url, init] = f.mock.calls[0];
    expect(url).toBe("/emails/schedule");
    expect(init?.method).toBe("POST");
    expect((init?.headers as Record<string, string>).Authorization).toBe("Bearer tok");
    expect(JSON.parse(String(init?.body)).recipients).toEqual(["a@x.com"]);
  });

  it("turns error bodies into ApiError with details and Retry-After", async () => {
    const f = fakeFetch(
      429,
      { error: { code: "rate_limited", message: "Slow down", details: [{ field: "recipients[0]", message: "x" }] } },
      { "Retry-After": "7" },
    );
    const c = new ApiClient({ baseUrl: "", fetchImpl: f as unknown as typeof fetch });
    const err = await c.stats().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 429, code: "rate_limited", message: "Slow down", retryAfter: 7 });
    expect((err as ApiError).details).toHaveLength(1);
  });

  it("ends the session on a 401 from an authenticated call only", async () => {
    const onUnauthorized = vi.fn();
    const f = fakeFetch(401, { error: { code: "unauthorized", message: "no" } });
    const c = new ApiClient({ baseUrl: "", getToken: () => "t", onUnauthorized, fetchImpl: f as unknown as typeof fetch });
    await expect(c.listBatches()).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    await expect(c.devLogin("a@x.com")).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it("reports network failures as status 0", async () => {
    const f = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    const c = new ApiClient({ baseUrl: "", fetchImpl: f as unknown as typeof fetch });
    await expect(c.stats()).rejects.toMatchObject({ status: 0, code: "network" });
  });
});

describe("config", () => {
  it("prefers the runtime base URL, then the build-time one, then same origin", () => {
    expect(resolveApiBaseUrl({ apiBaseUrl: "https://rt.example.com/" }, "https://bt.example.com")).toBe(
      "https://rt.example.com",
    );
    expect(resolveApiBaseUrl({}, "https://bt.example.com/v1/")).toBe("https://bt.example.com/v1");
    expect(resolveApiBaseUrl({ apiBaseUrl: "  " }, undefined)).toBe("");
  });
});

describe("session", () => {
  it("reads exp from a JWT without verifying it", () => {
    const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const token = `${b64({ alg: "HS256" })}.${b64({ sub: "u1", exp: 1_700_000_000 })}.sig`;
    expect(tokenExpiry(token)).toBe(1_700_000_000_000);
    expect(tokenExpiry("garbage")).toBeNull();
  });

  it("makes initials for the avatar", () => {
    expect(initials("Ada Lovelace", "ada@x.com")).toBe("AL");
    expect(initials("Grace Brewster Hopper", "g@x.com")).toBe("GH");
    expect(initials(null, "zed@x.com")).toBe("Z");
  });
});
