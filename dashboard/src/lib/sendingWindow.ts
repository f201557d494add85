/**
 * Sending windows (issue 15): the zone picker, day toggles and hours, checks,
 * and times shown in the window's zone beside the viewer's. The server plans
 * every email inside the window; `shiftIntoWindow` is the browser's estimate.
 */
import type { SendingWindow, Weekday } from "../api/types";

export const WEEKDAYS: readonly Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
export const WORKDAYS: readonly Weekday[] = ["mon", "tue", "wed", "thu", "fri"];
export const WEEKDAY_LABELS: Record<Weekday, string> = {
  mon: "Mon",
  tue: "Tue",
  wed: "Wed",
  thu: "Thu",
  fri: "Fri",
  sat: "Sat",
  sun: "Sun",
};

const HHMM_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** The browser's IANA zone (UTC when it can't tell). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** Every zone the browser knows, the given ones first (the browser's, the current pick). */
export function timeZoneOptions(first: string[] = []): string[] {
  let all: string[] = [];
  try {
    all = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  } catch {
    all = [];
  }
  if (!all.includes("UTC")) all = ["UTC", ...all];
  return [...new Set([...first.filter(Boolean), ...all])];
}

export function isValidTimeZone(zone: string): boolean {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Minutes after midnight of "HH:MM", or null. */
export function parseHhmm(v: string): number | null {
  const m = HHMM_RE.exec(v.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

export interface WindowDraft {
  timezone: string;
  days: Weekday[];
  start: string;
  end: string;
}

export type WindowErrors = Partial<Record<"timezone" | "days" | "start" | "end", string>>;

/** What the browser checks (the server checks again: 400 naming the field). */
export function validateWindow(w: WindowDraft): WindowErrors {
  const e: WindowErrors = {};
  if (!isValidTimeZone(w.timezone)) e.timezone = "Pick a time zone";
  if (w.days.length === 0) e.days = "Pick at least one day";
  const s = parseHhmm(w.start);
  const t = parseHhmm(w.end);
  if (s === null) e.start = "Enter a start time (HH:MM)";
  if (t === null) e.end = "Enter an end time (HH:MM)";
  else if (s !== null && s >= t) e.end = "End after the start";
  return e;
}

/** The request's window: days in week order. */
export function toSendingWindow(w: WindowDraft): SendingWindow {
  return { timezone: w.timezone, days: WEEKDAYS.filter((d) => w.days.includes(d)), start: w.start.trim(), end: w.end.trim() };
}

export function toggleDay(days: Weekday[], day: Weekday): Weekday[] {
  return days.includes(day) ? days.filter((d) => d !== day) : WEEKDAYS.filter((d) => d === day || days.includes(d));
}

interface ZonedParts {
  day: Weekday;
  /** Minutes after local midnight. */
  minutes: number;
  seconds: number;
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

/** The local weekday and time of `ms` in `zone`. */
export function zonedParts(ms: number, zone: string): ZonedParts {
  let f = partsFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    partsFormatters.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const day = String(p.weekday).slice(0, 3).toLowerCase() as Weekday;
  return { day, minutes: Number(p.hour) * 60 + Number(p.minute), seconds: Number(p.second) };
}

/**
 * The first instant at or after `ms` inside the window (minute steps across a
 * DST change; null when the window never opens in two weeks, i.e. it is invalid).
 */
export function shiftIntoWindow(ms: number, w: SendingWindow): number | null {
  const start = parseHhmm(w.start);
  const end = parseHhmm(w.end);
  if (start === null || end === null || start >= end || w.days.length === 0) return null;
  let t = ms;
  for (let i = 0; i < 15 * 24 * 4; i++) {
    const p = zonedParts(t, w.timezone);
    const open = w.days.includes(p.day);
    if (open && p.minutes >= start && p.minutes < end) return t;
    // Jump to the next local opening on this day, or to the next local midnight.
    const target = open && p.minutes < start ? start : 24 * 60;
    const jumpMin = Math.max(1, target - p.minutes);
    t += jumpMin * 60_000 - p.seconds * 1000 - (t % 1000);
    // An opening reached exactly: re-check in the loop (DST may have moved it).
  }
  return null;
}

/**
 * An estimate of the finish with a window: the plan's sends spread over the
 * window's openings (each gap kept; a send that would fall outside moves to the
 * next opening). Walks send by send for up to `maxSteps`, then extrapolates.
 */
export function estimateWithWindow(startMs: number, count: number, gapMs: number, w: SendingWindow, maxSteps = 2000): number | null {
  let t = shiftIntoWindow(startMs, w);
  if (t === null || count <= 0) return t;
  const steps = Math.min(count - 1, maxSteps);
  for (let i = 0; i < steps; i++) {
    const next = shiftIntoWindow(t + gapMs, w);
    if (next === null) return null;
    t = next;
  }
  if (steps === count - 1) return t;
  const first = shiftIntoWindow(startMs, w)!;
  const perSend = (t - first) / steps;
  return first + perSend * (count - 1);
}

/** "Tue 09:00" style wall time of `ms` in `zone`, with the zone's short name. */
export function formatInZone(ms: number, zone: string, withWeekday = true): string {
  try {
    return new Intl.DateTimeFormat(undefined, {
      timeZone: zone,
      weekday: withWeekday ? "short" : undefined,
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZoneName: "short",
    }).format(new Date(ms));
  } catch {
    return new Date(ms).toISOString();
  }
}

/** Both readings of a time when the window's zone differs from the viewer's, else one. */
export function dualZoneTimes(ms: number, windowZone: string | null | undefined, viewerZone = browserTimeZone()) {
  const viewer = formatInZone(ms, viewerZone);
  if (!windowZone || windowZone === viewerZone) return { viewer, window: null as string | null };
  return { viewer, window: formatInZone(ms, windowZone) };
}

/** "Mon–Fri 09:00–17:30 (Europe/Berlin)". */
export function describeWindow(w: SendingWindow): string {
  const idx = w.days.map((d) => WEEKDAYS.indexOf(d)).sort((a, b) => a - b);
  const contiguous = idx.length > 2 && idx.every((v, i) => i === 0 || v === idx[i - 1] + 1);
  const days = contiguous
    ? `${WEEKDAY_LABELS[WEEKDAYS[idx[0]]]}–${WEEKDAY_LABELS[WEEKDAYS[idx[idx.length - 1]]]}`
    : idx.map((i) => WEEKDAY_LABELS[WEEKDAYS[i]]).join(", ");
  return `${days} ${w.start}–${w.end} (${w.timezone})`;
}
