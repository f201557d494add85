/**
 * Client-side mirror of the server's send plan, used to show an estimated
 * finish time before a batch is scheduled.
 *
 * Email i is due at `start + i * max(delayMs, minGapMs)`. On top of that at
 * most `hourlyLimit` emails go out per window of `windowMs` aligned to the
 * epoch: when a window is full the next email moves to the start of the next
 * window and the emails after it follow with the same spacing.
 *
 * The server also counts the sender's other batches against the limit, which
 * the browser cannot see, so this is an estimate.
 */
export interface PlanOptions {
  /** Least gap between two sends from one sender (`MIN_DELAY_BETWEEN_EMAILS_MS`). */
  minGapMs?: number;
  /** Length of the window `hourlyLimit` counts in (`RATE_WINDOW_SECONDS` × 1000). */
  windowMs?: number;
}

export interface PlanInput extends PlanOptions {
  count: number;
  /** Epoch milliseconds of the first send. */
  startMs: number;
  delayMs: number;
  hourlyLimit: number;
}

export interface PlanSummary {
  count: number;
  /** Due time of the first email (epoch ms), null when count is 0. */
  firstMs: number | null;
  /** Due time of the last email (epoch ms): the estimated finish. Null when count is 0. */
  finishMs: number | null;
  /** How many rate windows the batch touches. */
  windows: number;
  /** True when the hourly limit pushed at least one email into a later window. */
  limited: boolean;
  /** Spacing actually used between consecutive sends. */
  gapMs: number;
}

export const DEFAULT_MIN_GAP_MS = 1000;
export const DEFAULT_WINDOW_MS = 3_600_000;

function check(input: PlanInput): Required<PlanInput> {
  const minGapMs = input.minGapMs ?? DEFAULT_MIN_GAP_MS;
  const windowMs = input.windowMs ?? DEFAULT_WINDOW_MS;
  const { count, startMs, delayMs, hourlyLimit } = input;
  if (!Number.isInteger(count) || count < 0) throw new RangeError("count must be a non-negative integer");
  if (!Number.isFinite(startMs)) throw new RangeError("startMs must be a finite time");
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError("delayMs must be >= 0");
  if (!Number.isInteger(hourlyLimit) || hourlyLimit < 1) throw new RangeError("hourlyLimit must be an integer >= 1");
  if (!(minGapMs >= 0) || !(windowMs > 0)) throw new RangeError("minGapMs must be >= 0 and windowMs > 0");
  return { count, startMs, delayMs, hourlyLimit, minGapMs, windowMs };
}

/** Due time (epoch ms) of every email, in order. */
export function planSendTimes(input: PlanInput): number[] {
  const times: number[] = [];
  walkPlan(check(input), (t) => times.push(t));
  return times;
}

/** Estimated finish and a few facts about the plan, without allocating every time. */
export function summarizePlan(input: PlanInput): PlanSummary {
  const p = check(input);
  let first: number | null = null;
  let last: number | null = null;
  let windows = 0;
  let lastWindow = Number.NaN;
  const limited = walkPlan(p, (t, w) => {
    if (first === null) first = t;
    last = t;
    if (w !== lastWindow) {
      windows++;
      lastWindow = w;
    }
  });
  return {
    count: p.count,
    firstMs: first,
    finishMs: last,
    windows,
    limited,
    gapMs: Math.max(p.delayMs, p.minGapMs),
  };
}

/** Estimated finish (epoch ms) or null for an empty batch. */
export function estimateFinish(input: PlanInput): number | null {
  return summarizePlan(input).finishMs;
}

/** Calls `visit(time, windowIndex)` for each email; returns whether the limit moved any. */
function walkPlan(p: Required<PlanInput>, visit: (t: number, window: number) => void): boolean {
  const gap = Math.max(p.delayMs, p.minGapMs);
  let limited = false;
  let t = p.startMs;
  let window = Math.floor(t / p.windowMs);
  let inWindow = 0;
  for (let i = 0; i < p.count; i++) {
    if (i > 0) t += gap;
    const w = Math.floor(t / p.windowMs);
    if (w !== window) {
      window = w;
      inWindow = 0;
    }
    if (inWindow >= p.hourlyLimit) {
      window += 1;
      t = window * p.windowMs;
      inWindow = 0;
      limited = true;
    }
    inWindow++;
    visit(t, window);
  }
  return limited;
}
