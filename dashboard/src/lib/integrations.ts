/** What the Settings page's API keys and webhooks panels show and check (issue 28). */
import type { Delivery } from "../api/integrationTypes";

/** The scopes list with `scope` switched on or off, in the API's order. */
export function toggle<T extends string>(all: readonly T[], chosen: readonly string[], item: T): T[] {
  const next = new Set(chosen);
  if (next.has(item)) next.delete(item);
  else next.add(item);
  return all.filter((x) => next.has(x));
}

export interface DeliveryOutcome {
  /** The status code, or what went wrong ("timed out"). */
  label: string;
  tone: "success" | "danger" | "warning";
  /** When the next attempt is due, for a failed one still retried. */
  retryAt: string | null;
}

export function deliveryOutcome(d: Delivery): DeliveryOutcome {
  const code = d.statusCode ?? null;
  if (code !== null && code >= 200 && code < 300) return { label: String(code), tone: "success", retryAt: null };
  const label = code !== null ? String(code) : d.error || "no answer";
  return { label, tone: d.nextAttemptAt ? "warning" : "danger", retryAt: d.nextAttemptAt ?? null };
}

/** A hint before sending: the server checks again (https, no private address). */
export function webhookFormProblems(url: string, events: readonly string[]): { url?: string; events?: string } {
  const problems: { url?: string; events?: string } = {};
  let parsed: URL | null = null;
  try {
    parsed = new URL(url.trim());
  } catch {
    problems.url = "Enter the full URL, starting with https://";
  }
  if (parsed && parsed.protocol !== "https:" && parsed.protocol !== "http:") problems.url = "The URL must start with https://";
  if (events.length === 0) problems.events = "Choose at least one event.";
  return problems;
}

/** `whsec_abc…xyz`: enough to recognise a secret on screen without showing it. */
export function maskSecret(secret: string): string {
  return secret.length <= 14 ? "whsec_…" : `${secret.slice(0, 9)}…${secret.slice(-3)}`;
}
