/** Time helpers: the dashboard shows local times; the API speaks ISO 8601 with offset. */

const pad = (n: number, width = 2) => String(Math.trunc(Math.abs(n))).padStart(width, "0");

/** `YYYY-MM-DDTHH:mm` for an `<input type="datetime-local">`, in the browser's zone. */
export function toDateTimeLocalValue(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Parses a `datetime-local` value as local time; null when empty or malformed. */
export function parseDateTimeLocal(value: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, ms] = m;
  const date = new Date(+y, +mo - 1, +d, +h, +mi, s ? +s : 0, ms ? +ms.padEnd(3, "0") : 0);
  if (Number.isNaN(date.getTime())) return null;
  // Reject dates that rolled over (2025-02-31 and the like).
  if (date.getMonth() !== +mo - 1 || date.getDate() !== +d) return null;
  return date;
}

/** ISO 8601 with the browser's UTC offset, e.g. `2025-03-01T10:00:00+01:00`. */
export function toIsoWithOffset(d: Date): string {
  const offsetMin = -d.getTimezoneOffset();
  const sign = offsetMin >= 0 ? "+" : "-";
  const off = `${sign}${pad(offsetMin / 60)}:${pad(offsetMin % 60)}`;
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${off}`
  );
}

export function localTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  } catch {
    return "local time";
  }
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 24 * 3600_000],
  ["month", 30 * 24 * 3600_000],
  ["week", 7 * 24 * 3600_000],
  ["day", 24 * 3600_000],
  ["hour", 3600_000],
  ["minute", 60_000],
  ["second", 1000],
];

/** "in 5 minutes", "3 hours ago", "now". */
export function relativeTime(target: Date | number, now: Date | number = Date.now(), locale?: string): string {
  const diff = +target - +now;
  const abs = Math.abs(diff);
  if (abs < 10_000) return "now";
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: "auto", style: "long" });
  for (const [unit, ms] of UNITS) {
    if (abs >= ms || unit === "second") {
      return rtf.format(Math.round(diff / ms), unit);
    }
  }
  return "now";
}

/** "Tue, Mar 4, 10:03" style; adds the year when not this year. */
export function formatDateTime(value: Date | number | string, withSeconds = false): string {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return "—";
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleString(undefined, {
    weekday: "short",
    month: "short",
    day: "numeric",
    year: sameYear ? undefined : "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: withSeconds ? "2-digit" : undefined,
  });
}

/** Full, unambiguous local time for tooltips. */
export function formatFull(value: Date | number | string): string {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, { dateStyle: "full", timeStyle: "long" });
}

/** "1 h 5 min", "45 s", "2 d 3 h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) {
    const rs = s % 60;
    return rs ? `${m} min ${rs} s` : `${m} min`;
  }
  const h = Math.floor(m / 60);
  if (h < 24) {
    const rm = m % 60;
    return rm ? `${h} h ${rm} min` : `${h} h`;
  }
  const d = Math.floor(h / 24);
  const rh = h % 24;
  return rh ? `${d} d ${rh} h` : `${d} d`;
}

/** Hour of day label for chart axes ("14:00"). */
export function formatHour(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}
