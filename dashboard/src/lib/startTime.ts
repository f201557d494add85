/**
 * The one rule for a start time in the past, shared by the hint under Start time, the
 * estimate and the request. It is the server's rule (`PAST_TOLERANCE` in
 * services/scheduling.py): a start up to an hour ago means "start now", anything older
 * is refused.
 */
export const START_PAST_TOLERANCE_MS = 60 * 60_000;

/**
 * - `upcoming`: now or later (the current minute counts: datetime-local picks minutes).
 * - `passed`: already over but within the tolerance: sending starts right away.
 * - `tooOld`: further back than the tolerance: the API refuses it.
 */
export type StartTimeStatus = "upcoming" | "passed" | "tooOld";

export function startTimeStatus(startMs: number, nowMs: number): StartTimeStatus {
  if (startMs < nowMs - START_PAST_TOLERANCE_MS) return "tooOld";
  if (startMs < nowMs - (nowMs % 60_000)) return "passed";
  return "upcoming";
}

/**
 * The start to plan and send: a start within the tolerance that has passed becomes now;
 * one too old is sent as picked so that the API answers with its field error.
 */
export function effectiveStartMs(startMs: number, nowMs: number): number {
  return startTimeStatus(startMs, nowMs) === "tooOld" ? startMs : Math.max(startMs, nowMs);
}

/** The warning shown before the time zone under Start time ("" when on time). */
export function startTimeWarning(status: StartTimeStatus): string {
  if (status === "tooOld") return "More than an hour ago: pick a later time. ";
  if (status === "passed") return "In the past: sending starts right away. ";
  return "";
}
