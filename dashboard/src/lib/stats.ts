import type { HourBucket } from "../api/types";

export interface HourPoint {
  /** Start of the hour, epoch ms. */
  start: number;
  sent: number;
  failed: number;
}

const HOUR = 3_600_000;

/**
 * The last `hours` whole hours ending with the current one, oldest first,
 * filled from the API's `perHour` (missing hours are zero; hours outside the
 * range are ignored; repeated hours are added up).
 */
export function lastHours(perHour: HourBucket[] | undefined, now: number, hours = 24): HourPoint[] {
  const current = Math.floor(now / HOUR) * HOUR;
  const first = current - (hours - 1) * HOUR;
  const points: HourPoint[] = Array.from({ length: hours }, (_, i) => ({ start: first + i * HOUR, sent: 0, failed: 0 }));
  for (const b of perHour ?? []) {
    const t = Date.parse(b.hour);
    if (Number.isNaN(t)) continue;
    const idx = Math.floor((Math.floor(t / HOUR) * HOUR - first) / HOUR);
    if (idx < 0 || idx >= hours) continue;
    points[idx].sent += Number(b.sent) || 0;
    points[idx].failed += Number(b.failed) || 0;
  }
  return points;
}

/** A "nice" axis maximum (1, 2, 5 × 10^n) at or above `value`. */
export function niceMax(value: number): number {
  if (value <= 0) return 1;
  const exp = Math.floor(Math.log10(value));
  const base = 10 ** exp;
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (m * base >= value) return Math.max(1, m * base);
  }
  return 10 * base;
}
