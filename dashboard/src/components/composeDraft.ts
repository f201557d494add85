import type { User } from "../api/types";
import { toDateTimeLocalValue } from "../lib/time";

export interface ComposeDraft {
  senderEmail: string;
  senderName: string;
  subject: string;
  body: string;
  recipientsText: string;
  fileName: string | null;
  startLocal: string;
  delaySeconds: string;
  hourlyLimit: string;
}

interface Remembered {
  senderEmail?: string;
  senderName?: string;
  delaySeconds?: string;
  hourlyLimit?: string;
}

const KEY = "emailsched.compose";

function load(): Remembered {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Remembered) : {};
  } catch {
    return {};
  }
}

/** Keeps the sender and pacing for next time. */
export function rememberComposeDefaults(d: ComposeDraft): void {
  try {
    const r: Remembered = {
      senderEmail: d.senderEmail.trim(),
      senderName: d.senderName.trim(),
      delaySeconds: d.delaySeconds,
      hourlyLimit: d.hourlyLimit,
    };
    localStorage.setItem(KEY, JSON.stringify(r));
  } catch {
    /* storage unavailable */
  }
}

/** Five minutes from now, rounded up to the next five. */
export function defaultStart(now = new Date()): string {
  const d = new Date(now.getTime() + 5 * 60_000);
  d.setSeconds(0, 0);
  d.setMinutes(Math.ceil(d.getMinutes() / 5) * 5);
  return toDateTimeLocalValue(d);
}

export function newDraft(user: User | null, defaultHourlyLimit = 200): ComposeDraft {
  const r = load();
  return {
    senderEmail: r.senderEmail || user?.email || "",
    senderName: r.senderName ?? user?.name ?? "",
    subject: "",
    body: "",
    recipientsText: "",
    fileName: null,
    startLocal: defaultStart(),
    delaySeconds: r.delaySeconds ?? "1",
    hourlyLimit: r.hourlyLimit ?? String(defaultHourlyLimit),
  };
}

/** After a successful schedule: a fresh message, same sender and pacing. */
export function clearMessage(d: ComposeDraft): ComposeDraft {
  return { ...d, subject: "", body: "", recipientsText: "", fileName: null, startLocal: defaultStart() };
}

export function isDraftDirty(d: ComposeDraft): boolean {
  return d.subject.trim() !== "" || d.body.trim() !== "" || d.recipientsText.trim() !== "";
}
