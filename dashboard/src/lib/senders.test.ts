import { describe, expect, it } from "vitest";
import type { SenderAccount } from "../api/types";
import { dailyUsage, emptySenderDraft, failingSendersOf, initialSenderIds, senderToDraft, toCreateSender, toUpdateSender, validateSender } from "./senders";

const account = (over: Partial<SenderAccount> = {}): SenderAccount => ({
  id: "s1",
  email: "me@x.com",
  name: "Me",
  kind: "smtp",
  smtp: { host: "smtp.x.com", port: 587, security: "starttls", username: "me" },
  imap: null,
  hourlyLimit: 50,
  dailyLimit: 200,
  minDelayMs: null,
  timezone: "Europe/Berlin",
  status: "active",
  lastError: null,
  sentToday: 50,
  createdAt: "2025-01-01T00:00:00Z",
  ...over,
});

describe("sender form", () => {
  it("checks a new account and builds its POST body", () => {
    const d = { ...emptySenderDraft("UTC"), email: " me@x.com ", host: "smtp.ethereal.email", username: "u", password: "p", dailyLimit: "100" };
    expect(validateSender(d, "create")).toEqual({});
    expect(toCreateSender(d)).toEqual({
      email: "me@x.com",
      name: "",
      smtp: { host: "smtp.ethereal.email", port: 587, security: "starttls", username: "u", password: "p" },
      hourlyLimit: null,
      dailyLimit: 100,
      timezone: "UTC",
    });
    expect(Object.keys(validateSender({ ...emptySenderDraft("UTC"), port: "0", hourlyLimit: "1.5" }, "create"))).toEqual([
      "email",
      "host",
      "port",
      "username",
      "password",
      "hourlyLimit",
    ]);
  });

  it("patches limits, and the account only with a new password", () => {
    const s = account();
    const d = senderToDraft(s, "UTC");
    expect(d.password).toBe("");
    expect(validateSender(d, "edit")).toEqual({});
    expect(toUpdateSender({ ...d, minDelayMs: "2000" }, s)).toEqual({
      name: "Me",
      hourlyLimit: 50,
      dailyLimit: 200,
      minDelayMs: 2000,
      timezone: "Europe/Berlin",
    });
    expect(toUpdateSender({ ...d, password: "new" }, s).smtp?.password).toBe("new");
  });

  it("shows sent today against the cap", () => {
    expect(dailyUsage(account())).toMatchObject({ sent: 50, cap: 200, pct: 25, label: "50 / 200 today" });
    expect(dailyUsage(account({ dailyLimit: null, sentToday: 3 }))).toMatchObject({ pct: null, label: "3 today · no daily cap" });
  });

  it("finds the failing senders of a batch by id or by From address", () => {
    const senders = [account({ status: "failing" }), account({ id: "s2", email: "b@x.com" })];
    expect(failingSendersOf({ sender: { email: "ME@x.com", name: "" } }, senders).map((s) => s.id)).toEqual(["s1"]);
    expect(failingSendersOf({ sender: { email: "me@x.com", name: "" }, senderIds: ["s2"] }, senders)).toEqual([]);
  });
});

describe("initialSenderIds", () => {
  const a = { id: "a" }, b = { id: "b" };
  it("picks the only sender when none is remembered", () => {
    expect(initialSenderIds([], [a])).toEqual(["a"]);
    expect(initialSenderIds(["gone"], [a])).toEqual(["a"]);
  });
  it("keeps remembered senders that still exist and picks none of several", () => {
    expect(initialSenderIds(["b", "gone"], [a, b])).toEqual(["b"]);
    expect(initialSenderIds([], [a, b])).toEqual([]);
  });
});

describe("the sender form's IMAP block", () => {
  const base = { ...emptySenderDraft("UTC"), email: "a@example.com", host: "smtp.example.com", username: "a", password: "p" };
  it("sends no imap while its host is blank", () => {
    expect(toCreateSender(base).imap).toBeUndefined();
    expect(validateSender(base, "create")).toEqual({});
  });
  it("sends the IMAP account when a host is given, and wants its login and password", () => {
    const d = { ...base, imapHost: "imap.example.com", imapUsername: "a" };
    expect(validateSender(d, "create")).toEqual({ imapPassword: "Enter the IMAP password" });
    expect(toCreateSender({ ...d, imapPassword: "q" }).imap).toEqual({ host: "imap.example.com", port: 993, security: "tls", username: "a", password: "q" });
  });
});
