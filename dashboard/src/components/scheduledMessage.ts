import type { ScheduleResponse } from "../api/types";
import { countOf } from "../lib/plural";

/** The success toast's text: finish, removed duplicates and suppressed, and each sender's share. */
export function scheduledMessage(res: ScheduleResponse, fmt: (iso: string) => string): string {
  const parts = [`Estimated finish ${fmt(res.estimatedEndTime)}.`];
  if (res.duplicatesRemoved > 0) parts.push(`${countOf(res.duplicatesRemoved, "duplicate", "duplicates")} removed.`);
  if (res.suppressedRemoved) parts.push(`${countOf(res.suppressedRemoved, "suppressed address", "suppressed addresses")} left out.`);
  if (res.senders && res.senders.length > 1)
    parts.push(res.senders.map((s) => `${s.email}: ${s.emailCount.toLocaleString()}, done ${fmt(s.estimatedEndTime)}`).join("; ") + ".");
  return parts.join(" ");
}
