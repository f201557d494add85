import type { ScheduleResponse } from "../api/types";

/** The success toast's text: finish, removed duplicates and suppressed, and each sender's share. */
export function scheduledMessage(res: ScheduleResponse, fmt: (iso: string) => string): string {
  const parts = [`Estimated finish ${fmt(res.estimatedEndTime)}.`];
  if (res.duplicatesRemoved > 0) parts.push(`${res.duplicatesRemoved} duplicates removed.`);
  if (res.suppressedRemoved) parts.push(`${res.suppressedRemoved} suppressed addresses left out.`);
  if (res.senders && res.senders.length > 1)
    parts.push(res.senders.map((s) => `${s.email}: ${s.emailCount.toLocaleString()}, done ${fmt(s.estimatedEndTime)}`).join("; ") + ".");
  return parts.join(" ");
}
