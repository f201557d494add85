import type { ErrorDetail } from "../api/types";

/** Form fields of the compose drawer that API errors can point at. */
export type ComposeField =
  | "subject"
  | "body"
  | "recipients"
  | "startTime"
  | "delayMs"
  | "hourlyLimit"
  | "senderEmail"
  | "senderName"
  | "senderIds"
  | "sendingWindow"
  | "randomDelayMs"
  | "steps"
  | "tracking";

export interface RecipientError {
  index: number;
  value: string | null;
  message: string;
}

export interface MappedErrors {
  fields: Partial<Record<ComposeField, string[]>>;
  recipients: RecipientError[];
  /** Details that name no known field. */
  general: string[];
}

const DIRECT: Record<string, ComposeField> = {
  subject: "subject",
  body: "body",
  html: "body",
  recipients: "recipients",
  starttime: "startTime",
  start_time: "startTime",
  delayms: "delayMs",
  delay_ms: "delayMs",
  delay: "delayMs",
  hourlylimit: "hourlyLimit",
  hourly_limit: "hourlyLimit",
  sender: "senderEmail",
  "sender.email": "senderEmail",
  senderemail: "senderEmail",
  "sender.name": "senderName",
  sendername: "senderName",
  senderids: "senderIds",
  sendingwindow: "sendingWindow",
  "sendingwindow.timezone": "sendingWindow",
  "sendingwindow.days": "sendingWindow",
  "sendingwindow.start": "sendingWindow",
  "sendingwindow.end": "sendingWindow",
  randomdelayms: "randomDelayMs",
  steps: "steps",
  tracking: "tracking",
  "tracking.opens": "tracking",
  "tracking.clicks": "tracking",
};

/** `recipients[3]`, `recipients.3`, `body.recipients.3` → { base: "recipients", index: 3 }. */
export function parseFieldPath(field: string): { base: string; index: number | null } {
  let f = field.trim().replace(/\.(\d+)(?=\.|$)/g, "[$1]");
  // Some validators prefix the request part (`body.subject`); keep `body` itself.
  if (/^body\./i.test(f)) f = f.slice(5);
  const m = /^([A-Za-z_.]+?)\[(\d+)\](.*)$/.exec(f);
  if (m) return { base: m[1], index: Number(m[2]) };
  return { base: f, index: null };
}

/**
 * Sorts an API error's `details` onto the compose form's fields. `recipients[i]`
 * is looked up in `sentRecipients` (what was sent) to show the address itself.
 */
export function mapErrorDetails(details: ErrorDetail[] | undefined, sentRecipients: (string | { email: string })[] = []): MappedErrors {
  const out: MappedErrors = { fields: {}, recipients: [], general: [] };
  for (const d of details ?? []) {
    const message = d.message || "Invalid value";
    if (!d.field) {
      out.general.push(message);
      continue;
    }
    const { base, index } = parseFieldPath(d.field);
    const field = DIRECT[base.toLowerCase()];
    if (!field) {
      out.general.push(`${d.field}: ${message}`);
      continue;
    }
    if (field === "recipients" && index !== null) {
      const sent = sentRecipients[index];
      const value = typeof d.value === "string" ? d.value : sent === undefined ? null : typeof sent === "string" ? sent : sent.email;
      out.recipients.push({ index, value, message });
      continue;
    }
    // `steps[0].body` is the second email of the sequence.
    const where = field === "steps" && index !== null ? `Follow-up ${index + 1}: ` : "";
    (out.fields[field] ??= []).push(where + message);
  }
  return out;
}
