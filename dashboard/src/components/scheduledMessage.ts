import type { ScheduleResponse, SkippedRows } from "../api/types";
import { countOf } from "../lib/plural";

/** The success toast's text: finish, removed duplicates and suppressed, and each sender's share. */
export function scheduledMessage(res: ScheduleResponse, fmt: (iso: string) => string, skipped?: SkippedRows): string {
  const parts = [`Estimated finish ${fmt(res.estimatedEndTime)}.`];
  if (res.duplicatesRemoved > 0) parts.push(`${countOf(res.duplicatesRemoved, "duplicate", "duplicates")} removed.`);
  if (res.suppressedRemoved) parts.push(`${countOf(res.suppressedRemoved, "suppressed address", "suppressed addresses")} left out.`);
  if (res.senders && res.senders.length > 1)
    parts.push(res.senders.map((s) => `${s.email}: ${s.emailCount.toLocaleString()}, done ${fmt(s.estimatedEndTime)}`).join("; ") + ".");
  if (skipped && skipped.count > 0) parts.push(skippedMessage(skipped));
  return parts.join(" ");
}

/** "2 invalid lines skipped (line 12: …; line 252: …)." — the first three, by line. */
function skippedMessage({ count, errors }: SkippedRows): string {
  const lines = errors.filter((e) => e.line > 0).slice(0, 3).map((e) => `line ${e.line}: ${e.message}`);
  const more = count > lines.length ? "; …" : "";
  return `${countOf(count, "invalid line", "invalid lines")} skipped${lines.length ? ` (${lines.join("; ")}${more})` : ""}.`;
}
