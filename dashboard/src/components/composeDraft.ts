import type { User, Weekday } from "../api/types";
import { browserTimeZone, WORKDAYS } from "../lib/sendingWindow";
import type { StepDraft } from "../lib/steps";
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
  /** Chosen sender accounts (rotation when several); empty: the typed address. */
  senderIds: string[];
  /** Send only inside a weekly window (issue 15). */
  windowOn: boolean;
  windowZone: string;
  windowDays: Weekday[];
  windowStart: string;
  windowEnd: string;
  /** Up to this many extra seconds on each gap (`randomDelayMs`). */
  jitterSeconds: string;
  /** Follow-ups (issue 16). */
  steps: StepDraft[];
  /** Open and click tracking (issue 27), off unless turned on. */
  trackOpens: boolean;
  trackClicks: boolean;
}

/** The drafts' fields added with senders, windows and steps, at their defaults. */
export function newerDraftFields(): Pick<
  ComposeDraft,
  "senderIds" | "windowOn" | "windowZone" | "windowDays" | "windowStart" | "windowEnd" | "jitterSeconds" | "steps"
  | "trackOpens" | "trackClicks"
> {
  return {
    senderIds: [],
    windowOn: false,
    windowZone: browserTimeZone(),
    windowDays: [...WORKDAYS],
    windowStart: "09:00",
    windowEnd: "17:00",
    jitterSeconds: "0",
    steps: [],
    trackOpens: false,
    trackClicks: false,
  };
}

interface Remembered {
  senderEmail?: string;
  senderName?: string;
  delaySeconds?: string;
  hourlyLimit?: string;
  senderIds?: string[];
  windowOn?: boolean;
  windowZone?: string;
  windowDays?: Weekday[];
  windowStart?: string;
  windowEnd?: string;
  jitterSeconds?: string;
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
      senderIds: d.senderIds,
      windowOn: d.windowOn,
      windowZone: d.windowZone,
      windowDays: d.windowDays,
      windowStart: d.windowStart,
      windowEnd: d.windowEnd,
      jitterSeconds: d.jitterSeconds,
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
  const base = newerDraftFields();
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
    senderIds: Array.isArray(r.senderIds) ? r.senderIds : base.senderIds,
    windowOn: r.windowOn ?? base.windowOn,
    windowZone: r.windowZone || base.windowZone,
    windowDays: Array.isArray(r.windowDays) ? r.windowDays : base.windowDays,
    windowStart: r.windowStart || base.windowStart,
    windowEnd: r.windowEnd || base.windowEnd,
    jitterSeconds: r.jitterSeconds ?? base.jitterSeconds,
    steps: [],
    trackOpens: base.trackOpens,
    trackClicks: base.trackClicks,
  };
}

/** After a successful schedule: a fresh message, same sender and pacing. */
export function clearMessage(d: ComposeDraft): ComposeDraft {
  return { ...d, subject: "", body: "", recipientsText: "", fileName: null, startLocal: defaultStart(), steps: [] };
}

export function isDraftDirty(d: ComposeDraft): boolean {
  return d.subject.trim() !== "" || d.body.trim() !== "" || d.recipientsText.trim() !== "";
}
