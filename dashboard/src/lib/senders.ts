/**
 * Sender accounts in the browser (issue 13): the add/edit form's values and
 * checks, "sent today" against the daily cap, and which batches a failing
 * sender's trouble reaches.
 */
import type { Batch, MailServerInput, SenderAccount, SenderInput, SmtpSecurity } from "../api/types";
import { emailKey, isValidEmail } from "./email";

export interface SenderDraft {
  email: string;
  name: string;
  host: string;
  port: string;
  security: SmtpSecurity;
  username: string;
  password: string;
  hourlyLimit: string;
  dailyLimit: string;
  minDelayMs: string;
  timezone: string;
  /** Reply detection: the mailbox's IMAP server (blank host: none). */
  imapHost: string;
  imapPort: string;
  imapSecurity: SmtpSecurity;
  imapUsername: string;
  imapPassword: string;
}

/** The default IMAP port of each security mode. */
export const IMAP_PORTS: Record<SmtpSecurity, number> = { none: 143, starttls: 143, tls: 993 };

export type SenderField = keyof SenderDraft;
export type SenderErrors = Partial<Record<SenderField, string>>;

/** The default port of each security mode. */
export const SECURITY_PORTS: Record<SmtpSecurity, number> = { none: 25, starttls: 587, tls: 465 };

/** Ethereal (https://ethereal.email): a free test account that works as a real SMTP sender. */
export const ETHEREAL = { host: "smtp.ethereal.email", port: 587, security: "starttls" as SmtpSecurity };

export function emptySenderDraft(timezone: string): SenderDraft {
  return {
    email: "",
    name: "",
    host: "",
    port: "587",
    security: "starttls",
    username: "",
    password: "",
    hourlyLimit: "",
    dailyLimit: "",
    minDelayMs: "",
    timezone,
    ...noImap,
  };
}

const noImap = { imapHost: "", imapPort: "993", imapSecurity: "tls" as SmtpSecurity, imapUsername: "", imapPassword: "" };

/** The draft of an existing sender (limits only; the password is never returned). */
export function senderToDraft(s: SenderAccount, fallbackZone: string): SenderDraft {
  const n = (v: number | null) => (v === null || v === undefined ? "" : String(v));
  return {
    email: s.email,
    name: s.name ?? "",
    host: s.smtp?.host ?? "",
    port: s.smtp ? String(s.smtp.port) : "587",
    security: s.smtp?.security ?? "starttls",
    username: s.smtp?.username ?? "",
    password: "",
    hourlyLimit: n(s.hourlyLimit),
    dailyLimit: n(s.dailyLimit),
    minDelayMs: n(s.minDelayMs),
    timezone: s.timezone || fallbackZone,
    ...(s.imap
      ? { imapHost: s.imap.host, imapPort: String(s.imap.port), imapSecurity: s.imap.security, imapUsername: s.imap.username, imapPassword: "" }
      : noImap),
  };
}

/** A blank limit is "no cap of its own" (null); otherwise a whole number. */
function optionalInt(v: string, min: number): number | null | "bad" {
  if (v.trim() === "") return null;
  const n = Number(v);
  return Number.isInteger(n) && n >= min ? n : "bad";
}

export function validateSender(d: SenderDraft, mode: "create" | "edit"): SenderErrors {
  const e: SenderErrors = {};
  if (mode === "create" && !isValidEmail(d.email.trim())) e.email = "Enter the address you send from";
  if (mode === "create") {
    if (!d.host.trim()) e.host = "Enter the SMTP server";
    const port = Number(d.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) e.port = "A port from 1 to 65535";
    if (!d.username.trim()) e.username = "Enter the login";
    if (!d.password) e.password = "Enter the password";
  }
  Object.assign(e, validateImap(d, mode));
  if (optionalInt(d.hourlyLimit, 1) === "bad") e.hourlyLimit = "A whole number of at least 1, or blank";
  if (optionalInt(d.dailyLimit, 1) === "bad") e.dailyLimit = "A whole number of at least 1, or blank";
  if (optionalInt(d.minDelayMs, 0) === "bad") e.minDelayMs = "Milliseconds, 0 or more, or blank";
  return e;
}

function limits(d: SenderDraft): Pick<SenderInput, "hourlyLimit" | "dailyLimit" | "minDelayMs" | "timezone"> {
  const v = (s: string, min: number) => {
    const n = optionalInt(s, min);
    return n === "bad" ? null : n;
  };
  const out: Pick<SenderInput, "hourlyLimit" | "dailyLimit" | "minDelayMs" | "timezone"> = {
    hourlyLimit: v(d.hourlyLimit, 1),
    dailyLimit: v(d.dailyLimit, 1),
  };
  // The server takes a zone name (its default when left out), not null.
  if (d.timezone) out.timezone = d.timezone;
  // A blank gap means the deployment's default: leave it out rather than send null.
  const gap = v(d.minDelayMs, 0);
  if (gap !== null) out.minDelayMs = gap;
  return out;
}

export function smtpBlock(d: SenderDraft): MailServerInput {
  return { host: d.host.trim(), port: Number(d.port), security: d.security, username: d.username.trim(), password: d.password };
}

/** The IMAP fields: all or nothing; the password again only to change the server. */
function validateImap(d: SenderDraft, mode: "create" | "edit"): SenderErrors {
  const e: SenderErrors = {};
  if (!d.imapHost.trim()) return e;
  const port = Number(d.imapPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) e.imapPort = "A port from 1 to 65535";
  if (!d.imapUsername.trim()) e.imapUsername = "Enter the IMAP login";
  if (mode === "create" && !d.imapPassword) e.imapPassword = "Enter the IMAP password";
  return e;
}

export function imapBlock(d: SenderDraft): MailServerInput | undefined {
  if (!d.imapHost.trim()) return undefined;
  return { host: d.imapHost.trim(), port: Number(d.imapPort), security: d.imapSecurity, username: d.imapUsername.trim(), password: d.imapPassword };
}

/** POST /senders body: an smtp account (and IMAP for replies), checked by the server before it is stored. */
export function toCreateSender(d: SenderDraft): SenderInput {
  const imap = imapBlock(d);
  return { email: d.email.trim(), name: d.name.trim(), smtp: smtpBlock(d), ...(imap ? { imap } : {}), ...limits(d) };
}

/** PATCH /senders/{id}: name and limits; the smtp block only when a new password was typed. */
export function toUpdateSender(d: SenderDraft, s: SenderAccount): SenderInput {
  const patch: SenderInput = { name: d.name.trim(), ...limits(d) };
  if (s.kind === "smtp" && d.password) patch.smtp = smtpBlock(d);
  const imap = imapBlock(d);
  if (imap && d.imapPassword) patch.imap = imap;
  return patch;
}

export interface DailyUsage {
  sent: number;
  cap: number | null;
  /** 0..100 of the cap, null without one. */
  pct: number | null;
  label: string;
}

export function dailyUsage(s: Pick<SenderAccount, "sentToday" | "dailyLimit">): DailyUsage {
  const sent = Math.max(0, s.sentToday ?? 0);
  const cap = s.dailyLimit ?? null;
  if (!cap) return { sent, cap: null, pct: null, label: `${sent.toLocaleString()} today · no daily cap` };
  return { sent, cap, pct: Math.min(100, Math.round((sent / cap) * 100)), label: `${sent.toLocaleString()} / ${cap.toLocaleString()} today` };
}

/** Failing senders a batch sends through: by its `senderIds`, else by its From address. */
export function failingSendersOf(batch: Pick<Batch, "sender" | "senderIds">, senders: SenderAccount[]): SenderAccount[] {
  const failing = senders.filter((s) => s.status === "failing");
  if (failing.length === 0) return [];
  if (batch.senderIds && batch.senderIds.length > 0) return failing.filter((s) => batch.senderIds!.includes(s.id));
  const key = batch.sender?.email ? emailKey(batch.sender.email) : null;
  return key ? failing.filter((s) => emailKey(s.email) === key) : [];
}

export function senderLabel(s: Pick<SenderAccount, "name" | "email">): string {
  return s.name ? `${s.name} <${s.email}>` : s.email;
}

/** The senders a new campaign starts with: the remembered ones that still exist, or the
 * only sender when there is just one (nothing to choose). */
export function initialSenderIds(remembered: string[], senders: Pick<SenderAccount, "id">[]): string[] {
  const known = remembered.filter((id) => senders.some((s) => s.id === id));
  if (known.length === 0 && senders.length === 1) return [senders[0].id];
  return known;
}
